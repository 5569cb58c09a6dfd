// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Command history: one record per exec, built in the kernel.
 *
 * Successful execs: tp_btf/sched_process_exec fires in the new image once it is
 * committed, so argv is read from the new mm (arg_start..arg_end): the arguments the
 * program really received, after any user-space rewriting race at entry. Covers
 * execve and execveat (fexecve, container runtimes) alike.
 * Failed execs: sys_exit_execve(at) emits a record only when ret < 0 (the successful
 * case was already recorded at sched_process_exec), with the arguments read from the
 * task's saved user registers: no entry program, no per-call map update.
 * No kprobes or trampolines: this kernel refuses them.
 *
 * Records are assembled in a per-CPU scratch slot and copied into the ring buffer
 * with their real size; submission never wakes the consumer unless the ring is
 * filling up (wake_bytes) or the consumer said it sleeps (consumer_idle): user space
 * drains it on a short timer while execs come, and sleeps without one when none do.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "srvmon_abi.h"
#include "exec.bpf.h"
#include "exec_cwd.bpf.h"

/* Knobs set by the loader before load (the cwd's are in exec_cwd.bpf.h). */
const volatile __u32 argv_max = 32768; /* <= SRVMON_EXEC_ARGV_CAP */
const volatile __u32 min_uid = 0;
const volatile __u8 login_only = 0;	  /* only processes with a login uid */
const volatile __u8 capture_failed = 1;	  /* failed execs from the syscall tracepoints */
const volatile __u8 filter_comm = 0;	  /* consult excluded_comm */
const volatile __u64 wake_bytes = 262144; /* force a wake-up past this much unread data */
/* Ask the ring how full it is once per this many bytes submitted on a CPU (0: always). */
const volatile __u64 query_bytes = 0;

/*
 * Set by user space (through the mmapped .bss) before it sleeps without a timer after
 * a drain that found nothing. The first record submitted after that is followed by a
 * SRVMON_REC_WAKE header with a forced wake-up, and the flag is cleared. The flag is
 * read after the record is committed (the commit is a full barrier) and user space sets
 * it before it looks at the ring a last time, so one of the two always sees the other.
 */
volatile __u32 consumer_idle;

/* Per-CPU scratch: an array indexed by CPU (per-CPU arrays cap values at 32 KiB). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1); /* set to the number of possible CPUs by the loader */
	__type(key, __u32);
	__type(value, struct exec_buf);
} scratch SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4 * 1024 * 1024); /* set by the loader */
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 256);
	__type(key, struct srvmon_comm_key);
	__type(value, __u8);
} excluded_comm SEC(".maps");

/* include/uapi/linux/major.h: the Unix98 pty slave majors (/dev/pts/N). */
#define UNIX98_PTY_SLAVE_MAJOR 136
#define UNIX98_PTY_MAJOR_COUNT 8

static __always_inline struct exec_buf *scratch_get(void)
{
	__u32 cpu = bpf_get_smp_processor_id();

	return bpf_map_lookup_elem(&scratch, &cpu);
}

/*
 * Kernel-side filters on the identity fields already in the record (fill_identity()).
 * Returns 1 when the current task must not be recorded.
 */
static __always_inline int filtered(const struct srvmon_exec_rec *r)
{
	if (r->uid < min_uid)
		return 1;
	if (login_only && !(r->flags & SRVMON_EXEC_F_NO_AUDIT) && r->auid == (__u32)-1)
		return 1;
	if (filter_comm) {
		struct srvmon_comm_key key = {};

		__builtin_memcpy(key.comm, r->comm, sizeof(key.comm));
		if (bpf_map_lookup_elem(&excluded_comm, &key))
			return 1;
	}
	return 0;
}

/* Who, where, when: every field but argv, filename and cwd. */
static __always_inline void fill_identity(struct srvmon_exec_rec *r, struct task_struct *t)
{
	const struct cred *cred;
	struct tty_struct *tty;
	struct kernfs_node *kn;

	r->hdr.type = SRVMON_REC_EXEC;
	r->hdr.version = SRVMON_EXEC_VERSION;
	r->mono_ns = bpf_ktime_get_ns();
	/* t is current: its fields are what bpf_get_current_pid_tgid() and
	 * bpf_get_current_uid_gid() return, read directly instead of by two helper calls. */
	r->pid = t->tgid;
	if (ABLATED(ABLATE_IDENTITY))
		return;
	r->tid = t->pid;
	r->ppid = t->real_parent->tgid;
	cred = t->cred;
	r->uid = cred->uid.val;
	r->gid = cred->gid.val;
	r->euid = cred->euid.val;
	r->flags = 0;
	r->ret = 0;
	/* loginuid/sessionid exist only with CONFIG_AUDIT. */
	if (bpf_core_field_exists(t->loginuid)) {
		r->auid = t->loginuid.val;
		r->sessionid = t->sessionid;
	} else {
		r->auid = (__u32)-1;
		r->sessionid = (__u32)-1;
		r->flags |= SRVMON_EXEC_F_NO_AUDIT;
	}
	bpf_get_current_comm(r->comm, sizeof(r->comm));

	r->tty[0] = '\0';
	r->tty_index = 0;
	tty = t->signal->tty;
	if (tty && !ABLATED(ABLATE_STRINGS)) {
		struct tty_driver *drv = tty->driver;

		r->flags |= SRVMON_EXEC_F_HAS_TTY;
		r->tty_index = tty->index;
		/* Unix98 slaves (/dev/pts/N: majors 136-143) are named by their index alone;
		 * the name is read only for other ttys (tty1, ttyS0, BSD ptys ttyp0). */
		if (drv->type == bpf_core_enum_value(enum tty_driver_type, TTY_DRIVER_TYPE_PTY) &&
		    drv->subtype == bpf_core_enum_value(enum tty_driver_subtype, PTY_TYPE_SLAVE) &&
		    drv->major >= UNIX98_PTY_SLAVE_MAJOR &&
		    drv->major < UNIX98_PTY_SLAVE_MAJOR + UNIX98_PTY_MAJOR_COUNT)
			r->flags |= SRVMON_EXEC_F_TTY_PTS;
		else
			bpf_probe_read_kernel_str(r->tty, sizeof(r->tty), &tty->name);
	}

	/* The cgroup id (what bpf_get_current_cgroup_id() returns) and leaf name, both from
	 * the default hierarchy's kernfs node: one pointer chase instead of two. */
	r->cgroup[0] = '\0';
	kn = t->cgroups->dfl_cgrp->kn;
	if (!kn) {
		r->cgroup_id = bpf_get_current_cgroup_id();
		return;
	}
	r->cgroup_id = kn->id;
	if (!ABLATED(ABLATE_STRINGS))
		bpf_probe_read_kernel_str(r->cgroup, sizeof(r->cgroup), kn->name);
}

/*
 * The filename at b->data[off], NUL included; returns the new end offset.
 * user: the string is in user memory (failed execs), else kernel memory.
 */
static __always_inline __u32 put_filename(struct exec_buf *b, __u32 off, const char *src, int user)
{
	long n;

	if (off > SRVMON_EXEC_ARGV_CAP || ABLATED(ABLATE_FILENAME))
		return off;
	if (user)
		n = bpf_probe_read_user_str(&b->data[off], SRVMON_EXEC_PATH_MAX, src);
	else
		n = bpf_probe_read_kernel_str(&b->data[off], SRVMON_EXEC_PATH_MAX, src);
	if (n <= 0) {
		b->data[off] = '\0';
		n = 1;
		stat_inc(read_fault);
	} else if (n == SRVMON_EXEC_PATH_MAX) {
		b->rec.flags |= SRVMON_EXEC_F_PATH_TRUNC;
	}
	b->rec.filename_size = n;
	return off + n;
}

static __always_inline void submit(struct exec_buf *b, __u32 end)
{
	__u64 size = sizeof(b->rec) + (__u64)end;
	__u64 flags = BPF_RB_NO_WAKEUP;

	if (size > sizeof(b->rec) + sizeof(b->data))
		size = sizeof(b->rec) + sizeof(b->data);
	b->rec.hdr.size = size;
	if (ABLATED(ABLATE_OUTPUT))
		return;
	/* Reading the ring's positions costs a cache miss on the consumer's page: only once
	 * per query_bytes submitted on this CPU (the loader sets it so that the ring holds
	 * at most wake_bytes + CPUs * query_bytes unread before the forced wake-up). */
	b->unqueried += size;
	if (b->unqueried >= query_bytes) {
		b->unqueried = 0;
		if (bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) + size > wake_bytes)
			flags = BPF_RB_FORCE_WAKEUP;
	}
	if (bpf_ringbuf_output(&events, b, size, flags) < 0) {
		stat_inc(ringbuf_full);
		return;
	}
	stat_inc(emitted);
	if (consumer_idle) {
		struct srvmon_rec_hdr wake = {.type = SRVMON_REC_WAKE,
					      .version = SRVMON_EXEC_VERSION,
					      .size = sizeof(wake)};

		consumer_idle = 0;
		bpf_ringbuf_output(&events, &wake, sizeof(wake), BPF_RB_FORCE_WAKEUP);
	}
}

/* The record of a successful exec, read from the new image (exec_ok). */
static __always_inline void exec_ok_record(struct linux_binprm *bprm)
{
	struct task_struct *t = bpf_get_current_task_btf();
	struct exec_buf *b;
	__u64 start, end_arg, len;
	__u32 total, off;

	if (ABLATED(ABLATE_EMPTY))
		return;
	b = scratch_get();
	if (!b)
		return;
	fill_identity(&b->rec, t);
	if (filtered(&b->rec)) {
		stat_inc(filtered);
		return;
	}

	start = t->mm->arg_start;
	end_arg = t->mm->arg_end;
	total = end_arg > start ? (__u32)(end_arg - start) : 0;
	len = total;
	if (len > argv_max) {
		len = argv_max;
		b->rec.flags |= SRVMON_EXEC_F_ARGV_TRUNC;
		stat_inc(argv_truncated);
	}
	CLAMP(len, SRVMON_EXEC_ARGV_CAP);
	/* The new image's argument pages were just written by exec: they are present. */
	if (ABLATED(ABLATE_ARGV))
		len = 0;
	if (len && bpf_probe_read_user(b->data, len, (void *)start) < 0) {
		b->rec.flags |= SRVMON_EXEC_F_ARGV_FAULT;
		stat_inc(read_fault);
		len = 0;
	}
	b->rec.argv_size = len;
	b->rec.argv_total = total;
	off = put_filename(b, len, bprm->filename, 0);
	off = put_cwd(b, off, t);
	submit(b, off);
}

#if SRVMON_EXEC_ABLATE & ABLATE_PROGTIME
/*
 * Bench builds only: exec_ok's own time per run (two bpf_ktime_get_ns() reads included)
 * in 25 ns buckets, counted only for the execs of children of the pid in timed_ppid
 * (the bench's exec loop, set by its loader): the machine's other execs, with other
 * argv and cwds, stay out of the figure, and the median stays put when other work
 * inflates the means of bpf_stats.
 */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} timed_ppid SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 512);
	__type(key, __u32);
	__type(value, __u64);
} exec_hist SEC(".maps");

static __always_inline void exec_ok_timed(struct linux_binprm *bprm)
{
	__u64 t0 = bpf_ktime_get_ns();
	struct task_struct *t;
	__u64 dt, *ppid, *h;
	__u32 zero = 0, k;

	exec_ok_record(bprm);
	dt = (bpf_ktime_get_ns() - t0) / 25;
	k = dt > 511 ? 511 : (__u32)dt;
	ppid = bpf_map_lookup_elem(&timed_ppid, &zero);
	t = bpf_get_current_task_btf();
	if (!ppid || (__u64)t->real_parent->tgid != *ppid)
		return;
	h = bpf_map_lookup_elem(&exec_hist, &k);
	if (h)
		*h += 1;
}
#define exec_ok_record exec_ok_timed
#endif

SEC("tp_btf/sched_process_exec")
int BPF_PROG(exec_ok, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	exec_ok_record(bprm);
	return 0;
}

/* argv of a failed exec, read from the caller's memory, cut at an argument boundary. */
static __always_inline __u32 put_user_argv(struct exec_buf *b, __u64 argv)
{
	__u32 off = 0;

	for (int i = 0; i < SRVMON_EXEC_FAIL_ARGS; i++) {
		__u64 p = 0;
		long n;

		if (bpf_probe_read_user(&p, sizeof(p), (void *)(argv + i * sizeof(__u64))) < 0 ||
		    !p)
			return off;
		if (off > SRVMON_EXEC_ARGV_CAP)
			break;
		n = bpf_probe_read_user_str(&b->data[off], SRVMON_EXEC_PATH_MAX, (void *)p);
		if (n <= 0) {
			/* A page not faulted in yet (we cannot fault here): say argv is cut. */
			b->rec.flags |= SRVMON_EXEC_F_ARGV_FAULT;
			stat_inc(read_fault);
			break;
		}
		if (off + n > argv_max)
			break;
		off += n;
	}
	b->rec.flags |= SRVMON_EXEC_F_ARGV_TRUNC;
	stat_inc(argv_truncated);
	return off;
}

/*
 * A failed exec, at syscall exit. A successful one (ret 0, already recorded at
 * sched_process_exec) returns at the first test: no map, no entry program. The
 * arguments are read from the task's saved user registers, which a failed exec leaves
 * as the caller set them (only the return value register changes).
 */
static __always_inline int on_exit(long ret, int at)
{
	struct task_struct *t;
	struct pt_regs *regs;
	struct exec_buf *b;
	__u64 filename, argv;
	__u32 off;

	if (ret >= 0 || !capture_failed)
		return 0;
	t = bpf_get_current_task_btf();
	regs = (struct pt_regs *)bpf_task_pt_regs(t);
	/* execve(filename, argv, envp); execveat(dirfd, filename, argv, envp, flags) */
	if (at) {
		filename = PT_REGS_PARM2_CORE_SYSCALL(regs);
		argv = PT_REGS_PARM3_CORE_SYSCALL(regs);
	} else {
		filename = PT_REGS_PARM1_CORE_SYSCALL(regs);
		argv = PT_REGS_PARM2_CORE_SYSCALL(regs);
	}
	b = scratch_get();
	if (!b)
		return 0;
	fill_identity(&b->rec, t);
	if (filtered(&b->rec)) {
		stat_inc(filtered);
		return 0;
	}
	b->rec.ret = (__s32)ret;
	b->rec.flags |= SRVMON_EXEC_F_FAILED | (at ? SRVMON_EXEC_F_EXECVEAT : 0);
	off = put_user_argv(b, argv);
	b->rec.argv_size = off;
	b->rec.argv_total = off;
	off = put_filename(b, off, (const char *)filename, 1);
	off = put_cwd(b, off, t);
	submit(b, off);
	return 0;
}

SEC("tp/syscalls/sys_exit_execve")
int exec_exit(struct trace_event_raw_sys_exit *ctx)
{
	return on_exit(ctx->ret, 0);
}

SEC("tp/syscalls/sys_exit_execveat")
int execat_exit(struct trace_event_raw_sys_exit *ctx)
{
	return on_exit(ctx->ret, 1);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
