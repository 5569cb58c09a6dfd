#include "token.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

static void to_hex(const unsigned char *in, size_t len, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < len; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 0xf];
	}
	out[2 * len] = '\0';
}

int token_generate(char ret[TOKEN_HEX_LEN + 1])
{
	unsigned char raw[TOKEN_BYTES];
	size_t done = 0;

	while (done < sizeof(raw)) {
		ssize_t n = getrandom(raw + done, sizeof(raw) - done, 0);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		done += (size_t)n;
	}
	to_hex(raw, sizeof(raw), ret);
	OPENSSL_cleanse(raw, sizeof(raw));
	return 0;
}

bool token_is_wellformed(const char *s)
{
	size_t i;

	for (i = 0; s[i]; i++) {
		if (i >= TOKEN_HEX_LEN)
			return false;
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	}
	return i == TOKEN_HEX_LEN;
}

int token_hash(const char *token, char ret[TOKEN_HASH_HEX_LEN + 1])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;

	if (!EVP_Digest(token, strlen(token), md, &mdlen, EVP_sha256(), NULL) || mdlen != 32)
		return -EIO;
	to_hex(md, mdlen, ret);
	return 0;
}

bool token_hash_equal(const char *a, const char *b)
{
	if (strlen(a) != TOKEN_HASH_HEX_LEN || strlen(b) != TOKEN_HASH_HEX_LEN)
		return false;
	return CRYPTO_memcmp(a, b, TOKEN_HASH_HEX_LEN) == 0;
}

int token_from_bearer(const char *header, char *ret, size_t size)
{
	const char *p = header;
	size_t len;

	while (*p == ' ' || *p == '\t')
		p++;
	if (strncasecmp(p, "Bearer", 6) != 0 || (p[6] != ' ' && p[6] != '\t'))
		return -EINVAL;
	p += 6;
	while (*p == ' ' || *p == '\t')
		p++;
	len = strcspn(p, " \t\r\n");
	if (len == 0 || p[len] != '\0')
		return -EINVAL;
	if (len >= size)
		return -ENOSPC;
	memcpy(ret, p, len);
	ret[len] = '\0';
	return 0;
}
