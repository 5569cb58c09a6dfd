/* server/store_sqlite_migrate.c: the schema version table (store.h): a new database is at
 * STORE_SCHEMA_VERSION, one at PRAGMA user_version 2 (the previous release) is adopted and
 * migrated, one of a newer server is refused and left as it was; db_open of a PostgreSQL URL
 * names the engine. The database is changed behind the server with sqlite3 (test only). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "db.h"
#include "db_alerts.h"
#include "store.h"

struct tmpdb {
	char path[64];
};

/* A new database in a new temporary path, made and closed by srvmon's open. */
static void tmpdb_init(struct tmpdb *t)
{
	char tmpl[] = "/tmp/srvmon-store-XXXXXX";
	int fd = mkstemp(tmpl);
	struct db *db;

	assert_true(fd >= 0);
	close(fd);
	unlink(tmpl);
	(void)snprintf(t->path, sizeof(t->path), "%s.db", tmpl);
	db = db_open(t->path, true, NULL);
	assert_non_null(db);
	db_close(db);
}

static void tmpdb_remove(struct tmpdb *t)
{
	char side[80];

	unlink(t->path);
	(void)snprintf(side, sizeof(side), "%s-wal", t->path);
	unlink(side);
	(void)snprintf(side, sizeof(side), "%s-shm", t->path);
	unlink(side);
}

static void run_sql(const char *path, const char *text)
{
	sqlite3 *h = NULL;

	assert_int_equal(sqlite3_open(path, &h), SQLITE_OK);
	assert_int_equal(sqlite3_exec(h, text, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(h);
}

static int count_rows(const char *path, const char *query)
{
	sqlite3_stmt *st = NULL;
	sqlite3 *h = NULL;
	int n;

	assert_int_equal(sqlite3_open(path, &h), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(h, query, -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	n = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(h);
	return n;
}

/* Opens path: at the current version, one row in schema_version, without the trigger that
 * took a deleted sample out of its minute (rollups outlive raw samples from version 3). */
static void assert_current(const char *path)
{
	struct db *db = db_open(path, false, NULL);
	int v = -1;

	assert_non_null(db);
	assert_int_equal(db_schema_version(db, &v), 0);
	assert_int_equal(v, STORE_SCHEMA_VERSION);
	db_close(db);
	assert_int_equal(count_rows(path, "SELECT count(*) FROM schema_version"), 1);
	assert_int_equal(count_rows(path, "SELECT version FROM schema_version"),
			 STORE_SCHEMA_VERSION);
	assert_int_equal(count_rows(path, "SELECT count(*) FROM sqlite_master WHERE"
					  " name = 'metrics_rollup_delete'"),
			 0);
}

static void test_new_database(void **state)
{
	struct tmpdb t;

	(void)state;
	tmpdb_init(&t);
	assert_current(t.path);
	tmpdb_remove(&t);
}

static void test_adopts_user_version(void **state)
{
	struct tmpdb t;

	(void)state;
	tmpdb_init(&t);
	/* What the previous release left: version 2 in PRAGMA user_version, no version table,
	 * the trigger that took a deleted sample out of its minute. */
	run_sql(t.path, "DROP TABLE schema_version; PRAGMA user_version = 2;"
			"CREATE TRIGGER metrics_rollup_delete AFTER DELETE ON metrics BEGIN"
			" DELETE FROM metrics_1m WHERE host = OLD.host; END;");
	assert_current(t.path);
	tmpdb_remove(&t);
}

/* Version 3 to 4: alert_rules gets its email column, and a rule keeps its address. */
static void test_alert_email_column(void **state)
{
	struct alert_rule rule = {.kind = ALERT_OFFLINE, .for_ms = 60000, .have_for = true};
	struct alert_rule got;
	const char *err = NULL;
	struct tmpdb t;
	struct db *db;
	int64_t id = 0;

	(void)state;
	tmpdb_init(&t);
	run_sql(t.path, "ALTER TABLE alert_rules DROP COLUMN email;"
			"UPDATE schema_version SET version = 3;");
	assert_current(t.path);
	assert_int_equal(count_rows(t.path, "SELECT count(*) FROM pragma_table_info('alert_rules')"
					    " WHERE name = 'email'"),
			 1);
	db = db_open(t.path, false, NULL);
	assert_non_null(db);
	(void)snprintf(rule.email, sizeof(rule.email), "ops@example.org");
	assert_int_equal(alert_rule_check(&rule, &err), 0);
	assert_int_equal(db_alert_add(db, &rule, 1000, &id), 0);
	assert_int_equal(db_alert_get(db, id, &got), 0);
	assert_string_equal(got.email, "ops@example.org");
	got.email[0] = '\0';
	assert_int_equal(db_alert_update(db, &got), 0);
	assert_int_equal(db_alert_get(db, id, &got), 0);
	assert_string_equal(got.email, "");
	db_close(db);
	tmpdb_remove(&t);
}

static void test_refuses_newer(void **state)
{
	const char *err = NULL;
	struct tmpdb t;
	struct db *db;

	(void)state;
	tmpdb_init(&t);
	run_sql(t.path, "UPDATE schema_version SET version = 99");
	errno = 0;
	db = db_open(t.path, false, &err);
	assert_null(db);
	assert_int_equal(errno, EPROTO);
	assert_non_null(strstr(err, "schema version 99"));
	assert_int_equal(count_rows(t.path, "SELECT version FROM schema_version"), 99);
	tmpdb_remove(&t);
}

static void test_pg_url(void **state)
{
	(void)state;
	assert_true(store_is_pg_url("postgresql://u@localhost/srvmon"));
	assert_true(store_is_pg_url("postgres:///srvmon?host=/tmp"));
	assert_false(store_is_pg_url("/var/lib/srvmon/server.db"));
	assert_false(store_is_pg_url("postgresql.db"));
#ifndef SRVMON_WITH_POSTGRESQL
	{
		const char *err = NULL;

		errno = 0;
		assert_null(db_open("postgresql:///srvmon", true, &err));
		assert_int_equal(errno, EPROTONOSUPPORT);
		assert_non_null(strstr(err, "built without PostgreSQL"));
	}
#endif
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_new_database),
		cmocka_unit_test(test_adopts_user_version),
		cmocka_unit_test(test_alert_email_column),
		cmocka_unit_test(test_refuses_newer),
		cmocka_unit_test(test_pg_url),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
