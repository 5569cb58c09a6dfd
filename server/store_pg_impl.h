/*
 * The PostgreSQL engine's internal header: its handle, the helpers every store_pg*.c file
 * uses to talk to the database, and the functions of its files, gathered into store_pg_ops by
 * store_pg.c. Only store_pg*.c include it.
 *
 * Two halves with one seam:
 *   base     (store_pg.c, store_pg_conn.c, store_pg_schema.c, store_pg_partition.c,
 *            store_pg_records.c, store_pg_auth.c, store_pg_hosts.c, store_pg_revoke.c):
 *            the connection and its reconnects, the prepared-statement cache, schema_version
 *            and migrations, the base tables (accounts, tokens, refresh_tokens, records,
 *            counters, host_owners, schema_version), batched record inserts, day partitions
 *            of records, auth, hosts, revocation.
 *   read API (store_pg_api*.c, store_pg_alerts.c): the tables derived from the records
 *            (metric_names, hosts, metrics, metrics_1m, execs, speedtests) and the alert
 *            tables, filled by pg_api_apply() in the record's own transaction (no triggers:
 *            the base half calls it for the records a batch actually inserted), the read
 *            API's queries, alerts, rollup expiry.
 *
 * The base tables, as the read half may read them (times in ms since the epoch, UTC):
 *   records(id BIGINT GENERATED ALWAYS AS IDENTITY, host_id TEXT, seq NUMERIC(20) (a
 *           uint64), type TEXT, ts BIGINT, received_ms BIGINT, account TEXT, body TEXT),
 *           partitioned by range of ts, one partition per UTC day; unique on
 *           (host_id, seq, account, ts)
 *   accounts(name TEXT PRIMARY KEY, hash TEXT, created_ms BIGINT, role TEXT)
 *   tokens(hash TEXT PRIMARY KEY, account TEXT, issued_ms, expires_ms, family TEXT, role TEXT)
 *   host_owners(host_id TEXT PRIMARY KEY, account TEXT, assigned_ms, first_seen_ms,
 *           last_seen_ms)
 */
#ifndef SRVMON_SERVER_STORE_PG_IMPL_H
#define SRVMON_SERVER_STORE_PG_IMPL_H

#include "store.h"

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct pg_stmt_cache; /* store_pg_conn.c */
struct pg_batch;      /* store_pg_records.c */
struct pg_parts;      /* store_pg_partition.c */

struct store_pg {
	struct db base;	     /* first member: a struct db * is a struct store_pg * */
	char *conninfo;	     /* the URL as given to --db (never logged: it may hold a password) */
	char *safe_target;   /* the URL without its password, for logs */
	PGconn *conn;	     /* NULL while the database is away */
	bool in_tx;	     /* db_begin() without commit/rollback yet */
	bool down_logged;    /* "database unreachable" logged; "reachable again" is due */
	uint64_t retry_ms;   /* mono_ms() of the next connection attempt while away */
	uint32_t backoff_ms; /* 100 ms doubling to 5 s */
	char err[256];	     /* the last error, for errmsg() */
	struct pg_stmt_cache *stmts;
	struct pg_batch *batch; /* records queued by record_insert(ret_inserted == NULL) */
	bool flushing;		/* the batch is being flushed: pg_query() must not flush it */
	struct pg_parts *parts; /* day partitions known to exist */
};

static inline struct store_pg *pg_of(struct db *db)
{
	return (struct store_pg *)db;
}

static inline const struct store_pg *pg_of_const(const struct db *db)
{
	return (const struct store_pg *)db;
}

/*
 * store_pg_conn.c: the one way to run SQL.
 *
 * pg_query() runs sql with n text parameters (NULL for SQL NULL) and returns its result, or
 * NULL on failure with the message in errmsg() (logged by the caller that knows the
 * context). sql must be a string with static storage: it is prepared once per connection
 * (the cache is keyed by the pointer) and run with PQexecPrepared. Records queued by a
 * batched record_insert are flushed first, so every query sees them. When the connection is
 * away or breaks, the open transaction is lost: the call fails (-EIO to the caller), the loss
 * is logged once, and a later call outside a transaction reconnects (backoff 100 ms to 5 s;
 * "reachable again" logged once).
 *
 * pg_query_ok() is pg_query() that also checks the status (PGRES_COMMAND_OK or
 * PGRES_TUPLES_OK) and clears the result: 0 or -EIO.
 */
PGresult *pg_query(struct db *db, const char *sql, int n, const char *const *values);
/* pg_query() without flushing the queued records first: only for statements on tables that
 * neither the records nor their derived rows touch (host_owners, tokens, refresh_tokens).
 * The ingest loop's per-host claims and token rechecks run between records: flushing there
 * split a loop turn's records into many small batches, three round trips each. */
PGresult *pg_query_unbatched(struct db *db, const char *sql, int n, const char *const *values);
int pg_query_ok(struct db *db, const char *sql, int n, const char *const *values);
/* Runs a script of several statements (DDL, migrations) unprepared. 0 or -EIO. */
int pg_exec_script(struct db *db, const char *sql);
/* Records the error of r (or of the connection) as errmsg(); returns -EIO. */
int pg_fail(struct db *db, const PGresult *r, const char *what);
/* Text of a bigint parameter; buf holds 24 bytes. */
const char *pg_i64(char buf[24], int64_t v);
/* Parses column col of row row of r as an int64 (0 for NULL). */
int64_t pg_get_i64(const PGresult *r, int row, int col);

/* Copies text column col of row row into ret (NUL-terminated). 0, -EIO for NULL, -ENOSPC
 * when it does not fit. */
int pg_copy_text(const PGresult *r, int row, int col, char *ret, size_t size);
/* Column 0 of the first row of sql, whose $1 is key, into ret. 0, -ENOENT (no row),
 * -ENOSPC, -EIO. */
int pg_select_text(struct db *db, const char *sql, const char *key, char *ret, size_t size);
/* The same for the result r of a query (NULL: failed), which it clears. */
int pg_select_text_in(PGresult *r, char *ret, size_t size);
/* The number of rows the statement of r changed (PQcmdTuples). */
uint64_t pg_changes(const PGresult *r);
/* pg_query() of a statement that changes rows: *ret gets how many. 0 or -EIO. */
int pg_exec_changes(struct db *db, const char *sql, int n, const char *const *args, uint64_t *ret);

/* Base-half internals. store_pg_conn.c: connects (or reconnects, when the backoff allows it
 * and no transaction is open) so that pg->conn is usable. 0 or -EIO. */
int pg_connect(struct store_pg *pg);
/* The first connection (store_pg_open): allocates the statement cache, connects once, logs
 * nothing. 0, -ENOMEM or -EIO with the message in pg->err. */
int pg_open_connection(struct store_pg *pg);
/* Runs BEGIN, COMMIT or ROLLBACK (unprepared, no flush): 0, or -EIO (also when COMMIT
 * answers that the transaction had been aborted). */
int pg_tx_command(struct db *db, const char *cmd);
/* Frees the statement cache (pg_close). */
void pg_stmts_free(struct pg_stmt_cache *c);
/* store_pg_schema.c: creates or migrates the schema to STORE_SCHEMA_VERSION in one
 * transaction under an advisory lock (create false: a database without the schema is
 * refused with -ENOENT). 0 or -EIO/-EPROTO/-ENOENT with *ret_err set. */
int pg_schema_migrate(struct db *db, bool create, const char **ret_err);
/* store_pg_records.c: inserts the queued records (one statement) and applies the inserted
 * ones (pg_api_apply); the queue is empty afterwards, also on failure. 0 or -EIO. */
int pg_batch_flush(struct db *db);
/* Whether records are queued. */
bool pg_batch_pending(const struct store_pg *pg);
/* Empties the queue (rollback, lost connection). */
void pg_batch_discard(struct store_pg *pg);
void pg_batch_free(struct pg_batch *b);
/* store_pg_partition.c: makes the day partitions of today and tomorrow, each in its own
 * short transaction (no transaction may be open), once per UTC day. 0 or -EIO. */
int pg_partitions_prepare(struct db *db, int64_t now_ms);
void pg_parts_free(struct pg_parts *p);
/* The open transaction ended (committed or not): partitions made in it are known, or
 * forgotten. */
void pg_parts_tx_end(struct store_pg *pg, bool committed);

/* store_pg_partition.c: the day partition of parent that holds ts_ms exists (cached). 0 or
 * -EIO. */
int pg_partition_ensure(struct db *db, const char *parent, int64_t ts_ms);
/* Drops the partitions of parent wholly before cutoff_ms; adds their row count. 0 or -EIO. */
int pg_partitions_drop_before(struct db *db, const char *parent, int64_t cutoff_ms,
			      uint64_t *ret_dropped);

/* store_pg_api_schema.c: the read half's tables and indexes, created if absent (one
 * migration step: run by the base half's migration, in its transaction). 0 or -EIO with
 * *ret_err set. */
int pg_api_schema(struct db *db, const char **ret_err);
/* Applies n records that were just inserted (ids[i] the records.id of recs[i]) to the
 * derived tables, in the open transaction. 0 or -EIO. */
int pg_api_apply(struct db *db, const struct db_record *const *recs, const int64_t *ids, size_t n);
/* Removes derived rows of records before cutoff_ms (partitions dropped, or batched deletes),
 * called by records_expire. 0 or -EIO. */
int pg_api_expire(struct db *db, int64_t cutoff_ms, uint64_t batch, uint64_t *ret_deleted);

/* The ops, each with the contract of its store_ops member. */
/* base half */
void pg_close(struct db *db);
const char *pg_errmsg(const struct db *db);
int pg_schema_version(struct db *db, int *ret);
int pg_account_add(struct db *db, const char *name, const char *hash, uint64_t now_ms);
int pg_account_hash(struct db *db, const char *name, char *ret, size_t size);
int pg_token_add(struct db *db, const char *hash, const char *account, const char *family,
		 uint64_t now_ms, uint64_t expires_ms);
int pg_token_lookup(struct db *db, const char *hash, char *ret_account, size_t size,
		    uint64_t *ret_expires_ms);
int pg_refresh_add(struct db *db, const char *hash, const char *account, const char *family,
		   uint64_t now_ms, uint64_t expires_ms);
int pg_refresh_use(struct db *db, const char *hash, uint64_t now_ms, char *ret_account, size_t size,
		   char *ret_family, size_t family_size);
int pg_counter_add(struct db *db, const char *name, uint64_t delta);
int pg_record_insert(struct db *db, const struct db_record *rec, bool *ret_inserted);
int pg_begin(struct db *db);
int pg_commit(struct db *db);
void pg_rollback(struct db *db);
bool pg_in_transaction(const struct db *db);
int pg_records_foreach(struct db *db, const char *host_id, const char *type, uint64_t n,
		       db_record_cb cb, void *ctx);
int pg_records_expire(struct db *db, int64_t cutoff_ms, uint64_t batch, uint64_t *ret_deleted);
int pg_stats_read(struct db *db, uint64_t now_ms, struct db_stats *ret);
int pg_token_auth(struct db *db, const char *hash, struct db_auth *ret);
int pg_account_set_role(struct db *db, const char *name, enum role role);
int pg_account_role(struct db *db, const char *name, enum role *ret);
int pg_revoke_family(struct db *db, const char *family, struct revoke_counts *ret);
int pg_revoke_account(struct db *db, const char *account, struct revoke_counts *ret);
int pg_revoke_delete_account(struct db *db, const char *account, struct revoke_counts *ret);
int pg_host_claim(struct db *db, const char *host_id, const char *account, uint64_t now_ms,
		  char *ret_owner, size_t size);
int pg_host_owner(struct db *db, const char *host_id, char *ret, size_t size);
int pg_host_add(struct db *db, const char *host_id, const char *account, uint64_t now_ms,
		char *ret_owner, size_t size);
int pg_host_del(struct db *db, const char *host_id);
int pg_host_foreach(struct db *db, hosts_row_cb cb, void *ctx);

/* read half */
int pg_rollups_expire(struct db *db, int64_t cutoff_ms, uint64_t batch, uint64_t *ret_deleted);
int pg_api_hosts(struct db *db, uint64_t now_ms, bool (*connected)(const char *host_id, void *ctx),
		 void *ctx, struct sbuf *out);
int pg_api_host_key(struct db *db, const char *host_id, int64_t *ret_key);
int pg_api_series(struct db *db, const struct db_series_query *q, struct sbuf *out);
int pg_api_speedtests(struct db *db, int64_t host, int64_t from, int64_t to, uint64_t limit,
		      struct sbuf *out);
int pg_api_execs(struct db *db, const struct db_exec_query *q, struct sbuf *out, bool *ret_more,
		 int64_t *ret_next_ts, int64_t *ret_next_id);
int pg_api_records_after(struct db *db, int64_t after_id, const char *host_id, const char *type,
			 uint64_t limit, db_api_record_cb cb, void *ctx, int64_t *ret_last);
int pg_api_last_record(struct db *db, int64_t *ret);
int pg_alert_add(struct db *db, const struct alert_rule *rule, uint64_t now_ms, int64_t *ret_id);
int pg_alert_update(struct db *db, const struct alert_rule *rule);
int pg_alert_del(struct db *db, int64_t id);
int pg_alert_get(struct db *db, int64_t id, struct alert_rule *ret);
int pg_alert_foreach(struct db *db, db_alert_rule_cb cb, void *ctx);
int pg_alert_set_cursor(struct db *db, int64_t id, int64_t exec_cursor);
int pg_alert_rules_json(struct db *db, struct sbuf *out);
int pg_alert_states_json(struct db *db, struct sbuf *out);
int pg_alert_state_get(struct db *db, int64_t rule_id, int64_t host, struct alert_state *ret);
int pg_alert_state_put(struct db *db, int64_t rule_id, int64_t host, const struct alert_state *s,
		       uint64_t now_ms);
int pg_alert_hosts(struct db *db, const char *metric, const char *host_id, db_alert_host_cb cb,
		   void *ctx);
int pg_alert_firing(struct db *db, int64_t rule_id, db_alert_host_cb cb, void *ctx);
int pg_alert_execs_after(struct db *db, int64_t cursor, uint64_t limit, db_alert_exec_cb cb,
			 void *ctx, int64_t *ret_last);

#endif
