/* resources module: CPU %, RAM and disk usage of this host. */
#ifndef SRVMON_RESOURCES_H
#define SRVMON_RESOURCES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "diskusage.h"

struct config;

#define RESOURCES_MAX_DISKS DISKUSAGE_MAX_MOUNTS

struct resources_sample {
	uint64_t ts_ms;	    /* Unix epoch ms at the end of the sample */
	bool cpu_valid;	    /* false on the first sample or when /proc/stat is unreadable */
	double cpu_percent; /* busy / total over the interval, 0..100 */
	bool ram_valid;
	uint64_t ram_total;	/* MemTotal, bytes */
	uint64_t ram_available; /* MemAvailable, bytes */
	size_t n_disks;
	struct disk_usage disks[RESOURCES_MAX_DISKS];
};

struct resources_collector;

/* Takes the first /proc/stat reading as the CPU baseline. NULL + errno on failure. */
struct resources_collector *resources_new(const struct config *cfg);
/* Samples everything; CPU % is over the time since the previous call (or resources_new).
 * Never blocks longer than the disk timeout on a hung mount. Returns 0 or -errno when
 * nothing at all could be read. */
int resources_sample(struct resources_collector *rc, struct resources_sample *ret);
void resources_free(struct resources_collector *rc);

#endif
