/* /api/v1/alerts: the alert rules (list, add, change, delete; admins only for changes) and
 * their states. */
#include "api_internal.h"

#include "log.h"
#include "monoclock.h"
#include "alert_rule.h"
#include "db_alerts.h"
#include "json_out.h"
#include "numparse.h"

#include <errno.h>
#include <inttypes.h>

int ep_alerts_list(struct api_req *rq, const char *arg, const struct api_args *args)
{
	(void)arg;
	(void)args;
	rq->out.len = 0;
	return api_reply_built(rq, db_alert_rules_json(rq->api->db, &rq->out), "alert rules");
}

int ep_alerts_state(struct api_req *rq, const char *arg, const struct api_args *args)
{
	(void)arg;
	(void)args;
	rq->out.len = 0;
	return api_reply_built(rq, db_alert_states_json(rq->api->db, &rq->out), "alert states");
}

static int rule_id_arg(struct api_req *rq, const char *arg, int64_t *ret)
{
	uint64_t id;

	if (parse_u64(arg, 1, INT64_MAX, &id) < 0) {
		api_reply_error(rq, 404, "not found", NULL, "no such alert rule");
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
		api_reply_error(rq, 413, "bad_body", NULL, "body over 16 KiB");
		return 1;
	}
	r = alert_rule_from_json(rq->body.s ? rq->body.s : "", rq->body.len, ret, &err);
	if (r == -ENOMEM) {
		api_server_error(rq, r, "alert rule");
		return 1;
	}
	if (r < 0) {
		api_reply_error(rq, 400, "bad_body", NULL, err);
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
		return api_server_error(rq, r, "alert rule");
	return api_reply(rq, status);
}

int ep_alerts_add(struct api_req *rq, const char *arg, const struct api_args *args)
{
	struct alert_rule rule;
	int64_t id;
	int r;

	(void)arg;
	(void)args;
	if (body_rule(rq, &rule))
		return 0;
	r = db_alert_add(rq->api->db, &rule, wall_ms(), &id);
	if (r < 0)
		return api_server_error(rq, r, "storing an alert rule");
	log_info("%s/alerts: \"%s\" added rule %" PRId64 " (%s)", API_PREFIX, rq->auth.account, id,
		 rule.name);
	return reply_rule(rq, id, 201);
}

int ep_alerts_put(struct api_req *rq, const char *arg, const struct api_args *args)
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
		return api_reply_error(rq, 404, "not found", NULL, "no such alert rule");
	if (r < 0)
		return api_server_error(rq, r, "updating an alert rule");
	log_info("%s/alerts: \"%s\" changed rule %" PRId64 " (%s)", API_PREFIX, rq->auth.account,
		 id, rule.name);
	return reply_rule(rq, id, 200);
}

int ep_alerts_del(struct api_req *rq, const char *arg, const struct api_args *args)
{
	int64_t id;
	int r;

	(void)args;
	if (rule_id_arg(rq, arg, &id))
		return 0;
	r = db_alert_del(rq->api->db, id);
	if (r == -ENOENT)
		return api_reply_error(rq, 404, "not found", NULL, "no such alert rule");
	if (r < 0)
		return api_server_error(rq, r, "deleting an alert rule");
	log_info("%s/alerts: \"%s\" deleted rule %" PRId64, API_PREFIX, rq->auth.account, id);
	rq->out.len = 0;
	r = sbuf_adds(&rq->out, "{\"deleted\":");
	if (r == 0)
		r = json_add_i64(&rq->out, id);
	if (r == 0)
		r = sbuf_addc(&rq->out, '}');
	return api_reply_built(rq, r, "deleting an alert rule");
}
