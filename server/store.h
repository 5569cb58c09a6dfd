/*
 * The storage interface: every operation on the server's database, as one table of function
 * pointers per engine. The public functions of db.h, db_api.h, db_alerts.h, revoke.h and the
 * database half of hosts.h dispatch through it (store.c); callers never see an engine.
 *
 * Engines: SQLite (store_sqlite*.c, the default: --db PATH) and PostgreSQL (store_pg*.c:
 * --db postgresql://... or postgres://..., built when libpq is found). Each engine's handle
 * embeds struct db as its first member, so a struct db * is a pointer to the engine's handle:
 *
 *	struct store_sqlite { struct db base; sqlite3 *h; ... };
 *
 * No SQL and no engine type outside the store files.
 *
 * Schema versions (table schema_version, one row: version; both engines, forward-only: a
 * server opens a database at a lower version and migrates it in one transaction, and refuses
 * one at a higher version). An engine that creates a new database creates the current
 * schema directly and writes STORE_SCHEMA_VERSION.
 *
 *   version  what the migration to it does
 *   0        (SQLite only) made before versions were kept: no family/used_ms columns,
 *            records unique on (host_id, seq)
 *   1        tokens.family, refresh_tokens.family + used_ms; records unique on
 *            (host_id, seq, account) (the table rebuilt, rows and ids kept); host_owners
 *            filled from the records (a host belongs to the account of its oldest record)
 *   2        accounts.role, tokens.role (existing ones become agent); the read API's tables
 *            (metric_names, hosts, metrics, metrics_1m, execs + substring index, speedtests)
 *            filled from the stored records; alert_rules, alert_state
 *   3        table schema_version(version INTEGER NOT NULL), one row (SQLite: a database
 *            at PRAGMA user_version N, which versions 1 and 2 kept, is adopted as version
 *            N, then migrated on; user_version is no longer written); metrics_1m
 *            (per-minute rollups: n, sum, min, max of a numeric series) no longer follows
 *            the raw samples: deleting raw records (--retention) leaves the rollups, which
 *            go at --rollup-retention (db_rollups_expire())
 *   4        alert_rules.email TEXT (NULL: none): the rule's notification address
 */
#ifndef SRVMON_SERVER_STORE_H
#define SRVMON_SERVER_STORE_H

#include "db.h"
#include "db_alerts.h"
#include "db_api.h"
#include "hosts.h"
#include "revoke.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define STORE_SCHEMA_VERSION 4

struct store_ops;

/* The head of every engine's handle. */
struct db {
	const struct store_ops *ops;
};

/*
 * One pointer per operation, with the signature (and the contract, return values included)
 * of the public function of the same name in db.h, db_api.h, db_alerts.h, revoke.h or
 * hosts.h. Transactions: db_begin() opens one on the handle; every write between it and
 * db_commit()/db_rollback() is part of it; without one, each write commits on return.
 */
struct store_ops {
	const char *name; /* "sqlite", "postgresql": for logs */

	/* db_open(): target is the path or URL as given to --db. */
	struct db *(*open)(const char *target, bool create, const char **ret_err);
	void (*close)(struct db *db);
	const char *(*errmsg)(const struct db *db);
	/* db_reachable(). */
	bool (*reachable)(const struct db *db);
	/* The schema version the database is at (STORE_SCHEMA_VERSION after open). 0 or -EIO. */
	int (*schema_version)(struct db *db, int *ret);

	/* db.h */
	int (*account_add)(struct db *db, const char *name, const char *hash, uint64_t now_ms);
	int (*account_hash)(struct db *db, const char *name, char *ret, size_t size);
	int (*token_add)(struct db *db, const char *hash, const char *account, const char *family,
			 uint64_t now_ms, uint64_t expires_ms);
	int (*token_lookup)(struct db *db, const char *hash, char *ret_account, size_t size,
			    uint64_t *ret_expires_ms);
	int (*refresh_add)(struct db *db, const char *hash, const char *account, const char *family,
			   uint64_t now_ms, uint64_t expires_ms);
	int (*refresh_use)(struct db *db, const char *hash, uint64_t now_ms, char *ret_account,
			   size_t size, char *ret_family, size_t family_size);
	int (*counter_add)(struct db *db, const char *name, uint64_t delta);
	int (*record_insert)(struct db *db, const struct db_record *rec, bool *ret_inserted);
	int (*begin)(struct db *db);
	int (*commit)(struct db *db);
	void (*rollback)(struct db *db);
	bool (*in_transaction)(const struct db *db);
	int (*records_foreach)(struct db *db, const char *host_id, const char *type, uint64_t n,
			       db_record_cb cb, void *ctx);
	int (*records_expire)(struct db *db, int64_t cutoff_ms, uint64_t batch,
			      uint64_t *ret_deleted);
	int (*rollups_expire)(struct db *db, int64_t cutoff_ms, uint64_t batch,
			      uint64_t *ret_deleted);
	int (*stats_read)(struct db *db, uint64_t now_ms, struct db_stats *ret);

	/* db_api.h */
	int (*token_auth)(struct db *db, const char *hash, struct db_auth *ret);
	int (*account_set_role)(struct db *db, const char *name, enum role role);
	int (*account_role)(struct db *db, const char *name, enum role *ret);
	int (*api_hosts)(struct db *db, uint64_t now_ms,
			 bool (*connected)(const char *host_id, void *ctx), void *ctx,
			 struct sbuf *out);
	int (*api_host_key)(struct db *db, const char *host_id, int64_t *ret_key);
	int (*api_series)(struct db *db, const struct db_series_query *q, struct sbuf *out);
	int (*api_speedtests)(struct db *db, int64_t host, int64_t from, int64_t to, uint64_t limit,
			      struct sbuf *out);
	int (*api_execs)(struct db *db, const struct db_exec_query *q, struct sbuf *out,
			 bool *ret_more, int64_t *ret_next_ts, int64_t *ret_next_id);
	int (*api_records_after)(struct db *db, int64_t after_id, const char *host_id,
				 const char *type, uint64_t limit, db_api_record_cb cb, void *ctx,
				 int64_t *ret_last);
	int (*api_last_record)(struct db *db, int64_t *ret);

	/* db_alerts.h */
	int (*alert_add)(struct db *db, const struct alert_rule *rule, uint64_t now_ms,
			 int64_t *ret_id);
	int (*alert_update)(struct db *db, const struct alert_rule *rule);
	int (*alert_del)(struct db *db, int64_t id);
	int (*alert_get)(struct db *db, int64_t id, struct alert_rule *ret);
	int (*alert_foreach)(struct db *db, db_alert_rule_cb cb, void *ctx);
	int (*alert_set_cursor)(struct db *db, int64_t id, int64_t exec_cursor);
	int (*alert_rules_json)(struct db *db, struct sbuf *out);
	int (*alert_states_json)(struct db *db, struct sbuf *out);
	int (*alert_state_get)(struct db *db, int64_t rule_id, int64_t host,
			       struct alert_state *ret);
	int (*alert_state_put)(struct db *db, int64_t rule_id, int64_t host,
			       const struct alert_state *s, uint64_t now_ms);
	int (*alert_hosts)(struct db *db, const char *metric, const char *host_id,
			   db_alert_host_cb cb, void *ctx);
	int (*alert_firing)(struct db *db, int64_t rule_id, db_alert_host_cb cb, void *ctx);
	int (*alert_execs_after)(struct db *db, int64_t cursor, uint64_t limit, db_alert_exec_cb cb,
				 void *ctx, int64_t *ret_last);

	/* revoke.h */
	int (*revoke_family)(struct db *db, const char *family, struct revoke_counts *ret);
	int (*revoke_account)(struct db *db, const char *account, struct revoke_counts *ret);
	int (*revoke_delete_account)(struct db *db, const char *account, struct revoke_counts *ret);

	/* hosts.h (host_owners). host_claim: the database half of hosts_check(): claims
	 * host_id for account when it has no owner and stamps first/last seen when account
	 * owns it (part of the open transaction), then copies the owner into ret_owner.
	 * 0, -ENOSPC, -EIO. */
	int (*host_claim)(struct db *db, const char *host_id, const char *account, uint64_t now_ms,
			  char *ret_owner, size_t size);
	/* The owner of host_id. 0, -ENOENT, -ENOSPC, -EIO. */
	int (*host_owner)(struct db *db, const char *host_id, char *ret, size_t size);
	int (*host_add)(struct db *db, const char *host_id, const char *account, uint64_t now_ms,
			char *ret_owner, size_t size);
	int (*host_del)(struct db *db, const char *host_id);
	int (*host_foreach)(struct db *db, hosts_row_cb cb, void *ctx);
};

/* The engines. */
extern const struct store_ops store_sqlite_ops;
struct db *store_sqlite_open(const char *path, bool create, const char **ret_err);

/* Built when libpq is found (SRVMON_WITH_POSTGRESQL); without it db_open() of a URL fails
 * with "srvmon-server was built without PostgreSQL support". */
extern const struct store_ops store_pg_ops;
struct db *store_pg_open(const char *url, bool create, const char **ret_err);

/* The database half of hosts_check() and the owner lookup (store_ops.host_claim,
 * host_owner). */
int store_host_claim(struct db *db, const char *host_id, const char *account, uint64_t now_ms,
		     char *ret_owner, size_t size);
int store_host_owner(struct db *db, const char *host_id, char *ret, size_t size);

/* store_ops.alert_rules_json of every engine: the rules of db_alert_foreach() as a JSON
 * array. */
int store_alert_rules_json(struct db *db, struct sbuf *out);

/* api_hosts of every engine: the member names of a host object, in the order of the
 * columns each engine selects first (host_id ... network_ts). */
#define STORE_API_HOST_MEMBERS 19
extern const char *const store_api_host_members[STORE_API_HOST_MEMBERS];
/* The host's interval: the smallest positive one of its modules' intervals (0: unknown),
 * capped at DB_API_INTERVAL_MAX_MS. Pure. */
int64_t store_host_interval(const int64_t intervals[3]);
/* The end of a host object: ,"interval_ms":N|null,"online":BOOL} where online means a record
 * within DB_API_ONLINE_INTERVALS intervals of now (DB_API_ONLINE_DEFAULT_MS when the
 * interval is unknown) or, only when that fails, connected(host_id, ctx). 0 or -ENOMEM. */
int store_api_host_end(struct sbuf *out, uint64_t now_ms, int64_t last_seen_ms, int64_t interval,
		       bool (*connected)(const char *host_id, void *ctx), const char *host_id,
		       void *ctx);

/* Whether target names a PostgreSQL database (postgresql:// or postgres://). Pure. */
bool store_is_pg_url(const char *target);

/* target as it may be logged: a SQLite path as it is, a PostgreSQL URL with its password
 * (user:PASSWORD@ and the password= and sslpassword= parameters) replaced by "***". Pure.
 * 0, or -ENOSPC when it was cut to fit size (always NUL-terminated when size > 0). */
int store_target_safe(const char *target, char *ret, size_t size);

#endif
