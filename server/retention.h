/* --retention: records received longer ago than the retention age are deleted in small
 * batches, a batch a tick (and --rollup-retention: per-minute rollups by their minute), so the
 * database cannot grow without bound and no tick blocks ingest for long. The age counts from
 * arrival (received_ms, the server's clock), not from the agent's ts: a replayed spool is not
 * dropped on arrival, and a ts in the future does not keep a record forever. */
#ifndef SRVMON_SERVER_RETENTION_H
#define SRVMON_SERVER_RETENTION_H

#include <stdint.h>

struct db;

/* Default of --retention (30 days), the rows of one batch, and the tick interval: while a
 * batch comes back full the next one runs after RETENTION_BUSY_MS instead. */
#define RETENTION_DEFAULT_MS (30ull * 86400 * 1000)
/* Default of --rollup-retention (400 days): the per-minute rollups of the numeric series
 * (metrics_1m, read by the API for steps of a minute or more) outlive the raw records. */
#define RETENTION_ROLLUP_DEFAULT_MS (400ull * 86400 * 1000)
#define RETENTION_BATCH		    500
#define RETENTION_IDLE_MS	    60000
#define RETENTION_BUSY_MS	    100

/* Pure: "0" (off), "<N>d" days, or a duration of parse_duration_ms ("12h", "90m", "3600s")
 * into milliseconds. 0 or -EINVAL / -ERANGE (over 100 years). */
int retention_parse(const char *s, uint64_t *ret_ms);

/*
 * One batch: deletes, among the RETENTION_BATCH oldest records, those received more than
 * age_ms before wall_ms (*ret_deleted: how many), then up to RETENTION_BATCH rollups of
 * minutes more than rollup_age_ms before wall_ms (0: either kept). Returns the milliseconds
 * until the next batch is due (RETENTION_BUSY_MS while there is more to delete), or a
 * negative errno (database; that batch deleted nothing).
 */
int64_t retention_step(struct db *db, uint64_t age_ms, uint64_t rollup_age_ms, uint64_t wall_ms,
		       uint64_t *ret_deleted);

#endif
