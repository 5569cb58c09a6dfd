/*
 * Loading BPF programs in a short-lived child process. libbpf parses the kernel's BTF
 * (/sys/kernel/btf/vmlinux, several MiB) to relocate and attach CO-RE programs; done in
 * the agent itself, that parse is the agent's peak memory for the rest of its life
 * (VmHWM), and glibc may keep the freed heap. A forked child does the open/load/attach
 * steps and hands the program, link and map descriptors back over a unix socketpair
 * (SCM_RIGHTS); the parent wraps the descriptors and never touches the BTF.
 */
#ifndef SRVMON_BPF_LOADER_H
#define SRVMON_BPF_LOADER_H

#include <stddef.h>
#include <stdint.h>

#define BPF_LOADER_MAX_FDS 16

/* What the child reports: filled by the caller's load function in the child. */
struct bpf_loader_result {
	int r;		/* 0, or -errno of the step that failed */
	uint32_t step;	/* the caller's index of that step (or of the last one on success) */
	uint32_t flags; /* the caller's bits (e.g. "pinned", "failed-exec tracepoints off") */
	uint32_t n_fds; /* fds[0..n_fds) are sent, in this order; -1 entries are not */
	int fds[BPF_LOADER_MAX_FDS];
};

/*
 * Runs in the child; fills *ret (ret->r = 0 on success) and returns. It may leave every
 * libbpf object it made alive: the child exits right after sending, the descriptors
 * then live on in the parent only.
 */
typedef void (*bpf_loader_fn)(void *arg, struct bpf_loader_result *ret);

/*
 * Forks, runs fn(arg) in the child and receives its result with the descriptors it
 * named (O_CLOEXEC in the parent; a -1 slot stays -1). Returns 0 when the child
 * reported (its own ret->r may be an error: then no descriptor is open), or -errno
 * when the child could not be run or died without a word (nothing is open then).
 * Waits up to timeout_ms for the child and kills it after that (-ETIMEDOUT).
 */
int bpf_loader_run(bpf_loader_fn fn, void *arg, int timeout_ms, struct bpf_loader_result *ret);

/* Closes the descriptors of a result (those >= 0) and sets them to -1. */
void bpf_loader_close(struct bpf_loader_result *res);

#endif
