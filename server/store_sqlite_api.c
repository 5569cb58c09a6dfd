#include "store_sqlite_impl.h"

#include "json_out.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static int prepare(struct db *db, const char *sql, sqlite3_stmt **ret)
{
	return sqlite3_prepare_v2(sq_h(db), sql, -1, ret, NULL) == SQLITE_OK ? 0 : -EIO;
}

int sq_token_auth(struct db *db, const char *hash, struct db_auth *ret)
{
	sqlite3_stmt *st = NULL;
	char role[16];
	int r;

	/* Found as store_sqlite.c finds any credential (the hash compared in constant time); its
	 * role only then, by the hash now known to be stored. */
	r = db_token_lookup(db, hash, ret->account, sizeof(ret->account), &ret->expires_ms);
	if (r < 0)
		return r;
	r = prepare(db, "SELECT role FROM tokens WHERE hash = ?", &st);
	if (r < 0)
		return r;
	sqlite3_bind_text(st, 1, hash, -1, SQLITE_STATIC);
	r = sqlite3_step(st);
	if (r == SQLITE_ROW) {
		r = sq_column_text(st, 0, role, sizeof(role));
		/* An unknown role grants nothing: taken as agent. */
		if (r == 0 && role_parse(role, &ret->role) < 0)
			ret->role = ROLE_AGENT;
	} else {
		r = r == SQLITE_DONE ? -ENOENT : -EIO;
	}
	sqlite3_finalize(st);
	return r;
}

int sq_account_set_role(struct db *db, const char *name, enum role role)
{
	sqlite3_stmt *st = NULL;
	int r;

	r = prepare(db, "UPDATE accounts SET role = ? WHERE name = ?", &st);
	if (r < 0)
		return r;
	sqlite3_bind_text(st, 1, role_name(role), -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
	r = sqlite3_step(st) == SQLITE_DONE ? 0 : -EIO;
	if (r == 0 && sqlite3_changes(sq_h(db)) == 0)
		r = -ENOENT;
	sqlite3_finalize(st);
	return r;
}

int sq_account_role(struct db *db, const char *name, enum role *ret)
{
	sqlite3_stmt *st = NULL;
	char role[16];
	int r;

	r = prepare(db, "SELECT role FROM accounts WHERE name = ?", &st);
	if (r < 0)
		return r;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	r = sqlite3_step(st);
	if (r == SQLITE_ROW) {
		r = sq_column_text(st, 0, role, sizeof(role));
		if (r == 0 && role_parse(role, ret) < 0)
			r = -EIO;
	} else {
		r = r == SQLITE_DONE ? -ENOENT : -EIO;
	}
	sqlite3_finalize(st);
	return r;
}

static int add_double(struct sbuf *out, double v)
{
	char buf[40];
	int n = snprintf(buf, sizeof(buf), "%.15g", v);

	return sbuf_add(out, buf, (size_t)n);
}

/* A column as a JSON value: integer, real, text (a JSON string) or null. */
static int add_col(struct sbuf *out, sqlite3_stmt *st, int col)
{
	switch (sqlite3_column_type(st, col)) {
	case SQLITE_INTEGER:
		return json_add_i64(out, sqlite3_column_int64(st, col));
	case SQLITE_FLOAT:
		return add_double(out, sqlite3_column_double(st, col));
	case SQLITE_TEXT:
		return json_add_text(out, (const char *)sqlite3_column_text(st, col),
				     (size_t)sqlite3_column_bytes(st, col));
	default:
		return sbuf_adds(out, "null");
	}
}

/* ,"name":value */
static int add_member(struct sbuf *out, bool first, const char *name, sqlite3_stmt *st, int col)
{
	int r = first ? 0 : sbuf_addc(out, ',');

	if (r == 0)
		r = json_add_str(out, name, strlen(name));
	if (r == 0)
		r = sbuf_addc(out, ':');
	if (r == 0)
		r = add_col(out, st, col);
	return r;
}

/* The host's intervals (columns first..first+2, NULL when unknown: 0). */
static int64_t host_interval(sqlite3_stmt *st, int first)
{
	int64_t iv[3];

	for (int i = 0; i < 3; i++)
		iv[i] = sqlite3_column_int64(st, first + i);
	return store_host_interval(iv);
}

int sq_api_hosts(struct db *db, uint64_t now_ms, bool (*connected)(const char *host_id, void *ctx),
		 void *ctx, struct sbuf *out)
{
	/* The first STORE_API_HOST_MEMBERS columns are the members of store_api_host_members. */
	static const char sql[] =
		"SELECT host_id, hostname, os, kernel, agent_version, collector, last_seen_ms,"
		" first_seen_ms, cpu_percent, ram_total, ram_available, disk_total,"
		" disk_available, res_ts, upload_rate, download_rate, rx_peak_rate, tx_peak_rate,"
		" net_ts, net_interval_ms, res_gap_ms, status_gap_ms"
		" FROM hosts ORDER BY hostname IS NULL, hostname, host_id";
	sqlite3_stmt *st = NULL;
	bool first_host = true;
	int r;

	r = prepare(db, sql, &st);
	if (r < 0)
		return r;
	r = sbuf_addc(out, '[');
	while (r == 0) {
		r = sqlite3_step(st);
		if (r != SQLITE_ROW) {
			r = r == SQLITE_DONE ? 0 : -EIO;
			break;
		}
		r = sbuf_adds(out, first_host ? "{" : ",{");
		first_host = false;
		for (int c = 0; c < STORE_API_HOST_MEMBERS && r == 0; c++)
			r = add_member(out, c == 0, store_api_host_members[c], st, c);
		if (r == 0)
			r = store_api_host_end(out, now_ms, sqlite3_column_int64(st, 6),
					       host_interval(st, STORE_API_HOST_MEMBERS), connected,
					       (const char *)sqlite3_column_text(st, 0), ctx);
	}
	if (r == 0)
		r = sbuf_addc(out, ']');
	sqlite3_finalize(st);
	return r;
}

int sq_api_host_key(struct db *db, const char *host_id, int64_t *ret_key)
{
	sqlite3_stmt *st = NULL;
	int r;

	r = prepare(db, "SELECT id FROM hosts WHERE host_id = ?", &st);
	if (r < 0)
		return r;
	sqlite3_bind_text(st, 1, host_id, -1, SQLITE_STATIC);
	r = sqlite3_step(st);
	if (r == SQLITE_ROW) {
		*ret_key = sqlite3_column_int64(st, 0);
		r = 0;
	} else {
		r = r == SQLITE_DONE ? -ENOENT : -EIO;
	}
	sqlite3_finalize(st);
	return r;
}

int sq_api_series(struct db *db, const struct db_series_query *q, struct sbuf *out)
{
	static const char raw_sql[] =
		"SELECT ts - ts % ?1 AS b, min(value), avg(value), max(value), count(*)"
		" FROM metrics WHERE host = ?2 AND metric = ?3 AND ts BETWEEN ?4 AND ?5"
		" GROUP BY b ORDER BY b";
	/* Whole minutes: the minute of from and of to included. */
	static const char minute_sql[] =
		"SELECT minute - minute % ?1 AS b, min(min), sum(sum) / sum(n), max(max), sum(n)"
		" FROM metrics_1m WHERE host = ?2 AND metric = ?3"
		" AND minute BETWEEN ?4 - ?4 % 60000 AND ?5 GROUP BY b ORDER BY b";
	static const char *const cols[] = {"\"t\":[", "],\"min\":[", "],\"avg\":[", "],\"max\":[",
					   "],\"n\":["};
	bool minutes = q->step >= 60000 && q->step % 60000 == 0;
	sqlite3_stmt *st = NULL;
	struct sbuf col[5] = {{0}};
	bool first = true;
	int r;

	r = prepare(db, minutes ? minute_sql : raw_sql, &st);
	if (r < 0)
		return r;
	sqlite3_bind_int64(st, 1, q->step);
	sqlite3_bind_int64(st, 2, q->host);
	sqlite3_bind_int(st, 3, q->metric);
	sqlite3_bind_int64(st, 4, q->from);
	sqlite3_bind_int64(st, 5, q->to);
	/* Rows come bucket by bucket; each of the five arrays is built on its own. */
	for (int c = 0; c < 5; c++) {
		r = sbuf_reserve(&col[c], 0);
		if (r < 0)
			goto out;
	}
	for (;;) {
		r = sqlite3_step(st);
		if (r != SQLITE_ROW) {
			r = r == SQLITE_DONE ? 0 : -EIO;
			break;
		}
		r = 0;
		for (int c = 0; c < 5 && r == 0; c++) {
			if (!first)
				r = sbuf_addc(&col[c], ',');
			if (r == 0)
				r = add_col(&col[c], st, c);
		}
		if (r < 0)
			goto out;
		first = false;
	}
	for (int c = 0; c < 5 && r == 0; c++) {
		r = sbuf_adds(out, cols[c]);
		if (r == 0)
			r = sbuf_add(out, col[c].s, col[c].len);
	}
	if (r == 0)
		r = sbuf_addc(out, ']');
out:
	for (int c = 0; c < 5; c++)
		sbuf_free(&col[c]);
	sqlite3_finalize(st);
	return r;
}

/* Appends the bodies of column 0 of every row as a JSON array's elements. */
static int add_bodies(sqlite3_stmt *st, struct sbuf *out, uint64_t limit, uint64_t *ret_n)
{
	uint64_t n = 0;
	int r;

	for (;;) {
		r = sqlite3_step(st);
		if (r != SQLITE_ROW)
			return r == SQLITE_DONE ? 0 : -EIO;
		if (n == limit)
			break;
		r = n ? sbuf_addc(out, ',') : 0;
		if (r == 0)
			r = sbuf_add(out, (const char *)sqlite3_column_text(st, 0),
				     (size_t)sqlite3_column_bytes(st, 0));
		if (r < 0)
			return r;
		n++;
		if (ret_n)
			*ret_n = n;
	}
	return 1; /* more rows than limit */
}

int sq_api_speedtests(struct db *db, int64_t host, int64_t from, int64_t to, uint64_t limit,
		      struct sbuf *out)
{
	sqlite3_stmt *st = NULL;
	int r;

	r = prepare(db,
		    "SELECT r.body FROM speedtests s JOIN records r ON r.id = s.id"
		    " WHERE s.host = ? AND s.ts BETWEEN ? AND ? ORDER BY s.ts DESC, s.id DESC"
		    " LIMIT ?",
		    &st);
	if (r < 0)
		return r;
	sqlite3_bind_int64(st, 1, host);
	sqlite3_bind_int64(st, 2, from);
	sqlite3_bind_int64(st, 3, to);
	sqlite3_bind_int64(st, 4, (sqlite3_int64)limit);
	r = sbuf_addc(out, '[');
	if (r == 0)
		r = add_bodies(st, out, limit, NULL);
	if (r >= 0)
		r = sbuf_addc(out, ']');
	sqlite3_finalize(st);
	return r;
}

/* The scan of execs newest first gives up after this many SQLite VM steps (about 20 ms
 * here) when it has not filled the page; the search then starts from the trigram index. */
#define EXEC_SCAN_BUDGET_STEPS 200
#define EXEC_SCAN_STEP_UNIT    1000

struct scan_budget {
	unsigned int left;
};

static int scan_progress(void *ctx)
{
	struct scan_budget *b = ctx;

	if (b->left == 0)
		return 1; /* interrupts the statement: SQLITE_INTERRUPT */
	b->left--;
	return 0;
}

/* One attempt at the exec page: with the trigram index as a prefilter (use_fts) or by
 * scanning newest first within budget (budget NULL: no limit). -EINTR when out of budget. */
static int execs_page(struct db *db, const struct db_exec_query *q, bool use_fts,
		      struct scan_budget *budget, struct sbuf *out, bool *ret_more,
		      int64_t *ret_next_ts, int64_t *ret_next_id)
{
	struct sbuf sql = {0};
	struct sbuf match = {0};
	sqlite3_stmt *st = NULL;
	uint64_t n = 0;
	int r;

	*ret_more = false;
	/* Only the conditions given, so that the planner picks the index that fits
	 * (execs_host_ts, execs_user_ts or execs_ts) and walks it newest first. */
	r = sbuf_adds(&sql, "SELECT r.body, e.ts, e.id FROM execs e JOIN records r ON r.id = e.id"
			    " WHERE e.ts BETWEEN ?1 AND ?2");
	if (r == 0 && q->host)
		r = sbuf_adds(&sql, " AND e.host = ?3");
	if (r == 0 && q->user)
		r = sbuf_adds(&sql, " AND e.user = ?4");
	if (r == 0 && q->q)
		r = sbuf_adds(&sql, " AND instr(e.hay, ?5) > 0");
	if (r == 0 && use_fts)
		r = sbuf_adds(
			&sql,
			" AND e.id IN (SELECT rowid FROM execs_fts WHERE execs_fts MATCH ?9)");
	if (r == 0 && q->have_cursor)
		r = sbuf_adds(&sql, " AND (e.ts, e.id) < (?6, ?7)");
	if (r == 0)
		r = sbuf_adds(&sql, " ORDER BY e.ts DESC, e.id DESC LIMIT ?8");
	/* The FTS5 string of q: in double quotes, quotes doubled. */
	if (r == 0 && use_fts) {
		r = sbuf_addc(&match, '"');
		for (const char *c = q->q; r == 0 && *c; c++)
			r = *c == '"' ? sbuf_adds(&match, "\"\"") : sbuf_addc(&match, *c);
		if (r == 0)
			r = sbuf_addc(&match, '"');
	}
	if (r < 0)
		goto out;
	r = prepare(db, sql.s, &st);
	if (r < 0)
		goto out;
	sqlite3_bind_int64(st, 1, q->from);
	sqlite3_bind_int64(st, 2, q->to);
	if (q->host)
		sqlite3_bind_int64(st, 3, q->host);
	if (q->user)
		sqlite3_bind_text(st, 4, q->user, -1, SQLITE_STATIC);
	if (q->q)
		sqlite3_bind_text(st, 5, q->q, -1, SQLITE_STATIC);
	if (q->have_cursor) {
		sqlite3_bind_int64(st, 6, q->cursor_ts);
		sqlite3_bind_int64(st, 7, q->cursor_id);
	}
	sqlite3_bind_int64(st, 8, (sqlite3_int64)q->limit + 1);
	if (use_fts)
		sqlite3_bind_text(st, 9, match.s, (int)match.len, SQLITE_STATIC);
	if (budget)
		sqlite3_progress_handler(sq_h(db), EXEC_SCAN_STEP_UNIT, scan_progress, budget);
	r = sbuf_addc(out, '[');
	while (r == 0) {
		r = sqlite3_step(st);
		if (r != SQLITE_ROW) {
			r = r == SQLITE_DONE ? 0 : r == SQLITE_INTERRUPT ? -EINTR : -EIO;
			break;
		}
		if (n == q->limit) {
			*ret_more = true;
			r = 0;
			break;
		}
		r = n ? sbuf_addc(out, ',') : 0;
		if (r == 0)
			r = sbuf_add(out, (const char *)sqlite3_column_text(st, 0),
				     (size_t)sqlite3_column_bytes(st, 0));
		*ret_next_ts = sqlite3_column_int64(st, 1);
		*ret_next_id = sqlite3_column_int64(st, 2);
		n++;
	}
	if (budget)
		sqlite3_progress_handler(sq_h(db), 0, NULL, NULL);
	if (r == 0)
		r = sbuf_addc(out, ']');
out:
	sqlite3_finalize(st);
	sbuf_free(&sql);
	sbuf_free(&match);
	return r;
}

int sq_api_execs(struct db *db, const struct db_exec_query *q, struct sbuf *out, bool *ret_more,
		 int64_t *ret_next_ts, int64_t *ret_next_id)
{
	struct scan_budget budget = {.left = EXEC_SCAN_BUDGET_STEPS};
	size_t start = out->len;
	int r;

	/* Trigrams need 3 bytes: shorter queries are scanned to the end. */
	if (!q->q || strlen(q->q) < 3)
		return execs_page(db, q, false, NULL, out, ret_more, ret_next_ts, ret_next_id);
	/* A common substring fills the page soon by scanning newest first; a rare one is
	 * found through the index (whose candidates are then sorted). */
	r = execs_page(db, q, false, &budget, out, ret_more, ret_next_ts, ret_next_id);
	if (r != -EINTR)
		return r;
	out->len = start;
	out->s[start] = '\0';
	return execs_page(db, q, true, NULL, out, ret_more, ret_next_ts, ret_next_id);
}

int sq_api_records_after(struct db *db, int64_t after_id, const char *host_id, const char *type,
			 uint64_t limit, db_api_record_cb cb, void *ctx, int64_t *ret_last)
{
	sqlite3_stmt *st = NULL;
	int r;

	/* Unary + keeps the planner on the rowid range (the newest few records). */
	r = prepare(db,
		    "SELECT id, body FROM records WHERE id > ?1"
		    " AND (?2 IS NULL OR +host_id = ?2) AND (?3 IS NULL OR +type = ?3)"
		    " ORDER BY id LIMIT ?4",
		    &st);
	if (r < 0)
		return r;
	sqlite3_bind_int64(st, 1, after_id);
	if (host_id)
		sqlite3_bind_text(st, 2, host_id, -1, SQLITE_STATIC);
	if (type)
		sqlite3_bind_text(st, 3, type, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, (sqlite3_int64)limit);
	for (;;) {
		int64_t id;

		r = sqlite3_step(st);
		if (r != SQLITE_ROW) {
			r = r == SQLITE_DONE ? 0 : -EIO;
			break;
		}
		id = sqlite3_column_int64(st, 0);
		*ret_last = id;
		r = cb(id, (const char *)sqlite3_column_text(st, 1),
		       (size_t)sqlite3_column_bytes(st, 1), ctx);
		if (r != 0)
			break;
	}
	sqlite3_finalize(st);
	return r;
}

int sq_api_last_record(struct db *db, int64_t *ret)
{
	sqlite3_stmt *st = NULL;
	int r;

	r = prepare(db, "SELECT coalesce(max(id), 0) FROM records", &st);
	if (r < 0)
		return r;
	r = sqlite3_step(st);
	if (r == SQLITE_ROW) {
		*ret = sqlite3_column_int64(st, 0);
		r = 0;
	} else {
		r = -EIO;
	}
	sqlite3_finalize(st);
	return r;
}
