/* Brings a SQLite database made by an earlier srvmon-server up to the current schema. */
#include "store_sqlite_impl.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* The dedup key of version 0 and of version 1, as written in the records table's SQL. */
#define OLD_RECORDS_KEY "UNIQUE(host_id, seq))"
#define NEW_RECORDS_KEY "UNIQUE(host_id, seq, account))"

static int exec(sqlite3 *sql, const char *text, const char **ret_err)
{
	if (sqlite3_exec(sql, text, NULL, NULL, NULL) != SQLITE_OK) {
		*ret_err = sqlite3_errmsg(sql);
		return -EIO;
	}
	return 0;
}

/* The integer of the first row of query (0 when none). */
static int query_int(sqlite3 *sql, const char *query, int *ret, const char **ret_err)
{
	sqlite3_stmt *st = NULL;
	int r;

	if (sqlite3_prepare_v2(sql, query, -1, &st, NULL) != SQLITE_OK) {
		*ret_err = sqlite3_errmsg(sql);
		return -EIO;
	}
	r = sqlite3_step(st);
	if (r == SQLITE_ROW || r == SQLITE_DONE) {
		*ret = r == SQLITE_ROW ? sqlite3_column_int(st, 0) : 0;
		r = 0;
	} else {
		*ret_err = sqlite3_errmsg(sql);
		r = -EIO;
	}
	sqlite3_finalize(st);
	return r;
}

/* The version in table schema_version; before version 3 (no such table) PRAGMA user_version,
 * which versions 1 and 2 kept (0: made before versions were kept, or new). */
static int read_version(sqlite3 *sql, int *ret, const char **ret_err)
{
	int have = 0;
	int r;

	r = query_int(sql,
		      "SELECT count(*) FROM sqlite_master WHERE type = 'table'"
		      " AND name = 'schema_version'",
		      &have, ret_err);
	if (r < 0)
		return r;
	if (!have)
		return query_int(sql, "PRAGMA user_version", ret, ret_err);
	return query_int(sql, "SELECT coalesce(max(version), 0) FROM schema_version", ret, ret_err);
}

static int add_column(sqlite3 *sql, const char *table, const char *column, const char *type,
		      const char **ret_err)
{
	sqlite3_stmt *st = NULL;
	char alter[160];
	bool have;
	int r;

	if (sqlite3_prepare_v2(sql, "SELECT count(*) FROM pragma_table_info(?1) WHERE name = ?2",
			       -1, &st, NULL) != SQLITE_OK) {
		*ret_err = sqlite3_errmsg(sql);
		return -EIO;
	}
	sqlite3_bind_text(st, 1, table, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, column, -1, SQLITE_STATIC);
	r = sqlite3_step(st);
	have = r == SQLITE_ROW && sqlite3_column_int(st, 0) > 0;
	sqlite3_finalize(st);
	if (r != SQLITE_ROW) {
		*ret_err = sqlite3_errmsg(sql);
		return -EIO;
	}
	if (have)
		return 0;
	(void)snprintf(alter, sizeof(alter), "ALTER TABLE %s ADD COLUMN %s %s", table, column,
		       type);
	return exec(sql, alter, ret_err);
}

/*
 * Version 0 deduplicated on (host_id, seq): one account could store records for another
 * account's host with its future seqs, and the owner's were then dropped as duplicates. The
 * table is rebuilt from its own SQL (so that columns added since are kept) with the key
 * (host_id, seq, account).
 */
static int rekey_records(sqlite3 *sql, const char **ret_err)
{
	static const char create_prefix[] = "CREATE TABLE records(";
	sqlite3_stmt *st = NULL;
	const char *text, *key;
	char old[3072];
	char ddl[3200];
	int n, r;

	if (sqlite3_prepare_v2(sql,
			       "SELECT sql FROM sqlite_master WHERE type = 'table' AND"
			       " name = 'records'",
			       -1, &st, NULL) != SQLITE_OK) {
		*ret_err = sqlite3_errmsg(sql);
		return -EIO;
	}
	r = sqlite3_step(st);
	text = r == SQLITE_ROW ? (const char *)sqlite3_column_text(st, 0) : NULL;
	n = text ? snprintf(old, sizeof(old), "%s", text) : -1;
	/* Finalized before the table is dropped (an open statement would lock it). */
	sqlite3_finalize(st);
	if (n < 0 || (size_t)n >= sizeof(old)) {
		*ret_err = "table records missing or its definition too long, cannot migrate";
		return -EIO;
	}
	key = strstr(old, OLD_RECORDS_KEY);
	if (!key)
		return 0; /* already keyed on the account */
	if (strncmp(old, create_prefix, strlen(create_prefix)) != 0) {
		*ret_err = "table records: unexpected definition, cannot migrate";
		return -EIO;
	}
	n = snprintf(ddl, sizeof(ddl), "CREATE TABLE records_new(%.*s%s%s",
		     (int)(key - old - strlen(create_prefix)), old + strlen(create_prefix),
		     NEW_RECORDS_KEY, key + strlen(OLD_RECORDS_KEY));
	if (n < 0 || (size_t)n >= sizeof(ddl)) {
		*ret_err = "table records: definition too long, cannot migrate";
		return -EIO;
	}
	r = exec(sql, ddl, ret_err);
	if (r == 0)
		r = exec(sql,
			 "INSERT INTO records_new SELECT * FROM records;"
			 "DROP TABLE records;"
			 "ALTER TABLE records_new RENAME TO records;",
			 ret_err);
	return r;
}

/* Version 1: refresh-token families (reuse revokes them), host ownership. */
static int step_1(sqlite3 *sql, const char *schema, const char **ret_err)
{
	int r;

	r = add_column(sql, "tokens", "family", "TEXT", ret_err);
	if (r == 0)
		r = add_column(sql, "refresh_tokens", "family", "TEXT", ret_err);
	if (r == 0)
		r = add_column(sql, "refresh_tokens", "used_ms", "INTEGER", ret_err);
	if (r == 0)
		r = exec(sql,
			 "UPDATE refresh_tokens SET family = hash WHERE family IS NULL;"
			 "CREATE INDEX IF NOT EXISTS tokens_family ON tokens(family);"
			 "CREATE INDEX IF NOT EXISTS refresh_tokens_family ON "
			 "refresh_tokens(family);",
			 ret_err);
	if (r == 0)
		r = rekey_records(sql, ret_err);
	/* A host belongs to the account that first sent it: the account of its oldest record
	 * (SQLite takes the bare columns from the row of min(id)). */
	if (r == 0)
		r = exec(sql,
			 "INSERT OR IGNORE INTO host_owners(host_id, account, assigned_ms,"
			 " first_seen_ms, last_seen_ms)"
			 " SELECT f.host_id, f.account, f.received_ms, f.received_ms,"
			 " (SELECT max(received_ms) FROM records WHERE host_id = f.host_id)"
			 " FROM (SELECT host_id, account, received_ms, min(id) FROM records"
			 " GROUP BY host_id) AS f;",
			 ret_err);
	/* The indexes of a rebuilt table. */
	if (r == 0)
		r = exec(sql, schema, ret_err);
	return r;
}

/* Version 2: roles, the read API's and the alerts' tables (store_sqlite_schema.c). */
static int step_2(sqlite3 *sql, const char *schema, const char **ret_err)
{
	(void)schema;
	return sq_api_migrate(sql, ret_err);
}

/* Version 3: the version in a table (the same for both engines), and per-minute rollups that
 * outlive the raw samples: deleting a sample (retention) no longer touches its minute. */
static int step_3(sqlite3 *sql, const char *schema, const char **ret_err)
{
	(void)schema;
	return exec(sql,
		    "CREATE TABLE IF NOT EXISTS schema_version(version INTEGER NOT NULL);"
		    "DROP TRIGGER IF EXISTS metrics_rollup_delete;",
		    ret_err);
}

/* Version 4: an alert rule's optional email address. */
static int step_4(sqlite3 *sql, const char *schema, const char **ret_err)
{
	(void)schema;
	return add_column(sql, "alert_rules", "email", "TEXT", ret_err);
}

typedef int (*migrate_step)(sqlite3 *sql, const char *schema, const char **ret_err);

/* steps[v - 1] brings version v - 1 to v. */
static const migrate_step steps[] = {step_1, step_2, step_3, step_4};
_Static_assert(sizeof(steps) / sizeof(steps[0]) == STORE_SCHEMA_VERSION,
	       "one migration step per schema version (store.h)");

static int newer(int version, const char **ret_err)
{
	static char msg[128];

	(void)snprintf(msg, sizeof(msg),
		       "the database is at schema version %d, this srvmon-server knows up to %d:"
		       " made by a newer srvmon-server",
		       version, STORE_SCHEMA_VERSION);
	*ret_err = msg;
	return -EPROTO;
}

int sq_migrate(sqlite3 *sql, const char *schema, const char **ret_err)
{
	int version = 0;
	int r;

	r = read_version(sql, &version, ret_err);
	if (r < 0 || version == STORE_SCHEMA_VERSION)
		return r;
	if (version > STORE_SCHEMA_VERSION)
		return newer(version, ret_err);
	r = exec(sql, "BEGIN IMMEDIATE", ret_err);
	if (r < 0)
		return r;
	/* Another process may have migrated it meanwhile. */
	r = read_version(sql, &version, ret_err);
	if (r == 0 && version > STORE_SCHEMA_VERSION)
		r = newer(version, ret_err);
	if (r < 0 || version == STORE_SCHEMA_VERSION)
		goto out;
	if (version < 0)
		version = 0;
	for (int v = version; v < STORE_SCHEMA_VERSION && r == 0; v++)
		r = steps[v](sql, schema, ret_err);
	if (r == 0) {
		char set[96];

		(void)snprintf(set, sizeof(set),
			       "DELETE FROM schema_version;"
			       " INSERT INTO schema_version(version) VALUES(%d);",
			       STORE_SCHEMA_VERSION);
		r = exec(sql, set, ret_err);
	}
out:
	if (r == 0)
		return exec(sql, "COMMIT", ret_err);
	/* Keep the message: ROLLBACK replaces the handle's. */
	{
		static char msg[256];

		(void)snprintf(msg, sizeof(msg), "%s", *ret_err);
		*ret_err = msg;
	}
	(void)sqlite3_exec(sql, "ROLLBACK", NULL, NULL, NULL);
	return r;
}

int sq_schema_version(struct db *db, int *ret)
{
	const char *err;

	return read_version(sq_h(db), ret, &err);
}
