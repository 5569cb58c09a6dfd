#include "meminfo.h"

#include "numparse.h"

#include <errno.h>
#include <string.h>

/* Parses the value part of a meminfo line, " <n> kB", up to the end of the line. */
static int parse_kb_value(const char *p, uint64_t *ret)
{
	uint64_t kb;
	int r;

	while (*p == ' ' || *p == '\t')
		p++;
	r = parse_u64_prefix(&p, &kb);
	if (r < 0)
		return r;
	if (strncmp(p, " kB", 3) != 0)
		return -EINVAL;
	p += 3;
	while (*p == ' ' || *p == '\t')
		p++;
	if (*p != '\n' && *p != '\0')
		return -EINVAL;
	if (kb > UINT64_MAX / 1024)
		return -ERANGE;
	*ret = kb * 1024;
	return 0;
}

int meminfo_parse(const char *buf, struct meminfo *ret)
{
	static const char key_total[] = "MemTotal:";
	static const char key_avail[] = "MemAvailable:";
	int err_total = -ENOENT;
	int err_avail = -ENOENT;
	const char *p = buf;

	memset(ret, 0, sizeof(*ret));
	while (*p) {
		const char *nl = strchr(p, '\n');

		/* The first line of each key counts, malformed or not. */
		if (err_total == -ENOENT && strncmp(p, key_total, sizeof(key_total) - 1) == 0) {
			err_total = parse_kb_value(p + sizeof(key_total) - 1, &ret->total);
			ret->total_valid = err_total == 0;
		} else if (err_avail == -ENOENT &&
			   strncmp(p, key_avail, sizeof(key_avail) - 1) == 0) {
			err_avail = parse_kb_value(p + sizeof(key_avail) - 1, &ret->available);
			ret->available_valid = err_avail == 0;
		}
		if (!nl)
			break;
		p = nl + 1;
	}
	return err_total < 0 ? err_total : err_avail;
}
