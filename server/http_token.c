/* POST /token, the OAuth2 token endpoint (RFC 6749): the form body read and bounded, the
 * per-address and failed-login rate limits, the grant (grant.c) with its password check on the
 * worker pool (pwpool.c), and the JSON reply. */
#include "http_internal.h"

#include "log.h"
#include "monoclock.h"
#include "db.h"
#include "form.h"
#include "pwpool.h"
#include "ratelimit.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define FORM_CTYPE "application/x-www-form-urlencoded"

/* Takes one request from the client address's bucket; sets ss->retry_after_s when over. */
static void token_rate_check(struct lws *wsi, struct server *srv, struct session *ss)
{
	char addr[RATELIMIT_ADDR_MAX];
	struct timespec ts;
	uint64_t retry = 0;

	if (!srv->token_rl)
		return;
	if (!lws_get_peer_simple(wsi, addr, sizeof(addr)))
		(void)snprintf(addr, sizeof(addr), "?");
	clock_gettime(CLOCK_MONOTONIC, &ts);
	if (ratelimit_take(srv->token_rl, addr,
			   (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000,
			   &retry) < 0) {
		log_info("POST %s from %s: over the rate limit, 429 (retry after %" PRIu64 " s)",
			 TOKEN_PATH, addr, retry);
		ss->retry_after_s = retry;
	}
}

int http_token_request(struct lws *wsi, struct server *srv, struct session *ss, const char *uri)
{
	bool post = lws_hdr_total_length(wsi, WSI_TOKEN_POST_URI) > 0;
	char ctype[128];

	(void)uri;
	ss->no_store = true;
	if (!post)
		return http_reply(wsi, ss, 405, "{\"error\":\"method not allowed\"}");
	if (lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_CONTENT_LENGTH) <= 0)
		return http_reply(wsi, ss, 400, "{\"error\":\"invalid_request\"}");
	/* The body is read (and dropped) even when the reply is already known. */
	ss->bad_ctype = lws_hdr_copy(wsi, ctype, sizeof(ctype), WSI_TOKEN_HTTP_CONTENT_TYPE) <= 0 ||
			strncasecmp(ctype, FORM_CTYPE, strlen(FORM_CTYPE)) != 0 ||
			(ctype[strlen(FORM_CTYPE)] != '\0' && ctype[strlen(FORM_CTYPE)] != ';');
	token_rate_check(wsi, srv, ss);
	ss->body = malloc(FORM_MAX_BODY + 1);
	if (!ss->body)
		return -1;
	ss->phase = HTTP_READING_BODY;
	return 0;
}

int http_token_body(struct session *ss, const void *in, size_t len)
{
	if (ss->phase != HTTP_READING_BODY)
		return 0;
	if (ss->body_too_large || ss->body_len + len > FORM_MAX_BODY) {
		/* Keep reading but drop the bytes; the reply says 413. */
		ss->body_too_large = true;
		return 0;
	}
	memcpy(ss->body + ss->body_len, in, len);
	ss->body_len += len;
	return 0;
}

static int grant_reply(struct lws *wsi, struct server *srv, struct session *ss, int r,
		       const struct grant_reply *reply)
{
	if (r < 0)
		log_err_errno(r, "POST %s: database \"%s\"", TOKEN_PATH, db_errmsg(srv->opts.db));
	else
		log_debug("POST %s: %u", TOKEN_PATH, reply->status);
	return http_reply(wsi, ss, reply->status, reply->body);
}

/* The password check of ss is done (verified: password_verify()'s result): the grant ends,
 * a failure is charged to the account, the reply goes out. */
static int login_checked(struct server *srv, struct session *ss, int verified)
{
	const struct grant_lifetimes lt = {.access_s = srv->opts.token_lifetime_s,
					   .refresh_s = srv->opts.refresh_lifetime_s};
	struct grant_reply reply;
	uint64_t retry;
	int r;

	r = grant_finish(srv->opts.db, ss->pend, verified, &lt, wall_ms(), &reply);
	if (r == 0 && reply.status == 400 && srv->login_rl &&
	    ratelimit_take(srv->login_rl, ss->pend->username, mono_ms(), &retry) < 0)
		log_info("POST %s: failed logins of \"%s\" over --login-rate, later attempts get "
			 "429 for %" PRIu64 " s",
			 TOKEN_PATH, ss->pend->username, retry);
	return grant_reply(ss->http_wsi, srv, ss, r, &reply);
}

int http_token_body_done(struct lws *wsi, struct server *srv, struct session *ss)
{
	const struct grant_lifetimes lt = {.access_s = srv->opts.token_lifetime_s,
					   .refresh_s = srv->opts.refresh_lifetime_s};
	struct grant_reply reply;
	uint64_t retry = 0;
	int r;

	if (ss->phase != HTTP_READING_BODY)
		return 0;
	if (ss->retry_after_s)
		return http_reply(wsi, ss, 429, "{\"error\":\"too_many_requests\"}");
	if (ss->bad_ctype)
		return http_reply(wsi, ss, 400, "{\"error\":\"invalid_request\"}");
	if (ss->body_too_large)
		return http_reply(wsi, ss, 413, "{\"error\":\"invalid_request\"}");
	ss->body[ss->body_len] = '\0';
	ss->pend = malloc(sizeof(*ss->pend));
	if (!ss->pend)
		return -1;
	r = grant_begin(srv->opts.db, ss->body, ss->body_len, &lt, wall_ms(), &reply, ss->pend);
	if (r != GRANT_VERIFY)
		return grant_reply(wsi, srv, ss, r, &reply);
	/* The account has failed too often: no argon2 work is spent on it (RFC 6585 4). */
	if (srv->login_rl &&
	    ratelimit_peek(srv->login_rl, ss->pend->username, mono_ms(), &retry) < 0) {
		log_info("POST %s: \"%s\" is over its failed-login limit, 429 (retry after %" PRIu64
			 " s)",
			 TOKEN_PATH, ss->pend->username, retry);
		grant_pending_clear(ss->pend);
		ss->retry_after_s = retry;
		return http_reply(wsi, ss, 429, "{\"error\":\"too_many_requests\"}");
	}
	ss->phase = HTTP_IDLE; /* the reply comes from login_checked() */
	ss->pw = srv->pw;
	r = pwpool_submit(srv->pw, ss->pend->hash, ss->pend->password, ss, &ss->job);
	if (r == -EBUSY) {
		log_warn("POST %s: %zu password checks queued already, 503", TOKEN_PATH,
			 srv->opts.pw_max_jobs);
		grant_pending_clear(ss->pend);
		ss->retry_after_s = 1;
		return http_reply(wsi, ss, 503, "{\"error\":\"temporarily_unavailable\"}");
	}
	if (r < 0)
		return -1;
	return 0;
}

void http_token_logins_checked(struct server *srv)
{
	struct pwpool_job *job;

	while ((job = pwpool_take_done(srv->pw))) {
		struct session *ss = pwpool_job_owner(job);
		int verified = pwpool_job_result(job);

		pwpool_job_free(job);
		ss->job = NULL;
		if (login_checked(srv, ss, verified) < 0)
			lws_set_timeout(ss->http_wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
	}
}
