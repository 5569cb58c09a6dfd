/* /api/v1's core: the API's life cycle, its routing table (path, method, role, parameters),
 * the bearer check, the request's body and reply. The endpoint families: api_hosts.c,
 * api_exec.c, api_events.c, api_alerts.c. */
#include "api_internal.h"

#include "alerts.h"
#include "db.h"
#include "json_out.h"
#include "log.h"
#include "monoclock.h"
#include "numparse.h"
#include "role.h"
#include "token.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BODY_MAX ((size_t)16 * 1024)

struct api *api_new(struct db *db, struct lws_context *ctx, const char *sendmail)
{
	struct api *api = calloc(1, sizeof(*api));

	if (!api) {
		errno = ENOMEM;
		return NULL;
	}
	api->db = db;
	api->ctx = ctx;
	api->alerts = alerts_new(db, ctx, api, sendmail);
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
int api_reply(struct api_req *rq, unsigned int status)
{
	rq->status = status;
	rq->phase = RQ_HEADERS;
	rq->sent = 0;
	lws_callback_on_writable(rq->wsi);
	return 0;
}

int api_reply_error(struct api_req *rq, unsigned int status, const char *error, const char *param,
		    const char *detail)
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
	return api_reply(rq, status);
}

int api_bad_param(struct api_req *rq, const char *param, const char *detail)
{
	log_debug("%s: 400, parameter \"%s\": %s", API_PREFIX, param, detail);
	return api_reply_error(rq, 400, "bad_parameter", param, detail);
}

/* A database failure, logged here with the query's context. */
int api_server_error(struct api_req *rq, int err, const char *what)
{
	if (err == -ENOMEM) {
		log_err("%s: %s: out of memory", API_PREFIX, what);
	} else {
		log_err_errno(err, "%s: %s: database \"%s\"", API_PREFIX, what,
			      db_errmsg(rq->api->db));
	}
	return api_reply_error(rq, 500, "server_error", NULL, NULL);
}

/* Finishes an endpoint that built rq->out: 200, or the failure of r. */
int api_reply_built(struct api_req *rq, int r, const char *what)
{
	if (r < 0)
		return api_server_error(rq, r, what);
	return api_reply(rq, 200);
}

int api_parse_limit(struct api_req *rq, const struct api_args *args, uint64_t def, uint64_t max,
		    uint64_t *ret)
{
	const char *v = api_args_get(args, "limit");
	uint64_t n;

	*ret = def;
	if (!v)
		return 0;
	if (parse_u64(v, 1, max, &n) < 0) {
		api_bad_param(rq, "limit", "not 1..1000");
		return 1;
	}
	*ret = n;
	return 0;
}

int ep_whoami(struct api_req *rq, const char *arg, const struct api_args *args)
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
	return api_reply_built(rq, r, "whoami");
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
	memcpy(rq->token_sha, sha, sizeof(rq->token_sha));
	r = db_token_auth(rq->api->db, sha, &rq->auth);
	if (r == -ENOENT)
		return -EACCES;
	if (r < 0)
		return r;
	return rq->auth.expires_ms <= wall_ms() ? -EACCES : 0;
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
		return api_reply_error(rq, 404, "not found", NULL, NULL);
	if (!ep)
		return api_reply_error(rq, 405, "method not allowed", NULL, NULL);
	if (collect_args(rq, &args, &param, &detail) < 0)
		return api_bad_param(rq, param, detail);
	r = authenticate(rq, &args);
	if (r == -EACCES) {
		log_debug("%s%s: 401, missing, unknown or expired token", API_PREFIX, path);
		return api_reply_error(rq, 401, "unauthorized", NULL, NULL);
	}
	if (r < 0)
		return api_server_error(rq, r, "token lookup");
	if (!role_may_read(rq->auth.role) || (ep->admin && !role_may_admin(rq->auth.role))) {
		char why[96];

		(void)snprintf(why, sizeof(why), "role %s may not %s", role_name(rq->auth.role),
			       ep->admin ? "manage alert rules" : "read the API");
		log_info("%s%s: \"%s\" refused (403): %s", API_PREFIX, path, rq->auth.account, why);
		return api_reply_error(rq, 403, "forbidden", NULL, why);
	}
	/* token is everyone's; the others are the endpoint's. */
	for (size_t i = 0; i < args.n; i++) {
		if (strcmp(args.a[i].name, "token") == 0) {
			args.a[i] = args.a[--args.n];
			break;
		}
	}
	if (api_args_only(&args, ep->params, &param) < 0)
		return api_bad_param(rq, param, "unknown parameter");
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
			return api_reply(rq, rq->status);
		return api_reply_error(rq, 400, "bad_body", NULL, NULL);
	}
	return rq->pending(rq, rq->pending_arg, &none);
}

int api_write_headers(struct lws *wsi, struct api_req *rq, const char *ctype, lws_filepos_t len)
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

int api_http_writeable(struct lws *wsi, struct api_req *rq)
{
	unsigned char buf[LWS_PRE + WRITE_CHUNK];
	size_t n;

	if (rq->phase == RQ_SSE_HEADERS || rq->phase == RQ_SSE || rq->phase == RQ_SSE_CLOSING)
		return api_events_writeable(wsi, rq);
	if (rq->phase == RQ_HEADERS) {
		if (api_write_headers(wsi, rq, "application/json", rq->out.len) < 0)
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
	api_events_end(rq);
	for (size_t i = 0; i < rq->n_alerts; i++)
		free(rq->alerts[i]);
	sbuf_free(&rq->out);
	sbuf_free(&rq->body);
	free(rq);
	*prq = NULL;
}
