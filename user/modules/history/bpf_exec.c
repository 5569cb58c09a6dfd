#include "bpf_exec.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <unistd.h>

#include "bpf/exec.skel.h"
#include "bpf_loader.h"
#include "bpf_pin.h"
#include "bpf_log.h"
#include "log.h"

#define TRACEFS "/sys/kernel/tracing"

struct bpf_exec {
	struct bpf_loader_result fds; /* FD_*: maps, programs, links, loaded by a child */
	struct exec__bss *bss;	      /* the .bss map, mmapped: the consumer_idle flag */
	size_t bss_size;
	char *pin_dir; /* exec_stats is pinned there; NULL: not pinned */
	struct ring_buffer *rb;
	int epfd;   /* the ring's epoll fd and wakefd */
	int wakefd; /* eventfd: bpf_exec_wake() */
	int stats_fd;
	int ncpus;
	struct srvmon_exec_stats *values; /* ncpus of them, for stats lookups */
	bpf_exec_record_fn fn;
	void *arg;
};

/* The syscall tracepoints are found through tracefs, not mounted at boot here. */
static int tracefs_ensure(void)
{
	if (access(TRACEFS "/events/syscalls", F_OK) == 0)
		return 0;
	if (mount("tracefs", TRACEFS, "tracefs", 0, NULL) < 0 && errno != EBUSY)
		return -errno;
	return access(TRACEFS "/events/syscalls", F_OK) == 0 ? 0 : -ENOENT;
}

static int on_sample(void *ctx, void *data, size_t size)
{
	struct bpf_exec *e = ctx;
	const struct srvmon_rec_hdr *h = data;

	/* Every record's size is checked before it is used. */
	if (size < sizeof(*h) || h->size > size) {
		log_debug("exec: ring-buffer sample of %zu bytes malformed, ignoring", size);
		return 0;
	}
	if (h->type == SRVMON_REC_WAKE)
		return 0; /* it only woke us */
	e->fn(e->arg, data, h->size);
	return 0;
}

static const char *const pinned_maps[] = {"exec_stats", NULL};

/* The descriptors the loader child hands back, in this order. */
enum {
	FD_EVENTS,
	FD_STATS,
	FD_BSS,
	FD_PROG_OK,
	FD_LINK_OK,
	FD_LINK_EXIT,
	FD_LINK_EXITAT,
	FD_COUNT
};

/* The child's steps, by the index it reports. */
enum { STEP_OPEN, STEP_KNOBS, STEP_LOAD, STEP_EXCLUDE, STEP_ATTACH };
static const char *const step_names[] = {
	[STEP_OPEN] = "exec__open",
	[STEP_KNOBS] = "set rodata/map sizes",
	[STEP_LOAD] = "exec__load",
	[STEP_EXCLUDE] = "exclude_comm map",
	[STEP_ATTACH] = "attach tp_btf/sched_process_exec",
};

#define LOADED_PINNED	  1u /* result flags: exec_stats is pinned under opts->pin_dir */
#define LOADED_FAILED_OFF 2u /* the failed-exec tracepoints could not be attached */
#define LOADER_TIMEOUT_MS 60000

void bpf_exec_free(struct bpf_exec *e)
{
	if (!e)
		return;
	ring_buffer__free(e->rb);
	if (e->epfd >= 0)
		close(e->epfd);
	if (e->wakefd >= 0)
		close(e->wakefd);
	if (e->bss)
		munmap(e->bss, e->bss_size);
	/* Links first (detaches), then programs and maps. */
	for (int i = FD_COUNT - 1; i >= 0; i--) {
		if (e->fds.fds[i] >= 0)
			close(e->fds.fds[i]);
		e->fds.fds[i] = -1;
	}
	if (e->pin_dir)
		bpf_pin_remove_names(e->pin_dir, pinned_maps);
	free(e->pin_dir);
	free(e->values);
	free(e);
}

/* Attaches the failed-exec programs; 0 or -errno (then neither is attached). */
static int attach_failed(struct exec *skel)
{
	struct bpf_program *progs[] = {skel->progs.exec_exit, skel->progs.execat_exit};
	struct bpf_link **links[] = {&skel->links.exec_exit, &skel->links.execat_exit};
	int r = tracefs_ensure();

	if (r < 0)
		return r;
	for (size_t i = 0; i < sizeof(progs) / sizeof(progs[0]); i++) {
		*links[i] = bpf_program__attach(progs[i]);
		if (!*links[i]) {
			r = -errno;
			for (size_t j = 0; j <= i; j++) {
				bpf_link__destroy(*links[j]);
				*links[j] = NULL;
			}
			return r;
		}
	}
	return 0;
}

struct load_args {
	const struct bpf_exec_opts *opts;
	int ncpus;
};

/* In the loader child: open, configure, pin, load and attach; the descriptors into *ret. */
static void load_child(void *arg, struct bpf_loader_result *ret)
{
	const struct load_args *a = arg;
	const struct bpf_exec_opts *opts = a->opts;
	struct exec *skel;
	uint32_t slots;
	int r;

	/* Open the object. */
	ret->step = STEP_OPEN;
	skel = exec__open();
	if (!skel) {
		ret->r = -errno;
		return;
	}
	/* Knobs and map sizes from the configuration. */
	ret->step = STEP_KNOBS;
	r = -EINVAL;
	if (opts->argv_max == 0 || opts->argv_max > SRVMON_EXEC_ARGV_CAP)
		goto out;
	skel->rodata->argv_max = opts->argv_max;
	skel->rodata->min_uid = opts->min_uid;
	skel->rodata->login_only = opts->login_only;
	skel->rodata->capture_failed = opts->capture_failed;
	skel->rodata->capture_cwd = opts->capture_cwd;
	skel->rodata->filter_comm = opts->n_exclude_comm > 0;
	/* Wake the consumer early only when a quarter of the ring is unread. */
	skel->rodata->wake_bytes = opts->ringbuf_size / 4;
	/* Each CPU looks at the ring's fill level once per this many bytes it submits: at
	 * most wake_bytes * 1.5 unread before the forced wake-up, on any number of CPUs. */
	skel->rodata->query_bytes = opts->ringbuf_size / 4 / 2 / (uint32_t)a->ncpus;
	r = bpf_map__set_max_entries(skel->maps.events, opts->ringbuf_size);
	if (r < 0)
		goto out;
	r = bpf_map__set_max_entries(skel->maps.scratch, (uint32_t)a->ncpus);
	if (r < 0)
		goto out;
	/* The cwd cache: slots per CPU, a power of two (0: the default). */
	r = -EINVAL;
	slots = opts->cwd_cache_slots ? opts->cwd_cache_slots : BPF_EXEC_CWD_CACHE_DEFAULT;
	if (slots > BPF_EXEC_CWD_CACHE_MAX || (slots & (slots - 1)))
		goto out;
	skel->rodata->cwd_cache_slots = slots;
	r = bpf_map__set_max_entries(skel->maps.cwd_cache, slots);
	if (r < 0)
		goto out;
	/* Pins for bpftool (the loss counters); without them the agent still runs. */
	r = bpf_pin_maps(skel->obj, opts->pin_dir, pinned_maps);
	if (r < 0)
		log_warn_errno(r, "history: cannot pin the BPF maps under '%s', ignoring",
			       opts->pin_dir);
	else if (opts->pin_dir && *opts->pin_dir)
		ret->flags |= LOADED_PINNED;
	/* Verify and load into the kernel. */
	ret->step = STEP_LOAD;
	r = exec__load(skel);
	if (r < 0)
		goto out;
	ret->step = STEP_EXCLUDE;
	for (size_t i = 0; i < opts->n_exclude_comm; i++) {
		struct srvmon_comm_key key = {0};
		__u8 one = 1;

		strncpy(key.comm, opts->exclude_comm[i], sizeof(key.comm) - 1);
		r = bpf_map__update_elem(skel->maps.excluded_comm, &key, sizeof(key), &one,
					 sizeof(one), BPF_ANY);
		if (r < 0)
			goto out;
	}
	/* Attach: sched_process_exec, then the failed-exec syscall exits. */
	ret->step = STEP_ATTACH;
	skel->links.exec_ok = bpf_program__attach(skel->progs.exec_ok);
	if (!skel->links.exec_ok) {
		r = -errno;
		goto out;
	}
	if (opts->capture_failed) {
		r = attach_failed(skel);
		if (r < 0) {
			log_debug("exec: syscall tracepoints not attached: %s", strerror(-r));
			ret->flags |= LOADED_FAILED_OFF;
		}
	}
	r = 0;
	ret->fds[FD_EVENTS] = bpf_map__fd(skel->maps.events);
	ret->fds[FD_STATS] = bpf_map__fd(skel->maps.exec_stats);
	ret->fds[FD_BSS] = bpf_map__fd(skel->maps.bss);
	ret->fds[FD_PROG_OK] = bpf_program__fd(skel->progs.exec_ok);
	ret->fds[FD_LINK_OK] = bpf_link__fd(skel->links.exec_ok);
	ret->fds[FD_LINK_EXIT] = skel->links.exec_exit ? bpf_link__fd(skel->links.exec_exit) : -1;
	ret->fds[FD_LINK_EXITAT] =
		skel->links.execat_exit ? bpf_link__fd(skel->links.execat_exit) : -1;
	ret->n_fds = FD_COUNT;
out:
	/* The skeleton stays: the child exits after sending, the parent keeps the fds. */
	ret->r = r < 0 ? r : 0;
}

struct bpf_exec *bpf_exec_new(const struct bpf_exec_opts *opts, bpf_exec_record_fn fn, void *arg,
			      const char **ret_step, bool *ret_failed_off)
{
	struct load_args args = {.opts = opts};
	const char *step = "calloc";
	struct bpf_exec *e;
	long page;
	int r;

	bpf_log_init();
	if (ret_failed_off)
		*ret_failed_off = false;
	e = calloc(1, sizeof(*e));
	if (!e) {
		r = -ENOMEM;
		goto fail;
	}
	for (int i = 0; i < BPF_LOADER_MAX_FDS; i++)
		e->fds.fds[i] = -1;
	e->epfd = -1;
	e->wakefd = -1;
	e->fn = fn;
	e->arg = arg;
	step = "libbpf_num_possible_cpus";
	e->ncpus = libbpf_num_possible_cpus();
	if (e->ncpus <= 0) {
		r = e->ncpus < 0 ? e->ncpus : -EINVAL;
		goto fail;
	}
	args.ncpus = e->ncpus;
	e->values = calloc((size_t)e->ncpus, sizeof(*e->values));
	if (!e->values) {
		r = -ENOMEM;
		goto fail;
	}
	/* Open, configure, load and attach in a child: the kernel BTF it parses stays there. */
	step = "loader child";
	r = bpf_loader_run(load_child, &args, LOADER_TIMEOUT_MS, &e->fds);
	if (r < 0)
		goto fail;
	if (e->fds.flags & LOADED_PINNED) {
		e->pin_dir = strdup(opts->pin_dir);
		if (!e->pin_dir)
			log_warn("history: out of memory: the BPF map pins under '%s' stay on exit",
				 opts->pin_dir);
	}
	if (e->fds.r < 0) {
		r = e->fds.r;
		step = e->fds.step < sizeof(step_names) / sizeof(step_names[0])
			       ? step_names[e->fds.step]
			       : "loader child";
		goto fail;
	}
	step = "loader child";
	r = -EPROTO;
	if (e->fds.n_fds != FD_COUNT || e->fds.fds[FD_EVENTS] < 0 || e->fds.fds[FD_STATS] < 0 ||
	    e->fds.fds[FD_BSS] < 0 || e->fds.fds[FD_PROG_OK] < 0 || e->fds.fds[FD_LINK_OK] < 0)
		goto fail;
	if (ret_failed_off && (e->fds.flags & LOADED_FAILED_OFF))
		*ret_failed_off = true;
	/* The .bss the programs read consumer_idle from, as libbpf maps it for a skeleton. */
	step = "mmap .bss";
	page = sysconf(_SC_PAGESIZE);
	e->bss_size = (sizeof(struct exec__bss) + (size_t)page - 1) / (size_t)page * (size_t)page;
	e->bss = mmap(NULL, e->bss_size, PROT_READ | PROT_WRITE, MAP_SHARED, e->fds.fds[FD_BSS], 0);
	if (e->bss == MAP_FAILED) {
		e->bss = NULL;
		r = -errno;
		goto fail;
	}
	/* The consumer. */
	step = "ring_buffer__new";
	e->rb = ring_buffer__new(e->fds.fds[FD_EVENTS], on_sample, e, NULL);
	if (!e->rb) {
		r = -errno;
		goto fail;
	}
	/* One epoll set for the ring and the stop eventfd: a sleep without a timer ends
	 * at the next exec or at bpf_exec_wake(). */
	step = "epoll";
	e->epfd = epoll_create1(EPOLL_CLOEXEC);
	e->wakefd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (e->epfd < 0 || e->wakefd < 0 ||
	    epoll_ctl(e->epfd, EPOLL_CTL_ADD, ring_buffer__epoll_fd(e->rb),
		      &(struct epoll_event){.events = EPOLLIN}) < 0 ||
	    epoll_ctl(e->epfd, EPOLL_CTL_ADD, e->wakefd, &(struct epoll_event){.events = EPOLLIN}) <
		    0) {
		r = -errno;
		goto fail;
	}
	e->stats_fd = e->fds.fds[FD_STATS];
	return e;

fail:
	if (r >= 0)
		r = -EINVAL;
	if (ret_step)
		*ret_step = step;
	bpf_exec_free(e);
	errno = -r;
	return NULL;
}

/* Sleeps up to timeout_ms (-1: no limit) for the ring or the wakefd. 0 or -errno. */
static int wait_events(struct bpf_exec *e, int timeout_ms)
{
	struct epoll_event ev[2];
	uint64_t v;

	if (epoll_wait(e->epfd, ev, 2, timeout_ms) < 0 && errno != EINTR)
		return -errno;
	/* A stop request stays visible to the caller through its own flag. */
	if (read(e->wakefd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		return -errno;
	return 0;
}

int bpf_exec_poll(struct bpf_exec *e, int timeout_ms)
{
	int r;

	/* Submissions do not wake us (BPF_RB_NO_WAKEUP) unless the ring fills up. */
	r = wait_events(e, timeout_ms);
	if (r < 0)
		return r;
	return ring_buffer__consume(e->rb);
}

int bpf_exec_idle(struct bpf_exec *e)
{
	int n;

	__atomic_store_n(&e->bss->consumer_idle, 1, __ATOMIC_SEQ_CST);
	/* A record committed before the program saw the flag: no wake-up follows it. */
	n = ring_buffer__consume(e->rb);
	if (n == 0)
		n = wait_events(e, -1);
	__atomic_store_n(&e->bss->consumer_idle, 0, __ATOMIC_SEQ_CST);
	return n;
}

int bpf_exec_wake(struct bpf_exec *e)
{
	uint64_t one = 1;

	if (write(e->wakefd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		return -errno;
	return 0;
}

int bpf_exec_stats(struct bpf_exec *e, struct srvmon_exec_stats *ret)
{
	struct srvmon_exec_stats sum = {0};
	__u32 zero = 0;

	if (bpf_map_lookup_elem(e->stats_fd, &zero, e->values) < 0)
		return -errno;
	for (int cpu = 0; cpu < e->ncpus; cpu++) {
		const struct srvmon_exec_stats *v = &e->values[cpu];

		sum.ringbuf_full += v->ringbuf_full;
		sum.argv_truncated += v->argv_truncated;
		sum.filtered += v->filtered;
		sum.emitted += v->emitted;
		sum.read_fault += v->read_fault;
		sum.cwd_cached += v->cwd_cached;
		sum.cwd_walked += v->cwd_walked;
	}
	*ret = sum;
	return 0;
}

int bpf_exec_prog_fd(struct bpf_exec *e)
{
	return e->fds.fds[FD_PROG_OK];
}
