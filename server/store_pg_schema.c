/* The PostgreSQL engine's schema (store.h lists the versions): table schema_version and
 * forward-only migrations, run in one transaction under an advisory lock, so that nodes
 * starting together on one database migrate it once. */
#include "store_pg_impl.h"

#include "numparse.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

/* pg_advisory_xact_lock(class, id) keys: "srmn" and the lock's purpose. */
#define PG_LOCK_MIGRATE "SELECT pg_advisory_xact_lock(1936879982, 1)"

/*
 * Version 4, the first of this engine (versions 1 to 3 were SQLite's only): the base tables
 * (store_pg_impl.h describes them) and the read half's (pg_api_schema()). Hashes compare bytewise
 * (COLLATE "C"): token lookups find candidates by a range of a hash prefix. records is partitioned
 * by day of ts (store_pg_partition.c); its DEFAULT partition takes what no day partition covers.
 */
static const char base_schema[] =
	"CREATE TABLE accounts("
	" name TEXT PRIMARY KEY,"
	" hash TEXT NOT NULL,"
	" created_ms BIGINT NOT NULL,"
	" role TEXT NOT NULL DEFAULT 'agent' CHECK(role IN ('agent', 'viewer', 'admin')));"
	"CREATE TABLE tokens("
	" hash TEXT COLLATE \"C\" PRIMARY KEY,"
	" account TEXT NOT NULL,"
	" issued_ms BIGINT NOT NULL,"
	" expires_ms BIGINT NOT NULL,"
	" family TEXT,"
	" role TEXT NOT NULL DEFAULT 'agent');"
	"CREATE INDEX tokens_expires ON tokens(expires_ms);"
	"CREATE INDEX tokens_account ON tokens(account);"
	"CREATE INDEX tokens_family ON tokens(family);"
	"CREATE TABLE refresh_tokens("
	" hash TEXT COLLATE \"C\" PRIMARY KEY,"
	" account TEXT NOT NULL,"
	" issued_ms BIGINT NOT NULL,"
	" expires_ms BIGINT NOT NULL,"
	" family TEXT,"
	" used_ms BIGINT);"
	"CREATE INDEX refresh_tokens_expires ON refresh_tokens(expires_ms);"
	"CREATE INDEX refresh_tokens_account ON refresh_tokens(account);"
	"CREATE INDEX refresh_tokens_family ON refresh_tokens(family);"
	"CREATE TABLE records("
	" id BIGINT GENERATED ALWAYS AS IDENTITY,"
	" host_id TEXT NOT NULL CHECK(length(host_id) > 0),"
	" seq NUMERIC(20) NOT NULL CHECK(seq >= 0),"
	" type TEXT NOT NULL,"
	" ts BIGINT NOT NULL,"
	" received_ms BIGINT NOT NULL,"
	" account TEXT NOT NULL,"
	" body TEXT NOT NULL,"
	" UNIQUE(host_id, seq, account, ts))"
	" PARTITION BY RANGE(ts);"
	"CREATE INDEX records_id ON records(id);"
	"CREATE INDEX records_type ON records(type, id);"
	"CREATE TABLE records_default PARTITION OF records DEFAULT;"
	/* Retention deletes rows of the DEFAULT partition by arrival; a new day partition is
	 * only made when the DEFAULT partition holds none of its rows. */
	"CREATE INDEX records_default_received ON records_default(received_ms);"
	"CREATE INDEX records_default_ts ON records_default(ts);"
	"CREATE TABLE counters("
	" name TEXT PRIMARY KEY,"
	" value BIGINT NOT NULL);"
	"CREATE TABLE host_owners("
	" host_id TEXT PRIMARY KEY,"
	" account TEXT NOT NULL,"
	" assigned_ms BIGINT NOT NULL,"
	" first_seen_ms BIGINT,"
	" last_seen_ms BIGINT);";

static int to_v4(struct db *db, const char **ret_err)
{
	int r;

	r = pg_exec_script(db, base_schema);
	if (r < 0) {
		*ret_err = pg_errmsg(db);
		return r;
	}
	return pg_api_schema(db, ret_err);
}

/* Forward-only: a database at version v runs every step above v, in order; a new one (0)
 * all of them. The next schema change is a step 5 here (and in pg_api_schema()'s half). */
static const struct {
	int version;
	int (*run)(struct db *db, const char **ret_err);
} steps[] = {
	{4, to_v4},
};

/* The version in schema_version (0 when empty), or -1 when the table is missing. */
static int read_version(struct db *db, int *ret)
{
	PGresult *r;
	uint64_t v = 0;
	int rc = 0;

	r = pg_query(db, "SELECT to_regclass('schema_version') IS NOT NULL", 0, NULL);
	if (!r)
		return -EIO;
	if (PQgetvalue(r, 0, 0)[0] != 't') {
		PQclear(r);
		*ret = -1;
		return 0;
	}
	PQclear(r);
	r = pg_query(db, "SELECT coalesce(max(version), 0) FROM schema_version", 0, NULL);
	if (!r)
		return -EIO;
	if (parse_u64(PQgetvalue(r, 0, 0), 0, 1000000, &v) < 0)
		rc = pg_fail(db, NULL, "schema_version: not a version");
	PQclear(r);
	*ret = (int)v;
	return rc;
}

int pg_schema_version(struct db *db, int *ret)
{
	int r = read_version(db, ret);

	if (r == 0 && *ret < 0)
		*ret = 0;
	return r;
}

/* Under the lock: reads the version and runs the steps above it. */
static int migrate_locked(struct db *db, bool create, const char **ret_err)
{
	static char msg[160];
	int version = 0;
	char buf[24];
	const char *arg;
	size_t i;
	int r;

	r = read_version(db, &version);
	if (r < 0) {
		*ret_err = pg_errmsg(db);
		return r;
	}
	if (version < 0 && !create) {
		*ret_err = "the database has no srvmon schema (srvmon-server serve creates it)";
		return -ENOENT;
	}
	if (version < 0) {
		r = pg_exec_script(db, "CREATE TABLE schema_version(version INTEGER NOT NULL)");
		if (r < 0) {
			*ret_err = pg_errmsg(db);
			return r;
		}
		version = 0;
	}
	if (version > STORE_SCHEMA_VERSION) {
		(void)snprintf(
			msg, sizeof(msg),
			"schema version %d was made by a newer srvmon-server (this one knows "
			"up to %d)",
			version, STORE_SCHEMA_VERSION);
		*ret_err = msg;
		return -EPROTO;
	}
	if (version == STORE_SCHEMA_VERSION)
		return 0;
	for (i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		if (steps[i].version <= version)
			continue;
		r = steps[i].run(db, ret_err);
		if (r < 0)
			return r;
	}
	arg = pg_i64(buf, STORE_SCHEMA_VERSION);
	r = pg_query_ok(db, "DELETE FROM schema_version", 0, NULL);
	if (r == 0)
		r = pg_query_ok(db, "INSERT INTO schema_version(version) VALUES($1)", 1, &arg);
	if (r < 0)
		*ret_err = pg_errmsg(db);
	return r;
}

int pg_schema_migrate(struct db *db, bool create, const char **ret_err)
{
	int r;

	r = pg_tx_command(db, "BEGIN");
	if (r == 0)
		r = pg_query_ok(db, PG_LOCK_MIGRATE, 0, NULL);
	if (r < 0) {
		*ret_err = pg_errmsg(db);
		return r;
	}
	pg_of(db)->in_tx = true;
	r = migrate_locked(db, create, ret_err);
	if (r == 0) {
		r = pg_commit(db);
		if (r < 0)
			*ret_err = pg_errmsg(db);
	} else {
		pg_rollback(db);
	}
	return r;
}
