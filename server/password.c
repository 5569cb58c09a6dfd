#include "password.h"

#include <argon2.h>
#include <errno.h>
#include <string.h>
#include <sys/random.h>

static int fill_random(void *buf, size_t len)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = getrandom((char *)buf + done, len - done, 0);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		done += (size_t)n;
	}
	return 0;
}

int password_hash(const char *pw, char *ret, size_t size)
{
	unsigned char salt[PASSWORD_SALT_LEN];
	size_t pwlen = strlen(pw);
	int r;

	if (pwlen == 0 || pwlen > PASSWORD_MAX_LEN)
		return -EINVAL;
	if (size < argon2_encodedlen(PASSWORD_T_COST, PASSWORD_M_COST, PASSWORD_PARALLEL,
				     PASSWORD_SALT_LEN, PASSWORD_HASH_LEN, Argon2_id))
		return -ENOSPC;
	r = fill_random(salt, sizeof(salt));
	if (r < 0)
		return r;
	r = argon2id_hash_encoded(PASSWORD_T_COST, PASSWORD_M_COST, PASSWORD_PARALLEL, pw, pwlen,
				  salt, sizeof(salt), PASSWORD_HASH_LEN, ret, size);
	if (r == ARGON2_MEMORY_ALLOCATION_ERROR)
		return -ENOMEM;
	if (r != ARGON2_OK)
		return -EIO;
	return 0;
}

int password_verify(const char *encoded, const char *pw)
{
	size_t pwlen = strlen(pw);
	int r;

	if (strncmp(encoded, "$argon2id$", 10) != 0)
		return -EINVAL;
	/* Too long passwords still cost one verification so the reply time says nothing. */
	if (pwlen > PASSWORD_MAX_LEN)
		pwlen = PASSWORD_MAX_LEN;
	r = argon2id_verify(encoded, pw, pwlen);
	if (r == ARGON2_OK)
		return 0;
	if (r == ARGON2_VERIFY_MISMATCH)
		return -EACCES;
	if (r == ARGON2_MEMORY_ALLOCATION_ERROR)
		return -ENOMEM;
	return -EINVAL;
}

const char *password_dummy_hash(void)
{
	static char dummy[PASSWORD_ENCODED_MAX];
	unsigned char raw[16];
	char pw[sizeof(raw) * 2 + 1];

	if (dummy[0])
		return dummy;
	if (fill_random(raw, sizeof(raw)) < 0)
		return NULL;
	for (size_t i = 0; i < sizeof(raw); i++) {
		pw[2 * i] = "0123456789abcdef"[raw[i] >> 4];
		pw[2 * i + 1] = "0123456789abcdef"[raw[i] & 0xf];
	}
	pw[sizeof(pw) - 1] = '\0';
	if (password_hash(pw, dummy, sizeof(dummy)) < 0) {
		dummy[0] = '\0';
		return NULL;
	}
	return dummy;
}
