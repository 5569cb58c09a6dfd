/*
 * delaylink: a fixed one-way delay between two TAP devices, for benchmarks on kernels
 * without sch_netem. Every Ethernet frame the kernel transmits on one TAP device is read,
 * held for the delay on a bounded FIFO and then written into the other device, which
 * receives it; both directions. Shaping stays in the kernel (tbf on the devices' egress).
 * The devices live as long as this process: it stops after the duration (or on
 * SIGINT/SIGTERM), prints its counters and exits, and the kernel deletes both devices.
 *
 * Usage: delaylink --a NAME [--a-netns NS] --b NAME [--b-netns NS] --delay-ms MS
 *                  --duration-s S [--queue FRAMES] [--rt-priority P]
 * NS is a name under /run/netns ("ip netns add"). The devices are created down and
 * without addresses; "ready" on stdout says they exist. Configure them with ip(8).
 * --rt-priority P (1-99) runs the forwarder SCHED_FIFO, so that on a busy machine frames
 * leave when due rather than when the scheduler gets to it (netem runs in softirq context).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "numparse.h"

#define FRAME_MAX     2048 /* an MTU-1500 frame with VLAN tags fits; larger ones are dropped */
#define READ_BATCH    64   /* frames read from one device before looking at the timer */
#define QUEUE_DEFAULT 8192
#define QUEUE_MAX     (1u << 20)

struct frame {
	uint64_t due_ns;
	uint32_t len;
	unsigned char data[FRAME_MAX];
};

/* Frames of one direction in arrival order; all have the same delay, so the head is due first. */
struct fifo {
	struct frame *f;
	size_t cap;
	size_t head;
	size_t n;
};

struct direction {
	const char *name; /* "a->b" */
	int from;
	int to;
	struct fifo q;
	uint64_t forwarded;
	uint64_t dropped_full;
	uint64_t dropped_oversize;
	uint64_t write_errors;
};

struct opts {
	const char *a, *a_netns, *b, *b_netns;
	uint64_t delay_ms;
	uint64_t duration_s;
	uint64_t queue;
	uint64_t rt_priority; /* 0: the normal scheduler */
};

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Opens a TAP device NAME in the current network namespace; non-blocking fd or -errno. */
static int tap_open_here(const char *name)
{
	struct ifreq ifr;
	int fd, r;

	fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
	(void)snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	return fd;
}

/* Opens TAP device NAME inside namespace NS (NULL: ours); the fd stays bound to it. */
static int tap_open(const char *name, const char *ns)
{
	char path[256];
	int self = -1, target = -1, fd;

	if (!ns)
		return tap_open_here(name);
	(void)snprintf(path, sizeof(path), "/run/netns/%s", ns);
	self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (self < 0) {
		fd = -errno;
		goto out;
	}
	target = open(path, O_RDONLY | O_CLOEXEC);
	if (target < 0) {
		fd = -errno;
		goto out;
	}
	if (setns(target, CLONE_NEWNET) < 0) {
		fd = -errno;
		goto out;
	}
	fd = tap_open_here(name);
	if (setns(self, CLONE_NEWNET) < 0) {
		/* Cannot happen to root with our own namespace; never go on in the wrong one. */
		if (fd >= 0)
			close(fd);
		fd = -errno;
	}
out:
	if (target >= 0)
		close(target);
	if (self >= 0)
		close(self);
	return fd;
}

/* Reads up to READ_BATCH frames from d->from onto its queue, due at now + delay. */
static int drain_device(struct direction *d, uint64_t delay_ns)
{
	for (int i = 0; i < READ_BATCH; i++) {
		unsigned char scratch[FRAME_MAX];
		struct frame *f;
		unsigned char *buf;
		ssize_t len;

		/* A full queue is a full link: the frame is read and dropped, and counted. */
		f = d->q.n < d->q.cap ? &d->q.f[(d->q.head + d->q.n) % d->q.cap] : NULL;
		buf = f ? f->data : scratch;
		len = read(d->from, buf, FRAME_MAX);
		if (len < 0) {
			if (errno == EAGAIN || errno == EINTR)
				return 0;
			return -errno;
		}
		if ((size_t)len >= FRAME_MAX) {
			d->dropped_oversize++; /* possibly truncated */
			continue;
		}
		if (!f) {
			d->dropped_full++;
			continue;
		}
		f->len = (uint32_t)len;
		f->due_ns = mono_ns() + delay_ns;
		d->q.n++;
	}
	return 0;
}

/* Writes every frame that is due into d->to. */
static void release_due(struct direction *d, uint64_t now)
{
	while (d->q.n > 0) {
		struct frame *f = &d->q.f[d->q.head];

		if (f->due_ns > now)
			break;
		if (write(d->to, f->data, f->len) == (ssize_t)f->len)
			d->forwarded++;
		else
			d->write_errors++;
		d->q.head = (d->q.head + 1) % d->q.cap;
		d->q.n--;
	}
}

static int arm_timer(int tfd, uint64_t at_ns)
{
	struct itimerspec its = {0};

	/* 0 would disarm: the deadline is always in the future of the boot. */
	its.it_value.tv_sec = (time_t)(at_ns / 1000000000u);
	its.it_value.tv_nsec = (long)(at_ns % 1000000000u);
	if (timerfd_settime(tfd, TFD_TIMER_ABSTIME, &its, NULL) < 0)
		return -errno;
	return 0;
}

static int forward(struct direction *dirs, const struct opts *o)
{
	uint64_t delay_ns = o->delay_ms * 1000000u;
	uint64_t end = mono_ns() + o->duration_s * 1000000000u;
	int tfd, r = 0;

	tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (tfd < 0) {
		r = -errno;
		log_err_errno(r, "delaylink: timerfd_create failed");
		return r;
	}
	while (!stop_requested) {
		struct pollfd p[3] = {
			{.fd = dirs[0].from, .events = POLLIN},
			{.fd = dirs[1].from, .events = POLLIN},
			{.fd = tfd, .events = POLLIN},
		};
		uint64_t next = end, now;

		for (int i = 0; i < 2; i++) {
			if (dirs[i].q.n > 0 && dirs[i].q.f[dirs[i].q.head].due_ns < next)
				next = dirs[i].q.f[dirs[i].q.head].due_ns;
		}
		r = arm_timer(tfd, next);
		if (r < 0) {
			log_err_errno(r, "delaylink: timerfd_settime failed");
			break;
		}
		if (poll(p, 3, -1) < 0 && errno != EINTR) {
			r = -errno;
			log_err_errno(r, "delaylink: poll failed");
			break;
		}
		for (int i = 0; i < 2; i++) {
			if (!(p[i].revents & POLLIN))
				continue;
			r = drain_device(&dirs[i], delay_ns);
			if (r < 0) {
				log_err_errno(r, "delaylink: reading a frame (%s) failed",
					      dirs[i].name);
				goto out;
			}
		}
		if (p[2].revents & POLLIN) {
			uint64_t expirations;

			(void)!read(tfd, &expirations, sizeof(expirations));
		}
		now = mono_ns();
		release_due(&dirs[0], now);
		release_due(&dirs[1], now);
		if (now >= end)
			break;
	}
out:
	close(tfd);
	return r;
}

static int parse_args(int argc, char **argv, struct opts *ret)
{
	memset(ret, 0, sizeof(*ret));
	ret->queue = QUEUE_DEFAULT;
	for (int i = 1; i < argc; i += 2) {
		const char *k = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		int r = 0;

		if (!v) {
			log_err("delaylink: \"%s\" needs a value", k);
			return -EINVAL;
		}
		if (strcmp(k, "--a") == 0)
			ret->a = v;
		else if (strcmp(k, "--a-netns") == 0)
			ret->a_netns = v;
		else if (strcmp(k, "--b") == 0)
			ret->b = v;
		else if (strcmp(k, "--b-netns") == 0)
			ret->b_netns = v;
		else if (strcmp(k, "--delay-ms") == 0)
			r = parse_u64(v, 0, 10000, &ret->delay_ms);
		else if (strcmp(k, "--duration-s") == 0)
			r = parse_u64(v, 1, 86400, &ret->duration_s);
		else if (strcmp(k, "--queue") == 0)
			r = parse_u64(v, 1, QUEUE_MAX, &ret->queue);
		else if (strcmp(k, "--rt-priority") == 0)
			r = parse_u64(v, 1, 99, &ret->rt_priority);
		else
			r = -ENOENT;
		if (r == -ENOENT) {
			log_err("delaylink: unknown option \"%s\"", k);
			return -EINVAL;
		}
		if (r < 0) {
			log_err_errno(r, "delaylink: bad value \"%s\" for %s", v, k);
			return r;
		}
	}
	if (!ret->a || !ret->b || ret->duration_s == 0) {
		log_err("usage: delaylink --a NAME [--a-netns NS] --b NAME [--b-netns NS] "
			"--delay-ms MS --duration-s S [--queue FRAMES] [--rt-priority P]");
		return -EINVAL;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct direction dirs[2] = {{.name = "a->b"}, {.name = "b->a"}};
	struct sigaction sa = {.sa_handler = on_signal};
	struct opts o;
	int fa = -1, fb = -1;
	int r;

	log_init("delaylink");
	r = parse_args(argc, argv, &o);
	if (r < 0)
		return 2;
	/* Frames are released when due, not up to 50 us later. */
	(void)prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);
	if (o.rt_priority) {
		struct sched_param sp = {.sched_priority = (int)o.rt_priority};

		/* The kernel's RT throttling still leaves the other tasks 5 % of each CPU. */
		if (sched_setscheduler(0, SCHED_FIFO, &sp) < 0)
			log_warn_errno(-errno,
				       "delaylink: SCHED_FIFO priority %d refused, ignoring",
				       sp.sched_priority);
	}
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	for (int i = 0; i < 2; i++) {
		dirs[i].q.cap = (size_t)o.queue;
		dirs[i].q.f = calloc(dirs[i].q.cap, sizeof(*dirs[i].q.f));
		if (!dirs[i].q.f) {
			r = -ENOMEM;
			log_err_errno(r, "delaylink: allocating a queue of %zu frames failed",
				      dirs[i].q.cap);
			goto out;
		}
	}
	fa = tap_open(o.a, o.a_netns);
	if (fa < 0) {
		r = fa;
		log_err_errno(r, "delaylink: creating TAP device \"%s\" (netns \"%s\") failed", o.a,
			      o.a_netns ? o.a_netns : "own");
		goto out;
	}
	fb = tap_open(o.b, o.b_netns);
	if (fb < 0) {
		r = fb;
		log_err_errno(r, "delaylink: creating TAP device \"%s\" (netns \"%s\") failed", o.b,
			      o.b_netns ? o.b_netns : "own");
		goto out;
	}
	dirs[0].from = fa;
	dirs[0].to = fb;
	dirs[1].from = fb;
	dirs[1].to = fa;
	printf("ready\n");
	fflush(stdout);
	r = forward(dirs, &o);
	for (int i = 0; i < 2; i++)
		fprintf(stderr,
			"delaylink: %s forwarded %" PRIu64 ", dropped %" PRIu64
			" (queue full) %" PRIu64 " (oversize), write errors %" PRIu64 "\n",
			dirs[i].name, dirs[i].forwarded, dirs[i].dropped_full,
			dirs[i].dropped_oversize, dirs[i].write_errors);
out:
	/* Closing the descriptors deletes the (non-persistent) devices. */
	if (fb >= 0)
		close(fb);
	if (fa >= 0)
		close(fa);
	free(dirs[0].q.f);
	free(dirs[1].q.f);
	return r < 0 ? 1 : 0;
}
