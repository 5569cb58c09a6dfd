#include "runner.h"

#include "log.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct runner {
	char name[32];
	uint64_t interval_ms;
	runner_tick_fn tick;
	void *arg;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool stop;
	uint64_t missed;
	int last_error;
};

static void timespec_add_ms(struct timespec *ts, uint64_t ms)
{
	ts->tv_sec += (time_t)(ms / 1000);
	ts->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

static bool timespec_before(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec < b->tv_sec || (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}

static void *runner_main(void *arg)
{
	struct runner *r = arg;
	struct timespec deadline, now;
	bool stop;
	int err;

	clock_gettime(CLOCK_MONOTONIC, &deadline);
	timespec_add_ms(&deadline, r->interval_ms);
	for (;;) {
		pthread_mutex_lock(&r->lock);
		while (!r->stop) {
			if (pthread_cond_timedwait(&r->cond, &r->lock, &deadline) == ETIMEDOUT)
				break;
		}
		stop = r->stop;
		pthread_mutex_unlock(&r->lock);
		if (stop)
			break;

		err = r->tick(r->arg);
		if (err != r->last_error) {
			if (err < 0)
				log_warn_errno(err, "module %s: sampling failed", r->name);
			else
				log_info("module %s: sampling works again", r->name);
		}
		pthread_mutex_lock(&r->lock);
		r->last_error = err;
		/* Next deadline on the fixed grid; skip those already past. */
		timespec_add_ms(&deadline, r->interval_ms);
		clock_gettime(CLOCK_MONOTONIC, &now);
		while (timespec_before(&deadline, &now)) {
			timespec_add_ms(&deadline, r->interval_ms);
			r->missed++;
		}
		pthread_mutex_unlock(&r->lock);
	}
	return NULL;
}

struct runner *runner_start(const char *name, uint64_t interval_ms, runner_tick_fn tick, void *arg)
{
	pthread_condattr_t attr;
	struct runner *r;
	int err;

	r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	(void)snprintf(r->name, sizeof(r->name), "%s", name);
	r->interval_ms = interval_ms ? interval_ms : 1000;
	r->tick = tick;
	r->arg = arg;
	pthread_mutex_init(&r->lock, NULL);
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&r->cond, &attr);
	pthread_condattr_destroy(&attr);
	err = pthread_create(&r->thread, NULL, runner_main, r);
	if (err) {
		log_err_errno(err, "cannot start the %s module thread", name);
		pthread_cond_destroy(&r->cond);
		pthread_mutex_destroy(&r->lock);
		free(r);
		errno = err;
		return NULL;
	}
	return r;
}

void runner_stop(struct runner *r)
{
	if (!r)
		return;
	pthread_mutex_lock(&r->lock);
	r->stop = true;
	pthread_cond_signal(&r->cond);
	pthread_mutex_unlock(&r->lock);
	pthread_join(r->thread, NULL);
	pthread_cond_destroy(&r->cond);
	pthread_mutex_destroy(&r->lock);
	free(r);
}

uint64_t runner_missed(struct runner *r)
{
	uint64_t n;

	pthread_mutex_lock(&r->lock);
	n = r->missed;
	pthread_mutex_unlock(&r->lock);
	return n;
}

int runner_last_error(struct runner *r)
{
	int e;

	pthread_mutex_lock(&r->lock);
	e = r->last_error;
	pthread_mutex_unlock(&r->lock);
	return e;
}
