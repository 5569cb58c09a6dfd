#include "revoke.h"

#include "db.h"

#include <errno.h>
#include <sqlite3.h>
#include <stdbool.h>

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

int revoke_family(struct db *db, const char *family, struct revoke_counts *ret)
{
	sqlite3 *sql = db_sqlite(db);
	int r;

	*ret = (struct revoke_counts){0};
	r = delete_by(sql, "DELETE FROM tokens WHERE family = ?", family, &ret->access);
	if (r == 0)
		r = delete_by(sql, "DELETE FROM refresh_tokens WHERE family = ?", family,
			      &ret->refresh);
	return r;
}

int revoke_account(struct db *db, const char *account, struct revoke_counts *ret)
{
	sqlite3 *sql = db_sqlite(db);
	int r;

	*ret = (struct revoke_counts){0};
	r = delete_by(sql, "DELETE FROM tokens WHERE account = ?", account, &ret->access);
	if (r == 0)
		r = delete_by(sql, "DELETE FROM refresh_tokens WHERE account = ?", account,
			      &ret->refresh);
	return r;
}

int revoke_delete_account(struct db *db, const char *account, struct revoke_counts *ret)
{
	sqlite3 *sql = db_sqlite(db);
	uint64_t n = 0;
	int r;

	*ret = (struct revoke_counts){0};
	r = db_begin(db);
	if (r < 0)
		return r;
	r = delete_by(sql, "DELETE FROM accounts WHERE name = ?", account, &n);
	if (r == 0 && n == 0)
		r = -ENOENT;
	if (r == 0)
		r = revoke_account(db, account, ret);
	if (r == 0)
		return db_commit(db);
	db_rollback(db);
	return r;
}
