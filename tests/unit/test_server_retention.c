/* server/retention.c: --retention parsing, batches deleting the oldest records by arrival, and
 * --rollup-retention: per-minute rollups outliving the raw records. */
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

#include "db.h"
#include "db_api.h"
#include "metric.h"
#include "sbuf.h"
#include "retention.h"

#define DAY_MS (86400ull * 1000)

static void test_parse(void **state)
{
	uint64_t ms = 1;

	(void)state;
	assert_int_equal(retention_parse("0", &ms), 0);
	assert_int_equal(ms, 0);
	assert_int_equal(retention_parse("30d", &ms), 0);
	assert_int_equal(ms, 30 * DAY_MS);
	assert_int_equal(retention_parse("12h", &ms), 0);
	assert_int_equal(ms, 12ull * 3600 * 1000);
	assert_int_equal(retention_parse("3600s", &ms), 0);
	assert_int_equal(ms, 3600000);
	assert_true(retention_parse("0d", &ms) < 0);
	assert_true(retention_parse("d", &ms) < 0);
	assert_true(retention_parse("30x", &ms) < 0);
	assert_true(retention_parse("-1d", &ms) < 0);
	assert_true(retention_parse("500ms", &ms) < 0); /* under 1 s */
	assert_true(retention_parse("99999999d", &ms) < 0);
	assert_true(retention_parse("", &ms) < 0);
}

/* Creates a database in a new temporary path (db_path, 64 bytes). */
static struct db *open_tmp(char *db_path, size_t size)
{
	char path[] = "/tmp/srvmon-retention-XXXXXX";
	int fd = mkstemp(path);
	struct db *db;

	assert_true(fd >= 0);
	close(fd);
	unlink(path);
	(void)snprintf(db_path, size, "%s.db", path);
	db = db_open(db_path, true, NULL);
	assert_non_null(db);
	return db;
}

static void remove_tmp(const char *db_path)
{
	unlink(db_path);
	for (int i = 0; i < 2; i++) {
		char side[80];

		(void)snprintf(side, sizeof(side), "%s%s", db_path, i ? "-shm" : "-wal");
		unlink(side);
	}
}

static void test_batches(void **state)
{
	char db_path[64];
	const uint64_t now = 1800000000000ull;
	struct db *db;
	uint64_t deleted = 0;

	(void)state;
	db = open_tmp(db_path, sizeof(db_path));
	/* 1,100 received 40 days ago (ts now: a clock in the future keeps nothing), then 5
	 * received now with an ancient ts. */
	assert_int_equal(db_begin(db), 0);
	for (uint64_t seq = 1; seq <= 1105; seq++) {
		bool old = seq <= 1100;
		struct db_record rec = {.host_id = "h",
					.seq = seq,
					.type = "status",
					.ts = old ? (int64_t)now : 1,
					.received_ms = old ? now - 40 * DAY_MS : now,
					.account = "a",
					.body = "{}",
					.body_len = 2};
		bool inserted;

		assert_int_equal(db_record_insert(db, &rec, &inserted), 0);
	}
	assert_int_equal(db_commit(db), 0);
	/* Full batches come back soon, the last partial one at the idle interval. */
	assert_int_equal(retention_step(db, 30 * DAY_MS, 0, now, &deleted), RETENTION_BUSY_MS);
	assert_int_equal(deleted, RETENTION_BATCH);
	assert_int_equal(retention_step(db, 30 * DAY_MS, 0, now, &deleted), RETENTION_BUSY_MS);
	assert_int_equal(deleted, RETENTION_BATCH);
	assert_int_equal(retention_step(db, 30 * DAY_MS, 0, now, &deleted), RETENTION_IDLE_MS);
	assert_int_equal(deleted, 100);
	assert_int_equal(retention_step(db, 30 * DAY_MS, 0, now, &deleted), RETENTION_IDLE_MS);
	assert_int_equal(deleted, 0);
	/* 50 days later the recent ones go too. */
	assert_int_equal(retention_step(db, 30 * DAY_MS, 0, now + 50 * DAY_MS, &deleted),
			 RETENTION_IDLE_MS);
	assert_int_equal(deleted, 5);
	db_close(db);
	remove_tmp(db_path);
}

#define RAW                                                                                        \
	"\"t\":[1796544000000,1796544030000,1796544060000],\"min\":[10,30,50],\"avg\":[10,30,"     \
	"50],\"max\":[10,30,50],\"n\":[1,1,1]"
#define MINUTES                                                                                    \
	"\"t\":[1796544000000,1796544060000],\"min\":[10,50],\"avg\":[20,50],\"max\":[30,50],"     \
	"\"n\":[2,1]"
#define EMPTY "\"t\":[],\"min\":[],\"avg\":[],\"max\":[],\"n\":[]"

/* The series of cpu_percent over [from, to] at step (a minute or more: the rollups). */
static void series(struct db *db, int64_t from, int64_t to, int64_t step, struct sbuf *out)
{
	struct db_series_query q = {.from = from, .to = to, .step = step};

	q.metric = metric_by_name("cpu_percent")->id;
	assert_int_equal(db_api_host_key(db, "h", &q.host), 0);
	out->len = 0;
	assert_int_equal(db_api_series(db, &q, out), 0);
}

static void test_rollups(void **state)
{
	char db_path[64];
	/* Samples 40 days before now, two in one minute, one in the next. */
	const uint64_t now = 1800000000000ull;
	const int64_t t0 = (int64_t)(now - 40 * DAY_MS) / 60000 * 60000;
	const int64_t ts[] = {t0, t0 + 30000, t0 + 60000};
	const char *const bodies[] = {"{\"cpu_percent\":10}", "{\"cpu_percent\":30}",
				      "{\"cpu_percent\":50}"};
	struct sbuf out = {0};
	struct db_stats st;
	struct db *db;
	uint64_t deleted = 0;

	(void)state;
	db = open_tmp(db_path, sizeof(db_path));
	for (uint64_t i = 0; i < 3; i++) {
		struct db_record rec = {.host_id = "h",
					.seq = i,
					.type = "resources",
					.ts = ts[i],
					.received_ms = (uint64_t)ts[i],
					.account = "a",
					.body = bodies[i],
					.body_len = strlen(bodies[i])};
		bool inserted = false;

		assert_int_equal(db_record_insert(db, &rec, &inserted), 0);
		assert_true(inserted);
	}
	series(db, t0, t0 + 119999, 1000, &out);
	assert_string_equal(out.s, RAW);
	series(db, t0, t0 + 119999, 60000, &out);
	assert_string_equal(out.s, MINUTES);
	/* At --retention the raw records go (and their samples), the rollups stay. */
	assert_int_equal(retention_step(db, 30 * DAY_MS, 400 * DAY_MS, now, &deleted),
			 RETENTION_IDLE_MS);
	assert_int_equal(deleted, 3);
	assert_int_equal(db_stats_read(db, now, &st), 0);
	assert_int_equal(st.records, 0);
	series(db, t0, t0 + 119999, 1000, &out);
	assert_string_equal(out.s, EMPTY);
	series(db, t0, t0 + 119999, 60000, &out);
	assert_string_equal(out.s, MINUTES);
	/* Until --rollup-retention (400 days) they are read for steps of a minute or more. */
	assert_int_equal(
		retention_step(db, 30 * DAY_MS, 400 * DAY_MS, now + 359 * DAY_MS, &deleted),
		RETENTION_IDLE_MS);
	series(db, t0, t0 + 119999, 60000, &out);
	assert_string_equal(out.s, MINUTES);
	/* --rollup-retention 0 keeps them whatever their age. */
	assert_int_equal(retention_step(db, 30 * DAY_MS, 0, now + 500 * DAY_MS, &deleted),
			 RETENTION_IDLE_MS);
	series(db, t0, t0 + 119999, 60000, &out);
	assert_string_equal(out.s, MINUTES);
	assert_int_equal(
		retention_step(db, 30 * DAY_MS, 400 * DAY_MS, now + 361 * DAY_MS, &deleted),
		RETENTION_IDLE_MS);
	series(db, t0, t0 + 119999, 60000, &out);
	assert_string_equal(out.s, EMPTY);
	db_close(db);
	remove_tmp(db_path);
	sbuf_free(&out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_batches),
		cmocka_unit_test(test_rollups),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
