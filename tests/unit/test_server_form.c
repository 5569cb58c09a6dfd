/* server/form.c: x-www-form-urlencoded decoding and field lookup. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "form.h"

static void test_decode(void **state)
{
	char out[32];

	(void)state;
	assert_int_equal(form_decode("a+b%20c%2Bd%2f", 14, out, sizeof(out)), 8);
	assert_string_equal(out, "a b c+d/");
	assert_int_equal(form_decode("", 0, out, sizeof(out)), 0);
	assert_string_equal(out, "");
	/* Bad escapes: truncated, non-hex, and a decoded NUL byte. */
	assert_int_equal(form_decode("%2", 2, out, sizeof(out)), -EINVAL);
	assert_int_equal(form_decode("%", 1, out, sizeof(out)), -EINVAL);
	assert_int_equal(form_decode("%zz", 3, out, sizeof(out)), -EINVAL);
	assert_int_equal(form_decode("a%00b", 5, out, sizeof(out)), -EINVAL);
	/* Room for exactly three bytes and the NUL. */
	assert_int_equal(form_decode("abc", 3, out, 4), 3);
	assert_int_equal(form_decode("abcd", 4, out, 4), -ENOSPC);
}

static void test_get(void **state)
{
	const char *body = "grant_type=password&username=al%69ce&password=p+w%26x&empty=&flag";
	char out[64];

	(void)state;
	assert_int_equal(form_get(body, strlen(body), "grant_type", out, sizeof(out)), 8);
	assert_string_equal(out, "password");
	assert_true(form_get(body, strlen(body), "username", out, sizeof(out)) > 0);
	assert_string_equal(out, "alice");
	assert_true(form_get(body, strlen(body), "password", out, sizeof(out)) > 0);
	assert_string_equal(out, "p w&x");
	assert_int_equal(form_get(body, strlen(body), "empty", out, sizeof(out)), 0);
	assert_int_equal(form_get(body, strlen(body), "flag", out, sizeof(out)), 0);
	assert_int_equal(form_get(body, strlen(body), "scope", out, sizeof(out)), -ENOENT);
	/* A prefix of a field name is not the field. */
	assert_int_equal(form_get(body, strlen(body), "user", out, sizeof(out)), -ENOENT);
	/* The length bounds the body: no NUL needed, nothing read past it. */
	assert_int_equal(form_get(body, 19, "username", out, sizeof(out)), -ENOENT);
	assert_int_equal(form_get("a=1&a=2", 7, "a", out, sizeof(out)), -ENOTUNIQ);
	assert_int_equal(form_get("a=%g1", 5, "a", out, sizeof(out)), -EINVAL);
	assert_int_equal(form_get("a=12345", 7, "a", out, 4), -ENOSPC);
	assert_int_equal(form_get("", 0, "a", out, sizeof(out)), -ENOENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_decode),
		cmocka_unit_test(test_get),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
