#include "diskusage.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* State shared by one statvfs() worker and its waiter. Reference counted: the worker
 * holds one reference and the slot another; the last one to let go frees it, so a
 * worker stuck past its deadline frees its own state when it finally returns. */
struct disk_job {
	pthread_mutex_t lock;
	pthread_cond_t cond; /* CLOCK_MONOTONIC */
	pthread_t thread;
	int refs;
	bool done;
	int err;
	uint64_t total;
	uint64_t available;
	disk_statfn statfn;
	char mount[sizeof(((struct disk_usage *)0)->mount)];
};

struct disk_slot {
	char mount[sizeof(((struct disk_usage *)0)->mount)];
	struct disk_job *job; /* running, or stuck after a timeout */
};

struct diskusage {
	uint64_t timeout_ms;
	disk_statfn statfn;
	size_t n;
	struct disk_slot slots[];
};

int diskusage_from_statvfs(const struct statvfs *st, uint64_t *ret_total, uint64_t *ret_available)
{
	uint64_t frsize = st->f_frsize;

	if (frsize && ((uint64_t)st->f_blocks > UINT64_MAX / frsize ||
		       (uint64_t)st->f_bavail > UINT64_MAX / frsize))
		return -ERANGE;
	*ret_total = (uint64_t)st->f_blocks * frsize;
	*ret_available = (uint64_t)st->f_bavail * frsize;
	return 0;
}

static void job_unref(struct disk_job *job)
{
	bool last;

	pthread_mutex_lock(&job->lock);
	last = --job->refs == 0;
	pthread_mutex_unlock(&job->lock);
	if (!last)
		return;
	pthread_cond_destroy(&job->cond);
	pthread_mutex_destroy(&job->lock);
	free(job);
}

static void *job_run(void *arg)
{
	struct disk_job *job = arg;
	struct statvfs st;
	uint64_t total = 0;
	uint64_t available = 0;
	int err;

	if (job->statfn(job->mount, &st) < 0)
		err = errno > 0 ? -errno : -EIO;
	else
		err = diskusage_from_statvfs(&st, &total, &available);

	pthread_mutex_lock(&job->lock);
	job->err = err;
	job->total = total;
	job->available = available;
	job->done = true;
	pthread_cond_signal(&job->cond);
	pthread_mutex_unlock(&job->lock);
	job_unref(job);
	return NULL;
}

static struct disk_job *job_start(const struct disk_slot *slot, disk_statfn statfn, int *ret_err)
{
	pthread_condattr_t cattr;
	struct disk_job *job;
	int r;

	job = calloc(1, sizeof(*job));
	if (!job) {
		*ret_err = -ENOMEM;
		return NULL;
	}
	memcpy(job->mount, slot->mount, sizeof(job->mount));
	job->statfn = statfn;
	job->refs = 2;

	r = pthread_condattr_init(&cattr);
	if (r)
		goto err_free;
	r = pthread_condattr_setclock(&cattr, CLOCK_MONOTONIC);
	if (!r)
		r = pthread_cond_init(&job->cond, &cattr);
	pthread_condattr_destroy(&cattr);
	if (r)
		goto err_free;
	r = pthread_mutex_init(&job->lock, NULL);
	if (r)
		goto err_cond;
	r = pthread_create(&job->thread, NULL, job_run, job);
	if (r)
		goto err_mutex;
	return job;

err_mutex:
	pthread_mutex_destroy(&job->lock);
err_cond:
	pthread_cond_destroy(&job->cond);
err_free:
	free(job);
	*ret_err = -r;
	return NULL;
}

struct diskusage *diskusage_new(const char *const *mounts, size_t n, uint64_t timeout_ms,
				disk_statfn statfn)
{
	struct diskusage *du;

	if ((n && !mounts) || timeout_ms == 0) {
		errno = EINVAL;
		return NULL;
	}
	if (n > DISKUSAGE_MAX_MOUNTS) {
		errno = E2BIG;
		return NULL;
	}
	for (size_t i = 0; i < n; i++) {
		if (!mounts[i] || mounts[i][0] == '\0') {
			errno = EINVAL;
			return NULL;
		}
		if (strlen(mounts[i]) >= sizeof(du->slots[0].mount)) {
			errno = ENAMETOOLONG;
			return NULL;
		}
	}
	du = calloc(1, sizeof(*du) + n * sizeof(du->slots[0]));
	if (!du)
		return NULL;
	du->timeout_ms = timeout_ms;
	du->statfn = statfn ? statfn : statvfs;
	du->n = n;
	for (size_t i = 0; i < n; i++)
		memcpy(du->slots[i].mount, mounts[i], strlen(mounts[i]) + 1);
	return du;
}

size_t diskusage_count(const struct diskusage *du)
{
	return du ? du->n : 0;
}

static void deadline_after(uint64_t ms, struct timespec *ret)
{
	clock_gettime(CLOCK_MONOTONIC, ret);
	ret->tv_sec += (time_t)(ms / 1000);
	ret->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ret->tv_nsec >= 1000000000L) {
		ret->tv_sec++;
		ret->tv_nsec -= 1000000000L;
	}
}

/* Waits for the slot's job until deadline and fills out. */
static void slot_collect(struct disk_slot *slot, const struct timespec *deadline,
			 struct disk_usage *out)
{
	struct disk_job *job = slot->job;
	bool done;

	pthread_mutex_lock(&job->lock);
	while (!job->done) {
		if (pthread_cond_timedwait(&job->cond, &job->lock, deadline) == ETIMEDOUT)
			break;
	}
	done = job->done;
	if (done) {
		out->err = job->err;
		out->total = job->total;
		out->available = job->available;
	}
	pthread_mutex_unlock(&job->lock);

	if (!done) {
		/* Hung mount: leave the worker to finish (and free) on its own. */
		pthread_detach(job->thread);
		out->err = -ETIMEDOUT;
		return;
	}
	pthread_join(job->thread, NULL);
	slot->job = NULL;
	job_unref(job);
}

/* Drops a job left stuck by an earlier sample once it has finished.
 * Returns true when it is still stuck. */
static bool slot_still_stuck(struct disk_slot *slot)
{
	bool done;

	if (!slot->job)
		return false;
	pthread_mutex_lock(&slot->job->lock);
	done = slot->job->done;
	pthread_mutex_unlock(&slot->job->lock);
	if (!done)
		return true;
	/* Detached at timeout: its result is stale, a fresh query follows. */
	job_unref(slot->job);
	slot->job = NULL;
	return false;
}

int diskusage_sample(struct diskusage *du, struct disk_usage *ret, size_t n)
{
	bool started[DISKUSAGE_MAX_MOUNTS] = {false};
	struct timespec deadline;

	if (!du || n < du->n)
		return -EINVAL;

	for (size_t i = 0; i < du->n; i++) {
		struct disk_slot *slot = &du->slots[i];
		struct disk_usage *out = &ret[i];
		int err = 0;

		memset(out, 0, sizeof(*out));
		memcpy(out->mount, slot->mount, sizeof(out->mount));
		if (slot_still_stuck(slot)) {
			out->err = -ETIMEDOUT;
			continue;
		}
		slot->job = job_start(slot, du->statfn, &err);
		if (!slot->job) {
			out->err = err;
			continue;
		}
		started[i] = true;
	}

	/* One shared deadline: n hung mounts cost one timeout, not n. */
	deadline_after(du->timeout_ms, &deadline);
	for (size_t i = 0; i < du->n; i++) {
		if (started[i])
			slot_collect(&du->slots[i], &deadline, &ret[i]);
	}
	return 0;
}

void diskusage_free(struct diskusage *du)
{
	if (!du)
		return;
	for (size_t i = 0; i < du->n; i++) {
		if (du->slots[i].job)
			job_unref(du->slots[i].job);
	}
	free(du);
}
