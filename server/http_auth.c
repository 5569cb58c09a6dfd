/* The bearer token of a request (Authorization header, or ?token= on a WebSocket upgrade),
 * looked up in the database: the account, its role and the token's expiry. */
#include "http_internal.h"

#include "log.h"
#include "monoclock.h"
#include "db.h"
#include "db_api.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <string.h>

/* Finds the bearer token of an upgrade request: Authorization header or ?token=. */
static int request_token(struct lws *wsi, char *ret, size_t size)
{
	char hdr[256];
	char arg[TOKEN_HEX_LEN + 16];
	const char *v;

	if (lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_AUTHORIZATION) > 0) {
		if (lws_hdr_copy(wsi, hdr, sizeof(hdr), WSI_TOKEN_HTTP_AUTHORIZATION) <= 0)
			return -EINVAL;
		return token_from_bearer(hdr, ret, size);
	}
	v = lws_get_urlarg_by_name(wsi, "token=", arg, (int)sizeof(arg));
	if (!v)
		return -ENOENT;
	if (strlen(v) >= size)
		return -ENOSPC;
	memcpy(ret, v, strlen(v) + 1);
	return 0;
}

int http_authenticate(struct lws *wsi, struct server *srv, char *ret_account, size_t size,
		      uint64_t *ret_expires_ms, enum role *ret_role, char *ret_sha)
{
	struct db_auth auth;
	char token[TOKEN_HEX_LEN + 2];
	char sha[TOKEN_HASH_HEX_LEN + 1];
	int r;

	r = request_token(wsi, token, sizeof(token));
	if (r < 0 || !token_is_wellformed(token))
		return -EACCES;
	r = token_hash(token, sha);
	OPENSSL_cleanse(token, sizeof(token));
	if (r < 0)
		return r;
	r = db_token_auth(srv->opts.db, sha, &auth);
	if (r == 0 && strlen(auth.account) >= size)
		r = -ENOSPC;
	if (r == -ENOENT)
		return -EACCES;
	if (r < 0) {
		log_db_err(srv->opts.db, r, "token lookup: database \"%s\"",
			   db_errmsg(srv->opts.db));
		return r;
	}
	memcpy(ret_account, auth.account, strlen(auth.account) + 1);
	*ret_expires_ms = auth.expires_ms;
	*ret_role = auth.role;
	if (*ret_expires_ms <= wall_ms())
		return -EACCES;
	if (ret_sha)
		memcpy(ret_sha, sha, sizeof(sha));
	return 0;
}
