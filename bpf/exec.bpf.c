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

#define DATA_SIZE                                                                                  \
	(SRVMON_EXEC_ARGV_CAP + SRVMON_EXEC_PATH_MAX + SRVMON_EXEC_CWD_MAX + SRVMON_EXEC_NAME_MAX)

/* Knobs set by the loader before load. */
const volatile __u32 argv_max = 32768; /* <= SRVMON_EXEC_ARGV_CAP */
const volatile __u32 min_uid = 0;
const volatile __u8 login_only = 0;	/* only processes with a login uid */
const volatile __u8 capture_failed = 1; /* failed execs from the syscall tracepoints */
const volatile __u8 capture_cwd = 1;	/* walk the cwd up in the kernel */
/* Slots per CPU of cwd_cache, a power of two (the loader sizes the map to it); 0: no cache. */
const volatile __u32 cwd_cache_slots = 64;
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

/*
 * Ablation switches of bench/exec-kernel-cost.sh (it builds variants of this file with
 * -DSRVMON_EXEC_ABLATE=mask to measure what each part costs); 0 in the real build.
 */
#ifndef SRVMON_EXEC_ABLATE
#define SRVMON_EXEC_ABLATE 0
#endif
#define ABLATE_EMPTY	0x1   /* exec_ok returns at once */
#define ABLATE_CWD	0x2   /* no cwd */
#define ABLATE_STRINGS	0x4   /* no tty/cgroup name reads */
#define ABLATE_OUTPUT	0x8   /* no ring-buffer output */
#define ABLATE_ARGV	0x10  /* no argv read */
#define ABLATE_FILENAME 0x20  /* no filename read */
#define ABLATE_IDENTITY 0x40  /* only pid and time of the identity fields */
#define ABLATE_CWDCACHE 0x80  /* the cwd walked at every exec (no cwd_cache) */
#define ABLATE_CWDTIME	0x100 /* adds: put_cwd() timed into cwd_hist (measures, not ablates) */
#define ABLATED(x)	((SRVMON_EXEC_ABLATE & (x)) != 0)

struct exec_buf {
	struct srvmon_exec_rec rec;
	char data[DATA_SIZE];
	__u64 unqueried; /* bytes submitted from this CPU since the last bpf_ringbuf_query */
	__u64 bits;	 /* see ptr_bits() */
};

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

/* One entry (key 0) of named counters: bpftool prints the field names from the BTF. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct srvmon_exec_stats);
} exec_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 256);
	__type(key, struct srvmon_comm_key);
	__type(value, __u8);
} excluded_comm SEC(".maps");

/*
 * The cwd cache (see put_cwd()): per CPU, direct-mapped by (mount, dentry) of fs->pwd.
 * A slot is read and written only by the programs on its CPU, which never run
 * concurrently there (preemption is off in these tracepoints), so no reader ever sees
 * a slot half written; a hash map's elements, by contrast, can be reused for another key
 * while another CPU still reads them. Kernel-side only: user space sizes it, nothing more.
 */
#define CWD_STEPS (SRVMON_EXEC_CWD_DEPTH + 8) /* bpf_loop iterations of the walk */

/* What one step of the walk read, so that a later exec can check it is still so. */
struct cwd_check {
	__u64 a; /* component: d->d_parent;		mount crossing: mnt->mnt_parent */
	__u64 b; /* component: d->d_name.hash_len;	mount crossing: mnt->mnt_mountpoint */
	__u64 c; /* component: d->d_seq;		mount crossing: up->mnt.mnt_root */
};

struct cwd_entry {
	__u64 mnt;    /* key: fs->pwd.mnt (0: empty slot) */
	__u64 dentry; /* key: fs->pwd.dentry */
	__u64 root;   /* fs->pwd.mnt->mnt_root when the walk was made */
	__u32 nsteps; /* steps of check[] the walk took */
	__u32 used;   /* bytes of path */
	__u32 depth;  /* components in path */
	__u32 flags;  /* SRVMON_EXEC_F_CWD_TRUNC or 0 */
	struct cwd_check check[CWD_STEPS];
	char path[SRVMON_EXEC_CWD_MAX + SRVMON_EXEC_NAME_MAX] __attribute__((aligned(8)));
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 64); /* cwd_cache_slots, set by the loader */
	__type(key, __u32);
	__type(value, struct cwd_entry);
} cwd_cache SEC(".maps");

/* include/uapi/linux/major.h: the Unix98 pty slave majors (/dev/pts/N). */
#define UNIX98_PTY_SLAVE_MAJOR 136
#define UNIX98_PTY_MAJOR_COUNT 8

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

struct cwd_walk {
	struct exec_buf *b;
	struct cwd_entry *ent; /* filled as the walk goes; NULL: no cache */
	struct mount *mnt;
	struct dentry *d;
	struct dentry *root; /* of the current mount */
	__u32 off;
	__u32 used;
	__u32 depth;
	__u32 done;
	__u32 steps;
	__u32 unstable; /* a name changed under the walk (or could not be read): do not cache */
};

/* d->d_seq, the sequence count d_move() (rename), __d_drop() (delete) and the change
 * to a negative dentry bump: what the kernel's RCU path walk checks a dentry with. */
static __always_inline __u64 dentry_seq(struct dentry *d)
{
	__u32 seq = d->d_seq.seqcount.sequence;

	asm volatile("" ::: "memory");
	return seq;
}

/* container_of(vm, struct mount, mnt), typed again for direct loads */
static __always_inline struct mount *real_mount(struct vfsmount *vm)
{
	return bpf_rdonly_cast(
		(void *)((unsigned long)vm - bpf_core_field_offset(struct mount, mnt)),
		bpf_core_type_id_kernel(struct mount));
}

/*
 * One step of the walk up from the cwd (a bpf_loop callback). 1 stops the loop.
 * The dentry and mount fields are read with direct (fault-safe) BTF loads, not probe
 * helpers: one helper call per component (its name) instead of three. What the step
 * read is noted in w->ent->check[i] for cwd_valid().
 */
static long cwd_step(__u32 i, void *arg)
{
	struct cwd_walk *w = arg;
	struct cwd_entry *ent = w->ent;
	struct mount *mnt = w->mnt;
	struct dentry *d = w->d;
	struct dentry *parent;
	struct exec_buf *b = w->b;
	struct cwd_check *ck = NULL;
	__u64 seq;
	__u32 pos;
	long n;

	if (!d || !mnt || i >= CWD_STEPS)
		return 1;
	if (ent) {
		__u64 k = i;

		CLAMP(k, CWD_STEPS - 1);
		ck = &ent->check[k];
	}
	if (d == w->root) {
		struct mount *up = mnt->mnt_parent;

		if (ck)
			ck->a = (__u64)up;
		w->steps = i + 1;
		if (up == mnt || !up) {
			w->done = 1; /* the root of the mount namespace */
			return 1;
		}
		/* Cross to the mount this one sits on. */
		w->d = mnt->mnt_mountpoint;
		w->mnt = up;
		w->root = up->mnt.mnt_root;
		if (ck) {
			ck->b = (__u64)w->d;
			ck->c = (__u64)w->root;
		}
		return 0;
	}
	seq = dentry_seq(d);
	parent = d->d_parent;
	if (ck) {
		ck->a = (__u64)parent;
		ck->b = d->d_name.hash_len;
		ck->c = seq;
	}
	w->steps = i + 1;
	if (d == parent) {
		w->done = 1; /* a detached tree's root */
		return 1;
	}
	if (w->depth >= SRVMON_EXEC_CWD_DEPTH || w->used >= SRVMON_EXEC_CWD_MAX)
		return 1;
	pos = w->off + w->used;
	if (pos > SRVMON_EXEC_ARGV_CAP + SRVMON_EXEC_PATH_MAX + SRVMON_EXEC_CWD_MAX) {
		w->unstable = 1; /* (never: off and used are bounded) */
		return 1;
	}
	/*
	 * A string read, not a copy of d_name.len bytes: the name pointer and the length
	 * are not read atomically, and during a concurrent rename a length of the new name
	 * with the old buffer would copy bytes past the old name's NUL. The string read
	 * (under RCU, which keeps the old name alive) gives the old or the new name whole.
	 */
	n = bpf_probe_read_kernel_str(&b->data[pos], SRVMON_EXEC_NAME_MAX, d->d_name.name);
	if (n <= 0) {
		w->unstable = 1;
		return 1;
	}
	/* A rename under the walk (odd or changed d_seq): the name read and the hash noted
	 * may be of two different names. The record keeps what was read; the cache not. */
	if ((seq & 1) || dentry_seq(d) != seq)
		w->unstable = 1;
	w->used += n;
	w->depth++;
	w->d = parent;
	return 0;
}

/*
 * Whether the cached walk of ent, which starts at (vm, d), would read the same today:
 * the same state machine as cwd_step(), reading the same pointers with direct loads but
 * no names, comparing each with what the walk that filled the entry read: every dentry
 * on the way still has the same parent, the same name hash and length (the hash is
 * salted with the parent's address) and the same d_seq (bumped by every rename or
 * delete of it), and every mount crossed the same parent, mountpoint and root. The
 * walk's result is a function of exactly these pointers and names. An inline loop, not
 * a bpf_loop callback: a call per step cost as much as the check (bench/exec-kernel-cost).
 */
static __always_inline int cwd_valid(struct cwd_entry *ent, struct vfsmount *vm, struct dentry *d)
{
	struct mount *mnt = real_mount(vm);
	struct dentry *root = vm->mnt_root;
	__u32 n = ent->nsteps;

	if (n == 0 || n > CWD_STEPS || (__u64)root != ent->root)
		return 0;
	for (__u32 i = 0; i < CWD_STEPS; i++) {
		struct cwd_check *ck = &ent->check[i];
		__u32 last = i + 1 == n;

		if (!d || !mnt)
			return 0;
		if (d == root) {
			struct mount *up = mnt->mnt_parent;

			if ((__u64)up != ck->a)
				return 0;
			if (up == mnt || !up)
				return last;
			d = mnt->mnt_mountpoint;
			mnt = up;
			root = up->mnt.mnt_root;
			if ((__u64)d != ck->b || (__u64)root != ck->c)
				return 0;
		} else {
			struct dentry *parent = d->d_parent;

			if ((__u64)parent != ck->a || d->d_name.hash_len != ck->b ||
			    dentry_seq(d) != ck->c)
				return 0;
			if (d == parent)
				return last;
			d = parent;
		}
		if (last)
			return 1;
	}
	return 0;
}

/*
 * A pointer's value as a plain number, for hashing (the verifier allows no arithmetic
 * but addition on pointers): stored to a map value and loaded back.
 */
static __always_inline __u64 ptr_bits(struct exec_buf *b, const void *p)
{
	volatile __u64 *v = &b->bits;

	*v = (__u64)p;
	return *v;
}

/*
 * n bytes of a cached path into the record, 8 at a time with direct loads and stores
 * (a probe-read helper call cost about as much as the rest of a hit). Up to 7 bytes past
 * n are written: inside the scratch buffer, and not submitted.
 */
static __always_inline void cwd_copy(char *dst, const char *src, __u32 n)
{
	for (__u32 i = 0; i < (SRVMON_EXEC_CWD_MAX + SRVMON_EXEC_NAME_MAX) / 8; i++) {
		if (i * 8 >= n)
			break;
		((__u64 *)dst)[i] = ((const __u64 *)src)[i];
	}
}

static __always_inline struct cwd_entry *cwd_slot(struct exec_buf *b, struct vfsmount *vm,
						  struct dentry *d)
{
	__u64 h;
	__u32 idx;

	if (!cwd_cache_slots || ABLATED(ABLATE_CWDCACHE))
		return NULL;
	h = ptr_bits(b, d);
	h = (h ^ (ptr_bits(b, vm) >> 7)) * 0x9e3779b97f4a7c15ull;
	idx = (__u32)(h >> 40) & (cwd_cache_slots - 1);
	return bpf_map_lookup_elem(&cwd_cache, &idx);
}

/*
 * The current working directory, walked up from fs->pwd across mounts to the root of
 * the mount namespace, at most SRVMON_EXEC_CWD_DEPTH components and
 * SRVMON_EXEC_CWD_MAX bytes: components leaf first, each NUL-terminated. Returns the
 * new end offset. The walk's result is cached per CPU by (mount, dentry); a hit is
 * used only when cwd_valid() finds every pointer and name it depends on unchanged.
 */
static __always_inline __u32 put_cwd(struct exec_buf *b, __u32 off, struct task_struct *t)
{
	struct fs_struct *fs = t->fs;
	struct vfsmount *vm = fs->pwd.mnt;
	struct cwd_walk w = {.b = b, .off = off};
	struct dentry *pwd, *root;
	struct cwd_entry *ent;
	__u32 used;

	if (!capture_cwd || ABLATED(ABLATE_CWD)) {
		b->rec.flags |= SRVMON_EXEC_F_NO_CWD;
		b->rec.cwd_size = 0;
		b->rec.cwd_depth = 0;
		return off;
	}
	pwd = fs->pwd.dentry;
	root = vm->mnt_root;
	w.d = pwd;
	w.root = root;
	if (off > SRVMON_EXEC_ARGV_CAP + SRVMON_EXEC_PATH_MAX) {
		b->rec.flags |= SRVMON_EXEC_F_CWD_TRUNC;
		b->rec.cwd_size = 0;
		b->rec.cwd_depth = 0;
		return off;
	}
	ent = cwd_slot(b, vm, pwd);
	if (ent && ent->mnt == (__u64)vm && ent->dentry == (__u64)pwd && cwd_valid(ent, vm, pwd)) {
		used = ent->used;
		CLAMP(used, SRVMON_EXEC_CWD_MAX + SRVMON_EXEC_NAME_MAX);
		cwd_copy(&b->data[off], ent->path, used);
		b->rec.flags |= ent->flags | SRVMON_EXEC_F_CWD_CACHED;
		b->rec.cwd_size = used;
		b->rec.cwd_depth = ent->depth;
		stat_inc(cwd_cached);
		return off + used;
	}
	w.ent = ent;
	w.mnt = real_mount(vm);
	bpf_loop(CWD_STEPS, cwd_step, &w, 0);
	if (!w.done)
		b->rec.flags |= SRVMON_EXEC_F_CWD_TRUNC;
	b->rec.cwd_size = w.used;
	b->rec.cwd_depth = w.depth;
	stat_inc(cwd_walked);
	if (ent) {
		used = w.used;
		CLAMP(used, SRVMON_EXEC_CWD_MAX + SRVMON_EXEC_NAME_MAX);
		ent->mnt = 0;
		if (w.unstable || !w.steps ||
		    (used && bpf_probe_read_kernel(ent->path, used, &b->data[off]) < 0))
			return off + w.used;
		ent->nsteps = w.steps;
		ent->used = used;
		ent->depth = w.depth;
		ent->flags = w.done ? 0 : SRVMON_EXEC_F_CWD_TRUNC;
		ent->root = (__u64)root;
		ent->dentry = (__u64)pwd;
		ent->mnt = (__u64)vm;
	}
	return off + w.used;
}

#if SRVMON_EXEC_ABLATE & ABLATE_CWDTIME
/*
 * Bench builds only: put_cwd()'s own time per call (two bpf_ktime_get_ns() reads
 * included) in 25 ns buckets, 0-127 for walks, 128-255 for cache hits; the bench reads
 * the medians, which stay put when other work on the machine inflates the means.
 */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 256);
	__type(key, __u32);
	__type(value, __u64);
} cwd_hist SEC(".maps");

static __always_inline __u32 put_cwd_timed(struct exec_buf *b, __u32 off, struct task_struct *t)
{
	__u64 t0 = bpf_ktime_get_ns();
	__u32 flags = b->rec.flags;
	__u32 end = put_cwd(b, off, t);
	__u64 dt = (bpf_ktime_get_ns() - t0) / 25;
	__u32 k = (dt > 127 ? 127 : (__u32)dt);
	__u64 *h;

	if ((b->rec.flags & ~flags) & SRVMON_EXEC_F_CWD_CACHED)
		k += 128;
	h = bpf_map_lookup_elem(&cwd_hist, &k);
	if (h)
		*h += 1;
	return end;
}
#define put_cwd put_cwd_timed
#endif

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

SEC("tp_btf/sched_process_exec")
int BPF_PROG(exec_ok, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	struct task_struct *t = bpf_get_current_task_btf();
	struct exec_buf *b;
	__u64 start, end_arg, len;
	__u32 total, off;

	if (ABLATED(ABLATE_EMPTY))
		return 0;
	b = scratch_get();
	if (!b)
		return 0;
	fill_identity(&b->rec, t);
	if (filtered(&b->rec)) {
		stat_inc(filtered);
		return 0;
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
