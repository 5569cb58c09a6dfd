/* server/ingest.c: message validation, exact seq up to 2^64-1, replies. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "ingest.h"

static int parse(const char *text, struct ingest_msg *m, const char **err)
{
	*err = NULL;
	return ingest_parse(text, strlen(text), m, err);
}

static void test_valid(void **state)
{
	const char *text = " {\"type\":\"resources\",\"host_id\":\"h1\",\"seq\":12,"
			   "\"ts\":1700000000123,\"cpu_percent\":3.5} ";
	struct ingest_msg m;
	const char *err;

	(void)state;
	assert_int_equal(parse(text, &m, &err), 0);
	assert_string_equal(m.type, "resources");
	assert_string_equal(m.host_id, "h1");
	assert_true(m.seq == 12);
	assert_true(m.ts == 1700000000123LL);
	assert_non_null(m.root);
	ingest_msg_clear(&m);
	ingest_msg_clear(&m);
	ingest_msg_clear(NULL);
}

static void test_exact_seq(void **state)
{
	static const struct {
		const char *raw;
		uint64_t seq;
	} cases[] = {
		{"0", 0},
		{"9007199254740993", 9007199254740993ULL}, /* 2^53 + 1: a double rounds it */
		{"18446744073709551614", 18446744073709551614ULL},
		{"18446744073709551615", UINT64_MAX},
	};
	char text[256];
	struct ingest_msg m;
	const char *err;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(text, sizeof(text),
			 "{\"type\":\"network\",\"nested\":{\"seq\":1},\"host_id\":\"h\","
			 "\"seq\": %s ,\"ts\":-5}",
			 cases[i].raw);
		assert_int_equal(parse(text, &m, &err), 0);
		assert_true(m.seq == cases[i].seq);
		assert_true(m.ts == -5);
		ingest_msg_clear(&m);
	}
}

static void test_invalid(void **state)
{
	static const struct {
		const char *text;
		const char *err;
	} cases[] = {
		{"{\"type\":", "invalid JSON"},
		{"{} x", "trailing"},
		{"[1]", "not a JSON object"},
		{"{\"host_id\":\"h\",\"seq\":1,\"ts\":1}", "type"},
		{"{\"type\":7,\"host_id\":\"h\",\"seq\":1,\"ts\":1}", "type"},
		{"{\"type\":\"bogus\",\"host_id\":\"h\",\"seq\":1,\"ts\":1}", "unknown type"},
		{"{\"type\":\"hello\",\"host_id\":\"\",\"seq\":1,\"ts\":1}", "host_id"},
		{"{\"type\":\"hello\",\"host_id\":5,\"seq\":1,\"ts\":1}", "host_id"},
		{"{\"type\":\"hello\",\"host_id\":\"h\",\"ts\":1}", "seq"},
		{"{\"type\":\"hello\",\"host_id\":\"h\",\"seq\":\"1\",\"ts\":1}", "seq"},
		{"{\"type\":\"hello\",\"host_id\":\"h\",\"seq\":-1,\"ts\":1}", "seq"},
		{"{\"type\":\"hello\",\"host_id\":\"h\",\"seq\":1.5,\"ts\":1}", "seq"},
		{"{\"type\":\"hello\",\"host_id\":\"h\",\"seq\":1e3,\"ts\":1}", "seq"},
		{"{\"type\":\"hello\",\"host_id\":\"h\",\"seq\":18446744073709551616,\"ts\":1}",
		 "seq"},
		{"{\"type\":\"hello\",\"host_id\":\"h\",\"seq\":1}", "ts"},
		{"{\"type\":\"hello\",\"host_id\":\"h\",\"seq\":1,\"ts\":9223372036854775808}",
		 "ts"},
		{"{\"type\":\"hello\",\"host_id\":\"h\",\"seq\":1,\"ts\":true}", "ts"},
	};
	struct ingest_msg m;
	const char *err;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(parse(cases[i].text, &m, &err), -EINVAL);
		assert_non_null(err);
		if (!strstr(err, cases[i].err))
			fail_msg("case %zu: \"%s\" does not mention \"%s\"", i, err, cases[i].err);
		assert_null(m.root);
	}
	/* A NUL byte inside the length is rejected, not silently truncated. */
	assert_int_equal(ingest_parse("{}\0{}", 5, &m, &err), -EINVAL);
}

static void test_raw_member(void **state)
{
	const char *t = "{\"a\":\"x\\\"seq\\\":9\",\"b\":[{\"seq\":8}],\"s\\u0065q\":7,\"seq\":42}";
	const char *v;
	size_t n;

	(void)state;
	/* Only a top-level key spelled without escapes matches. */
	assert_int_equal(ingest_raw_member(t, strlen(t), "seq", &v, &n), 0);
	assert_int_equal(n, 2);
	assert_memory_equal(v, "42", 2);
	assert_int_equal(ingest_raw_member(t, strlen(t), "b", &v, &n), 0);
	assert_int_equal(n, strlen("[{\"seq\":8}]"));
	assert_int_equal(ingest_raw_member(t, strlen(t), "zz", &v, &n), -ENOENT);
}

static void test_replies(void **state)
{
	char buf[128];

	(void)state;
	assert_int_equal(ingest_format_ack(UINT64_MAX, buf, sizeof(buf)),
			 (int)strlen("{\"type\":\"ack\",\"seq\":18446744073709551615}"));
	assert_string_equal(buf, "{\"type\":\"ack\",\"seq\":18446744073709551615}");
	assert_int_equal(ingest_format_ack(1, buf, 10), -ENOSPC);
	assert_true(ingest_format_error("bad \"quote\"", buf, sizeof(buf)) > 0);
	assert_string_equal(buf, "{\"type\":\"error\",\"error\":\"bad \\\"quote\\\"\"}");
}

static bool is_batch(const char *text)
{
	return ingest_is_batch(text, strlen(text));
}

static void test_batch_split(void **state)
{
	const char *text = "{\"records\": [ {\"type\":\"status\",\"host_id\":\"h\",\"seq\":"
			   "18446744073709551615,\"ts\":1,\"a\":[1,{\"b\":\"]\"}]} ,"
			   "{\"type\":\"bogus\",\"host_id\":\"h\",\"seq\":2,\"ts\":1},7,"
			   "{\"type\":\"network\",\"host_id\":\"h\",\"seq\":3,\"ts\":1}],"
			   "\"type\":\"batch\"}";
	struct ingest_span spans[INGEST_BATCH_MAX];
	struct ingest_msg m, c;
	const char *err = NULL, *cerr = NULL;
	cJSON *tree = NULL;
	size_t n = 99;

	(void)state;
	assert_true(ingest_is_batch(text, strlen(text)));
	assert_int_equal(
		ingest_batch_split(text, strlen(text), spans, INGEST_BATCH_MAX, &n, &tree, &err),
		0);
	assert_int_equal(n, 4);
	assert_non_null(tree);
	/* Checked on the batch's tree, each element gives what its own parse gives. */
	for (size_t i = 0; i < n; i++) {
		int want = ingest_parse(spans[i].buf, spans[i].len, &m, &err);

		assert_int_equal(ingest_check(spans[i].node, spans[i].buf, spans[i].len, &c, &cerr),
				 want);
		if (want == 0) {
			assert_true(c.seq == m.seq && c.ts == m.ts);
			assert_string_equal(c.type, m.type);
			assert_string_equal(c.host_id, m.host_id);
			assert_null(c.root);
			ingest_msg_clear(&m);
		} else {
			assert_string_equal(cerr, err);
		}
	}
	cJSON_Delete(tree);
	/* Each element is exactly its own raw text, validated like a single-record frame. */
	assert_int_equal(ingest_parse(spans[0].buf, spans[0].len, &m, &err), 0);
	assert_true(m.seq == UINT64_MAX);
	assert_int_equal(spans[0].buf[spans[0].len - 1], '}');
	ingest_msg_clear(&m);
	assert_int_equal(ingest_parse(spans[1].buf, spans[1].len, &m, &err), -EINVAL);
	assert_string_equal(err, "unknown type");
	assert_int_equal(spans[2].len, 1);
	assert_int_equal(ingest_parse(spans[2].buf, spans[2].len, &m, &err), -EINVAL);
	assert_string_equal(err, "message is not a JSON object");
	assert_int_equal(ingest_parse(spans[3].buf, spans[3].len, &m, &err), 0);
	assert_true(m.seq == 3);
	assert_string_equal(m.type, "network");
	ingest_msg_clear(&m);
}

static void test_batch_invalid(void **state)
{
	static const struct {
		const char *text;
		const char *err;
	} cases[] = {
		{"{\"type\":\"batch\",\"records\":[{}]", "invalid JSON"},
		{"{\"type\":\"batch\",\"records\":[{}]} x", "trailing"},
		{"{\"type\":\"status\",\"records\":[{}]}", "batch"},
		{"{\"type\":\"batch\"}", "records"},
		{"{\"type\":\"batch\",\"records\":{}}", "records"},
		{"{\"type\":\"batch\",\"records\":[]}", "empty"},
		{"{\"type\":\"batch\",\"records\":[1,2,3,4]}", "limit"},
	};
	struct ingest_span spans[3];
	cJSON *tree;
	const char *err;
	size_t n;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		err = NULL;
		n = 99;
		tree = (cJSON *)1;
		assert_int_equal(ingest_batch_split(cases[i].text, strlen(cases[i].text), spans, 3,
						    &n, &tree, &err),
				 -EINVAL);
		assert_null(tree);
		assert_non_null(err);
		if (!strstr(err, cases[i].err))
			fail_msg("case %zu: \"%s\" lacks \"%s\"", i, err, cases[i].err);
		assert_int_equal(n, 0);
	}
	/* Only an unescaped top-level type "batch" makes a batch frame. */
	assert_false(is_batch("{\"type\":\"status\"}"));
	assert_false(is_batch("{\"x\":{\"type\":\"batch\"}}"));
	assert_false(is_batch("{\"type\":\"batch"));
	assert_false(is_batch("{\"typ\\u0065\":\"batch\"}"));
	assert_true(is_batch(" { \"type\" : \"batch\" }"));
}

static void test_welcome(void **state)
{
	char buf[128];

	(void)state;
	assert_int_equal(ingest_format_welcome(1048576, buf, sizeof(buf)), 51);
	assert_string_equal(buf, "{\"type\":\"welcome\",\"batch\":true,\"max_frame\":1048576}");
	assert_int_equal(ingest_format_welcome(1048576, buf, 20), -ENOSPC);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid),	      cmocka_unit_test(test_exact_seq),
		cmocka_unit_test(test_invalid),	      cmocka_unit_test(test_raw_member),
		cmocka_unit_test(test_replies),	      cmocka_unit_test(test_batch_split),
		cmocka_unit_test(test_batch_invalid), cmocka_unit_test(test_welcome),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
