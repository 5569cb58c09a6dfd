/* The HTTP/WebSocket server's core: the lws context and vhost, the one protocol callback that
 * hands each event to its endpoint (http_route.c, http_token.c, ws_ingest.c and the families
 * in files of their own), the JSON reply of the small endpoints, connection admission and
 * deadlines (conntrack.c), and the housekeeping tick (request deadlines, retention). */
#include "http_internal.h"

#include "log.h"
#include "monoclock.h"
#include "api.h"
#include "db.h"
#include "pwpool.h"
#include "quota.h"
#include "ratelimit.h"
#include "retention.h"
#include "speedtest_http.h"
#include "static.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Request deadlines and retention are checked on this tick. */
#define HOUSEKEEPING_MS 250

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
	api_http_free(&ss->api);
	static_http_free(&ss->sr);
}

int http_reply(struct lws *wsi, struct session *ss, unsigned int status, const char *json)
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

static int http_request(struct lws *wsi, struct server *srv, struct session *ss, const char *uri)
{
	session_reset_http(ss);
	ss->no_store = false;
	ss->close_after = false;
	ss->http_wsi = wsi;
	/* A request without a body is complete: its deadline is over. */
	if (lws_hdr_total_length(wsi, WSI_TOKEN_POST_URI) <= 0)
		(void)conntrack_set_deadline(srv->conns, lws_get_network_wsi(wsi), 0);
	return http_route(wsi, srv, ss, uri);
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
		ws_tx_commit(srv);
		next = retention_step(srv->opts.db, srv->opts.retention_ms,
				      srv->opts.rollup_retention_ms, wall_ms(), &deleted);
		if (next < 0) {
			log_db_err(srv->opts.db, (int)next,
				   "retention: deleting old records: database \"%s\"",
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
		if (ss->api)
			return api_http_body(ss->api, in, len);
		if (ss->st)
			return speedtest_http_body(ss->st, len);
		return http_token_body(ss, in, len);
	case LWS_CALLBACK_HTTP_BODY_COMPLETION:
		(void)conntrack_set_deadline(srv->conns, lws_get_network_wsi(wsi), 0);
		if (ss->api)
			return api_http_body_done(wsi, ss->api);
		if (ss->st)
			return speedtest_http_body_done(wsi, ss->st);
		return http_token_body_done(wsi, srv, ss);
	case LWS_CALLBACK_HTTP_WRITEABLE:
		if (ss->api)
			return api_http_writeable(wsi, ss->api);
		if (ss->st)
			return speedtest_http_writeable(wsi, ss->st);
		if (ss->sr)
			return static_http_writeable(wsi, ss->sr);
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
			http_token_logins_checked(srv);
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
		ws_closed(srv, ss);
		session_reset_http(ss);
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
	if (s->vhost)
		s->api = api_new(opts->db, s->ctx, opts->sendmail);
	if (!s->vhost || !s->api) {
		pwpool_stop(s->pw);
		api_stop(s->api);
		lws_context_destroy(s->ctx);
		api_free(s->api);
		limits_free(s);
		free(s->spans);
		/* lws logs the reason (bind or listen failure) but does not return it. */
		errno = s->vhost ? ENOMEM : EIO;
		free(s);
		return NULL;
	}
	if (opts->retention_ms || opts->rollup_retention_ms)
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
		ws_tx_commit(s);
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
	ws_tx_commit(s);
	/* The workers stop first: none may wake a context being destroyed. */
	pwpool_stop(s->pw);
	api_stop(s->api);
	lws_sul_cancel(&s->sul_house);
	lws_context_destroy(s->ctx);
	api_free(s->api);
	limits_free(s);
	free(s->spans);
	free(s);
}
