/* server/grant.c: the password and refresh-token grants of POST /token, refresh-token replay
 * (revoking the family, server/store_sqlite_revoke.c). */
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
#include "grant.h"
#include "password.h"
#include "revoke.h"
#include "token.h"

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

static void test_grant(void **state)
{
	struct fixture *f = *state;
	static const char good[] = "grant_type=password&username=alice&password=pw+one";
	static const char wrong[] = "grant_type=password&username=alice&password=pw+two";
	static const char unknown[] = "grant_type=password&username=bob&password=pw+one";
	struct grant_reply r1, r2;
	char account[64];
	char token[TOKEN_HEX_LEN + 1];
	char sha[TOKEN_HASH_HEX_LEN + 1];
	const char *p;
	uint64_t expires;
	struct db_stats st;

	assert_int_equal(db_account_add(f->db, "alice", "x", 2), -EEXIST);

	assert_int_equal(grant_password(f->db, good, strlen(good), 60, 1000, &r1), 0);
	assert_int_equal(r1.status, 200);
	p = strstr(r1.body, "\"access_token\":\"");
	assert_non_null(p);
	memcpy(token, p + 16, TOKEN_HEX_LEN);
	token[TOKEN_HEX_LEN] = '\0';
	assert_true(token_is_wellformed(token));
	assert_non_null(strstr(r1.body, "\"expires_in\":60}"));
	/* Only the hash is stored, with the expiry. */
	assert_int_equal(token_hash(token, sha), 0);
	assert_int_equal(db_token_lookup(f->db, sha, account, sizeof(account), &expires), 0);
	assert_string_equal(account, "alice");
	assert_true(expires == 1000 + 60 * 1000);
	assert_int_equal(db_token_lookup(f->db, token, account, sizeof(account), &expires),
			 -ENOENT);

	/* Wrong password and unknown user: the same reply. */
	assert_int_equal(grant_password(f->db, wrong, strlen(wrong), 60, 1000, &r1), 0);
	assert_int_equal(grant_password(f->db, unknown, strlen(unknown), 60, 1000, &r2), 0);
	assert_int_equal(r1.status, 400);
	assert_int_equal(r2.status, 400);
	assert_string_equal(r1.body, "{\"error\":\"invalid_grant\"}");
	assert_string_equal(r1.body, r2.body);

	assert_int_equal(grant_password(f->db, "grant_type=code", 15, 60, 1000, &r1), 0);
	assert_string_equal(r1.body, "{\"error\":\"unsupported_grant_type\"}");
	assert_int_equal(grant_password(f->db, "username=alice", 14, 60, 1000, &r1), 0);
	assert_string_equal(r1.body, "{\"error\":\"invalid_request\"}");

	/* Expired tokens are purged when a new one is issued after their expiry. */
	assert_int_equal(grant_password(f->db, good, strlen(good), 60, 1000 + 61000, &r1), 0);
	assert_int_equal(db_token_lookup(f->db, sha, account, sizeof(account), &expires), -ENOENT);

	assert_int_equal(db_stats_read(f->db, 1000 + 61000, &st), 0);
	assert_true(st.token_requests == 6);
	assert_true(st.tokens_issued == 2);
	assert_true(st.failed_logins == 2);
	assert_true(st.tokens_active == 1);
	assert_true(st.accounts == 1);
}

/* Extracts the 64-hex value of "name":"..." from a reply body. */
static void body_token(const char *body, const char *name, char ret[TOKEN_HEX_LEN + 1])
{
	char key[64];
	const char *p;

	snprintf(key, sizeof(key), "\"%s\":\"", name);
	p = strstr(body, key);
	assert_non_null(p);
	memcpy(ret, p + strlen(key), TOKEN_HEX_LEN);
	ret[TOKEN_HEX_LEN] = '\0';
	assert_true(token_is_wellformed(ret));
}

static void test_refresh_grant(void **state)
{
	struct fixture *f = *state;
	static const char good[] = "grant_type=password&username=alice&password=pw+one";
	const struct grant_lifetimes lt = {.access_s = 60, .refresh_s = 600};
	char refresh[TOKEN_HEX_LEN + 1], refresh2[TOKEN_HEX_LEN + 1];
	char access[TOKEN_HEX_LEN + 1];
	char sha[TOKEN_HASH_HEX_LEN + 1];
	char form[160];
	char account[64];
	uint64_t expires;
	struct grant_reply r;
	struct db_stats st;

	/* Without refresh lifetime: no refresh_token offered, the grant is unsupported. */
	assert_int_equal(grant_password(f->db, good, strlen(good), 60, 1000, &r), 0);
	assert_null(strstr(r.body, "refresh_token"));

	assert_int_equal(grant_token(f->db, good, strlen(good), &lt, 1000, &r), 0);
	assert_int_equal(r.status, 200);
	body_token(r.body, "refresh_token", refresh);
	/* Only the hash is stored: the refresh token is not an access token. */
	assert_int_equal(token_hash(refresh, sha), 0);
	assert_int_equal(db_token_lookup(f->db, sha, account, sizeof(account), &expires), -ENOENT);

	snprintf(form, sizeof(form), "grant_type=refresh_token&refresh_token=%s", refresh);
	assert_int_equal(grant_password(f->db, form, strlen(form), 60, 2000, &r), 0);
	assert_string_equal(r.body, "{\"error\":\"unsupported_grant_type\"}");
	assert_int_equal(grant_token(f->db, form, strlen(form), &lt, 2000, &r), 0);
	assert_int_equal(r.status, 200);
	body_token(r.body, "access_token", access);
	body_token(r.body, "refresh_token", refresh2);
	assert_string_not_equal(refresh, refresh2);
	assert_int_equal(token_hash(access, sha), 0);
	assert_int_equal(db_token_lookup(f->db, sha, account, sizeof(account), &expires), 0);
	assert_string_equal(account, "alice");
	assert_true(expires == 2000 + 60 * 1000);
	/* Single use: the same refresh token again is refused. */
	assert_int_equal(grant_token(f->db, form, strlen(form), &lt, 3000, &r), 0);
	assert_int_equal(r.status, 400);
	assert_string_equal(r.body, "{\"error\":\"invalid_grant\"}");
	/* Expired: refused. */
	snprintf(form, sizeof(form), "grant_type=refresh_token&refresh_token=%s", refresh2);
	assert_int_equal(grant_token(f->db, form, strlen(form), &lt, 2000 + 601000, &r), 0);
	assert_string_equal(r.body, "{\"error\":\"invalid_grant\"}");
	/* Malformed or missing. */
	assert_int_equal(
		grant_token(f->db, "grant_type=refresh_token&refresh_token=xyz", 42, &lt, 3000, &r),
		0);
	assert_string_equal(r.body, "{\"error\":\"invalid_grant\"}");
	assert_int_equal(grant_token(f->db, "grant_type=refresh_token", 24, &lt, 3000, &r), 0);
	assert_string_equal(r.body, "{\"error\":\"invalid_request\"}");

	assert_int_equal(db_stats_read(f->db, 3000, &st), 0);
	assert_true(st.refresh_grants == 1);
	assert_true(st.tokens_issued == 3);
}

/* Grants tokens with form at now; ret_access/ret_refresh from the 200 reply. */
static void grant_ok(struct db *db, const char *form, uint64_t now,
		     char ret_access[TOKEN_HEX_LEN + 1], char ret_refresh[TOKEN_HEX_LEN + 1])
{
	const struct grant_lifetimes lt = {.access_s = 60, .refresh_s = 600};
	struct grant_reply r;

	assert_int_equal(grant_token(db, form, strlen(form), &lt, now, &r), 0);
	assert_int_equal(r.status, 200);
	body_token(r.body, "access_token", ret_access);
	body_token(r.body, "refresh_token", ret_refresh);
}

static bool access_valid(struct db *db, const char *token)
{
	char sha[TOKEN_HASH_HEX_LEN + 1];
	char account[64];
	uint64_t expires;

	assert_int_equal(token_hash(token, sha), 0);
	return db_token_lookup(db, sha, account, sizeof(account), &expires) == 0;
}

static void refresh_form(const char *refresh, char *form, size_t size)
{
	(void)snprintf(form, size, "grant_type=refresh_token&refresh_token=%s", refresh);
}

static void test_refresh_replay(void **state)
{
	struct fixture *f = *state;
	static const char good[] = "grant_type=password&username=alice&password=pw+one";
	const struct grant_lifetimes lt = {.access_s = 60, .refresh_s = 600};
	char a1[TOKEN_HEX_LEN + 1], a2[TOKEN_HEX_LEN + 1], a3[TOKEN_HEX_LEN + 1];
	char r1[TOKEN_HEX_LEN + 1], r2[TOKEN_HEX_LEN + 1], r3[TOKEN_HEX_LEN + 1];
	char other_a[TOKEN_HEX_LEN + 1], other_r[TOKEN_HEX_LEN + 1];
	char form[160];
	struct revoke_counts n;
	struct grant_reply r;

	/* Family 1: a password grant, then two rotations. Family 2: another login. */
	grant_ok(f->db, good, 1000, a1, r1);
	refresh_form(r1, form, sizeof(form));
	grant_ok(f->db, form, 2000, a2, r2);
	refresh_form(r2, form, sizeof(form));
	grant_ok(f->db, form, 3000, a3, r3);
	grant_ok(f->db, good, 3000, other_a, other_r);
	assert_true(access_valid(f->db, a1) && access_valid(f->db, a3));

	/* r1 again (a copy used by someone else): refused, and its whole family is revoked,
	 * access tokens included; the other login is untouched. */
	refresh_form(r1, form, sizeof(form));
	assert_int_equal(grant_token(f->db, form, strlen(form), &lt, 4000, &r), 0);
	assert_int_equal(r.status, 400);
	assert_string_equal(r.body, "{\"error\":\"invalid_grant\"}");
	assert_false(access_valid(f->db, a1));
	assert_false(access_valid(f->db, a2));
	assert_false(access_valid(f->db, a3));
	refresh_form(r3, form, sizeof(form));
	assert_int_equal(grant_token(f->db, form, strlen(form), &lt, 4000, &r), 0);
	assert_string_equal(r.body, "{\"error\":\"invalid_grant\"}");
	assert_true(access_valid(f->db, other_a));

	/* token revoke --account: every token of the account; user del: the account too. */
	assert_int_equal(revoke_account(f->db, "alice", &n), 0);
	assert_true(n.access == 1 && n.refresh == 1);
	assert_false(access_valid(f->db, other_a));
	refresh_form(other_r, form, sizeof(form));
	assert_int_equal(grant_token(f->db, form, strlen(form), &lt, 5000, &r), 0);
	assert_string_equal(r.body, "{\"error\":\"invalid_grant\"}");
	grant_ok(f->db, good, 6000, a1, r1);
	assert_int_equal(revoke_delete_account(f->db, "alice", &n), 0);
	assert_true(n.access == 1 && n.refresh == 1);
	assert_false(access_valid(f->db, a1));
	assert_int_equal(revoke_delete_account(f->db, "alice", &n), -ENOENT);
	assert_int_equal(grant_token(f->db, good, strlen(good), &lt, 7000, &r), 0);
	assert_string_equal(r.body, "{\"error\":\"invalid_grant\"}");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_grant, setup_db, teardown_db),
		cmocka_unit_test_setup_teardown(test_refresh_grant, setup_db, teardown_db),
		cmocka_unit_test_setup_teardown(test_refresh_replay, setup_db, teardown_db),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
