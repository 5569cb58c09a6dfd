/* server/password.c: argon2id hashes, the dummy hash of unknown accounts. */
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

#include "password.h"

static void test_password(void **state)
{
	char h1[PASSWORD_ENCODED_MAX];
	char h2[PASSWORD_ENCODED_MAX];

	(void)state;
	assert_int_equal(password_hash("s3cret", h1, sizeof(h1)), 0);
	assert_int_equal(password_hash("s3cret", h2, sizeof(h2)), 0);
	assert_true(strncmp(h1, "$argon2id$v=19$m=19456,t=2,p=1$", 31) == 0);
	/* Random salt: the same password hashes differently. */
	assert_string_not_equal(h1, h2);
	assert_int_equal(password_verify(h1, "s3cret"), 0);
	assert_int_equal(password_verify(h2, "s3cret"), 0);
	assert_int_equal(password_verify(h1, "s3cre"), -EACCES);
	assert_int_equal(password_verify(h1, ""), -EACCES);
	assert_int_equal(password_verify("$2y$10$notargon", "s3cret"), -EINVAL);
	assert_int_equal(password_hash("", h1, sizeof(h1)), -EINVAL);
	assert_int_equal(password_hash("x", h1, 20), -ENOSPC);
	assert_non_null(password_dummy_hash());
	assert_ptr_equal(password_dummy_hash(), password_dummy_hash());
	assert_int_equal(password_verify(password_dummy_hash(), "s3cret"), -EACCES);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_password),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
