#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "diskusage.h"
#include "textfile.h"
#include "procstat.h"

/* A statvfs() stand-in that hangs on paths starting with "/hang" until released. */
static pthread_mutex_t hang_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t hang_cond = PTHREAD_COND_INITIALIZER;
static bool hang_released;
static atomic_int hang_calls;

static int hanging_statvfs(const char *path, struct statvfs *st)
{
	if (strncmp(path, "/hang", 5) != 0)
		return statvfs(path, st);
	atomic_fetch_add(&hang_calls, 1);
	pthread_mutex_lock(&hang_lock);
	while (!hang_released)
		pthread_cond_wait(&hang_cond, &hang_lock);
	pthread_mutex_unlock(&hang_lock);
	return statvfs("/", st);
}

static void hang_set(bool released)
{
	pthread_mutex_lock(&hang_lock);
	hang_released = released;
	pthread_cond_broadcast(&hang_cond);
	pthread_mutex_unlock(&hang_lock);
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int thread_count(void)
{
	char buf[4096];
	const char *p;
	int n = 0;

	assert_int_equal(textfile_read("/proc/self/status", buf, sizeof(buf), NULL), 0);
	p = strstr(buf, "\nThreads:");
	assert_non_null(p);
	p += strlen("\nThreads:");
	while (*p == ' ' || *p == '\t')
		p++;
	for (; *p >= '0' && *p <= '9'; p++)
		n = n * 10 + (*p - '0');
	return n;
}

/* Threads before any worker started (sanitizers may add their own). */
static int base_threads;

/* Polls until no worker is left (stuck workers have returned). */
static void wait_workers_gone(void)
{
	uint64_t deadline = now_ms() + 10000;

	while (thread_count() > base_threads) {
		assert_true(now_ms() < deadline);
		sched_yield();
	}
}

static void test_from_statvfs(void **state)
{
	struct statvfs st = {0};
	uint64_t total = 0;
	uint64_t avail = 0;

	(void)state;
	st.f_frsize = 4096;
	st.f_bsize = 1 << 20; /* df uses f_frsize, not f_bsize */
	st.f_blocks = 1000;
	st.f_bfree = 600;
	st.f_bavail = 500;
	assert_int_equal(diskusage_from_statvfs(&st, &total, &avail), 0);
	assert_int_equal(total, 4096000);
	assert_int_equal(avail, 2048000);

	st.f_blocks = UINT64_MAX / 1024;
	assert_int_equal(diskusage_from_statvfs(&st, &total, &avail), -ERANGE);
}

static void test_new_invalid(void **state)
{
	char longpath[300];
	const char *too_many[DISKUSAGE_MAX_MOUNTS + 1];
	const char *one[1];

	(void)state;
	memset(longpath, 'a', sizeof(longpath) - 1);
	longpath[0] = '/';
	longpath[sizeof(longpath) - 1] = '\0';
	one[0] = longpath;
	errno = 0;
	assert_null(diskusage_new(one, 1, 1000, NULL));
	assert_int_equal(errno, ENAMETOOLONG);

	for (size_t i = 0; i < DISKUSAGE_MAX_MOUNTS + 1; i++)
		too_many[i] = "/";
	assert_null(diskusage_new(too_many, DISKUSAGE_MAX_MOUNTS + 1, 1000, NULL));
	assert_int_equal(errno, E2BIG);

	one[0] = "";
	assert_null(diskusage_new(one, 1, 1000, NULL));
	assert_int_equal(errno, EINVAL);
	one[0] = "/";
	assert_null(diskusage_new(one, 1, 0, NULL));
	assert_int_equal(errno, EINVAL);
	diskusage_free(NULL);
}

static void test_root_and_missing(void **state)
{
	const char *mounts[] = {"/", "/nonexistent/srvmon-test"};
	struct disk_usage d[DISKUSAGE_MAX_MOUNTS];
	struct diskusage *du;
	bool matched = false;

	(void)state;
	du = diskusage_new(mounts, 2, DISKUSAGE_TIMEOUT_MS, NULL);
	assert_non_null(du);
	assert_int_equal(diskusage_count(du), 2);
	assert_int_equal(diskusage_sample(du, d, 1), -EINVAL);

	/* Free space may move while others write: retry until two statvfs() agree. */
	for (int attempt = 0; attempt < 50 && !matched; attempt++) {
		struct statvfs before;
		struct statvfs after;

		assert_int_equal(statvfs("/", &before), 0);
		assert_int_equal(diskusage_sample(du, d, DISKUSAGE_MAX_MOUNTS), 0);
		assert_int_equal(statvfs("/", &after), 0);
		assert_string_equal(d[0].mount, "/");
		assert_int_equal(d[0].err, 0);
		assert_int_equal(d[0].total, (uint64_t)before.f_blocks * before.f_frsize);
		if (before.f_bavail != after.f_bavail)
			continue;
		assert_int_equal(d[0].available, (uint64_t)before.f_bavail * before.f_frsize);
		matched = true;
	}
	assert_true(matched);
	assert_true(d[0].total > 0);
	assert_true(d[0].available <= d[0].total);

	assert_string_equal(d[1].mount, "/nonexistent/srvmon-test");
	assert_int_equal(d[1].err, -ENOENT);
	assert_int_equal(d[1].total, 0);
	diskusage_free(du);
	wait_workers_gone();
}

static void test_hung_mount(void **state)
{
	const char *mounts[] = {"/hang", "/"};
	struct disk_usage d[DISKUSAGE_MAX_MOUNTS];
	struct diskusage *du;
	uint64_t start;
	uint64_t deadline;

	(void)state;
	atomic_store(&hang_calls, 0);
	hang_set(false);
	du = diskusage_new(mounts, 2, 300, hanging_statvfs);
	assert_non_null(du);

	start = now_ms();
	assert_int_equal(diskusage_sample(du, d, DISKUSAGE_MAX_MOUNTS), 0);
	assert_true(now_ms() - start >= 290);
	assert_int_equal(d[0].err, -ETIMEDOUT);
	assert_string_equal(d[0].mount, "/hang");
	assert_int_equal(d[1].err, 0);
	assert_true(d[1].total > 0);
	assert_int_equal(atomic_load(&hang_calls), 1);

	/* Still stuck: reported at once, and no second statvfs() piles up on it. */
	start = now_ms();
	assert_int_equal(diskusage_sample(du, d, DISKUSAGE_MAX_MOUNTS), 0);
	assert_int_equal(d[0].err, -ETIMEDOUT);
	assert_int_equal(d[1].err, 0);
	assert_int_equal(atomic_load(&hang_calls), 1);
	assert_true(now_ms() - start < 290);
	assert_int_equal(thread_count(), base_threads + 1);

	/* Once the stuck worker returns, the mount is queried afresh. */
	hang_set(true);
	deadline = now_ms() + 10000;
	for (;;) {
		assert_int_equal(diskusage_sample(du, d, DISKUSAGE_MAX_MOUNTS), 0);
		if (d[0].err != -ETIMEDOUT)
			break;
		assert_true(now_ms() < deadline);
		sched_yield();
	}
	assert_int_equal(d[0].err, 0);
	assert_true(d[0].total > 0);
	assert_int_equal(atomic_load(&hang_calls), 2);
	diskusage_free(du);
	wait_workers_gone();
}

static void test_free_while_stuck(void **state)
{
	const char *mounts[] = {"/hang1", "/hang2"};
	struct disk_usage d[DISKUSAGE_MAX_MOUNTS];
	struct diskusage *du;
	uint64_t start;
	uint64_t elapsed;

	(void)state;
	atomic_store(&hang_calls, 0);
	hang_set(false);
	du = diskusage_new(mounts, 2, 1000, hanging_statvfs);
	assert_non_null(du);

	start = now_ms();
	assert_int_equal(diskusage_sample(du, d, DISKUSAGE_MAX_MOUNTS), 0);
	elapsed = now_ms() - start;
	assert_int_equal(d[0].err, -ETIMEDOUT);
	assert_int_equal(d[1].err, -ETIMEDOUT);
	/* One shared deadline: two hung mounts cost one timeout, not two. */
	assert_true(elapsed >= 990);
	assert_true(elapsed < 1900);

	/* The stuck workers outlive the collector and free their own state. */
	diskusage_free(du);
	assert_int_equal(thread_count(), base_threads + 2);
	hang_set(true);
	wait_workers_gone();
	assert_int_equal(atomic_load(&hang_calls), 2);
}

static void *noop_thread(void *arg)
{
	return arg;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_from_statvfs),	 cmocka_unit_test(test_new_invalid),
		cmocka_unit_test(test_root_and_missing), cmocka_unit_test(test_hung_mount),
		cmocka_unit_test(test_free_while_stuck),
	};

	pthread_t t;

	/* Sanitizer runtimes start helper threads on the first pthread_create(). */
	if (pthread_create(&t, NULL, noop_thread, NULL) == 0)
		pthread_join(t, NULL);
	base_threads = thread_count();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
