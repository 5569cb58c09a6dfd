/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The ABI between srvmon's BPF programs and user space: the only definition of
 * every key, value and record the two sides exchange. Included by the bpf/ programs
 * (after vmlinux.h) and by user/ (after <linux/types.h>). Fixed-size types,
 * explicit padding, sizes pinned below.
 */
#ifndef SRVMON_ABI_H
#define SRVMON_ABI_H

/* Key of the per-CPU interface counter map: interfaces are per network namespace. */
struct srvmon_if_key {
	__u32 ifindex;
	__u32 netns_ino; /* inode number of the device's network namespace */
};

/* Value of the per-CPU interface counter map; user space sums the CPUs. */
struct srvmon_if_counters {
	__u64 rx_bytes; /* link-layer bytes, as /sys/class/net/IF/statistics counts them */
	__u64 rx_packets;
	__u64 tx_bytes;
	__u64 tx_packets;
};

/*
 * Value of the per-CPU peak-window map (same key): a ring of byte counts per time window
 * of peak_window_ns. Slot (ktime / peak_window_ns) % SRVMON_PEAK_SLOTS holds window id
 * `win`; a slot whose win is not the window asked for saw no traffic in it. User space
 * sums the CPUs per window id and takes the highest window of each interval.
 */
#define SRVMON_PEAK_SLOTS 128

struct srvmon_peak_slot {
	__u64 win; /* ktime_ns / peak_window_ns of the counts below */
	__u64 rx_bytes;
	__u64 tx_bytes;
};

struct srvmon_if_peaks {
	struct srvmon_peak_slot slot[SRVMON_PEAK_SLOTS];
};

/*
 * Value of the single-entry (key 0) per-CPU diagnostic map net_stats: named counters,
 * so `bpftool map dump` prints the field names. User space sums the CPUs.
 */
struct srvmon_net_stats {
	__u64 if_map_full;   /* an interface could not be added: if_counters full */
	__u64 peak_map_full; /* an interface got no peak slots: if_peaks full */
};

_Static_assert(sizeof(struct srvmon_if_key) == 8, "srvmon_if_key ABI");
_Static_assert(sizeof(struct srvmon_if_counters) == 32, "srvmon_if_counters ABI");
_Static_assert(sizeof(struct srvmon_net_stats) == 2 * 8, "srvmon_net_stats ABI");

/* ---- exec capture (bpf/exec.bpf.c -> user/bpf_exec.c) ---- */

/* Every ring-buffer record starts with this header. */
struct srvmon_rec_hdr {
	__u16 type; /* SRVMON_REC_* */
	__u16 version;
	__u32 size; /* whole record, header included */
};

#define SRVMON_REC_EXEC	    1
#define SRVMON_EXEC_VERSION 1
/* A bare header submitted with a forced wake-up after a record, when the reader had said
 * (consumer_idle in the program's .bss) that it sleeps until the next exec. */
#define SRVMON_REC_WAKE 2

/* Largest argv the kernel side can capture (config history.argv_max is bounded by it). */
#define SRVMON_EXEC_ARGV_CAP   (128 * 1024)
#define SRVMON_EXEC_PATH_MAX   4096 /* filename bytes, NUL included */
#define SRVMON_EXEC_CWD_DEPTH  24   /* path components walked up from the cwd */
#define SRVMON_EXEC_CWD_MAX    1024 /* cwd component bytes */
#define SRVMON_EXEC_NAME_MAX   256  /* one cwd component, NUL included */
#define SRVMON_EXEC_FAIL_ARGS  128  /* argv entries read for a failed exec */
#define SRVMON_EXEC_COMM_LEN   16
#define SRVMON_EXEC_TTY_LEN    32
#define SRVMON_EXEC_CGROUP_LEN 128

/* srvmon_exec_rec.flags */
#define SRVMON_EXEC_F_ARGV_TRUNC 0x1  /* argv longer than argv_max: argv_total tells the size */
#define SRVMON_EXEC_F_ARGV_FAULT 0x2  /* argv could not be read */
#define SRVMON_EXEC_F_CWD_TRUNC	 0x4  /* cwd deeper/longer than the walk limits */
#define SRVMON_EXEC_F_PATH_TRUNC 0x8  /* filename longer than SRVMON_EXEC_PATH_MAX */
#define SRVMON_EXEC_F_FAILED	 0x10 /* from sys_exit_execve(at) with ret < 0 */
#define SRVMON_EXEC_F_EXECVEAT	 0x20
#define SRVMON_EXEC_F_TTY_PTS	 0x40 /* tty is a devpts slave: name it pts/<tty_index> */
#define SRVMON_EXEC_F_HAS_TTY	 0x80
#define SRVMON_EXEC_F_NO_AUDIT	 0x100 /* kernel without loginuid/sessionid */
#define SRVMON_EXEC_F_NO_CWD	 0x200 /* cwd not captured (history.cwd = off) */
#define SRVMON_EXEC_F_CWD_CACHED 0x400 /* cwd from the kernel-side cache, checked still true */

/*
 * One exec. Followed in the record by argv_size bytes of argv (NUL-separated, as the
 * program received them), filename_size bytes of filename (NUL included), and
 * cwd_size bytes of cwd components, leaf first, each NUL-terminated (cwd_depth of them).
 */
struct srvmon_exec_rec {
	struct srvmon_rec_hdr hdr;
	__u64 mono_ns; /* bpf_ktime_get_ns(): CLOCK_MONOTONIC */
	__u64 cgroup_id;
	__u32 pid; /* tgid in the initial pid namespace */
	__u32 tid;
	__u32 ppid; /* real parent's tgid, initial pid namespace */
	__u32 uid;
	__u32 gid;
	__u32 euid;
	__u32 auid; /* 0xffffffff: unset */
	__u32 sessionid;
	__s32 ret;   /* 0, or -errno of a failed exec */
	__u32 flags; /* SRVMON_EXEC_F_* */
	__u32 argv_size;
	__u32 argv_total; /* arg_end - arg_start of the new image (failed: bytes read) */
	__u32 filename_size;
	__u32 cwd_size;
	__u32 cwd_depth;
	__u32 tty_index;
	char comm[SRVMON_EXEC_COMM_LEN];
	char tty[SRVMON_EXEC_TTY_LEN];	     /* tty->name, e.g. "pts3", "tty1", "ttyS0" */
	char cgroup[SRVMON_EXEC_CGROUP_LEN]; /* name of the leaf cgroup (v2) */
};

/*
 * Value of the single-entry (key 0) per-CPU exec counter map exec_stats: named
 * counters, so `bpftool map dump` prints the field names. User space sums the CPUs.
 */
struct srvmon_exec_stats {
	__u64 ringbuf_full;   /* ring-buffer reserve/output failed: record lost */
	__u64 argv_truncated; /* argv longer than argv_max: record sent truncated */
	__u64 filtered;	      /* dropped by a kernel-side filter (min_uid, login_only, comm) */
	__u64 emitted;	      /* records submitted to the ring buffer */
	__u64 read_fault;     /* argv or filename unreadable: sent without (part of) them */
	__u64 cwd_cached;     /* cwd taken from the kernel-side cache (checked still true) */
	__u64 cwd_walked;     /* cwd walked up (cache miss, stale entry or no cache) */
};

/* Key of the excluded-comm hash map. */
struct srvmon_comm_key {
	char comm[SRVMON_EXEC_COMM_LEN];
};

_Static_assert(sizeof(struct srvmon_rec_hdr) == 8, "srvmon_rec_hdr ABI");
_Static_assert(sizeof(struct srvmon_exec_rec) == 264, "srvmon_exec_rec ABI");
_Static_assert(sizeof(struct srvmon_comm_key) == 16, "srvmon_comm_key ABI");
_Static_assert(sizeof(struct srvmon_exec_stats) == 7 * 8, "srvmon_exec_stats ABI");
_Static_assert(sizeof(struct srvmon_peak_slot) == 24, "srvmon_peak_slot ABI");
_Static_assert(sizeof(struct srvmon_if_peaks) == 24 * SRVMON_PEAK_SLOTS, "srvmon_if_peaks ABI");

#endif /* SRVMON_ABI_H */
