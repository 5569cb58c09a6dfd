#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>

#include "auth.h"

#include <string.h>
#include <time.h>

static void test_token_response(void **state)
{
	struct auth_token t;

	(void)state;
	assert_int_equal(auth_parse_token_response("{\"access_token\":\"abc\",\"token_type\":"
						   "\"Bearer\",\"expires_in\":3600}",
						   &t),
			 0);
	assert_string_equal(t.access_token, "abc");
	assert_int_equal(t.lifetime_ms, 3600000);
	assert_int_equal(auth_parse_token_response("{\"access_token\":\"abc\"}", &t), 0);
	assert_int_equal(t.lifetime_ms, 0);
	assert_int_equal(auth_parse_token_response("{\"token_type\":\"bearer\"}", &t), -EBADMSG);
	assert_int_equal(
		auth_parse_token_response("{\"access_token\":\"a\",\"token_type\":\"mac\"}", &t),
		-EBADMSG);
	assert_int_equal(auth_parse_token_response("<html>", &t), -EBADMSG);
	/* RFC 6749 5.1: an optional refresh_token is kept; an unusable one is ignored. */
	assert_int_equal(auth_parse_token_response("{\"access_token\":\"a\",\"refresh_token\":"
						   "\"r1\"}",
						   &t),
			 0);
	assert_string_equal(t.refresh_token, "r1");
	assert_int_equal(
		auth_parse_token_response("{\"access_token\":\"a\",\"refresh_token\":7}", &t), 0);
	assert_string_equal(t.refresh_token, "");
}

static void test_jwt_exp(void **state)
{
	/* {"alg":"none"} . {"sub":"x","exp":4102444800} . (no signature) */
	const char *jwt = "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4IiwiZXhwIjo0MTAyNDQ0ODAwfQ.sig";
	struct auth_token t;
	char body[256];
	uint64_t exp = 0;

	(void)state;
	assert_int_equal(auth_jwt_exp(jwt, &exp), 0);
	assert_true(exp == 4102444800ULL);
	assert_int_equal(auth_jwt_exp("opaque-token", &exp), -EINVAL);
	assert_int_equal(auth_jwt_exp("a.b.c.d", &exp), -EINVAL);
	/* Without expires_in, the JWT's exp gives the lifetime. */
	snprintf(body, sizeof(body), "{\"access_token\":\"%s\"}", jwt);
	assert_int_equal(auth_parse_token_response(body, &t), 0);
	assert_true(t.lifetime_ms > (4102444800ULL - (uint64_t)time(NULL) - 10) * 1000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_token_response),
		cmocka_unit_test(test_jwt_exp),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
