#include "hosts.h"

#include "db.h"

#include <errno.h>
#include <inttypes.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

/* The owner of host_id into ret. 0, -ENOENT, -ENOSPC, -EIO. */
static int owner_of(sqlite3 *sql, const char *host_id, char *ret, size_t size)
{
	sqlite3_stmt *st = NULL;
	int r;

	if (sqlite3_prepare_v2(sql, "SELECT account FROM host_owners WHERE host_id = ?", -1, &st,
			       NULL) != SQLITE_OK)
		return -EIO;
	sqlite3_bind_text(st, 1, host_id, -1, SQLITE_STATIC);
	r = sqlite3_step(st);
	if (r == SQLITE_ROW)
		r = db_column_text(st, 0, ret, size);
	else
		r = r == SQLITE_DONE ? -ENOENT : -EIO;
	sqlite3_finalize(st);
	return r;
}

/* Claims host_id for account unless owned, and stamps it seen when account owns it. */
static int claim(sqlite3 *sql, const char *host_id, const char *account, uint64_t now_ms)
{
	sqlite3_stmt *st = NULL;
	int r;

	if (sqlite3_prepare_v2(
		    sql,
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
	return r;
}

int hosts_check(struct db *db, struct hosts_cache *cache, const char *host_id, const char *account,
		uint64_t now_ms, bool *ret_owned, const char **ret_owner)
{
	sqlite3 *sql = db_sqlite(db);
	int r;

	if (cache->host_id[0] == '\0' || strcmp(cache->host_id, host_id) != 0 ||
	    now_ms < cache->checked_ms || now_ms - cache->checked_ms >= HOSTS_RECHECK_MS) {
		cache->host_id[0] = '\0';
		if (strlen(host_id) >= sizeof(cache->host_id))
			return -EIO;
		r = claim(sql, host_id, account, now_ms);
		if (r == 0)
			r = owner_of(sql, host_id, cache->owner, sizeof(cache->owner));
		if (r < 0)
			return -EIO;
		memcpy(cache->host_id, host_id, strlen(host_id) + 1);
		cache->checked_ms = now_ms;
	}
	*ret_owned = strcmp(cache->owner, account) == 0;
	if (ret_owner)
		*ret_owner = cache->owner;
	return 0;
}

void hosts_refusal_note(struct hosts_refusals *r, uint64_t seq)
{
	if (r->n == 0 || seq < r->min_seq)
		r->min_seq = seq;
	r->n++;
}

bool hosts_ack_cap(const struct hosts_refusals *r, uint64_t committed, uint64_t *ret)
{
	if (r->n == 0 || committed < r->min_seq) {
		*ret = committed;
		return true;
	}
	if (r->min_seq == 0)
		return false;
	*ret = r->min_seq - 1;
	return true;
}

int hosts_add(struct db *db, const char *host_id, const char *account, uint64_t now_ms,
	      char *ret_owner, size_t size)
{
	sqlite3 *sql = db_sqlite(db);
	sqlite3_stmt *st = NULL;
	int r;

	if (sqlite3_prepare_v2(sql,
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
	r = owner_of(sql, host_id, ret_owner, size);
	if (r == -ENOENT)
		return -ENOENT; /* not inserted and not owned: no such account */
	if (r < 0)
		return r;
	return strcmp(ret_owner, account) == 0 ? 0 : -EEXIST;
}

int hosts_del(struct db *db, const char *host_id)
{
	sqlite3 *sql = db_sqlite(db);
	sqlite3_stmt *st = NULL;
	int r;

	if (sqlite3_prepare_v2(sql, "DELETE FROM host_owners WHERE host_id = ?", -1, &st, NULL) !=
	    SQLITE_OK)
		return -EIO;
	sqlite3_bind_text(st, 1, host_id, -1, SQLITE_STATIC);
	r = sqlite3_step(st) == SQLITE_DONE ? 0 : -EIO;
	if (r == 0 && sqlite3_changes(sql) == 0)
		r = -ENOENT;
	sqlite3_finalize(st);
	return r;
}

int hosts_foreach(struct db *db, hosts_row_cb cb, void *ctx)
{
	sqlite3_stmt *st = NULL;
	int r;

	if (sqlite3_prepare_v2(db_sqlite(db),
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

struct out {
	char *buf;
	size_t size;
	size_t len;
};

static void out_clean(struct out *o, const char *s)
{
	for (size_t i = 0; s[i] && o->len + 1 < o->size; i++) {
		unsigned char c = (unsigned char)s[i];

		/* A tab would split the columns; the others could drive a terminal. */
		if (c < 0x20 || c == 0x7f)
			o->buf[o->len++] = '?';
		else
			o->buf[o->len++] = s[i];
	}
	o->buf[o->len] = '\0';
}

static void out_sep(struct out *o)
{
	if (o->len + 1 >= o->size)
		return;
	o->buf[o->len++] = '\t';
	o->buf[o->len] = '\0';
}

static void out_time(struct out *o, uint64_t ms)
{
	char t[32] = "-";
	time_t s = (time_t)(ms / 1000);
	struct tm tm;

	if (ms > 0 && gmtime_r(&s, &tm))
		(void)strftime(t, sizeof(t), "%Y-%m-%dT%H:%M:%SZ", &tm);
	out_clean(o, t);
}

void hosts_clean(const char *s, char *buf, size_t size)
{
	struct out o = {.buf = buf, .size = size, .len = 0};

	if (size == 0)
		return;
	buf[0] = '\0';
	out_clean(&o, s);
}

size_t hosts_format_row(const struct hosts_row *row, char *buf, size_t size)
{
	struct out o = {.buf = buf, .size = size, .len = 0};

	if (size == 0)
		return 0;
	buf[0] = '\0';
	out_clean(&o, row->host_id);
	out_sep(&o);
	out_clean(&o, row->account);
	out_sep(&o);
	out_time(&o, row->first_seen_ms);
	out_sep(&o);
	out_time(&o, row->last_seen_ms);
	return o.len;
}
