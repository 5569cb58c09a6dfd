/* The SQLite engine: open and schema, accounts, tokens, counters, records, transactions, and
 * its table of operations (store_sqlite_ops). */
#include "store_sqlite_impl.h"

#include "token.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char schema[] =
	"CREATE TABLE IF NOT EXISTS accounts("
	" name TEXT PRIMARY KEY NOT NULL,"
	" hash TEXT NOT NULL,"
	" created_ms INTEGER NOT NULL);"
	"CREATE TABLE IF NOT EXISTS tokens("
	" hash TEXT PRIMARY KEY NOT NULL,"
	" account TEXT NOT NULL,"
	" issued_ms INTEGER NOT NULL,"
	" expires_ms INTEGER NOT NULL,"
	" family TEXT);"
	"CREATE TABLE IF NOT EXISTS refresh_tokens("
	" hash TEXT PRIMARY KEY NOT NULL,"
	" account TEXT NOT NULL,"
	" issued_ms INTEGER NOT NULL,"
	" expires_ms INTEGER NOT NULL,"
	" family TEXT,"
	" used_ms INTEGER);"
	"CREATE TABLE IF NOT EXISTS records("
	" id INTEGER PRIMARY KEY,"
	" host_id TEXT NOT NULL CHECK(length(host_id) > 0),"
	" seq TEXT NOT NULL CHECK(length(seq) = 20 AND seq NOT GLOB '*[^0-9]*'),"
	" type TEXT NOT NULL,"
	" ts INTEGER NOT NULL,"
	" received_ms INTEGER NOT NULL,"
	" account TEXT NOT NULL,"
	" body TEXT NOT NULL,"
	" UNIQUE(host_id, seq, account));"
	"CREATE INDEX IF NOT EXISTS records_type ON records(type);"
	"CREATE TABLE IF NOT EXISTS counters("
	" name TEXT PRIMARY KEY NOT NULL,"
	" value INTEGER NOT NULL);"
	"CREATE TABLE IF NOT EXISTS host_owners("
	" host_id TEXT PRIMARY KEY NOT NULL,"
	" account TEXT NOT NULL,"
	" assigned_ms INTEGER NOT NULL,"
	" first_seen_ms INTEGER,"
	" last_seen_ms INTEGER);";

struct db *store_sqlite_open(const char *path, bool create, const char **ret_err)
{
	int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX;
	struct store_sqlite *db;
	char *errmsg = NULL;
	const char *dummy;
	int r;

	if (!ret_err)
		ret_err = &dummy;
	*ret_err = "out of memory";
	db = calloc(1, sizeof(*db));
	if (!db) {
		errno = ENOMEM;
		return NULL;
	}
	db->base.ops = &store_sqlite_ops;
	if (create)
		flags |= SQLITE_OPEN_CREATE;
	r = sqlite3_open_v2(path, &db->sql, flags, NULL);
	if (r != SQLITE_OK) {
		*ret_err = db->sql ? sqlite3_errmsg(db->sql) : sqlite3_errstr(r);
		errno = r == SQLITE_CANTOPEN ? ENOENT : EIO;
		goto fail;
	}
	/* Readers (query, stats) wait for the writer instead of failing with SQLITE_BUSY. */
	sqlite3_busy_timeout(db->sql, 5000);
	/* WAL with synchronous=FULL: every commit is fsynced before it returns, so an ack (sent
	 * after the commit) means the record survives a power failure. */
	r = sqlite3_exec(db->sql, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;", NULL, NULL,
			 &errmsg);
	if (r == SQLITE_OK)
		r = sqlite3_exec(db->sql, schema, NULL, NULL, &errmsg);
	if (r != SQLITE_OK) {
		*ret_err = sqlite3_errmsg(db->sql);
		sqlite3_free(errmsg);
		errno = r == SQLITE_NOTADB ? EINVAL : EIO;
		goto fail;
	}
	/* Databases made by earlier versions are brought up to this schema in place. */
	r = sq_migrate(db->sql, schema, ret_err);
	if (r < 0) {
		errno = -r;
		goto fail;
	}
	return &db->base;
fail:
	/* The message lives in the handle: keep a copy in a static buffer before closing. */
	{
		static char msg[256];

		(void)snprintf(msg, sizeof(msg), "%s", *ret_err);
		*ret_err = msg;
	}
	r = errno;
	sqlite3_close(db->sql);
	free(db);
	errno = r;
	return NULL;
}

void sq_close(struct db *db)
{
	struct store_sqlite *s = sq_of(db);

	if (!s)
		return;
	if (s->in_tx)
		(void)sqlite3_exec(s->sql, "ROLLBACK", NULL, NULL, NULL);
	sqlite3_finalize(s->insert);
	sqlite3_close(s->sql);
	free(s);
}

int sq_begin(struct db *db)
{
	struct store_sqlite *s = sq_of(db);

	if (s->in_tx)
		return -EBUSY;
	if (sqlite3_exec(s->sql, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
		return -EIO;
	s->in_tx = true;
	return 0;
}

int sq_commit(struct db *db)
{
	struct store_sqlite *s = sq_of(db);
	int r = 0;

	if (!s->in_tx)
		return 0;
	if (sqlite3_exec(s->sql, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
		r = -EIO;
		/* SQLite may have rolled back already (then ROLLBACK fails, harmlessly). */
		if (!sqlite3_get_autocommit(s->sql))
			(void)sqlite3_exec(s->sql, "ROLLBACK", NULL, NULL, NULL);
	}
	s->in_tx = false;
	return r;
}

void sq_rollback(struct db *db)
{
	struct store_sqlite *s = sq_of(db);

	if (!s->in_tx)
		return;
	(void)sqlite3_exec(s->sql, "ROLLBACK", NULL, NULL, NULL);
	s->in_tx = false;
}

bool sq_in_transaction(const struct db *db)
{
	return sq_of_const(db)->in_tx;
}

const char *sq_errmsg(const struct db *db)
{
	return sqlite3_errmsg(sq_of_const(db)->sql);
}

/* A file does not go away. */
static bool sq_reachable(const struct db *db)
{
	(void)db;
	return true;
}

static int prepare(struct db *db, const char *sql, sqlite3_stmt **ret)
{
	if (sqlite3_prepare_v2(sq_h(db), sql, -1, ret, NULL) != SQLITE_OK)
		return -EIO;
	return 0;
}

int sq_column_text(sqlite3_stmt *st, int col, char *ret, size_t size)
{
	const unsigned char *t = sqlite3_column_text(st, col);
	int n = sqlite3_column_bytes(st, col);

	if (!t)
		return -EIO;
	if ((size_t)n >= size)
		return -ENOSPC;
	memcpy(ret, t, (size_t)n);
	ret[n] = '\0';
	return 0;
}

int sq_account_add(struct db *db, const char *name, const char *hash, uint64_t now_ms)
{
	sqlite3_stmt *st = NULL;
	int r;

	r = prepare(db, "INSERT INTO accounts(name, hash, created_ms) VALUES(?, ?, ?)", &st);
	if (r < 0)
		return r;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, hash, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, (sqlite3_int64)now_ms);
	r = sqlite3_step(st);
	if (r == SQLITE_DONE)
		r = 0;
	else if (sqlite3_extended_errcode(sq_h(db)) == SQLITE_CONSTRAINT_PRIMARYKEY)
		r = -EEXIST;
	else
		r = -EIO;
	sqlite3_finalize(st);
	return r;
}

int sq_account_hash(struct db *db, const char *name, char *ret, size_t size)
{
	sqlite3_stmt *st = NULL;
	int r;

	r = prepare(db, "SELECT hash FROM accounts WHERE name = ?", &st);
	if (r < 0)
		return r;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	r = sqlite3_step(st);
	if (r == SQLITE_ROW)
		r = sq_column_text(st, 0, ret, size);
	else if (r == SQLITE_DONE)
		r = -ENOENT;
	else
		r = -EIO;
	sqlite3_finalize(st);
	return r;
}

/*
 * Stores a hashed bearer credential in table (tokens or refresh_tokens, which share their
 * columns), first purging the table's expired rows so that it cannot grow without bound.
 */
static int credential_add(struct db *db, const char *purge_sql, const char *insert_sql,
			  const char *hash, const char *account, const char *family,
			  uint64_t now_ms, uint64_t expires_ms)
{
	sqlite3_stmt *st = NULL;
	int r;

	r = prepare(db, purge_sql, &st);
	if (r < 0)
		return r;
	sqlite3_bind_int64(st, 1, (sqlite3_int64)now_ms);
	r = sqlite3_step(st) == SQLITE_DONE ? 0 : -EIO;
	sqlite3_finalize(st);
	if (r < 0)
		return r;

	r = prepare(db, insert_sql, &st);
	if (r < 0)
		return r;
	sqlite3_bind_text(st, 1, hash, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, account, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, (sqlite3_int64)now_ms);
	sqlite3_bind_int64(st, 4, (sqlite3_int64)expires_ms);
	if (family)
		sqlite3_bind_text(st, 5, family, -1, SQLITE_STATIC);
	r = sqlite3_step(st) == SQLITE_DONE ? 0 : -EIO;
	sqlite3_finalize(st);
	return r;
}

int sq_token_add(struct db *db, const char *hash, const char *account, const char *family,
		 uint64_t now_ms, uint64_t expires_ms)
{
	return credential_add(db, "DELETE FROM tokens WHERE expires_ms <= ?",
			      "INSERT INTO tokens(hash, account, issued_ms, expires_ms, family)"
			      " VALUES(?, ?, ?, ?, ?)",
			      hash, account, family, now_ms, expires_ms);
}

/*
 * Prepares sql (its ?1 the hash prefix) and steps it to the row whose column 0 equals hash.
 * SQLite finds the candidates by the first DB_HASH_LOOKUP_DIGITS digits (an index range:
 * how long that takes may tell how much of a stored hash's prefix a guess matched); the
 * whole hash is then compared with token_hash_equal(), in constant time. Returns
 * SQLITE_ROW with *ret_st on the match (the caller finalizes it), SQLITE_DONE (no match,
 * statement finalized), or -EIO.
 */
#define DB_HASH_LOOKUP_DIGITS 16
static int credential_find(struct db *db, const char *sql, const char *hash, sqlite3_stmt **ret_st)
{
	sqlite3_stmt *st = NULL;
	int r;

	*ret_st = NULL;
	if (strlen(hash) != TOKEN_HASH_HEX_LEN)
		return SQLITE_DONE;
	r = prepare(db, sql, &st);
	if (r < 0)
		return r;
	sqlite3_bind_text(st, 1, hash, DB_HASH_LOOKUP_DIGITS, SQLITE_STATIC);
	for (;;) {
		const char *stored;

		r = sqlite3_step(st);
		if (r != SQLITE_ROW)
			break;
		stored = (const char *)sqlite3_column_text(st, 0);
		if (stored && token_hash_equal(stored, hash)) {
			*ret_st = st;
			return SQLITE_ROW;
		}
	}
	sqlite3_finalize(st);
	return r == SQLITE_DONE ? SQLITE_DONE : -EIO;
}

int sq_token_lookup(struct db *db, const char *hash, char *ret_account, size_t size,
		    uint64_t *ret_expires_ms)
{
	sqlite3_stmt *st = NULL;
	int r;

	r = credential_find(db,
			    "SELECT hash, account, expires_ms FROM tokens"
			    " WHERE hash >= ?1 AND hash < ?1 || 'g'",
			    hash, &st);
	if (r == SQLITE_ROW) {
		r = sq_column_text(st, 1, ret_account, size);
		*ret_expires_ms = (uint64_t)sqlite3_column_int64(st, 2);
	} else if (r == SQLITE_DONE) {
		r = -ENOENT;
	}
	sqlite3_finalize(st);
	return r;
}

int sq_refresh_add(struct db *db, const char *hash, const char *account, const char *family,
		   uint64_t now_ms, uint64_t expires_ms)
{
	return credential_add(db, "DELETE FROM refresh_tokens WHERE expires_ms <= ?",
			      "INSERT INTO refresh_tokens(hash, account, issued_ms, expires_ms,"
			      " family) VALUES(?, ?, ?, ?, ?)",
			      hash, account, family, now_ms, expires_ms);
}

int sq_refresh_use(struct db *db, const char *hash, uint64_t now_ms, char *ret_account, size_t size,
		   char *ret_family, size_t family_size)
{
	sqlite3_stmt *st = NULL;
	char stored[TOKEN_HASH_HEX_LEN + 1];
	bool used;
	int r;

	r = credential_find(db,
			    "SELECT hash, account, expires_ms, family, used_ms FROM refresh_tokens"
			    " WHERE hash >= ?1 AND hash < ?1 || 'g'",
			    hash, &st);
	if (r == SQLITE_DONE)
		return -ENOENT;
	if (r < 0)
		return r;
	r = sq_column_text(st, 0, stored, sizeof(stored));
	if (r == 0)
		r = sq_column_text(st, 1, ret_account, size);
	/* Without a family (not made by this version) a token is a family of its own. */
	if (r == 0)
		r = sqlite3_column_type(st, 3) == SQLITE_NULL
			    ? sq_column_text(st, 0, ret_family, family_size)
			    : sq_column_text(st, 3, ret_family, family_size);
	used = sqlite3_column_type(st, 4) != SQLITE_NULL;
	if (r == 0 && (uint64_t)sqlite3_column_int64(st, 2) <= now_ms)
		r = -ENOENT;
	sqlite3_finalize(st);
	if (r < 0)
		return r;
	if (used)
		return -EALREADY;
	/* Marked used in one statement: of two racing uses, one finds it used. */
	r = prepare(db,
		    "UPDATE refresh_tokens SET used_ms = ?2 WHERE hash = ?1 AND used_ms IS NULL",
		    &st);
	if (r < 0)
		return r;
	sqlite3_bind_text(st, 1, stored, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)now_ms);
	r = sqlite3_step(st) == SQLITE_DONE ? 0 : -EIO;
	if (r == 0 && sqlite3_changes(sq_h(db)) == 0)
		r = -EALREADY;
	sqlite3_finalize(st);
	return r;
}

int sq_counter_add(struct db *db, const char *name, uint64_t delta)
{
	sqlite3_stmt *st = NULL;
	int r;

	r = prepare(db,
		    "INSERT INTO counters(name, value) VALUES(?1, ?2)"
		    " ON CONFLICT(name) DO UPDATE SET value = value + ?2",
		    &st);
	if (r < 0)
		return r;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)delta);
	r = sqlite3_step(st) == SQLITE_DONE ? 0 : -EIO;
	sqlite3_finalize(st);
	return r;
}

int sq_record_insert(struct db *db, const struct db_record *rec, bool *ret_inserted)
{
	struct store_sqlite *s = sq_of(db);
	char seq[DB_SEQ_DIGITS + 1];
	sqlite3_stmt *st;
	int r;

	if (!s->insert) {
		r = prepare(db,
			    "INSERT OR IGNORE INTO records(host_id, seq, type, ts, received_ms,"
			    " account, body) VALUES(?, ?, ?, ?, ?, ?, ?)",
			    &s->insert);
		if (r < 0)
			return r;
	}
	st = s->insert;
	db_seq_format(rec->seq, seq);
	sqlite3_bind_text(st, 1, rec->host_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, seq, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, rec->type, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, rec->ts);
	sqlite3_bind_int64(st, 5, (sqlite3_int64)rec->received_ms);
	sqlite3_bind_text(st, 6, rec->account, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 7, rec->body, (int)rec->body_len, SQLITE_STATIC);
	r = sqlite3_step(st) == SQLITE_DONE ? 0 : -EIO;
	if (r == 0 && ret_inserted)
		*ret_inserted = sqlite3_changes(s->sql) > 0;
	/* The bound text is the caller's: unbind it before the statement is kept. */
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return r;
}

int sq_column_record(sqlite3_stmt *st, int col, struct db_record *ret)
{
	const char *seq = (const char *)sqlite3_column_text(st, col + 1);

	ret->host_id = (const char *)sqlite3_column_text(st, col);
	ret->type = (const char *)sqlite3_column_text(st, col + 2);
	ret->ts = sqlite3_column_int64(st, col + 3);
	ret->received_ms = (uint64_t)sqlite3_column_int64(st, col + 4);
	ret->account = (const char *)sqlite3_column_text(st, col + 5);
	ret->body = (const char *)sqlite3_column_text(st, col + 6);
	ret->body_len = (size_t)sqlite3_column_bytes(st, col + 6);
	if (!ret->host_id || !seq || !ret->type || !ret->account || !ret->body ||
	    db_seq_parse(seq, &ret->seq) < 0)
		return -EIO;
	return 0;
}

int sq_records_foreach(struct db *db, const char *host_id, const char *type, uint64_t n,
		       db_record_cb cb, void *ctx)
{
	sqlite3_stmt *st = NULL;
	int r;

	r = prepare(db,
		    "SELECT host_id, seq, type, ts, received_ms, account, body FROM records"
		    " WHERE (?1 IS NULL OR host_id = ?1) AND (?2 IS NULL OR type = ?2)"
		    " ORDER BY id DESC LIMIT ?3",
		    &st);
	if (r < 0)
		return r;
	if (host_id)
		sqlite3_bind_text(st, 1, host_id, -1, SQLITE_STATIC);
	if (type)
		sqlite3_bind_text(st, 2, type, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, n > INT64_MAX ? INT64_MAX : (sqlite3_int64)n);
	for (;;) {
		struct db_record rec;

		r = sqlite3_step(st);
		if (r == SQLITE_DONE) {
			r = 0;
			break;
		}
		if (r != SQLITE_ROW) {
			r = -EIO;
			break;
		}
		r = sq_column_record(st, 0, &rec);
		if (r < 0)
			break;
		r = cb(&rec, ctx);
		if (r != 0)
			break;
	}
	sqlite3_finalize(st);
	return r;
}

static int query_u64(struct db *db, const char *sql, const char *text, int64_t num, uint64_t *ret)
{
	sqlite3_stmt *st = NULL;
	int r;

	r = prepare(db, sql, &st);
	if (r < 0)
		return r;
	if (text)
		sqlite3_bind_text(st, 1, text, -1, SQLITE_STATIC);
	else
		sqlite3_bind_int64(st, 1, num);
	r = sqlite3_step(st);
	if (r == SQLITE_ROW) {
		*ret = (uint64_t)sqlite3_column_int64(st, 0);
		r = 0;
	} else if (r == SQLITE_DONE) {
		*ret = 0;
		r = 0;
	} else {
		r = -EIO;
	}
	sqlite3_finalize(st);
	return r;
}

int sq_stats_read(struct db *db, uint64_t now_ms, struct db_stats *ret)
{
	static const char counter_sql[] = "SELECT value FROM counters WHERE name = ?";
	sqlite3_stmt *st = NULL;
	int r;

	memset(ret, 0, sizeof(*ret));
	r = prepare(db, "SELECT type, count(*) FROM records GROUP BY type ORDER BY type", &st);
	if (r < 0)
		return r;
	for (;;) {
		uint64_t count;

		r = sqlite3_step(st);
		if (r != SQLITE_ROW)
			break;
		count = (uint64_t)sqlite3_column_int64(st, 1);
		ret->records += count;
		if (ret->n_types >= sizeof(ret->types) / sizeof(ret->types[0]))
			continue;
		if (sq_column_text(st, 0, ret->types[ret->n_types].type,
				   sizeof(ret->types[0].type)) < 0)
			continue;
		ret->types[ret->n_types++].count = count;
	}
	sqlite3_finalize(st);
	if (r != SQLITE_DONE)
		return -EIO;

	r = query_u64(db, "SELECT count(*) FROM accounts WHERE ?1 IS NOT NULL", "x", 0,
		      &ret->accounts);
	if (r == 0)
		r = query_u64(db, "SELECT count(*) FROM tokens WHERE expires_ms > ?", NULL,
			      (int64_t)now_ms, &ret->tokens_active);
	if (r == 0)
		r = query_u64(db, counter_sql, DB_COUNTER_TOKENS_ISSUED, 0, &ret->tokens_issued);
	if (r == 0)
		r = query_u64(db, counter_sql, DB_COUNTER_TOKEN_REQUESTS, 0, &ret->token_requests);
	if (r == 0)
		r = query_u64(db, counter_sql, DB_COUNTER_FAILED_LOGINS, 0, &ret->failed_logins);
	if (r == 0)
		r = query_u64(db, counter_sql, DB_COUNTER_REFRESH_GRANTS, 0, &ret->refresh_grants);
	return r;
}

const struct store_ops store_sqlite_ops = {
	.name = "sqlite",
	.open = store_sqlite_open,
	.close = sq_close,
	.errmsg = sq_errmsg,
	.reachable = sq_reachable,
	.schema_version = sq_schema_version,
	.account_add = sq_account_add,
	.account_hash = sq_account_hash,
	.token_add = sq_token_add,
	.token_lookup = sq_token_lookup,
	.refresh_add = sq_refresh_add,
	.refresh_use = sq_refresh_use,
	.counter_add = sq_counter_add,
	.record_insert = sq_record_insert,
	.begin = sq_begin,
	.commit = sq_commit,
	.rollback = sq_rollback,
	.in_transaction = sq_in_transaction,
	.records_foreach = sq_records_foreach,
	.records_expire = sq_records_expire,
	.rollups_expire = sq_rollups_expire,
	.stats_read = sq_stats_read,
	.token_auth = sq_token_auth,
	.account_set_role = sq_account_set_role,
	.account_role = sq_account_role,
	.api_hosts = sq_api_hosts,
	.api_host_key = sq_api_host_key,
	.api_series = sq_api_series,
	.api_speedtests = sq_api_speedtests,
	.api_execs = sq_api_execs,
	.api_records_after = sq_api_records_after,
	.api_last_record = sq_api_last_record,
	.alert_add = sq_alert_add,
	.alert_update = sq_alert_update,
	.alert_del = sq_alert_del,
	.alert_get = sq_alert_get,
	.alert_foreach = sq_alert_foreach,
	.alert_set_cursor = sq_alert_set_cursor,
	.alert_rules_json = store_alert_rules_json,
	.alert_states_json = sq_alert_states_json,
	.alert_state_get = sq_alert_state_get,
	.alert_state_put = sq_alert_state_put,
	.alert_hosts = sq_alert_hosts,
	.alert_firing = sq_alert_firing,
	.alert_execs_after = sq_alert_execs_after,
	.revoke_family = sq_revoke_family,
	.revoke_account = sq_revoke_account,
	.revoke_delete_account = sq_revoke_delete_account,
	.host_claim = sq_host_claim,
	.host_owner = sq_host_owner,
	.host_add = sq_host_add,
	.host_del = sq_host_del,
	.host_foreach = sq_host_foreach,
};
