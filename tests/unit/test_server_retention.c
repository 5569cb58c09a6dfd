/* server/retention.c: --retention parsing, and batches deleting the oldest records by arrival. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <cmocka.h>

#include "db.h"
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

static void test_batches(void **state)
{
	char path[] = "/tmp/srvmon-retention-XXXXXX";
	char db_path[64];
	const uint64_t now = 1800000000000ull;
	int fd = mkstemp(path);
	struct db *db;
	uint64_t deleted = 0;

	(void)state;
	assert_true(fd >= 0);
	close(fd);
	unlink(path);
	(void)snprintf(db_path, sizeof(db_path), "%s.db", path);
	db = db_open(db_path, true, NULL);
	assert_non_null(db);
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
	assert_int_equal(retention_step(db, 30 * DAY_MS, now, &deleted), RETENTION_BUSY_MS);
	assert_int_equal(deleted, RETENTION_BATCH);
	assert_int_equal(retention_step(db, 30 * DAY_MS, now, &deleted), RETENTION_BUSY_MS);
	assert_int_equal(deleted, RETENTION_BATCH);
	assert_int_equal(retention_step(db, 30 * DAY_MS, now, &deleted), RETENTION_IDLE_MS);
	assert_int_equal(deleted, 100);
	assert_int_equal(retention_step(db, 30 * DAY_MS, now, &deleted), RETENTION_IDLE_MS);
	assert_int_equal(deleted, 0);
	/* 50 days later the recent ones go too. */
	assert_int_equal(retention_step(db, 30 * DAY_MS, now + 50 * DAY_MS, &deleted),
			 RETENTION_IDLE_MS);
	assert_int_equal(deleted, 5);
	db_close(db);
	unlink(db_path);
	for (int i = 0; i < 2; i++) {
		char side[80];

		(void)snprintf(side, sizeof(side), "%s%s", db_path, i ? "-shm" : "-wal");
		unlink(side);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_batches),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
