/* The SQLite schema of roles, the read API and alerts (sq_api_migrate()). */
#include "metric.h"
#include "store_sqlite_impl.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>

/* Tables the API reads; everything derived from a record is written by the INSTEAD OF
 * triggers of the view record_apply, so that ingest (records_api) and the one-time backfill
 * of an older database run the same statements. */
static const char api_schema[] =
	"CREATE TABLE IF NOT EXISTS metric_names("
	" id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, type TEXT NOT NULL,"
	" path TEXT NOT NULL, unit TEXT NOT NULL);"
	"CREATE TABLE IF NOT EXISTS hosts("
	" id INTEGER PRIMARY KEY,"
	" host_id TEXT NOT NULL UNIQUE,"
	" hostname TEXT, os TEXT, kernel TEXT, agent_version TEXT, collector TEXT,"
	" first_seen_ms INTEGER NOT NULL, last_seen_ms INTEGER NOT NULL,"
	" res_ts INTEGER, res_gap_ms INTEGER, net_ts INTEGER, net_interval_ms INTEGER,"
	" status_ts INTEGER, status_gap_ms INTEGER,"
	" cpu_percent REAL, ram_total INTEGER, ram_available INTEGER, disk_total INTEGER,"
	" disk_available INTEGER, upload_rate INTEGER, download_rate INTEGER,"
	" rx_peak_rate INTEGER, tx_peak_rate INTEGER);"
	"CREATE TABLE IF NOT EXISTS metrics("
	" host INTEGER NOT NULL, metric INTEGER NOT NULL, ts INTEGER NOT NULL,"
	" value REAL NOT NULL, PRIMARY KEY(host, metric, ts)) WITHOUT ROWID;"
	"CREATE TABLE IF NOT EXISTS metrics_1m("
	" host INTEGER NOT NULL, metric INTEGER NOT NULL, minute INTEGER NOT NULL,"
	" n INTEGER NOT NULL, sum REAL NOT NULL, min REAL NOT NULL, max REAL NOT NULL,"
	" PRIMARY KEY(host, metric, minute)) WITHOUT ROWID;"
	"CREATE TABLE IF NOT EXISTS execs("
	" id INTEGER PRIMARY KEY," /* records.id */
	" host INTEGER NOT NULL, ts INTEGER NOT NULL, user TEXT NOT NULL, hay TEXT NOT NULL);"
	"CREATE INDEX IF NOT EXISTS execs_ts ON execs(ts, id);"
	"CREATE INDEX IF NOT EXISTS execs_host_ts ON execs(host, ts, id);"
	"CREATE INDEX IF NOT EXISTS execs_user_ts ON execs(user, ts, id);"
	/* Substring search over hay: a trigram index (case-sensitive, like instr()), kept in
	 * step with execs by triggers; store_sqlite_api.c uses it when scanning would take long. */
	"CREATE VIRTUAL TABLE IF NOT EXISTS execs_fts USING fts5(hay, content='execs',"
	" content_rowid='id', tokenize='trigram case_sensitive 1');"
	"CREATE TRIGGER IF NOT EXISTS execs_fts_insert AFTER INSERT ON execs BEGIN"
	" INSERT INTO execs_fts(rowid, hay) VALUES(NEW.id, NEW.hay);"
	" END;"
	"CREATE TRIGGER IF NOT EXISTS execs_fts_delete AFTER DELETE ON execs BEGIN"
	" INSERT INTO execs_fts(execs_fts, rowid, hay) VALUES('delete', OLD.id, OLD.hay);"
	" END;"
	"CREATE TABLE IF NOT EXISTS speedtests("
	" id INTEGER PRIMARY KEY," /* records.id */
	" host INTEGER NOT NULL, ts INTEGER NOT NULL);"
	"CREATE INDEX IF NOT EXISTS speedtests_host_ts ON speedtests(host, ts);"
	"CREATE TABLE IF NOT EXISTS alert_rules("
	" id INTEGER PRIMARY KEY, name TEXT NOT NULL,"
	" kind TEXT NOT NULL CHECK(kind IN ('metric', 'offline', 'exec')),"
	" metric TEXT, op TEXT, threshold REAL, regex TEXT, for_ms INTEGER NOT NULL,"
	" host_id TEXT, webhook TEXT, created_ms INTEGER NOT NULL,"
	" exec_cursor INTEGER NOT NULL DEFAULT 0, email TEXT);"
	"CREATE TABLE IF NOT EXISTS alert_state("
	" rule_id INTEGER NOT NULL, host INTEGER NOT NULL,"
	" state TEXT NOT NULL CHECK(state IN ('ok', 'firing', 'resolved')),"
	" since_ms INTEGER, fired_ms INTEGER, resolved_ms INTEGER, value REAL,"
	" changed_ms INTEGER NOT NULL, PRIMARY KEY(rule_id, host)) WITHOUT ROWID;"
	/* The single trigger of an earlier draft of this schema. */
	"DROP TRIGGER IF EXISTS record_apply_insert;"
	"CREATE VIEW IF NOT EXISTS record_apply AS"
	" SELECT id, host_id, type, ts, received_ms, body FROM records;"
	/* One trigger per record type (WHEN): each record runs one host upsert, which also
	 * keeps the type's latest figures, and the inserts of its type only. */
	"CREATE TRIGGER IF NOT EXISTS record_apply_hello INSTEAD OF INSERT ON record_apply"
	" WHEN NEW.type = 'hello' BEGIN"
	" INSERT INTO hosts(host_id, first_seen_ms, last_seen_ms, hostname, os, kernel, "
	"agent_version, collector)"
	"  VALUES(NEW.host_id, NEW.received_ms, NEW.received_ms, json_extract(NEW.body, "
	"'$.hostname'), json_extract(NEW.body, '$.os'), json_extract(NEW.body, '$.kernel'), "
	"json_extract(NEW.body, '$.agent_version'), json_extract(NEW.body, '$.collector'))"
	"  ON CONFLICT(host_id) DO UPDATE SET"
	"   hostname = excluded.hostname,"
	"   os = excluded.os,"
	"   kernel = excluded.kernel,"
	"   agent_version = excluded.agent_version,"
	"   collector = excluded.collector,"
	"   last_seen_ms = max(last_seen_ms, excluded.last_seen_ms),"
	"   first_seen_ms = min(first_seen_ms, excluded.first_seen_ms);"
	" END;"
	"CREATE TRIGGER IF NOT EXISTS record_apply_resources INSTEAD OF INSERT ON record_apply"
	" WHEN NEW.type = 'resources' BEGIN"
	" INSERT INTO hosts(host_id, first_seen_ms, last_seen_ms, res_ts, cpu_percent, ram_total, "
	"ram_available, disk_total, disk_available)"
	"  VALUES(NEW.host_id, NEW.received_ms, NEW.received_ms, NEW.ts, json_extract(NEW.body, "
	"'$.cpu_percent'), json_extract(NEW.body, '$.ram_total'), json_extract(NEW.body, "
	"'$.ram_available'), json_extract(NEW.body, '$.disk_total'), json_extract(NEW.body, "
	"'$.disk_available'))"
	"  ON CONFLICT(host_id) DO UPDATE SET"
	"   res_gap_ms = CASE WHEN excluded.res_ts > res_ts THEN excluded.res_ts - res_ts ELSE "
	"res_gap_ms END,"
	"   cpu_percent = CASE WHEN (res_ts IS NULL OR excluded.res_ts >= res_ts) THEN "
	"excluded.cpu_percent ELSE cpu_percent END,"
	"   ram_total = CASE WHEN (res_ts IS NULL OR excluded.res_ts >= res_ts) THEN "
	"excluded.ram_total ELSE ram_total END,"
	"   ram_available = CASE WHEN (res_ts IS NULL OR excluded.res_ts >= res_ts) THEN "
	"excluded.ram_available ELSE ram_available END,"
	"   disk_total = CASE WHEN (res_ts IS NULL OR excluded.res_ts >= res_ts) THEN "
	"excluded.disk_total ELSE disk_total END,"
	"   disk_available = CASE WHEN (res_ts IS NULL OR excluded.res_ts >= res_ts) THEN "
	"excluded.disk_available ELSE disk_available END,"
	"   res_ts = max(coalesce(res_ts, excluded.res_ts), excluded.res_ts),"
	"   last_seen_ms = max(last_seen_ms, excluded.last_seen_ms),"
	"   first_seen_ms = min(first_seen_ms, excluded.first_seen_ms);"
	" INSERT OR IGNORE INTO metrics(host, metric, ts, value)"
	"  SELECT h.id, m.id, NEW.ts, j.value"
	"  FROM json_each(NEW.body) j JOIN metric_names m ON m.name = j.key, hosts h"
	"  WHERE m.type = NEW.type AND h.host_id = NEW.host_id"
	"  AND j.type IN ('integer', 'real');"
	" END;"
	"CREATE TRIGGER IF NOT EXISTS record_apply_network INSTEAD OF INSERT ON record_apply"
	" WHEN NEW.type = 'network' BEGIN"
	" INSERT INTO hosts(host_id, first_seen_ms, last_seen_ms, net_ts, net_interval_ms, "
	"upload_rate, download_rate, rx_peak_rate, tx_peak_rate)"
	"  VALUES(NEW.host_id, NEW.received_ms, NEW.received_ms, NEW.ts, json_extract(NEW.body, "
	"'$.interval_ms'), json_extract(NEW.body, '$.upload_rate'), json_extract(NEW.body, "
	"'$.download_rate'), json_extract(NEW.body, '$.rx_peak_rate'), json_extract(NEW.body, "
	"'$.tx_peak_rate'))"
	"  ON CONFLICT(host_id) DO UPDATE SET"
	"   net_interval_ms = CASE WHEN (net_ts IS NULL OR excluded.net_ts >= net_ts) THEN "
	"excluded.net_interval_ms ELSE net_interval_ms END,"
	"   upload_rate = CASE WHEN (net_ts IS NULL OR excluded.net_ts >= net_ts) THEN "
	"excluded.upload_rate ELSE upload_rate END,"
	"   download_rate = CASE WHEN (net_ts IS NULL OR excluded.net_ts >= net_ts) THEN "
	"excluded.download_rate ELSE download_rate END,"
	"   rx_peak_rate = CASE WHEN (net_ts IS NULL OR excluded.net_ts >= net_ts) THEN "
	"excluded.rx_peak_rate ELSE rx_peak_rate END,"
	"   tx_peak_rate = CASE WHEN (net_ts IS NULL OR excluded.net_ts >= net_ts) THEN "
	"excluded.tx_peak_rate ELSE tx_peak_rate END,"
	"   net_ts = max(coalesce(net_ts, excluded.net_ts), excluded.net_ts),"
	"   last_seen_ms = max(last_seen_ms, excluded.last_seen_ms),"
	"   first_seen_ms = min(first_seen_ms, excluded.first_seen_ms);"
	" INSERT OR IGNORE INTO metrics(host, metric, ts, value)"
	"  SELECT h.id, m.id, NEW.ts, j.value"
	"  FROM json_each(NEW.body) j JOIN metric_names m ON m.name = j.key, hosts h"
	"  WHERE m.type = NEW.type AND h.host_id = NEW.host_id"
	"  AND j.type IN ('integer', 'real');"
	" END;"
	"CREATE TRIGGER IF NOT EXISTS record_apply_status INSTEAD OF INSERT ON record_apply"
	" WHEN NEW.type = 'status' BEGIN"
	" INSERT INTO hosts(host_id, first_seen_ms, last_seen_ms, status_ts)"
	"  VALUES(NEW.host_id, NEW.received_ms, NEW.received_ms, NEW.ts)"
	"  ON CONFLICT(host_id) DO UPDATE SET"
	"   status_gap_ms = CASE WHEN excluded.status_ts > status_ts THEN excluded.status_ts - "
	"status_ts ELSE status_gap_ms END,"
	"   status_ts = max(coalesce(status_ts, excluded.status_ts), excluded.status_ts),"
	"   last_seen_ms = max(last_seen_ms, excluded.last_seen_ms),"
	"   first_seen_ms = min(first_seen_ms, excluded.first_seen_ms);"
	" END;"
	"CREATE TRIGGER IF NOT EXISTS record_apply_exec INSTEAD OF INSERT ON record_apply"
	" WHEN NEW.type = 'exec' BEGIN"
	" INSERT INTO hosts(host_id, first_seen_ms, last_seen_ms)"
	"  VALUES(NEW.host_id, NEW.received_ms, NEW.received_ms)"
	"  ON CONFLICT(host_id) DO UPDATE SET"
	"   last_seen_ms = max(last_seen_ms, excluded.last_seen_ms),"
	"   first_seen_ms = min(first_seen_ms, excluded.first_seen_ms);"
	" INSERT INTO execs(id, host, ts, user, hay)"
	"  SELECT NEW.id, h.id, NEW.ts, coalesce(json_extract(NEW.body, '$.user'), ''),"
	"   coalesce((SELECT group_concat(value, ' ') FROM json_each(NEW.body, '$.argv')), '')"
	"   || char(10) || coalesce(json_extract(NEW.body, '$.user'), '')"
	"   || char(10) || coalesce(json_extract(NEW.body, '$.cwd'), '')"
	"   || char(10) || coalesce(json_extract(NEW.body, '$.tty'), '')"
	"  FROM hosts h WHERE h.host_id = NEW.host_id;"
	" END;"
	"CREATE TRIGGER IF NOT EXISTS record_apply_speedtest INSTEAD OF INSERT ON record_apply"
	" WHEN NEW.type = 'speedtest' BEGIN"
	" INSERT INTO hosts(host_id, first_seen_ms, last_seen_ms)"
	"  VALUES(NEW.host_id, NEW.received_ms, NEW.received_ms)"
	"  ON CONFLICT(host_id) DO UPDATE SET"
	"   last_seen_ms = max(last_seen_ms, excluded.last_seen_ms),"
	"   first_seen_ms = min(first_seen_ms, excluded.first_seen_ms);"
	" INSERT INTO speedtests(id, host, ts) SELECT NEW.id, h.id, NEW.ts"
	"  FROM hosts h WHERE h.host_id = NEW.host_id;"
	" END;"
	"CREATE TRIGGER IF NOT EXISTS metrics_rollup AFTER INSERT ON metrics BEGIN"
	" INSERT INTO metrics_1m(host, metric, minute, n, sum, min, max)"
	"  VALUES(NEW.host, NEW.metric, NEW.ts - NEW.ts % 60000, 1, NEW.value, NEW.value,"
	"   NEW.value)"
	"  ON CONFLICT(host, metric, minute) DO UPDATE SET n = n + 1, sum = sum + excluded.sum,"
	"   min = min(min, excluded.min), max = max(max, excluded.max);"
	" END;"
	/* A record removed (retention) takes its rows with it: its search and speed-test rows
	 * (keyed by its id) and its samples (host, metric of its type, its ts). The minute's
	 * aggregate stays (schema version 3): rollups go at --rollup-retention. */
	"DROP TRIGGER IF EXISTS records_api_delete;"
	"CREATE TRIGGER records_api_delete AFTER DELETE ON records BEGIN"
	" DELETE FROM execs WHERE id = OLD.id;"
	" DELETE FROM speedtests WHERE id = OLD.id;"
	" DELETE FROM metrics WHERE OLD.type IN ('resources', 'network')"
	"  AND host = (SELECT id FROM hosts WHERE host_id = OLD.host_id) AND ts = OLD.ts"
	"  AND metric IN (SELECT id FROM metric_names WHERE type = OLD.type);"
	" END;";

static const char ingest_trigger[] =
	"CREATE TRIGGER IF NOT EXISTS records_api AFTER INSERT ON records BEGIN"
	" INSERT INTO record_apply(id, host_id, type, ts, received_ms, body)"
	"  VALUES(NEW.id, NEW.host_id, NEW.type, NEW.ts, NEW.received_ms, NEW.body);"
	" END;";

/* The role of a token is its account's when it is issued (tokens are inserted by store_sqlite.c).
 */
static const char role_trigger[] =
	"CREATE TRIGGER IF NOT EXISTS tokens_role AFTER INSERT ON tokens BEGIN"
	" UPDATE tokens SET role = coalesce((SELECT role FROM accounts"
	"  WHERE name = NEW.account), 'agent') WHERE hash = NEW.hash;"
	" END;";

static int exec_sql(sqlite3 *sql, const char *text)
{
	return sqlite3_exec(sql, text, NULL, NULL, NULL) == SQLITE_OK ? 0 : -EIO;
}

/* 1 when the query returns a row, 0 when not, -EIO. */
static int exists(sqlite3 *sql, const char *query)
{
	sqlite3_stmt *st = NULL;
	int r;

	if (sqlite3_prepare_v2(sql, query, -1, &st, NULL) != SQLITE_OK)
		return -EIO;
	r = sqlite3_step(st);
	r = r == SQLITE_ROW ? 1 : r == SQLITE_DONE ? 0 : -EIO;
	sqlite3_finalize(st);
	return r;
}

static int add_role_columns(sqlite3 *sql)
{
	int r;

	r = exists(sql, "SELECT 1 FROM pragma_table_info('accounts') WHERE name = 'role'");
	if (r == 0)
		r = exec_sql(sql, "ALTER TABLE accounts ADD COLUMN role TEXT NOT NULL"
				  " DEFAULT 'agent' CHECK(role IN ('agent', 'viewer', 'admin'))");
	if (r < 0)
		return r;
	r = exists(sql, "SELECT 1 FROM pragma_table_info('tokens') WHERE name = 'role'");
	if (r == 0)
		r = exec_sql(sql,
			     "ALTER TABLE tokens ADD COLUMN role TEXT NOT NULL DEFAULT 'agent'");
	if (r < 0)
		return r;
	return exec_sql(sql, role_trigger);
}

static int fill_metric_names(sqlite3 *sql)
{
	sqlite3_stmt *st = NULL;
	int r = 0;

	if (sqlite3_prepare_v2(sql,
			       "INSERT OR REPLACE INTO metric_names(id, name, type, path, unit)"
			       " VALUES(?, ?, ?, '$.' || ?, ?)",
			       -1, &st, NULL) != SQLITE_OK)
		return -EIO;
	for (size_t i = 0; i < metric_count() && r == 0; i++) {
		const struct metric_def *m = metric_at(i);

		sqlite3_bind_int(st, 1, m->id);
		sqlite3_bind_text(st, 2, m->name, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, m->type, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 4, m->name, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 5, m->unit, -1, SQLITE_STATIC);
		r = sqlite3_step(st) == SQLITE_DONE ? 0 : -EIO;
		sqlite3_reset(st);
	}
	sqlite3_finalize(st);
	return r;
}

/* A database made by a development version between host ownership and the read API kept
 * the owners in a table named hosts: it becomes host_owners, and hosts the API's table. */
static int rename_owner_table(sqlite3 *sql)
{
	int r;

	r = exists(sql, "SELECT 1 FROM pragma_table_info('hosts') WHERE name = 'account'");
	if (r == 1)
		r = exec_sql(sql,
			     "DROP TABLE host_owners; ALTER TABLE hosts RENAME TO host_owners;");
	return r;
}

int sq_api_migrate(sqlite3 *sql, const char **ret_err)
{
	bool backfill, fts_new;
	int r;

	r = rename_owner_table(sql);
	if (r == 0)
		r = add_role_columns(sql);
	if (r < 0)
		goto fail;
	/* The ingest trigger is the last thing created: without it, the records stored so
	 * far have not been applied. */
	r = exists(sql, "SELECT 1 FROM sqlite_master WHERE type = 'trigger'"
			" AND name = 'records_api'");
	if (r < 0)
		goto fail;
	backfill = r == 0;
	r = exists(sql, "SELECT 1 FROM sqlite_master WHERE name = 'execs_fts'");
	if (r < 0)
		goto fail;
	fts_new = r == 0;
	r = exec_sql(sql, api_schema);
	/* A database whose execs came before the trigram index: index them once. */
	if (r == 0 && fts_new && !backfill)
		r = exec_sql(sql, "INSERT INTO execs_fts(execs_fts) VALUES('rebuild')");
	if (r == 0)
		r = fill_metric_names(sql);
	if (r == 0 && backfill)
		r = exec_sql(sql,
			     "INSERT INTO record_apply(id, host_id, type, ts, received_ms, body)"
			     " SELECT id, host_id, type, ts, received_ms, body FROM records"
			     " ORDER BY id");
	if (r == 0)
		r = exec_sql(sql, ingest_trigger);
	if (r == 0)
		return 0;
fail:
	*ret_err = sqlite3_errmsg(sql);
	return r;
}
