/* Bearer tokens: 32 random bytes as hex; only their SHA-256 is stored. */
#ifndef SRVMON_SERVER_TOKEN_H
#define SRVMON_SERVER_TOKEN_H

#include <stdbool.h>
#include <stddef.h>

#define TOKEN_BYTES	   32
#define TOKEN_HEX_LEN	   ((size_t)TOKEN_BYTES * 2)
#define TOKEN_HASH_HEX_LEN 64
/* A long-lived request (the /api/v1/events stream) looks its token up again this often and
 * ends when it was revoked or has expired. */
#define TOKEN_RECHECK_MS 5000

/* Writes a new random token (TOKEN_HEX_LEN hex chars + NUL) into ret. 0 or -errno. */
int token_generate(char ret[TOKEN_HEX_LEN + 1]);

/* True when s is exactly TOKEN_HEX_LEN lowercase hex characters. */
bool token_is_wellformed(const char *s);

/* SHA-256 of the token text as lowercase hex into ret. 0 or -EIO. */
int token_hash(const char *token, char ret[TOKEN_HASH_HEX_LEN + 1]);

/* Constant-time comparison of two hash strings of TOKEN_HASH_HEX_LEN characters. */
bool token_hash_equal(const char *a, const char *b);

/*
 * Extracts the token from an Authorization header value "Bearer <token>" (scheme
 * case-insensitive, RFC 6750 2.1) into ret. 0, -EINVAL (other scheme or malformed)
 * or -ENOSPC.
 */
int token_from_bearer(const char *header, char *ret, size_t size);

#endif
