/* What the files of the HTTP/WebSocket server share (http.c and the endpoint files it routes
 * to): the server's state, the per-connection session and the calls between them. Not a public
 * API: only server/http*.c and server/ws_*.c include it. */
#ifndef SRVMON_SERVER_HTTP_INTERNAL_H
#define SRVMON_SERVER_HTTP_INTERNAL_H

#include "http.h"

#include "connlimit.h"
#include "conntrack.h"
#include "grant.h"
#include "hosts.h"
#include "ingest.h"
#include "role.h"
#include "token.h"

#include <libwebsockets.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define WS_PATH		"/ws"
#define TOKEN_PATH	"/token"
#define HEALTH_PATH	"/health"
#define MAX_PENDING_ERR 8
/* Invalid messages: 100 at once, then 10 per second; beyond that the connection is closed. */
#define INVALID_PER_S	10
#define INVALID_BURST_S 10
/* An error reply: a reason naming a host_id (255 bytes, JSON-escaped) fits. */
#define WS_ERROR_MAX 2048

/* Logs a database failure (log.h, db.h) unless the database is known to be away: its engine
 * logged that once, and every agent's retry would say it again (debug level then). */
#define log_db_err(db, err, ...)                                                                   \
	do {                                                                                       \
		if (db_reachable(db))                                                              \
			log_err_errno((err), __VA_ARGS__);                                         \
		else                                                                               \
			log_debug(__VA_ARGS__);                                                    \
	} while (0)
/* Over the account's quota: the committed records are acked, then the connection is closed
 * with 4429 (like HTTP 429) and the agent resends the rest after reconnecting. Not 1013 (try
 * again later): lws 4.1 clients take that code for a protocol error. */
#define CLOSE_OVER_QUOTA 4429

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
	bool close_after;	    /* close the connection once the reply is written */
	struct speedtest_http *st;  /* a speed-test request (speedtest_http.c) */
	struct grant_pending *pend; /* POST /token waiting for its password check */
	struct pwpool_job *job;	    /* ... the check, on pw */
	struct pwpool *pw;
	struct lws *http_wsi;
	struct api_req *api;   /* an /api/v1 request (api.c) */
	struct static_req *sr; /* a dashboard file (static.c) */

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
	char *conn_host; /* the first host_id this connection carried (api_host_connection) */
	size_t n_err;
	char *err[MAX_PENDING_ERR];
	/* Host ownership (hosts.c): the last answer, and what was refused (never acked). */
	struct hosts_cache owner;
	struct hosts_refusals refused;
};

/* http.c: the request core. */
/* Queues a JSON reply; it is written from LWS_CALLBACK_HTTP_WRITEABLE. */
int http_reply(struct lws *wsi, struct session *ss, unsigned int status, const char *json);

/* http_route.c: the endpoint of a request's path, by the routing table. */
int http_route(struct lws *wsi, struct server *srv, struct session *ss, const char *uri);

/* http_auth.c: the bearer token of a request. */
/* Looks the request's token up. 0 with the account, its role and expiry (and the token's
 * hash into ret_sha when not NULL), or -EACCES. */
int http_authenticate(struct lws *wsi, struct server *srv, char *ret_account, size_t size,
		      uint64_t *ret_expires_ms, enum role *ret_role, char *ret_sha);

/* http_token.c: POST /token (OAuth2 token endpoint). */
int http_token_request(struct lws *wsi, struct server *srv, struct session *ss, const char *uri);
int http_token_body(struct session *ss, const void *in, size_t len);
int http_token_body_done(struct lws *wsi, struct server *srv, struct session *ss);
/* A worker finished password checks (woken through lws_cancel_service): their replies. */
void http_token_logins_checked(struct server *srv);

/* ws_ingest.c: the /ws ingest endpoint, one WebSocket session. */
int ws_confirm_upgrade(struct lws *wsi, struct server *srv);
int ws_established(struct lws *wsi, struct server *srv, struct session *ss);
int ws_receive(struct lws *wsi, struct server *srv, struct session *ss, const void *in, size_t len);
int ws_writeable(struct lws *wsi, struct server *srv, struct session *ss);
int ws_timer(struct lws *wsi, struct session *ss);
/* LWS_CALLBACK_CLOSED: logged, and the session's WebSocket state freed. */
void ws_closed(struct server *srv, struct session *ss);

/* ws_record.c: one record of a /ws frame, checked and stored in the open transaction. */
/* Validates and stores one record: a single-record frame (node NULL) or one element of a
 * batch (index >= 0, node its object in the batch's tree). 0, or -1 to close the
 * connection. */
int ws_record(struct lws *wsi, struct server *srv, struct session *ss, const char *buf, size_t len,
	      const cJSON *node, long index, uint64_t received);
/* Counts an invalid message; -1 (close 1008) when the connection sends them persistently. */
int ws_invalid(struct lws *wsi, struct session *ss, const char *what, const char *err);
/* Sets the close code and reason; returns -1 for the callback to return. */
int ws_close(struct lws *wsi, int code, const char *reason);
/* Commits the open transaction; then the sessions that stored records in it get their ack
 * (acks mean committed), or, when the commit failed, are closed with 1011. */
void ws_tx_commit(struct server *srv);
/* Commits early when the open transaction holds many records or is old. */
void ws_tx_bound(struct server *srv);
/* Takes ss off the open transaction's sessions. */
void ws_tx_unlink(struct session *ss);

#endif
