#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <cmocka.h>

#include "meminfo.h"
#include "textfile.h"
#include "procstat.h"

static char buf[8192];

static const char *fixture(const char *name)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/proc/%s", FIXTURES_DIR, name);
	assert_int_equal(textfile_read(path, buf, sizeof(buf), NULL), 0);
	return buf;
}

static void test_normal(void **state)
{
	struct meminfo mi;

	(void)state;
	assert_int_equal(meminfo_parse(fixture("meminfo"), &mi), 0);
	assert_true(mi.total_valid);
	assert_true(mi.available_valid);
	assert_int_equal(mi.total, 24683620ULL * 1024);
	assert_int_equal(mi.available, 24356168ULL * 1024);
}

static void test_old_kernel(void **state)
{
	struct meminfo mi;

	(void)state;
	assert_int_equal(meminfo_parse(fixture("meminfo_old"), &mi), -ENOENT);
	assert_true(mi.total_valid);
	assert_int_equal(mi.total, 2048000ULL * 1024);
	assert_false(mi.available_valid);
}

static void test_garbage(void **state)
{
	struct meminfo mi;

	(void)state;
	assert_int_equal(meminfo_parse(fixture("meminfo_garbage"), &mi), -EINVAL);
	assert_false(mi.total_valid);
	assert_false(mi.available_valid);

	/* MemTotal fine, MemAvailable without unit. */
	assert_int_equal(meminfo_parse("MemTotal: 4 kB\nMemAvailable: 3\n", &mi), -EINVAL);
	assert_true(mi.total_valid);
	assert_int_equal(mi.total, 4096);
	assert_false(mi.available_valid);

	/* Overflow of kB * 1024. */
	assert_int_equal(meminfo_parse("MemTotal: 18014398509481984 kB\n", &mi), -ERANGE);
	assert_false(mi.total_valid);
	/* Trailing garbage. */
	assert_int_equal(meminfo_parse("MemTotal: 1 kBx\nMemAvailable: 1 kB", &mi), -EINVAL);
	assert_false(mi.total_valid);
	assert_true(mi.available_valid);
	assert_int_equal(mi.available, 1024);
	/* Similar keys do not match. */
	assert_int_equal(meminfo_parse("MemTotalX: 1 kB\nMemAvailable: 1 kB\n", &mi), -ENOENT);
	assert_false(mi.total_valid);
}

static void test_empty(void **state)
{
	struct meminfo mi;

	(void)state;
	assert_int_equal(meminfo_parse(fixture("meminfo_empty"), &mi), -ENOENT);
	assert_false(mi.total_valid);
	assert_false(mi.available_valid);
	/* No trailing newline is fine. */
	assert_int_equal(meminfo_parse("MemAvailable: 2 kB\nMemTotal: 8 kB", &mi), 0);
	assert_int_equal(mi.total, 8192);
	assert_int_equal(mi.available, 2048);
}

static void test_real(void **state)
{
	struct meminfo mi;

	(void)state;
	assert_int_equal(textfile_read("/proc/meminfo", buf, sizeof(buf), NULL), 0);
	assert_int_equal(meminfo_parse(buf, &mi), 0);
	assert_true(mi.total > 0);
	assert_true(mi.available <= mi.total);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_normal),	cmocka_unit_test(test_old_kernel),
		cmocka_unit_test(test_garbage), cmocka_unit_test(test_empty),
		cmocka_unit_test(test_real),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
