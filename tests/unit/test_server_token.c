/* server/token.c: token generation, hashing, constant-time compare, Bearer parsing. */
#include <errno.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "token.h"

static void test_token(void **state)
{
	char t1[TOKEN_HEX_LEN + 1], t2[TOKEN_HEX_LEN + 1];
	char h[TOKEN_HASH_HEX_LEN + 1];
	char out[80];

	(void)state;
	assert_int_equal(token_generate(t1), 0);
	assert_int_equal(token_generate(t2), 0);
	assert_true(token_is_wellformed(t1));
	assert_string_not_equal(t1, t2);
	assert_false(token_is_wellformed("abc"));
	t2[5] = 'G';
	assert_false(token_is_wellformed(t2));
	/* SHA-256("abc"), FIPS 180-2 test vector. */
	assert_int_equal(token_hash("abc", h), 0);
	assert_string_equal(h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	assert_true(token_hash_equal(h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f"
					"20015ad"));
	assert_false(token_hash_equal(h, "ca7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff6"
					 "1f20015ad"));
	assert_false(token_hash_equal(h, "ba78"));

	assert_int_equal(token_from_bearer("Bearer abc", out, sizeof(out)), 0);
	assert_string_equal(out, "abc");
	assert_int_equal(token_from_bearer("bearer   xyz", out, sizeof(out)), 0);
	assert_string_equal(out, "xyz");
	assert_int_equal(token_from_bearer("Basic abc", out, sizeof(out)), -EINVAL);
	assert_int_equal(token_from_bearer("Bearerabc", out, sizeof(out)), -EINVAL);
	assert_int_equal(token_from_bearer("Bearer ", out, sizeof(out)), -EINVAL);
	assert_int_equal(token_from_bearer("Bearer a b", out, sizeof(out)), -EINVAL);
	assert_int_equal(token_from_bearer("Bearer abcdef", out, 4), -ENOSPC);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_token),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
