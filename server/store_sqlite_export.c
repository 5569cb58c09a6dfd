/* The SQLite engine's export (store_export.h): everything a migration reads out of it. */
#include "store_export.h"

#include "store_sqlite_impl.h"

#include <errno.h>
#include <string.h>

static int export_prepare(struct db *db, const char *sql, sqlite3_stmt **ret)
{
	*ret = NULL;
	if (db->ops != &store_sqlite_ops)
		return -ENOTSUP;
	return sqlite3_prepare_v2(sq_h(db), sql, -1, ret, NULL) == SQLITE_OK ? 0 : -EIO;
}

static const char *text_or_null(sqlite3_stmt *st, int col)
{
	return (const char *)sqlite3_column_text(st, col);
}

int store_export_accounts(struct db *db, export_account_cb cb, void *ctx)
{
	sqlite3_stmt *st;
	int r;

	r = export_prepare(db, "SELECT name, hash, created_ms, role FROM accounts ORDER BY name",
			   &st);
	if (r < 0)
		return r;
	for (;;) {
		struct export_account a;

		r = sqlite3_step(st);
		if (r != SQLITE_ROW) {
			r = r == SQLITE_DONE ? 0 : -EIO;
			break;
		}
		a.name = text_or_null(st, 0);
		a.hash = text_or_null(st, 1);
		a.created_ms = (uint64_t)sqlite3_column_int64(st, 2);
		if (!a.name || !a.hash || !text_or_null(st, 3) ||
		    role_parse(text_or_null(st, 3), &a.role) < 0) {
			r = -EIO;
			break;
		}
		r = cb(&a, ctx);
		if (r != 0)
			break;
	}
	sqlite3_finalize(st);
	return r;
}

int store_export_credentials(struct db *db, bool refresh, uint64_t now_ms, export_credential_cb cb,
			     void *ctx)
{
	const char *sql = refresh ? "SELECT hash, account, family, issued_ms, expires_ms,"
				    " used_ms IS NOT NULL FROM refresh_tokens"
				    " WHERE expires_ms > ? ORDER BY issued_ms, hash"
				  : "SELECT hash, account, family, issued_ms, expires_ms, 0"
				    " FROM tokens WHERE expires_ms > ? ORDER BY issued_ms, hash";
	sqlite3_stmt *st;
	int r;

	r = export_prepare(db, sql, &st);
	if (r < 0)
		return r;
	sqlite3_bind_int64(st, 1, (sqlite3_int64)now_ms);
	for (;;) {
		struct export_credential c;

		r = sqlite3_step(st);
		if (r != SQLITE_ROW) {
			r = r == SQLITE_DONE ? 0 : -EIO;
			break;
		}
		c.hash = text_or_null(st, 0);
		c.account = text_or_null(st, 1);
		c.family = text_or_null(st, 2);
		c.issued_ms = (uint64_t)sqlite3_column_int64(st, 3);
		c.expires_ms = (uint64_t)sqlite3_column_int64(st, 4);
		c.used = sqlite3_column_int(st, 5) != 0;
		if (!c.hash || !c.account) {
			r = -EIO;
			break;
		}
		r = cb(&c, ctx);
		if (r != 0)
			break;
	}
	sqlite3_finalize(st);
	return r;
}

int store_export_records(struct db *db, int64_t after_id, uint64_t limit, export_record_cb cb,
			 void *ctx, int64_t *ret_last)
{
	sqlite3_stmt *st;
	int r;

	*ret_last = after_id;
	r = export_prepare(db,
			   "SELECT id, host_id, seq, type, ts, received_ms, account, body"
			   " FROM records WHERE id > ? ORDER BY id LIMIT ?",
			   &st);
	if (r < 0)
		return r;
	sqlite3_bind_int64(st, 1, after_id);
	sqlite3_bind_int64(st, 2, limit > INT64_MAX ? INT64_MAX : (sqlite3_int64)limit);
	for (;;) {
		struct db_record rec;
		int64_t id;

		r = sqlite3_step(st);
		if (r != SQLITE_ROW) {
			r = r == SQLITE_DONE ? 0 : -EIO;
			break;
		}
		id = sqlite3_column_int64(st, 0);
		r = sq_column_record(st, 1, &rec);
		if (r < 0)
			break;
		r = cb(id, &rec, ctx);
		if (r != 0)
			break;
		*ret_last = id;
	}
	sqlite3_finalize(st);
	return r;
}
