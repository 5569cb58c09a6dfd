/* Interfaces carrying a default route: pure parsers of /proc/net/route and
 * /proc/net/ipv6_route, and a thin reader. */
#ifndef SRVMON_DEFROUTE_H
#define SRVMON_DEFROUTE_H

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>

#define DEFROUTE_MAX 32

#define DEFROUTE_V4_PATH "/proc/net/route"
#define DEFROUTE_V6_PATH "/proc/net/ipv6_route"

/* A set of interface names without duplicates. */
struct defroute_set {
	size_t n;
	char names[DEFROUTE_MAX][IF_NAMESIZE];
};

/*
 * Adds to *set the interface of every IPv4 default route (Destination and Mask
 * 00000000) in the text of /proc/net/route. Reject routes (interface "*") and
 * malformed lines are skipped. Returns 0, -EINVAL without the header line, or
 * -ENOBUFS when the set is full.
 */
int defroute_parse_v4(const char *buf, struct defroute_set *set);
/*
 * Adds the interface of every IPv6 default route (destination ::, prefix length 0)
 * in the text of /proc/net/ipv6_route. The kernel lists a "no route" entry on "lo";
 * loopback routes are skipped. Returns 0 or -ENOBUFS.
 */
int defroute_parse_v6(const char *buf, struct defroute_set *set);
bool defroute_contains(const struct defroute_set *set, const char *name);

/* Reads both files (paths for tests; NULL means the /proc path; a missing IPv6
 * file means IPv6 is off). Returns 0 or -errno. */
int defroute_read(const char *v4_path, const char *v6_path, struct defroute_set *ret);

#endif
