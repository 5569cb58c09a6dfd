#include "history_collector.h"

#include "bpf_exec.h"
#include "config.h"
#include "exec_record.h"
#include "sbuf.h"
#include "exec_trail.h"
#include "exec_users.h"
#include "log.h"
#include "module.h"
#include "exec_message.h"

#include <errno.h>
#include <fnmatch.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define LOSS_LOG_INTERVAL_MS   60000 /* at most one loss warning a minute */
#define LOSS_CHECK_INTERVAL_MS 1000  /* kernel counters read at most once a second */
#define USER_CACHE_TTL_MS      60000
#define EXEC_BATCH_MAX	       256	  /* records printed before they are handed on */
#define EXEC_BATCH_BYTES       (1u << 20) /* or this much JSON */

struct history_collector {
	struct bpf_exec *bpf;
	struct exec_users *users;
	struct exec_trail *trail;
	const struct module_sink *sink; /* NULL: the trail only */
	const struct strlist *exclude_path;
	char *trail_path;
	size_t backlog_max;
	unsigned drain_ms; /* history.drain_interval */
	uint64_t next_loss_check_ms;
	int64_t real_minus_mono_ns;

	pthread_t thread;
	bool running;
	pthread_mutex_t lock; /* stop flag, stats */
	pthread_cond_t cond;
	bool stop;
	struct history_collector_stats st;
	uint64_t lost_logged;
	uint64_t next_loss_log_ms;

	/* The records of the current drain, printed, each followed by '\n'. */
	struct sbuf batch;
	size_t off[EXEC_BATCH_MAX];
	size_t n;
	bool trail_warned;
};

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int64_t real_minus_mono(void)
{
	struct timespec real;
	uint64_t m = mono_ns();

	clock_gettime(CLOCK_REALTIME, &real);
	return (int64_t)((uint64_t)real.tv_sec * 1000000000u + (uint64_t)real.tv_nsec) - (int64_t)m;
}

static bool path_excluded(const struct history_collector *c, const struct exec_event *e)
{
	char full[PATH_MAX];
	const char *path = e->filename;

	if (!c->exclude_path || c->exclude_path->n == 0)
		return false;
	/* A relative path is matched as resolved against the cwd. */
	if (path[0] != '/' &&
	    snprintf(full, sizeof(full), "%s/%s", e->cwd, path) < (int)sizeof(full))
		path = full;
	for (size_t i = 0; i < c->exclude_path->n; i++) {
		if (fnmatch(c->exclude_path->items[i], path, 0) == 0)
			return true;
	}
	return false;
}

static void count(struct history_collector *c, uint64_t *counter)
{
	pthread_mutex_lock(&c->lock);
	(*counter)++;
	pthread_mutex_unlock(&c->lock);
}

/* Hands the batch to the trail (one write) and to the sink (one call: one lock, one wake-up). */
static void flush(struct history_collector *c)
{
	struct record_text recs[EXEC_BATCH_MAX];
	int r;

	if (c->n == 0)
		return;
	if (c->trail) {
		r = exec_trail_append(c->trail, c->batch.s, c->batch.len);
		if (r < 0) {
			pthread_mutex_lock(&c->lock);
			c->st.trail_errors += c->n;
			pthread_mutex_unlock(&c->lock);
			if (!c->trail_warned)
				log_warn_errno(r, "exec: cannot write the trail '%s', continuing",
					       c->trail_path);
			c->trail_warned = true;
		}
	}
	if (c->sink) {
		for (size_t i = 0; i < c->n; i++) {
			recs[i].text = c->batch.s + c->off[i];
			/* Without the newline that ends the trail line. */
			recs[i].len = (i + 1 < c->n ? c->off[i + 1] : c->batch.len) - c->off[i] - 1;
		}
		r = c->sink->submit_text(c->sink->arg, recs, c->n);
		if (r > 0) {
			pthread_mutex_lock(&c->lock);
			c->st.shipped += (uint64_t)r;
			pthread_mutex_unlock(&c->lock);
		}
	}
	c->n = 0;
	c->batch.len = 0;
}

static void on_record(void *arg, const void *data, size_t size)
{
	struct history_collector *c = arg;
	size_t start = c->batch.len;
	struct exec_event e;
	int r;

	r = exec_record_decode(data, size, c->real_minus_mono_ns, &e);
	if (r < 0) {
		count(c, &c->st.malformed);
		log_debug("exec: record of %zu bytes malformed (%s), ignoring", size, strerror(-r));
		return;
	}
	if (path_excluded(c, &e)) {
		count(c, &c->st.excluded);
		return;
	}
	e.user = exec_users_name(c->users, e.uid, e.mono_ns / 1000000u);
	/* Printed once: the same bytes become the trail line and the shipped record. */
	r = message_exec_json(&e, &c->batch);
	if (r == 0)
		r = sbuf_addc(&c->batch, '\n');
	if (r < 0) {
		c->batch.len = start;
		count(c, &c->st.malformed);
		return;
	}
	c->off[c->n++] = start;
	if (c->n == EXEC_BATCH_MAX || c->batch.len >= EXEC_BATCH_BYTES)
		flush(c);
}

struct history_collector *history_collector_new(const struct config *cfg,
						const struct module_sink *sink, size_t backlog_max,
						const char **ret_step)
{
	const struct config_history *h = &cfg->history;
	struct bpf_exec_opts o = {0};
	const char *step = "calloc";
	struct history_collector *c;
	bool failed_off = false;
	uint64_t rb = 4096;
	int r;

	c = calloc(1, sizeof(*c));
	if (!c) {
		r = -ENOMEM;
		goto fail;
	}
	pthread_mutex_init(&c->lock, NULL);
	pthread_cond_init(&c->cond, NULL);
	c->sink = sink;
	c->backlog_max = backlog_max;
	c->drain_ms = (unsigned)h->drain_interval_ms;
	c->exclude_path = &h->exclude_path;
	c->real_minus_mono_ns = real_minus_mono();
	c->users = exec_users_new(USER_CACHE_TTL_MS);
	if (!c->users) {
		r = -ENOMEM;
		goto fail;
	}
	if (h->trail) {
		step = "open trail";
		c->trail_path = strdup(h->trail_path);
		if (!c->trail_path) {
			r = -ENOMEM;
			goto fail;
		}
		c->trail = exec_trail_open(h->trail_path, h->trail_max_size,
					   (unsigned)h->trail_rotations);
		if (!c->trail) {
			r = -errno;
			log_warn_errno(r, "exec: cannot open the trail '%s', continuing without it",
				       h->trail_path);
		}
	}
	while (rb < h->ringbuf_size)
		rb <<= 1;
	o.argv_max = (uint32_t)h->argv_max;
	o.ringbuf_size = (uint32_t)rb;
	o.min_uid = (uint32_t)h->min_uid;
	o.login_only = h->filter == HISTORY_FILTER_LOGIN;
	o.capture_failed = h->failed;
	o.capture_cwd = h->cwd != HISTORY_CWD_OFF;
	o.exclude_comm = (const char *const *)h->exclude_comm.items;
	o.n_exclude_comm = h->exclude_comm.n;
	o.pin_dir = cfg->agent.bpf_pin_dir;
	c->bpf = bpf_exec_new(&o, on_record, c, &step, &failed_off);
	if (!c->bpf) {
		r = -errno;
		goto fail;
	}
	if (failed_off)
		log_warn("exec: syscall tracepoints unavailable (tracefs), failed execs are not "
			 "recorded");
	return c;
fail:
	if (ret_step)
		*ret_step = step;
	history_collector_free(c);
	errno = -r;
	return NULL;
}

/*
 * Reads the kernel counters (a system call: at most once a second, or now when force)
 * and reports new losses, at most once a minute. Called on the drain thread.
 */
static void check_loss(struct history_collector *c, bool force)
{
	struct srvmon_exec_stats k;
	uint64_t now = mono_ns() / 1000000u;

	if (!force && now < c->next_loss_check_ms)
		return;
	c->next_loss_check_ms = now + LOSS_CHECK_INTERVAL_MS;
	if (bpf_exec_stats(c->bpf, &k) < 0)
		return;
	pthread_mutex_lock(&c->lock);
	c->st.kernel = k;
	pthread_mutex_unlock(&c->lock);
	if (k.ringbuf_full > c->lost_logged && now >= c->next_loss_log_ms) {
		log_warn("exec: %llu exec records lost in the kernel (ring buffer full; raise "
			 "history.ringbuf_size), %llu in total",
			 (unsigned long long)(k.ringbuf_full - c->lost_logged),
			 (unsigned long long)k.ringbuf_full);
		c->lost_logged = k.ringbuf_full;
		c->next_loss_log_ms = now + LOSS_LOG_INTERVAL_MS;
	}
}

int history_collector_drain(struct history_collector *c, int timeout_ms)
{
	int n;

	c->real_minus_mono_ns = real_minus_mono();
	n = bpf_exec_poll(c->bpf, timeout_ms);
	flush(c);
	check_loss(c, timeout_ms == 0);
	return n;
}

/*
 * After a drain that found nothing: sleeps without a timer until the next exec (the
 * kernel wakes us after its record) or a stop, then drains. Records consumed or -errno.
 */
static int drain_when_idle(struct history_collector *c)
{
	int n;

	check_loss(c, true); /* the counters as they stand before a long sleep */
	c->real_minus_mono_ns = real_minus_mono();
	n = bpf_exec_idle(c->bpf);
	if (n == 0)
		return history_collector_drain(c, 0); /* woken: the clock offset of now */
	flush(c);
	return n;
}

/* Waits up to ms for a stop request. Returns true when asked to stop. */
static bool wait_stop(struct history_collector *c, unsigned ms)
{
	struct timespec until;
	bool stop;

	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_nsec += (long)ms * 1000000L;
	until.tv_sec += until.tv_nsec / 1000000000L;
	until.tv_nsec %= 1000000000L;
	pthread_mutex_lock(&c->lock);
	while (!c->stop && pthread_cond_timedwait(&c->cond, &c->lock, &until) != ETIMEDOUT)
		;
	stop = c->stop;
	pthread_mutex_unlock(&c->lock);
	return stop;
}

static bool stop_requested(struct history_collector *c)
{
	bool stop;

	pthread_mutex_lock(&c->lock);
	stop = c->stop;
	pthread_mutex_unlock(&c->lock);
	return stop;
}

/*
 * Drains every drain_interval while execs come; after a drain that found none, sleeps
 * until the next one (no timer: an idle machine does not wake the agent for history).
 */
static void *drain_thread(void *arg)
{
	struct history_collector *c = arg;
	int n = 1;

	while (!stop_requested(c)) {
		/* Backpressure: a burst waits in the kernel ring, not in our memory. */
		if (c->sink && c->backlog_max && c->sink->backlog(c->sink->arg) >= c->backlog_max) {
			check_loss(c, false);
			if (wait_stop(c, c->drain_ms))
				break;
			n = 1;
			continue;
		}
		n = n == 0 ? drain_when_idle(c) : history_collector_drain(c, (int)c->drain_ms);
		if (n < 0 && wait_stop(c, c->drain_ms))
			break;
	}
	return NULL;
}

int history_collector_start(struct history_collector *c)
{
	pthread_condattr_t attr;
	int r;

	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_destroy(&c->cond);
	pthread_cond_init(&c->cond, &attr);
	pthread_condattr_destroy(&attr);
	r = pthread_create(&c->thread, NULL, drain_thread, c);
	if (r)
		return -r;
	(void)pthread_setname_np(c->thread, "srvmon-history"); /* top -H, /proc/PID/task */
	c->running = true;
	return 0;
}

uint64_t history_collector_lost(struct history_collector *c)
{
	uint64_t lost;

	if (!c)
		return 0;
	pthread_mutex_lock(&c->lock);
	lost = c->st.kernel.ringbuf_full;
	pthread_mutex_unlock(&c->lock);
	return lost;
}

void history_collector_stats(struct history_collector *c, struct history_collector_stats *ret)
{
	pthread_mutex_lock(&c->lock);
	*ret = c->st;
	pthread_mutex_unlock(&c->lock);
}

void history_collector_free(struct history_collector *c)
{
	if (!c)
		return;
	if (c->running) {
		pthread_mutex_lock(&c->lock);
		c->stop = true;
		pthread_cond_signal(&c->cond);
		pthread_mutex_unlock(&c->lock);
		bpf_exec_wake(c->bpf); /* out of a sleep in the ring's epoll */
		pthread_join(c->thread, NULL);
	}
	if (c->bpf)
		history_collector_drain(c, 0); /* what is in the ring still goes out */
	bpf_exec_free(c->bpf);
	exec_trail_close(c->trail);
	exec_users_free(c->users);
	sbuf_free(&c->batch);
	free(c->trail_path);
	pthread_cond_destroy(&c->cond);
	pthread_mutex_destroy(&c->lock);
	free(c);
}
