/* The PostgreSQL engine's accounts, tokens, refresh tokens, counters and roles
 * (store_pg_impl.h). No statement here may fail on a duplicate: inside a transaction an
 * error would abort it, so conflicts are answered with ON CONFLICT and row counts. */
#include "store_pg_impl.h"

#include "token.h"

#include <errno.h>
#include <string.h>

/* The hash is looked up by a range of its first digits, then compared whole in constant
 * time (token_hash_equal()), like the SQLite engine's. */
#define HASH_LOOKUP_DIGITS 16

int pg_account_add(struct db *db, const char *name, const char *hash, uint64_t now_ms)
{
	char now[24];
	const char *args[3] = {name, hash, pg_i64(now, (int64_t)now_ms)};
	uint64_t n = 0;
	int r;

	r = pg_exec_changes(db,
			    "INSERT INTO accounts(name, hash, created_ms) VALUES($1, $2, $3)"
			    " ON CONFLICT (name) DO NOTHING",
			    3, args, &n);
	if (r < 0)
		return r;
	return n ? 0 : -EEXIST;
}

int pg_account_hash(struct db *db, const char *name, char *ret, size_t size)
{
	return pg_select_text(db, "SELECT hash FROM accounts WHERE name = $1", name, ret, size);
}

/* Purges the table's expired rows (so that it cannot grow without bound), then stores. */
static int credential_add(struct db *db, const char *purge_sql, const char *insert_sql,
			  const char *hash, const char *account, const char *family,
			  uint64_t now_ms, uint64_t expires_ms)
{
	char now[24], exp[24];
	const char *args[5] = {hash, account, pg_i64(now, (int64_t)now_ms),
			       pg_i64(exp, (int64_t)expires_ms), family};
	int r;

	r = pg_query_ok(db, purge_sql, 1, &args[2]);
	if (r == 0)
		r = pg_query_ok(db, insert_sql, 5, args);
	return r;
}

int pg_token_add(struct db *db, const char *hash, const char *account, const char *family,
		 uint64_t now_ms, uint64_t expires_ms)
{
	/* A token's role is its account's when it is issued. */
	return credential_add(
		db, "DELETE FROM tokens WHERE expires_ms <= $1",
		"INSERT INTO tokens(hash, account, issued_ms, expires_ms, family, role)"
		" VALUES($1, $2, $3, $4, $5, coalesce((SELECT role FROM accounts"
		" WHERE name = $2), 'agent'))",
		hash, account, family, now_ms, expires_ms);
}

int pg_refresh_add(struct db *db, const char *hash, const char *account, const char *family,
		   uint64_t now_ms, uint64_t expires_ms)
{
	return credential_add(db, "DELETE FROM refresh_tokens WHERE expires_ms <= $1",
			      "INSERT INTO refresh_tokens(hash, account, issued_ms, expires_ms,"
			      " family) VALUES($1, $2, $3, $4, $5)",
			      hash, account, family, now_ms, expires_ms);
}

/*
 * Runs sql ($1 the hash prefix, its column 0 the stored hash) and finds the row whose hash
 * equals hash. 0 with *ret (the caller clears it) and *ret_row, -ENOENT, -EIO.
 */
static int credential_find(struct db *db, const char *sql, const char *hash, PGresult **ret,
			   int *ret_row)
{
	char prefix[HASH_LOOKUP_DIGITS + 1];
	const char *arg = prefix;
	PGresult *r;
	int i;

	*ret = NULL;
	if (strlen(hash) != TOKEN_HASH_HEX_LEN)
		return -ENOENT;
	memcpy(prefix, hash, HASH_LOOKUP_DIGITS);
	prefix[HASH_LOOKUP_DIGITS] = '\0';
	r = pg_query_unbatched(db, sql, 1, &arg);
	if (!r)
		return -EIO;
	for (i = 0; i < PQntuples(r); i++) {
		if (token_hash_equal(PQgetvalue(r, i, 0), hash)) {
			*ret = r;
			*ret_row = i;
			return 0;
		}
	}
	PQclear(r);
	return -ENOENT;
}

int pg_token_auth(struct db *db, const char *hash, struct db_auth *ret)
{
	PGresult *r;
	int row = 0, rc;

	rc = credential_find(db,
			     "SELECT hash, account, expires_ms, role FROM tokens"
			     " WHERE hash >= $1 AND hash < $1 || 'g'",
			     hash, &r, &row);
	if (rc < 0)
		return rc;
	rc = pg_copy_text(r, row, 1, ret->account, sizeof(ret->account));
	ret->expires_ms = (uint64_t)pg_get_i64(r, row, 2);
	/* An unknown role grants nothing: taken as agent. */
	if (role_parse(PQgetvalue(r, row, 3), &ret->role) < 0)
		ret->role = ROLE_AGENT;
	PQclear(r);
	return rc;
}

int pg_token_lookup(struct db *db, const char *hash, char *ret_account, size_t size,
		    uint64_t *ret_expires_ms)
{
	struct db_auth auth;
	size_t len;
	int r;

	r = pg_token_auth(db, hash, &auth);
	if (r < 0)
		return r;
	len = strlen(auth.account);
	if (len >= size)
		return -ENOSPC;
	memcpy(ret_account, auth.account, len + 1);
	*ret_expires_ms = auth.expires_ms;
	return 0;
}

int pg_refresh_use(struct db *db, const char *hash, uint64_t now_ms, char *ret_account, size_t size,
		   char *ret_family, size_t family_size)
{
	char stored[TOKEN_HASH_HEX_LEN + 1];
	char now[24];
	const char *args[2] = {stored, pg_i64(now, (int64_t)now_ms)};
	PGresult *r;
	uint64_t n = 0;
	bool used;
	int row = 0, rc;

	rc = credential_find(db,
			     "SELECT hash, account, expires_ms, family, used_ms FROM refresh_tokens"
			     " WHERE hash >= $1 AND hash < $1 || 'g'",
			     hash, &r, &row);
	if (rc < 0)
		return rc;
	rc = pg_copy_text(r, row, 0, stored, sizeof(stored));
	if (rc == 0)
		rc = pg_copy_text(r, row, 1, ret_account, size);
	/* Without a family a token is a family of its own. */
	if (rc == 0)
		rc = pg_copy_text(r, row, PQgetisnull(r, row, 3) ? 0 : 3, ret_family, family_size);
	used = !PQgetisnull(r, row, 4);
	if (rc == 0 && (uint64_t)pg_get_i64(r, row, 2) <= now_ms)
		rc = -ENOENT;
	PQclear(r);
	if (rc < 0)
		return rc;
	if (used)
		return -EALREADY;
	/* Marked used in one statement: of two racing uses (on any node), one finds it used. */
	rc = pg_exec_changes(
		db, "UPDATE refresh_tokens SET used_ms = $2 WHERE hash = $1 AND used_ms IS NULL", 2,
		args, &n);
	if (rc < 0)
		return rc;
	return n ? 0 : -EALREADY;
}

int pg_counter_add(struct db *db, const char *name, uint64_t delta)
{
	char d[24];
	const char *args[2] = {name, pg_i64(d, (int64_t)delta)};

	return pg_query_ok(
		db,
		"INSERT INTO counters(name, value) VALUES($1, $2)"
		" ON CONFLICT (name) DO UPDATE SET value = counters.value + excluded.value",
		2, args);
}

int pg_account_set_role(struct db *db, const char *name, enum role role)
{
	const char *args[2] = {role_name(role), name};
	uint64_t n = 0;
	int r;

	r = pg_exec_changes(db, "UPDATE accounts SET role = $1 WHERE name = $2", 2, args, &n);
	if (r < 0)
		return r;
	return n ? 0 : -ENOENT;
}

int pg_account_role(struct db *db, const char *name, enum role *ret)
{
	PGresult *r = pg_query(db, "SELECT role FROM accounts WHERE name = $1", 1, &name);
	int rc;

	if (!r)
		return -EIO;
	if (!PQntuples(r))
		rc = -ENOENT;
	else
		rc = role_parse(PQgetvalue(r, 0, 0), ret) < 0 ? -EIO : 0;
	PQclear(r);
	return rc;
}
