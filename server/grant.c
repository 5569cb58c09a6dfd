#include "grant.h"

#include "db.h"
#include "form.h"
#include "log.h"
#include "password.h"
#include "revoke.h"
#include "token.h"

#include <errno.h>
#include <inttypes.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <string.h>

static void reply_error(struct grant_reply *ret, unsigned int status, const char *error)
{
	ret->status = status;
	(void)snprintf(ret->body, sizeof(ret->body), "{\"error\":\"%s\"}", error);
}

/* Issues an access token (and a refresh token when lt->refresh_s) for account, in family
 * (NULL: a password grant, which starts a family named by its first refresh token's hash). */
static int issue(struct db *db, const char *account, const char *family,
		 const struct grant_lifetimes *lt, uint64_t now_ms, struct grant_reply *ret)
{
	char token[TOKEN_HEX_LEN + 1];
	char refresh[TOKEN_HEX_LEN + 1];
	char sha[TOKEN_HASH_HEX_LEN + 1];
	char refresh_sha[TOKEN_HASH_HEX_LEN + 1];
	int r = 0;

	token[0] = '\0';
	refresh[0] = '\0';
	if (lt->refresh_s > 0) {
		r = token_generate(refresh);
		if (r == 0)
			r = token_hash(refresh, refresh_sha);
		if (r == 0 && !family)
			family = refresh_sha;
	}
	if (r == 0)
		r = token_generate(token);
	if (r == 0)
		r = token_hash(token, sha);
	if (r == 0)
		r = db_token_add(db, sha, account, family, now_ms, now_ms + lt->access_s * 1000);
	if (r == 0 && lt->refresh_s > 0)
		r = db_refresh_add(db, refresh_sha, account, family, now_ms,
				   now_ms + lt->refresh_s * 1000);
	if (r == 0)
		r = db_counter_add(db, DB_COUNTER_TOKENS_ISSUED, 1);
	if (r < 0)
		goto out;
	ret->status = 200;
	(void)snprintf(ret->body, sizeof(ret->body),
		       "{\"access_token\":\"%s\",\"token_type\":\"bearer\",\"expires_in\":%" PRIu64
		       "%s%s%s}",
		       token, lt->access_s, refresh[0] ? ",\"refresh_token\":\"" : "", refresh,
		       refresh[0] ? "\"" : "");
out:
	OPENSSL_cleanse(token, sizeof(token));
	OPENSSL_cleanse(refresh, sizeof(refresh));
	return r;
}

/*
 * A refresh token used a second time was copied: by an attacker, or the client is replaying
 * it. Either way the holder of its successors cannot be told apart from the thief, so every
 * token of its family (refresh and access) is revoked; the client logs in again.
 */
static int replayed(struct db *db, const char *account, const char *family, struct grant_reply *ret)
{
	struct revoke_counts n;
	int r;

	r = revoke_family(db, family, &n);
	if (r < 0)
		return r;
	log_warn("POST /token: a used refresh token of \"%s\" was presented again: its family "
		 "revoked (%" PRIu64 " access, %" PRIu64 " refresh tokens)",
		 account, n.access, n.refresh);
	reply_error(ret, 400, "invalid_grant");
	return 0;
}

static int grant_refresh(struct db *db, const char *body, size_t len,
			 const struct grant_lifetimes *lt, uint64_t now_ms, struct grant_reply *ret)
{
	char refresh[TOKEN_HEX_LEN + 2];
	char sha[TOKEN_HASH_HEX_LEN + 1];
	char account[GRANT_MAX_USERNAME + 1];
	char family[TOKEN_HASH_HEX_LEN + 1];
	int r;

	r = form_get(body, len, "refresh_token", refresh, sizeof(refresh));
	if (r < 0) {
		reply_error(ret, 400, "invalid_request");
		return 0;
	}
	if (!token_is_wellformed(refresh)) {
		reply_error(ret, 400, "invalid_grant");
		r = 0;
		goto out;
	}
	r = token_hash(refresh, sha);
	if (r == 0)
		r = db_refresh_use(db, sha, now_ms, account, sizeof(account), family,
				   sizeof(family));
	if (r == -EALREADY) {
		r = replayed(db, account, family, ret);
		if (r < 0)
			reply_error(ret, 500, "server_error");
		goto out;
	}
	if (r == -ENOENT || r == -ENOSPC) {
		reply_error(ret, 400, "invalid_grant");
		r = 0;
		goto out;
	}
	if (r == 0)
		r = issue(db, account, family, lt, now_ms, ret);
	if (r == 0)
		r = db_counter_add(db, DB_COUNTER_REFRESH_GRANTS, 1);
	if (r < 0)
		reply_error(ret, 500, "server_error");
out:
	OPENSSL_cleanse(refresh, sizeof(refresh));
	return r;
}

int grant_begin(struct db *db, const char *body, size_t len, const struct grant_lifetimes *lt,
		uint64_t now_ms, struct grant_reply *ret, struct grant_pending *pend)
{
	char grant_type[32];
	char scope[256];
	const char *dummy;
	int r;

	memset(pend, 0, sizeof(*pend));
	r = db_counter_add(db, DB_COUNTER_TOKEN_REQUESTS, 1);
	if (r < 0)
		goto server_error;

	r = form_get(body, len, "grant_type", grant_type, sizeof(grant_type));
	if (r == -ENOSPC) {
		reply_error(ret, 400, "unsupported_grant_type");
		return 0;
	}
	if (r < 0) {
		reply_error(ret, 400, "invalid_request");
		return 0;
	}
	if (lt->refresh_s > 0 && strcmp(grant_type, "refresh_token") == 0)
		return grant_refresh(db, body, len, lt, now_ms, ret);
	if (strcmp(grant_type, "password") != 0) {
		reply_error(ret, 400, "unsupported_grant_type");
		return 0;
	}
	if (form_get(body, len, "username", pend->username, sizeof(pend->username)) < 0 ||
	    form_get(body, len, "password", pend->password, sizeof(pend->password)) < 0) {
		reply_error(ret, 400, "invalid_request");
		r = 0;
		goto out;
	}
	/* scope is optional and unused, but when present it must be well formed. */
	r = form_get(body, len, "scope", scope, sizeof(scope));
	if (r < 0 && r != -ENOENT) {
		reply_error(ret, 400, "invalid_request");
		r = 0;
		goto out;
	}

	r = db_account_hash(db, pend->username, pend->hash, sizeof(pend->hash));
	pend->known = r == 0;
	if (r < 0 && r != -ENOENT)
		goto server_error;
	/* Unknown users cost one argon2 verification too, so timing tells nothing. */
	if (!pend->known) {
		dummy = password_dummy_hash();
		if (!dummy) {
			r = -ENOMEM;
			goto server_error;
		}
		(void)snprintf(pend->hash, sizeof(pend->hash), "%s", dummy);
	}
	return GRANT_VERIFY;

server_error:
	reply_error(ret, 500, "server_error");
out:
	grant_pending_clear(pend);
	return r < 0 ? r : 0;
}

int grant_finish(struct db *db, struct grant_pending *pend, int verified,
		 const struct grant_lifetimes *lt, uint64_t now_ms, struct grant_reply *ret)
{
	int r = 0;

	if (verified == -ENOMEM) {
		r = -ENOMEM;
		goto server_error;
	}
	if (!pend->known || verified < 0 || pend->password[0] == '\0') {
		r = db_counter_add(db, DB_COUNTER_FAILED_LOGINS, 1);
		if (r < 0)
			goto server_error;
		reply_error(ret, 400, "invalid_grant");
		goto out;
	}
	r = issue(db, pend->username, NULL, lt, now_ms, ret);
	if (r < 0)
		goto server_error;
	goto out;

server_error:
	reply_error(ret, 500, "server_error");
out:
	grant_pending_clear(pend);
	return r < 0 ? r : 0;
}

void grant_pending_clear(struct grant_pending *pend)
{
	OPENSSL_cleanse(pend->password, sizeof(pend->password));
}

int grant_token(struct db *db, const char *body, size_t len, const struct grant_lifetimes *lt,
		uint64_t now_ms, struct grant_reply *ret)
{
	struct grant_pending pend;
	int r = grant_begin(db, body, len, lt, now_ms, ret, &pend);

	if (r != GRANT_VERIFY)
		return r;
	return grant_finish(db, &pend, password_verify(pend.hash, pend.password), lt, now_ms, ret);
}

int grant_password(struct db *db, const char *body, size_t len, uint64_t lifetime_s,
		   uint64_t now_ms, struct grant_reply *ret)
{
	const struct grant_lifetimes lt = {.access_s = lifetime_s, .refresh_s = 0};

	return grant_token(db, body, len, &lt, now_ms, ret);
}
