#include "api.h"

#include "alert_rule.h"
#include "alerts.h"
#include "api_params.h"
#include "db.h"
#include "db_alerts.h"
#include "db_api.h"
#include "json_out.h"
#include "log.h"
#include "metric.h"
#include "numparse.h"
#include "token.h"

#include <errno.h>
#include <inttypes.h>
#include <libwebsockets.h>
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define API_PREFIX	 "/api/v1"
#define BODY_MAX	 ((size_t)16 * 1024)
#define WRITE_CHUNK	 ((size_t)16 * 1024)
#define EXEC_LIMIT_MAX	 1000
#define SPEEDTEST_LIMIT	 200
#define EVENTS_BACKLOG	 10000 /* records resent after Last-Event-ID, at most */
#define EVENTS_PER_TURN	 200
#define KEEPALIVE_US	 ((lws_usec_t)15 * LWS_US_PER_SEC)
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
	size_t n_alerts;
	char *alerts[ALERT_EVENTS_MAX];
};

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

struct api *api_new(struct db *db, struct lws_context *ctx)
{
	struct api *api = calloc(1, sizeof(*api));

	if (!api) {
		errno = ENOMEM;
		return NULL;
	}
	api->db = db;
	api->ctx = ctx;
	api->alerts = alerts_new(db, ctx, api);
	if (!api->alerts) {
		int e = errno;

		free(api);
		errno = e;
		return NULL;
	}
	return api;
}

void api_stop(struct api *api)
{
	if (!api)
		return;
	alerts_free(api->alerts);
	api->alerts = NULL;
}

void api_free(struct api *api)
{
	if (!api)
		return;
	/* The streams' requests are freed with their connections (lws_context_destroy). */
	alerts_free(api->alerts);
	for (size_t i = 0; i < api->n_conns; i++)
		free(api->conns[i].host_id);
	free(api->conns);
	free(api);
}

bool api_http_match(const char *uri)
{
	size_t n = strlen(API_PREFIX);

	return strncmp(uri, API_PREFIX, n) == 0 && (uri[n] == '\0' || uri[n] == '/');
}

/* Queues the reply in rq->out with status. */
static int reply(struct api_req *rq, unsigned int status)
{
	rq->status = status;
	rq->phase = RQ_HEADERS;
	rq->sent = 0;
	lws_callback_on_writable(rq->wsi);
	return 0;
}

static int reply_error(struct api_req *rq, unsigned int status, const char *error,
		       const char *param, const char *detail)
{
	int r;

	rq->out.len = 0;
	r = sbuf_adds(&rq->out, "{\"error\":");
	if (r == 0)
		r = json_add_str(&rq->out, error, strlen(error));
	if (r == 0 && param) {
		r = sbuf_adds(&rq->out, ",\"parameter\":");
		if (r == 0)
			r = json_add_text(&rq->out, param, strlen(param));
	}
	if (r == 0 && detail) {
		r = sbuf_adds(&rq->out, ",\"detail\":");
		if (r == 0)
			r = json_add_text(&rq->out, detail, strlen(detail));
	}
	if (r == 0)
		r = sbuf_addc(&rq->out, '}');
	if (r < 0)
		return -1;
	return reply(rq, status);
}

static int bad_param(struct api_req *rq, const char *param, const char *detail)
{
	log_debug("%s: 400, parameter \"%s\": %s", API_PREFIX, param, detail);
	return reply_error(rq, 400, "bad_parameter", param, detail);
}

/* A database failure, logged here with the query's context. */
static int server_error(struct api_req *rq, int err, const char *what)
{
	if (err == -ENOMEM) {
		log_err("%s: %s: out of memory", API_PREFIX, what);
	} else {
		log_err_errno(err, "%s: %s: database \"%s\"", API_PREFIX, what,
			      db_errmsg(rq->api->db));
	}
	return reply_error(rq, 500, "server_error", NULL, NULL);
}

/* Finishes an endpoint that built rq->out: 200, or the failure of r. */
static int reply_built(struct api_req *rq, int r, const char *what)
{
	if (r < 0)
		return server_error(rq, r, what);
	return reply(rq, 200);
}

static int ep_whoami(struct api_req *rq, const char *arg, const struct api_args *args)
{
	int r;

	(void)arg;
	(void)args;
	rq->out.len = 0;
	r = sbuf_adds(&rq->out, "{\"account\":");
	if (r == 0)
		r = json_add_text(&rq->out, rq->auth.account, strlen(rq->auth.account));
	if (r == 0)
		r = sbuf_adds(&rq->out, ",\"role\":");
	if (r == 0)
		r = json_add_str(&rq->out, role_name(rq->auth.role),
				 strlen(role_name(rq->auth.role)));
	if (r == 0)
		r = sbuf_adds(&rq->out, ",\"expires_ms\":");
	if (r == 0)
		r = json_add_u64(&rq->out, rq->auth.expires_ms);
	if (r == 0)
		r = sbuf_addc(&rq->out, '}');
	return reply_built(rq, r, "whoami");
}

void api_host_connection(struct api *api, const char *host_id, int delta)
{
	size_t i;

	if (!api)
		return;
	for (i = 0; i < api->n_conns && strcmp(api->conns[i].host_id, host_id) != 0; i++)
		;
	if (i == api->n_conns) {
		struct conn_host *c;

		if (delta < 0)
			return;
		if (api->n_conns == api->cap_conns) {
			size_t cap = api->cap_conns ? api->cap_conns * 2 : 16;

			c = realloc(api->conns, cap * sizeof(*c));
			if (!c)
				return; /* then only the record age says online */
			api->conns = c;
			api->cap_conns = cap;
		}
		api->conns[i].host_id = strdup(host_id);
		if (!api->conns[i].host_id)
			return;
		api->conns[i].n = 0;
		api->n_conns++;
	}
	if (delta > 0) {
		api->conns[i].n++;
	} else if (--api->conns[i].n == 0) {
		free(api->conns[i].host_id);
		api->conns[i] = api->conns[--api->n_conns];
	}
}

static bool host_connected(const char *host_id, void *ctx)
{
	const struct api *api = ctx;

	for (size_t i = 0; i < api->n_conns; i++) {
		if (strcmp(api->conns[i].host_id, host_id) == 0)
			return true;
	}
	return false;
}

static int ep_hosts(struct api_req *rq, const char *arg, const struct api_args *args)
{
	(void)arg;
	(void)args;
	rq->out.len = 0;
	return reply_built(rq,
			   db_api_hosts(rq->api->db, now_ms(), host_connected, rq->api, &rq->out),
			   "hosts");
}

/* The host of a /hosts/{host_id}/... path: 0 with its key, or the reply was queued. */
static int host_key(struct api_req *rq, const char *host_id, int64_t *ret)
{
	int r = db_api_host_key(rq->api->db, host_id, ret);

	if (r == -ENOENT)
		return reply_error(rq, 404, "not found", NULL, "unknown host"), 1;
	if (r < 0)
		return server_error(rq, r, "host lookup"), 1;
	return 0;
}

static int ep_series(struct api_req *rq, const char *arg, const struct api_args *args)
{
	const char *name = api_args_get(args, "metric");
	struct db_series_query q = {0};
	const struct metric_def *m;
	const char *param, *detail;
	struct api_range range;
	int r;

	if (!name)
		return bad_param(rq, "metric", "required");
	m = metric_by_name(name);
	if (!m)
		return bad_param(rq, "metric", "not a known metric");
	if (api_series_range(api_args_get(args, "from"), api_args_get(args, "to"),
			     api_args_get(args, "step"), (int64_t)now_ms(), &range, &param,
			     &detail) < 0)
		return bad_param(rq, param, detail);
	if (host_key(rq, arg, &q.host))
		return 0;
	q.metric = m->id;
	q.from = range.from;
	q.to = range.to;
	q.step = range.step;
	rq->out.len = 0;
	r = sbuf_adds(&rq->out, "{\"host_id\":");
	if (r == 0)
		r = json_add_text(&rq->out, arg, strlen(arg));
	if (r == 0)
		r = sbuf_adds(&rq->out, ",\"metric\":");
	if (r == 0)
		r = json_add_str(&rq->out, m->name, strlen(m->name));
	if (r == 0)
		r = sbuf_adds(&rq->out, ",\"unit\":");
	if (r == 0)
		r = json_add_str(&rq->out, m->unit, strlen(m->unit));
	if (r == 0)
		r = sbuf_adds(&rq->out, ",\"from\":");
	if (r == 0)
		r = json_add_i64(&rq->out, q.from);
	if (r == 0)
		r = sbuf_adds(&rq->out, ",\"to\":");
	if (r == 0)
		r = json_add_i64(&rq->out, q.to);
	if (r == 0)
		r = sbuf_adds(&rq->out, ",\"step\":");
	if (r == 0)
		r = json_add_i64(&rq->out, q.step);
	if (r == 0)
		r = sbuf_addc(&rq->out, ',');
	if (r == 0)
		r = db_api_series(rq->api->db, &q, &rq->out);
	if (r == 0)
		r = sbuf_addc(&rq->out, '}');
	return reply_built(rq, r, "series");
}

static int parse_limit(struct api_req *rq, const struct api_args *args, uint64_t def, uint64_t max,
		       uint64_t *ret)
{
	const char *v = api_args_get(args, "limit");
	uint64_t n;

	*ret = def;
	if (!v)
		return 0;
	if (parse_u64(v, 1, max, &n) < 0) {
		bad_param(rq, "limit", "not 1..1000");
		return 1;
	}
	*ret = n;
	return 0;
}

static int ep_speedtests(struct api_req *rq, const char *arg, const struct api_args *args)
{
	const char *param, *detail;
	int64_t host, from, to;
	uint64_t limit;

	if (api_list_range(api_args_get(args, "from"), api_args_get(args, "to"), (int64_t)now_ms(),
			   7LL * 86400 * 1000, &from, &to, &param, &detail) < 0)
		return bad_param(rq, param, detail);
	if (parse_limit(rq, args, SPEEDTEST_LIMIT, 1000, &limit))
		return 0;
	if (host_key(rq, arg, &host))
		return 0;
	rq->out.len = 0;
	return reply_built(rq, db_api_speedtests(rq->api->db, host, from, to, limit, &rq->out),
			   "speedtests");
}

static int ep_exec(struct api_req *rq, const char *arg, const struct api_args *args)
{
	struct db_exec_query q = {0};
	const char *host = api_args_get(args, "host");
	const char *cursor = api_args_get(args, "cursor");
	const char *param, *detail;
	int64_t next_ts = 0, next_id = 0;
	bool more = false;
	int r;

	(void)arg;
	if (api_list_range(api_args_get(args, "from"), api_args_get(args, "to"), (int64_t)now_ms(),
			   0, &q.from, &q.to, &param, &detail) < 0)
		return bad_param(rq, param, detail);
	if (parse_limit(rq, args, 100, EXEC_LIMIT_MAX, &q.limit))
		return 0;
	q.user = api_args_get(args, "user");
	q.q = api_args_get(args, "q");
	if (q.q && (!q.q[0] || strlen(q.q) > 256))
		return bad_param(rq, "q", "not 1..256 bytes");
	if (cursor) {
		if (api_cursor_parse(cursor, &q.cursor_ts, &q.cursor_id) < 0)
			return bad_param(rq, "cursor", "not a cursor of this API");
		q.have_cursor = true;
	}
	if (host) {
		r = db_api_host_key(rq->api->db, host, &q.host);
		if (r == -ENOENT)
			return bad_param(rq, "host", "unknown host");
		if (r < 0)
			return server_error(rq, r, "host lookup");
	}
	rq->out.len = 0;
	r = sbuf_adds(&rq->out, "{\"execs\":");
	if (r == 0)
		r = db_api_execs(rq->api->db, &q, &rq->out, &more, &next_ts, &next_id);
	if (r == 0 && more) {
		char c[48];

		r = api_cursor_format(next_ts, next_id, c, sizeof(c)) < 0 ? -ENOMEM : 0;
		if (r == 0)
			r = sbuf_adds(&rq->out, ",\"next_cursor\":\"");
		if (r == 0)
			r = sbuf_adds(&rq->out, c);
		if (r == 0)
			r = sbuf_adds(&rq->out, "\"}");
	} else if (r == 0) {
		r = sbuf_adds(&rq->out, ",\"next_cursor\":null}");
	}
	return reply_built(rq, r, "exec search");
}

static void stream_keepalive(lws_sorted_usec_list_t *sul)
{
	struct api_req *rq = lws_container_of(sul, struct api_req, sul);

	rq->keepalive_due = true;
	lws_callback_on_writable(rq->wsi);
	lws_sul_schedule(rq->api->ctx, 0, &rq->sul, stream_keepalive, KEEPALIVE_US);
}

static int ep_events(struct api_req *rq, const char *arg, const struct api_args *args)
{
	const char *host = api_args_get(args, "host");
	const char *type = api_args_get(args, "type");
	char last[32];
	int r;

	(void)arg;
	if (host && strlen(host) >= sizeof(rq->host))
		return bad_param(rq, "host", "longer than 255 bytes");
	if (type && strlen(type) >= sizeof(rq->type))
		return bad_param(rq, "type", "not a record type");
	(void)snprintf(rq->host, sizeof(rq->host), "%s", host ? host : "");
	(void)snprintf(rq->type, sizeof(rq->type), "%s", type ? type : "");
	r = db_api_last_record(rq->api->db, &rq->last_id);
	if (r < 0)
		return server_error(rq, r, "events");
	/* Last-Event-ID: resume after that record (within the backlog). */
	if (lws_hdr_custom_copy(rq->wsi, last, sizeof(last), "last-event-id:", 14) > 0) {
		int64_t id;

		if (api_parse_ms(last, &id) == 0 && id < rq->last_id)
			rq->last_id = id < rq->last_id - EVENTS_BACKLOG
					      ? rq->last_id - EVENTS_BACKLOG
					      : id;
	}
	rq->phase = RQ_SSE_HEADERS;
	rq->next = rq->api->streams;
	if (rq->next)
		rq->next->prev = &rq->next;
	rq->prev = &rq->api->streams;
	rq->api->streams = rq;
	lws_sul_schedule(rq->api->ctx, 0, &rq->sul, stream_keepalive, KEEPALIVE_US);
	lws_callback_on_writable(rq->wsi);
	return 0;
}

static int ep_alerts_list(struct api_req *rq, const char *arg, const struct api_args *args)
{
	(void)arg;
	(void)args;
	rq->out.len = 0;
	return reply_built(rq, db_alert_rules_json(rq->api->db, &rq->out), "alert rules");
}

static int ep_alerts_state(struct api_req *rq, const char *arg, const struct api_args *args)
{
	(void)arg;
	(void)args;
	rq->out.len = 0;
	return reply_built(rq, db_alert_states_json(rq->api->db, &rq->out), "alert states");
}

static int rule_id_arg(struct api_req *rq, const char *arg, int64_t *ret)
{
	uint64_t id;

	if (parse_u64(arg, 1, INT64_MAX, &id) < 0) {
		reply_error(rq, 404, "not found", NULL, "no such alert rule");
		return 1;
	}
	*ret = (int64_t)id;
	return 0;
}

/* The rule in the body, checked; 0, or the 400 was queued. */
static int body_rule(struct api_req *rq, struct alert_rule *ret)
{
	const char *err = NULL;
	int r;

	if (rq->body_too_large) {
		reply_error(rq, 413, "bad_body", NULL, "body over 16 KiB");
		return 1;
	}
	r = alert_rule_from_json(rq->body.s ? rq->body.s : "", rq->body.len, ret, &err);
	if (r == -ENOMEM) {
		server_error(rq, r, "alert rule");
		return 1;
	}
	if (r < 0) {
		reply_error(rq, 400, "bad_body", NULL, err);
		return 1;
	}
	return 0;
}

static int reply_rule(struct api_req *rq, int64_t id, unsigned int status)
{
	struct alert_rule rule;
	int r = db_alert_get(rq->api->db, id, &rule);

	rq->out.len = 0;
	if (r == 0)
		r = alert_rule_to_json(&rule, &rq->out);
	if (r < 0)
		return server_error(rq, r, "alert rule");
	return reply(rq, status);
}

static int ep_alerts_add(struct api_req *rq, const char *arg, const struct api_args *args)
{
	struct alert_rule rule;
	int64_t id;
	int r;

	(void)arg;
	(void)args;
	if (body_rule(rq, &rule))
		return 0;
	r = db_alert_add(rq->api->db, &rule, now_ms(), &id);
	if (r < 0)
		return server_error(rq, r, "storing an alert rule");
	log_info("%s/alerts: \"%s\" added rule %" PRId64 " (%s)", API_PREFIX, rq->auth.account, id,
		 rule.name);
	return reply_rule(rq, id, 201);
}

static int ep_alerts_put(struct api_req *rq, const char *arg, const struct api_args *args)
{
	struct alert_rule rule;
	int64_t id;
	int r;

	(void)args;
	if (rule_id_arg(rq, arg, &id) || body_rule(rq, &rule))
		return 0;
	rule.id = id;
	r = db_alert_update(rq->api->db, &rule);
	if (r == -ENOENT)
		return reply_error(rq, 404, "not found", NULL, "no such alert rule");
	if (r < 0)
		return server_error(rq, r, "updating an alert rule");
	log_info("%s/alerts: \"%s\" changed rule %" PRId64 " (%s)", API_PREFIX, rq->auth.account,
		 id, rule.name);
	return reply_rule(rq, id, 200);
}

static int ep_alerts_del(struct api_req *rq, const char *arg, const struct api_args *args)
{
	int64_t id;
	int r;

	(void)args;
	if (rule_id_arg(rq, arg, &id))
		return 0;
	r = db_alert_del(rq->api->db, id);
	if (r == -ENOENT)
		return reply_error(rq, 404, "not found", NULL, "no such alert rule");
	if (r < 0)
		return server_error(rq, r, "deleting an alert rule");
	log_info("%s/alerts: \"%s\" deleted rule %" PRId64, API_PREFIX, rq->auth.account, id);
	rq->out.len = 0;
	r = sbuf_adds(&rq->out, "{\"deleted\":");
	if (r == 0)
		r = json_add_i64(&rq->out, id);
	if (r == 0)
		r = sbuf_addc(&rq->out, '}');
	return reply_built(rq, r, "deleting an alert rule");
}

static const char *const no_params[] = {NULL};
static const char *const series_params[] = {"metric", "from", "to", "step", NULL};
static const char *const speedtest_params[] = {"from", "to", "limit", NULL};
static const char *const exec_params[] = {"host", "user",  "q",	     "from",
					  "to",	  "limit", "cursor", NULL};
static const char *const events_params[] = {"host", "type", NULL};

/* The routing table of /api/v1: a path (one "*" segment at most), its method, whether it
 * needs an admin, its parameters (besides token). */
static const struct endpoint {
	const char *path;
	enum method method;
	bool admin;
	const char *const *params;
	endpoint_fn fn;
} endpoints[] = {
	{"/whoami", M_GET, false, no_params, ep_whoami},
	{"/hosts", M_GET, false, no_params, ep_hosts},
	{"/hosts/*/series", M_GET, false, series_params, ep_series},
	{"/hosts/*/speedtests", M_GET, false, speedtest_params, ep_speedtests},
	{"/exec", M_GET, false, exec_params, ep_exec},
	{"/events", M_GET, false, events_params, ep_events},
	{"/alerts", M_GET, false, no_params, ep_alerts_list},
	{"/alerts", M_POST, true, no_params, ep_alerts_add},
	{"/alerts/state", M_GET, false, no_params, ep_alerts_state},
	{"/alerts/*", M_PUT, true, no_params, ep_alerts_put},
	{"/alerts/*", M_DELETE, true, no_params, ep_alerts_del},
};

/* Whether path matches pattern; the "*" segment (non-empty, no '/') goes to ret_arg. */
static bool path_match(const char *pattern, const char *path, char *ret_arg, size_t size)
{
	const char *star = strchr(pattern, '*');
	size_t pre, seg;

	if (!star)
		return strcmp(pattern, path) == 0;
	pre = (size_t)(star - pattern);
	if (strncmp(pattern, path, pre) != 0)
		return false;
	seg = strcspn(path + pre, "/");
	if (seg == 0 || seg >= size || strcmp(star + 1, path + pre + seg) != 0)
		return false;
	memcpy(ret_arg, path + pre, seg);
	ret_arg[seg] = '\0';
	return true;
}

static enum method request_method(struct lws *wsi)
{
	if (lws_hdr_total_length(wsi, WSI_TOKEN_GET_URI) > 0)
		return M_GET;
	if (lws_hdr_total_length(wsi, WSI_TOKEN_POST_URI) > 0)
		return M_POST;
	if (lws_hdr_total_length(wsi, WSI_TOKEN_PUT_URI) > 0)
		return M_PUT;
	if (lws_hdr_total_length(wsi, WSI_TOKEN_DELETE_URI) > 0)
		return M_DELETE;
	return M_OTHER;
}

/* The bearer token: Authorization header, else ?token=. 0, or -EACCES. */
static int authenticate(struct api_req *rq, const struct api_args *args)
{
	char hdr[256];
	char token[TOKEN_HEX_LEN + 2];
	char sha[TOKEN_HASH_HEX_LEN + 1];
	const char *q = api_args_get(args, "token");
	int r;

	if (lws_hdr_total_length(rq->wsi, WSI_TOKEN_HTTP_AUTHORIZATION) > 0) {
		if (lws_hdr_copy(rq->wsi, hdr, sizeof(hdr), WSI_TOKEN_HTTP_AUTHORIZATION) <= 0 ||
		    token_from_bearer(hdr, token, sizeof(token)) < 0)
			return -EACCES;
	} else if (q && strlen(q) < sizeof(token)) {
		memcpy(token, q, strlen(q) + 1);
	} else {
		return -EACCES;
	}
	if (!token_is_wellformed(token))
		return -EACCES;
	r = token_hash(token, sha);
	OPENSSL_cleanse(token, sizeof(token));
	if (r < 0)
		return r;
	r = db_token_auth(rq->api->db, sha, &rq->auth);
	if (r == -ENOENT)
		return -EACCES;
	if (r < 0)
		return r;
	return rq->auth.expires_ms <= now_ms() ? -EACCES : 0;
}

static int collect_args(struct api_req *rq, struct api_args *args, const char **ret_param,
			const char **ret_detail)
{
	char frag[API_ARG_NAME_MAX + API_ARG_VALUE_MAX + 2];

	for (int i = 0;; i++) {
		int n = lws_hdr_copy_fragment(rq->wsi, frag, (int)sizeof(frag),
					      WSI_TOKEN_HTTP_URI_ARGS, i);

		if (n < 0) {
			/* Absent, or longer than the buffer. */
			if (lws_hdr_fragment_length(rq->wsi, WSI_TOKEN_HTTP_URI_ARGS, i) > 0) {
				*ret_param = "query";
				*ret_detail = "an argument longer than 511 bytes";
				return -EINVAL;
			}
			return 0;
		}
		if (api_args_add(args, frag, ret_param, ret_detail) < 0)
			return -EINVAL;
	}
}

int api_http_request(struct api *api, struct lws *wsi, const char *uri, struct api_req **ret)
{
	const char *path = uri + strlen(API_PREFIX);
	const struct endpoint *ep = NULL;
	struct api_args args;
	const char *param = NULL, *detail = NULL;
	struct api_req *rq;
	bool path_found = false;
	char arg[256];
	int r;

	rq = calloc(1, sizeof(*rq));
	if (!rq)
		return -1;
	*ret = rq;
	rq->api = api;
	rq->wsi = wsi;
	rq->method = request_method(wsi);
	args.n = 0;
	for (size_t i = 0; i < sizeof(endpoints) / sizeof(endpoints[0]); i++) {
		if (!path_match(endpoints[i].path, path, arg, sizeof(arg)))
			continue;
		/* The path /alerts/state also matches the rule pattern: the exact path wins. */
		if (strchr(endpoints[i].path, '*') && strcmp(arg, "state") == 0 &&
		    strncmp(path, "/alerts/", 8) == 0)
			continue;
		path_found = true;
		if (endpoints[i].method == rq->method) {
			ep = &endpoints[i];
			break;
		}
	}
	if (rq->method == M_POST || rq->method == M_PUT)
		rq->phase = RQ_BODY; /* answered once the body is read */
	if (!path_found)
		return reply_error(rq, 404, "not found", NULL, NULL);
	if (!ep)
		return reply_error(rq, 405, "method not allowed", NULL, NULL);
	if (collect_args(rq, &args, &param, &detail) < 0)
		return bad_param(rq, param, detail);
	r = authenticate(rq, &args);
	if (r == -EACCES) {
		log_debug("%s%s: 401, missing, unknown or expired token", API_PREFIX, path);
		return reply_error(rq, 401, "unauthorized", NULL, NULL);
	}
	if (r < 0)
		return server_error(rq, r, "token lookup");
	if (!role_may_read(rq->auth.role) || (ep->admin && !role_may_admin(rq->auth.role))) {
		char why[96];

		(void)snprintf(why, sizeof(why), "role %s may not %s", role_name(rq->auth.role),
			       ep->admin ? "manage alert rules" : "read the API");
		log_info("%s%s: \"%s\" refused (403): %s", API_PREFIX, path, rq->auth.account, why);
		return reply_error(rq, 403, "forbidden", NULL, why);
	}
	/* token is everyone's; the others are the endpoint's. */
	for (size_t i = 0; i < args.n; i++) {
		if (strcmp(args.a[i].name, "token") == 0) {
			args.a[i] = args.a[--args.n];
			break;
		}
	}
	if (api_args_only(&args, ep->params, &param) < 0)
		return bad_param(rq, param, "unknown parameter");
	if (rq->phase == RQ_BODY) {
		rq->pending = ep->fn;
		(void)snprintf(rq->pending_arg, sizeof(rq->pending_arg), "%s", arg);
		return 0;
	}
	return ep->fn(rq, arg, &args);
}

int api_http_body(struct api_req *rq, const void *in, size_t len)
{
	if (rq->phase != RQ_BODY)
		return 0;
	if (rq->body_too_large || rq->body.len + len > BODY_MAX) {
		rq->body_too_large = true;
		return 0;
	}
	return sbuf_add(&rq->body, in, len) < 0 ? -1 : 0;
}

int api_http_body_done(struct lws *wsi, struct api_req *rq)
{
	struct api_args none = {0};

	(void)wsi;
	if (rq->phase != RQ_BODY)
		return 0;
	if (!rq->pending) {
		/* The reply (an error) was decided before the body. */
		if (rq->status)
			return reply(rq, rq->status);
		return reply_error(rq, 400, "bad_body", NULL, NULL);
	}
	return rq->pending(rq, rq->pending_arg, &none);
}

static int write_headers(struct lws *wsi, struct api_req *rq, const char *ctype, lws_filepos_t len)
{
	unsigned char buf[LWS_PRE + 512];
	unsigned char *start = &buf[LWS_PRE];
	unsigned char *p = start;
	unsigned char *end = &buf[sizeof(buf) - 1];

	if (lws_add_http_common_headers(wsi, rq->status, ctype, len, &p, end) ||
	    lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_CACHE_CONTROL,
					 (const unsigned char *)"no-store", 8, &p, end) ||
	    lws_finalize_write_http_header(wsi, start, &p, end))
		return -1;
	return 0;
}

/* Appends the SSE event of one record; newlines (whitespace between JSON tokens) become
 * spaces so that data stays one line. */
static int add_record_event(int64_t id, const char *body, size_t len, void *ctx)
{
	struct sbuf *out = ctx;
	size_t start;
	int r;

	r = sbuf_adds(out, "id: ");
	if (r == 0)
		r = json_add_i64(out, id);
	if (r == 0)
		r = sbuf_adds(out, "\nevent: record\ndata: ");
	start = out->len;
	if (r == 0)
		r = sbuf_add(out, body, len);
	for (size_t i = start; r == 0 && i < out->len; i++) {
		if (out->s[i] == '\n' || out->s[i] == '\r')
			out->s[i] = ' ';
	}
	if (r == 0)
		r = sbuf_adds(out, "\n\n");
	return r;
}

static int stream_writeable(struct lws *wsi, struct api_req *rq)
{
	unsigned char buf[LWS_PRE + WRITE_CHUNK];
	int64_t last = rq->last_id;
	int r = 0;

	if (rq->phase == RQ_SSE_HEADERS) {
		rq->status = 200;
		if (write_headers(wsi, rq, "text/event-stream", LWS_ILLEGAL_HTTP_CONTENT_LEN) < 0)
			return -1;
		/* The stream stays open: no lws timeout applies to it. */
		lws_set_timeout(wsi, NO_PENDING_TIMEOUT, 0);
		rq->phase = RQ_SSE;
		rq->out.len = 0;
		r = sbuf_adds(&rq->out, ": srvmon events\n\n");
	}
	if (rq->sent >= rq->out.len) {
		rq->out.len = 0;
		rq->sent = 0;
		while (r == 0 && rq->n_alerts > 0) {
			r = sbuf_adds(&rq->out, "event: alert\ndata: ");
			if (r == 0)
				r = sbuf_adds(&rq->out, rq->alerts[0]);
			if (r == 0)
				r = sbuf_adds(&rq->out, "\n\n");
			free(rq->alerts[0]);
			memmove(&rq->alerts[0], &rq->alerts[1],
				(rq->n_alerts - 1) * sizeof(rq->alerts[0]));
			rq->n_alerts--;
		}
		if (r == 0)
			r = db_api_records_after(rq->api->db, rq->last_id,
						 rq->host[0] ? rq->host : NULL,
						 rq->type[0] ? rq->type : NULL, EVENTS_PER_TURN,
						 add_record_event, &rq->out, &last);
		if (r < 0) {
			log_err_errno(r, "%s/events: database \"%s\"", API_PREFIX,
				      db_errmsg(rq->api->db));
			return -1;
		}
		if (rq->out.len == 0 && rq->keepalive_due)
			r = sbuf_adds(&rq->out, ": keep-alive\n\n");
		if (r < 0)
			return -1;
		rq->keepalive_due = false;
		rq->last_id = last;
	}
	if (rq->sent < rq->out.len) {
		size_t n = rq->out.len - rq->sent;

		if (n > WRITE_CHUNK)
			n = WRITE_CHUNK;
		memcpy(&buf[LWS_PRE], rq->out.s + rq->sent, n);
		if (lws_write(wsi, &buf[LWS_PRE], n, LWS_WRITE_HTTP) != (int)n)
			return -1;
		rq->sent += n;
		/* More to write, or maybe more records than one turn took. */
		lws_callback_on_writable(wsi);
	}
	return 0;
}

int api_http_writeable(struct lws *wsi, struct api_req *rq)
{
	unsigned char buf[LWS_PRE + WRITE_CHUNK];
	size_t n;

	if (rq->phase == RQ_SSE_HEADERS || rq->phase == RQ_SSE)
		return stream_writeable(wsi, rq);
	if (rq->phase == RQ_HEADERS) {
		if (write_headers(wsi, rq, "application/json", rq->out.len) < 0)
			return -1;
		rq->phase = RQ_SEND;
		lws_callback_on_writable(wsi);
		return 0;
	}
	if (rq->phase != RQ_SEND)
		return 0;
	n = rq->out.len - rq->sent;
	if (n > WRITE_CHUNK)
		n = WRITE_CHUNK;
	memcpy(&buf[LWS_PRE], rq->out.s + rq->sent, n);
	rq->sent += n;
	if (lws_write(wsi, &buf[LWS_PRE], n,
		      rq->sent == rq->out.len ? LWS_WRITE_HTTP_FINAL : LWS_WRITE_HTTP) != (int)n)
		return -1;
	if (rq->sent < rq->out.len) {
		lws_callback_on_writable(wsi);
		return 0;
	}
	if (lws_http_transaction_completed(wsi))
		return -1;
	return 0;
}

void api_http_free(struct api_req **prq)
{
	struct api_req *rq = *prq;

	if (!rq)
		return;
	if (rq->prev) {
		*rq->prev = rq->next;
		if (rq->next)
			rq->next->prev = rq->prev;
		lws_sul_cancel(&rq->sul);
	}
	for (size_t i = 0; i < rq->n_alerts; i++)
		free(rq->alerts[i]);
	sbuf_free(&rq->out);
	sbuf_free(&rq->body);
	free(rq);
	*prq = NULL;
}

void api_committed(struct api *api)
{
	if (!api)
		return;
	for (struct api_req *rq = api->streams; rq; rq = rq->next) {
		if (rq->phase == RQ_SSE)
			lws_callback_on_writable(rq->wsi);
	}
}

void api_alert_event(struct api *api, const char *json, size_t len)
{
	if (!api)
		return;
	for (struct api_req *rq = api->streams; rq; rq = rq->next) {
		char *copy;

		if (rq->n_alerts >= ALERT_EVENTS_MAX)
			continue;
		copy = strndup(json, len);
		if (!copy)
			continue;
		rq->alerts[rq->n_alerts++] = copy;
		lws_callback_on_writable(rq->wsi);
	}
}
