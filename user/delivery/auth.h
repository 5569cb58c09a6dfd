/* OAuth2 password grant (RFC 6749 4.3) and refresh grant (RFC 6749 6) with libcurl; the
 * tokens live in memory only. */
#ifndef SRVMON_AUTH_H
#define SRVMON_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct config;

struct auth_token {
	char access_token[4096];
	uint64_t lifetime_ms;	  /* from expires_in, else the JWT exp, else 0 (unknown) */
	char refresh_token[1024]; /* empty: none offered (or too long to keep) */
};

/* Parses a token endpoint's 200 body. 0, -EBADMSG (not JSON / no access_token /
 * token_type not bearer) or -E2BIG (token too long). */
int auth_parse_token_response(const char *body, struct auth_token *ret);
/* The "exp" claim of a JWT (seconds since the epoch). 0 or -EINVAL when token is not a JWT. */
int auth_jwt_exp(const char *token, uint64_t *ret_exp);

struct auth;

#define AUTH_REJECT_LOG_WINDOW_MS 60000
#define AUTH_RENEW_RETRY_MS	  5000

struct auth *auth_new(const struct config *cfg);
void auth_free(struct auth *a);
/*
 * Returns the current token in *ret_token, fetching a new one when there is none
 * or it is within its renewal margin (10 % of its lifetime, at least 5 s, at most half).
 * A new token comes from the refresh grant when the server offered a refresh_token,
 * else (or when that is refused) from the password grant.
 * 0; -EACCES when the server rejected the credentials (HTTP 400/401/403);
 * -EHOSTUNREACH/-ETIMEDOUT/-EPROTO on network or server errors. Logs with the URL; a
 * refusal of the credentials is logged once per AUTH_REJECT_LOG_WINDOW_MS, with the
 * number of refused attempts in between.
 */
int auth_get_token(struct auth *a, const char **ret_token);
/* The server rejected the token: the next auth_get_token() fetches a new one. */
void auth_invalidate(struct auth *a);
/* True when the current token is within its renewal margin and no renewal failed in the
 * last 5 s: the transport renews it (auth_get_token()) and reconnects with the new one. */
bool auth_renewal_due(const struct auth *a);
/* Number of token requests made (for status and tests). */
uint64_t auth_requests(const struct auth *a);

#endif
