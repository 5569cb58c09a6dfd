#include "http.h"

#include "log.h"
#include "monoclock.h"
#include "connlimit.h"
#include "conntrack.h"
#include "db.h"
#include "form.h"
#include "grant.h"
#include "hosts.h"
#include "ingest.h"
#include "srvmon_proto.h"
#include "pwpool.h"
#include "quota.h"
#include "ratelimit.h"
#include "record_line.h"
#include "retention.h"
#include "speedtest_http.h"
#include "token.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <openssl/crypto.h>
#include <libwebsockets.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define WS_PATH		    "/ws"
#define TOKEN_PATH	    "/token"
#define HEALTH_PATH	    "/health"
#define FORM_CTYPE	    "application/x-www-form-urlencoded"
#define MAX_PENDING_ERR	    8
#define CLOSE_TOKEN_EXPIRED SRVMON_CLOSE_TOKEN_EXPIRED
/* One transaction groups the records of one event-loop turn, cut at these bounds. */
#define COMMIT_MAX_RECORDS 4096
#define COMMIT_MAX_MS	   20
/* The ingest budget of a connection may be spent this many seconds ahead. */
#define LIMIT_BURST_S 2
/* Invalid messages: 100 at once, then 10 per second; beyond that the connection is closed. */
#define INVALID_PER_S	10
#define INVALID_BURST_S 10
/* A connection's token is looked up again (revoked: closed with 4401) at most this often,
 * when a message arrives. */
#define AUTH_RECHECK_MS 2000
/* An error reply: a reason naming a host_id (255 bytes, JSON-escaped) fits. */
#define WS_ERROR_MAX 2048
/* Over the account's quota: the committed records are acked, then the connection is closed
 * with 4429 (like HTTP 429) and the agent resends the rest after reconnecting. Not 1013 (try
 * again later): lws 4.1 clients take that code for a protocol error. */
#define CLOSE_OVER_QUOTA 4429
/* Request deadlines and retention are checked on this tick. */
#define HOUSEKEEPING_MS 250

struct server {
	struct lws_context *ctx;
	struct lws_vhost *vhost;
	struct server_opts opts;
	struct lws_protocols protocols[2];
	struct ratelimit *token_rl; /* NULL: no limit on POST /token */
	struct ratelimit *login_rl; /* failed logins per account; NULL: no limit */
	struct pwpool *pw;	    /* password checks */
	struct conntrack *conns;
	struct quota *quota; /* NULL: no per-account quota */
	lws_sorted_usec_list_t sul_house;
	uint64_t refused_conns; /* over --conn-limit since the last housekeeping tick */
	char accepted_addr[CONNTRACK_ADDR_MAX]; /* from conn_filter() to conn_accepted() */
	uint64_t retention_due_ms;		/* mono; 0: retention off */
	struct ingest_span *spans;		/* INGEST_BATCH_MAX, for splitting batch frames */
	/* The open transaction: its record count, start, and the sessions it holds records of. */
	size_t tx_records;
	uint64_t tx_start_ms;
	struct session *tx_sessions;
};

enum http_phase {
	HTTP_IDLE,
	HTTP_READING_BODY,
	HTTP_SEND_HEADERS,
	HTTP_SEND_BODY,
};

/* Per-connection state; one wsi is either an HTTP request or a WebSocket. */
struct session {
	/* HTTP */
	enum http_phase phase;
	bool body_too_large;
	bool bad_ctype;
	uint64_t retry_after_s; /* nonzero: POST /token over the rate limit, reply 429 */
	size_t body_len;
	char *body; /* FORM_MAX_BODY + 1 */
	unsigned int status;
	char reply[320];
	size_t reply_len;
	bool no_store;
	bool close_after;	    /* close the connection once the reply is written */
	struct speedtest_http *st;  /* a speed-test request (speedtest_http.c) */
	struct grant_pending *pend; /* POST /token waiting for its password check */
	struct pwpool_job *job;	    /* ... the check, on pw */
	struct pwpool *pw;
	struct lws *http_wsi;

	/* WebSocket */
	struct lws *wsi;
	bool ws_authed;
	bool welcome_pending;
	char account[GRANT_MAX_USERNAME + 1];
	uint64_t token_expires_ms;
	char token_sha[TOKEN_HASH_HEX_LEN + 1]; /* looked up again every AUTH_RECHECK_MS */
	uint64_t auth_checked_ms;		/* mono */
	char *msg;
	size_t msg_len;
	size_t msg_cap;
	bool ack_pending;
	bool have_ack;
	uint64_t ack_seq;
	uint64_t acked_n;      /* records committed and not acked yet */
	uint64_t last_ack_ms;  /* when the last ack went out (mono) */
	uint64_t ack_due_ms;   /* timer armed to send the pending ack then; 0: none */
	uint64_t rx_resume_ms; /* timer armed to resume reading then; 0: none */
	/* Stored in the open transaction, acked once it commits. */
	bool have_uncommitted;
	uint64_t uncommitted_seq;
	uint64_t uncommitted_n;
	struct session *tx_next; /* on server.tx_sessions while have_uncommitted */
	struct session **tx_prev;
	bool storage_failed; /* close with 1011: the agent resends what was not acked */
	struct connlimit budget;
	struct connlimit invalid;
	bool rx_paused;
	bool throttle_logged;
	bool over_quota; /* refuse what follows; close once the committed ones are acked */
	size_t n_err;
	char *err[MAX_PENDING_ERR];
	/* Host ownership (hosts.c): the last answer, and what was refused (never acked). */
	struct hosts_cache owner;
	struct hosts_refusals refused;
};

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void lws_log_emit(int level, const char *line)
{
	size_t n = strlen(line);

	while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		n--;
	if (level & LLL_ERR)
		log_err("lws: %.*s", (int)n, line);
	else if (level & LLL_WARN)
		log_warn("lws: %.*s", (int)n, line);
	else
		log_debug("lws: %.*s", (int)n, line);
}

static void session_reset_http(struct session *ss)
{
	free(ss->body);
	ss->body = NULL;
	ss->body_len = 0;
	ss->body_too_large = false;
	ss->bad_ctype = false;
	ss->retry_after_s = 0;
	ss->phase = HTTP_IDLE;
	speedtest_http_free(&ss->st);
	if (ss->job)
		pwpool_cancel(ss->pw, ss->job);
	ss->job = NULL;
	if (ss->pend) {
		grant_pending_clear(ss->pend);
		free(ss->pend);
		ss->pend = NULL;
	}
}

static void tx_unlink(struct session *ss)
{
	if (!ss->tx_prev)
		return;
	*ss->tx_prev = ss->tx_next;
	if (ss->tx_next)
		ss->tx_next->tx_prev = ss->tx_prev;
	ss->tx_next = NULL;
	ss->tx_prev = NULL;
}

static void session_free(struct session *ss)
{
	tx_unlink(ss);
	session_reset_http(ss);
	free(ss->msg);
	ss->msg = NULL;
	for (size_t i = 0; i < ss->n_err; i++)
		free(ss->err[i]);
	ss->n_err = 0;
}

/* Queues a JSON reply; it is written from LWS_CALLBACK_HTTP_WRITEABLE. */
static int http_reply(struct lws *wsi, struct session *ss, unsigned int status, const char *json)
{
	int n = snprintf(ss->reply, sizeof(ss->reply), "%s", json);

	if (n < 0 || (size_t)n >= sizeof(ss->reply))
		return -1;
	ss->status = status;
	ss->reply_len = (size_t)n;
	ss->phase = HTTP_SEND_HEADERS;
	lws_callback_on_writable(wsi);
	return 0;
}

/* RFC 6585 4: a 429 says when to come back. */
static int http_retry_after(struct lws *wsi, uint64_t seconds, unsigned char **p,
			    unsigned char *end)
{
	char v[24];
	int n = snprintf(v, sizeof(v), "%" PRIu64, seconds);

	return lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_RETRY_AFTER,
					    (const unsigned char *)v, n, p, end);
}

static int http_writeable(struct lws *wsi, struct session *ss)
{
	unsigned char buf[LWS_PRE + 512];
	unsigned char *start = &buf[LWS_PRE];
	unsigned char *p = start;
	unsigned char *end = &buf[sizeof(buf) - 1];

	if (ss->phase == HTTP_SEND_HEADERS) {
		if (lws_add_http_common_headers(wsi, ss->status, "application/json", ss->reply_len,
						&p, end))
			return -1;
		/* RFC 6749 5.1: token responses must not be cached. */
		if (ss->no_store &&
		    lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_CACHE_CONTROL,
						 (const unsigned char *)"no-store", 8, &p, end))
			return -1;
		if ((ss->status == 429 || ss->status == 503) &&
		    http_retry_after(wsi, ss->retry_after_s, &p, end))
			return -1;
		/* RFC 6750 3: a request without a valid bearer token is told the scheme. */
		if (ss->status == 401 &&
		    lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_WWW_AUTHENTICATE,
						 (const unsigned char *)"Bearer", 6, &p, end))
			return -1;
		if (lws_finalize_write_http_header(wsi, start, &p, end))
			return -1;
		ss->phase = HTTP_SEND_BODY;
		lws_callback_on_writable(wsi);
		return 0;
	}
	if (ss->phase != HTTP_SEND_BODY)
		return 0;
	memcpy(start, ss->reply, ss->reply_len);
	if (lws_write(wsi, start, ss->reply_len, LWS_WRITE_HTTP_FINAL) != (int)ss->reply_len)
		return -1;
	session_reset_http(ss);
	if (ss->close_after || lws_http_transaction_completed(wsi))
		return -1;
	return 0;
}

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

static int authenticate(struct lws *wsi, struct server *srv, char *ret_account, size_t size,
			uint64_t *ret_expires_ms, char *ret_sha);

/* The speed-test endpoints: off (404), or for a valid bearer token only (401), and at most
 * --speedtest-streams requests at once from one address (503). A refused request closes
 * the connection once answered: its body (an upload) is not read. */
static int speedtest_request(struct lws *wsi, struct server *srv, struct session *ss,
			     const char *uri)
{
	char account[GRANT_MAX_USERNAME + 1];
	char addr[CONNTRACK_ADDR_MAX];
	uint64_t expires;
	int r;

	if (srv->opts.speedtest == SERVER_SPEEDTEST_OFF)
		return http_reply(wsi, ss, 404, "{\"error\":\"not found\"}");
	if (!lws_get_peer_simple(wsi, addr, sizeof(addr)))
		(void)snprintf(addr, sizeof(addr), "?");
	ss->close_after = true;
	if (srv->opts.speedtest == SERVER_SPEEDTEST_TOKEN) {
		r = authenticate(wsi, srv, account, sizeof(account), &expires, NULL);
		if (r == -EACCES) {
			log_info("%s from %s: refused: missing, unknown or expired token, 401", uri,
				 addr);
			return http_reply(wsi, ss, 401, "{\"error\":\"invalid_token\"}");
		}
		if (r < 0)
			return http_reply(wsi, ss, 500, "{\"error\":\"server_error\"}");
	}
	if (conntrack_speedtest_begin(srv->conns, lws_get_network_wsi(wsi)) == -EBUSY) {
		log_info("%s from %s: over %zu speed-test requests at once, 503", uri, addr,
			 srv->opts.speedtest_per_addr);
		ss->retry_after_s = 1;
		return http_reply(wsi, ss, 503, "{\"error\":\"too many speed-test requests\"}");
	}
	ss->close_after = false;
	/* An upload may take the agent's whole max_duration: its own, longer deadline. */
	if (lws_hdr_total_length(wsi, WSI_TOKEN_POST_URI) > 0)
		(void)conntrack_set_deadline(srv->conns, lws_get_network_wsi(wsi),
					     mono_ms() + (uint64_t)SERVER_SPEEDTEST_BODY_S * 1000);
	return speedtest_http_request(wsi, uri, &ss->st);
}

static int http_request(struct lws *wsi, struct server *srv, struct session *ss, const char *uri)
{
	bool post = lws_hdr_total_length(wsi, WSI_TOKEN_POST_URI) > 0;
	bool get = lws_hdr_total_length(wsi, WSI_TOKEN_GET_URI) > 0;
	char ctype[128];

	session_reset_http(ss);
	ss->no_store = false;
	ss->close_after = false;
	ss->http_wsi = wsi;
	/* A request without a body is complete: its deadline is over. */
	if (!post)
		(void)conntrack_set_deadline(srv->conns, lws_get_network_wsi(wsi), 0);
	if (speedtest_http_match(uri))
		return speedtest_request(wsi, srv, ss, uri);
	if (strcmp(uri, HEALTH_PATH) == 0) {
		if (!get)
			return http_reply(wsi, ss, 405, "{\"error\":\"method not allowed\"}");
		return http_reply(wsi, ss, 200, "{\"status\":\"ok\"}");
	}
	if (strcmp(uri, WS_PATH) == 0)
		return http_reply(wsi, ss, 400, "{\"error\":\"websocket upgrade required\"}");
	if (strcmp(uri, TOKEN_PATH) != 0)
		return http_reply(wsi, ss, 404, "{\"error\":\"not found\"}");

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

static int http_body(struct session *ss, const void *in, size_t len)
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

	r = grant_finish(srv->opts.db, ss->pend, verified, &lt, now_ms(), &reply);
	if (r == 0 && reply.status == 400 && srv->login_rl &&
	    ratelimit_take(srv->login_rl, ss->pend->username, mono_ms(), &retry) < 0)
		log_info("POST %s: failed logins of \"%s\" over --login-rate, later attempts get "
			 "429 for %" PRIu64 " s",
			 TOKEN_PATH, ss->pend->username, retry);
	return grant_reply(ss->http_wsi, srv, ss, r, &reply);
}

static int http_body_done(struct lws *wsi, struct server *srv, struct session *ss)
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
	r = grant_begin(srv->opts.db, ss->body, ss->body_len, &lt, now_ms(), &reply, ss->pend);
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

/* A worker finished password checks (woken through lws_cancel_service): their replies. */
static void logins_checked(struct server *srv)
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

/* Looks the request's token up. 0 with the account and expiry (and the token's hash into
 * ret_sha when not NULL), or -EACCES. */
static int authenticate(struct lws *wsi, struct server *srv, char *ret_account, size_t size,
			uint64_t *ret_expires_ms, char *ret_sha)
{
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
	r = db_token_lookup(srv->opts.db, sha, ret_account, size, ret_expires_ms);
	if (r == -ENOENT)
		return -EACCES;
	if (r < 0) {
		log_err_errno(r, "token lookup: database \"%s\"", db_errmsg(srv->opts.db));
		return r;
	}
	if (*ret_expires_ms <= now_ms())
		return -EACCES;
	if (ret_sha)
		memcpy(ret_sha, sha, sizeof(sha));
	return 0;
}

static int ws_confirm_upgrade(struct lws *wsi, struct server *srv)
{
	char uri[256];
	char account[GRANT_MAX_USERNAME + 1];
	uint64_t expires;
	int r;

	if (lws_hdr_copy(wsi, uri, sizeof(uri), WSI_TOKEN_GET_URI) <= 0 ||
	    strcmp(uri, WS_PATH) != 0) {
		/* lws_return_http_status() writes the reply itself; >0 tells lws it did. */
		lws_return_http_status(wsi, HTTP_STATUS_NOT_FOUND, NULL);
		return 1;
	}
	r = authenticate(wsi, srv, account, sizeof(account), &expires, NULL);
	if (r == -EACCES) {
		log_info("GET %s: upgrade refused: missing, unknown or expired token", WS_PATH);
		lws_return_http_status(wsi, HTTP_STATUS_UNAUTHORIZED, NULL);
		return 1;
	}
	if (r < 0) {
		lws_return_http_status(wsi, HTTP_STATUS_INTERNAL_SERVER_ERROR, NULL);
		return 1;
	}
	return 0;
}

static int ws_established(struct lws *wsi, struct server *srv, struct session *ss)
{
	int r;

	memset(ss, 0, sizeof(*ss));
	/* The headers are still bound here; confirm_upgrade checked them moments ago. */
	r = authenticate(wsi, srv, ss->account, sizeof(ss->account), &ss->token_expires_ms,
			 ss->token_sha);
	if (r < 0)
		return -1;
	ss->auth_checked_ms = mono_ms();
	ss->ws_authed = true;
	ss->wsi = wsi;
	/* An agent's connection lasts: the request deadline was for the upgrade only. */
	(void)conntrack_set_deadline(srv->conns, lws_get_network_wsi(wsi), 0);
	connlimit_init(&ss->budget, srv->opts.conn_records_per_s, srv->opts.conn_bytes_per_s,
		       LIMIT_BURST_S, mono_ms());
	connlimit_init(&ss->invalid, INVALID_PER_S, 0, INVALID_BURST_S, mono_ms());
	log_info("%s: connection of \"%s\" established", WS_PATH, ss->account);
	/* Tell the agent it may send batch frames. */
	ss->welcome_pending = true;
	lws_callback_on_writable(wsi);
	return 0;
}

static void ws_queue_error(struct lws *wsi, struct session *ss, const char *err)
{
	char buf[WS_ERROR_MAX];
	char *copy;

	if (ss->n_err >= MAX_PENDING_ERR)
		return;
	if (ingest_format_error(err, buf, sizeof(buf)) < 0)
		return;
	copy = strdup(buf);
	if (!copy)
		return;
	ss->err[ss->n_err++] = copy;
	lws_callback_on_writable(wsi);
}

static int ws_close(struct lws *wsi, int code, const char *reason)
{
	lws_close_reason(wsi, (enum lws_close_status)code, (unsigned char *)reason, strlen(reason));
	return -1;
}

/* Commits the open transaction; then the sessions that stored records in it get their ack
 * (acks mean committed), or, when the commit failed, are closed with 1011. */
static void tx_commit(struct server *srv)
{
	struct session *ss;
	int r;

	if (!db_in_transaction(srv->opts.db))
		return;
	r = db_commit(srv->opts.db);
	if (r < 0)
		log_err_errno(r, "%s: committing %zu records: database \"%s\"", WS_PATH,
			      srv->tx_records, db_errmsg(srv->opts.db));
	while ((ss = srv->tx_sessions)) {
		tx_unlink(ss);
		if (r < 0) {
			ss->storage_failed = true;
		} else if (ss->have_uncommitted) {
			if (!ss->have_ack || ss->uncommitted_seq > ss->ack_seq)
				ss->ack_seq = ss->uncommitted_seq;
			ss->have_ack = true;
			ss->ack_pending = true;
			ss->acked_n += ss->uncommitted_n;
		}
		ss->have_uncommitted = false;
		ss->uncommitted_n = 0;
		lws_callback_on_writable(ss->wsi);
	}
	srv->tx_records = 0;
}

/* Commits early when the open transaction holds many records or is old. */
static void tx_bound(struct server *srv)
{
	if (srv->tx_records >= COMMIT_MAX_RECORDS || mono_ms() - srv->tx_start_ms >= COMMIT_MAX_MS)
		tx_commit(srv);
}

/* Counts an invalid message; -1 (close 1008) when the connection sends them persistently. */
static int ws_invalid(struct lws *wsi, struct session *ss, const char *what, const char *err)
{
	log_warn("%s: %s from \"%s\" rejected: %s, ignoring", WS_PATH, what, ss->account, err);
	ws_queue_error(wsi, ss, err);
	if (connlimit_charge(&ss->invalid, 1, 0, mono_ms()) > 0) {
		log_warn("%s: \"%s\" sent over %d invalid messages, closing (1008)", WS_PATH,
			 ss->account, INVALID_PER_S * INVALID_BURST_S);
		return ws_close(wsi, LWS_CLOSE_STATUS_POLICY_VIOLATION,
				"too many invalid messages");
	}
	return 0;
}

/* Whether the connection's account may write m's host (claiming it when it has no owner):
 * 1, 0 when refused (error queued; never acked), -EIO (logged). */
static int ws_owned(struct lws *wsi, struct server *srv, struct session *ss,
		    const struct ingest_msg *m, long index, uint64_t now)
{
	char reason[INGEST_MAX_HOST_ID + 96];
	const char *owner = NULL;
	bool owned = false;
	int r;

	r = hosts_check(srv->opts.db, &ss->owner, m->host_id, ss->account, now, &owned, &owner);
	if (r < 0) {
		log_err_errno(r, "%s: owner of a host of \"%s\": database \"%s\"", WS_PATH,
			      ss->account, db_errmsg(srv->opts.db));
		return r;
	}
	if (owned)
		return 1;
	hosts_refusal_note(&ss->refused, m->seq);
	/* The owner is not named to the sender: that would tell it another account's name. */
	if (index < 0)
		(void)snprintf(reason, sizeof(reason), "host_id \"%s\" belongs to another account",
			       m->host_id);
	else
		(void)snprintf(reason, sizeof(reason),
			       "batch record %ld: host_id \"%s\" belongs to another account", index,
			       m->host_id);
	ws_queue_error(wsi, ss, reason);
	if (ss->refused.n == 1) {
		char host[INGEST_MAX_HOST_ID + 1];

		hosts_clean(m->host_id, host, sizeof(host));
		log_warn("%s: %s seq=%" PRIu64 " from \"%s\" refused: host_id \"%s\" belongs to "
			 "account \"%s\" (further refusals on this connection are counted)",
			 WS_PATH, m->type, m->seq, ss->account, host, owner);
	}
	return 0;
}

/*
 * Charges one record of len bytes to the account's quota. Over it, the record and every
 * later one on this connection are refused (not stored, not acked): one error frame says
 * why, the records committed before are acked, then the connection is closed with 1013 and
 * the agent sends the rest again after reconnecting (its backoff paces the retries).
 */
static bool over_quota(struct lws *wsi, struct server *srv, struct session *ss, size_t len)
{
	char err[200];
	uint64_t retry = 0;
	int r;

	if (ss->over_quota)
		return true;
	if (!srv->quota)
		return false;
	r = quota_charge(srv->quota, ss->account, len, mono_ms(), now_ms(), &retry);
	if (r == 0)
		return false;
	if (r == -EDQUOT)
		(void)snprintf(
			err, sizeof(err), "over quota: %" PRIu64 " MiB a day for account \"%s\"",
			srv->opts.quota_bytes_per_day / ((uint64_t)1024 * 1024), ss->account);
	else
		(void)snprintf(err, sizeof(err),
			       "over quota: %" PRIu64 " records/s for account \"%s\"",
			       srv->opts.quota_records_per_s, ss->account);
	log_info("%s: %s: refusing the rest of this connection, closing (%d) once the "
		 "committed records are acked; retry in %" PRIu64 " ms",
		 WS_PATH, err, CLOSE_OVER_QUOTA, retry);
	ws_queue_error(wsi, ss, err);
	ss->over_quota = true;
	lws_rx_flow_control(wsi, 0);
	return true;
}

/* Validates and stores one record: a single-record frame (node NULL) or one element of a
 * batch (index >= 0, node its object in the batch's tree). 0, or -1 to close the
 * connection. */
static int ws_record(struct lws *wsi, struct server *srv, struct session *ss, const char *buf,
		     size_t len, const cJSON *node, long index, uint64_t received)
{
	struct ingest_msg m;
	struct db_record rec;
	const char *err = NULL;
	char what[64];
	bool inserted = false;
	int r;

	r = node ? ingest_check(node, buf, len, &m, &err) : ingest_parse(buf, len, &m, &err);
	if (r == -ENOMEM) {
		log_warn("%s: message from \"%s\": out of memory, ignoring", WS_PATH, ss->account);
		ws_queue_error(wsi, ss, "server out of memory");
		return 0;
	}
	if (r < 0) {
		char reason[128];

		if (index < 0)
			return ws_invalid(wsi, ss, "message", err);
		(void)snprintf(what, sizeof(what), "batch record %ld", index);
		(void)snprintf(reason, sizeof(reason), "batch record %ld: %s", index, err);
		return ws_invalid(wsi, ss, what, reason);
	}
	if (over_quota(wsi, srv, ss, len)) {
		ingest_msg_clear(&m);
		return 0;
	}
	if (!db_in_transaction(srv->opts.db)) {
		r = db_begin(srv->opts.db);
		if (r < 0) {
			log_err_errno(r, "%s: starting a transaction: database \"%s\"", WS_PATH,
				      db_errmsg(srv->opts.db));
			goto fail;
		}
		srv->tx_start_ms = mono_ms();
	}
	r = ws_owned(wsi, srv, ss, &m, index, received);
	if (r < 0)
		goto fail;
	if (r == 0) {
		ingest_msg_clear(&m);
		return 0;
	}
	rec = (struct db_record){
		.host_id = m.host_id,
		.seq = m.seq,
		.type = m.type,
		.ts = m.ts,
		.received_ms = received,
		.account = ss->account,
		.body = buf,
		.body_len = len,
	};
	r = db_record_insert(srv->opts.db, &rec, &inserted);
	if (r < 0) {
		log_err_errno(r, "%s: storing %s seq=%" PRIu64 " of \"%s\": database \"%s\"",
			      WS_PATH, m.type, m.seq, m.host_id, db_errmsg(srv->opts.db));
		goto fail;
	}
	srv->tx_records++;
	/* A duplicate is stored already: it is acknowledged like a new one. */
	if (!ss->have_uncommitted || m.seq > ss->uncommitted_seq)
		ss->uncommitted_seq = m.seq;
	ss->have_uncommitted = true;
	ss->uncommitted_n++;
	if (!ss->tx_prev) {
		ss->tx_next = srv->tx_sessions;
		if (ss->tx_next)
			ss->tx_next->tx_prev = &ss->tx_next;
		ss->tx_prev = &srv->tx_sessions;
		srv->tx_sessions = ss;
	}
	if (inserted && srv->opts.records_out) {
		char line[1024];

		record_line_format(m.obj, m.type, m.host_id, m.seq, received, line, sizeof(line));
		(void)fprintf(srv->opts.records_out, "%s\n", line);
		(void)fflush(srv->opts.records_out);
	}
	log_debug("%s: %s seq=%" PRIu64 " from \"%s\" %s", WS_PATH, m.type, m.seq, m.host_id,
		  inserted ? "stored" : "duplicate");
	ingest_msg_clear(&m);
	return 0;
fail:
	ingest_msg_clear(&m);
	/* Nothing later on this connection is acked: the agent resends after reconnecting. */
	return ws_close(wsi, LWS_CLOSE_STATUS_UNEXPECTED_CONDITION, "storage failed");
}

/* The connection's one lws timer, set to the earlier of its two uses: resuming reads
 * (ingest budget) and sending a paced ack. */
static void ws_arm_timer(struct lws *wsi, struct session *ss, uint64_t now)
{
	uint64_t at = ss->rx_resume_ms;

	if (ss->ack_due_ms && (!at || ss->ack_due_ms < at))
		at = ss->ack_due_ms;
	if (!at)
		return;
	lws_set_timer_usecs(wsi, at > now ? (lws_usec_t)(at - now) * 1000 : 1);
}

/* Takes records and bytes from the connection's budget; over it, stops reading from the
 * socket (TCP pushes back on the sender) until the budget has refilled. */
static void ws_charge(struct lws *wsi, struct session *ss, uint64_t records, uint64_t bytes)
{
	uint64_t wait = connlimit_charge(&ss->budget, records, bytes, mono_ms());

	if (wait == 0 || ss->rx_paused)
		return;
	if (!ss->throttle_logged)
		log_info("%s: \"%s\" is over its ingest budget (%" PRIu64 " records/s, %" PRIu64
			 " bytes/s), reading more slowly",
			 WS_PATH, ss->account, ss->budget.rate[0], ss->budget.rate[1]);
	ss->throttle_logged = true;
	ss->rx_paused = true;
	lws_rx_flow_control(wsi, 0);
	ss->rx_resume_ms = mono_ms() + wait;
	ws_arm_timer(wsi, ss, mono_ms());
}

static int ws_timer(struct lws *wsi, struct session *ss)
{
	uint64_t now = mono_ms();

	if (ss->ack_due_ms && now >= ss->ack_due_ms) {
		ss->ack_due_ms = 0;
		lws_callback_on_writable(wsi);
	}
	if (ss->rx_paused && now >= ss->rx_resume_ms) {
		uint64_t wait = connlimit_charge(&ss->budget, 0, 0, now);

		if (wait > 0) {
			ss->rx_resume_ms = now + wait;
		} else {
			ss->rx_paused = false;
			ss->rx_resume_ms = 0;
			lws_rx_flow_control(wsi, 1);
		}
	}
	ws_arm_timer(wsi, ss, now);
	return 0;
}

/*
 * Whether the pending ack goes out now. Acks are paced (--ack-interval): an agent that
 * sends a frame every 100 ms is then woken once a second, not twice per frame; an ack
 * still goes at once after SERVER_ACK_MAX_RECORDS records, so an agent's unacked backlog
 * stays small. Otherwise the timer is armed for when it is due.
 */
static bool ack_due(struct lws *wsi, struct server *srv, struct session *ss)
{
	uint64_t now = mono_ms();
	uint64_t every = srv->opts.ack_interval_ms;

	if (!every || ss->acked_n >= SERVER_ACK_MAX_RECORDS || now >= ss->last_ack_ms + every)
		return true;
	if (!ss->ack_due_ms) {
		ss->ack_due_ms = ss->last_ack_ms + every;
		ws_arm_timer(wsi, ss, now);
	}
	return false;
}

/* One complete text message: a batch frame or a single record. 0, or -1 to close. */
static int ws_message(struct lws *wsi, struct server *srv, struct session *ss)
{
	uint64_t received = now_ms();
	const char *err = NULL;
	cJSON *tree = NULL;
	size_t n = 1;
	int r = 0;

	if (!ingest_is_batch(ss->msg, ss->msg_len)) {
		r = ws_record(wsi, srv, ss, ss->msg, ss->msg_len, NULL, -1, received);
	} else if (ingest_batch_split(ss->msg, ss->msg_len, srv->spans, INGEST_BATCH_MAX, &n, &tree,
				      &err) < 0) {
		n = 0;
		r = ws_invalid(wsi, ss, "batch", err);
	} else {
		/* Each element like a single-record frame; a bad one does not drop the others.
		 * The frame was parsed once: the elements are checked on its tree. */
		for (size_t i = 0; i < n && r == 0; i++)
			r = ws_record(wsi, srv, ss, srv->spans[i].buf, srv->spans[i].len,
				      srv->spans[i].node, (long)i, received);
		cJSON_Delete(tree);
	}
	if (r == 0)
		ws_charge(wsi, ss, n, 0);
	tx_bound(srv);
	return r;
}

/* Whether the connection's token was revoked (token revoke, user del, a replayed refresh
 * token), looked up at most every AUTH_RECHECK_MS. A database failure keeps it open. */
static bool ws_token_revoked(struct server *srv, struct session *ss)
{
	char account[GRANT_MAX_USERNAME + 1];
	uint64_t now = mono_ms();
	uint64_t expires;
	int r;

	if (now - ss->auth_checked_ms < AUTH_RECHECK_MS)
		return false;
	ss->auth_checked_ms = now;
	r = db_token_lookup(srv->opts.db, ss->token_sha, account, sizeof(account), &expires);
	if (r < 0 && r != -ENOENT)
		log_warn_errno(r, "%s: token of \"%s\": database \"%s\", not checked", WS_PATH,
			       ss->account, db_errmsg(srv->opts.db));
	return r == -ENOENT;
}

static int ws_receive(struct lws *wsi, struct server *srv, struct session *ss, const void *in,
		      size_t len)
{
	int r;

	if (!ss->ws_authed)
		return -1;
	ws_charge(wsi, ss, 0, len);
	if (lws_frame_is_binary(wsi))
		return ws_close(wsi, LWS_CLOSE_STATUS_UNACCEPTABLE_OPCODE, "text frames only");
	if (lws_is_first_fragment(wsi))
		ss->msg_len = 0;
	if (ss->msg_len + len > INGEST_MAX_MESSAGE)
		return ws_close(wsi, LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE, "message over 1 MiB");
	if (ss->msg_len + len + 1 > ss->msg_cap) {
		size_t cap = ss->msg_cap ? ss->msg_cap : 4096;
		char *p;

		while (cap < ss->msg_len + len + 1)
			cap *= 2;
		p = realloc(ss->msg, cap);
		if (!p)
			return ws_close(wsi, LWS_CLOSE_STATUS_UNEXPECTED_CONDITION,
					"out of memory");
		ss->msg = p;
		ss->msg_cap = cap;
	}
	memcpy(ss->msg + ss->msg_len, in, len);
	ss->msg_len += len;
	if (!lws_is_final_fragment(wsi) || lws_remaining_packet_payload(wsi) > 0)
		return 0;
	ss->msg[ss->msg_len] = '\0';
	/* An expired token ends the connection before the message is stored. */
	if (now_ms() >= ss->token_expires_ms) {
		log_info("%s: token of \"%s\" expired, closing", WS_PATH, ss->account);
		return ws_close(wsi, CLOSE_TOKEN_EXPIRED, "token expired");
	}
	if (ws_token_revoked(srv, ss)) {
		log_info("%s: token of \"%s\" revoked, closing", WS_PATH, ss->account);
		return ws_close(wsi, CLOSE_TOKEN_EXPIRED, "token revoked");
	}
	r = ws_message(wsi, srv, ss);
	ss->msg_len = 0;
	return r;
}

static int ws_writeable(struct lws *wsi, struct server *srv, struct session *ss)
{
	unsigned char buf[LWS_PRE + WS_ERROR_MAX];
	unsigned char *start = &buf[LWS_PRE];
	uint64_t seq;
	int n;

	if (ss->storage_failed)
		return ws_close(wsi, LWS_CLOSE_STATUS_UNEXPECTED_CONDITION, "storage failed");
	if (ss->welcome_pending) {
		n = ingest_format_welcome(INGEST_MAX_MESSAGE, (char *)start, sizeof(buf) - LWS_PRE);
		ss->welcome_pending = false;
	} else if (ss->n_err > 0) {
		n = snprintf((char *)start, sizeof(buf) - LWS_PRE, "%s", ss->err[0]);
		free(ss->err[0]);
		memmove(&ss->err[0], &ss->err[1], (ss->n_err - 1) * sizeof(ss->err[0]));
		ss->n_err--;
	} else if (ss->ack_pending && (ss->over_quota || ack_due(wsi, srv, ss))) {
		ss->ack_pending = false;
		ss->acked_n = 0;
		ss->last_ack_ms = mono_ms();
		/* Cumulative: it never covers a refused record (hosts.c). Nothing to ack: over
		 * quota, the connection is closed all the same. */
		if (!hosts_ack_cap(&ss->refused, ss->ack_seq, &seq)) {
			if (ss->over_quota && !ss->have_uncommitted)
				return ws_close(wsi, CLOSE_OVER_QUOTA, "over quota");
			return 0;
		}
		n = ingest_format_ack(seq, (char *)start, sizeof(buf) - LWS_PRE);
	} else if (ss->over_quota && !ss->have_uncommitted) {
		return ws_close(wsi, CLOSE_OVER_QUOTA, "over quota");
	} else {
		return 0;
	}
	if (n < 0 || (size_t)n >= sizeof(buf) - LWS_PRE)
		return -1;
	if (lws_write(wsi, start, (size_t)n, LWS_WRITE_TEXT) < n)
		return -1;
	if (ss->n_err > 0 || (ss->ack_pending && !ss->ack_due_ms) || ss->over_quota)
		lws_callback_on_writable(wsi);
	return 0;
}

/* LWS_CALLBACK_FILTER_NETWORK_CONNECTION: a connection just accepted. Over --conn-limit it
 * is refused (nonzero: lws closes it at once); else its address is kept for conn_accepted(),
 * which lws calls next for the same connection. */
static int conn_filter(struct server *srv, const struct lws_filter_network_conn_args *a)
{
	const struct sockaddr_storage *ss = &a->cli_addr;
	const char *addr = srv->accepted_addr;
	int r;

	if (ss->ss_family == AF_INET6)
		addr = inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)ss)->sin6_addr,
				 srv->accepted_addr, sizeof(srv->accepted_addr));
	else if (ss->ss_family == AF_INET)
		addr = inet_ntop(AF_INET, &((const struct sockaddr_in *)ss)->sin_addr,
				 srv->accepted_addr, sizeof(srv->accepted_addr));
	if (!addr)
		(void)snprintf(srv->accepted_addr, sizeof(srv->accepted_addr), "?");
	r = conntrack_admit(srv->conns, srv->accepted_addr);
	if (r == 0)
		return 0;
	/* One line per refusal would let a flood fill the log: counted, logged per tick. */
	log_debug("connection from %s refused: %s", srv->accepted_addr,
		  r == -EUSERS ? "the address's cap" : "the cap in all");
	srv->refused_conns++;
	srv->accepted_addr[0] = '\0';
	return -1;
}

/* A new connection (after conn_filter() admitted it): registered, with the --request-timeout
 * deadline for its first request. */
static void conn_accepted(struct lws *wsi, struct server *srv)
{
	int r = conntrack_add(srv->conns, wsi, srv->accepted_addr[0] ? srv->accepted_addr : "?",
			      mono_ms() + srv->opts.request_timeout_s * 1000);

	srv->accepted_addr[0] = '\0';
	if (r == 0)
		return;
	srv->refused_conns++;
	lws_set_timeout(wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
}

static void conn_expired(const void *key, const char *addr, void *arg)
{
	struct server *srv = arg;

	log_debug("connection from %s closed: request not complete within %" PRIu64 " s", addr,
		  srv->opts.request_timeout_s);
	lws_set_timeout((struct lws *)key, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
}

static void tx_commit(struct server *srv);

/* Every HOUSEKEEPING_MS: closes connections past their request deadline, and runs a
 * retention batch when one is due. */
static void housekeeping(lws_sorted_usec_list_t *sul)
{
	struct server *srv =
		(struct server *)(void *)((char *)sul - offsetof(struct server, sul_house));
	uint64_t now = mono_ms();

	size_t expired = conntrack_expire(srv->conns, now, conn_expired, srv);

	if (expired > 0)
		log_info("closed %zu connections whose request was not complete within %" PRIu64
			 " s (--request-timeout)",
			 expired, srv->opts.request_timeout_s);
	if (srv->refused_conns > 0)
		log_info("refused %" PRIu64 " connections over --conn-limit (%zu in all, %zu per "
			 "address)",
			 srv->refused_conns, srv->opts.max_conns, srv->opts.max_conns_per_addr);
	srv->refused_conns = 0;
	if (srv->retention_due_ms && now >= srv->retention_due_ms) {
		uint64_t deleted = 0;
		int64_t next;

		/* The retention batch is its own transaction, after the records of this turn. */
		tx_commit(srv);
		next = retention_step(srv->opts.db, srv->opts.retention_ms, now_ms(), &deleted);
		if (next < 0) {
			log_err_errno((int)next, "retention: deleting old records: database \"%s\"",
				      db_errmsg(srv->opts.db));
			next = RETENTION_IDLE_MS;
		} else if (deleted > 0) {
			log_debug("retention: deleted %" PRIu64 " records older than %" PRIu64 " s",
				  deleted, srv->opts.retention_ms / 1000);
		}
		srv->retention_due_ms = now + (uint64_t)next;
	}
	lws_sul_schedule(srv->ctx, 0, &srv->sul_house, housekeeping,
			 (lws_usec_t)HOUSEKEEPING_MS * 1000);
}

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
		    size_t len)
{
	struct server *srv = lws_context_user(lws_get_context(wsi));
	struct session *ss = user;

	switch (reason) {
	case LWS_CALLBACK_HTTP:
		return http_request(wsi, srv, ss, in ? (const char *)in : "");
	case LWS_CALLBACK_HTTP_BODY:
		if (ss->st)
			return speedtest_http_body(ss->st, len);
		return http_body(ss, in, len);
	case LWS_CALLBACK_HTTP_BODY_COMPLETION:
		(void)conntrack_set_deadline(srv->conns, lws_get_network_wsi(wsi), 0);
		if (ss->st)
			return speedtest_http_body_done(wsi, ss->st);
		return http_body_done(wsi, srv, ss);
	case LWS_CALLBACK_HTTP_WRITEABLE:
		if (ss->st)
			return speedtest_http_writeable(wsi, ss->st);
		return http_writeable(wsi, ss);
	case LWS_CALLBACK_HTTP_DROP_PROTOCOL:
		/* The transaction is over (lws_http_transaction_completed): the next request on
		 * this connection has a deadline of its own. */
		conntrack_speedtest_end(srv->conns, lws_get_network_wsi(wsi));
		(void)conntrack_set_deadline(srv->conns, lws_get_network_wsi(wsi),
					     mono_ms() + srv->opts.request_timeout_s * 1000);
		if (ss)
			session_reset_http(ss);
		return 0;
	case LWS_CALLBACK_CLOSED_HTTP:
		if (ss)
			session_reset_http(ss);
		return 0;
	case LWS_CALLBACK_FILTER_NETWORK_CONNECTION:
		return conn_filter(srv, user);
	case LWS_CALLBACK_SERVER_NEW_CLIENT_INSTANTIATED:
		conn_accepted(wsi, srv);
		return 0;
	case LWS_CALLBACK_WSI_DESTROY:
		/* The table knows network connections only (an h2 stream is not one of them:
		 * the calls above use its network wsi; removing a stream is ignored). */
		conntrack_remove(srv->conns, wsi);
		return 0;
	case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
		if (srv && srv->pw)
			logins_checked(srv);
		return 0;
	case LWS_CALLBACK_HTTP_CONFIRM_UPGRADE:
		return ws_confirm_upgrade(wsi, srv);
	case LWS_CALLBACK_ESTABLISHED:
		return ws_established(wsi, srv, ss);
	case LWS_CALLBACK_RECEIVE:
		return ws_receive(wsi, srv, ss, in, len);
	case LWS_CALLBACK_SERVER_WRITEABLE:
		return ws_writeable(wsi, srv, ss);
	case LWS_CALLBACK_TIMER:
		return ws_timer(wsi, ss);
	case LWS_CALLBACK_CLOSED:
		if (ss->ws_authed && ss->refused.n > 0)
			log_info("%s: connection of \"%s\" closed, %" PRIu64 " records refused "
				 "(hosts of other accounts)",
				 WS_PATH, ss->account, ss->refused.n);
		else if (ss->ws_authed)
			log_info("%s: connection of \"%s\" closed", WS_PATH, ss->account);
		session_free(ss);
		return 0;
	default:
		break;
	}
	return 0;
}

/* Wakes the event loop from a password worker: EVENT_WAIT_CANCELLED takes the results. */
static void pw_notify(void *arg)
{
	struct server *s = arg;

	lws_cancel_service(s->ctx);
}

/* The limits' state (all but the lws context), from the options. 0 or -errno. */
static int limits_new(struct server *s, const struct server_opts *opts)
{
	/* 4096 addresses tracked: 350 KiB, whatever the number of clients. */
	if (opts->token_burst > 0) {
		s->token_rl = ratelimit_new(opts->token_burst, opts->token_per_minute, 4096);
		if (!s->token_rl)
			return -errno;
	}
	if (opts->login_fail_burst > 0) {
		s->login_rl =
			ratelimit_new(opts->login_fail_burst, opts->login_fail_per_minute, 4096);
		if (!s->login_rl)
			return -errno;
	}
	s->conns =
		conntrack_new(opts->max_conns, opts->max_conns_per_addr, opts->speedtest_per_addr);
	if (!s->conns)
		return -errno;
	if (opts->quota_records_per_s || opts->quota_bytes_per_day) {
		s->quota = quota_new(opts->quota_records_per_s, opts->quota_bytes_per_day);
		if (!s->quota)
			return -errno;
	}
	s->pw = pwpool_new(opts->pw_threads, opts->pw_max_jobs, pw_notify, s);
	if (!s->pw)
		return -errno;
	return 0;
}

static void limits_free(struct server *s)
{
	pwpool_free(s->pw);
	s->pw = NULL;
	quota_free(s->quota);
	conntrack_free(s->conns);
	ratelimit_free(s->login_rl);
	ratelimit_free(s->token_rl);
}

struct server *server_new(const struct server_opts *opts)
{
	struct lws_context_creation_info info;
	struct server *s;
	int level = LLL_ERR | LLL_WARN;
	int r;

	s = calloc(1, sizeof(*s));
	if (!s) {
		errno = ENOMEM;
		return NULL;
	}
	s->opts = *opts;
	s->spans = calloc(INGEST_BATCH_MAX, sizeof(*s->spans));
	if (!s->spans) {
		free(s);
		errno = ENOMEM;
		return NULL;
	}
	r = limits_new(s, opts);
	if (r < 0) {
		limits_free(s);
		free(s->spans);
		free(s);
		errno = -r;
		return NULL;
	}
	s->protocols[0] = (struct lws_protocols){
		/* The first protocol also takes upgrades that name no subprotocol. */
		.name = "srvmon",
		.callback = callback,
		.per_session_data_size = sizeof(struct session),
		.rx_buffer_size = 65536,
	};

	if (log_get_level() >= LOG_LEVEL_DEBUG)
		level |= LLL_NOTICE;
	lws_set_log_level(level, lws_log_emit);

	memset(&info, 0, sizeof(info));
	info.port = opts->port;
	info.iface = opts->listen;
	info.protocols = s->protocols;
	info.user = s;
	info.vhost_name = "srvmon";
	info.options = LWS_SERVER_OPTION_VALIDATE_UTF8 | LWS_SERVER_OPTION_EXPLICIT_VHOSTS;
	/* An IPv4 literal needs an AF_INET socket. */
	if (!strchr(opts->listen, ':'))
		info.options |= LWS_SERVER_OPTION_DISABLE_IPV6;
	info.timeout_secs = 30;
	if (opts->tls_cert && opts->tls_key) {
		info.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
		info.ssl_cert_filepath = opts->tls_cert;
		info.ssl_private_key_filepath = opts->tls_key;
	}

	s->ctx = lws_create_context(&info);
	if (!s->ctx) {
		limits_free(s);
		free(s->spans);
		free(s);
		errno = ENOMEM;
		return NULL;
	}
	s->vhost = lws_create_vhost(s->ctx, &info);
	if (!s->vhost) {
		pwpool_stop(s->pw);
		lws_context_destroy(s->ctx);
		limits_free(s);
		free(s->spans);
		free(s);
		/* lws logs the reason (bind or listen failure) but does not return it. */
		errno = EIO;
		return NULL;
	}
	if (opts->retention_ms)
		s->retention_due_ms = mono_ms();
	lws_sul_schedule(s->ctx, 0, &s->sul_house, housekeeping,
			 (lws_usec_t)HOUSEKEEPING_MS * 1000);
	return s;
}

int server_port(const struct server *s)
{
	return lws_get_vhost_listen_port(s->vhost);
}

int server_run(struct server *s, const volatile sig_atomic_t *stop)
{
	int n = 0;

	while (!*stop && n >= 0) {
		n = lws_service(s->ctx, 0);
		/* The records of this turn are committed together, then acked. */
		tx_commit(s);
	}
	return n < 0 ? -EIO : 0;
}

void server_wake(struct server *s)
{
	if (s && s->ctx)
		lws_cancel_service(s->ctx);
}

void server_free(struct server *s)
{
	if (!s)
		return;
	/* Records stored since the last turn (none unless server_run failed) are kept. */
	tx_commit(s);
	/* The workers stop first: none may wake a context being destroyed. */
	pwpool_stop(s->pw);
	lws_sul_cancel(&s->sul_house);
	lws_context_destroy(s->ctx);
	limits_free(s);
	free(s->spans);
	free(s);
}
