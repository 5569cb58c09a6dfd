#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <cmocka.h>

#include "procstat.h"
#include "textfile.h"

static char buf[8192];

static const char *fixture(const char *name)
{
	char path[512];
	size_t len = 0;

	snprintf(path, sizeof(path), "%s/proc/%s", FIXTURES_DIR, name);
	assert_int_equal(textfile_read(path, buf, sizeof(buf), &len), 0);
	return buf;
}

static void test_parse_normal(void **state)
{
	struct cpu_times t;

	(void)state;
	assert_int_equal(cpu_stat_parse(fixture("stat"), &t), 0);
	assert_int_equal(t.n_columns, 10);
	assert_int_equal(t.user, 3842);
	assert_int_equal(t.nice, 10);
	assert_int_equal(t.system, 4062);
	assert_int_equal(t.idle, 76549);
	assert_int_equal(t.iowait, 358);
	assert_int_equal(t.irq, 1);
	assert_int_equal(t.softirq, 139);
	assert_int_equal(t.steal, 7);
	assert_int_equal(t.guest, 100);
	assert_int_equal(t.guest_nice, 5);
	/* guest and guest_nice are not added: already in user and nice. */
	assert_int_equal(cpu_times_total(&t), 3842 + 10 + 4062 + 76549 + 358 + 1 + 139 + 7);
	assert_int_equal(cpu_times_idle(&t), 76549 + 358);
}

static void test_parse_old_kernel(void **state)
{
	struct cpu_times t;

	(void)state;
	assert_int_equal(cpu_stat_parse(fixture("stat_old"), &t), 0);
	assert_int_equal(t.n_columns, 4);
	assert_int_equal(t.user, 100);
	assert_int_equal(t.idle, 850);
	assert_int_equal(t.iowait, 0);
	assert_int_equal(t.steal, 0);
	assert_int_equal(cpu_times_total(&t), 1000);
}

static void test_parse_bad(void **state)
{
	struct cpu_times t;

	(void)state;
	assert_int_equal(cpu_stat_parse(fixture("stat_garbage"), &t), -EINVAL);
	assert_int_equal(cpu_stat_parse(fixture("stat_short"), &t), -EINVAL);
	assert_int_equal(cpu_stat_parse(fixture("stat_empty"), &t), -ENOENT);
	/* Per-CPU lines alone are not the aggregate line. */
	assert_int_equal(cpu_stat_parse("cpu0 1 2 3 4\n", &t), -ENOENT);
	assert_int_equal(cpu_stat_parse("cpu  1 2 3 4x\n", &t), -EINVAL);
	assert_int_equal(cpu_stat_parse("cpu  1 2 3 -4\n", &t), -EINVAL);
	assert_int_equal(cpu_stat_parse("cpu  1 2 3 99999999999999999999\n", &t), -EINVAL);
	/* Later columns of a future kernel are ignored. */
	assert_int_equal(cpu_stat_parse("intr 1\ncpu  1 2 3 4 5 6 7 8 9 10 11 12", &t), 0);
	assert_int_equal(t.guest_nice, 10);
}

static void set_times(struct cpu_times *t, uint64_t user, uint64_t system, uint64_t idle,
		      uint64_t iowait)
{
	*t = (struct cpu_times){.user = user, .system = system, .idle = idle, .iowait = iowait};
}

static void test_percent(void **state)
{
	struct cpu_times a;
	struct cpu_times b;
	double pct = -1;

	(void)state;
	/* Δtotal = 200, Δbusy = 50 (user 30 + system 20), Δidle_all = 150 (idle 140 + iowait 10).
	 */
	set_times(&a, 1000, 500, 8000, 100);
	set_times(&b, 1030, 520, 8140, 110);
	assert_int_equal(cpu_percent(&a, &b, &pct), 0);
	assert_float_equal(pct, 25.0, 1e-9);

	/* guest time does not count twice. */
	b.guest = 1000;
	assert_int_equal(cpu_percent(&a, &b, &pct), 0);
	assert_float_equal(pct, 25.0, 1e-9);

	/* steal, irq, softirq are busy. */
	set_times(&b, 1000, 500, 8000, 100);
	b.steal = 10;
	b.irq = 5;
	b.softirq = 5;
	b.idle += 80;
	assert_int_equal(cpu_percent(&a, &b, &pct), 0);
	assert_float_equal(pct, 20.0, 1e-9);

	/* All idle, all busy. */
	set_times(&b, 1000, 500, 8100, 100);
	assert_int_equal(cpu_percent(&a, &b, &pct), 0);
	assert_float_equal(pct, 0.0, 1e-9);
	set_times(&b, 1100, 500, 8000, 100);
	assert_int_equal(cpu_percent(&a, &b, &pct), 0);
	assert_float_equal(pct, 100.0, 1e-9);
}

static void test_percent_invalid(void **state)
{
	struct cpu_times a;
	struct cpu_times b;
	double pct = -1;

	(void)state;
	set_times(&a, 1000, 500, 8000, 100);
	/* No tick elapsed. */
	assert_int_equal(cpu_percent(&a, &a, &pct), -EINVAL);
	/* Total went backwards (counter reset). */
	set_times(&b, 10, 5, 80, 1);
	assert_int_equal(cpu_percent(&a, &b, &pct), -EINVAL);
	/* Busy went backwards though the total grew. */
	set_times(&b, 900, 500, 8300, 100);
	assert_int_equal(cpu_percent(&a, &b, &pct), -EINVAL);
	assert_float_equal(pct, -1, 0);

	/* iowait stepping back makes Δbusy > Δtotal: clamped to 100. */
	set_times(&b, 1010, 500, 8000, 95);
	assert_int_equal(cpu_percent(&a, &b, &pct), 0);
	assert_float_equal(pct, 100.0, 1e-9);
}

static void test_read_file(void **state)
{
	char small[8];
	size_t len = 99;

	(void)state;
	assert_int_equal(textfile_read("/nonexistent/srvmon", small, sizeof(small), &len),
			 -ENOENT);
	/* Truncated to size - 1 and NUL-terminated. */
	snprintf(buf, sizeof(buf), "%s/proc/stat", FIXTURES_DIR);
	assert_int_equal(textfile_read(buf, small, sizeof(small), &len), 0);
	assert_int_equal(len, 7);
	assert_string_equal(small, "cpu  38");
	assert_int_equal(textfile_read(buf, small, 0, &len), -EINVAL);
}

static void test_real_proc_stat(void **state)
{
	struct cpu_times t;

	(void)state;
	assert_int_equal(textfile_read("/proc/stat", buf, sizeof(buf), NULL), 0);
	assert_int_equal(cpu_stat_parse(buf, &t), 0);
	assert_true(t.n_columns >= 4);
	assert_true(cpu_times_total(&t) > 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_normal),	cmocka_unit_test(test_parse_old_kernel),
		cmocka_unit_test(test_parse_bad),	cmocka_unit_test(test_percent),
		cmocka_unit_test(test_percent_invalid), cmocka_unit_test(test_read_file),
		cmocka_unit_test(test_real_proc_stat),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
