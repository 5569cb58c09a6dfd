/* The PostgreSQL engine's read API (store_pg_api*.c, store_pg_apply.c, store_pg_expire.c,
 * store_pg_body.c): one fixed set of records (pg_api_fixture.h) stored in a SQLite file and in
 * a private PostgreSQL gives the same answers from hosts, series, speedtests, the exec search
 * and the record stream on both (the JSON compared byte for byte), also after retention.
 * Records go in batches of several sizes, out of order, with duplicates, so that
 * pg_api_apply()'s batched statements must agree with SQLite's per-record triggers. Skipped
 * (exit 77) when built without libpq or without postgresql-15 installed. */
#ifdef SRVMON_WITH_POSTGRESQL
#include "pg_api_fixture.h"

#include "metric.h"
#include "store_pg_read.h"

static void test_hosts(void **state)
{
	struct env *e = *state;
	int64_t k;

	SAME(db_api_hosts(e->sq, NOW, NULL, NULL, &a_), db_api_hosts(e->pg, NOW, NULL, NULL, &b_),
	     "hosts");
	SAME(db_api_hosts(e->sq, T0 + 60000, NULL, NULL, &a_),
	     db_api_hosts(e->pg, T0 + 60000, NULL, NULL, &b_), "hosts a minute in");
	assert_int_equal(db_api_host_key(e->pg, "no-such-host", &k), -ENOENT);
	assert_int_equal(db_api_host_key(e->sq, "no-such-host", &k), -ENOENT);
}

static void test_series(void **state)
{
	static const int64_t steps[] = {1000, 10000, 25000, 60000, 120000, 300000, 3600000};
	static const char *const hosts[] = {HOSTA, HOSTB};
	struct env *e = *state;

	for (size_t h = 0; h < 2; h++) {
		for (size_t m = 0; m < metric_count(); m++) {
			for (size_t s = 0; s < sizeof(steps) / sizeof(steps[0]); s++) {
				struct db_series_query qs = {
					.host = key(e->sq, hosts[h]),
					.metric = metric_at(m)->id,
					.from = T0 + 12345,
					.to = s % 2 ? NOW : T0 + 1500000 + (int64_t)s * 1000,
					.step = steps[s],
				};
				struct db_series_query qp = qs;
				char what[96];

				qp.host = key(e->pg, hosts[h]);
				(void)snprintf(what, sizeof(what), "series %s of %s, step %" PRId64,
					       metric_at(m)->name, hosts[h], steps[s]);
				SAME(db_api_series(e->sq, &qs, &a_), db_api_series(e->pg, &qp, &b_),
				     what);
			}
		}
	}
}

static void test_speedtests(void **state)
{
	struct env *e = *state;

	for (uint64_t limit = 1; limit <= 4; limit++)
		SAME(db_api_speedtests(e->sq, key(e->sq, HOSTA), T0, T0 + 1800000, limit, &a_),
		     db_api_speedtests(e->pg, key(e->pg, HOSTA), T0, T0 + 1800000, limit, &b_),
		     "speedtests");
	SAME(db_api_speedtests(e->sq, key(e->sq, HOSTA), T0 + 1200001, T0 + 1800000, 10, &a_),
	     db_api_speedtests(e->pg, key(e->pg, HOSTA), T0 + 1200001, T0 + 1800000, 10, &b_),
	     "speedtests from after the second");
	SAME(db_api_speedtests(e->sq, key(e->sq, HOSTA), 0, NOW, 10, &a_),
	     db_api_speedtests(e->pg, key(e->pg, HOSTA), 0, NOW, 10, &b_), "all speedtests");
	SAME(db_api_speedtests(e->sq, key(e->sq, HOSTB), 0, NOW, 10, &a_),
	     db_api_speedtests(e->pg, key(e->pg, HOSTB), 0, NOW, 10, &b_), "no speedtests");
}

/* Every page of one search on one engine, with the cursor each page gave. */
static void exec_pages(struct db *db, struct db_exec_query q, const char *host, struct sbuf *out)
{
	for (int page = 0; page < 100; page++) {
		int64_t next_ts = 0, next_id = 0;
		bool more = false;

		if (host)
			q.host = key(db, host);
		assert_int_equal(db_api_execs(db, &q, out, &more, &next_ts, &next_id), 0);
		assert_int_equal(sbuf_adds(out, more ? " more\n" : " end\n"), 0);
		if (!more)
			return;
		q.have_cursor = true;
		q.cursor_ts = next_ts;
		q.cursor_id = next_id;
	}
	fail_msg("exec pages do not end");
}

static void test_execs(void **state)
{
	static const struct {
		const char *host, *user, *q;
		uint64_t limit;
	} cases[] = {
		{NULL, NULL, NULL, 100},
		{NULL, NULL, NULL, 7},
		{HOSTA, NULL, NULL, 5},
		{HOSTB, NULL, NULL, 5},
		{NULL, "alice", NULL, 1},
		{NULL, "backup", NULL, 4},
		{NULL, NULL, "cron-job", 6},
		{NULL, NULL, "cron-job --n 1", 3},
		{NULL, NULL, "ls", 10},
		{NULL, NULL, "100%_", 10},
		{NULL, NULL, "%", 10},
		{NULL, NULL, "_", 10},
		{NULL, NULL, "a\\b", 10},
		{NULL, NULL, "h\xc3\xa9llo w\"orld", 10},
		{NULL, NULL, "lines\nalice", 10},
		{NULL, NULL, "root\n/srv\ntty1", 10},
		{NULL, NULL, "not-an-array", 10},
		{NULL, NULL, "\n7\n", 10},
		{HOSTA, "root", "cron", 4},
		{NULL, NULL, "no such text", 10},
		{NULL, NULL, "", 3},
		{HOSTB, "alice", NULL, 10},
	};
	struct env *e = *state;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct db_exec_query q = {
			.user = cases[i].user,
			.q = cases[i].q,
			.from = T0 - 1000,
			.to = i % 2 ? NOW : T0 + 1000000,
			.limit = cases[i].limit,
		};
		char what[64];

		(void)snprintf(what, sizeof(what), "exec search %zu", i);
		SAME((exec_pages(e->sq, q, cases[i].host, &a_), 0),
		     (exec_pages(e->pg, q, cases[i].host, &b_), 0), what);
	}
}

static int body_cb(int64_t id, const char *body, size_t len, void *ctx)
{
	(void)id;
	if (sbuf_add(ctx, body, len) < 0 || sbuf_addc(ctx, '\n') < 0)
		return -ENOMEM;
	return 0;
}

/* The bodies of every record after the first, in pages of limit (ids differ between engines:
 * PostgreSQL's identity skips the duplicates' values). */
static int records_after(struct db *db, const char *host, const char *type, uint64_t limit,
			 struct sbuf *out)
{
	int64_t after = 0, last = 0, first_id = 0;
	size_t before;

	assert_int_equal(db_api_records_after(db, 0, NULL, NULL, 1, body_cb, out, &first_id), 0);
	after = first_id;
	do {
		before = out->len;
		assert_int_equal(
			db_api_records_after(db, after, host, type, limit, body_cb, out, &last), 0);
		after = last;
	} while (out->len != before);
	assert_int_equal(db_api_last_record(db, &last), 0);
	assert_true(last >= first_id);
	return 0;
}

static void test_records_after(void **state)
{
	struct env *e = *state;

	SAME(records_after(e->sq, NULL, NULL, 97, &a_), records_after(e->pg, NULL, NULL, 97, &b_),
	     "records after");
	SAME(records_after(e->sq, HOSTB, NULL, 3, &a_), records_after(e->pg, HOSTB, NULL, 3, &b_),
	     "records after, one host");
	SAME(records_after(e->sq, NULL, "exec", 5, &a_), records_after(e->pg, NULL, "exec", 5, &b_),
	     "records after, one type");
}

static void superuser_sql(const char *db, const char *sql)
{
	char url[256];
	PGconn *c;
	PGresult *res;

	pg_fixture_url(&fx, db, url, sizeof(url));
	c = PQconnectdb(url);
	assert_int_equal(PQstatus(c), CONNECTION_OK);
	res = PQexec(c, sql);
	if (PQresultStatus(res) != PGRES_COMMAND_OK && PQresultStatus(res) != PGRES_TUPLES_OK)
		fail_msg("%s: %s", sql, PQresultErrorMessage(res));
	if (PQresultStatus(res) == PGRES_TUPLES_OK)
		assert_string_equal(PQgetvalue(res, 0, 0), "0");
	PQclear(res);
	PQfinish(c);
}

/* A database whose owner may not create extensions: no trigram index (a warning), the same
 * exec search answers. */
static void test_no_trigram(void **state)
{
	struct env *e = *state;
	struct env plain = {.sq = e->sq};
	void *st = &plain;
	char url[256];

	superuser_sql("srvmon", "CREATE ROLE srvmon_plain LOGIN");
	superuser_sql("srvmon", "CREATE DATABASE plain OWNER srvmon_plain");
	superuser_sql("srvmon", "REVOKE CREATE ON DATABASE plain FROM srvmon_plain");
	(void)snprintf(url, sizeof(url), "postgresql:///plain?host=%s&port=%d&user=srvmon_plain",
		       fx.dir, fx.port);
	plain.pg = db_open(url, true, NULL);
	assert_non_null(plain.pg);
	superuser_sql("plain",
		      "SELECT count(*) FROM pg_indexes WHERE indexname = 'execs_hay_trgm'");
	store_all(plain.pg);
	test_execs(&st);
	db_close(plain.pg);
}

static int64_t rollups(struct db *db)
{
	uint64_t n, total = 0;

	do {
		assert_int_equal(db_rollups_expire(db, T0 + 600000, 50, &n), 0);
		total += n;
	} while (n);
	return (int64_t)total;
}

/* Runs last: the rollups before a cutoff go, the same ones on both. */
static void test_rollups_expire(void **state)
{
	struct env *e = *state;
	int64_t n = rollups(e->sq);
	uint64_t u = 0;

	assert_true(n > 0);
	assert_int_equal(rollups(e->pg), n);
	test_series(state);
	/* Up to midnight: PostgreSQL drops the day's partition (uncounted). */
	assert_int_equal(db_rollups_expire(e->sq, T0 + 1800000, 100000, &u), 0);
	assert_true(u > 0);
	assert_int_equal(db_rollups_expire(e->pg, T0 + 1800000, 100000, &u), 0);
	test_series(state);
}

static uint64_t records_expire(struct db *db, int64_t cutoff)
{
	uint64_t n, total = 0;

	do {
		assert_int_equal(db_records_expire(db, cutoff, 100, &n), 0);
		total += n;
	} while (n);
	return total;
}

/* Retention up to midnight (no record received in the last 150 ms before it): the same
 * records and derived rows go on both, by rows on SQLite, by the day's partitions on
 * PostgreSQL. */
static void test_records_expire(void **state)
{
	struct env *e = *state;
	uint64_t n = records_expire(e->sq, T0 + 1800000);

	assert_true(n > 100);
	assert_int_equal(records_expire(e->pg, T0 + 1800000), n);
	test_series(state);
	test_speedtests(state);
	test_execs(state);
	test_records_after(state);
	SAME(execs_after(e->sq, 7, &a_), execs_after(e->pg, 7, &b_), "execs after expiry");
	SAME(db_alert_states_json(e->sq, &a_), db_alert_states_json(e->pg, &b_),
	     "states after expiry");
}

/* pg_body_add(): strict JSON as it is, what only cJSON reads reprinted, garbage refused. */
static void test_body(void **state)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
		{"{\"a\":1,\"b\":[true,null,-0.5e+3],\"c\":\"x\\\"y\\u00e9\"}", NULL},
		{"{ \"a\" :\t[ ]\r\n}", NULL},
		{"{\"a\":01}", "{\"a\":1}"},
		{"{\"a\":-01.50}", "{\"a\":-1.5}"},
		{"{\"a\":1.}", "{\"a\":1}"},
		{"{\"a\":\"x\\u0000y\"}", "{\"a\":\"x\"}"},
		{"{\"a\":\"x\\\\u0000y\"}", NULL},
		{"{\x01\"a\":2}", "{\"a\":2}"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct sbuf out = {0};

		assert_int_equal(pg_body_add(&out, cases[i].in, strlen(cases[i].in)), 0);
		assert_string_equal(out.s, cases[i].out ? cases[i].out : cases[i].in);
		sbuf_free(&out);
	}
	{
		struct sbuf out = {0};

		assert_int_equal(pg_body_add(&out, "{\"a\":01", 7), -EINVAL);
		sbuf_free(&out);
	}
}

/* A body that PostgreSQL's jsonb refuses as it is (ingest's cJSON took it) is stored and
 * applied, not a failed batch. PostgreSQL only: SQLite's JSON functions refuse it too. */
static void test_lenient_body(void **state)
{
	struct env *e = *state;
	char body[160], want[400];
	struct db_record r = {
		.host_id = "eeee",
		.seq = 1,
		.type = "resources",
		.ts = T0,
		.received_ms = (uint64_t)T0,
		.account = "agent1",
		.body = body,
	};
	struct sbuf out = {0};
	bool inserted = false;

	(void)snprintf(body, sizeof(body),
		       "{\"type\":\"resources\",\"host_id\":\"eeee\",\"seq\":1,\"ts\":%" PRId64
		       ",\"cpu_percent\":07,\"ram_total\":1.}",
		       T0);
	r.body_len = strlen(body);
	(void)snprintf(want, sizeof(want),
		       "{\"host_id\":\"eeee\",\"hostname\":null,\"os\":null,\"kernel\":null,"
		       "\"agent_version\":null,\"collector\":null,\"last_seen_ms\":%" PRId64
		       ",\"first_seen_ms\":%" PRId64 ",\"cpu_percent\":7,\"ram_total\":1,",
		       T0, T0);

	assert_int_equal(db_record_insert(e->pg, &r, &inserted), 0);
	assert_true(inserted);
	assert_int_equal(db_api_hosts(e->pg, NOW, NULL, NULL, &out), 0);
	if (!strstr(out.s, want))
		fail_msg("no %s in %s", want, out.s);
	sbuf_free(&out);
}

/* A day whose rows sit in a DEFAULT partition already (they came while it was too far ahead
 * to get a partition) keeps them there: a new record of that day is stored, not a batch that
 * fails on the partition PostgreSQL refuses to make. */
static void test_default_busy(void **state)
{
	struct env *e = *state;
	int64_t ts = T0 + 1800000 + DAY_MS + 5000; /* tomorrow */
	PGconn *c = PQconnectdb(fx.url);
	char sql[200], body[200];
	struct db_record r = {.host_id = HOSTA,
			      .seq = 90000,
			      .type = "resources",
			      .ts = ts,
			      .received_ms = (uint64_t)ts,
			      .account = "agent1",
			      .body = body};
	struct db_series_query q = {.host = key(e->pg, HOSTA),
				    .metric = 1,
				    .from = ts - 60000,
				    .to = ts + 60000,
				    .step = 1000};
	struct sbuf out = {0};
	bool inserted = false;
	PGresult *res;

	assert_int_equal(PQstatus(c), CONNECTION_OK);
	(void)snprintf(sql, sizeof(sql),
		       "INSERT INTO metrics_default(host, metric, ts, value) VALUES(0, 1, %" PRId64
		       ", 1)",
		       ts - 1000);
	res = PQexec(c, sql);
	assert_int_equal(PQresultStatus(res), PGRES_COMMAND_OK);
	PQclear(res);
	PQfinish(c);
	(void)snprintf(body, sizeof(body),
		       "{\"type\":\"resources\",\"host_id\":\"%s\",\"seq\":90000,\"ts\":%" PRId64
		       ",\"cpu_percent\":42}",
		       HOSTA, ts);
	r.body_len = strlen(body);
	assert_int_equal(db_record_insert(e->pg, &r, &inserted), 0);
	assert_true(inserted);
	assert_int_equal(db_api_series(e->pg, &q, &out), 0);
	if (!strstr(out.s, "\"max\":[42]"))
		fail_msg("the new sample: %s", out.s);
	sbuf_free(&out);
}

int main(void)
{
	const struct CMUnitTest pure[] = {cmocka_unit_test(test_body)};
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hosts),	       cmocka_unit_test(test_series),
		cmocka_unit_test(test_speedtests),     cmocka_unit_test(test_execs),
		cmocka_unit_test(test_records_after),  cmocka_unit_test(test_no_trigram),
		cmocka_unit_test(test_rollups_expire), cmocka_unit_test(test_records_expire),
		cmocka_unit_test(test_lenient_body),   cmocka_unit_test(test_default_busy),
	};
	const char *why = NULL;

	if (cmocka_run_group_tests_name("pure", pure, NULL, NULL) != 0)
		return 1;
	if (!pg_fixture_available(&why)) {
		(void)printf("SKIP: test_server_store_pg_api: %s\n", why);
		return 77;
	}
	return cmocka_run_group_tests_name("sqlite and postgresql", tests, setup, teardown);
}

#else

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

#include <cmocka.h>

int main(void)
{
	(void)printf("SKIP: test_server_store_pg_api: srvmon-server was built without libpq "
		     "(libpq-dev missing): no PostgreSQL engine to test\n");
	return 77;
}

#endif
