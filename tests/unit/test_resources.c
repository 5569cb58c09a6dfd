#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/statvfs.h>
#include <time.h>
#include <cmocka.h>

#include "config.h"
#include "resources.h"

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void test_sample(void **state)
{
	char *mounts[] = {"/", "/nonexistent/srvmon-test"};
	struct config cfg = {0};
	struct resources_collector *rc;
	struct resources_sample s;
	struct timespec rt;
	struct statvfs st;
	uint64_t deadline;
	volatile uint64_t spin = 0;

	(void)state;
	cfg.resources.enabled = true;
	cfg.resources.interval_ms = 10000;
	cfg.resources.mounts.items = mounts;
	cfg.resources.mounts.n = 2;

	rc = resources_new(&cfg);
	assert_non_null(rc);

	/* CPU % needs at least one tick since the baseline: burn CPU until one passed. */
	deadline = now_ms() + 10000;
	for (;;) {
		assert_int_equal(resources_sample(rc, &s), 0);
		if (s.cpu_valid)
			break;
		assert_true(now_ms() < deadline);
		for (int i = 0; i < 1000000; i++)
			spin++;
	}
	assert_true(s.cpu_percent >= 0.0 && s.cpu_percent <= 100.0);

	assert_true(s.ram_valid);
	assert_true(s.ram_total > 0);
	assert_true(s.ram_available <= s.ram_total);

	assert_int_equal(s.n_disks, 2);
	assert_string_equal(s.disks[0].mount, "/");
	assert_int_equal(s.disks[0].err, 0);
	assert_int_equal(statvfs("/", &st), 0);
	assert_int_equal(s.disks[0].total, (uint64_t)st.f_blocks * st.f_frsize);
	assert_int_equal(s.disks[1].err, -ENOENT);

	clock_gettime(CLOCK_REALTIME, &rt);
	assert_true(s.ts_ms <= (uint64_t)rt.tv_sec * 1000 + (uint64_t)rt.tv_nsec / 1000000);
	assert_true(s.ts_ms + 60000 > (uint64_t)rt.tv_sec * 1000);

	resources_free(rc);
	resources_free(NULL);
}

static void test_no_mounts(void **state)
{
	struct config cfg = {0};
	struct resources_collector *rc;
	struct resources_sample s;

	(void)state;
	rc = resources_new(&cfg);
	assert_non_null(rc);
	assert_int_equal(resources_sample(rc, &s), 0);
	assert_int_equal(s.n_disks, 0);
	assert_true(s.ram_valid);
	resources_free(rc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sample),
		cmocka_unit_test(test_no_mounts),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
