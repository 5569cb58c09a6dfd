#include "store_sqlite_impl.h"

#include "json_out.h"
#include "metric.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#define RULE_COLUMNS                                                                               \
	"id, name, kind, metric, op, threshold, regex, for_ms, host_id, webhook, created_ms,"      \
	" exec_cursor, email"

static int prepare(struct db *db, const char *sql, sqlite3_stmt **ret)
{
	return sqlite3_prepare_v2(sq_h(db), sql, -1, ret, NULL) == SQLITE_OK ? 0 : -EIO;
}

static void bind_text_or_null(sqlite3_stmt *st, int i, const char *s)
{
	if (s[0])
		sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, i);
}

/* Binds ?1..?10: name kind metric op threshold regex for_ms host_id webhook email. */
static void bind_rule(sqlite3_stmt *st, const struct alert_rule *rule)
{
	sqlite3_bind_text(st, 1, rule->name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, alert_kind_name(rule->kind), -1, SQLITE_STATIC);
	if (rule->kind == ALERT_METRIC) {
		sqlite3_bind_text(st, 3, rule->metric, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 4, alert_op_name(rule->op), -1, SQLITE_STATIC);
		sqlite3_bind_double(st, 5, rule->threshold);
	}
	if (rule->kind == ALERT_EXEC)
		sqlite3_bind_text(st, 6, rule->regex, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 7, (sqlite3_int64)rule->for_ms);
	bind_text_or_null(st, 8, rule->host_id);
	bind_text_or_null(st, 9, rule->webhook);
	bind_text_or_null(st, 10, rule->email);
}

int sq_alert_add(struct db *db, const struct alert_rule *rule, uint64_t now_ms, int64_t *ret_id)
{
	sqlite3_stmt *st = NULL;
	int64_t last = 0;
	int r;

	/* A new exec rule looks at execs stored from now on. */
	r = prepare(db, "SELECT coalesce(max(id), 0) FROM execs", &st);
	if (r < 0)
		return r;
	if (sqlite3_step(st) == SQLITE_ROW)
		last = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	r = prepare(db,
		    "INSERT INTO alert_rules(name, kind, metric, op, threshold, regex, for_ms,"
		    " host_id, webhook, email, created_ms, exec_cursor)"
		    " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
		    &st);
	if (r < 0)
		return r;
	bind_rule(st, rule);
	sqlite3_bind_int64(st, 11, (sqlite3_int64)now_ms);
	sqlite3_bind_int64(st, 12, last);
	r = sqlite3_step(st) == SQLITE_DONE ? 0 : -EIO;
	if (r == 0)
		*ret_id = sqlite3_last_insert_rowid(sq_h(db));
	sqlite3_finalize(st);
	return r;
}

int sq_alert_update(struct db *db, const struct alert_rule *rule)
{
	sqlite3_stmt *st = NULL;
	int r;

	r = prepare(db,
		    "UPDATE alert_rules SET name = ?1, kind = ?2, metric = ?3, op = ?4,"
		    " threshold = ?5, regex = ?6, for_ms = ?7, host_id = ?8, webhook = ?9,"
		    " email = ?10 WHERE id = ?11",
		    &st);
	if (r < 0)
		return r;
	bind_rule(st, rule);
	sqlite3_bind_int64(st, 11, rule->id);
	r = sqlite3_step(st) == SQLITE_DONE ? 0 : -EIO;
	if (r == 0 && sqlite3_changes(sq_h(db)) == 0)
		r = -ENOENT;
	sqlite3_finalize(st);
	return r;
}

static int exec_id(struct db *db, const char *sql, int64_t id, bool *ret_changed)
{
	sqlite3_stmt *st = NULL;
	int r;

	r = prepare(db, sql, &st);
	if (r < 0)
		return r;
	sqlite3_bind_int64(st, 1, id);
	r = sqlite3_step(st) == SQLITE_DONE ? 0 : -EIO;
	if (ret_changed)
		*ret_changed = sqlite3_changes(sq_h(db)) > 0;
	sqlite3_finalize(st);
	return r;
}

int sq_alert_del(struct db *db, int64_t id)
{
	bool changed = false;
	int r;

	r = exec_id(db, "DELETE FROM alert_state WHERE rule_id = ?", id, NULL);
	if (r == 0)
		r = exec_id(db, "DELETE FROM alert_rules WHERE id = ?", id, &changed);
	if (r == 0 && !changed)
		r = -ENOENT;
	return r;
}

static void col_copy(sqlite3_stmt *st, int col, char *ret, size_t size)
{
	const unsigned char *t = sqlite3_column_text(st, col);

	(void)snprintf(ret, size, "%s", t ? (const char *)t : "");
}

static int read_rule(sqlite3_stmt *st, struct alert_rule *ret)
{
	char buf[16];

	memset(ret, 0, sizeof(*ret));
	ret->id = sqlite3_column_int64(st, 0);
	col_copy(st, 1, ret->name, sizeof(ret->name));
	col_copy(st, 2, buf, sizeof(buf));
	if (alert_kind_parse(buf, &ret->kind) < 0)
		return -EIO;
	col_copy(st, 3, ret->metric, sizeof(ret->metric));
	col_copy(st, 4, buf, sizeof(buf));
	if (ret->kind == ALERT_METRIC && alert_op_parse(buf, &ret->op) < 0)
		return -EIO;
	ret->threshold = sqlite3_column_double(st, 5);
	col_copy(st, 6, ret->regex, sizeof(ret->regex));
	ret->for_ms = (uint64_t)sqlite3_column_int64(st, 7);
	ret->have_for = true;
	col_copy(st, 8, ret->host_id, sizeof(ret->host_id));
	col_copy(st, 9, ret->webhook, sizeof(ret->webhook));
	ret->created_ms = (uint64_t)sqlite3_column_int64(st, 10);
	col_copy(st, 12, ret->email, sizeof(ret->email));
	return 0;
}

int sq_alert_get(struct db *db, int64_t id, struct alert_rule *ret)
{
	sqlite3_stmt *st = NULL;
	int r;

	r = prepare(db, "SELECT " RULE_COLUMNS " FROM alert_rules WHERE id = ?", &st);
	if (r < 0)
		return r;
	sqlite3_bind_int64(st, 1, id);
	r = sqlite3_step(st);
	if (r == SQLITE_ROW)
		r = read_rule(st, ret);
	else
		r = r == SQLITE_DONE ? -ENOENT : -EIO;
	sqlite3_finalize(st);
	return r;
}

int sq_alert_foreach(struct db *db, db_alert_rule_cb cb, void *ctx)
{
	sqlite3_stmt *st = NULL;
	struct alert_rule rule;
	int r;

	r = prepare(db, "SELECT " RULE_COLUMNS " FROM alert_rules ORDER BY id", &st);
	if (r < 0)
		return r;
	for (;;) {
		r = sqlite3_step(st);
		if (r != SQLITE_ROW) {
			r = r == SQLITE_DONE ? 0 : -EIO;
			break;
		}
		r = read_rule(st, &rule);
		if (r == 0)
			r = cb(&rule, sqlite3_column_int64(st, 11), ctx);
		if (r != 0)
			break;
	}
	sqlite3_finalize(st);
	return r;
}

int sq_alert_set_cursor(struct db *db, int64_t id, int64_t exec_cursor)
{
	sqlite3_stmt *st = NULL;
	int r;

	r = prepare(db, "UPDATE alert_rules SET exec_cursor = ? WHERE id = ?", &st);
	if (r < 0)
		return r;
	sqlite3_bind_int64(st, 1, exec_cursor);
	sqlite3_bind_int64(st, 2, id);
	r = sqlite3_step(st) == SQLITE_DONE ? 0 : -EIO;
	sqlite3_finalize(st);
	return r;
}

static int add_json_col(struct sbuf *out, sqlite3_stmt *st, int col)
{
	char num[40];

	switch (sqlite3_column_type(st, col)) {
	case SQLITE_INTEGER:
		return json_add_i64(out, sqlite3_column_int64(st, col));
	case SQLITE_FLOAT:
		(void)snprintf(num, sizeof(num), "%.15g", sqlite3_column_double(st, col));
		return sbuf_adds(out, num);
	case SQLITE_TEXT:
		return json_add_text(out, (const char *)sqlite3_column_text(st, col),
				     (size_t)sqlite3_column_bytes(st, col));
	default:
		return sbuf_adds(out, "null");
	}
}

int sq_alert_states_json(struct db *db, struct sbuf *out)
{
	static const char *const names[] = {"rule_id", "name",	    "host_id",	"hostname",
					    "state",   "since_ms",  "fired_ms", "resolved_ms",
					    "value",   "changed_ms"};
	sqlite3_stmt *st = NULL;
	size_t n = 0;
	int r;

	r = prepare(db,
		    "SELECT s.rule_id, a.name, h.host_id, h.hostname, s.state, s.since_ms,"
		    " s.fired_ms, s.resolved_ms, s.value, s.changed_ms"
		    " FROM alert_state s JOIN alert_rules a ON a.id = s.rule_id"
		    " JOIN hosts h ON h.id = s.host WHERE s.fired_ms IS NOT NULL"
		    " ORDER BY s.changed_ms DESC, s.rule_id, h.host_id",
		    &st);
	if (r < 0)
		return r;
	r = sbuf_addc(out, '[');
	while (r == 0) {
		r = sqlite3_step(st);
		if (r != SQLITE_ROW) {
			r = r == SQLITE_DONE ? 0 : -EIO;
			break;
		}
		r = sbuf_adds(out, n++ ? ",{" : "{");
		for (int c = 0; c < 10 && r == 0; c++) {
			if (c)
				r = sbuf_addc(out, ',');
			if (r == 0)
				r = json_add_str(out, names[c], strlen(names[c]));
			if (r == 0)
				r = sbuf_addc(out, ':');
			if (r == 0)
				r = add_json_col(out, st, c);
		}
		if (r == 0)
			r = sbuf_addc(out, '}');
	}
	if (r == 0)
		r = sbuf_addc(out, ']');
	sqlite3_finalize(st);
	return r;
}

int sq_alert_state_get(struct db *db, int64_t rule_id, int64_t host, struct alert_state *ret)
{
	sqlite3_stmt *st = NULL;
	char buf[16];
	int r;

	memset(ret, 0, sizeof(*ret));
	r = prepare(db,
		    "SELECT state, since_ms, fired_ms, resolved_ms, value FROM alert_state"
		    " WHERE rule_id = ? AND host = ?",
		    &st);
	if (r < 0)
		return r;
	sqlite3_bind_int64(st, 1, rule_id);
	sqlite3_bind_int64(st, 2, host);
	r = sqlite3_step(st);
	if (r == SQLITE_ROW) {
		col_copy(st, 0, buf, sizeof(buf));
		ret->state = strcmp(buf, "firing") == 0	    ? ALERT_STATE_FIRING
			     : strcmp(buf, "resolved") == 0 ? ALERT_STATE_RESOLVED
							    : ALERT_STATE_OK;
		ret->have_since = sqlite3_column_type(st, 1) != SQLITE_NULL;
		ret->since_ms = sqlite3_column_int64(st, 1);
		ret->fired_ms = sqlite3_column_int64(st, 2);
		ret->resolved_ms = sqlite3_column_int64(st, 3);
		ret->value = sqlite3_column_double(st, 4);
		r = 0;
	} else {
		r = r == SQLITE_DONE ? 0 : -EIO;
	}
	sqlite3_finalize(st);
	return r;
}

int sq_alert_state_put(struct db *db, int64_t rule_id, int64_t host, const struct alert_state *s,
		       uint64_t now_ms)
{
	sqlite3_stmt *st = NULL;
	int r;

	r = prepare(db,
		    "INSERT OR REPLACE INTO alert_state(rule_id, host, state, since_ms, fired_ms,"
		    " resolved_ms, value, changed_ms) VALUES(?, ?, ?, ?, ?, ?, ?, ?)",
		    &st);
	if (r < 0)
		return r;
	sqlite3_bind_int64(st, 1, rule_id);
	sqlite3_bind_int64(st, 2, host);
	sqlite3_bind_text(st, 3, alert_state_name(s->state), -1, SQLITE_STATIC);
	if (s->have_since)
		sqlite3_bind_int64(st, 4, s->since_ms);
	if (s->fired_ms)
		sqlite3_bind_int64(st, 5, s->fired_ms);
	if (s->resolved_ms)
		sqlite3_bind_int64(st, 6, s->resolved_ms);
	if (s->fired_ms)
		sqlite3_bind_double(st, 7, s->value);
	sqlite3_bind_int64(st, 8, (sqlite3_int64)now_ms);
	r = sqlite3_step(st) == SQLITE_DONE ? 0 : -EIO;
	sqlite3_finalize(st);
	return r;
}

static void read_host(sqlite3_stmt *st, struct alert_host *h)
{
	const unsigned char *name = sqlite3_column_text(st, 2);

	h->key = sqlite3_column_int64(st, 0);
	h->host_id = (const char *)sqlite3_column_text(st, 1);
	h->hostname = name ? (const char *)name : "";
	h->last_seen_ms = sqlite3_column_int64(st, 3);
	h->have_value = sqlite3_column_type(st, 4) != SQLITE_NULL &&
			sqlite3_column_type(st, 5) != SQLITE_NULL;
	h->value = sqlite3_column_double(st, 4);
	h->ts = sqlite3_column_int64(st, 5);
}

static int foreach_host(sqlite3_stmt *st, db_alert_host_cb cb, void *ctx)
{
	struct alert_host h;
	int r;

	for (;;) {
		r = sqlite3_step(st);
		if (r != SQLITE_ROW)
			return r == SQLITE_DONE ? 0 : -EIO;
		read_host(st, &h);
		if (!h.host_id)
			return -EIO;
		r = cb(&h, ctx);
		if (r != 0)
			return r;
	}
}

int sq_alert_hosts(struct db *db, const char *metric, const char *host_id, db_alert_host_cb cb,
		   void *ctx)
{
	const struct metric_def *m = metric ? metric_by_name(metric) : NULL;
	sqlite3_stmt *st = NULL;
	char sql[320];
	int r;

	/* The column names come from the metric table, never from a request. */
	(void)snprintf(sql, sizeof(sql),
		       "SELECT id, host_id, hostname, last_seen_ms, %s, %s FROM hosts"
		       " WHERE ?1 IS NULL OR host_id = ?1 ORDER BY id",
		       m ? m->name : "NULL",
		       !m				 ? "NULL"
		       : strcmp(m->type, "network") == 0 ? "net_ts"
							 : "res_ts");
	r = prepare(db, sql, &st);
	if (r < 0)
		return r;
	if (host_id && host_id[0])
		sqlite3_bind_text(st, 1, host_id, -1, SQLITE_STATIC);
	r = foreach_host(st, cb, ctx);
	sqlite3_finalize(st);
	return r;
}

int sq_alert_firing(struct db *db, int64_t rule_id, db_alert_host_cb cb, void *ctx)
{
	sqlite3_stmt *st = NULL;
	int r;

	r = prepare(db,
		    "SELECT h.id, h.host_id, h.hostname, h.last_seen_ms, s.value, s.since_ms"
		    " FROM alert_state s JOIN hosts h ON h.id = s.host"
		    " WHERE s.rule_id = ? AND s.state = 'firing'",
		    &st);
	if (r < 0)
		return r;
	sqlite3_bind_int64(st, 1, rule_id);
	r = foreach_host(st, cb, ctx);
	sqlite3_finalize(st);
	return r;
}

int sq_alert_execs_after(struct db *db, int64_t cursor, uint64_t limit, db_alert_exec_cb cb,
			 void *ctx, int64_t *ret_last)
{
	sqlite3_stmt *st = NULL;
	int r;

	r = prepare(db,
		    "SELECT h.id, h.host_id, h.hostname, h.last_seen_ms, NULL, e.ts,"
		    " substr(e.hay, 1, instr(e.hay, char(10)) - 1), r.seq, e.id"
		    " FROM execs e JOIN hosts h ON h.id = e.host JOIN records r ON r.id = e.id"
		    " WHERE e.id > ? ORDER BY e.id LIMIT ?",
		    &st);
	if (r < 0)
		return r;
	sqlite3_bind_int64(st, 1, cursor);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)limit);
	for (;;) {
		struct alert_host h;
		const unsigned char *line;
		uint64_t seq = 0;

		r = sqlite3_step(st);
		if (r != SQLITE_ROW) {
			r = r == SQLITE_DONE ? 0 : -EIO;
			break;
		}
		read_host(st, &h);
		line = sqlite3_column_text(st, 6);
		(void)db_seq_parse((const char *)sqlite3_column_text(st, 7), &seq);
		*ret_last = sqlite3_column_int64(st, 8);
		if (!h.host_id) {
			r = -EIO;
			break;
		}
		r = cb(&h, line ? (const char *)line : "", seq, ctx);
		if (r != 0)
			break;
	}
	sqlite3_finalize(st);
	return r;
}
