#include "alerts.h"

#include "alert_email.h"
#include "alert_rule.h"
#include "api.h"
#include "db.h"
#include "db_alerts.h"
#include "sbuf.h"
#include "json_out.h"
#include "log.h"
#include "sendmail.h"
#include "webhook.h"

#include <errno.h>
#include <inttypes.h>
#include <libwebsockets.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define TICK_US	       ((lws_usec_t)LWS_US_PER_SEC)
#define RULES_MAX      1000
#define EXECS_PER_TICK 10000

struct alerts {
	struct db *db;
	struct lws_context *ctx;
	struct api *api;
	struct webhook *webhook;
	struct alert_email *email;
	uint64_t n_mails; /* makes Message-IDs unique */
	lws_sorted_usec_list_t sul;
	bool failed_logged;
	bool too_many_logged;
};

/* One rule being evaluated. */
struct eval {
	struct alerts *a;
	const struct alert_rule *rule;
	uint64_t now;
	regex_t re;
	int64_t exec_cursor;
};

static uint64_t wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int add_kv_str(struct sbuf *b, const char *key, const char *v)
{
	int r = sbuf_addc(b, ',');

	if (r == 0)
		r = json_add_str(b, key, strlen(key));
	if (r == 0)
		r = sbuf_addc(b, ':');
	if (r == 0)
		r = json_add_text(b, v, strlen(v));
	return r;
}

static int add_kv_i64(struct sbuf *b, const char *key, int64_t v)
{
	int r = sbuf_addc(b, ',');

	if (r == 0)
		r = json_add_str(b, key, strlen(key));
	if (r == 0)
		r = sbuf_addc(b, ':');
	if (r == 0)
		r = json_add_i64(b, v);
	return r;
}

/* The notification of a state change (docs/api.md, "Webhook notifications"). */
static int notification(const struct eval *e, const struct alert_host *h,
			const struct alert_state *st, const char *summary, struct sbuf *b)
{
	char num[40];
	int r;

	(void)snprintf(num, sizeof(num), "%.15g", st->value);
	r = sbuf_adds(b, "{\"state\":");
	if (r == 0)
		r = json_add_str(b, alert_state_name(st->state),
				 strlen(alert_state_name(st->state)));
	if (r == 0)
		r = sbuf_adds(b, ",\"rule\":");
	if (r == 0)
		r = alert_rule_to_json(e->rule, b);
	if (r == 0)
		r = add_kv_i64(b, "rule_id", e->rule->id);
	if (r == 0)
		r = add_kv_str(b, "host_id", h->host_id);
	if (r == 0)
		r = add_kv_str(b, "hostname", h->hostname);
	if (r == 0)
		r = sbuf_adds(b, ",\"value\":");
	if (r == 0)
		r = sbuf_adds(b, num);
	if (r == 0 && st->have_since)
		r = add_kv_i64(b, "since_ms", st->since_ms);
	if (r == 0)
		r = add_kv_i64(b, "at_ms", (int64_t)e->now);
	if (r == 0)
		r = add_kv_str(b, "summary", summary);
	if (r == 0)
		r = sbuf_addc(b, '}');
	return r;
}

/* Queues the email of a state change to the rule's address. */
static void send_email(struct eval *e, const struct alert_host *h, const struct alert_state *st)
{
	char text[256];
	struct alert_email_msg m = {
		.domain = alert_email_domain(e->a->email),
		.to = e->rule->email,
		.rule_name = e->rule->name,
		.rule_id = e->rule->id,
		.rule_text = text,
		.state = alert_state_name(st->state),
		.hostname = h->hostname,
		.host_id = h->host_id,
		.value = st->value,
		.have_since = st->have_since,
		.since_ms = st->since_ms,
		.at_ms = (int64_t)e->now,
		.unique = ++e->a->n_mails,
	};
	struct sbuf msg = {0};
	int r;

	alert_rule_describe(e->rule, text, sizeof(text));
	r = alert_email_compose(&m, &msg);
	if (r == 0)
		(void)alert_email_send(e->a->email, e->rule->email, msg.s, msg.len);
	else
		log_warn_errno(r, "alert %" PRId64 ": email to \"%s\" not sent", e->rule->id,
			       e->rule->email);
	sbuf_free(&msg);
}

/* Stores the new state, then tells the log, the event streams, the webhook and the email
 * address, once. */
static int transition(struct eval *e, const struct alert_host *h, struct alert_state *st,
		      enum alert_state_kind to, double value)
{
	struct sbuf b = {0};
	char summary[512];
	char val[40];
	int r;

	st->state = to;
	if (to == ALERT_STATE_FIRING) {
		st->fired_ms = (int64_t)e->now;
		st->value = value;
	} else {
		st->resolved_ms = (int64_t)e->now;
	}
	/* Stored first: a failed write sends nothing, and the next tick tries again. */
	r = db_alert_state_put(e->a->db, e->rule->id, h->key, st, e->now);
	if (r < 0)
		return r;
	(void)snprintf(val, sizeof(val), "%.15g", st->value);
	(void)snprintf(summary, sizeof(summary), "%s: %s on %s (%s)", e->rule->name,
		       to == ALERT_STATE_FIRING ? "firing" : "resolved",
		       h->hostname[0] ? h->hostname : h->host_id, val);
	log_info("alert %" PRId64 " %s", e->rule->id, summary);
	if (notification(e, h, st, summary, &b) < 0) {
		log_warn("alert %" PRId64 ": out of memory, notification of \"%s\" not sent",
			 e->rule->id, summary);
		sbuf_free(&b);
		return 0;
	}
	api_alert_event(e->a->api, b.s, b.len);
	if (e->rule->webhook[0] && e->a->webhook)
		(void)webhook_post(e->a->webhook, e->rule->webhook, b.s, b.len);
	if (e->rule->email[0] && e->a->email)
		send_email(e, h, st);
	sbuf_free(&b);
	return 0;
}

static int eval_metric_host(const struct alert_host *h, void *ctx)
{
	struct eval *e = ctx;
	struct alert_state st;
	bool holds;
	int r;

	if (!h->have_value)
		return 0;
	r = db_alert_state_get(e->a->db, e->rule->id, h->key, &st);
	if (r < 0)
		return r;
	holds = alert_op_holds(e->rule->op, h->value, e->rule->threshold);
	if (holds) {
		bool started = !st.have_since;

		if (started) {
			st.have_since = true;
			st.since_ms = h->ts;
		}
		if (st.state != ALERT_STATE_FIRING &&
		    h->ts - st.since_ms >= (int64_t)e->rule->for_ms)
			return transition(e, h, &st, ALERT_STATE_FIRING, h->value);
		return started ? db_alert_state_put(e->a->db, e->rule->id, h->key, &st, e->now) : 0;
	}
	if (!st.have_since && st.state != ALERT_STATE_FIRING)
		return 0;
	st.have_since = false;
	st.value = h->value;
	if (st.state == ALERT_STATE_FIRING)
		return transition(e, h, &st, ALERT_STATE_RESOLVED, h->value);
	return db_alert_state_put(e->a->db, e->rule->id, h->key, &st, e->now);
}

static int eval_offline_host(const struct alert_host *h, void *ctx)
{
	struct eval *e = ctx;
	int64_t away = (int64_t)e->now - h->last_seen_ms;
	bool holds = away >= (int64_t)e->rule->for_ms;
	struct alert_state st;
	int r;

	r = db_alert_state_get(e->a->db, e->rule->id, h->key, &st);
	if (r < 0)
		return r;
	if (holds && st.state != ALERT_STATE_FIRING) {
		st.have_since = true;
		st.since_ms = h->last_seen_ms;
		return transition(e, h, &st, ALERT_STATE_FIRING, (double)away / 1000.0);
	}
	if (!holds && st.state == ALERT_STATE_FIRING) {
		st.have_since = false;
		return transition(e, h, &st, ALERT_STATE_RESOLVED, (double)away / 1000.0);
	}
	return 0;
}

static int eval_exec(const struct alert_host *h, const char *cmdline, uint64_t seq, void *ctx)
{
	struct eval *e = ctx;
	struct alert_state st;
	int r;

	if (e->rule->host_id[0] && strcmp(e->rule->host_id, h->host_id) != 0)
		return 0;
	if (regexec(&e->re, cmdline, 0, NULL, 0) != 0)
		return 0;
	r = db_alert_state_get(e->a->db, e->rule->id, h->key, &st);
	if (r < 0)
		return r;
	/* Resolved after for_ms of the server's clock without another match. */
	st.have_since = true;
	st.since_ms = (int64_t)e->now;
	if (st.state != ALERT_STATE_FIRING)
		return transition(e, h, &st, ALERT_STATE_FIRING, (double)seq);
	return db_alert_state_put(e->a->db, e->rule->id, h->key, &st, e->now);
}

static int eval_exec_quiet(const struct alert_host *h, void *ctx)
{
	struct eval *e = ctx;
	struct alert_state st;
	int r;

	if ((int64_t)e->now - h->ts < (int64_t)e->rule->for_ms)
		return 0;
	r = db_alert_state_get(e->a->db, e->rule->id, h->key, &st);
	if (r < 0)
		return r;
	return transition(e, h, &st, ALERT_STATE_RESOLVED, st.value);
}

static int eval_rule(struct alerts *a, const struct alert_rule *rule, int64_t exec_cursor,
		     uint64_t now)
{
	struct eval e = {.a = a, .rule = rule, .now = now, .exec_cursor = exec_cursor};
	const char *host = rule->host_id[0] ? rule->host_id : NULL;
	int64_t last = exec_cursor;
	int r;

	switch (rule->kind) {
	case ALERT_METRIC:
		return db_alert_hosts(a->db, rule->metric, host, eval_metric_host, &e);
	case ALERT_OFFLINE:
		return db_alert_hosts(a->db, NULL, host, eval_offline_host, &e);
	case ALERT_EXEC:
		if (regcomp(&e.re, rule->regex, REG_EXTENDED | REG_NOSUB) != 0)
			return 0; /* checked when stored; a changed libc is not our concern */
		r = db_alert_execs_after(a->db, exec_cursor, EXECS_PER_TICK, eval_exec, &e, &last);
		regfree(&e.re);
		if (r == 0 && last != exec_cursor)
			r = db_alert_set_cursor(a->db, rule->id, last);
		if (r == 0)
			r = db_alert_firing(a->db, rule->id, eval_exec_quiet, &e);
		return r;
	}
	return 0;
}

struct rule_list {
	struct alert_rule *rules;
	int64_t *cursors;
	size_t n, cap;
};

/* Rules beyond RULES_MAX are not evaluated (alerts_evaluate() warns once). */
static int collect_rule(const struct alert_rule *rule, int64_t exec_cursor, void *ctx)
{
	struct rule_list *l = ctx;

	if (l->n >= RULES_MAX)
		return 0;
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 8;
		struct alert_rule *rules = realloc(l->rules, cap * sizeof(*rules));
		int64_t *cursors;

		if (!rules)
			return -ENOMEM;
		l->rules = rules;
		cursors = realloc(l->cursors, cap * sizeof(*cursors));
		if (!cursors)
			return -ENOMEM;
		l->cursors = cursors;
		l->cap = cap;
	}
	l->rules[l->n] = *rule;
	l->cursors[l->n] = exec_cursor;
	l->n++;
	return 0;
}

int alerts_evaluate(struct alerts *a, uint64_t now_ms)
{
	struct rule_list l = {0};
	int r;

	/* Rules are read each time: the CLI and the API change them in the database. */
	r = db_alert_foreach(a->db, collect_rule, &l);
	if (l.n == RULES_MAX && !a->too_many_logged)
		log_warn("alerts: only the first %d rules are evaluated, ignoring the others",
			 RULES_MAX);
	a->too_many_logged = l.n == RULES_MAX;
	for (size_t i = 0; i < l.n && r == 0; i++)
		r = eval_rule(a, &l.rules[i], l.cursors[i], now_ms);
	free(l.rules);
	free(l.cursors);
	return r;
}

static void tick(lws_sorted_usec_list_t *sul)
{
	struct alerts *a = lws_container_of(sul, struct alerts, sul);
	int r = alerts_evaluate(a, wall_ms());

	/* Logged once per failure spell: the timer tries again every second. */
	if (r < 0 && !a->failed_logged)
		log_err_errno(r, "alerts: evaluation failed: database \"%s\"", db_errmsg(a->db));
	a->failed_logged = r < 0;
	lws_sul_schedule(a->ctx, 0, &a->sul, tick, TICK_US);
}

struct alerts *alerts_new(struct db *db, struct lws_context *ctx, struct api *api,
			  const char *sendmail)
{
	struct alerts *a = calloc(1, sizeof(*a));

	if (!a) {
		errno = ENOMEM;
		return NULL;
	}
	a->db = db;
	a->ctx = ctx;
	a->api = api;
	a->webhook = webhook_new();
	if (a->webhook)
		a->email = alert_email_new(sendmail ? sendmail : SENDMAIL_DEFAULT_PATH);
	if (!a->email) {
		int e = errno;

		webhook_free(a->webhook);
		free(a);
		errno = e;
		return NULL;
	}
	lws_sul_schedule(ctx, 0, &a->sul, tick, TICK_US);
	return a;
}

void alerts_free(struct alerts *a)
{
	if (!a)
		return;
	lws_sul_cancel(&a->sul);
	alert_email_free(a->email);
	webhook_free(a->webhook);
	free(a);
}
