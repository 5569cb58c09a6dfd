/* Loader and ring-buffer consumer of the exec capture (bpf/exec.bpf.c). */
#ifndef SRVMON_BPF_EXEC_H
#define SRVMON_BPF_EXEC_H

#include <linux/types.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "srvmon_abi.h"

struct bpf_exec_opts {
	uint32_t argv_max;		 /* argv bytes per exec, <= SRVMON_EXEC_ARGV_CAP */
	uint32_t ringbuf_size;		 /* bytes, a power of 2 >= page size */
	uint32_t min_uid;		 /* execs by lower uids are not recorded */
	bool login_only;		 /* only processes with a login uid (auid) */
	bool capture_failed;		 /* failed execs (needs the syscall tracepoints) */
	bool capture_cwd;		 /* the in-kernel cwd walk (history.cwd = kernel) */
	const char *const *exclude_comm; /* n_exclude_comm exact comm names */
	size_t n_exclude_comm;
	const char *pin_dir; /* pin exec_stats there for bpftool (user/lib/bpf_pin.h); NULL: no */
	/* Slots per CPU of the kernel's cwd cache (about 2 KiB each), a power of two up to
	 * BPF_EXEC_CWD_CACHE_MAX; 0: BPF_EXEC_CWD_CACHE_DEFAULT. */
	uint32_t cwd_cache_slots;
};

#define BPF_EXEC_CWD_CACHE_DEFAULT 64
#define BPF_EXEC_CWD_CACHE_MAX	   4096

/* Called for each record, with its size checked against the header. */
typedef void (*bpf_exec_record_fn)(void *arg, const void *data, size_t size);

struct bpf_exec;

/*
 * Opens, configures, loads and attaches the exec programs and creates the ring-buffer
 * consumer. Failed execs need tracefs: it is mounted on /sys/kernel/tracing when
 * missing; if those tracepoints cannot be attached, successful execs are still
 * captured and *ret_failed_off (if not NULL) is set. On failure returns NULL, sets
 * errno and *ret_step to the step that failed.
 */
struct bpf_exec *bpf_exec_new(const struct bpf_exec_opts *opts, bpf_exec_record_fn fn, void *arg,
			      const char **ret_step, bool *ret_failed_off);
/* Waits up to timeout_ms for a forced wake-up, then consumes everything in the ring.
 * Returns the number of records consumed or -errno. */
int bpf_exec_poll(struct bpf_exec *e, int timeout_ms);
/*
 * Tells the programs that the reader sleeps, consumes what is already in the ring and,
 * when there was nothing, sleeps without a timer until the next exec (its record is
 * followed by a forced wake-up) or bpf_exec_wake(). Returns the number of records
 * consumed (0 after a sleep: the caller drains next) or -errno.
 */
int bpf_exec_idle(struct bpf_exec *e);
/* Ends a bpf_exec_poll() or bpf_exec_idle() sleep from another thread. 0 or -errno. */
int bpf_exec_wake(struct bpf_exec *e);
/* Sums the per-CPU exec_stats counters over the CPUs into *ret. 0/-errno. */
int bpf_exec_stats(struct bpf_exec *e, struct srvmon_exec_stats *ret);
/* The fd of the sched_process_exec program, for bpf_stats (benchmarks). */
int bpf_exec_prog_fd(struct bpf_exec *e);
void bpf_exec_free(struct bpf_exec *e);

#endif
