/* server/alert_email.c: addresses, and the message's headers and body (no header injection). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "alert_email.h"
#include "sbuf.h"

static void test_address(void **state)
{
	char longest[ALERT_EMAIL_MAX + 2];

	(void)state;
	assert_true(alert_email_address_ok("ops@example.org"));
	assert_true(alert_email_address_ok("a.b+alerts@mail.example.org"));
	assert_false(alert_email_address_ok(""));
	assert_false(alert_email_address_ok("ops"));
	assert_false(alert_email_address_ok("@example.org"));
	assert_false(alert_email_address_ok("ops@"));
	assert_false(alert_email_address_ok("a@b@c"));
	assert_false(alert_email_address_ok("ops@example.org\nBcc: x@y.org"));
	assert_false(alert_email_address_ok("ops@example.org\r"));
	assert_false(alert_email_address_ok("a b@example.org"));
	assert_false(alert_email_address_ok("a@b.org, c@d.org"));
	assert_false(alert_email_address_ok("<a@b.org>"));
	assert_false(alert_email_address_ok("\"a\"@b.org"));
	assert_false(alert_email_address_ok("-oQ/tmp@b.org"));
	assert_false(alert_email_address_ok("a@b.org."));
	assert_false(alert_email_address_ok("j\xc3\xb6rg@b.org"));
	memset(longest, 'a', sizeof(longest));
	longest[ALERT_EMAIL_MAX - 6] = '@';
	memcpy(&longest[ALERT_EMAIL_MAX - 5], "b.org", 6);
	assert_true(alert_email_address_ok(longest));
	longest[0] = '\0';
	memset(longest, 'a', sizeof(longest));
	longest[ALERT_EMAIL_MAX - 5] = '@';
	memcpy(&longest[ALERT_EMAIL_MAX - 4], "b.org", 6);
	assert_false(alert_email_address_ok(longest)); /* 255 bytes */
}

static struct alert_email_msg msg(void)
{
	struct alert_email_msg m = {
		.domain = "mon.example.org",
		.to = "ops@example.org",
		.rule_name = "cpu high",
		.rule_id = 3,
		.rule_text = "cpu_percent > 90 for 300 s",
		.state = "firing",
		.hostname = "web1",
		.host_id = "3d12",
		.value = 97.5,
		.have_since = true,
		.since_ms = 1764072000000,
		.at_ms = 1764072300000,
		.unique = 7,
	};
	return m;
}

/* The header block (up to the empty line), as a string. */
static char *headers(struct sbuf *b)
{
	char *end = strstr(b->s, "\n\n");

	assert_non_null(end);
	end[1] = '\0';
	return b->s;
}

static void test_compose(void **state)
{
	struct alert_email_msg m = msg();
	struct sbuf b = {0};

	(void)state;
	assert_int_equal(alert_email_compose(&m, &b), 0);
	assert_non_null(strstr(b.s, "\n\ncpu high firing on web1\n\nState:   firing\n"
				    "Rule:    cpu high (rule 3): cpu_percent > 90 for 300 s\n"
				    "Host:    web1 (host_id 3d12)\nValue:   97.5\n"
				    "Since:   2025-11-25 12:00:00 UTC\n"
				    "At:      2025-11-25 12:05:00 UTC\n"));
	assert_string_equal(headers(&b), "From: srvmon <srvmon@mon.example.org>\n"
					 "To: ops@example.org\n"
					 "Subject: [srvmon] cpu high firing on web1\n"
					 "Date: Tue, 25 Nov 2025 12:05:00 +0000\n"
					 "Message-ID: <srvmon.1764072300000.3.7@mon.example.org>\n"
					 "MIME-Version: 1.0\n"
					 "Content-Type: text/plain; charset=utf-8\n"
					 "Content-Transfer-Encoding: 8bit\n"
					 "Auto-Submitted: auto-generated\n");
	sbuf_free(&b);
}

/* CR and LF from the agent (hostname) or the rule (name) cannot start a header. */
static void test_no_injection(void **state)
{
	struct alert_email_msg m = msg();
	struct sbuf b = {0};

	(void)state;
	m.hostname = "web1\r\nBcc: victim@example.org";
	m.rule_name = "x\nSubject: other";
	assert_int_equal(alert_email_compose(&m, &b), 0);
	assert_null(strstr(b.s, "\nBcc:"));
	assert_null(strstr(b.s, "\rBcc:"));
	assert_null(strstr(b.s, "\nSubject: other"));
	assert_non_null(strstr(headers(&b), "Subject: [srvmon] x Subject: other firing on "
					    "web1  Bcc: victim@example.org\n"));
	sbuf_free(&b);
	m = msg();
	m.to = "ops@example.org\nBcc: victim@example.org";
	assert_int_equal(alert_email_compose(&m, &b), -EINVAL);
	sbuf_free(&b);
}

/* A subject that is not ASCII: RFC 2047 encoded-words, cut between characters. */
static void test_subject_utf8(void **state)
{
	struct alert_email_msg m = msg();
	struct sbuf b = {0};
	const char *h;

	(void)state;
	/* 44 ASCII bytes, then a 2-byte character where the 45-byte word would end. */
	m.rule_name = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\xc3\xbc";
	assert_int_equal(alert_email_compose(&m, &b), 0);
	h = headers(&b);
	assert_non_null(strstr(
		h, "Subject: "
		   "=?UTF-8?B?W3Nydm1vbl0gYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWE=?=\n"
		   " =?UTF-8?B?w7wgZmlyaW5nIG9uIHdlYjE=?=\n"));
	assert_non_null(strstr(h, "?=\nDate: "));
	sbuf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_address),
		cmocka_unit_test(test_compose),
		cmocka_unit_test(test_no_injection),
		cmocka_unit_test(test_subject_utf8),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
