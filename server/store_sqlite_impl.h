/* The SQLite engine's internal header: its handle and the functions of its files
 * (store_sqlite*.c), gathered into store_sqlite_ops by store_sqlite.c. Only store_sqlite*.c
 * include it. */
#ifndef SRVMON_SERVER_STORE_SQLITE_IMPL_H
#define SRVMON_SERVER_STORE_SQLITE_IMPL_H

#include "store.h"

#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct store_sqlite {
	struct db base; /* first member: a struct db * is a struct store_sqlite * */
	sqlite3 *sql;
	sqlite3_stmt *insert; /* the record INSERT, prepared once */
	bool in_tx;
};

static inline struct store_sqlite *sq_of(struct db *db)
{
	return (struct store_sqlite *)db;
}

static inline const struct store_sqlite *sq_of_const(const struct db *db)
{
	return (const struct store_sqlite *)db;
}

static inline sqlite3 *sq_h(struct db *db)
{
	return sq_of(db)->sql;
}

/* Copies text column col of the current row of st into ret (NUL-terminated). 0, -EIO for
 * NULL, -ENOSPC when it does not fit. */
int sq_column_text(sqlite3_stmt *st, int col, char *ret, size_t size);
/* The record of the current row of st, whose columns from col on are host_id, seq, type, ts,
 * received_ms, account, body (the strings are st's until its next step). 0 or -EIO. */
int sq_column_record(sqlite3_stmt *st, int col, struct db_record *ret);

/* store_sqlite_migrate.c: run by the open after the schema's CREATE ... IF NOT EXISTS
 * (passed as schema, run again once tables were rebuilt, to recreate their indexes): brings
 * the database from its version (table schema_version, or PRAGMA user_version before
 * version 3) to STORE_SCHEMA_VERSION, each step once, in order, in one transaction: on
 * failure nothing changed. 0, or -EIO (-EPROTO: made by a newer server) with *ret_err set. */
int sq_migrate(sqlite3 *sql, const char *schema, const char **ret_err);
/* The version in table schema_version. 0 or -EIO. */
int sq_schema_version(struct db *db, int *ret);

/* store_sqlite_schema.c: the tables of roles, the read API and alerts (step 2): accounts.role
 * and tokens.role (existing accounts and tokens become agent), hosts, metrics (+ per-minute
 * aggregates), execs and speedtests filled from each stored record by triggers in the
 * record's own transaction, and the alert tables. Idempotent; a database that has records
 * but not yet the API tables gets them filled from its records once. Run inside
 * sq_migrate()'s transaction. 0, or -EIO with SQLite's message in *ret_err. */
int sq_api_migrate(sqlite3 *sql, const char **ret_err);

/* store_sqlite.c: accounts, tokens, counters, records, transactions. */
void sq_close(struct db *db);
const char *sq_errmsg(const struct db *db);
int sq_account_add(struct db *db, const char *name, const char *hash, uint64_t now_ms);
int sq_account_hash(struct db *db, const char *name, char *ret, size_t size);
int sq_token_add(struct db *db, const char *hash, const char *account, const char *family,
		 uint64_t now_ms, uint64_t expires_ms);
int sq_token_lookup(struct db *db, const char *hash, char *ret_account, size_t size,
		    uint64_t *ret_expires_ms);
int sq_refresh_add(struct db *db, const char *hash, const char *account, const char *family,
		   uint64_t now_ms, uint64_t expires_ms);
int sq_refresh_use(struct db *db, const char *hash, uint64_t now_ms, char *ret_account, size_t size,
		   char *ret_family, size_t family_size);
int sq_counter_add(struct db *db, const char *name, uint64_t delta);
int sq_record_insert(struct db *db, const struct db_record *rec, bool *ret_inserted);
int sq_begin(struct db *db);
int sq_commit(struct db *db);
void sq_rollback(struct db *db);
bool sq_in_transaction(const struct db *db);
int sq_records_foreach(struct db *db, const char *host_id, const char *type, uint64_t n,
		       db_record_cb cb, void *ctx);
/* store_sqlite_retention.c */
int sq_records_expire(struct db *db, int64_t cutoff_ms, uint64_t batch, uint64_t *ret_deleted);
int sq_rollups_expire(struct db *db, int64_t cutoff_ms, uint64_t batch, uint64_t *ret_deleted);
int sq_stats_read(struct db *db, uint64_t now_ms, struct db_stats *ret);

/* store_sqlite_api.c: the read API's queries and role checks. */
int sq_token_auth(struct db *db, const char *hash, struct db_auth *ret);
int sq_account_set_role(struct db *db, const char *name, enum role role);
int sq_account_role(struct db *db, const char *name, enum role *ret);
int sq_api_hosts(struct db *db, uint64_t now_ms, bool (*connected)(const char *host_id, void *ctx),
		 void *ctx, struct sbuf *out);
int sq_api_host_key(struct db *db, const char *host_id, int64_t *ret_key);
int sq_api_series(struct db *db, const struct db_series_query *q, struct sbuf *out);
int sq_api_speedtests(struct db *db, int64_t host, int64_t from, int64_t to, uint64_t limit,
		      struct sbuf *out);
int sq_api_execs(struct db *db, const struct db_exec_query *q, struct sbuf *out, bool *ret_more,
		 int64_t *ret_next_ts, int64_t *ret_next_id);
int sq_api_records_after(struct db *db, int64_t after_id, const char *host_id, const char *type,
			 uint64_t limit, db_api_record_cb cb, void *ctx, int64_t *ret_last);
int sq_api_last_record(struct db *db, int64_t *ret);

/* store_sqlite_alerts.c: alert rules and states. */
int sq_alert_add(struct db *db, const struct alert_rule *rule, uint64_t now_ms, int64_t *ret_id);
int sq_alert_update(struct db *db, const struct alert_rule *rule);
int sq_alert_del(struct db *db, int64_t id);
int sq_alert_get(struct db *db, int64_t id, struct alert_rule *ret);
int sq_alert_foreach(struct db *db, db_alert_rule_cb cb, void *ctx);
int sq_alert_set_cursor(struct db *db, int64_t id, int64_t exec_cursor);
int sq_alert_states_json(struct db *db, struct sbuf *out);
int sq_alert_state_get(struct db *db, int64_t rule_id, int64_t host, struct alert_state *ret);
int sq_alert_state_put(struct db *db, int64_t rule_id, int64_t host, const struct alert_state *s,
		       uint64_t now_ms);
int sq_alert_hosts(struct db *db, const char *metric, const char *host_id, db_alert_host_cb cb,
		   void *ctx);
int sq_alert_firing(struct db *db, int64_t rule_id, db_alert_host_cb cb, void *ctx);
int sq_alert_execs_after(struct db *db, int64_t cursor, uint64_t limit, db_alert_exec_cb cb,
			 void *ctx, int64_t *ret_last);

/* store_sqlite_revoke.c and store_sqlite_hosts.c: revoking credentials, host ownership. */
int sq_revoke_family(struct db *db, const char *family, struct revoke_counts *ret);
int sq_revoke_account(struct db *db, const char *account, struct revoke_counts *ret);
int sq_revoke_delete_account(struct db *db, const char *account, struct revoke_counts *ret);
int sq_host_claim(struct db *db, const char *host_id, const char *account, uint64_t now_ms,
		  char *ret_owner, size_t size);
int sq_host_owner(struct db *db, const char *host_id, char *ret, size_t size);
int sq_host_add(struct db *db, const char *host_id, const char *account, uint64_t now_ms,
		char *ret_owner, size_t size);
int sq_host_del(struct db *db, const char *host_id);
int sq_host_foreach(struct db *db, hosts_row_cb cb, void *ctx);

#endif
