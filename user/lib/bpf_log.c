#include "bpf_log.h"

#include "log.h"

#include <bpf/libbpf.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int libbpf_to_log(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	char line[1024];
	size_t len;

	(void)level;
	if (log_get_level() < LOG_LEVEL_DEBUG)
		return 0;
	(void)vsnprintf(line, sizeof(line), fmt, ap);
	len = strlen(line);
	if (len > 0 && line[len - 1] == '\n')
		line[len - 1] = '\0';
	log_debug("libbpf: %s", line);
	return 0;
}

void bpf_log_init(void)
{
	libbpf_set_print(libbpf_to_log);
}
