/* server/alert_rule.c: thresholds with units, rule JSON in and out, validation. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "alert_rule.h"
#include "sbuf.h"

static void test_threshold(void **state)
{
	double v;

	(void)state;
	assert_int_equal(alert_threshold_parse("90", &v), 0);
	assert_true(v == 90);
	assert_int_equal(alert_threshold_parse("5GiB", &v), 0);
	assert_true(v == 5.0 * 1024 * 1024 * 1024);
	assert_int_equal(alert_threshold_parse("100M", &v), 0);
	assert_true(v == 1e8);
	assert_int_equal(alert_threshold_parse("2.5", &v), 0);
	assert_true(v == 2.5);
	assert_int_equal(alert_threshold_parse("1KiB", &v), 0);
	assert_true(v == 1024);
	assert_int_equal(alert_threshold_parse("", &v), -EINVAL);
	assert_int_equal(alert_threshold_parse("5 GiB", &v), -EINVAL);
	assert_int_equal(alert_threshold_parse("5GiBs", &v), -EINVAL);
	assert_int_equal(alert_threshold_parse("nan", &v), -EINVAL);
	assert_int_equal(alert_threshold_parse("inf", &v), -EINVAL);
	assert_int_equal(alert_threshold_parse("1e999", &v), -EINVAL);
}

static void test_ops(void **state)
{
	enum alert_op op;

	(void)state;
	assert_int_equal(alert_op_parse(">=", &op), 0);
	assert_true(alert_op_holds(op, 5, 5));
	assert_int_equal(alert_op_parse(">", &op), 0);
	assert_false(alert_op_holds(op, 5, 5));
	assert_int_equal(alert_op_parse("<", &op), 0);
	assert_true(alert_op_holds(op, 4, 5));
	assert_int_equal(alert_op_parse("==", &op), -EINVAL);
}

static void test_json_round_trip(void **state)
{
	static const char in[] =
		"{\"kind\":\"metric\",\"metric\":\"cpu_percent\",\"op\":\">\","
		"\"threshold\":90,\"for_ms\":300000,\"host_id\":null,"
		"\"webhook\":\"http://127.0.0.1:9/h\",\"email\":\"ops@example.org\"}";
	struct alert_rule rule;
	struct sbuf b = {0};
	const char *err = NULL;

	(void)state;
	assert_int_equal(alert_rule_from_json(in, strlen(in), &rule, &err), 0);
	assert_string_equal(rule.name, "cpu_percent > 90 for 300 s");
	rule.id = 3;
	rule.created_ms = 1764072000000;
	assert_int_equal(alert_rule_to_json(&rule, &b), 0);
	assert_string_equal(b.s,
			    "{\"id\":3,\"name\":\"cpu_percent > 90 for 300 s\","
			    "\"kind\":\"metric\",\"metric\":\"cpu_percent\",\"op\":\">\","
			    "\"threshold\":90,\"for_ms\":300000,\"host_id\":null,"
			    "\"webhook\":\"http://127.0.0.1:9/h\",\"email\":\"ops@example.org\","
			    "\"created_ms\":1764072000000}");
	sbuf_free(&b);
}

static void expect_bad(const char *json, const char *field)
{
	struct alert_rule rule;
	const char *err = NULL;

	assert_int_equal(alert_rule_from_json(json, strlen(json), &rule, &err), -EINVAL);
	assert_non_null(err);
	if (!strstr(err, field))
		fail_msg("\"%s\": error \"%s\" does not name %s", json, err, field);
}

static void test_bad_rules(void **state)
{
	struct alert_rule rule;
	const char *err = NULL;
	static const char exec[] = "{\"kind\":\"exec\",\"regex\":\"^rm -rf\"}";

	(void)state;
	expect_bad("[1]", "object");
	expect_bad("{", "JSON");
	expect_bad("{\"kind\":\"nope\"}", "kind");
	expect_bad("{\"kind\":\"metric\",\"metric\":\"load\",\"op\":\">\",\"threshold\":1}",
		   "metric");
	expect_bad("{\"kind\":\"metric\",\"metric\":\"cpu_percent\",\"op\":\"=\",\"threshold\":1}",
		   "op");
	expect_bad("{\"kind\":\"metric\",\"metric\":\"cpu_percent\",\"op\":\">\"}", "threshold");
	expect_bad("{\"kind\":\"offline\",\"for_ms\":500}", "for_ms");
	expect_bad("{\"kind\":\"offline\",\"for_ms\":1.5}", "for_ms");
	expect_bad("{\"kind\":\"offline\",\"for_ms\":604800001}", "for_ms");
	expect_bad("{\"kind\":\"exec\"}", "regex");
	expect_bad("{\"kind\":\"exec\",\"regex\":\"((\"}", "regex");
	expect_bad("{\"kind\":\"offline\",\"for_ms\":60000,\"webhook\":\"ftp://x\"}", "webhook");
	expect_bad("{\"kind\":\"offline\",\"for_ms\":60000,\"id\":4}", "member");
	expect_bad("{\"kind\":\"offline\",\"for_ms\":60000,\"email\":\"a@b.org\\r\\nBcc: "
		   "c@d.org\"}",
		   "email");
	expect_bad("{\"kind\":\"offline\",\"for_ms\":60000,\"email\":\"not an address\"}", "email");
	expect_bad("{\"kind\":\"offline\",\"for_ms\":60000,\"email\":7}", "email");
	expect_bad("{\"kind\":\"offline\",\"for_ms\":60000,\"name\":\"a\\nb\"}", "control");
	/* An exec rule resolves after 5 min by default. */
	assert_int_equal(alert_rule_from_json(exec, strlen(exec), &rule, &err), 0);
	assert_int_equal(rule.for_ms, ALERT_EXEC_FOR_MS);
	assert_string_equal(rule.name, "exec matches ^rm -rf");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_threshold),
		cmocka_unit_test(test_ops),
		cmocka_unit_test(test_json_round_trip),
		cmocka_unit_test(test_bad_rules),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
