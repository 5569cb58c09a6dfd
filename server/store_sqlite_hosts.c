/* The SQLite engine's host ownership (table host_owners). */
#include "store_sqlite_impl.h"

#include <errno.h>
#include <string.h>

int sq_host_owner(struct db *db, const char *host_id, char *ret, size_t size)
{
	sqlite3_stmt *st = NULL;
	int r;

	if (sqlite3_prepare_v2(sq_h(db), "SELECT account FROM host_owners WHERE host_id = ?", -1,
			       &st, NULL) != SQLITE_OK)
		return -EIO;
	sqlite3_bind_text(st, 1, host_id, -1, SQLITE_STATIC);
	r = sqlite3_step(st);
	if (r == SQLITE_ROW)
		r = sq_column_text(st, 0, ret, size);
	else
		r = r == SQLITE_DONE ? -ENOENT : -EIO;
	sqlite3_finalize(st);
	return r;
}

int sq_host_claim(struct db *db, const char *host_id, const char *account, uint64_t now_ms,
		  char *ret_owner, size_t size)
{
	sqlite3_stmt *st = NULL;
	int r;

	if (sqlite3_prepare_v2(
		    sq_h(db),
		    "INSERT INTO host_owners(host_id, account, assigned_ms, first_seen_ms,"
		    " last_seen_ms) VALUES(?1, ?2, ?3, ?3, ?3)"
		    " ON CONFLICT(host_id) DO UPDATE SET"
		    " first_seen_ms = coalesce(first_seen_ms, ?3),"
		    " last_seen_ms = max(coalesce(last_seen_ms, 0), ?3)"
		    " WHERE account = ?2",
		    -1, &st, NULL) != SQLITE_OK)
		return -EIO;
	sqlite3_bind_text(st, 1, host_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, account, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, (sqlite3_int64)now_ms);
	r = sqlite3_step(st) == SQLITE_DONE ? 0 : -EIO;
	sqlite3_finalize(st);
	if (r == 0)
		r = sq_host_owner(db, host_id, ret_owner, size);
	/* Claimed or owned: a row is there, unless the database lost it. */
	return r == -ENOENT ? -EIO : r;
}

int sq_host_add(struct db *db, const char *host_id, const char *account, uint64_t now_ms,
		char *ret_owner, size_t size)
{
	sqlite3_stmt *st = NULL;
	int r;

	if (sqlite3_prepare_v2(sq_h(db),
			       "INSERT OR IGNORE INTO host_owners(host_id, account, assigned_ms)"
			       " SELECT ?1, name, ?3 FROM accounts WHERE name = ?2",
			       -1, &st, NULL) != SQLITE_OK)
		return -EIO;
	sqlite3_bind_text(st, 1, host_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, account, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, (sqlite3_int64)now_ms);
	r = sqlite3_step(st) == SQLITE_DONE ? 0 : -EIO;
	sqlite3_finalize(st);
	if (r < 0)
		return r;
	r = sq_host_owner(db, host_id, ret_owner, size);
	if (r == -ENOENT)
		return -ENOENT; /* not inserted and not owned: no such account */
	if (r < 0)
		return r;
	return strcmp(ret_owner, account) == 0 ? 0 : -EEXIST;
}

int sq_host_del(struct db *db, const char *host_id)
{
	sqlite3_stmt *st = NULL;
	int r;

	if (sqlite3_prepare_v2(sq_h(db), "DELETE FROM host_owners WHERE host_id = ?", -1, &st,
			       NULL) != SQLITE_OK)
		return -EIO;
	sqlite3_bind_text(st, 1, host_id, -1, SQLITE_STATIC);
	r = sqlite3_step(st) == SQLITE_DONE ? 0 : -EIO;
	if (r == 0 && sqlite3_changes(sq_h(db)) == 0)
		r = -ENOENT;
	sqlite3_finalize(st);
	return r;
}

int sq_host_foreach(struct db *db, hosts_row_cb cb, void *ctx)
{
	sqlite3_stmt *st = NULL;
	int r;

	if (sqlite3_prepare_v2(sq_h(db),
			       "SELECT host_id, account, assigned_ms, first_seen_ms, last_seen_ms"
			       " FROM host_owners ORDER BY host_id",
			       -1, &st, NULL) != SQLITE_OK)
		return -EIO;
	for (;;) {
		struct hosts_row row;

		r = sqlite3_step(st);
		if (r != SQLITE_ROW) {
			r = r == SQLITE_DONE ? 0 : -EIO;
			break;
		}
		row.host_id = (const char *)sqlite3_column_text(st, 0);
		row.account = (const char *)sqlite3_column_text(st, 1);
		row.assigned_ms = (uint64_t)sqlite3_column_int64(st, 2);
		row.first_seen_ms = (uint64_t)sqlite3_column_int64(st, 3);
		row.last_seen_ms = (uint64_t)sqlite3_column_int64(st, 4);
		if (!row.host_id || !row.account) {
			r = -EIO;
			break;
		}
		r = cb(&row, ctx);
		if (r != 0)
			break;
	}
	sqlite3_finalize(st);
	return r;
}
