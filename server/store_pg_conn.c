/* The PostgreSQL engine's connection (store_pg_impl.h): running SQL through a cache of
 * prepared statements, noticing a lost connection (logged once), reconnecting with backoff
 * ("reachable again" logged once). */
#include "store_pg_impl.h"

#include "log.h"
#include "monoclock.h"
#include "numparse.h"

#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Reconnect backoff: the first retry after this long, doubling up to the cap. */
#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 5000
/* connect_timeout unless the URL sets one: a blackholed host must not stall the server. */
#define CONNECT_TIMEOUT_S "5"

/* One statement prepared on the current connection, found by the address of its SQL text. */
struct pg_stmt {
	const char *sql;
	char name[16];
};

/* Open addressing, power-of-two size, at most half full. Emptied on every new connection
 * (prepared statements belong to the session). */
struct pg_stmt_cache {
	struct pg_stmt *slots;
	size_t cap;
	size_t n;
	unsigned int next_id;
};

void pg_stmts_free(struct pg_stmt_cache *c)
{
	if (!c)
		return;
	free(c->slots);
	free(c);
}

static void stmts_reset(struct pg_stmt_cache *c)
{
	if (!c)
		return;
	if (c->slots)
		memset(c->slots, 0, c->cap * sizeof(c->slots[0]));
	c->n = 0;
}

static size_t slot_of(const struct pg_stmt_cache *c, const char *sql)
{
	uintptr_t h = (uintptr_t)sql;

	h ^= h >> 17;
	h *= (uintptr_t)0x9e3779b97f4a7c15ull;
	return (size_t)(h >> 7) & (c->cap - 1);
}

static struct pg_stmt *stmt_find(struct pg_stmt_cache *c, const char *sql)
{
	size_t i;

	if (!c->cap)
		return NULL;
	for (i = slot_of(c, sql); c->slots[i].sql; i = (i + 1) & (c->cap - 1))
		if (c->slots[i].sql == sql)
			return &c->slots[i];
	return NULL;
}

static int stmt_grow(struct pg_stmt_cache *c)
{
	size_t cap = c->cap ? c->cap * 2 : 64;
	struct pg_stmt *old = c->slots;
	size_t old_cap = c->cap;
	size_t i;

	c->slots = calloc(cap, sizeof(c->slots[0]));
	if (!c->slots) {
		c->slots = old;
		return -ENOMEM;
	}
	c->cap = cap;
	for (i = 0; i < old_cap; i++) {
		size_t j;

		if (!old[i].sql)
			continue;
		for (j = slot_of(c, old[i].sql); c->slots[j].sql; j = (j + 1) & (cap - 1))
			;
		c->slots[j] = old[i];
	}
	free(old);
	return 0;
}

/* A new slot for sql with a fresh name (not yet prepared: the caller prepares it). */
static struct pg_stmt *stmt_add(struct pg_stmt_cache *c, const char *sql)
{
	size_t i;

	if ((c->n + 1) * 2 > c->cap && stmt_grow(c) < 0)
		return NULL;
	for (i = slot_of(c, sql); c->slots[i].sql; i = (i + 1) & (c->cap - 1))
		;
	c->slots[i].sql = sql;
	(void)snprintf(c->slots[i].name, sizeof(c->slots[i].name), "s%u", c->next_id++);
	c->n++;
	return &c->slots[i];
}

/* The message on one line: libpq's span several ("...\n\tThis probably means..."). */
static void set_err(struct store_pg *pg, const char *what, const char *msg)
{
	char *r, *w;

	(void)snprintf(pg->err, sizeof(pg->err), "%s%s%s", what ? what : "", what ? ": " : "",
		       msg && *msg ? msg : "unknown error");
	for (r = w = pg->err; *r; r++) {
		bool space = *r == '\n' || *r == '\t' || *r == ' ';

		if (space && (w == pg->err || w[-1] == ' '))
			continue;
		*w++ = space ? ' ' : *r;
	}
	while (w > pg->err && w[-1] == ' ')
		w--;
	*w = '\0';
}

int pg_fail(struct db *db, const PGresult *r, const char *what)
{
	struct store_pg *pg = pg_of(db);
	const char *msg = r ? PQresultErrorMessage(r) : NULL;

	if ((!msg || !*msg) && pg->conn)
		msg = PQerrorMessage(pg->conn);
	set_err(pg, what, msg);
	return -EIO;
}

static void notice_to_debug(void *arg, const char *message)
{
	(void)arg;
	log_debug("postgresql: %s", message);
}

/* One connection attempt; nothing logged. 0 or -EIO with the message in pg->err. */
static int connect_once(struct store_pg *pg)
{
	/* Over TCP, a peer that vanished without a reset is noticed within about 15 s
	 * (unacknowledged data, or idle keepalives) instead of blocking the event loop. */
	const char *const keys[] = {"connect_timeout",
				    "fallback_application_name",
				    "tcp_user_timeout",
				    "keepalives_idle",
				    "keepalives_interval",
				    "keepalives_count",
				    "dbname",
				    NULL};
	const char *const values[] = {
		CONNECT_TIMEOUT_S, "srvmon-server", "15000", "10", "2", "3", pg->conninfo, NULL};
	PGconn *conn;

	/* The URL's own parameters (expanded from dbname) override the defaults before it. */
	conn = PQconnectdbParams(keys, values, 1);
	if (!conn) {
		set_err(pg, NULL, "out of memory");
		return -EIO;
	}
	if (PQstatus(conn) != CONNECTION_OK) {
		set_err(pg, NULL, PQerrorMessage(conn));
		PQfinish(conn);
		return -EIO;
	}
	(void)PQsetNoticeProcessor(conn, notice_to_debug, NULL);
	stmts_reset(pg->stmts);
	pg->conn = conn;
	return 0;
}

int pg_connect(struct store_pg *pg)
{
	uint64_t now = mono_ms();

	if (pg->conn)
		return 0;
	if (pg->in_tx) {
		set_err(pg, NULL, "connection to the database lost: the transaction was aborted");
		return -EIO;
	}
	if (now < pg->retry_ms) {
		if (!pg->err[0])
			set_err(pg, NULL, "database unreachable");
		return -EIO;
	}
	if (connect_once(pg) < 0) {
		pg->backoff_ms = pg->backoff_ms ? pg->backoff_ms * 2 : BACKOFF_MIN_MS;
		if (pg->backoff_ms > BACKOFF_MAX_MS)
			pg->backoff_ms = BACKOFF_MAX_MS;
		pg->retry_ms = now + pg->backoff_ms;
		return -EIO;
	}
	pg->backoff_ms = 0;
	pg->retry_ms = 0;
	if (pg->down_logged) {
		log_info("database \"%s\" reachable again", pg->safe_target);
		pg->down_logged = false;
	}
	return 0;
}

/* After a failure on the connection: when it is broken, it is dropped (the transaction with
 * it, and the queued records) and the loss logged once. */
static void check_lost(struct store_pg *pg)
{
	if (!pg->conn || PQstatus(pg->conn) != CONNECTION_BAD)
		return;
	PQfinish(pg->conn);
	pg->conn = NULL;
	stmts_reset(pg->stmts);
	if (!pg->flushing)
		pg_batch_discard(pg);
	pg->backoff_ms = BACKOFF_MIN_MS;
	pg->retry_ms = mono_ms() + pg->backoff_ms;
	if (!pg->down_logged) {
		log_err("database \"%s\" unreachable: %s; retrying (backoff %d ms to %d s), "
			"records are not acknowledged until it is back",
			pg->safe_target, pg->err, BACKOFF_MIN_MS, BACKOFF_MAX_MS / 1000);
		pg->down_logged = true;
	}
}

/* The connection, (re)connected when needed; NULL with pg->err set. */
static PGconn *conn_of(struct store_pg *pg)
{
	return pg_connect(pg) < 0 ? NULL : pg->conn;
}

static bool result_ok(const PGresult *r)
{
	ExecStatusType st = PQresultStatus(r);

	return st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
}

/* Runs a prepared statement without flushing the batch. */
static PGresult *run(struct store_pg *pg, const char *sql, int n, const char *const *values)
{
	PGconn *conn = conn_of(pg);
	struct pg_stmt *s;
	PGresult *r;

	if (!conn)
		return NULL;
	s = stmt_find(pg->stmts, sql);
	if (!s) {
		s = stmt_add(pg->stmts, sql);
		if (!s) {
			set_err(pg, NULL, "out of memory");
			return NULL;
		}
		r = PQprepare(conn, s->name, sql, n, NULL);
		if (!r || PQresultStatus(r) != PGRES_COMMAND_OK) {
			(void)pg_fail(&pg->base, r, "preparing a statement");
			PQclear(r);
			/* No statement under that name: start the cache over rather than remove
			 * one slot from the open addressing (rare; the others get prepared again
			 * under new names). */
			stmts_reset(pg->stmts);
			check_lost(pg);
			return NULL;
		}
		PQclear(r);
	}
	r = PQexecPrepared(conn, s->name, n, values, NULL, NULL, 0);
	if (!r || !result_ok(r)) {
		(void)pg_fail(&pg->base, r, NULL);
		PQclear(r);
		check_lost(pg);
		return NULL;
	}
	return r;
}

/* Flushes the queued records unless this is the flush itself. */
static int flush_first(struct store_pg *pg)
{
	if (pg->flushing || !pg_batch_pending(pg))
		return 0;
	return pg_batch_flush(&pg->base);
}

PGresult *pg_query(struct db *db, const char *sql, int n, const char *const *values)
{
	struct store_pg *pg = pg_of(db);

	if (flush_first(pg) < 0)
		return NULL;
	return run(pg, sql, n, values);
}

PGresult *pg_query_unbatched(struct db *db, const char *sql, int n, const char *const *values)
{
	return run(pg_of(db), sql, n, values);
}

int pg_query_ok(struct db *db, const char *sql, int n, const char *const *values)
{
	PGresult *r = pg_query(db, sql, n, values);

	if (!r)
		return -EIO;
	PQclear(r);
	return 0;
}

int pg_exec_script(struct db *db, const char *sql)
{
	struct store_pg *pg = pg_of(db);
	PGconn *conn;
	PGresult *r;
	int ret = 0;

	if (flush_first(pg) < 0)
		return -EIO;
	conn = conn_of(pg);
	if (!conn)
		return -EIO;
	r = PQexec(conn, sql);
	if (!r || !result_ok(r)) {
		ret = pg_fail(db, r, NULL);
		PQclear(r);
		check_lost(pg);
		return ret;
	}
	PQclear(r);
	return 0;
}

int pg_tx_command(struct db *db, const char *cmd)
{
	struct store_pg *pg = pg_of(db);
	PGresult *r;
	int ret = 0;

	if (!pg->conn)
		return pg_fail(db, NULL, "connection to the database lost");
	r = PQexec(pg->conn, cmd);
	if (!r || PQresultStatus(r) != PGRES_COMMAND_OK) {
		ret = pg_fail(db, r, cmd);
		PQclear(r);
		check_lost(pg);
		return ret;
	}
	/* COMMIT of a transaction that an error aborted answers ROLLBACK. */
	if (strcmp(PQcmdStatus(r), cmd) != 0) {
		set_err(pg, cmd, "the transaction was aborted by an earlier error");
		ret = -EIO;
	}
	PQclear(r);
	return ret;
}

const char *pg_i64(char buf[24], int64_t v)
{
	(void)snprintf(buf, 24, "%" PRId64, v);
	return buf;
}

int64_t pg_get_i64(const PGresult *r, int row, int col)
{
	const char *s;
	uint64_t v = 0;

	if (PQgetisnull(r, row, col))
		return 0;
	s = PQgetvalue(r, row, col);
	if (*s == '-') {
		if (parse_u64(s + 1, 0, (uint64_t)INT64_MAX + 1, &v) < 0)
			return 0;
		return v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)v;
	}
	if (parse_u64(s, 0, INT64_MAX, &v) < 0)
		return 0;
	return (int64_t)v;
}

int pg_open_connection(struct store_pg *pg)
{
	pg->stmts = calloc(1, sizeof(*pg->stmts));
	if (!pg->stmts) {
		set_err(pg, NULL, "out of memory");
		return -ENOMEM;
	}
	return connect_once(pg);
}

int pg_copy_text(const PGresult *r, int row, int col, char *ret, size_t size)
{
	size_t len;

	if (PQgetisnull(r, row, col))
		return -EIO;
	len = (size_t)PQgetlength(r, row, col);
	if (len >= size)
		return -ENOSPC;
	memcpy(ret, PQgetvalue(r, row, col), len);
	ret[len] = '\0';
	return 0;
}

uint64_t pg_changes(const PGresult *r)
{
	uint64_t n = 0;

	(void)parse_u64(PQcmdTuples((PGresult *)r), 0, UINT64_MAX, &n);
	return n;
}

int pg_exec_changes(struct db *db, const char *sql, int n, const char *const *args, uint64_t *ret)
{
	PGresult *r = pg_query(db, sql, n, args);

	if (!r)
		return -EIO;
	*ret = pg_changes(r);
	PQclear(r);
	return 0;
}

int pg_select_text(struct db *db, const char *sql, const char *key, char *ret, size_t size)
{
	return pg_select_text_in(pg_query(db, sql, 1, &key), ret, size);
}

int pg_select_text_in(PGresult *r, char *ret, size_t size)
{
	int rc;

	if (!r)
		return -EIO;
	rc = PQntuples(r) ? pg_copy_text(r, 0, 0, ret, size) : -ENOENT;
	PQclear(r);
	return rc;
}
