/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * What the exec programs (exec.bpf.c) and their cwd walk (exec_cwd.bpf.h) share: the
 * per-CPU record scratch, the loss counters, the ablation switches of the kernel-cost
 * bench and a few verifier helpers. BPF code only.
 */
#ifndef SRVMON_EXEC_BPF_H
#define SRVMON_EXEC_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include "srvmon_abi.h"

#define DATA_SIZE                                                                                  \
	(SRVMON_EXEC_ARGV_CAP + SRVMON_EXEC_PATH_MAX + SRVMON_EXEC_CWD_MAX + SRVMON_EXEC_NAME_MAX)

/*
 * Ablation switches of bench/exec-kernel-cost.sh (it builds variants of exec.bpf.c with
 * -DSRVMON_EXEC_ABLATE=mask to measure what each part costs); 0 in the real build.
 */
#ifndef SRVMON_EXEC_ABLATE
#define SRVMON_EXEC_ABLATE 0
#endif
#define ABLATE_EMPTY	 0x1   /* exec_ok returns at once */
#define ABLATE_CWD	 0x2   /* no cwd */
#define ABLATE_STRINGS	 0x4   /* no tty/cgroup name reads */
#define ABLATE_OUTPUT	 0x8   /* no ring-buffer output */
#define ABLATE_ARGV	 0x10  /* no argv read */
#define ABLATE_FILENAME	 0x20  /* no filename read */
#define ABLATE_IDENTITY	 0x40  /* only pid and time of the identity fields */
#define ABLATE_CWDCACHE	 0x80  /* the cwd walked at every exec (no cwd_cache) */
#define ABLATE_CWDTIME	 0x100 /* adds: put_cwd() timed into cwd_hist (measures, not ablates) */
#define ABLATE_PROGTIME	 0x200 /* adds: exec_ok timed into exec_hist (measures, not ablates) */
#define ABLATE_CWDSERIAL 0x400 /* the cached cwd checked through the loaded pointers */
#define ABLATED(x)	 ((SRVMON_EXEC_ABLATE & (x)) != 0)

struct exec_buf {
	struct srvmon_exec_rec rec;
	char data[DATA_SIZE];
	__u64 unqueried; /* bytes submitted from this CPU since the last bpf_ringbuf_query */
	__u64 bits;	 /* see ptr_bits() */
};

/* One entry (key 0) of named counters: bpftool prints the field names from the BTF. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct srvmon_exec_stats);
} exec_stats SEC(".maps");

/* A pointer read as the BTF type type_id (kernel >= 6.2); loads through it are fault-safe. */
extern void *bpf_rdonly_cast(void *obj, __u32 btf_id) __ksym;

/* v clamped to cap in the register the verifier then sees (clang may test a copy). */
#define CLAMP(v, cap)                                                                              \
	asm volatile("if %[x] <= %[c] goto +1; %[x] = %[c]" : [x] "+r"(v) : [c] "i"(cap))

static __always_inline struct srvmon_exec_stats *stats_get(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&exec_stats, &zero);
}

/* Bumps one named counter of struct srvmon_exec_stats on this CPU (no atomics needed). */
#define stat_inc(field)                                                                            \
	do {                                                                                       \
		struct srvmon_exec_stats *s__ = stats_get();                                       \
		if (s__)                                                                           \
			s__->field += 1;                                                           \
	} while (0)

#endif
