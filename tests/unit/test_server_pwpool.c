/* server/pwpool.c: password checks on worker threads, bounded, results handed back. */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "password.h"
#include "pwpool.h"

struct waiter {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int notified;
};

static void notify(void *arg)
{
	struct waiter *w = arg;

	pthread_mutex_lock(&w->lock);
	w->notified++;
	pthread_cond_broadcast(&w->cond);
	pthread_mutex_unlock(&w->lock);
}

/* Waits (no timing: a condition) until n notifications have come. */
static void wait_notified(struct waiter *w, int n)
{
	pthread_mutex_lock(&w->lock);
	while (w->notified < n)
		pthread_cond_wait(&w->cond, &w->lock);
	pthread_mutex_unlock(&w->lock);
}

static int notified(struct waiter *w)
{
	int n;

	pthread_mutex_lock(&w->lock);
	n = w->notified;
	pthread_mutex_unlock(&w->lock);
	return n;
}

static char hash[PASSWORD_ENCODED_MAX];
static int owners[8];

static int setup(void **state)
{
	(void)state;
	return password_hash("right-password", hash, sizeof(hash));
}

static void test_results(void **state)
{
	struct waiter w = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0};
	struct pwpool *p = pwpool_new(2, 4, notify, &w);
	struct pwpool_job *jobs[5];
	int seen[4] = {0};

	(void)state;
	assert_non_null(p);
	assert_int_equal(pwpool_submit(p, hash, "right-password", &owners[0], &jobs[0]), 0);
	assert_int_equal(pwpool_submit(p, hash, "wrong", &owners[1], &jobs[1]), 0);
	assert_int_equal(pwpool_submit(p, "not-argon2", "x", &owners[2], &jobs[2]), 0);
	assert_int_equal(pwpool_submit(p, hash, "", &owners[3], &jobs[3]), 0);
	/* Four queued or running: the cap. */
	assert_int_equal(pwpool_submit(p, hash, "x", &owners[4], &jobs[4]), -EBUSY);
	wait_notified(&w, 4);
	for (int i = 0; i < 4; i++) {
		struct pwpool_job *job = pwpool_take_done(p);
		int *owner;

		assert_non_null(job);
		owner = pwpool_job_owner(job);
		seen[owner - owners]++;
		switch (owner - owners) {
		case 0:
			assert_int_equal(pwpool_job_result(job), 0);
			break;
		case 1:
		case 3:
			assert_int_equal(pwpool_job_result(job), -EACCES);
			break;
		default:
			assert_int_equal(pwpool_job_result(job), -EINVAL);
		}
		pwpool_job_free(job);
	}
	assert_null(pwpool_take_done(p));
	assert_memory_equal(seen, ((int[]){1, 1, 1, 1}), sizeof(seen));
	/* Taken back: room again. */
	assert_int_equal(pwpool_submit(p, hash, "right-password", &owners[0], &jobs[0]), 0);
	wait_notified(&w, 5);
	pwpool_job_free(pwpool_take_done(p));
	pwpool_free(p);
}

static void test_cancel(void **state)
{
	struct waiter w = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0};
	struct pwpool *p = pwpool_new(1, 8, notify, &w);
	struct pwpool_job *jobs[6];

	(void)state;
	assert_non_null(p);
	for (int i = 0; i < 6; i++)
		assert_int_equal(pwpool_submit(p, hash, "wrong", &owners[i], &jobs[i]), 0);
	/* Cancelled whatever its state (queued, running or done): its result never comes. */
	pwpool_cancel(p, jobs[0]);
	pwpool_cancel(p, jobs[5]);
	pwpool_cancel(p, NULL);
	for (int n = 0; n < 4;) {
		int before = notified(&w);
		struct pwpool_job *job = pwpool_take_done(p);

		/* None done yet: the next notification says one is (read before the take, so
		 * that one that comes in between is not missed). */
		if (!job) {
			wait_notified(&w, before + 1);
			continue;
		}
		assert_ptr_not_equal(pwpool_job_owner(job), &owners[0]);
		assert_ptr_not_equal(pwpool_job_owner(job), &owners[5]);
		pwpool_job_free(job);
		n++;
	}
	/* Freed with jobs queued: stops, frees them (ASan checks). */
	for (int i = 0; i < 6; i++)
		assert_int_equal(pwpool_submit(p, hash, "wrong", &owners[i], &jobs[i]), 0);
	pwpool_stop(p);
	pwpool_cancel(p, jobs[2]);
	pwpool_free(p);
	assert_null(pwpool_new(0, 1, notify, &w));
	assert_null(pwpool_new(2, 1, notify, &w));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_results),
		cmocka_unit_test(test_cancel),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
