/* The read API's queries on PostgreSQL (store_pg_impl.h), answering with the same JSON as the
 * SQLite engine's (store_sqlite_api.c) for the same records. */
#include "json_out.h"
#include "sbuf.h"
#include "store_pg_read.h"

#include <errno.h>
#include <string.h>

/* The host's intervals (columns first..first+2, NULL when unknown: 0). */
static int64_t host_interval(const PGresult *r, int row, int first)
{
	int64_t iv[3];

	for (int i = 0; i < 3; i++)
		iv[i] = PQgetisnull(r, row, first + i) ? 0 : pg_get_i64_trunc(r, row, first + i);
	return store_host_interval(iv);
}

int pg_api_hosts(struct db *db, uint64_t now_ms, bool (*connected)(const char *host_id, void *ctx),
		 void *ctx, struct sbuf *out)
{
	/* The first STORE_API_HOST_MEMBERS columns are the members of store_api_host_members;
	 * text in byte order, as SQLite compares it. */
	static const char sql[] =
		"SELECT host_id, hostname, os, kernel, agent_version, collector, last_seen_ms,"
		" first_seen_ms, cpu_percent, ram_total, ram_available, disk_total,"
		" disk_available, res_ts, upload_rate, download_rate, rx_peak_rate, tx_peak_rate,"
		" net_ts, net_interval_ms, res_gap_ms, status_gap_ms"
		" FROM hosts ORDER BY hostname IS NULL, hostname COLLATE \"C\","
		" host_id COLLATE \"C\"";
	PGresult *res = pg_query(db, sql, 0, NULL);
	int r;

	if (!pg_ok(db, res, "reading hosts"))
		return -EIO;
	r = sbuf_addc(out, '[');
	for (int row = 0; row < PQntuples(res) && r == 0; row++) {
		r = sbuf_adds(out, row ? ",{" : "{");
		for (int c = 0; c < STORE_API_HOST_MEMBERS && r == 0; c++)
			r = pg_json_member(out, c == 0, store_api_host_members[c], res, row, c);
		if (r == 0)
			r = store_api_host_end(out, now_ms, pg_get_i64(res, row, 6),
					       host_interval(res, row, STORE_API_HOST_MEMBERS),
					       connected, PQgetvalue(res, row, 0), ctx);
	}
	if (r == 0)
		r = sbuf_addc(out, ']');
	PQclear(res);
	return r;
}

int pg_api_host_key(struct db *db, const char *host_id, int64_t *ret_key)
{
	const char *v[1] = {host_id};
	PGresult *res = pg_query(db, "SELECT id FROM hosts WHERE host_id = $1", 1, v);
	int r = -ENOENT;

	if (!pg_ok(db, res, "reading a host"))
		return -EIO;
	if (PQntuples(res) > 0) {
		*ret_key = pg_get_i64(res, 0, 0);
		r = 0;
	}
	PQclear(res);
	return r;
}

int pg_api_series(struct db *db, const struct db_series_query *q, struct sbuf *out)
{
	static const char raw_sql[] =
		"SELECT ts - ts % $1::bigint AS b, min(value), avg(value), max(value), count(*)"
		" FROM metrics WHERE host = $2::bigint AND metric = $3::int"
		" AND ts BETWEEN $4::bigint AND $5::bigint GROUP BY b ORDER BY b";
	/* Whole minutes: the minute of from and of to included. */
	static const char minute_sql[] =
		"SELECT minute - minute % $1::bigint AS b, min(min), sum(sum) / sum(n)::float8,"
		" max(max), sum(n)::bigint FROM metrics_1m WHERE host = $2::bigint"
		" AND metric = $3::int AND minute BETWEEN $4::bigint - $4::bigint % 60000"
		" AND $5::bigint GROUP BY b ORDER BY b";
	static const char *const cols[] = {"\"t\":[", "],\"min\":[", "],\"avg\":[", "],\"max\":[",
					   "],\"n\":["};
	bool minutes = q->step >= 60000 && q->step % 60000 == 0;
	char step[24], host[24], metric[24], from[24], to[24];
	const char *v[5] = {pg_i64(step, q->step), pg_i64(host, q->host), pg_i64(metric, q->metric),
			    pg_i64(from, q->from), pg_i64(to, q->to)};
	PGresult *res = pg_query(db, minutes ? minute_sql : raw_sql, 5, v);
	int r = 0;

	if (!pg_ok(db, res, "reading a series"))
		return -EIO;
	/* Column by column: the five arrays. */
	for (int c = 0; c < 5 && r == 0; c++) {
		r = sbuf_adds(out, cols[c]);
		for (int row = 0; row < PQntuples(res) && r == 0; row++) {
			if (row)
				r = sbuf_addc(out, ',');
			if (r == 0)
				r = pg_json_col(out, res, row, c);
		}
	}
	if (r == 0)
		r = sbuf_addc(out, ']');
	PQclear(res);
	return r;
}

/* Appends column 0 of every row (the records' JSON bodies) as a JSON array's elements. */
static int add_bodies(const PGresult *res, int rows, struct sbuf *out)
{
	int r = 0;

	for (int row = 0; row < rows && r == 0; row++) {
		if (row)
			r = sbuf_addc(out, ',');
		if (r == 0)
			r = sbuf_add(out, PQgetvalue(res, row, 0),
				     (size_t)PQgetlength(res, row, 0));
	}
	return r;
}

int pg_api_speedtests(struct db *db, int64_t host, int64_t from, int64_t to, uint64_t limit,
		      struct sbuf *out)
{
	char h[24], f[24], t[24], l[24];
	const char *v[4] = {pg_i64(h, host), pg_i64(f, from), pg_i64(t, to),
			    pg_i64(l, limit > INT64_MAX ? INT64_MAX : (int64_t)limit)};
	PGresult *res =
		pg_query(db,
			 "SELECT r.body FROM (SELECT s.id, s.ts FROM speedtests s"
			 " WHERE s.host = $1::bigint AND s.ts BETWEEN $2::bigint AND $3::bigint"
			 " ORDER BY s.ts DESC, s.id DESC LIMIT $4::bigint) x"
			 " JOIN records r ON r.id = x.id AND r.ts = x.ts"
			 " ORDER BY x.ts DESC, x.id DESC",
			 4, v);
	int r;

	if (!pg_ok(db, res, "reading speedtests"))
		return -EIO;
	r = sbuf_addc(out, '[');
	if (r == 0)
		r = add_bodies(res, PQntuples(res), out);
	if (r == 0)
		r = sbuf_addc(out, ']');
	PQclear(res);
	return r;
}

/*
 * One statement per combination of the optional conditions (host, user, q, cursor), so that
 * each is prepared once and planned for the index that fits (execs_host_ts, execs_user_ts,
 * execs_ts, or the trigram index for a rare q); an unused parameter is NULL and tested as such
 * (a one-time filter). q is a LIKE pattern: LIKE, not strpos(), is what pg_trgm indexes.
 * The page is chosen in execs alone and only its rows are joined to their records: joined
 * first, the planner hashes every matching record (1.5 s for the newest 100 of 1,000,000).
 */
#define EXECS_HEAD                                                                                 \
	"SELECT r.body, x.ts, x.id FROM (SELECT e.id, e.ts FROM execs e"                           \
	" WHERE e.ts BETWEEN $1::bigint AND $2::bigint"
#define EXECS_TAIL                                                                                 \
	" ORDER BY e.ts DESC, e.id DESC LIMIT $8::bigint) x"                                       \
	" JOIN records r ON r.id = x.id AND r.ts = x.ts ORDER BY x.ts DESC, x.id DESC"
#define HOST_NO		 " AND $3::bigint IS NULL"
#define HOST_YES	 " AND e.host = $3::bigint"
#define USER_NO		 " AND $4::text IS NULL"
#define USER_YES	 " AND e.\"user\" = $4::text"
#define Q_NO		 " AND $5::text IS NULL"
#define Q_YES		 " AND e.hay LIKE $5::text"
#define CUR_NO		 " AND $6::bigint IS NULL AND $7::bigint IS NULL"
#define CUR_YES		 " AND (e.ts, e.id) < ($6::bigint, $7::bigint)"
#define EXECS_C(H, U, Q) EXECS_HEAD H U Q CUR_NO EXECS_TAIL, EXECS_HEAD H U Q CUR_YES EXECS_TAIL
#define EXECS_Q(H, U)	 EXECS_C(H, U, Q_NO), EXECS_C(H, U, Q_YES)
#define EXECS_U(H)	 EXECS_Q(H, USER_NO), EXECS_Q(H, USER_YES)

/* Index: host << 3 | user << 2 | q << 1 | cursor. */
static const char *const execs_sql[16] = {EXECS_U(HOST_NO), EXECS_U(HOST_YES)};

/* %q% with LIKE's metacharacters (% _ \) escaped. */
static int like_pattern(struct sbuf *out, const char *q)
{
	int r = sbuf_addc(out, '%');

	for (const char *c = q; r == 0 && *c; c++) {
		if (*c == '%' || *c == '_' || *c == '\\')
			r = sbuf_addc(out, '\\');
		if (r == 0)
			r = sbuf_addc(out, *c);
	}
	if (r == 0)
		r = sbuf_addc(out, '%');
	return r;
}

/*
 * Whether statements are planned for their parameters every time (plan_cache_mode), around a
 * search for q: a prepared statement switches to one generic plan after five runs, and the
 * generic plan cannot tell a rare q (the trigram index, then a sort of a few rows) from a
 * common one (execs_ts newest first until the page is full): 0.3 ms planned for the value,
 * 40 ms generic, for a rare word in 300,000 execs. Ingest's statements keep their generic
 * plans.
 */
static int plan_custom(struct db *db, bool on)
{
	static const char on_sql[] =
		"SELECT set_config('plan_cache_mode', 'force_custom_plan', false)";
	static const char off_sql[] = "SELECT set_config('plan_cache_mode', 'auto', false)";

	return pg_query_ok(db, on ? on_sql : off_sql, 0, NULL);
}

int pg_api_execs(struct db *db, const struct db_exec_query *q, struct sbuf *out, bool *ret_more,
		 int64_t *ret_next_ts, int64_t *ret_next_id)
{
	int which =
		(q->host ? 8 : 0) | (q->user ? 4 : 0) | (q->q ? 2 : 0) | (q->have_cursor ? 1 : 0);
	char from[24], to[24], host[24], cts[24], cid[24], lim[24];
	struct sbuf pattern = {0};
	const char *v[8] = {
		pg_i64(from, q->from), pg_i64(to, q->to), NULL, q->user, NULL, NULL, NULL, NULL};
	uint64_t limit = q->limit < INT64_MAX ? q->limit : INT64_MAX - 1;
	PGresult *res;
	int rows, r = 0;

	*ret_more = false;
	if (q->host)
		v[2] = pg_i64(host, q->host);
	if (q->q) {
		r = like_pattern(&pattern, q->q);
		v[4] = pattern.s;
	}
	if (q->have_cursor) {
		v[5] = pg_i64(cts, q->cursor_ts);
		v[6] = pg_i64(cid, q->cursor_id);
	}
	v[7] = pg_i64(lim, (int64_t)limit + 1);
	if (r == 0 && q->q)
		r = plan_custom(db, true);
	if (r < 0)
		goto out;
	res = pg_query(db, execs_sql[which], 8, v);
	if (q->q && plan_custom(db, false) < 0) {
		PQclear(res);
		res = NULL;
	}
	if (!pg_ok(db, res, "searching execs")) {
		r = -EIO;
		goto out;
	}
	rows = PQntuples(res);
	if ((uint64_t)rows > limit) {
		*ret_more = true;
		rows = (int)limit;
	}
	r = sbuf_addc(out, '[');
	if (r == 0)
		r = add_bodies(res, rows, out);
	if (r == 0)
		r = sbuf_addc(out, ']');
	if (rows > 0) {
		*ret_next_ts = pg_get_i64(res, rows - 1, 1);
		*ret_next_id = pg_get_i64(res, rows - 1, 2);
	}
	PQclear(res);
out:
	sbuf_free(&pattern);
	return r;
}

int pg_api_records_after(struct db *db, int64_t after_id, const char *host_id, const char *type,
			 uint64_t limit, db_api_record_cb cb, void *ctx, int64_t *ret_last)
{
	char after[24], lim[24];
	const char *v[4] = {pg_i64(after, after_id), host_id, type,
			    pg_i64(lim, limit > INT64_MAX ? INT64_MAX : (int64_t)limit)};
	PGresult *res = pg_query(db,
				 "SELECT id, body FROM records WHERE id > $1::bigint"
				 " AND ($2::text IS NULL OR host_id = $2::text)"
				 " AND ($3::text IS NULL OR type = $3::text)"
				 " ORDER BY id LIMIT $4::bigint",
				 4, v);
	int r = 0;

	if (!pg_ok(db, res, "reading new records"))
		return -EIO;
	for (int row = 0; row < PQntuples(res) && r == 0; row++) {
		int64_t id = pg_get_i64(res, row, 0);

		*ret_last = id;
		r = cb(id, PQgetvalue(res, row, 1), (size_t)PQgetlength(res, row, 1), ctx);
	}
	PQclear(res);
	return r;
}

int pg_api_last_record(struct db *db, int64_t *ret)
{
	PGresult *res = pg_query(db, "SELECT coalesce(max(id), 0) FROM records", 0, NULL);

	if (!pg_ok(db, res, "reading the last record"))
		return -EIO;
	*ret = pg_get_i64(res, 0, 0);
	PQclear(res);
	return 0;
}
