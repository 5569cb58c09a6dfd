/* server/hosts.c: host ownership (claim, refusal, cache), the ack cap, host list lines. */
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
#include "hosts.h"

static void test_ack_cap(void **state)
{
	struct hosts_refusals r = {0};
	uint64_t seq = 0;

	(void)state;
	/* Nothing refused: the highest committed seq. */
	assert_true(hosts_ack_cap(&r, 42, &seq));
	assert_true(seq == 42);
	hosts_refusal_note(&r, 10);
	hosts_refusal_note(&r, 12);
	hosts_refusal_note(&r, 11);
	assert_true(r.n == 3);
	assert_true(r.min_seq == 10);
	/* Below the lowest refused seq: unchanged; at or above it: stops just below. */
	assert_true(hosts_ack_cap(&r, 9, &seq));
	assert_true(seq == 9);
	assert_true(hosts_ack_cap(&r, 10, &seq));
	assert_true(seq == 9);
	assert_true(hosts_ack_cap(&r, UINT64_MAX, &seq));
	assert_true(seq == 9);
	/* seq 0 refused: no ack can say "all up to N stored" any more. */
	hosts_refusal_note(&r, 0);
	assert_false(hosts_ack_cap(&r, 5, &seq));
}

static void test_format(void **state)
{
	struct hosts_row row = {.host_id = "web\t1\x1b[2J",
				.account = "alice",
				.assigned_ms = 1,
				.first_seen_ms = 1764072000123ull,
				.last_seen_ms = 1764072060000ull};
	char buf[128];
	char small[8];
	size_t n;

	(void)state;
	n = hosts_format_row(&row, buf, sizeof(buf));
	assert_int_equal(n, strlen(buf));
	assert_string_equal(buf, "web?1?[2J\talice\t2025-11-25T12:00:00Z\t2025-11-25T12:01:00Z");
	row.first_seen_ms = 0;
	row.last_seen_ms = 0;
	hosts_format_row(&row, buf, sizeof(buf));
	assert_string_equal(buf, "web?1?[2J\talice\t-\t-");
	/* Cut to fit, always terminated. */
	assert_int_equal(hosts_format_row(&row, small, sizeof(small)), 7);
	assert_string_equal(small, "web?1?[");
	hosts_clean("a\nb\x7f", small, sizeof(small));
	assert_string_equal(small, "a?b?");
}

struct fixture {
	char dir[64];
	char path[96];
	struct db *db;
};

static int setup_db(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	(void)snprintf(f->dir, sizeof(f->dir), "/tmp/srvmon-test-hosts.XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	(void)snprintf(f->path, sizeof(f->path), "%s/t.db", f->dir);
	f->db = db_open(f->path, true, NULL);
	if (!f->db || db_account_add(f->db, "alice", "x", 1) < 0 ||
	    db_account_add(f->db, "bob", "x", 1) < 0)
		return -1;
	*state = f;
	return 0;
}

static int teardown_db(void **state)
{
	struct fixture *f = *state;
	char p[128];

	db_close(f->db);
	unlink(f->path);
	(void)snprintf(p, sizeof(p), "%s-wal", f->path);
	unlink(p);
	(void)snprintf(p, sizeof(p), "%s-shm", f->path);
	unlink(p);
	rmdir(f->dir);
	free(f);
	return 0;
}

struct listed {
	size_t n;
	char lines[4][128];
};

static int collect(const struct hosts_row *row, void *ctx)
{
	struct listed *l = ctx;

	if (l->n < 4)
		hosts_format_row(row, l->lines[l->n++], sizeof(l->lines[0]));
	return 0;
}

static void test_claim(void **state)
{
	struct fixture *f = *state;
	struct hosts_cache alice = {0}, bob = {0};
	struct listed l = {0};
	char owner[64];
	const char *who = NULL;
	bool owned = false;

	/* The first sender owns the host; the cache answers the next records. */
	assert_int_equal(hosts_check(f->db, &alice, "h1", "alice", 1000, &owned, &who), 0);
	assert_true(owned);
	assert_string_equal(who, "alice");
	assert_int_equal(hosts_check(f->db, &bob, "h1", "bob", 1000, &owned, &who), 0);
	assert_false(owned);
	assert_string_equal(who, "alice");
	/* Released while both are connected: the cache keeps its answer for HOSTS_RECHECK_MS,
	 * then the database is asked again and the next sender claims it. */
	assert_int_equal(hosts_del(f->db, "h1"), 0);
	assert_int_equal(hosts_del(f->db, "h1"), -ENOENT);
	assert_int_equal(hosts_check(f->db, &alice, "h1", "alice", 1500, &owned, NULL), 0);
	assert_true(owned);
	assert_int_equal(
		hosts_check(f->db, &bob, "h1", "bob", 1000 + HOSTS_RECHECK_MS, &owned, &who), 0);
	assert_true(owned);
	assert_string_equal(who, "bob");
	assert_int_equal(
		hosts_check(f->db, &alice, "h1", "alice", 1000 + HOSTS_RECHECK_MS, &owned, &who),
		0);
	assert_false(owned);
	/* Another host_id is not answered from the cache. */
	assert_int_equal(
		hosts_check(f->db, &alice, "h2", "alice", 1000 + HOSTS_RECHECK_MS, &owned, NULL),
		0);
	assert_true(owned);

	/* Assigned by an administrator: idempotent for the owner, refused for another. */
	assert_int_equal(hosts_add(f->db, "h3", "alice", 5, owner, sizeof(owner)), 0);
	assert_int_equal(hosts_add(f->db, "h3", "alice", 6, owner, sizeof(owner)), 0);
	assert_int_equal(hosts_add(f->db, "h3", "bob", 7, owner, sizeof(owner)), -EEXIST);
	assert_string_equal(owner, "alice");
	assert_int_equal(hosts_add(f->db, "h4", "carol", 7, owner, sizeof(owner)), -ENOENT);
	assert_int_equal(hosts_check(f->db, &bob, "h3", "bob", 9000, &owned, NULL), 0);
	assert_false(owned);

	/* First and last seen: stamped by the owner's records only. */
	assert_int_equal(hosts_check(f->db, &alice, "h3", "alice", 9000, &owned, NULL), 0);
	assert_int_equal(hosts_check(f->db, &alice, "h3", "alice", 19000, &owned, NULL), 0);
	assert_int_equal(hosts_foreach(f->db, collect, &l), 0);
	assert_int_equal(l.n, 3);
	assert_string_equal(l.lines[0], "h1\tbob\t1970-01-01T00:00:02Z\t1970-01-01T00:00:02Z");
	assert_string_equal(l.lines[1], "h2\talice\t1970-01-01T00:00:02Z\t1970-01-01T00:00:02Z");
	assert_string_equal(l.lines[2], "h3\talice\t1970-01-01T00:00:09Z\t1970-01-01T00:00:19Z");
}

static void test_dedup_per_account(void **state)
{
	struct fixture *f = *state;
	struct db_record rec = {.host_id = "h",
				.seq = 7,
				.type = "status",
				.ts = 1,
				.received_ms = 5,
				.account = "bob",
				.body = "{}",
				.body_len = 2};
	bool inserted = false;

	/* A record another account stored (before ownership was enforced) does not make the
	 * owner's record with the same (host_id, seq) a duplicate. */
	assert_int_equal(db_record_insert(f->db, &rec, &inserted), 0);
	assert_true(inserted);
	rec.account = "alice";
	assert_int_equal(db_record_insert(f->db, &rec, &inserted), 0);
	assert_true(inserted);
	assert_int_equal(db_record_insert(f->db, &rec, &inserted), 0);
	assert_false(inserted);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ack_cap),
		cmocka_unit_test(test_format),
		cmocka_unit_test_setup_teardown(test_claim, setup_db, teardown_db),
		cmocka_unit_test_setup_teardown(test_dedup_per_account, setup_db, teardown_db),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
