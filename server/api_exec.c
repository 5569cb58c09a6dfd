/* GET /api/v1/exec: the exec search (by host, user, argv text, time), newest first, in pages
 * with a cursor. */
#include "api_internal.h"

#include "db.h"
#include "monoclock.h"

#include <errno.h>
#include <string.h>

#define EXEC_LIMIT_MAX 1000

int ep_exec(struct api_req *rq, const char *arg, const struct api_args *args)
{
	struct db_exec_query q = {0};
	const char *host = api_args_get(args, "host");
	const char *cursor = api_args_get(args, "cursor");
	const char *param, *detail;
	int64_t next_ts = 0, next_id = 0;
	bool more = false;
	int r;

	(void)arg;
	if (api_list_range(api_args_get(args, "from"), api_args_get(args, "to"), (int64_t)wall_ms(),
			   0, &q.from, &q.to, &param, &detail) < 0)
		return api_bad_param(rq, param, detail);
	if (api_parse_limit(rq, args, 100, EXEC_LIMIT_MAX, &q.limit))
		return 0;
	q.user = api_args_get(args, "user");
	q.q = api_args_get(args, "q");
	if (q.q && (!q.q[0] || strlen(q.q) > 256))
		return api_bad_param(rq, "q", "not 1..256 bytes");
	if (cursor) {
		if (api_cursor_parse(cursor, &q.cursor_ts, &q.cursor_id) < 0)
			return api_bad_param(rq, "cursor", "not a cursor of this API");
		q.have_cursor = true;
	}
	if (host) {
		r = db_api_host_key(rq->api->db, host, &q.host);
		if (r == -ENOENT)
			return api_bad_param(rq, "host", "unknown host");
		if (r < 0)
			return api_server_error(rq, r, "host lookup");
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
	return api_reply_built(rq, r, "exec search");
}
