/* The direct JSON writer (user/lib/json_out.c), the printed exec message and
 * outbox_submit_json(): same bytes as cJSON would print, exact integers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "exec_record.h"
#include "sbuf.h"
#include "utf8.h"
#include "json_out.h"
#include "exec_message.h"
#include "message_json.h"
#include "outbox.h"

/* json_add_str(s) must print exactly what cJSON prints for the string s. */
static void check_like_cjson(const char *s, size_t n)
{
	struct sbuf b = {0};
	cJSON *item;
	char *want;

	item = cJSON_CreateString(s);
	assert_non_null(item);
	want = cJSON_PrintUnformatted(item);
	assert_int_equal(json_add_str(&b, s, n), 0);
	assert_string_equal(b.s, want);
	/* Again after other text, with room to spare: written at an offset. */
	b.len = 0;
	assert_int_equal(sbuf_add(&b, "x", 1), 0);
	for (size_t i = 0; i < n + 8; i++)
		assert_int_equal(sbuf_addc(&b, 'y'), 0);
	b.len = 1;
	assert_int_equal(json_add_str(&b, s, n), 0);
	assert_int_equal(b.s[0], 'x');
	assert_string_equal(b.s + 1, want);
	cJSON_free(want);
	cJSON_Delete(item);
	sbuf_free(&b);
}

static void test_strings_like_cjson(void **state)
{
	static const char *const cases[] = {
		"",
		"plain",
		"a b\tc\nd\re\bf\fg",
		"quote \" backslash \\ slash /",
		"caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac",
		"\x01\x1f\x7f end",
		"$'x' `y` ${z}",
	};
	char all[128];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		check_like_cjson(cases[i], strlen(cases[i]));
	/* Every ASCII byte but NUL. */
	for (int c = 1; c < 128; c++)
		all[c - 1] = (char)c;
	all[127] = '\0';
	check_like_cjson(all, 127);
	/* Each of them alone and between plain bytes. */
	for (int c = 1; c < 128; c++) {
		char one[2] = {(char)c, '\0'};
		char mid[6] = {'a', 'b', (char)c, 'c', 'd', '\0'};

		check_like_cjson(one, 1);
		check_like_cjson(mid, 5);
	}
}

static void test_text_repairs_and_integers(void **state)
{
	struct sbuf b = {0};

	(void)state;
	assert_int_equal(json_add_text(&b,
				       "a\xff"
				       "b",
				       3),
			 0);
	assert_string_equal(b.s, "\"a\xef\xbf\xbd"
				 "b\"");
	b.len = 0;
	assert_int_equal(json_add_u64(&b, UINT64_MAX), 0);
	assert_int_equal(sbuf_addc(&b, ' '), 0);
	assert_int_equal(json_add_u64(&b, 0), 0);
	assert_int_equal(sbuf_addc(&b, ' '), 0);
	assert_int_equal(json_add_i64(&b, INT64_MIN), 0);
	assert_int_equal(sbuf_addc(&b, ' '), 0);
	assert_int_equal(json_add_i64(&b, -2), 0);
	assert_string_equal(b.s, "18446744073709551615 0 -9223372036854775808 -2");
	sbuf_free(&b);
}

/* outbox_submit_json() adds host_id and seq as message_finish() does. */
static void test_outbox_submit_json(void **state)
{
	static const char rec[] = "{\"type\":\"exec\",\"argv\":[\"a}\"]}";
	struct record_text recs[] = {{rec, sizeof(rec) - 1}, {"{}", 2}, {"oops", 4}};
	struct outbox *o = outbox_new("h\"1", NULL, 10);
	size_t need = 0;
	uint64_t seq = 0;
	char buf[256];
	int n;

	(void)state;
	assert_non_null(o);
	/* The malformed third one is dropped, the two others queued. */
	assert_int_equal(outbox_submit_json(o, recs, 3), 2);
	n = outbox_peek(o, buf, sizeof(buf) - 1, &need, &seq);
	assert_true(n > 0);
	buf[n] = '\0';
	assert_int_equal(seq, 1);
	assert_string_equal(
		buf, "{\"type\":\"exec\",\"argv\":[\"a}\"],\"host_id\":\"h\\\"1\",\"seq\":1}");
	outbox_mark_sent(o, seq);
	n = outbox_peek(o, buf, sizeof(buf) - 1, &need, &seq);
	assert_true(n > 0);
	buf[n] = '\0';
	assert_string_equal(buf, "{\"host_id\":\"h\\\"1\",\"seq\":2}");
	outbox_free(o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_strings_like_cjson),
		cmocka_unit_test(test_text_repairs_and_integers),
		cmocka_unit_test(test_outbox_submit_json),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
