/* The SQLite engine's retention: raw records (--retention; their derived rows go with them by
 * trigger) and per-minute rollups (--rollup-retention), in batches. */
#include "store_sqlite_impl.h"

#include <errno.h>

/* Runs a DELETE whose ?1 is the cutoff and ?2 the batch size; *ret_deleted: rows deleted. */
static int delete_batch(struct db *db, const char *text, int64_t cutoff_ms, uint64_t batch,
			uint64_t *ret_deleted)
{
	sqlite3_stmt *st = NULL;
	int r;

	*ret_deleted = 0;
	if (sqlite3_prepare_v2(sq_h(db), text, -1, &st, NULL) != SQLITE_OK)
		return -EIO;
	sqlite3_bind_int64(st, 1, cutoff_ms);
	sqlite3_bind_int64(st, 2, batch > INT64_MAX ? INT64_MAX : (sqlite3_int64)batch);
	r = sqlite3_step(st) == SQLITE_DONE ? 0 : -EIO;
	if (r == 0)
		*ret_deleted = (uint64_t)sqlite3_changes(sq_h(db));
	sqlite3_finalize(st);
	return r;
}

int sq_records_expire(struct db *db, int64_t cutoff_ms, uint64_t batch, uint64_t *ret_deleted)
{
	/* Ids grow with arrival: the oldest rows are the first ones by id (the primary key), so
	 * a batch reads at most batch rows, whatever the table's size. */
	return delete_batch(db,
			    "DELETE FROM records WHERE id IN (SELECT id FROM"
			    " (SELECT id, received_ms FROM records ORDER BY id LIMIT ?2)"
			    " WHERE received_ms < ?1)",
			    cutoff_ms, batch, ret_deleted);
}

int sq_rollups_expire(struct db *db, int64_t cutoff_ms, uint64_t batch, uint64_t *ret_deleted)
{
	/* One primary-key range per series (host, metric): no index on minute, which every
	 * sample's rollup upsert would have to write too. */
	return delete_batch(db,
			    "DELETE FROM metrics_1m WHERE (host, metric, minute) IN"
			    " (SELECT m.host, m.metric, m.minute FROM hosts h CROSS JOIN"
			    " metric_names n CROSS JOIN metrics_1m m WHERE m.host = h.id"
			    " AND m.metric = n.id AND m.minute < ?1 LIMIT ?2)",
			    cutoff_ms, batch, ret_deleted);
}
