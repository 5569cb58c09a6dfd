/* The PostgreSQL engine's retention of the read half's tables (store_pg_impl.h): the day
 * partitions wholly before the cutoff are dropped, then the rest of the rows before it go in
 * batches, as on SQLite (store_sqlite_retention.c), so that both engines keep the same rows. */
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

/* The derived rows of records before cutoff_ms, by their ts (the records' own partition
 * key): metrics and execs by day partitions and then in batches, speedtests in batches. */
int pg_api_expire(struct db *db, int64_t cutoff_ms, uint64_t batch, uint64_t *ret_deleted)
{
	int r;

	*ret_deleted = 0;
	r = pg_partitions_drop_before(db, "metrics", cutoff_ms, ret_deleted);
	if (r == 0)
		r = pg_partitions_drop_before(db, "execs", cutoff_ms, ret_deleted);
	if (r == 0)
		r = delete_batch(db,
				 "DELETE FROM metrics WHERE (host, metric, ts) IN"
				 " (SELECT host, metric, ts FROM metrics WHERE ts < $1::bigint"
				 " LIMIT $2::bigint)",
				 cutoff_ms, batch, "expiring metrics", ret_deleted);
	if (r == 0)
		r = delete_batch(db,
				 "DELETE FROM execs WHERE (id, ts) IN (SELECT id, ts FROM execs"
				 " WHERE ts < $1::bigint LIMIT $2::bigint)",
				 cutoff_ms, batch, "expiring execs", ret_deleted);
	if (r == 0)
		r = delete_batch(db,
				 "DELETE FROM speedtests WHERE id IN (SELECT id FROM speedtests"
				 " WHERE ts < $1::bigint LIMIT $2::bigint)",
				 cutoff_ms, batch, "expiring speedtests", ret_deleted);
	return r;
}
