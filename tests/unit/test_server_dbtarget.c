/* server/dbtarget.c: the --db value as it may be printed (no password). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "dbtarget.h"

static void expect(const char *target, const char *want)
{
	char buf[256];

	assert_ptr_equal(dbtarget_redact(target, buf, sizeof(buf)), buf);
	assert_string_equal(buf, want);
}

static void test_redact(void **state)
{
	(void)state;
	expect("/var/lib/srvmon/srvmon.db", "/var/lib/srvmon/srvmon.db");
	expect("postgresql://srvmon:s3cret@db.example:5432/srvmon",
	       "postgresql://srvmon:***@db.example:5432/srvmon");
	expect("postgres://u:p%40ss@h/d?sslmode=require", "postgres://u:***@h/d?sslmode=require");
	expect("postgresql://srvmon@db/srvmon", "postgresql://srvmon@db/srvmon");
	expect("postgresql:///srvmon?host=/run/pg&password=hunter2&user=x",
	       "postgresql:///srvmon?host=/run/pg&password=***&user=x");
	expect("postgresql://a:b@h?password=c", "postgresql://a:***@h?password=***");
	expect("postgresql://%2Ftmp%2Fpg/db", "postgresql://%2Ftmp%2Fpg/db");
	/* A colon in the host part (the port) is not a password. */
	expect("postgresql://h:5432/db", "postgresql://h:5432/db");
}

static void test_cut(void **state)
{
	char buf[20];

	(void)state;
	dbtarget_redact("postgresql://user:secret@host/db", buf, sizeof(buf));
	assert_string_equal(buf, "postgresql://user:*");
	assert_null(strstr(buf, "sec"));
	dbtarget_redact("x", buf, 1);
	assert_string_equal(buf, "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_redact),
		cmocka_unit_test(test_cut),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
