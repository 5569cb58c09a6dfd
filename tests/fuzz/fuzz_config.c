/* libFuzzer target: the agent's INI configuration loader (config_load). */
#include "config.h"
#include "log.h"

#include <fcntl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static char path[64];
static int fd = -1;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config cfg;
	char err[512];

	if (fd < 0) {
		log_set_level((enum log_level)(LOG_LEVEL_ERR - 1)); /* quiet */
		(void)snprintf(path, sizeof(path), "/tmp/srvmon-fuzz-config.XXXXXX");
		fd = mkostemp(path, O_CLOEXEC);
		if (fd < 0)
			abort();
	}
	if (ftruncate(fd, 0) < 0 || pwrite(fd, data, size, 0) != (ssize_t)size)
		abort();
	if (config_init_defaults(&cfg) < 0)
		return 0;
	/* config_load frees cfg itself on error. */
	if (config_load(&cfg, path, false, err, sizeof(err)) == 0)
		config_free(&cfg);
	return 0;
}
