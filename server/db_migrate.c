#include "db_migrate.h"

#include "db_api_schema.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* The dedup key of version 0 and of version 1, as written in the records table's SQL. */
#define OLD_RECORDS_KEY "UNIQUE(host_id, seq))"
#define NEW_RECORDS_KEY "UNIQUE(host_id, seq, account))"

_Static_assert(DB_SCHEMA_VERSION == 2, "db_migrate() writes user_version 2");

static int exec(sqlite3 *sql, const char *text, const char **ret_err)
{
	if (sqlite3_exec(sql, text, NULL, NULL, NULL) != SQLITE_OK) {
		*ret_err = sqlite3_errmsg(sql);
		return -EIO;
	}
	return 0;
}

static int user_version(sqlite3 *sql, int *ret, const char **ret_err)
{
	sqlite3_stmt *st = NULL;
	int r;

	if (sqlite3_prepare_v2(sql, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK) {
		*ret_err = sqlite3_errmsg(sql);
		return -EIO;
	}
	r = sqlite3_step(st);
	if (r == SQLITE_ROW) {
		*ret = sqlite3_column_int(st, 0);
		r = 0;
	} else {
		*ret_err = sqlite3_errmsg(sql);
		r = -EIO;
	}
	sqlite3_finalize(st);
	return r;
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

int db_migrate(sqlite3 *sql, const char *schema, const char **ret_err)
{
	int version = 0;
	int r;

	r = user_version(sql, &version, ret_err);
	if (r < 0 || version >= DB_SCHEMA_VERSION)
		return r;
	r = exec(sql, "BEGIN IMMEDIATE", ret_err);
	if (r < 0)
		return r;
	/* Another process may have migrated it meanwhile. */
	r = user_version(sql, &version, ret_err);
	if (r < 0 || version >= DB_SCHEMA_VERSION)
		goto out;

	if (version >= 1)
		goto version_2;
	/* Version 1: refresh-token families (reuse revokes them), host ownership. */
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
			 "INSERT OR IGNORE INTO host_owners(host_id, account, assigned_ms, "
			 "first_seen_ms,"
			 " last_seen_ms)"
			 " SELECT f.host_id, f.account, f.received_ms, f.received_ms,"
			 " (SELECT max(received_ms) FROM records WHERE host_id = f.host_id)"
			 " FROM (SELECT host_id, account, received_ms, min(id) FROM records"
			 " GROUP BY host_id) AS f;",
			 ret_err);
	/* The indexes of a rebuilt table. */
	if (r == 0)
		r = exec(sql, schema, ret_err);
	if (r == 0)
		r = exec(sql, "PRAGMA user_version = 1", ret_err);
	if (r < 0)
		goto out;
version_2:
	/* Version 2: roles, the read API's and the alerts' tables (db_api_schema.c). */
	r = db_api_migrate(sql, ret_err);
	if (r == 0)
		r = exec(sql, "PRAGMA user_version = 2", ret_err);
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
