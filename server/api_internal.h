/* What the files of /api/v1 share (api.c and the endpoint families api_*.c): the API's state,
 * one request's state and the reply helpers. Not a public API: only server/api*.c include it. */
#ifndef SRVMON_SERVER_API_INTERNAL_H
#define SRVMON_SERVER_API_INTERNAL_H

#include "api.h"

#include "api_params.h"
#include "db_api.h"
#include "sbuf.h"
#include "token.h"

#include <libwebsockets.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define API_PREFIX	 "/api/v1"
#define WRITE_CHUNK	 ((size_t)16 * 1024)
#define ALERT_EVENTS_MAX 64

enum method {
	M_GET,
	M_POST,
	M_PUT,
	M_DELETE,
	M_OTHER,
};

enum rq_phase {
	RQ_NEW,
	RQ_BODY,	/* reading a request body */
	RQ_HEADERS,	/* reply queued: headers next */
	RQ_SEND,	/* body being written */
	RQ_SSE_HEADERS, /* event stream: headers next */
	RQ_SSE,		/* event stream open */
	RQ_SSE_CLOSING, /* event stream: its "end" event written, closing */
};

struct api {
	struct db *db;
	struct lws_context *ctx;
	struct api_req *streams; /* open event streams */
	struct alerts *alerts;	 /* the rules the alert endpoints manage, evaluated */
	struct conn_host {
		char *host_id;
		unsigned int n; /* open connections carrying it */
	} * conns;
	size_t n_conns, cap_conns;
};

struct api_req;
typedef int (*endpoint_fn)(struct api_req *rq, const char *arg, const struct api_args *args);

struct api_req {
	struct api *api;
	struct lws *wsi;
	enum rq_phase phase;
	enum method method;
	struct db_auth auth;
	char token_sha[TOKEN_HASH_HEX_LEN + 1]; /* looked up again by an event stream */
	unsigned int status;
	struct sbuf out;
	size_t sent;
	/* POST/PUT: the body, then the endpoint runs */
	struct sbuf body;
	bool body_too_large;
	endpoint_fn pending;
	char pending_arg[256];
	/* event stream */
	struct api_req *next, **prev;
	int64_t last_id;
	char host[256];
	char type[16];
	bool keepalive_due;
	lws_sorted_usec_list_t sul;
	lws_sorted_usec_list_t recheck_sul; /* every TOKEN_RECHECK_MS */
	const char *end_reason;		    /* the stream ends: its token was revoked/expired */
	size_t n_alerts;
	char *alerts[ALERT_EVENTS_MAX];
};

/* api.c: replies. */
/* Queues the reply in rq->out with status. */
int api_reply(struct api_req *rq, unsigned int status);
/* Queues {"error": error, "parameter": param, "detail": detail} (NULL ones left out). */
int api_reply_error(struct api_req *rq, unsigned int status, const char *error, const char *param,
		    const char *detail);
/* 400 for a query parameter. */
int api_bad_param(struct api_req *rq, const char *param, const char *detail);
/* A database failure, logged here with the query's context. */
int api_server_error(struct api_req *rq, int err, const char *what);
/* Finishes an endpoint that built rq->out: 200, or the failure of r. */
int api_reply_built(struct api_req *rq, int r, const char *what);
/* The headers of a reply of rq->status (never cached). 0 or -1. */
int api_write_headers(struct lws *wsi, struct api_req *rq, const char *ctype, lws_filepos_t len);
/* ?limit= in 1..max, def when absent: 0, or 1 when the 400 was queued. */
int api_parse_limit(struct api_req *rq, const struct api_args *args, uint64_t def, uint64_t max,
		    uint64_t *ret);

/* The endpoints (api.c's routing table), by family. */
int ep_whoami(struct api_req *rq, const char *arg, const struct api_args *args);
/* api_hosts.c */
int ep_hosts(struct api_req *rq, const char *arg, const struct api_args *args);
int ep_series(struct api_req *rq, const char *arg, const struct api_args *args);
int ep_speedtests(struct api_req *rq, const char *arg, const struct api_args *args);
/* api_exec.c */
int ep_exec(struct api_req *rq, const char *arg, const struct api_args *args);
/* api_events.c */
int ep_events(struct api_req *rq, const char *arg, const struct api_args *args);
/* LWS_CALLBACK_HTTP_WRITEABLE of an event stream. */
int api_events_writeable(struct lws *wsi, struct api_req *rq);
/* Takes rq off the open event streams (when it is one). */
void api_events_end(struct api_req *rq);
/* api_alerts.c */
int ep_alerts_list(struct api_req *rq, const char *arg, const struct api_args *args);
int ep_alerts_state(struct api_req *rq, const char *arg, const struct api_args *args);
int ep_alerts_add(struct api_req *rq, const char *arg, const struct api_args *args);
int ep_alerts_put(struct api_req *rq, const char *arg, const struct api_args *args);
int ep_alerts_del(struct api_req *rq, const char *arg, const struct api_args *args);

#endif
