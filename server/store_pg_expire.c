/* The PostgreSQL engine's retention of the read half's tables (store_pg_impl.h): whole day
 * partitions are dropped, the rest goes in batches (store_sqlite_retention.c on SQLite). */
#include "store_pg_read.h"

#include <errno.h>
#include <stdlib.h>

/* Runs a DELETE whose $1 is the cutoff and $2 the batch size; adds the rows deleted. */
static int delete_batch(struct db *db, const char *sql, int64_t cutoff_ms, uint64_t batch,
			const char *what, uint64_t *ret_deleted)
{
	char c[24], b[24];
	const char *v[2] = {pg_i64(c, cutoff_ms),
			    pg_i64(b, batch > INT64_MAX ? INT64_MAX : (int64_t)batch)};
	PGresult *res = pg_query(db, sql, 2, v);
	uint64_t n = 0;

	if (!pg_ok(db, res, what))
		return -EIO;
	(void)db_seq_parse(PQcmdTuples(res), &n);
	*ret_deleted += n;
	PQclear(res);
	return 0;
}

/* Exactly the minutes before the cutoff, as on SQLite: the days wholly before it by partition,
 * the rest of its day (and the DEFAULT partition's) in batches. *ret_deleted counts the
 * batch's rows, not those of a dropped day (counting them would read the whole day); it only
 * tells retention.c whether a full batch went. */
int pg_rollups_expire(struct db *db, int64_t cutoff_ms, uint64_t batch, uint64_t *ret_deleted)
{
	int r;

	*ret_deleted = 0;
	r = pg_partitions_drop_before(db, "metrics_1m", cutoff_ms, ret_deleted);
	if (r == 0)
		r = delete_batch(db,
				 "DELETE FROM metrics_1m WHERE (host, metric, minute) IN"
				 " (SELECT host, metric, minute FROM metrics_1m"
				 " WHERE minute < $1::bigint LIMIT $2::bigint)",
				 cutoff_ms, batch, "expiring rollups", ret_deleted);
	return r;
}

/*
 * The derived rows of the records that retention removes. The base half removes records by
 * day (store_pg_records.c: a day partition goes once the whole day is before the cutoff), so
 * the derived rows go by day too: the day partitions of metrics and execs wholly before the
 * cutoff are dropped, and the rows of those days in the DEFAULT partitions (days far from
 * today) and in speedtests go in batches. A record stays while its derived rows do.
 */
int pg_api_expire(struct db *db, int64_t cutoff_ms, uint64_t batch, uint64_t *ret_deleted)
{
	const int64_t day = 86400000;
	int64_t day_start =
		cutoff_ms >= 0 ? cutoff_ms / day * day : -((-cutoff_ms + day - 1) / day) * day;
	int r;

	*ret_deleted = 0;
	r = pg_partitions_drop_before(db, "metrics", day_start, ret_deleted);
	if (r == 0)
		r = pg_partitions_drop_before(db, "execs", day_start, ret_deleted);
	if (r == 0)
		r = delete_batch(
			db,
			"DELETE FROM metrics_default WHERE (host, metric, ts) IN"
			" (SELECT host, metric, ts FROM metrics_default WHERE ts < $1::bigint"
			" LIMIT $2::bigint)",
			day_start, batch, "expiring metrics", ret_deleted);
	if (r == 0)
		r = delete_batch(db,
				 "DELETE FROM execs_default WHERE (id, ts) IN (SELECT id, ts FROM"
				 " execs_default WHERE ts < $1::bigint LIMIT $2::bigint)",
				 day_start, batch, "expiring execs", ret_deleted);
	if (r == 0)
		r = delete_batch(db,
				 "DELETE FROM speedtests WHERE id IN (SELECT id FROM speedtests"
				 " WHERE ts < $1::bigint LIMIT $2::bigint)",
				 day_start, batch, "expiring speedtests", ret_deleted);
	return r;
}
