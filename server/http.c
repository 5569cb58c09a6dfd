#include "http.h"

#include "log.h"
#include "monoclock.h"
#include "api.h"
#include "connlimit.h"
#include "db.h"
#include "db_api.h"
#include "form.h"
#include "grant.h"
#include "ingest.h"
#include "ratelimit.h"
#include "record_line.h"
#include "role.h"
#include "speedtest_http.h"
#include "static.h"
#include "token.h"

#include <errno.h>
#include <inttypes.h>
#include <openssl/crypto.h>
#include <libwebsockets.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define WS_PATH		    "/ws"
#define TOKEN_PATH	    "/token"
#define HEALTH_PATH	    "/health"
#define FORM_CTYPE	    "application/x-www-form-urlencoded"
#define MAX_PENDING_ERR	    8
#define CLOSE_TOKEN_EXPIRED 4401
/* One transaction groups the records of one event-loop turn, cut at these bounds. */
#define COMMIT_MAX_RECORDS 4096
#define COMMIT_MAX_MS	   20
/* The ingest budget of a connection may be spent this many seconds ahead. */
#define LIMIT_BURST_S 2
/* Invalid messages: 100 at once, then 10 per second; beyond that the connection is closed. */
#define INVALID_PER_S	10
#define INVALID_BURST_S 10

struct server {
	struct lws_context *ctx;
	struct lws_vhost *vhost;
	struct server_opts opts;
	struct lws_protocols protocols[2];
	struct ratelimit *token_rl; /* NULL: no limit on POST /token */
	struct ingest_span *spans;  /* INGEST_BATCH_MAX, for splitting batch frames */
	/* The open transaction: its record count, start, and the sessions it holds records of. */
	size_t tx_records;
	uint64_t tx_start_ms;
	struct session *tx_sessions;
	struct api *api; /* /api/v1 (api.c) */
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
	struct speedtest_http *st; /* a speed-test request (speedtest_http.c) */
	struct api_req *api;	   /* an /api/v1 request (api.c) */
	struct static_req *sr;	   /* a dashboard file (static.c) */

	/* WebSocket */
	struct lws *wsi;
	bool ws_authed;
	bool welcome_pending;
	char account[GRANT_MAX_USERNAME + 1];
	uint64_t token_expires_ms;
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
	char *conn_host; /* the first host_id this connection carried (api_host_connection) */
	size_t n_err;
	char *err[MAX_PENDING_ERR];
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
	api_http_free(&ss->api);
	static_http_free(&ss->sr);
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
	free(ss->conn_host);
	ss->conn_host = NULL;
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
		if (ss->status == 429 && http_retry_after(wsi, ss->retry_after_s, &p, end))
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
	if (lws_http_transaction_completed(wsi))
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

static int route_speedtest(struct lws *wsi, struct server *srv, struct session *ss, const char *uri)
{
	(void)srv;
	return speedtest_http_request(wsi, uri, &ss->st);
}

static int route_static(struct lws *wsi, struct server *srv, struct session *ss, const char *uri)
{
	(void)srv;
	return static_http_request(wsi, uri, &ss->sr);
}

static int route_api(struct lws *wsi, struct server *srv, struct session *ss, const char *uri)
{
	return api_http_request(srv->api, wsi, uri, &ss->api);
}

/* The endpoint families that live in files of their own, by path; the rest (/token, /health,
 * /ws) is below. */
static const struct route {
	bool (*match)(const char *uri);
	int (*request)(struct lws *wsi, struct server *srv, struct session *ss, const char *uri);
} routes[] = {
	{speedtest_http_match, route_speedtest},
	{static_http_match, route_static},
	{api_http_match, route_api},
};

static int http_request(struct lws *wsi, struct server *srv, struct session *ss, const char *uri)
{
	bool post = lws_hdr_total_length(wsi, WSI_TOKEN_POST_URI) > 0;
	bool get = lws_hdr_total_length(wsi, WSI_TOKEN_GET_URI) > 0;
	char ctype[128];

	session_reset_http(ss);
	ss->no_store = false;
	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		if (routes[i].match(uri))
			return routes[i].request(wsi, srv, ss, uri);
	}
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

static int http_body_done(struct lws *wsi, struct server *srv, struct session *ss)
{
	const struct grant_lifetimes lt = {.access_s = srv->opts.token_lifetime_s,
					   .refresh_s = srv->opts.refresh_lifetime_s};
	struct grant_reply reply;
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
	r = grant_token(srv->opts.db, ss->body, ss->body_len, &lt, now_ms(), &reply);
	if (r < 0)
		log_err_errno(r, "POST %s: database \"%s\"", TOKEN_PATH, db_errmsg(srv->opts.db));
	else
		log_debug("POST %s: %u", TOKEN_PATH, reply.status);
	return http_reply(wsi, ss, reply.status, reply.body);
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

/* Looks the request's token up. 0 with the account, its role and expiry, or -EACCES. */
static int authenticate(struct lws *wsi, struct server *srv, char *ret_account, size_t size,
			uint64_t *ret_expires_ms, enum role *ret_role)
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
		log_err_errno(r, "token lookup: database \"%s\"", db_errmsg(srv->opts.db));
		return r;
	}
	memcpy(ret_account, auth.account, strlen(auth.account) + 1);
	*ret_expires_ms = auth.expires_ms;
	*ret_role = auth.role;
	if (*ret_expires_ms <= now_ms())
		return -EACCES;
	return 0;
}

static int ws_confirm_upgrade(struct lws *wsi, struct server *srv)
{
	char uri[256];
	char account[GRANT_MAX_USERNAME + 1];
	enum role role;
	uint64_t expires;
	int r;

	if (lws_hdr_copy(wsi, uri, sizeof(uri), WSI_TOKEN_GET_URI) <= 0 ||
	    strcmp(uri, WS_PATH) != 0) {
		/* lws_return_http_status() writes the reply itself; >0 tells lws it did. */
		lws_return_http_status(wsi, HTTP_STATUS_NOT_FOUND, NULL);
		return 1;
	}
	r = authenticate(wsi, srv, account, sizeof(account), &expires, &role);
	if (r == 0 && !role_may_ingest(role)) {
		log_info("GET %s: upgrade of \"%s\" refused (403): role %s may not ingest", WS_PATH,
			 account, role_name(role));
		lws_return_http_status(wsi, HTTP_STATUS_FORBIDDEN, NULL);
		return 1;
	}
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
	enum role role;
	int r;

	memset(ss, 0, sizeof(*ss));
	/* The headers are still bound here; confirm_upgrade checked them moments ago. */
	r = authenticate(wsi, srv, ss->account, sizeof(ss->account), &ss->token_expires_ms, &role);
	if (r < 0 || !role_may_ingest(role))
		return -1;
	ss->ws_authed = true;
	ss->wsi = wsi;
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
	char buf[256];
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
	if (r == 0)
		api_committed(srv->api); /* the event streams send what was committed */
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
	if (!db_in_transaction(srv->opts.db)) {
		r = db_begin(srv->opts.db);
		if (r < 0) {
			log_err_errno(r, "%s: starting a transaction: database \"%s\"", WS_PATH,
				      db_errmsg(srv->opts.db));
			goto fail;
		}
		srv->tx_start_ms = mono_ms();
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
	if (!ss->conn_host) {
		ss->conn_host = strdup(m.host_id);
		if (ss->conn_host)
			api_host_connection(srv->api, ss->conn_host, 1);
	}
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
	r = ws_message(wsi, srv, ss);
	ss->msg_len = 0;
	return r;
}

static int ws_writeable(struct lws *wsi, struct server *srv, struct session *ss)
{
	unsigned char buf[LWS_PRE + 320];
	unsigned char *start = &buf[LWS_PRE];
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
	} else if (ss->ack_pending && ack_due(wsi, srv, ss)) {
		n = ingest_format_ack(ss->ack_seq, (char *)start, sizeof(buf) - LWS_PRE);
		ss->ack_pending = false;
		ss->acked_n = 0;
		ss->last_ack_ms = mono_ms();
	} else {
		return 0;
	}
	if (n < 0 || (size_t)n >= sizeof(buf) - LWS_PRE)
		return -1;
	if (lws_write(wsi, start, (size_t)n, LWS_WRITE_TEXT) < n)
		return -1;
	if (ss->n_err > 0 || (ss->ack_pending && !ss->ack_due_ms))
		lws_callback_on_writable(wsi);
	return 0;
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
		if (ss->api)
			return api_http_body(ss->api, in, len);
		if (ss->st)
			return speedtest_http_body(ss->st, len);
		return http_body(ss, in, len);
	case LWS_CALLBACK_HTTP_BODY_COMPLETION:
		if (ss->api)
			return api_http_body_done(wsi, ss->api);
		if (ss->st)
			return speedtest_http_body_done(wsi, ss->st);
		return http_body_done(wsi, srv, ss);
	case LWS_CALLBACK_HTTP_WRITEABLE:
		if (ss->api)
			return api_http_writeable(wsi, ss->api);
		if (ss->st)
			return speedtest_http_writeable(wsi, ss->st);
		if (ss->sr)
			return static_http_writeable(wsi, ss->sr);
		return http_writeable(wsi, ss);
	case LWS_CALLBACK_HTTP_DROP_PROTOCOL:
	case LWS_CALLBACK_CLOSED_HTTP:
		if (ss)
			session_reset_http(ss);
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
		if (ss->ws_authed)
			log_info("%s: connection of \"%s\" closed", WS_PATH, ss->account);
		if (ss->conn_host)
			api_host_connection(srv->api, ss->conn_host, -1);
		session_free(ss);
		return 0;
	default:
		break;
	}
	return 0;
}

struct server *server_new(const struct server_opts *opts)
{
	struct lws_context_creation_info info;
	struct server *s;
	int level = LLL_ERR | LLL_WARN;

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
	/* 4096 addresses tracked: 350 KiB, whatever the number of clients. */
	if (opts->token_burst > 0) {
		s->token_rl = ratelimit_new(opts->token_burst, opts->token_per_minute, 4096);
		if (!s->token_rl) {
			free(s->spans);
			free(s);
			return NULL;
		}
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
		ratelimit_free(s->token_rl);
		free(s->spans);
		free(s);
		errno = ENOMEM;
		return NULL;
	}
	s->vhost = lws_create_vhost(s->ctx, &info);
	if (s->vhost)
		s->api = api_new(opts->db, s->ctx);
	if (!s->vhost || !s->api) {
		api_stop(s->api);
		lws_context_destroy(s->ctx);
		api_free(s->api);
		ratelimit_free(s->token_rl);
		free(s->spans);
		/* lws logs the reason (bind or listen failure) but does not return it. */
		errno = s->vhost ? ENOMEM : EIO;
		free(s);
		return NULL;
	}
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
	api_stop(s->api);
	lws_context_destroy(s->ctx);
	api_free(s->api);
	ratelimit_free(s->token_rl);
	free(s->spans);
	free(s);
}
