#include "defroute.h"
#include "textfile.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "procnetdev.h"

#define V4_ZERO "00000000"
#define V6_ZERO "00000000000000000000000000000000"

struct token {
	const char *s;
	size_t len;
};

static const char *line_end(const char *p)
{
	const char *nl = strchr(p, '\n');

	return nl ? nl : p + strlen(p);
}

/* Splits [p, end) at blanks into at most max tokens; returns how many. */
static size_t split(const char *p, const char *end, struct token *tok, size_t max)
{
	size_t n = 0;

	while (p < end && n < max) {
		while (p < end && (*p == ' ' || *p == '\t'))
			p++;
		if (p >= end)
			break;
		tok[n].s = p;
		while (p < end && *p != ' ' && *p != '\t')
			p++;
		tok[n].len = (size_t)(p - tok[n].s);
		n++;
	}
	return n;
}

static bool tok_is(const struct token *t, const char *s)
{
	return t->len == strlen(s) && memcmp(t->s, s, t->len) == 0;
}

static int set_add(struct defroute_set *set, const struct token *name)
{
	if (name->len == 0 || name->len >= IF_NAMESIZE)
		return 0; /* not an interface name: skip */
	for (size_t i = 0; i < set->n; i++) {
		if (strlen(set->names[i]) == name->len &&
		    memcmp(set->names[i], name->s, name->len) == 0)
			return 0;
	}
	if (set->n >= DEFROUTE_MAX)
		return -ENOBUFS;
	memcpy(set->names[set->n], name->s, name->len);
	set->names[set->n][name->len] = '\0';
	set->n++;
	return 0;
}

bool defroute_contains(const struct defroute_set *set, const char *name)
{
	for (size_t i = 0; i < set->n; i++) {
		if (strcmp(set->names[i], name) == 0)
			return true;
	}
	return false;
}

int defroute_parse_v4(const char *buf, struct defroute_set *set)
{
	/* Iface Destination Gateway Flags RefCnt Use Metric Mask ... */
	enum { IFACE, DEST, GW, FLAGS, REFCNT, USE, METRIC, MASK, NFIELDS };
	const char *p = buf;
	const char *end = line_end(p);
	struct token tok[NFIELDS];

	if (split(p, end, tok, NFIELDS) < NFIELDS || !tok_is(&tok[IFACE], "Iface") ||
	    !tok_is(&tok[DEST], "Destination") || !tok_is(&tok[MASK], "Mask"))
		return -EINVAL;
	for (p = *end ? end + 1 : end; *p; p = *end ? end + 1 : end) {
		int r;

		end = line_end(p);
		if (split(p, end, tok, NFIELDS) < NFIELDS)
			continue;
		if (!tok_is(&tok[DEST], V4_ZERO) || !tok_is(&tok[MASK], V4_ZERO))
			continue;
		/* unreachable/prohibit default routes have no device */
		if (tok_is(&tok[IFACE], "*"))
			continue;
		r = set_add(set, &tok[IFACE]);
		if (r < 0)
			return r;
	}
	return 0;
}

int defroute_parse_v6(const char *buf, struct defroute_set *set)
{
	/* dest plen src src_plen nexthop metric refcnt use flags device */
	enum { DEST, PLEN, SRC, SPLEN, NEXTHOP, METRIC, REFCNT, USE, FLAGS, DEV, NFIELDS };
	struct token tok[NFIELDS];
	const char *end;

	for (const char *p = buf; *p; p = *end ? end + 1 : end) {
		int r;

		end = line_end(p);
		if (split(p, end, tok, NFIELDS) < NFIELDS)
			continue;
		if (!tok_is(&tok[DEST], V6_ZERO) || !tok_is(&tok[PLEN], "00"))
			continue;
		/* With no IPv6 default route the kernel lists its "unreachable" entry on lo. */
		if (tok_is(&tok[DEV], "lo"))
			continue;
		r = set_add(set, &tok[DEV]);
		if (r < 0)
			return r;
	}
	return 0;
}

int defroute_read(const char *v4_path, const char *v6_path, struct defroute_set *ret)
{
	struct defroute_set set = {0};
	char *buf = NULL;
	int r;

	r = textfile_read_alloc(v4_path ? v4_path : DEFROUTE_V4_PATH, &buf);
	/* No IPv4 in this kernel is as legitimate as no IPv6. */
	if (r < 0 && r != -ENOENT)
		goto out;
	if (r == 0) {
		r = defroute_parse_v4(buf, &set);
		if (r < 0)
			goto out;
		free(buf);
		buf = NULL;
	}
	r = textfile_read_alloc(v6_path ? v6_path : DEFROUTE_V6_PATH, &buf);
	if (r < 0 && r != -ENOENT)
		goto out;
	if (r == 0) {
		r = defroute_parse_v6(buf, &set);
		if (r < 0)
			goto out;
	}
	*ret = set;
	r = 0;
out:
	free(buf);
	return r;
}
