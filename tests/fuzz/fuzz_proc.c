/* libFuzzer target: the /proc parsers (/proc/stat, /proc/meminfo, /proc/net/dev,
 * /proc/net/route and /proc/net/ipv6_route), each fed the same NUL-terminated input. */
#include "defroute.h"
#include "log.h"
#include "meminfo.h"
#include "netrate.h"
#include "procnetdev.h"
#include "procstat.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct net_counters ifs[8];
	struct defroute_set routes;
	struct cpu_times cpu;
	struct meminfo mem;
	size_t n = 0;
	size_t malformed = 0;
	char *buf = malloc(size + 1);

	if (!buf)
		return 0;
	log_set_level((enum log_level)(LOG_LEVEL_ERR - 1)); /* quiet */
	memcpy(buf, data, size);
	buf[size] = '\0';
	(void)cpu_stat_parse(buf, &cpu);
	(void)meminfo_parse(buf, &mem);
	if (procnetdev_parse(buf, ifs, 8, &n, &malformed) == 0 && n > 8)
		abort();
	memset(&routes, 0, sizeof(routes));
	(void)defroute_parse_v4(buf, &routes);
	(void)defroute_parse_v6(buf, &routes);
	if (routes.n > DEFROUTE_MAX)
		abort();
	free(buf);
	return 0;
}
