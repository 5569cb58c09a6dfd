/* GET /api/v1/hosts, /hosts/{id}/series and /hosts/{id}/speedtests: the hosts (online: a
 * recent record, or a WebSocket connection carrying it) and their series and speed tests. */
#include "api_internal.h"

#include "log.h"
#include "monoclock.h"
#include "db.h"
#include "json_out.h"
#include "metric.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define SPEEDTEST_LIMIT 200

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

int ep_hosts(struct api_req *rq, const char *arg, const struct api_args *args)
{
	(void)arg;
	(void)args;
	rq->out.len = 0;
	return api_reply_built(
		rq, db_api_hosts(rq->api->db, wall_ms(), host_connected, rq->api, &rq->out),
		"hosts");
}

/* The host of a /hosts/{host_id}/... path: 0 with its key, or the reply was queued. */
static int host_key(struct api_req *rq, const char *host_id, int64_t *ret)
{
	int r = db_api_host_key(rq->api->db, host_id, ret);

	if (r == -ENOENT)
		return api_reply_error(rq, 404, "not found", NULL, "unknown host"), 1;
	if (r < 0)
		return api_server_error(rq, r, "host lookup"), 1;
	return 0;
}

int ep_series(struct api_req *rq, const char *arg, const struct api_args *args)
{
	const char *name = api_args_get(args, "metric");
	struct db_series_query q = {0};
	const struct metric_def *m;
	const char *param, *detail;
	struct api_range range;
	int r;

	if (!name)
		return api_bad_param(rq, "metric", "required");
	m = metric_by_name(name);
	if (!m)
		return api_bad_param(rq, "metric", "not a known metric");
	if (api_series_range(api_args_get(args, "from"), api_args_get(args, "to"),
			     api_args_get(args, "step"), (int64_t)wall_ms(), &range, &param,
			     &detail) < 0)
		return api_bad_param(rq, param, detail);
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
	return api_reply_built(rq, r, "series");
}

int ep_speedtests(struct api_req *rq, const char *arg, const struct api_args *args)
{
	const char *param, *detail;
	int64_t host, from, to;
	uint64_t limit;

	if (api_list_range(api_args_get(args, "from"), api_args_get(args, "to"), (int64_t)wall_ms(),
			   7LL * 86400 * 1000, &from, &to, &param, &detail) < 0)
		return api_bad_param(rq, param, detail);
	if (api_parse_limit(rq, args, SPEEDTEST_LIMIT, 1000, &limit))
		return 0;
	if (host_key(rq, arg, &host))
		return 0;
	rq->out.len = 0;
	return api_reply_built(rq, db_api_speedtests(rq->api->db, host, from, to, limit, &rq->out),
			       "speedtests");
}
