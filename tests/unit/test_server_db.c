/* server/store_sqlite.c (through db.h): records stored exactly (seq as 20 digits), deduplicated, counted. */
#include <errno.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "db.h"
#include "password.h"

struct fixture {
	char dir[64];
	char path[96];
	struct db *db;
};

static int setup_db(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char hash[PASSWORD_ENCODED_MAX];

	if (!f)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "/tmp/srvmon-test-auth.XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(f->path, sizeof(f->path), "%s/t.db", f->dir);
	f->db = db_open(f->path, true, NULL);
	if (!f->db)
		return -1;
	if (password_hash("pw one", hash, sizeof(hash)) < 0 ||
	    db_account_add(f->db, "alice", hash, 1) < 0)
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
	snprintf(p, sizeof(p), "%s-wal", f->path);
	unlink(p);
	snprintf(p, sizeof(p), "%s-shm", f->path);
	unlink(p);
	rmdir(f->dir);
	free(f);
	return 0;
}

static void test_records(void **state)
{
	struct fixture *f = *state;
	struct db_record rec = {
		.host_id = "h",
		.seq = UINT64_MAX,
		.type = "status",
		.ts = -1,
		.received_ms = 5,
		.account = "alice",
		.body = "{}",
		.body_len = 2,
	};
	char seq[DB_SEQ_DIGITS + 1];
	struct db_stats st;
	bool inserted = false;

	db_seq_format(UINT64_MAX, seq);
	assert_string_equal(seq, "18446744073709551615");
	db_seq_format(7, seq);
	assert_string_equal(seq, "00000000000000000007");
	assert_int_equal(db_record_insert(f->db, &rec, &inserted), 0);
	assert_true(inserted);
	assert_int_equal(db_record_insert(f->db, &rec, &inserted), 0);
	assert_false(inserted);
	rec.seq = 7;
	assert_int_equal(db_record_insert(f->db, &rec, &inserted), 0);
	assert_true(inserted);
	assert_int_equal(db_stats_read(f->db, 0, &st), 0);
	assert_true(st.records == 2);
	assert_int_equal(st.n_types, 1);
	assert_string_equal(st.types[0].type, "status");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_records, setup_db, teardown_db),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
