#include "grant.h"

#include "db.h"
#include "form.h"
#include "password.h"
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

int grant_password(struct db *db, const char *body, size_t len, uint64_t lifetime_s,
		   uint64_t now_ms, struct grant_reply *ret)
{
	char grant_type[32];
	char username[GRANT_MAX_USERNAME + 1];
	char password[PASSWORD_MAX_LEN + 1];
	char scope[256];
	char hash[PASSWORD_ENCODED_MAX];
	char token[TOKEN_HEX_LEN + 1];
	char token_sha[TOKEN_HASH_HEX_LEN + 1];
	const char *verify_against;
	bool known;
	int r;

	password[0] = '\0';
	token[0] = '\0';
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
	if (strcmp(grant_type, "password") != 0) {
		reply_error(ret, 400, "unsupported_grant_type");
		return 0;
	}
	if (form_get(body, len, "username", username, sizeof(username)) < 0 ||
	    form_get(body, len, "password", password, sizeof(password)) < 0) {
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

	r = db_account_hash(db, username, hash, sizeof(hash));
	known = r == 0;
	if (r < 0 && r != -ENOENT)
		goto server_error;
	verify_against = known ? hash : password_dummy_hash();
	if (!verify_against) {
		r = -ENOMEM;
		goto server_error;
	}
	/* Unknown users cost one argon2 verification too, so timing tells nothing. */
	r = password_verify(verify_against, password);
	if (r == -ENOMEM)
		goto server_error;
	if (!known || r < 0 || password[0] == '\0') {
		r = db_counter_add(db, DB_COUNTER_FAILED_LOGINS, 1);
		if (r < 0)
			goto server_error;
		reply_error(ret, 400, "invalid_grant");
		goto out;
	}

	r = token_generate(token);
	if (r < 0)
		goto server_error;
	r = token_hash(token, token_sha);
	if (r < 0)
		goto server_error;
	r = db_token_add(db, token_sha, username, now_ms, now_ms + lifetime_s * 1000);
	if (r < 0)
		goto server_error;
	r = db_counter_add(db, DB_COUNTER_TOKENS_ISSUED, 1);
	if (r < 0)
		goto server_error;
	ret->status = 200;
	(void)snprintf(ret->body, sizeof(ret->body),
		       "{\"access_token\":\"%s\",\"token_type\":\"bearer\",\"expires_in\":%" PRIu64
		       "}",
		       token, lifetime_s);
	r = 0;
	goto out;

server_error:
	reply_error(ret, 500, "server_error");
out:
	OPENSSL_cleanse(password, sizeof(password));
	OPENSSL_cleanse(token, sizeof(token));
	return r < 0 ? r : 0;
}
