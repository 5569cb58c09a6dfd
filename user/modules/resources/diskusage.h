/* Disk usage of configured mounts, each statvfs() isolated in a worker thread with a
 * deadline so a dead NFS mount cannot hang the agent. */
#ifndef SRVMON_DISKUSAGE_H
#define SRVMON_DISKUSAGE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/statvfs.h>

/* One mount's figures, as the resources record carries them. */
struct disk_usage {
	char mount[256];
	uint64_t total;	    /* f_blocks * f_frsize */
	uint64_t available; /* f_bavail * f_frsize, as df shows */
	int err;	    /* 0, or the negative errno (-ETIMEDOUT for a hung mount): omitted */
};

#define DISKUSAGE_TIMEOUT_MS 2000
#define DISKUSAGE_MAX_MOUNTS 16

/* statvfs() or a stand-in for tests: returns 0 or -1 with errno set. */
typedef int (*disk_statfn)(const char *path, struct statvfs *buf);

struct diskusage;

/* Pure: total = f_blocks * f_frsize, available = f_bavail * f_frsize (as df shows).
 * Returns 0 or -ERANGE on overflow. */
int diskusage_from_statvfs(const struct statvfs *st, uint64_t *ret_total, uint64_t *ret_available);

/* mounts: n paths, each shorter than sizeof(struct disk_usage.mount) and at most
 * DISKUSAGE_MAX_MOUNTS of them. statfn NULL means statvfs(). NULL + errno (EINVAL,
 * ENAMETOOLONG, E2BIG, ENOMEM) on failure. */
struct diskusage *diskusage_new(const char *const *mounts, size_t n, uint64_t timeout_ms,
				disk_statfn statfn);

/* Fills ret[0..n) (n = the number of mounts) with one reading per mount. All mounts are
 * queried in parallel and waited for until one shared deadline: a mount that does not
 * answer in time gets err = -ETIMEDOUT, and no new query is started on it while the
 * previous one is still stuck; a worker that cannot be started gives err = -ENOMEM/-EAGAIN.
 * Returns 0, or -EINVAL when ret has fewer than diskusage_count() entries. */
int diskusage_sample(struct diskusage *du, struct disk_usage *ret, size_t n);

size_t diskusage_count(const struct diskusage *du);

/* Stuck workers are left to free their own state when their statvfs() returns. */
void diskusage_free(struct diskusage *du);

#endif
