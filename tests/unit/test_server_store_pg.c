/* server/store_pg*.c, the PostgreSQL engine's base half, against a private PostgreSQL 15
 * (pg_fixture.c): the current schema (v4) and its idempotent, concurrent migration; records
 * deduplicated across two handles (two nodes), batched in a transaction, discarded by a rollback;
 * accounts, tokens, refresh reuse, host ownership; retention dropping a day partition; the
 * database going away (-EIO, one log line) and coming back. The database is inspected with
 * libpq behind the server's back (test only). */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "db.h"
#include "db_api.h"
#include "hosts.h"
#include "monoclock.h"
#include "pg_fixture.h"
#include "revoke.h"
#include "store.h"

/* Pure (store.c): always run. */
static void target_safe_strips_passwords(void **state)
{
	char buf[128];

	(void)state;
	assert_int_equal(store_target_safe("/var/lib/srvmon/db.sqlite", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "/var/lib/srvmon/db.sqlite");
	assert_int_equal(
		store_target_safe("postgresql://u:s3cret@db:5432/srvmon", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "postgresql://u:***@db:5432/srvmon");
	assert_int_equal(store_target_safe("postgres://u:p@ss?w@h/d?sslmode=require&password=x"
					   "&application_name=a",
					   buf, sizeof(buf)),
			 0);
	assert_string_equal(buf, "postgres://u:***@h/d?sslmode=require&password=***"
				 "&application_name=a");
	assert_int_equal(
		store_target_safe("postgresql:///srvmon?host=/tmp&user=u", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "postgresql:///srvmon?host=/tmp&user=u");
	assert_int_equal(store_target_safe("postgresql://u@h/d?sslpassword=k", buf, sizeof(buf)),
			 0);
	assert_string_equal(buf, "postgresql://u@h/d?sslpassword=***");
	assert_int_equal(store_target_safe("postgresql://u:secret@h/d", buf, 16), -ENOSPC);
	assert_null(strstr(buf, "secret"));
}

#ifdef SRVMON_WITH_POSTGRESQL
#include <libpq-fe.h>

#define DAY_MS 86400000LL

static struct pg_fixture pg;
static int next_db;

/* A fresh database of its own for a test case; its URL in url. */
static void fresh_db(char *url, size_t size)
{
	char name[32];

	(void)snprintf(name, sizeof(name), "case%d", ++next_db);
	assert_int_equal(pg_fixture_createdb(&pg, name), 0);
	pg_fixture_url(&pg, name, url, size);
}

static struct db *open_ok(const char *url)
{
	const char *err = NULL;
	struct db *db = db_open(url, true, &err);

	if (!db)
		fail_msg("db_open: %s", err ? err : "?");
	return db;
}

/* The first column of the first row of sql, as an integer (libpq, behind the server). */
static long long sql_int(const char *url, const char *sql)
{
	/* libpq takes the URL as it is. */
	PGconn *c = PQconnectdb(url);
	PGresult *r;
	long long v;

	assert_int_equal(PQstatus(c), CONNECTION_OK);
	r = PQexec(c, sql);
	if (PQresultStatus(r) != PGRES_TUPLES_OK)
		fail_msg("%s: %s", sql, PQresultErrorMessage(r));
	v = PQgetisnull(r, 0, 0) ? -1 : strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	PQclear(r);
	PQfinish(c);
	return v;
}

static struct db_record rec_of(const char *host, uint64_t seq, int64_t ts, const char *account)
{
	static const char body[] = "{\"type\":\"status\",\"note\":\"a \\\"quoted\\\" \\\\ body\"}";

	return (struct db_record){
		.host_id = host,
		.seq = seq,
		.type = "status",
		.ts = ts,
		.received_ms = (uint64_t)ts,
		.account = account,
		.body = body,
		.body_len = strlen(body),
	};
}

/* Records first..last of host at ts, queued in the open transaction (ret_inserted NULL). */
static void queue_range(struct db *db, const char *host, uint64_t first, uint64_t last, int64_t ts)
{
	uint64_t s;

	for (s = first; s <= last; s++) {
		struct db_record rec = rec_of(host, s, ts, "alice");

		assert_int_equal(db_record_insert(db, &rec, NULL), 0);
	}
}

static int count_cb(const struct db_record *rec, void *ctx)
{
	(void)rec;
	(*(int *)ctx)++;
	return 0;
}

static void assert_current_version(struct db *db)
{
	int v = -1;

	assert_int_equal(db_schema_version(db, &v), 0);
	assert_int_equal(v, STORE_SCHEMA_VERSION);
}

static void open_creates_current_schema(void **state)
{
	char url[192];
	struct db *db;

	(void)state;
	fresh_db(url, sizeof(url));
	db = open_ok(url);
	assert_current_version(db);
	db_close(db);
	assert_int_equal(sql_int(url, "SELECT count(*) FROM schema_version"), 1);
	assert_int_equal(sql_int(url, "SELECT max(version) FROM schema_version"),
			 STORE_SCHEMA_VERSION);
	/* records is partitioned, with a DEFAULT partition and today's. */
	assert_int_equal(sql_int(url, "SELECT count(*) FROM pg_partitioned_table p JOIN pg_class c"
				      " ON c.oid = p.partrelid WHERE c.relname = 'records'"),
			 1);
	assert_true(sql_int(url, "SELECT count(*) FROM pg_inherits WHERE inhparent ="
				 " 'records'::regclass") >= 2);
}

static void reopen_is_idempotent(void **state)
{
	char url[192];
	struct db *db;

	(void)state;
	fresh_db(url, sizeof(url));
	db = open_ok(url);
	assert_int_equal(db_account_add(db, "alice", "h", 1), 0);
	db_close(db);
	db = open_ok(url);
	assert_current_version(db);
	assert_int_equal(db_account_add(db, "alice", "h", 1), -EEXIST);
	db_close(db);
	assert_int_equal(sql_int(url, "SELECT count(*) FROM schema_version"), 1);
	/* create false: a database without the schema is refused, not filled. */
	{
		char empty[192];
		const char *err = NULL;

		fresh_db(empty, sizeof(empty));
		assert_null(db_open(empty, false, &err));
		assert_non_null(strstr(err, "no srvmon schema"));
	}
}

struct racer {
	const char *url;
	pthread_barrier_t *go;
	struct db *db;
	const char *err;
};

static void *race_open(void *arg)
{
	struct racer *r = arg;

	pthread_barrier_wait(r->go);
	r->db = db_open(r->url, true, &r->err);
	return NULL;
}

static void two_handles_migrate_concurrently(void **state)
{
	pthread_barrier_t go;
	struct racer r[2];
	pthread_t t[2];
	char url[192];
	int i;

	(void)state;
	fresh_db(url, sizeof(url));
	pthread_barrier_init(&go, NULL, 2);
	for (i = 0; i < 2; i++) {
		r[i] = (struct racer){.url = url, .go = &go};
		assert_int_equal(pthread_create(&t[i], NULL, race_open, &r[i]), 0);
	}
	for (i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	pthread_barrier_destroy(&go);
	for (i = 0; i < 2; i++) {
		if (!r[i].db)
			fail_msg("node %d: db_open: %s", i, r[i].err ? r[i].err : "?");
		db_close(r[i].db);
	}
	assert_int_equal(sql_int(url, "SELECT count(*) FROM schema_version"), 1);
}

static void records_dedup_across_nodes(void **state)
{
	int64_t now = (int64_t)wall_ms();
	struct db *a, *b;
	char url[192];
	bool inserted;
	uint64_t s;
	int n = 0;

	(void)state;
	fresh_db(url, sizeof(url));
	a = open_ok(url);
	b = open_ok(url);
	for (s = 1; s <= 10; s++) {
		struct db_record rec = rec_of("h1", s, now, "alice");

		assert_int_equal(db_record_insert(a, &rec, &inserted), 0);
		assert_true(inserted);
	}
	/* The agent moved to node b and resends 6..15: 6..10 are stored already. */
	for (s = 6; s <= 15; s++) {
		struct db_record rec = rec_of("h1", s, now, "alice");

		assert_int_equal(db_record_insert(b, &rec, &inserted), 0);
		assert_int_equal(inserted, s > 10);
	}
	/* Same host and seq from another account is another record. */
	{
		struct db_record rec = rec_of("h1", 1, now, "bob");

		assert_int_equal(db_record_insert(b, &rec, &inserted), 0);
		assert_true(inserted);
	}
	/* Batched on both nodes at once: each commits its own. */
	assert_int_equal(db_begin(a), 0);
	assert_int_equal(db_begin(b), 0);
	for (s = 11; s <= 20; s++) {
		struct db_record rec = rec_of("h1", s, now, "alice");

		assert_int_equal(db_record_insert(a, &rec, NULL), 0);
		assert_int_equal(db_record_insert(b, &rec, NULL), 0);
	}
	assert_int_equal(db_commit(a), 0);
	assert_int_equal(db_commit(b), 0);
	assert_int_equal(sql_int(url, "SELECT count(*) FROM records"), 21);
	assert_int_equal(db_records_foreach(a, "h1", NULL, 100, count_cb, &n), 0);
	assert_int_equal(n, 21);
	db_close(a);
	db_close(b);
}

struct newest {
	uint64_t seq;
	size_t body_len;
	char body[128];
};

static int newest_cb(const struct db_record *rec, void *ctx)
{
	struct newest *nw = ctx;

	nw->seq = rec->seq;
	nw->body_len = rec->body_len;
	(void)snprintf(nw->body, sizeof(nw->body), "%s", rec->body);
	return 1; /* the first (newest) only */
}

static void batched_insert_and_commit(void **state)
{
	int64_t now = (int64_t)wall_ms();
	struct db_record big = rec_of("h2", UINT64_MAX, now, "alice");
	struct newest nw = {0};
	struct db *db;
	char url[192];
	uint64_t s;

	(void)state;
	fresh_db(url, sizeof(url));
	db = open_ok(url);
	assert_int_equal(db_begin(db), 0);
	queue_range(db, "h2", 1, 100, now);
	/* Queued, not yet sent: nothing visible to others. (Only today's partition, made at
	 * open: making one in the transaction would lock the table until its commit.) */
	assert_int_equal(sql_int(url, "SELECT count(*) FROM records"), 0);
	/* Past the batch bound (flushed on the way), over three days of ts. */
	for (s = 101; s <= 5000; s++) {
		struct db_record rec = rec_of("h2", s, now - (int64_t)(s % 3) * DAY_MS, "alice");

		assert_int_equal(db_record_insert(db, &rec, NULL), 0);
	}
	/* A duplicate in the same batch is stored once. */
	{
		struct db_record rec = rec_of("h2", 5000, now - (5000 % 3) * DAY_MS, "alice");

		assert_int_equal(db_record_insert(db, &rec, NULL), 0);
	}
	assert_int_equal(db_record_insert(db, &big, NULL), 0);
	/* ...but a query in the transaction sees the queued records (flushed first). */
	assert_int_equal(db_records_foreach(db, "h2", NULL, 1, newest_cb, &nw), 1);
	assert_true(nw.seq == UINT64_MAX); /* a uint64 kept exactly */
	assert_string_equal(nw.body, big.body);
	assert_int_equal(db_commit(db), 0);
	assert_int_equal(sql_int(url, "SELECT count(*) FROM records"), 5001);
	/* Three days of ts: three day partitions hold them, none in DEFAULT. */
	assert_int_equal(sql_int(url, "SELECT count(*) FROM records_default"), 0);
	db_close(db);
}

static void rollback_discards_queue(void **state)
{
	int64_t now = (int64_t)wall_ms();
	struct db *db;
	char url[192];

	(void)state;
	fresh_db(url, sizeof(url));
	db = open_ok(url);
	assert_int_equal(db_begin(db), 0);
	queue_range(db, "h3", 1, 10, now);
	db_rollback(db);
	assert_false(db_in_transaction(db));
	/* Queued, flushed by a query, then rolled back: gone as well. */
	assert_int_equal(db_begin(db), 0);
	{
		struct db_record rec = rec_of("h3", 99, now, "alice");
		int n = 0;

		assert_int_equal(db_record_insert(db, &rec, NULL), 0);
		assert_int_equal(db_records_foreach(db, NULL, NULL, 10, count_cb, &n), 0);
		assert_int_equal(n, 1);
	}
	db_rollback(db);
	assert_int_equal(db_commit(db), 0); /* none open: nothing to do */
	assert_int_equal(sql_int(url, "SELECT count(*) FROM records"), 0);
	/* A day partition made in a rolled-back transaction is gone: it is made again, and
	 * the record lands in it, not in DEFAULT. */
	assert_int_equal(db_begin(db), 0);
	queue_range(db, "h3", 1, 1, now - 10 * DAY_MS);
	assert_int_equal(db_records_foreach(db, NULL, NULL, 10, count_cb, &(int){0}), 0);
	db_rollback(db);
	{
		struct db_record rec = rec_of("h3", 1, now - 10 * DAY_MS, "alice");
		bool inserted = false;

		assert_int_equal(db_record_insert(db, &rec, &inserted), 0);
		assert_true(inserted);
	}
	assert_int_equal(sql_int(url, "SELECT count(*) FROM records_default"), 0);
	db_close(db);
}

#define HASH(c) (c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c)

static void accounts_tokens_refresh(void **state)
{
	const char *tok = HASH("a1"), *tok2 = HASH("a2"), *rt = HASH("b1"), *rt2 = HASH("b2");
	struct revoke_counts rc;
	struct db_stats st;
	struct db_auth auth;
	char acc[64], fam[80], hash[64];
	uint64_t exp = 0;
	enum role role;
	struct db *db;
	char url[192];

	(void)state;
	fresh_db(url, sizeof(url));
	db = open_ok(url);
	assert_int_equal(db_account_add(db, "alice", "$argon2id$x", 10), 0);
	assert_int_equal(db_account_add(db, "alice", "$argon2id$y", 11), -EEXIST);
	assert_int_equal(db_account_hash(db, "alice", hash, sizeof(hash)), 0);
	assert_string_equal(hash, "$argon2id$x");
	assert_int_equal(db_account_hash(db, "alice", hash, 4), -ENOSPC);
	assert_int_equal(db_account_hash(db, "nobody", hash, sizeof(hash)), -ENOENT);
	assert_int_equal(db_account_role(db, "alice", &role), 0);
	assert_int_equal(role, ROLE_AGENT);
	assert_int_equal(db_account_set_role(db, "alice", ROLE_VIEWER), 0);
	assert_int_equal(db_account_set_role(db, "nobody", ROLE_VIEWER), -ENOENT);

	/* A token takes its account's role when issued; an expired one is purged. */
	assert_int_equal(db_token_add(db, tok, "alice", rt, 100, 150), 0);
	assert_int_equal(db_token_add(db, tok2, "alice", rt, 200, 1000), 0);
	assert_int_equal(db_token_lookup(db, tok, acc, sizeof(acc), &exp), -ENOENT);
	assert_int_equal(db_token_lookup(db, tok2, acc, sizeof(acc), &exp), 0);
	assert_string_equal(acc, "alice");
	assert_int_equal(exp, 1000);
	assert_int_equal(db_token_lookup(db, "short", acc, sizeof(acc), &exp), -ENOENT);
	assert_int_equal(db_token_auth(db, tok2, &auth), 0);
	assert_int_equal(auth.role, ROLE_VIEWER);

	/* Refresh: first use 0, a replay -EALREADY with the family, expired -ENOENT. */
	assert_int_equal(db_refresh_add(db, rt, "alice", rt, 100, 1000), 0);
	assert_int_equal(db_refresh_add(db, rt2, "alice", rt, 100, 300), 0);
	assert_int_equal(db_refresh_use(db, rt, 200, acc, sizeof(acc), fam, sizeof(fam)), 0);
	assert_string_equal(fam, rt);
	assert_int_equal(db_refresh_use(db, rt, 201, acc, sizeof(acc), fam, sizeof(fam)),
			 -EALREADY);
	assert_string_equal(fam, rt);
	assert_int_equal(db_refresh_use(db, rt2, 300, acc, sizeof(acc), fam, sizeof(fam)), -ENOENT);
	/* Inside a transaction a replay does not abort it. */
	assert_int_equal(db_begin(db), 0);
	assert_int_equal(db_refresh_use(db, rt, 202, acc, sizeof(acc), fam, sizeof(fam)),
			 -EALREADY);
	assert_int_equal(db_account_add(db, "alice", "z", 1), -EEXIST);
	assert_int_equal(db_counter_add(db, DB_COUNTER_TOKENS_ISSUED, 2), 0);
	assert_int_equal(db_commit(db), 0);
	assert_int_equal(db_counter_add(db, DB_COUNTER_TOKENS_ISSUED, 3), 0);
	assert_int_equal(db_stats_read(db, 500, &st), 0);
	assert_int_equal(st.accounts, 1);
	assert_int_equal(st.tokens_issued, 5);
	assert_int_equal(st.tokens_active, 1);

	assert_int_equal(revoke_family(db, rt, &rc), 0);
	assert_int_equal(rc.access, 1);
	assert_int_equal(rc.refresh, 2);
	assert_int_equal(db_token_add(db, tok, "alice", NULL, 600, 2000), 0);
	assert_int_equal(revoke_delete_account(db, "alice", &rc), 0);
	assert_int_equal(rc.access, 1);
	assert_int_equal(revoke_delete_account(db, "alice", &rc), -ENOENT);
	db_close(db);
}

static int host_row_cb(const struct hosts_row *row, void *ctx)
{
	char *out = ctx;
	size_t len = strlen(out);

	(void)snprintf(out + len, 256 - len, "%s=%s;", row->host_id, row->account);
	return 0;
}

static void host_claim_ownership(void **state)
{
	char owner[64], rows[256] = "";
	struct db *a, *b;
	char url[192];

	(void)state;
	fresh_db(url, sizeof(url));
	a = open_ok(url);
	b = open_ok(url);
	assert_int_equal(db_account_add(a, "alice", "h", 1), 0);
	assert_int_equal(db_account_add(a, "bob", "h", 1), 0);
	assert_int_equal(store_host_claim(a, "web1", "alice", 100, owner, sizeof(owner)), 0);
	assert_string_equal(owner, "alice");
	/* Another node, another account: the owner stays. */
	assert_int_equal(store_host_claim(b, "web1", "bob", 200, owner, sizeof(owner)), 0);
	assert_string_equal(owner, "alice");
	assert_int_equal(store_host_claim(b, "web1", "alice", 300, owner, sizeof(owner)), 0);
	assert_int_equal(store_host_owner(b, "web1", owner, sizeof(owner)), 0);
	assert_string_equal(owner, "alice");
	assert_int_equal(store_host_owner(b, "nope", owner, sizeof(owner)), -ENOENT);
	assert_int_equal(hosts_add(a, "web1", "bob", 400, owner, sizeof(owner)), -EEXIST);
	assert_string_equal(owner, "alice");
	assert_int_equal(hosts_add(a, "db1", "bob", 400, owner, sizeof(owner)), 0);
	assert_int_equal(hosts_add(a, "db2", "carol", 400, owner, sizeof(owner)), -ENOENT);
	assert_int_equal(hosts_foreach(b, host_row_cb, rows), 0);
	assert_string_equal(rows, "db1=bob;web1=alice;");
	assert_int_equal(hosts_del(a, "web1"), 0);
	assert_int_equal(hosts_del(a, "web1"), -ENOENT);
	/* Released: the next sender owns it. */
	assert_int_equal(store_host_claim(b, "web1", "bob", 500, owner, sizeof(owner)), 0);
	assert_string_equal(owner, "bob");
	db_close(a);
	db_close(b);
}

static void retention_drops_day_partition(void **state)
{
	int64_t now = (int64_t)wall_ms();
	int64_t old = now - 5 * DAY_MS;
	char url[192], q[256], name[64];
	struct db *db;
	uint64_t deleted = 0, s;
	time_t t = (time_t)(old / 1000);
	struct tm tm;

	(void)state;
	fresh_db(url, sizeof(url));
	db = open_ok(url);
	assert_int_equal(db_begin(db), 0);
	for (s = 1; s <= 30; s++) {
		struct db_record rec = rec_of("h4", s, s <= 20 ? old : now, "alice");

		assert_int_equal(db_record_insert(db, &rec, NULL), 0);
	}
	/* A ts far from now goes to DEFAULT, retained by its arrival (received_ms). */
	{
		struct db_record rec = rec_of("h4", 100, 1000, "alice");

		rec.received_ms = (uint64_t)old;
		assert_int_equal(db_record_insert(db, &rec, NULL), 0);
	}
	assert_int_equal(db_commit(db), 0);
	assert_int_equal(sql_int(url, "SELECT count(*) FROM records_default"), 1);
	gmtime_r(&t, &tm);
	(void)snprintf(name, sizeof(name), "records_p%04d%02d%02d", tm.tm_year + 1900,
		       tm.tm_mon + 1, tm.tm_mday);
	(void)snprintf(q, sizeof(q), "SELECT count(*) FROM pg_class WHERE relname = '%s'", name);
	assert_int_equal(sql_int(url, q), 1);
	assert_int_equal(db_records_expire(db, now - 2 * DAY_MS, 500, &deleted), 0);
	assert_int_equal(deleted, 21);
	assert_int_equal(sql_int(url, q), 0); /* the day's table is gone */
	assert_int_equal(sql_int(url, "SELECT count(*) FROM records"), 10);
	/* Nothing more to expire; the day can be written again (partition made again). */
	assert_int_equal(db_records_expire(db, now - 2 * DAY_MS, 500, &deleted), 0);
	assert_int_equal(deleted, 0);
	{
		struct db_record rec = rec_of("h4", 200, old, "alice");
		bool inserted = false;

		assert_int_equal(db_record_insert(db, &rec, &inserted), 0);
		assert_true(inserted);
	}
	db_close(db);
}

/* Lines of file that contain needle. */
static int count_lines(const char *path, const char *needle)
{
	char line[1024];
	FILE *f = fopen(path, "re");
	int n = 0;

	assert_non_null(f);
	while (fgets(line, sizeof(line), f))
		if (strstr(line, needle))
			n++;
	fclose(f);
	return n;
}

static void database_goes_away_and_back(void **state)
{
	int64_t now = (int64_t)wall_ms();
	char logpath[] = "/tmp/srvmon-pg-log-XXXXXX";
	uint64_t deadline;
	struct db *db;
	char url[192];
	bool inserted;
	int saved, fd, i, r;

	(void)state;
	fresh_db(url, sizeof(url));
	db = open_ok(url);
	fd = mkstemp(logpath);
	assert_true(fd >= 0);
	(void)fflush(stderr);
	saved = dup(STDERR_FILENO);
	dup2(fd, STDERR_FILENO);
	close(fd);

	/* A transaction open when it goes: its queued record is not stored, the commit fails. */
	assert_int_equal(db_begin(db), 0);
	{
		struct db_record rec = rec_of("h5", 1, now, "alice");

		assert_int_equal(db_record_insert(db, &rec, NULL), 0); /* queued */
	}
	assert_int_equal(pg_fixture_stop(&pg), 0);
	assert_int_equal(db_commit(db), -EIO);
	assert_false(db_reachable(db));
	for (i = 0; i < 20; i++) {
		struct db_record rec = rec_of("h5", 2, now, "alice");

		assert_int_equal(db_begin(db), -EIO);
		assert_int_equal(db_record_insert(db, &rec, &inserted), -EIO);
		assert_int_equal(db_commit(db), 0); /* none open */
	}
	assert_int_equal(pg_fixture_restart(&pg), 0);
	/* Back within the backoff (at most 5 s). */
	deadline = mono_ms() + 15000;
	do {
		r = db_begin(db);
		if (r < 0) {
			struct timespec ts = {0, 50 * 1000 * 1000};

			nanosleep(&ts, NULL);
		}
	} while (r < 0 && mono_ms() < deadline);
	assert_int_equal(r, 0);
	assert_true(db_reachable(db));
	{
		struct db_record rec = rec_of("h5", 3, now, "alice");

		assert_int_equal(db_record_insert(db, &rec, NULL), 0);
		assert_int_equal(db_commit(db), 0);
	}
	(void)fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	assert_int_equal(count_lines(logpath, "unreachable"), 1);
	assert_int_equal(count_lines(logpath, "reachable again"), 1);
	unlink(logpath);
	assert_int_equal(sql_int(url, "SELECT count(*) FROM records"), 1);
	db_close(db);
}

static int group_setup(void **state)
{
	(void)state;
	return pg_fixture_start(&pg, false) == 0 ? 0 : -1;
}

static int group_teardown(void **state)
{
	(void)state;
	pg_fixture_destroy(&pg);
	return 0;
}
#endif

static int run_pure(void)
{
	const struct CMUnitTest pure[] = {
		cmocka_unit_test(target_safe_strips_passwords),
	};

	return cmocka_run_group_tests_name("pure", pure, NULL, NULL);
}

#ifdef SRVMON_WITH_POSTGRESQL
int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(open_creates_current_schema),
		cmocka_unit_test(reopen_is_idempotent),
		cmocka_unit_test(two_handles_migrate_concurrently),
		cmocka_unit_test(records_dedup_across_nodes),
		cmocka_unit_test(batched_insert_and_commit),
		cmocka_unit_test(rollback_discards_queue),
		cmocka_unit_test(accounts_tokens_refresh),
		cmocka_unit_test(host_claim_ownership),
		cmocka_unit_test(retention_drops_day_partition),
		cmocka_unit_test(database_goes_away_and_back),
	};
	const char *why = NULL;

	if (run_pure() != 0)
		return 1;
	if (!pg_fixture_available(&why)) {
		(void)printf("SKIP: test_server_store_pg: %s\n", why);
		return 77;
	}
	return cmocka_run_group_tests_name("postgresql", tests, group_setup, group_teardown);
}

#else

int main(void)
{
	if (run_pure() != 0)
		return 1;
	(void)printf("SKIP: test_server_store_pg: srvmon-server was built without libpq "
		     "(libpq-dev missing): no PostgreSQL engine to test\n");
	return 77;
}

#endif
