/*
 * The PostgreSQL engine's day partitions (store_pg_impl.h): a partitioned table PARENT has
 * one partition PARENT_pYYYYMMDD per UTC day of its range key (ms since the epoch), made on
 * demand, and PARENT_default for the rest. Retention drops whole day partitions.
 *
 * Day partitions are only made for days near today (PAST_DAYS back, FUTURE_DAYS ahead): a
 * sender with a wild clock must not make one table per day it names; its rows go to the
 * DEFAULT partition, which retention thins by row deletes. A day whose rows are in the
 * DEFAULT partition already (a clock ahead) gets no partition of its own: PostgreSQL
 * refuses to make one while DEFAULT holds rows of its range.
 */
#include "store_pg_impl.h"

#include "monoclock.h"
#include "numparse.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DAY_MS	    86400000LL
#define PAST_DAYS   62
#define FUTURE_DAYS 2
/* pg_advisory_xact_lock(class, id): "srmn", partitions. */
#define PG_LOCK_PARTITIONS "SELECT pg_advisory_xact_lock(1936879982, 2)"

/* Days known to be handled (their partition exists, or they stay in DEFAULT), per parent. */
#define PARTS_CACHED 128
struct pg_parts {
	struct {
		const char *parent; /* a string with static storage */
		int64_t day;
		bool pending; /* made in the open transaction: gone if it rolls back */
	} known[PARTS_CACHED];
	size_t n;
	size_t next; /* the slot replaced when full */
	int64_t prepared_day;
	bool prepared;
};

void pg_parts_free(struct pg_parts *p)
{
	free(p);
}

static int64_t day_of(int64_t ts_ms)
{
	return ts_ms >= 0 ? ts_ms / DAY_MS : -((-ts_ms + DAY_MS - 1) / DAY_MS);
}

static struct pg_parts *parts_of(struct store_pg *pg)
{
	if (!pg->parts)
		pg->parts = calloc(1, sizeof(*pg->parts));
	return pg->parts;
}

static bool known(const struct pg_parts *p, const char *parent, int64_t day)
{
	size_t i;

	for (i = 0; i < p->n; i++)
		if (p->known[i].day == day && strcmp(p->known[i].parent, parent) == 0)
			return true;
	return false;
}

static void remember(struct pg_parts *p, const char *parent, int64_t day, bool pending)
{
	size_t i = p->n < PARTS_CACHED ? p->n++ : p->next++ % PARTS_CACHED;

	p->known[i].parent = parent;
	p->known[i].day = day;
	p->known[i].pending = pending;
}

void pg_parts_tx_end(struct store_pg *pg, bool committed)
{
	struct pg_parts *p = pg->parts;
	size_t i;

	if (!p)
		return;
	for (i = 0; i < p->n; i++) {
		if (p->known[i].pending && !committed)
			p->known[i].day = INT64_MIN;
		p->known[i].pending = false;
	}
}

static void forget(struct pg_parts *p, const char *parent, int64_t day)
{
	size_t i;

	for (i = 0; i < p->n; i++)
		if (p->known[i].day == day && strcmp(p->known[i].parent, parent) == 0)
			p->known[i].day = INT64_MIN;
}

/* PARENT_pYYYYMMDD of day. */
static int part_name(const char *parent, int64_t day, char *buf, size_t size)
{
	time_t t = (time_t)(day * 86400);
	struct tm tm;
	int n;

	if (!gmtime_r(&t, &tm))
		return -ERANGE;
	n = snprintf(buf, size, "%s_p%04d%02d%02d", parent, tm.tm_year + 1900, tm.tm_mon + 1,
		     tm.tm_mday);
	return n > 0 && (size_t)n < size ? 0 : -ENOSPC;
}

/* The day of a PARENT_pYYYYMMDD name. 0 or -EINVAL. */
static int part_day(const char *parent, const char *name, int64_t *ret)
{
	size_t plen = strlen(parent);
	char digits[9];
	uint64_t v;
	struct tm tm = {0};

	if (strncmp(name, parent, plen) != 0 || strncmp(name + plen, "_p", 2) != 0 ||
	    strlen(name + plen + 2) != 8)
		return -EINVAL;
	memcpy(digits, name + plen + 2, 8);
	digits[8] = '\0';
	if (parse_u64(digits, 10000101, 99991231, &v) < 0)
		return -EINVAL;
	tm.tm_year = (int)(v / 10000) - 1900;
	tm.tm_mon = (int)(v / 100 % 100) - 1;
	tm.tm_mday = (int)(v % 100);
	*ret = (int64_t)timegm(&tm) / 86400;
	return 0;
}

/* Whether the relation exists: 1, 0 or -EIO. */
static int rel_exists(struct db *db, const char *name)
{
	PGresult *r = pg_query(db, "SELECT to_regclass($1) IS NOT NULL", 1, &name);
	int ret;

	if (!r)
		return -EIO;
	ret = PQgetvalue(r, 0, 0)[0] == 't';
	PQclear(r);
	return ret;
}

/* Under the partitions lock: makes the partition unless it exists or (records) DEFAULT holds
 * rows of its day. 0 or -EIO. */
static int create_locked(struct db *db, const char *parent, int64_t day, const char *name)
{
	static const char default_busy[] =
		"SELECT EXISTS(SELECT 1 FROM records_default WHERE ts >= $1 AND ts < $2)";
	char from[24], to[24], sql[256];
	const char *args[2];
	int n, r;

	r = rel_exists(db, name);
	if (r != 0)
		return r < 0 ? r : 0;
	args[0] = pg_i64(from, day * DAY_MS);
	args[1] = pg_i64(to, (day + 1) * DAY_MS);
	if (strcmp(parent, "records") == 0) {
		PGresult *q = pg_query(db, default_busy, 2, args);

		if (!q)
			return -EIO;
		r = PQgetvalue(q, 0, 0)[0] == 't';
		PQclear(q);
		if (r)
			return 0;
	}
	/* The parent is one of the engine's table names, never input: it may be spliced in. */
	n = snprintf(sql, sizeof(sql),
		     "CREATE TABLE IF NOT EXISTS %s PARTITION OF %s FOR VALUES FROM (%s) TO (%s)",
		     name, parent, from, to);
	if (n < 0 || (size_t)n >= sizeof(sql))
		return pg_fail(db, NULL, "partition: name too long");
	return pg_exec_script(db, sql);
}

int pg_partition_ensure(struct db *db, const char *parent, int64_t ts_ms)
{
	struct store_pg *pg = pg_of(db);
	struct pg_parts *p = parts_of(pg);
	int64_t day = day_of(ts_ms);
	int64_t today;
	bool own_tx;
	char name[64];
	int r;

	if (!p)
		return pg_fail(db, NULL, "out of memory");
	if (known(p, parent, day))
		return 0;
	today = day_of((int64_t)wall_ms());
	if (day < today - PAST_DAYS || day > today + FUTURE_DAYS)
		return 0; /* the DEFAULT partition takes it */
	r = part_name(parent, day, name, sizeof(name));
	if (r < 0)
		return pg_fail(db, NULL, "partition name");
	r = rel_exists(db, name);
	if (r < 0)
		return r;
	if (r == 0) {
		/* One maker at a time across nodes (a concurrent CREATE ... IF NOT EXISTS may
		 * still fail on the catalog's unique index); the lock needs a transaction. */
		own_tx = !pg->in_tx;
		if (own_tx && pg_tx_command(db, "BEGIN") < 0)
			return -EIO;
		r = pg_query_ok(db, PG_LOCK_PARTITIONS, 0, NULL);
		if (r == 0)
			r = create_locked(db, parent, day, name);
		if (own_tx) {
			if (r == 0)
				r = pg_tx_command(db, "COMMIT");
			else if (pg->conn)
				(void)pg_tx_command(db, "ROLLBACK");
		}
		if (r < 0)
			return -EIO;
	}
	/* Made (or found) in the caller's transaction: known only once it commits. */
	remember(p, parent, day, pg->in_tx);
	return 0;
}

int pg_partitions_prepare(struct db *db, int64_t now_ms)
{
	struct store_pg *pg = pg_of(db);
	struct pg_parts *p = parts_of(pg);
	int64_t today = day_of(now_ms);
	int r;

	if (!p)
		return pg_fail(db, NULL, "out of memory");
	if (p->prepared && p->prepared_day == today)
		return 0;
	if (pg->in_tx)
		return 0;
	r = pg_partition_ensure(db, "records", now_ms);
	if (r == 0)
		r = pg_partition_ensure(db, "records", now_ms + DAY_MS);
	if (r < 0)
		return r;
	p->prepared = true;
	p->prepared_day = today;
	return 0;
}

int pg_partitions_drop_before(struct db *db, const char *parent, int64_t cutoff_ms,
			      uint64_t *ret_dropped)
{
	static const char list_sql[] = "SELECT c.relname FROM pg_inherits i"
				       " JOIN pg_class c ON c.oid = i.inhrelid"
				       " WHERE i.inhparent = to_regclass($1) ORDER BY c.relname";
	static const char count_sql[] = "SELECT count(*) FROM records WHERE ts >= $1 AND ts < $2";
	struct pg_parts *p = parts_of(pg_of(db));
	PGresult *list;
	int i, r = 0;

	if (!p)
		return pg_fail(db, NULL, "out of memory");
	list = pg_query(db, list_sql, 1, &parent);
	if (!list)
		return -EIO;
	for (i = 0; i < PQntuples(list) && r == 0; i++) {
		const char *name = PQgetvalue(list, i, 0);
		char from[24], to[24], sql[128];
		const char *args[2];
		int64_t day;
		PGresult *c;

		if (part_day(parent, name, &day) < 0 || (day + 1) * DAY_MS > cutoff_ms)
			continue;
		args[0] = pg_i64(from, day * DAY_MS);
		args[1] = pg_i64(to, (day + 1) * DAY_MS);
		/* Counted through the parent: a prepared statement for any day. */
		if (strcmp(parent, "records") == 0) {
			c = pg_query(db, count_sql, 2, args);
			if (!c) {
				r = -EIO;
				break;
			}
			*ret_dropped += (uint64_t)pg_get_i64(c, 0, 0);
			PQclear(c);
		}
		(void)snprintf(sql, sizeof(sql), "DROP TABLE %s", name);
		r = pg_exec_script(db, sql);
		if (r == 0)
			forget(p, parent, day);
	}
	PQclear(list);
	return r;
}
