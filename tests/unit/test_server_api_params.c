/* server/api_params.c and server/role.c: query arguments, ranges, cursors, role policy. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "api_params.h"
#include "role.h"

static void test_args(void **state)
{
	static const char *const allowed[] = {"metric", "from", NULL};
	struct api_args a = {0};
	const char *param = NULL, *detail = NULL;
	char longv[600];

	(void)state;
	assert_int_equal(api_args_add(&a, "metric=cpu_percent", &param, &detail), 0);
	assert_int_equal(api_args_add(&a, "from=", &param, &detail), 0);
	assert_string_equal(api_args_get(&a, "metric"), "cpu_percent");
	assert_string_equal(api_args_get(&a, "from"), "");
	assert_null(api_args_get(&a, "to"));
	assert_int_equal(api_args_only(&a, allowed, &param), 0);
	/* Repeated: named. */
	assert_int_equal(api_args_add(&a, "metric=x", &param, &detail), -EINVAL);
	assert_string_equal(param, "metric");
	assert_non_null(strstr(detail, "more than once"));
	/* Unknown: named by api_args_only. */
	assert_int_equal(api_args_add(&a, "color=red", &param, &detail), 0);
	assert_int_equal(api_args_only(&a, allowed, &param), -EINVAL);
	assert_string_equal(param, "color");
	/* No name, too long a value. */
	assert_int_equal(api_args_add(&a, "=1", &param, &detail), -EINVAL);
	assert_string_equal(param, "query");
	memset(longv, 'a', sizeof(longv) - 1);
	longv[sizeof(longv) - 1] = '\0';
	memcpy(longv, "q=", 2);
	assert_int_equal(api_args_add(&a, longv, &param, &detail), -EINVAL);
	assert_string_equal(param, "q");
}

static void test_series_range(void **state)
{
	const int64_t now = 1764072000123;
	const char *param = NULL, *detail = NULL;
	struct api_range r;

	(void)state;
	/* Defaults: the last 15 min, ~300 buckets of whole seconds. */
	assert_int_equal(api_series_range(NULL, NULL, NULL, now, &r, &param, &detail), 0);
	assert_int_equal(r.to, now);
	assert_int_equal(r.from, now - 900000);
	assert_int_equal(r.step, 3000);
	/* 7 days: whole minutes. */
	assert_int_equal(api_series_range("0", "604800000", NULL, now, &r, &param, &detail), 0);
	assert_int_equal(r.step, 2040000);
	assert_int_equal(r.step % 60000, 0);
	/* A step of 90 s becomes 2 min. */
	assert_int_equal(api_series_range("0", "3600000", "90000", now, &r, &param, &detail), 0);
	assert_int_equal(r.step, 120000);
	/* 2000 buckets at most; the bad parameter is named. */
	assert_int_equal(api_series_range("0", "1999000", "1000", now, &r, &param, &detail), 0);
	assert_int_equal(api_series_range("0", "2000000", "1000", now, &r, &param, &detail),
			 -EINVAL);
	assert_string_equal(param, "step");
	assert_int_equal(api_series_range("0", "10", "999", now, &r, &param, &detail), -EINVAL);
	assert_string_equal(param, "step");
	assert_int_equal(api_series_range("5", "4", NULL, now, &r, &param, &detail), -EINVAL);
	assert_string_equal(param, "from");
	assert_int_equal(api_series_range("x", NULL, NULL, now, &r, &param, &detail), -EINVAL);
	assert_string_equal(param, "from");
	assert_int_equal(api_series_range(NULL, "-1", NULL, now, &r, &param, &detail), -EINVAL);
	assert_string_equal(param, "to");
	assert_int_equal(api_series_range("0", "2678400001", "86400000", now, &r, &param, &detail),
			 -EINVAL);
	assert_string_equal(param, "from");
	/* Above 2^53: not an exact JavaScript number. */
	assert_int_equal(api_series_range(NULL, "9007199254740993", NULL, now, &r, &param, &detail),
			 -EINVAL);
}

static void test_list_range(void **state)
{
	const char *param = NULL, *detail = NULL;
	int64_t from, to;

	(void)state;
	assert_int_equal(api_list_range(NULL, NULL, 1000, 0, &from, &to, &param, &detail), 0);
	assert_int_equal(from, 0);
	assert_int_equal(to, (int64_t)1 << 53); /* unbounded */
	assert_int_equal(api_list_range(NULL, NULL, 100000, 60000, &from, &to, &param, &detail), 0);
	assert_int_equal(from, 40000);
	assert_int_equal(to, 100000);
}

static void test_cursor(void **state)
{
	char buf[48];
	int64_t ts, id;

	(void)state;
	assert_int_equal(api_cursor_format(1764072000123, 98231, buf, sizeof(buf)), 19);
	assert_string_equal(buf, "1764072000123.98231");
	assert_int_equal(api_cursor_parse(buf, &ts, &id), 0);
	assert_int_equal(ts, 1764072000123);
	assert_int_equal(id, 98231);
	assert_int_equal(api_cursor_parse("zz", &ts, &id), -EINVAL);
	assert_int_equal(api_cursor_parse("1.", &ts, &id), -EINVAL);
	assert_int_equal(api_cursor_parse("1.0", &ts, &id), -EINVAL);
	assert_int_equal(api_cursor_parse(".5", &ts, &id), -EINVAL);
	assert_int_equal(api_cursor_parse("1.5x", &ts, &id), -EINVAL);
	assert_int_equal(api_cursor_format(1, 2, buf, 3), -ENOSPC);
}

static void test_roles(void **state)
{
	enum role r;

	(void)state;
	assert_int_equal(role_parse("agent", &r), 0);
	assert_true(role_may_ingest(r) && !role_may_read(r) && !role_may_admin(r));
	assert_int_equal(role_parse("viewer", &r), 0);
	assert_true(!role_may_ingest(r) && role_may_read(r) && !role_may_admin(r));
	assert_int_equal(role_parse("admin", &r), 0);
	assert_true(!role_may_ingest(r) && role_may_read(r) && role_may_admin(r));
	assert_string_equal(role_name(r), "admin");
	assert_int_equal(role_parse("root", &r), -EINVAL);
	assert_int_equal(role_parse("Admin", &r), -EINVAL);
	assert_false(role_may_read((enum role)7));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_args),	   cmocka_unit_test(test_series_range),
		cmocka_unit_test(test_list_range), cmocka_unit_test(test_cursor),
		cmocka_unit_test(test_roles),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
