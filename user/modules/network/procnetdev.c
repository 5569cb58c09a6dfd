#include "procnetdev.h"
#include "textfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "numparse.h"

#define PROCNETDEV_FIELDS 16 /* 8 receive + 8 transmit columns */

static const char *line_end(const char *p)
{
	const char *nl = strchr(p, '\n');

	return nl ? nl : p + strlen(p);
}

static const char *skip_blanks(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	return p;
}

/* One "  name: n1 n2 ... n16" line in [p, end). Returns 0 or -EINVAL. */
static int parse_line(const char *p, const char *end, struct net_counters *ret)
{
	uint64_t v[PROCNETDEV_FIELDS];
	const char *name;
	size_t len;

	p = skip_blanks(p, end);
	name = p;
	while (p < end && *p != ':' && *p != ' ' && *p != '\t')
		p++;
	len = (size_t)(p - name);
	if (p >= end || *p != ':' || len == 0 || len >= sizeof(ret->name))
		return -EINVAL;
	p++;
	for (size_t i = 0; i < PROCNETDEV_FIELDS; i++) {
		const char *q = skip_blanks(p, end);

		/* Fields must be separated (except right after the colon). */
		if (i > 0 && q == p)
			return -EINVAL;
		if (q >= end || parse_u64_prefix(&q, &v[i]) < 0)
			return -EINVAL;
		p = q;
	}
	if (skip_blanks(p, end) != end)
		return -EINVAL;

	memset(ret, 0, sizeof(*ret));
	memcpy(ret->name, name, len);
	ret->rx_bytes = v[0];
	ret->rx_packets = v[1];
	ret->tx_bytes = v[8];
	ret->tx_packets = v[9];
	return 0;
}

int procnetdev_parse(const char *buf, struct net_counters *ret, size_t cap, size_t *ret_n,
		     size_t *ret_malformed)
{
	size_t n = 0;
	size_t bad = 0;
	bool full = false;
	const char *p = buf;

	/* "Inter-|   Receive ...|  Transmit" and " face |bytes ...|bytes ..." */
	for (int i = 0; i < 2; i++) {
		const char *end = line_end(p);
		const char *bar = memchr(p, '|', (size_t)(end - p));

		if (!bar || *end != '\n')
			return -EINVAL;
		p = end + 1;
	}
	while (*p) {
		const char *end = line_end(p);
		struct net_counters c;

		if (skip_blanks(p, end) == end) {
			/* empty line */
		} else if (parse_line(p, end, &c) < 0) {
			bad++;
		} else if (n < cap) {
			ret[n++] = c;
		} else {
			full = true;
		}
		p = *end ? end + 1 : end;
	}
	*ret_n = n;
	if (ret_malformed)
		*ret_malformed = bad;
	return full ? -ENOBUFS : 0;
}

int procnetdev_read(const char *path, struct net_counters *ret, size_t cap, size_t *ret_n)
{
	size_t malformed = 0;
	char *buf = NULL;
	int r;

	r = textfile_read_alloc(path, &buf);
	if (r < 0)
		return r;
	r = procnetdev_parse(buf, ret, cap, ret_n, &malformed);
	if (malformed)
		log_debug("network: %zu malformed line(s) in \"%s\", ignoring", malformed, path);
	free(buf);
	return r;
}
