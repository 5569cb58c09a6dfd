#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>

#include "server_message.h"

#include <string.h>

static int parse(const char *s, struct server_message *m)
{
	return server_message_parse(s, strlen(s), m);
}

static void test_ack_exact_above_2_53(void **state)
{
	struct server_message m;

	(void)state;
	assert_int_equal(parse("{\"type\":\"ack\",\"seq\":9007199254740993}", &m), 0);
	assert_int_equal(m.type, SERVER_MESSAGE_ACK);
	assert_true(m.ack_seq == 9007199254740993ULL);
	assert_int_equal(parse("{\"type\":\"ack\", \"seq\" : 18446744073709551615}", &m), 0);
	assert_true(m.ack_seq == UINT64_MAX);
	assert_int_equal(parse("{\"type\":\"ack\",\"seq\":7}", &m), 0);
	assert_true(m.ack_seq == 7);
}

static void test_bad_acks_rejected(void **state)
{
	struct server_message m;

	(void)state;
	assert_int_equal(parse("{\"type\":\"ack\"}", &m), -EBADMSG);
	assert_int_equal(parse("{\"type\":\"ack\",\"seq\":-1}", &m), -EBADMSG);
	assert_int_equal(parse("{\"type\":\"ack\",\"seq\":1.5}", &m), -EBADMSG);
	assert_int_equal(parse("{\"type\":\"ack\",\"seq\":\"3\"}", &m), -EBADMSG);
	assert_int_equal(parse("{\"type\":\"ack\",\"seq\":18446744073709551616}", &m), -EBADMSG);
	/* a nested "seq" must not be taken for the ack's */
	assert_int_equal(parse("{\"x\":{\"seq\":1},\"type\":\"ack\",\"seq\":2}", &m), -EBADMSG);
}

static void test_other_and_garbage(void **state)
{
	struct server_message m;

	(void)state;
	assert_int_equal(parse("{\"type\":\"hint\",\"x\":1}", &m), 0);
	assert_int_equal(m.type, SERVER_MESSAGE_OTHER);
	assert_string_equal(m.detail, "hint");
	assert_int_equal(parse("{\"type\":\"error\",\"error\":\"bad seq\"}", &m), 0);
	assert_int_equal(m.type, SERVER_MESSAGE_ERROR);
	assert_string_equal(m.detail, "bad seq");
	assert_int_equal(parse("not json", &m), -EBADMSG);
	assert_int_equal(parse("[1,2]", &m), -EBADMSG);
	assert_int_equal(parse("{\"type\":3}", &m), -EBADMSG);
	assert_int_equal(server_message_parse("{\"type\":\"ack\",\"seq\":1}", 5, &m), -EBADMSG);
}

static void test_welcome(void **state)
{
	struct server_message m;

	(void)state;
	assert_int_equal(parse("{\"type\":\"welcome\",\"batch\":true,\"max_frame\":1048576}", &m),
			 0);
	assert_int_equal(m.type, SERVER_MESSAGE_WELCOME);
	assert_true(m.batch);
	assert_int_equal(m.max_frame, 1048576);
	/* Without batch:true the agent keeps one record per frame. */
	assert_int_equal(parse("{\"type\":\"welcome\",\"batch\":1}", &m), 0);
	assert_int_equal(m.type, SERVER_MESSAGE_WELCOME);
	assert_false(m.batch);
	assert_int_equal(m.max_frame, 0);
	assert_int_equal(parse("{\"type\":\"welcome\",\"batch\":true,\"max_frame\":-5}", &m), 0);
	assert_true(m.batch);
	assert_int_equal(m.max_frame, 0);
}

/* What test_hostile_server.py sends: none of it may yield a frame size the agent trusts. */
static void test_welcome_absurd_max_frame(void **state)
{
	static const char *const ignored[] = {
		"1e400", "-1e400", "18446744073709551615", "0", "-1", "1e16", "0.5", "\"65536\"",
		"null",	 "[]"};
	struct server_message m;
	char buf[128];

	(void)state;
	for (size_t i = 0; i < sizeof(ignored) / sizeof(ignored[0]); i++) {
		(void)snprintf(buf, sizeof(buf),
			       "{\"type\":\"welcome\",\"batch\":true,\"max_frame\":%s}",
			       ignored[i]);
		assert_int_equal(parse(buf, &m), 0);
		assert_int_equal(m.type, SERVER_MESSAGE_WELCOME);
		assert_true(m.batch);
		assert_int_equal(m.max_frame, 0); /* taken as absent: 64 KiB */
	}
	/* Large but finite: kept here, clamped to 4 MiB by the transport. */
	assert_int_equal(parse("{\"type\":\"welcome\",\"batch\":true,\"max_frame\":1e15}", &m), 0);
	assert_true(m.max_frame == 1000000000000000ULL);
}

/* The error text is kept as sent (cut to fit); the transport escapes it for the log. */
static void test_error_text_kept_raw_and_bounded(void **state)
{
	struct server_message m;
	char buf[2048];

	(void)state;
	assert_int_equal(parse("{\"type\":\"error\",\"error\":\"flood\\n<0>forged line\"}", &m), 0);
	assert_int_equal(m.type, SERVER_MESSAGE_ERROR);
	assert_string_equal(m.detail, "flood\n<0>forged line");
	memcpy(buf, "{\"type\":\"error\",\"error\":\"", 25);
	memset(buf + 25, 'e', 1500);
	memcpy(buf + 25 + 1500, "\"}", 3);
	assert_int_equal(parse(buf, &m), 0);
	assert_int_equal(strlen(m.detail), sizeof(m.detail) - 1);
	assert_int_equal(parse("{\"type\":\"error\",\"error\":42}", &m), 0);
	assert_string_equal(m.detail, "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ack_exact_above_2_53),
		cmocka_unit_test(test_bad_acks_rejected),
		cmocka_unit_test(test_other_and_garbage),
		cmocka_unit_test(test_welcome),
		cmocka_unit_test(test_welcome_absurd_max_frame),
		cmocka_unit_test(test_error_text_kept_raw_and_bounded),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
