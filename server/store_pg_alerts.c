/* Alert rules and their per-host states on PostgreSQL (store_pg_impl.h): the same answers as
 * the SQLite engine's (store_sqlite_alerts.c). */
#include "json_out.h"
#include "metric.h"
#include "sbuf.h"
#include "store_pg_read.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#define RULE_COLUMNS                                                                               \
	"id, name, kind, metric, op, threshold, regex, for_ms, host_id, webhook, created_ms,"      \
	" exec_cursor, email"

/* The text parameters $1..$10 of a rule: name kind metric op threshold regex for_ms host_id
 * webhook email (NULL where SQLite binds none). */
struct rule_params {
	char threshold[32], for_ms[24];
	const char *v[12];
};

static void rule_params(struct rule_params *p, const struct alert_rule *rule)
{
	memset(p->v, 0, sizeof(p->v));
	p->v[0] = rule->name;
	p->v[1] = alert_kind_name(rule->kind);
	if (rule->kind == ALERT_METRIC) {
		p->v[2] = rule->metric;
		p->v[3] = alert_op_name(rule->op);
		p->v[4] = pg_f64(p->threshold, rule->threshold);
	}
	if (rule->kind == ALERT_EXEC)
		p->v[5] = rule->regex;
	p->v[6] = pg_i64(p->for_ms, (int64_t)rule->for_ms);
	p->v[7] = rule->host_id[0] ? rule->host_id : NULL;
	p->v[8] = rule->webhook[0] ? rule->webhook : NULL;
	p->v[9] = rule->email[0] ? rule->email : NULL;
}

/* Runs a statement that returns no rows; *ret_changed (may be NULL): whether it changed one. */
static int run(struct db *db, const char *sql, int n, const char *const *v, const char *what,
	       bool *ret_changed)
{
	PGresult *res = pg_query(db, sql, n, v);

	if (!pg_ok(db, res, what))
		return -EIO;
	if (ret_changed) {
		const char *t = PQcmdTuples(res);

		*ret_changed = t[0] && strcmp(t, "0") != 0;
	}
	PQclear(res);
	return 0;
}

int pg_alert_add(struct db *db, const struct alert_rule *rule, uint64_t now_ms, int64_t *ret_id)
{
	/* A new exec rule looks at execs stored from now on. The id is SQLite's rowid choice
	 * (one more than the largest), so that both engines number rules alike. */
	static const char sql[] =
		"INSERT INTO alert_rules(id, name, kind, metric, op, threshold, regex, for_ms,"
		" host_id, webhook, email, created_ms, exec_cursor)"
		" SELECT (SELECT coalesce(max(id), 0) + 1 FROM alert_rules), $1, $2, $3, $4,"
		" $5::float8, $6, $7::bigint, $8, $9, $10, $11::bigint,"
		" (SELECT coalesce(max(id), 0) FROM execs) RETURNING id";
	struct rule_params p;
	char now[24];
	PGresult *res;

	rule_params(&p, rule);
	p.v[10] = pg_i64(now, (int64_t)now_ms);
	res = pg_query(db, sql, 11, p.v);
	if (!pg_ok(db, res, "adding an alert rule"))
		return -EIO;
	*ret_id = pg_get_i64(res, 0, 0);
	PQclear(res);
	return 0;
}

int pg_alert_update(struct db *db, const struct alert_rule *rule)
{
	struct rule_params p;
	char id[24];
	bool changed = false;
	int r;

	rule_params(&p, rule);
	p.v[10] = pg_i64(id, rule->id);
	r = run(db,
		"UPDATE alert_rules SET name = $1, kind = $2, metric = $3, op = $4,"
		" threshold = $5::float8, regex = $6, for_ms = $7::bigint, host_id = $8,"
		" webhook = $9, email = $10 WHERE id = $11::bigint",
		11, p.v, "updating an alert rule", &changed);
	return r == 0 && !changed ? -ENOENT : r;
}

int pg_alert_del(struct db *db, int64_t id)
{
	char buf[24];
	const char *v[1] = {pg_i64(buf, id)};
	bool changed = false;
	int r;

	r = run(db, "DELETE FROM alert_state WHERE rule_id = $1::bigint", 1, v,
		"deleting alert states", NULL);
	if (r == 0)
		r = run(db, "DELETE FROM alert_rules WHERE id = $1::bigint", 1, v,
			"deleting an alert rule", &changed);
	return r == 0 && !changed ? -ENOENT : r;
}

static void col_copy(const PGresult *res, int row, int col, char *ret, size_t size)
{
	(void)snprintf(ret, size, "%s", PQgetvalue(res, row, col));
}

static int read_rule(const PGresult *res, int row, struct alert_rule *ret)
{
	char buf[16];

	memset(ret, 0, sizeof(*ret));
	ret->id = pg_get_i64(res, row, 0);
	col_copy(res, row, 1, ret->name, sizeof(ret->name));
	col_copy(res, row, 2, buf, sizeof(buf));
	if (alert_kind_parse(buf, &ret->kind) < 0)
		return -EIO;
	col_copy(res, row, 3, ret->metric, sizeof(ret->metric));
	col_copy(res, row, 4, buf, sizeof(buf));
	if (ret->kind == ALERT_METRIC && alert_op_parse(buf, &ret->op) < 0)
		return -EIO;
	ret->threshold = pg_get_double(res, row, 5);
	col_copy(res, row, 6, ret->regex, sizeof(ret->regex));
	ret->for_ms = (uint64_t)pg_get_i64(res, row, 7);
	ret->have_for = true;
	col_copy(res, row, 8, ret->host_id, sizeof(ret->host_id));
	col_copy(res, row, 9, ret->webhook, sizeof(ret->webhook));
	ret->created_ms = (uint64_t)pg_get_i64(res, row, 10);
	col_copy(res, row, 12, ret->email, sizeof(ret->email));
	return 0;
}

int pg_alert_get(struct db *db, int64_t id, struct alert_rule *ret)
{
	char buf[24];
	const char *v[1] = {pg_i64(buf, id)};
	PGresult *res = pg_query(
		db, "SELECT " RULE_COLUMNS " FROM alert_rules WHERE id = $1::bigint", 1, v);
	int r;

	if (!pg_ok(db, res, "reading an alert rule"))
		return -EIO;
	r = PQntuples(res) > 0 ? read_rule(res, 0, ret) : -ENOENT;
	PQclear(res);
	return r;
}

int pg_alert_foreach(struct db *db, db_alert_rule_cb cb, void *ctx)
{
	PGresult *res =
		pg_query(db, "SELECT " RULE_COLUMNS " FROM alert_rules ORDER BY id", 0, NULL);
	struct alert_rule rule;
	int r = 0;

	if (!pg_ok(db, res, "reading alert rules"))
		return -EIO;
	for (int row = 0; row < PQntuples(res) && r == 0; row++) {
		r = read_rule(res, row, &rule);
		if (r == 0)
			r = cb(&rule, pg_get_i64(res, row, 11), ctx);
	}
	PQclear(res);
	return r;
}

int pg_alert_set_cursor(struct db *db, int64_t id, int64_t exec_cursor)
{
	char c[24], i[24];
	const char *v[2] = {pg_i64(c, exec_cursor), pg_i64(i, id)};

	return run(db, "UPDATE alert_rules SET exec_cursor = $1::bigint WHERE id = $2::bigint", 2,
		   v, "storing an alert rule's exec cursor", NULL);
}

int pg_alert_rules_json(struct db *db, struct sbuf *out)
{
	return store_alert_rules_json(db, out);
}

int pg_alert_states_json(struct db *db, struct sbuf *out)
{
	static const char *const names[] = {"rule_id", "name",	    "host_id",	"hostname",
					    "state",   "since_ms",  "fired_ms", "resolved_ms",
					    "value",   "changed_ms"};
	PGresult *res = pg_query(db,
				 "SELECT s.rule_id, a.name, h.host_id, h.hostname, s.state,"
				 " s.since_ms, s.fired_ms, s.resolved_ms, s.value, s.changed_ms"
				 " FROM alert_state s JOIN alert_rules a ON a.id = s.rule_id"
				 " JOIN hosts h ON h.id = s.host WHERE s.fired_ms IS NOT NULL"
				 " ORDER BY s.changed_ms DESC, s.rule_id, h.host_id COLLATE \"C\"",
				 0, NULL);
	int r;

	if (!pg_ok(db, res, "reading alert states"))
		return -EIO;
	r = sbuf_addc(out, '[');
	for (int row = 0; row < PQntuples(res) && r == 0; row++) {
		r = sbuf_adds(out, row ? ",{" : "{");
		for (int c = 0; c < 10 && r == 0; c++)
			r = pg_json_member(out, c == 0, names[c], res, row, c);
		if (r == 0)
			r = sbuf_addc(out, '}');
	}
	if (r == 0)
		r = sbuf_addc(out, ']');
	PQclear(res);
	return r;
}

int pg_alert_state_get(struct db *db, int64_t rule_id, int64_t host, struct alert_state *ret)
{
	char a[24], b[24];
	const char *v[2] = {pg_i64(a, rule_id), pg_i64(b, host)};
	PGresult *res;
	const char *state;

	memset(ret, 0, sizeof(*ret));
	res = pg_query(db,
		       "SELECT state, since_ms, fired_ms, resolved_ms, value FROM alert_state"
		       " WHERE rule_id = $1::bigint AND host = $2::bigint",
		       2, v);
	if (!pg_ok(db, res, "reading an alert state"))
		return -EIO;
	if (PQntuples(res) > 0) {
		state = PQgetvalue(res, 0, 0);
		ret->state = strcmp(state, "firing") == 0     ? ALERT_STATE_FIRING
			     : strcmp(state, "resolved") == 0 ? ALERT_STATE_RESOLVED
							      : ALERT_STATE_OK;
		ret->have_since = !PQgetisnull(res, 0, 1);
		ret->since_ms = pg_get_i64(res, 0, 1);
		ret->fired_ms = pg_get_i64(res, 0, 2);
		ret->resolved_ms = pg_get_i64(res, 0, 3);
		ret->value = pg_get_double(res, 0, 4);
	}
	PQclear(res);
	return 0;
}

int pg_alert_state_put(struct db *db, int64_t rule_id, int64_t host, const struct alert_state *s,
		       uint64_t now_ms)
{
	char rid[24], h[24], since[24], fired[24], resolved[24], value[32], now[24];
	const char *v[8] = {pg_i64(rid, rule_id),
			    pg_i64(h, host),
			    alert_state_name(s->state),
			    s->have_since ? pg_i64(since, s->since_ms) : NULL,
			    s->fired_ms ? pg_i64(fired, s->fired_ms) : NULL,
			    s->resolved_ms ? pg_i64(resolved, s->resolved_ms) : NULL,
			    s->fired_ms ? pg_f64(value, s->value) : NULL,
			    pg_i64(now, (int64_t)now_ms)};

	return run(db,
		   "INSERT INTO alert_state(rule_id, host, state, since_ms, fired_ms, resolved_ms,"
		   " value, changed_ms) VALUES($1::bigint, $2::bigint, $3, $4::bigint, $5::bigint,"
		   " $6::bigint, $7::float8, $8::bigint) ON CONFLICT (rule_id, host) DO UPDATE SET"
		   " state = excluded.state, since_ms = excluded.since_ms,"
		   " fired_ms = excluded.fired_ms, resolved_ms = excluded.resolved_ms,"
		   " value = excluded.value, changed_ms = excluded.changed_ms",
		   8, v, "storing an alert state", NULL);
}

/* Columns: key, host_id, hostname, last_seen_ms, value, ts. */
static void read_host(const PGresult *res, int row, struct alert_host *h)
{
	h->key = pg_get_i64(res, row, 0);
	h->host_id = PQgetvalue(res, row, 1);
	h->hostname = PQgetvalue(res, row, 2); /* "" for NULL */
	h->last_seen_ms = pg_get_i64(res, row, 3);
	h->have_value = !PQgetisnull(res, row, 4) && !PQgetisnull(res, row, 5);
	h->value = pg_get_double(res, row, 4);
	h->ts = pg_get_i64(res, row, 5);
}

static int foreach_host(PGresult *res, db_alert_host_cb cb, void *ctx)
{
	struct alert_host h;
	int r = 0;

	for (int row = 0; row < PQntuples(res) && r == 0; row++) {
		read_host(res, row, &h);
		r = cb(&h, ctx);
	}
	PQclear(res);
	return r;
}

/* One statement per metric column (the names come from the metric table, never from a
 * request), and one without. */
#define ALERT_HOSTS(VALUE, TS)                                                                     \
	"SELECT id, host_id, hostname, last_seen_ms, " VALUE "::float8, " TS " FROM hosts"         \
	" WHERE $1::text IS NULL OR host_id = $1::text ORDER BY id"

static const struct {
	const char *metric;
	const char *sql;
} alert_hosts_sql[] = {
	{NULL, ALERT_HOSTS("NULL", "NULL::bigint")},
	{"cpu_percent", ALERT_HOSTS("cpu_percent", "res_ts")},
	{"ram_total", ALERT_HOSTS("ram_total", "res_ts")},
	{"ram_available", ALERT_HOSTS("ram_available", "res_ts")},
	{"disk_total", ALERT_HOSTS("disk_total", "res_ts")},
	{"disk_available", ALERT_HOSTS("disk_available", "res_ts")},
	{"upload_rate", ALERT_HOSTS("upload_rate", "net_ts")},
	{"download_rate", ALERT_HOSTS("download_rate", "net_ts")},
	{"rx_peak_rate", ALERT_HOSTS("rx_peak_rate", "net_ts")},
	{"tx_peak_rate", ALERT_HOSTS("tx_peak_rate", "net_ts")},
};

int pg_alert_hosts(struct db *db, const char *metric, const char *host_id, db_alert_host_cb cb,
		   void *ctx)
{
	const struct metric_def *m = metric ? metric_by_name(metric) : NULL;
	const char *sql = alert_hosts_sql[0].sql;
	const char *v[1] = {host_id && host_id[0] ? host_id : NULL};
	PGresult *res;

	for (size_t i = 1; m && i < sizeof(alert_hosts_sql) / sizeof(alert_hosts_sql[0]); i++) {
		if (strcmp(alert_hosts_sql[i].metric, m->name) == 0)
			sql = alert_hosts_sql[i].sql;
	}
	res = pg_query(db, sql, 1, v);
	if (!pg_ok(db, res, "reading hosts for alerts"))
		return -EIO;
	return foreach_host(res, cb, ctx);
}

int pg_alert_firing(struct db *db, int64_t rule_id, db_alert_host_cb cb, void *ctx)
{
	char buf[24];
	const char *v[1] = {pg_i64(buf, rule_id)};
	PGresult *res = pg_query(db,
				 "SELECT h.id, h.host_id, h.hostname, h.last_seen_ms, s.value,"
				 " s.since_ms FROM alert_state s JOIN hosts h ON h.id = s.host"
				 " WHERE s.rule_id = $1::bigint AND s.state = 'firing'",
				 1, v);

	if (!pg_ok(db, res, "reading firing alerts"))
		return -EIO;
	return foreach_host(res, cb, ctx);
}

/* The page is chosen in execs alone, then joined (joined first, the planner sorts every exec
 * after the cursor); an exec whose record is gone has seq 0 rather than stall the cursor. */
int pg_alert_execs_after(struct db *db, int64_t cursor, uint64_t limit, db_alert_exec_cb cb,
			 void *ctx, int64_t *ret_last)
{
	char c[24], l[24];
	const char *v[2] = {pg_i64(c, cursor),
			    pg_i64(l, limit > INT64_MAX ? INT64_MAX : (int64_t)limit)};
	PGresult *res = pg_query(
		db,
		"SELECT h.id, h.host_id, h.hostname, h.last_seen_ms, NULL::float8, e.ts,"
		" split_part(e.hay, E'\\n', 1), r.seq, e.id"
		" FROM (SELECT id, ts, host, hay FROM execs WHERE id > $1::bigint ORDER BY id"
		" LIMIT $2::bigint) e JOIN hosts h ON h.id = e.host"
		" LEFT JOIN records r ON r.id = e.id AND r.ts = e.ts ORDER BY e.id",
		2, v);
	int r = 0;

	if (!pg_ok(db, res, "reading execs for alerts"))
		return -EIO;
	for (int row = 0; row < PQntuples(res) && r == 0; row++) {
		struct alert_host h;
		uint64_t seq = 0;

		read_host(res, row, &h);
		(void)db_seq_parse(PQgetvalue(res, row, 7), &seq);
		*ret_last = pg_get_i64(res, row, 8);
		r = cb(&h, PQgetvalue(res, row, 6), seq, ctx);
	}
	PQclear(res);
	return r;
}
