#include "http.h"

#include "log.h"
#include "db.h"
#include "form.h"
#include "grant.h"
#include "ingest.h"
#include "ratelimit.h"
#include "record_line.h"
#include "speedtest_http.h"
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

struct server {
	struct lws_context *ctx;
	struct lws_vhost *vhost;
	struct server_opts opts;
	struct lws_protocols protocols[2];
	struct ratelimit *token_rl; /* NULL: no limit on POST /token */
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

	/* WebSocket */
	bool ws_authed;
	char account[GRANT_MAX_USERNAME + 1];
	uint64_t token_expires_ms;
	char *msg;
	size_t msg_len;
	size_t msg_cap;
	bool ack_pending;
	bool have_ack;
	uint64_t ack_seq;
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
}

static void session_free(struct session *ss)
{
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

static int http_request(struct lws *wsi, struct server *srv, struct session *ss, const char *uri)
{
	bool post = lws_hdr_total_length(wsi, WSI_TOKEN_POST_URI) > 0;
	bool get = lws_hdr_total_length(wsi, WSI_TOKEN_GET_URI) > 0;
	char ctype[128];

	session_reset_http(ss);
	ss->no_store = false;
	if (speedtest_http_match(uri))
		return speedtest_http_request(wsi, uri, &ss->st);
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

/* Looks the request's token up. 0 with the account and expiry, or -EACCES. */
static int authenticate(struct lws *wsi, struct server *srv, char *ret_account, size_t size,
			uint64_t *ret_expires_ms)
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
	r = authenticate(wsi, srv, account, sizeof(account), &expires);
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
	r = authenticate(wsi, srv, ss->account, sizeof(ss->account), &ss->token_expires_ms);
	if (r < 0)
		return -1;
	ss->ws_authed = true;
	log_info("%s: connection of \"%s\" established", WS_PATH, ss->account);
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

static void ws_message(struct lws *wsi, struct server *srv, struct session *ss)
{
	struct ingest_msg m;
	struct db_record rec;
	const char *err = NULL;
	bool inserted = false;
	uint64_t received = now_ms();
	int r;

	r = ingest_parse(ss->msg, ss->msg_len, &m, &err);
	if (r < 0) {
		log_warn("%s: message from \"%s\" rejected: %s, ignoring", WS_PATH, ss->account,
			 r == -ENOMEM ? "out of memory" : err);
		ws_queue_error(wsi, ss, r == -ENOMEM ? "server out of memory" : err);
		return;
	}
	rec = (struct db_record){
		.host_id = m.host_id,
		.seq = m.seq,
		.type = m.type,
		.ts = m.ts,
		.received_ms = received,
		.account = ss->account,
		.body = ss->msg,
		.body_len = ss->msg_len,
	};
	r = db_record_insert(srv->opts.db, &rec, &inserted);
	if (r < 0) {
		log_err_errno(r, "%s: storing %s seq=%" PRIu64 " of \"%s\": database \"%s\"",
			      WS_PATH, m.type, m.seq, m.host_id, db_errmsg(srv->opts.db));
		ws_queue_error(wsi, ss, "storage failed");
		ingest_msg_clear(&m);
		return;
	}
	/* A duplicate is stored already: it is acknowledged like a new one. */
	if (!ss->have_ack || m.seq > ss->ack_seq)
		ss->ack_seq = m.seq;
	ss->have_ack = true;
	ss->ack_pending = true;
	lws_callback_on_writable(wsi);
	if (inserted && srv->opts.records_out) {
		char line[1024];

		record_line_format(m.root, m.type, m.host_id, m.seq, received, line, sizeof(line));
		(void)fprintf(srv->opts.records_out, "%s\n", line);
		(void)fflush(srv->opts.records_out);
	}
	log_debug("%s: %s seq=%" PRIu64 " from \"%s\" %s", WS_PATH, m.type, m.seq, m.host_id,
		  inserted ? "stored" : "duplicate");
	ingest_msg_clear(&m);
}

static int ws_receive(struct lws *wsi, struct server *srv, struct session *ss, const void *in,
		      size_t len)
{
	if (!ss->ws_authed)
		return -1;
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
	ws_message(wsi, srv, ss);
	ss->msg_len = 0;
	return 0;
}

static int ws_writeable(struct lws *wsi, struct session *ss)
{
	unsigned char buf[LWS_PRE + 320];
	unsigned char *start = &buf[LWS_PRE];
	int n;

	if (ss->n_err > 0) {
		n = snprintf((char *)start, sizeof(buf) - LWS_PRE, "%s", ss->err[0]);
		free(ss->err[0]);
		memmove(&ss->err[0], &ss->err[1], (ss->n_err - 1) * sizeof(ss->err[0]));
		ss->n_err--;
	} else if (ss->ack_pending) {
		n = ingest_format_ack(ss->ack_seq, (char *)start, sizeof(buf) - LWS_PRE);
		ss->ack_pending = false;
	} else {
		return 0;
	}
	if (n < 0 || (size_t)n >= sizeof(buf) - LWS_PRE)
		return -1;
	if (lws_write(wsi, start, (size_t)n, LWS_WRITE_TEXT) < n)
		return -1;
	if (ss->n_err > 0 || ss->ack_pending)
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
		if (ss->st)
			return speedtest_http_body(ss->st, len);
		return http_body(ss, in, len);
	case LWS_CALLBACK_HTTP_BODY_COMPLETION:
		if (ss->st)
			return speedtest_http_body_done(wsi, ss->st);
		return http_body_done(wsi, srv, ss);
	case LWS_CALLBACK_HTTP_WRITEABLE:
		if (ss->st)
			return speedtest_http_writeable(wsi, ss->st);
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
		return ws_writeable(wsi, ss);
	case LWS_CALLBACK_CLOSED:
		if (ss->ws_authed)
			log_info("%s: connection of \"%s\" closed", WS_PATH, ss->account);
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
	/* 4096 addresses tracked: 350 KiB, whatever the number of clients. */
	if (opts->token_burst > 0) {
		s->token_rl = ratelimit_new(opts->token_burst, opts->token_per_minute, 4096);
		if (!s->token_rl) {
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
		free(s);
		errno = ENOMEM;
		return NULL;
	}
	s->vhost = lws_create_vhost(s->ctx, &info);
	if (!s->vhost) {
		lws_context_destroy(s->ctx);
		ratelimit_free(s->token_rl);
		free(s);
		/* lws logs the reason (bind or listen failure) but does not return it. */
		errno = EIO;
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

	while (!*stop && n >= 0)
		n = lws_service(s->ctx, 0);
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
	lws_context_destroy(s->ctx);
	ratelimit_free(s->token_rl);
	free(s);
}
