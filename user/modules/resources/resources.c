#include "resources.h"
#include "textfile.h"

#include "config.h"
#include "diskusage.h"
#include "log.h"
#include "meminfo.h"
#include "monoclock.h"
#include "procstat.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define PROC_STAT_PATH	  "/proc/stat"
#define PROC_MEMINFO_PATH "/proc/meminfo"
/* The aggregate "cpu " line comes first: a truncated read of a large /proc/stat is fine. */
#define PROC_STAT_BUF	 4096
#define PROC_MEMINFO_BUF 16384

struct resources_collector {
	bool cpu_prev_valid;
	struct cpu_times cpu_prev;
	/* Last error reported per figure, so a missing figure is logged once, not per interval. */
	int cpu_err;
	int mem_err;
	int disk_err[RESOURCES_MAX_DISKS];
	struct diskusage *du;
};

static int read_cpu(struct cpu_times *ret)
{
	char buf[PROC_STAT_BUF];
	int r;

	r = textfile_read(PROC_STAT_PATH, buf, sizeof(buf), NULL);
	if (r < 0)
		return r;
	return cpu_stat_parse(buf, ret);
}

static int read_mem(struct meminfo *ret)
{
	char buf[PROC_MEMINFO_BUF];
	int r;

	r = textfile_read(PROC_MEMINFO_PATH, buf, sizeof(buf), NULL);
	if (r < 0) {
		memset(ret, 0, sizeof(*ret));
		return r;
	}
	return meminfo_parse(buf, ret);
}

static void report_cpu(struct resources_collector *rc, int err)
{
	if (err == rc->cpu_err)
		return;
	if (err)
		log_warn_errno(err,
			       "resources: cannot read CPU times from \"%s\", omitting CPU usage",
			       PROC_STAT_PATH);
	else
		log_info("resources: CPU times from \"%s\" readable again", PROC_STAT_PATH);
	rc->cpu_err = err;
}

static void report_mem(struct resources_collector *rc, int err, const struct meminfo *mi)
{
	if (err == rc->mem_err)
		return;
	if (err)
		log_warn_errno(err, "resources: no %s in \"%s\", omitting RAM usage",
			       !mi->total_valid ? "MemTotal" : "MemAvailable", PROC_MEMINFO_PATH);
	else
		log_info("resources: RAM usage from \"%s\" readable again", PROC_MEMINFO_PATH);
	rc->mem_err = err;
}

static void report_disk(struct resources_collector *rc, size_t i, const struct disk_usage *d)
{
	if (d->err == rc->disk_err[i])
		return;
	if (d->err)
		log_warn_errno(d->err, "resources: cannot get disk usage of \"%s\", omitting it",
			       d->mount);
	else
		log_info("resources: disk usage of \"%s\" available again", d->mount);
	rc->disk_err[i] = d->err;
}

struct resources_collector *resources_new(const struct config *cfg)
{
	const struct strlist *mounts = &cfg->resources.mounts;
	const char *paths[RESOURCES_MAX_DISKS];
	struct resources_collector *rc;
	struct cpu_times cur;
	size_t n = 0;
	int r;

	for (size_t i = 0; i < mounts->n; i++) {
		if (n == RESOURCES_MAX_DISKS) {
			log_warn("resources: more than %d mounts configured, ignoring \"%s\"",
				 RESOURCES_MAX_DISKS, mounts->items[i]);
			continue;
		}
		if (strlen(mounts->items[i]) >= sizeof(((struct disk_usage *)0)->mount)) {
			log_warn("resources: mount path \"%.64s...\" too long, ignoring it",
				 mounts->items[i]);
			continue;
		}
		paths[n++] = mounts->items[i];
	}

	rc = calloc(1, sizeof(*rc));
	if (!rc)
		return NULL;
	rc->du = diskusage_new(paths, n, DISKUSAGE_TIMEOUT_MS, NULL);
	if (!rc->du) {
		r = -errno;
		log_err_errno(r, "resources: cannot set up disk usage");
		goto err;
	}

	/* CPU baseline; an unreadable /proc/stat only costs the CPU figure. */
	r = read_cpu(&cur);
	report_cpu(rc, r);
	if (r == 0) {
		rc->cpu_prev = cur;
		rc->cpu_prev_valid = true;
	}
	return rc;

err:
	resources_free(rc);
	errno = -r;
	return NULL;
}

static void sample_cpu(struct resources_collector *rc, struct resources_sample *ret, int *ret_err)
{
	struct cpu_times cur;
	int r;

	r = read_cpu(&cur);
	report_cpu(rc, r);
	if (r < 0) {
		*ret_err = r;
		return;
	}
	if (!rc->cpu_prev_valid) {
		rc->cpu_prev = cur;
		rc->cpu_prev_valid = true;
		return;
	}
	r = cpu_percent(&rc->cpu_prev, &cur, &ret->cpu_percent);
	if (r == 0) {
		ret->cpu_valid = true;
		rc->cpu_prev = cur;
		return;
	}
	/* No tick elapsed: keep the baseline. Counters went backwards: start over. */
	if (cpu_times_total(&cur) != cpu_times_total(&rc->cpu_prev))
		rc->cpu_prev = cur;
	log_debug("resources: no CPU percentage this interval");
}

int resources_sample(struct resources_collector *rc, struct resources_sample *ret)
{
	struct disk_usage disks[RESOURCES_MAX_DISKS];
	size_t n_disks = diskusage_count(rc->du);
	bool any = false;
	struct meminfo mi;
	int err = 0;
	int r;

	memset(ret, 0, sizeof(*ret));

	sample_cpu(rc, ret, &err);
	if (!err)
		any = true;

	r = read_mem(&mi);
	report_mem(rc, r, &mi);
	if (r == 0) {
		ret->ram_valid = true;
		ret->ram_total = mi.total;
		ret->ram_available = mi.available;
		any = true;
	} else if (!err) {
		err = r;
	}

	r = diskusage_sample(rc->du, disks, RESOURCES_MAX_DISKS);
	if (r < 0)
		return r;
	for (size_t i = 0; i < n_disks; i++) {
		report_disk(rc, i, &disks[i]);
		ret->disks[i] = disks[i];
		if (disks[i].err == 0)
			any = true;
	}
	ret->n_disks = n_disks;
	ret->ts_ms = wall_ms();
	return any ? 0 : err;
}

void resources_free(struct resources_collector *rc)
{
	if (!rc)
		return;
	diskusage_free(rc->du);
	free(rc);
}
