/* The SQLite engine's revocation: deleting the tokens of a refresh family or an account, and
 * an account with them. */
#include "store_sqlite_impl.h"

#include <errno.h>

/* Runs a DELETE with one text parameter; *ret_n gets the number of rows deleted. */
static int delete_by(sqlite3 *sql, const char *text, const char *arg, uint64_t *ret_n)
{
	sqlite3_stmt *st = NULL;
	int r;

	if (sqlite3_prepare_v2(sql, text, -1, &st, NULL) != SQLITE_OK)
		return -EIO;
	sqlite3_bind_text(st, 1, arg, -1, SQLITE_STATIC);
	r = sqlite3_step(st) == SQLITE_DONE ? 0 : -EIO;
	if (r == 0)
		*ret_n = (uint64_t)sqlite3_changes(sql);
	sqlite3_finalize(st);
	return r;
}

int sq_revoke_family(struct db *db, const char *family, struct revoke_counts *ret)
{
	sqlite3 *sql = sq_h(db);
	int r;

	*ret = (struct revoke_counts){0};
	r = delete_by(sql, "DELETE FROM tokens WHERE family = ?", family, &ret->access);
	if (r == 0)
		r = delete_by(sql, "DELETE FROM refresh_tokens WHERE family = ?", family,
			      &ret->refresh);
	return r;
}

int sq_revoke_account(struct db *db, const char *account, struct revoke_counts *ret)
{
	sqlite3 *sql = sq_h(db);
	int r;

	*ret = (struct revoke_counts){0};
	r = delete_by(sql, "DELETE FROM tokens WHERE account = ?", account, &ret->access);
	if (r == 0)
		r = delete_by(sql, "DELETE FROM refresh_tokens WHERE account = ?", account,
			      &ret->refresh);
	return r;
}

int sq_revoke_delete_account(struct db *db, const char *account, struct revoke_counts *ret)
{
	uint64_t n = 0;
	int r;

	*ret = (struct revoke_counts){0};
	r = sq_begin(db);
	if (r < 0)
		return r;
	r = delete_by(sq_h(db), "DELETE FROM accounts WHERE name = ?", account, &n);
	if (r == 0 && n == 0)
		r = -ENOENT;
	if (r == 0)
		r = sq_revoke_account(db, account, ret);
	if (r == 0)
		return sq_commit(db);
	sq_rollback(db);
	return r;
}
