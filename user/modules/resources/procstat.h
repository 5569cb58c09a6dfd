/* /proc/stat CPU times and the CPU-busy percentage computed from two readings. */
#ifndef SRVMON_PROCSTAT_H
#define SRVMON_PROCSTAT_H

#include <stddef.h>
#include <stdint.h>

/* Columns of the aggregate "cpu " line, in USER_HZ ticks. Columns missing on
 * old kernels (fewer than 10) are 0. */
struct cpu_times {
	uint64_t user;
	uint64_t nice;
	uint64_t system;
	uint64_t idle;
	uint64_t iowait;
	uint64_t irq;
	uint64_t softirq;
	uint64_t steal;
	uint64_t guest;	     /* already counted in user */
	uint64_t guest_nice; /* already counted in nice */
	unsigned int n_columns;
};

/* Parses the aggregate "cpu " line of /proc/stat text (at least 4 columns).
 * Returns 0, -ENOENT (no such line) or -EINVAL (malformed line). */
int cpu_stat_parse(const char *buf, struct cpu_times *ret);

/* total = user + nice + system + idle + iowait + irq + softirq + steal (guest and
 * guest_nice are not added: the kernel already counts them in user and nice). */
uint64_t cpu_times_total(const struct cpu_times *t);
/* idle_all = idle + iowait */
uint64_t cpu_times_idle(const struct cpu_times *t);

/* cpu_percent = 100 * (busy_cur - busy_prev) / (total_cur - total_prev), busy = total - idle_all,
 * over all CPUs, clamped into 0..100. Returns 0, or -EINVAL when no tick elapsed or a
 * counter went backwards. */
int cpu_percent(const struct cpu_times *prev, const struct cpu_times *cur, double *ret);

#endif
