/*
 * What the SQLite engine's triggers do for each inserted record (store_sqlite_schema.c), done
 * for a whole batch of records in a few statements (pg_api_apply(), store_pg_impl.h).
 *
 * The batch goes to the database as one jsonb array parameter per statement, the records in
 * insertion order ("i"), each with its records.id, host, type, ts, received_ms and body:
 *   1. hosts: a row per host (first/last seen), for every type SQLite keeps in hosts;
 *   2. hosts: the latest hello, resources, network and status figures, merged with the
 *      stored row as applying the records one by one would (below);
 *   3. metrics: the numeric members of resources/network records that are metrics
 *      (metric_names), and their per-minute rollups (metrics_1m) for the samples actually
 *      inserted, by INSERT ... ON CONFLICT DO UPDATE;
 *   4. execs (the search text: argv joined by spaces, user, cwd, tty, one per line);
 *   5. speedtests.
 * Each statement runs only when the batch holds records it uses. Statement 1 locks every host
 * row the batch touches, in host_id order: two nodes' batches cannot deadlock on hosts (the
 * later statements update rows already locked). New hosts are numbered in that order too,
 * where SQLite numbers them by arrival; nothing shows hosts.id.
 *
 * One by one, a record of type T newer than or as new as the stored T ts replaces the T
 * figures and a strictly newer one sets T's gap (ts minus the previous newest ts). Over a
 * batch that is: the figures of the last of the records with the batch's newest ts M, and
 * the gap of the first record reaching M, whose predecessor is the newest ts before it in
 * the batch ("before", a window over the batch) or the stored one, whichever is newer.
 */
#include "json_out.h"
#include "sbuf.h"
#include "store_pg_read.h"

#include <errno.h>
#include <string.h>

/* The part of a record a statement reads. */
enum {
	PART_HOST = 1 << 0,	/* statement 1 */
	PART_FIGURES = 1 << 1,	/* 2 */
	PART_METRICS = 1 << 2,	/* 3 */
	PART_EXEC = 1 << 3,	/* 4 */
	PART_SPEEDTEST = 1 << 4 /* 5 */
};

#define N_PARTS 5

/* bodies: the parts whose statement reads the body of a record of this type (statement 2
 * reads only the ts of a status record: its body would be parsed as jsonb for nothing). */
static const struct {
	const char *type;
	unsigned int parts;
	unsigned int bodies;
} type_parts[] = {
	{"hello", PART_HOST | PART_FIGURES, PART_FIGURES},
	{"resources", PART_HOST | PART_FIGURES | PART_METRICS, PART_FIGURES | PART_METRICS},
	{"network", PART_HOST | PART_FIGURES | PART_METRICS, PART_FIGURES | PART_METRICS},
	{"status", PART_HOST | PART_FIGURES, 0},
	{"exec", PART_HOST | PART_EXEC, PART_EXEC},
	{"speedtest", PART_HOST | PART_SPEEDTEST, 0},
};

static const char hosts_sql[] =
	"INSERT INTO hosts(host_id, first_seen_ms, last_seen_ms)"
	" SELECT e->>'h', min((e->>'rcv')::bigint), max((e->>'rcv')::bigint)"
	" FROM jsonb_array_elements($1::jsonb) e GROUP BY 1 ORDER BY 1"
	" ON CONFLICT (host_id) DO UPDATE SET"
	" first_seen_ms = least(hosts.first_seen_ms, excluded.first_seen_ms),"
	" last_seen_ms = greatest(hosts.last_seen_ms, excluded.last_seen_ms)";

/* The latest value of member M of type T in the batch: of the last record with the newest ts. */
#define LATEST(T, F, M)                                                                            \
	"(array_agg(" F "(b->'" M "') ORDER BY ts DESC, i DESC)"                                   \
	" FILTER (WHERE type = '" T "'))[1] AS " M
#define HELLO(M) "(array_agg(b->>'" M "' ORDER BY i DESC) FILTER (WHERE type = 'hello'))[1] AS " M
#define BEFORE(T, AS)                                                                              \
	"(array_agg(before ORDER BY i DESC) FILTER (WHERE type = '" T "'"                          \
	" AND (before IS NULL OR ts > before)))[1] AS " AS
#define SET_HELLO(M) M " = CASE WHEN a.hello THEN a." M " ELSE h." M " END"
#define SET_LATEST(TS, M)                                                                          \
	M " = CASE WHEN a." TS " >= coalesce(h." TS ", a." TS ")"                                  \
	  " THEN a." M " ELSE h." M " END"
#define SET_GAP(TS, BEFORE, GAP)                                                                   \
	GAP " = CASE WHEN a." TS " > greatest(h." TS ", a." BEFORE ")"                             \
	    " THEN a." TS " - greatest(h." TS ", a." BEFORE ") ELSE h." GAP " END"

/* clang-format off */
static const char figures_sql[] =
	"WITH r AS (SELECT (e->>'i')::int AS i, e->>'h' AS host_id, e->>'t' AS type,"
	"  (e->>'ts')::bigint AS ts, e->'b' AS b FROM jsonb_array_elements($1::jsonb) e),"
	" w AS (SELECT r.*, max(ts) OVER (PARTITION BY host_id, type ORDER BY i"
	"  ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS before FROM r),"
	" a AS (SELECT host_id, bool_or(type = 'hello') AS hello,"
	"  " HELLO("hostname") ", " HELLO("os") ", " HELLO("kernel") ","
	"  " HELLO("agent_version") ", " HELLO("collector") ","
	"  max(ts) FILTER (WHERE type = 'resources') AS res_ts, " BEFORE("resources", "res_before") ","
	"  " LATEST("resources", "srvmon_f8", "cpu_percent") ","
	"  " LATEST("resources", "srvmon_num", "ram_total") ","
	"  " LATEST("resources", "srvmon_num", "ram_available") ","
	"  " LATEST("resources", "srvmon_num", "disk_total") ","
	"  " LATEST("resources", "srvmon_num", "disk_available") ","
	"  max(ts) FILTER (WHERE type = 'network') AS net_ts,"
	"  (array_agg(srvmon_num(b->'interval_ms') ORDER BY ts DESC, i DESC)"
	"   FILTER (WHERE type = 'network'))[1] AS net_interval_ms,"
	"  " LATEST("network", "srvmon_num", "upload_rate") ","
	"  " LATEST("network", "srvmon_num", "download_rate") ","
	"  " LATEST("network", "srvmon_num", "rx_peak_rate") ","
	"  " LATEST("network", "srvmon_num", "tx_peak_rate") ","
	"  max(ts) FILTER (WHERE type = 'status') AS status_ts,"
	"  " BEFORE("status", "status_before")
	"  FROM w GROUP BY host_id)"
	" UPDATE hosts h SET " SET_HELLO("hostname") ", " SET_HELLO("os") ", " SET_HELLO("kernel") ","
	" " SET_HELLO("agent_version") ", " SET_HELLO("collector") ","
	" " SET_GAP("res_ts", "res_before", "res_gap_ms") ","
	" " SET_LATEST("res_ts", "cpu_percent") ", " SET_LATEST("res_ts", "ram_total") ","
	" " SET_LATEST("res_ts", "ram_available") ", " SET_LATEST("res_ts", "disk_total") ","
	" " SET_LATEST("res_ts", "disk_available") ","
	" res_ts = greatest(h.res_ts, a.res_ts),"
	" " SET_LATEST("net_ts", "net_interval_ms") ", " SET_LATEST("net_ts", "upload_rate") ","
	" " SET_LATEST("net_ts", "download_rate") ", " SET_LATEST("net_ts", "rx_peak_rate") ","
	" " SET_LATEST("net_ts", "tx_peak_rate") ","
	" net_ts = greatest(h.net_ts, a.net_ts),"
	" " SET_GAP("status_ts", "status_before", "status_gap_ms") ","
	" status_ts = greatest(h.status_ts, a.status_ts)"
	" FROM a WHERE h.host_id = a.host_id";
/* clang-format on */

/* A sample already stored (the same host, metric and ts) is not counted twice. */
static const char metrics_sql[] =
	"WITH ins AS (INSERT INTO metrics(host, metric, ts, value)"
	"  SELECT h.id, m.id, (e->>'ts')::bigint, srvmon_f8(j.value)"
	"  FROM jsonb_array_elements($1::jsonb) e JOIN hosts h ON h.host_id = e->>'h'"
	"  CROSS JOIN LATERAL jsonb_each(e->'b') j"
	"  JOIN metric_names m ON m.name = j.key AND m.type = e->>'t'"
	"  WHERE srvmon_f8(j.value) IS NOT NULL ORDER BY (e->>'i')::int"
	"  ON CONFLICT DO NOTHING RETURNING host, metric, ts, value)"
	" INSERT INTO metrics_1m(host, metric, minute, n, sum, min, max)"
	"  SELECT host, metric, ts - ts % 60000, count(*), sum(value), min(value), max(value)"
	"  FROM ins GROUP BY 1, 2, 3 ORDER BY 1, 2, 3"
	" ON CONFLICT (host, metric, minute) DO UPDATE SET n = metrics_1m.n + excluded.n,"
	"  sum = metrics_1m.sum + excluded.sum, min = least(metrics_1m.min, excluded.min),"
	"  max = greatest(metrics_1m.max, excluded.max)";

/* argv as SQLite's json_each() walks it: an array's elements, an object's values, a scalar
 * itself; JSON nulls left out by string_agg(). */
static const char execs_sql[] =
	"INSERT INTO execs(id, host, ts, \"user\", hay)"
	" SELECT (e->>'id')::bigint, h.id, (e->>'ts')::bigint, coalesce(e->'b'->>'user', ''),"
	"  coalesce((SELECT string_agg(x, ' ' ORDER BY o) FROM jsonb_array_elements_text("
	"   CASE jsonb_typeof(e->'b'->'argv') WHEN 'array' THEN e->'b'->'argv'"
	"   WHEN 'object' THEN jsonb_path_query_array(e->'b'->'argv', '$.*')"
	"   ELSE jsonb_build_array(e->'b'->'argv') END) WITH ORDINALITY AS t(x, o)), '')"
	"  || E'\\n' || coalesce(e->'b'->>'user', '') || E'\\n' || coalesce(e->'b'->>'cwd', '')"
	"  || E'\\n' || coalesce(e->'b'->>'tty', '')"
	" FROM jsonb_array_elements($1::jsonb) e JOIN hosts h ON h.host_id = e->>'h'";

static const char speedtests_sql[] =
	"INSERT INTO speedtests(id, host, ts)"
	" SELECT (e->>'id')::bigint, h.id, (e->>'ts')::bigint"
	" FROM jsonb_array_elements($1::jsonb) e JOIN hosts h ON h.host_id = e->>'h'";

static const struct {
	unsigned int part;
	const char *sql;
	const char *what;
} statements[N_PARTS] = {
	{PART_HOST, hosts_sql, "storing hosts"},
	{PART_FIGURES, figures_sql, "storing the hosts' latest figures"},
	{PART_METRICS, metrics_sql, "storing metrics"},
	{PART_EXEC, execs_sql, "storing execs"},
	{PART_SPEEDTEST, speedtests_sql, "storing speedtests"},
};

/* The parts a record of type reads; *ret_bodies (may be NULL): those reading its body. */
static unsigned int parts_of(const char *type, unsigned int *ret_bodies)
{
	for (size_t i = 0; i < sizeof(type_parts) / sizeof(type_parts[0]); i++) {
		if (strcmp(type_parts[i].type, type) == 0) {
			if (ret_bodies)
				*ret_bodies = type_parts[i].bodies;
			return type_parts[i].parts;
		}
	}
	if (ret_bodies)
		*ret_bodies = 0;
	return 0;
}

/* {"i":i,"id":id,"h":host_id,"t":type,"ts":ts,"rcv":received_ms[,"b":body]} */
static int add_record(struct sbuf *out, const struct db_record *rec, int64_t id, size_t i,
		      bool body)
{
	size_t start = out->len;
	int r = sbuf_adds(out, start > 1 ? ",{\"i\":" : "{\"i\":");

	if (r == 0)
		r = json_add_u64(out, i);
	if (r == 0)
		r = sbuf_adds(out, ",\"id\":");
	if (r == 0)
		r = json_add_i64(out, id);
	if (r == 0)
		r = sbuf_adds(out, ",\"h\":");
	if (r == 0)
		r = json_add_text(out, rec->host_id, strlen(rec->host_id));
	if (r == 0)
		r = sbuf_adds(out, ",\"t\":");
	if (r == 0)
		r = json_add_text(out, rec->type, strlen(rec->type));
	if (r == 0)
		r = sbuf_adds(out, ",\"ts\":");
	if (r == 0)
		r = json_add_i64(out, rec->ts);
	if (r == 0)
		r = sbuf_adds(out, ",\"rcv\":");
	if (r == 0)
		r = json_add_u64(out, rec->received_ms);
	if (r == 0 && body) {
		r = sbuf_adds(out, ",\"b\":");
		if (r == 0)
			r = pg_body_add(out, rec->body, rec->body_len);
	}
	if (r == 0)
		r = sbuf_addc(out, '}');
	if (r == -EINVAL) {
		out->len = start;
		out->s[start] = '\0';
	}
	return r;
}

/* The partitioned tables and their DEFAULT partitions' days test. */
static const struct {
	unsigned int part;
	const char *parent;
	const char *default_busy;
	bool minute;
} partitioned[] = {
	{PART_METRICS, "metrics",
	 "SELECT EXISTS(SELECT 1 FROM metrics_default WHERE ts >= $1::bigint AND ts < $2::bigint)",
	 false},
	{PART_METRICS, "metrics_1m",
	 "SELECT EXISTS(SELECT 1 FROM metrics_1m_default"
	 " WHERE minute >= $1::bigint AND minute < $2::bigint)",
	 true},
	{PART_EXEC, "execs",
	 "SELECT EXISTS(SELECT 1 FROM execs_default WHERE ts >= $1::bigint AND ts < $2::bigint)",
	 false},
};

#define N_PARTITIONED (sizeof(partitioned) / sizeof(partitioned[0]))
#define DAY_MS	      86400000LL
#define DAYS_SEEN     8

static int64_t day_of(int64_t ts_ms)
{
	return ts_ms >= 0 ? ts_ms / DAY_MS : -((-ts_ms + DAY_MS - 1) / DAY_MS);
}

/*
 * The day partition of table t for ts_ms, unless its DEFAULT partition holds rows of that day
 * already (they came while the day was too far from today to get a partition: a clock ahead):
 * PostgreSQL refuses to make the partition then, and the batch would fail every time. Such a
 * day stays in DEFAULT.
 */
static int ensure_partition(struct db *db, size_t t, int64_t ts_ms)
{
	int64_t key = partitioned[t].minute ? ts_ms - ts_ms % 60000 : ts_ms;
	int64_t day = day_of(key);
	char from[24], to[24];
	const char *v[2] = {pg_i64(from, day * DAY_MS), pg_i64(to, (day + 1) * DAY_MS)};
	PGresult *res = pg_query(db, partitioned[t].default_busy, 2, v);
	bool busy;

	if (!pg_ok(db, res, "checking a DEFAULT partition"))
		return -EIO;
	busy = PQgetvalue(res, 0, 0)[0] == 't';
	PQclear(res);
	return busy ? 0 : pg_partition_ensure(db, partitioned[t].parent, key);
}

/* The partitions of the batch's days, each (table, day) once. */
static int ensure_partitions(struct db *db, const struct db_record *const *recs, size_t n)
{
	int64_t seen[N_PARTITIONED][DAYS_SEEN];
	size_t n_seen[N_PARTITIONED] = {0};
	int r = 0;

	for (size_t i = 0; i < n && r == 0; i++) {
		unsigned int parts = parts_of(recs[i]->type, NULL);

		for (size_t t = 0; t < N_PARTITIONED && r == 0; t++) {
			int64_t ts = recs[i]->ts;
			int64_t day = day_of(partitioned[t].minute ? ts - ts % 60000 : ts);
			bool done = false;

			if (!(parts & partitioned[t].part))
				continue;
			for (size_t k = 0; k < n_seen[t] && !done; k++)
				done = seen[t][k] == day;
			if (done)
				continue;
			r = ensure_partition(db, t, ts);
			if (n_seen[t] < DAYS_SEEN)
				seen[t][n_seen[t]++] = day;
		}
	}
	return r;
}

int pg_api_apply(struct db *db, const struct db_record *const *recs, const int64_t *ids, size_t n)
{
	struct sbuf arr[N_PARTS] = {{0}};
	unsigned int present = 0;
	int r = 0;

	r = ensure_partitions(db, recs, n);
	for (int p = 0; p < N_PARTS && r == 0; p++)
		r = sbuf_addc(&arr[p], '[');
	for (size_t i = 0; i < n && r == 0; i++) {
		unsigned int bodies;
		unsigned int parts = parts_of(recs[i]->type, &bodies);

		for (int p = 0; p < N_PARTS && r == 0; p++) {
			if (!(parts & statements[p].part))
				continue;
			r = add_record(&arr[p], recs[i], ids[i], i, bodies & statements[p].part);
			/* A body not even cJSON reads again adds no figures (ingest read it). */
			if (r == -EINVAL)
				r = 0;
		}
		present |= parts;
	}
	for (int p = 0; p < N_PARTS && r == 0; p++) {
		const char *v[1];

		if (!(present & statements[p].part))
			continue;
		r = sbuf_addc(&arr[p], ']');
		v[0] = arr[p].s;
		if (r == 0)
			r = pg_query_ok(db, statements[p].sql, 1, v);
	}
	for (int p = 0; p < N_PARTS; p++)
		sbuf_free(&arr[p]);
	return r;
}
