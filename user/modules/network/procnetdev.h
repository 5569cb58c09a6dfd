/* /proc/net/dev: pure parser and thin reader. */
#ifndef SRVMON_PROCNETDEV_H
#define SRVMON_PROCNETDEV_H

#include <stddef.h>

#include "netrate.h"

#define PROCNETDEV_PATH "/proc/net/dev"

/*
 * Parses the text of /proc/net/dev into ret[0..cap). Lines that do not have a name
 * and 16 numbers are skipped and counted in *ret_malformed. Returns 0, -EINVAL when
 * the two header lines are missing, or -ENOBUFS when there are more than cap
 * interfaces (the first cap are stored). *ret_n is the number stored.
 */
int procnetdev_parse(const char *buf, struct net_counters *ret, size_t cap, size_t *ret_n,
		     size_t *ret_malformed);

/* Reads and parses path (PROCNETDEV_PATH in production). Same returns, plus the
 * errno of open/read. */
int procnetdev_read(const char *path, struct net_counters *ret, size_t cap, size_t *ret_n);

#endif
