/* POST /token: the OAuth 2.0 resource owner password grant (RFC 6749 4.3) and the refresh
 * grant (RFC 6749 6), without I/O beyond the database. */
#ifndef SRVMON_SERVER_GRANT_H
#define SRVMON_SERVER_GRANT_H

#include <stddef.h>
#include <stdint.h>

struct db;

struct grant_reply {
	unsigned int status; /* HTTP status: 200, 400 or 500 */
	char body[320];	     /* JSON */
};

/* Longest client_id accepted. */
#define GRANT_MAX_USERNAME 128

/*
 * Handles one form body: counts the request, checks the credentials (the same reply
 * and the same argon2 work for an unknown user as for a wrong password), stores a new
 * token valid for lifetime_s. Always fills ret; returns 0, or a negative errno when the
 * database failed (ret is then a 500 reply).
 */
int grant_password(struct db *db, const char *body, size_t len, uint64_t lifetime_s,
		   uint64_t now_ms, struct grant_reply *ret);

struct grant_lifetimes {
	uint64_t access_s;  /* access tokens */
	uint64_t refresh_s; /* refresh tokens; 0: none issued, the refresh grant is refused */
};

/*
 * grant_password() plus refresh tokens: a successful password grant also returns a
 * refresh_token (stored as its SHA-256, valid refresh_s); grant_type=refresh_token
 * with a stored, unexpired one returns a new access token and a new refresh token and
 * deletes the used one (single use, rotation). An unknown, used or expired refresh
 * token is 400 invalid_grant. Same return convention as grant_password().
 */
int grant_token(struct db *db, const char *body, size_t len, const struct grant_lifetimes *lt,
		uint64_t now_ms, struct grant_reply *ret);

/*
 * grant_token() in two halves, so that the password check (argon2id) can run elsewhere
 * (pwpool.c) while the event loop goes on. grant_begin() does everything up to the check:
 * it returns 0 (ret is the final reply) or a negative errno (ret is a 500), like
 * grant_token(), or GRANT_VERIFY with *pend filled: the caller checks pend->password
 * against pend->hash (password_verify()), then passes the result to grant_finish(), which
 * counts a failure or issues the tokens and fills ret. Both wipe the password from pend
 * once done with it; grant_pending_clear() does when the check is abandoned.
 */
#define GRANT_VERIFY 1

#include "password.h"

#include <stdbool.h>

struct grant_pending {
	char username[GRANT_MAX_USERNAME + 1];
	char password[PASSWORD_MAX_LEN + 1];
	char hash[PASSWORD_ENCODED_MAX]; /* the account's, or the dummy hash */
	bool known;
};

int grant_begin(struct db *db, const char *body, size_t len, const struct grant_lifetimes *lt,
		uint64_t now_ms, struct grant_reply *ret, struct grant_pending *pend);
int grant_finish(struct db *db, struct grant_pending *pend, int verified,
		 const struct grant_lifetimes *lt, uint64_t now_ms, struct grant_reply *ret);
void grant_pending_clear(struct grant_pending *pend);

#endif
