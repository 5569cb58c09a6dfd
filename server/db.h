/* The server's database (SQLite or PostgreSQL, store.h): accounts, tokens, records,
 * counters. */
#ifndef SRVMON_SERVER_DB_H
#define SRVMON_SERVER_DB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct db;

/* Counters kept in table counters. */
#define DB_COUNTER_TOKEN_REQUESTS "token_requests"
#define DB_COUNTER_TOKENS_ISSUED  "tokens_issued"
#define DB_COUNTER_FAILED_LOGINS  "failed_logins"
#define DB_COUNTER_REFRESH_GRANTS "refresh_grants"

/* seq is stored as TEXT of exactly this many zero-padded digits (fits 2^64-1) so that
 * it is exact and sorts numerically. */
#define DB_SEQ_DIGITS 20

struct db_record {
	const char *host_id;
	uint64_t seq;
	const char *type;
	int64_t ts;
	uint64_t received_ms;
	const char *account;
	const char *body; /* the raw JSON text */
	size_t body_len;
};

struct db_stats {
	uint64_t records;
	size_t n_types;
	struct {
		char type[32];
		uint64_t count;
	} types[16];
	uint64_t accounts;
	uint64_t tokens_issued;
	uint64_t tokens_active; /* stored and not expired */
	uint64_t token_requests;
	uint64_t failed_logins;
	uint64_t refresh_grants; /* successful grant_type=refresh_token */
};

/*
 * Opens the database of --db: a postgresql:// or postgres:// URL opens the PostgreSQL engine
 * (store_pg*.c), anything else is a SQLite path (created when create is true; WAL, a busy
 * timeout). Creates the schema if missing and migrates an older one (store.h). NULL + errno;
 * *ret_err (may be NULL) then points at the engine's message or a static string, valid until
 * the next call.
 */
struct db *db_open(const char *path, bool create, const char **ret_err);
void db_close(struct db *db);
/* The engine's last error message for logging. */
const char *db_errmsg(const struct db *db);
/* false while the engine knows its database to be away (PostgreSQL: it logged the loss once
 * and logs once when it is back); callers then log the failures it causes at debug level
 * only. SQLite: always true. */
bool db_reachable(const struct db *db);
/* 0, -EEXIST when the account exists, -EIO. */
int db_account_add(struct db *db, const char *name, const char *hash, uint64_t now_ms);
/* Copies the account's encoded hash into ret. 0, -ENOENT, -ENOSPC, -EIO. */
int db_account_hash(struct db *db, const char *name, char *ret, size_t size);

/* Stores a token hash; also deletes tokens that expired before now_ms. family: the refresh
 * family it was issued in (its first refresh token's hash), or NULL. 0 or -EIO. */
int db_token_add(struct db *db, const char *hash, const char *account, const char *family,
		 uint64_t now_ms, uint64_t expires_ms);
/* Looks a token hash up: candidates by a prefix of the hash, then the whole hash compared
 * in constant time (token_hash_equal()). 0, -ENOENT, -ENOSPC, -EIO. */
int db_token_lookup(struct db *db, const char *hash, char *ret_account, size_t size,
		    uint64_t *ret_expires_ms);

/* Stores a refresh token hash in family (the family's first refresh token's hash); also
 * deletes refresh tokens expired before now_ms. 0 or -EIO. */
int db_refresh_add(struct db *db, const char *hash, const char *account, const char *family,
		   uint64_t now_ms, uint64_t expires_ms);
/*
 * Uses a refresh token hash (looked up like db_token_lookup()). 0: it was unused and
 * unexpired and is now marked used (kept until it expires, so that a replay is seen);
 * its account and family are copied out. -EALREADY: it was used before, a replay; the
 * family is copied out (for revoke_family()). -ENOENT (unknown or expired), -ENOSPC, -EIO.
 */
int db_refresh_use(struct db *db, const char *hash, uint64_t now_ms, char *ret_account, size_t size,
		   char *ret_family, size_t family_size);

/* Adds delta to a counter (created at 0). 0 or -EIO. */
int db_counter_add(struct db *db, const char *name, uint64_t delta);

/* INSERT OR IGNORE of one record: part of the open transaction (db_begin), else committed
 * on return. *ret_inserted is false for a duplicate (host_id, seq, account); ret_inserted
 * may be NULL inside a transaction (an engine may then defer the row to the commit, in one
 * batch). 0 or -EIO. */
int db_record_insert(struct db *db, const struct db_record *rec, bool *ret_inserted);

/* Groups the following writes into one transaction. 0 or -EIO (-EBUSY when one is open). */
int db_begin(struct db *db);
/* Commits the open transaction: with WAL and synchronous=FULL it is on disk when this returns.
 * On failure the transaction is rolled back (none of its writes happened). 0 or -EIO. */
int db_commit(struct db *db);
/* Rolls the open transaction back (none of its writes happened); nothing when none is open. */
void db_rollback(struct db *db);
/* Whether a transaction is open (db_begin() was called and not yet committed). */
bool db_in_transaction(const struct db *db);

/* Calls cb for the newest n records (newest first), optionally filtered by host and type
 * (NULL: any). Stops with cb's value when it returns nonzero. 0, cb's value or -EIO. */
typedef int (*db_record_cb)(const struct db_record *rec, void *ctx);
int db_records_foreach(struct db *db, const char *host_id, const char *type, uint64_t n,
		       db_record_cb cb, void *ctx);

/* Deletes those of the batch oldest stored records (by id, that is arrival) received before
 * cutoff_ms; part of the open transaction, else committed on return. *ret_deleted: how
 * many went. 0 or -EIO. */
int db_records_expire(struct db *db, int64_t cutoff_ms, uint64_t batch, uint64_t *ret_deleted);

/* Deletes up to batch per-minute rollups (metrics_1m) of minutes before cutoff_ms
 * (--rollup-retention); raw records go with db_records_expire(). 0 or -EIO. */
int db_rollups_expire(struct db *db, int64_t cutoff_ms, uint64_t batch, uint64_t *ret_deleted);

/* The schema version of the open database (store.h lists them). 0 or -EIO. */
int db_schema_version(struct db *db, int *ret);

int db_stats_read(struct db *db, uint64_t now_ms, struct db_stats *ret);

/* Pure helpers for the seq column. */
void db_seq_format(uint64_t seq, char ret[DB_SEQ_DIGITS + 1]);
int db_seq_parse(const char *s, uint64_t *ret);

#endif
