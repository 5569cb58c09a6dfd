/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The cwd of an exec, built in the kernel (included by exec.bpf.c only): the walk up
 * from fs->pwd across mounts, and its per-CPU cache, used only when a replay of the
 * walk's pointer chain finds it still true (docs/history.md, "How the cwd is cached").
 */
#ifndef SRVMON_EXEC_CWD_BPF_H
#define SRVMON_EXEC_CWD_BPF_H

#include "exec.bpf.h"

const volatile __u8 capture_cwd = 1; /* walk the cwd up in the kernel */
/* Slots per CPU of cwd_cache, a power of two (the loader sizes the map to it); 0: no cache. */
const volatile __u32 cwd_cache_slots = 64;

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
 * The next object of a replay: the pointer the filling walk noted (cached, compared equal
 * to the one just loaded), read again by a volatile load so that the compiler cannot
 * substitute the loaded one. The same object, but the address of each level's loads then
 * comes from the cache entry (in this CPU's cache), not from the previous level's dentry:
 * the CPU issues the loads of all levels at once instead of one cache miss after the
 * other. ABLATE_CWDSERIAL follows the loaded pointers instead (the bench's reference).
 */
static __always_inline void *cwd_next(const __u64 *cached, void *loaded, __u32 btf_id)
{
	if (ABLATED(ABLATE_CWDSERIAL))
		return loaded;
	return bpf_rdonly_cast((void *)*(const volatile __u64 *)cached, btf_id);
}

#define CWD_NEXT(type, cached, loaded)                                                             \
	((struct type *)cwd_next(cached, loaded, bpf_core_type_id_kernel(struct type)))

/*
 * Whether the cached walk of ent, which starts at (vm, d), would read the same today:
 * the same state machine as cwd_step(), reading the same pointers with direct loads but
 * no names, comparing each with what the walk that filled the entry read: every dentry
 * on the way still has the same parent, the same name hash and length (the hash is
 * salted with the parent's address) and the same d_seq (bumped by every rename or
 * delete of it), and every mount crossed the same parent, mountpoint and root. The
 * walk's result is a function of exactly these pointers and names. Each level is
 * reached through the pointer noted for it (cwd_next()), which the level below has just
 * compared equal to the live one: by induction from the task's pinned fs->pwd, every
 * object read is the live one whenever every comparison holds, and any difference is a
 * miss. An inline loop, not a bpf_loop callback: a call per step cost as much as the
 * check (bench/exec-kernel-cost).
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
			struct dentry *mp, *up_root;

			if ((__u64)up != ck->a)
				return 0;
			if (up == mnt || !up)
				return last;
			mp = mnt->mnt_mountpoint;
			up = CWD_NEXT(mount, &ck->a, up);
			up_root = up->mnt.mnt_root;
			if ((__u64)mp != ck->b || (__u64)up_root != ck->c)
				return 0;
			d = CWD_NEXT(dentry, &ck->b, mp);
			mnt = up;
			root = CWD_NEXT(dentry, &ck->c, up_root);
		} else {
			struct dentry *parent = d->d_parent;

			if ((__u64)parent != ck->a || d->d_name.hash_len != ck->b ||
			    dentry_seq(d) != ck->c)
				return 0;
			if (d == parent)
				return last;
			d = CWD_NEXT(dentry, &ck->a, parent);
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

#endif
