/*
 * The PostgreSQL engine's records (store_pg_impl.h): inserts, batched inside a transaction
 * (record_insert with ret_inserted NULL queues the record; the queue goes to the database as
 * one INSERT ... SELECT FROM unnest(arrays) ON CONFLICT DO NOTHING RETURNING before any
 * other query and at commit), the newest records, and retention.
 */
#include "store_pg_impl.h"

#include "sbuf.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A queue this long, or this large, is flushed without waiting for a query or the commit. */
#define BATCH_MAX_RECORDS 4096
#define BATCH_MAX_BYTES	  (16u << 20)

/* Columns of the insert, in the order of its parameters. */
enum { COL_HOST, COL_SEQ, COL_TYPE, COL_TS, COL_RECEIVED, COL_ACCOUNT, COL_BODY, N_COLS };

struct pg_batch {
	struct db_record *recs; /* their strings in copies[i] */
	char **copies;
	size_t n;
	size_t cap;
	size_t bytes;
};

/* One statement for any batch size: the rows as seven arrays, unnested in order. The
 * RETURNING rows are matched to their ordinals (the first of duplicates within the batch is
 * the one inserted). */
static const char insert_sql[] =
	"WITH u AS (SELECT * FROM unnest($1::text[], $2::numeric[], $3::text[], $4::bigint[],"
	" $5::bigint[], $6::text[], $7::text[]) WITH ORDINALITY"
	" AS u(host_id, seq, type, ts, received_ms, account, body, i)),"
	" ins AS (INSERT INTO records(host_id, seq, type, ts, received_ms, account, body)"
	" SELECT host_id, seq, type, ts, received_ms, account, body FROM u ORDER BY i"
	" ON CONFLICT DO NOTHING RETURNING id, host_id, seq, account, ts)"
	" SELECT DISTINCT ON (ins.id) u.i, ins.id FROM ins"
	" JOIN u USING (host_id, seq, account, ts) ORDER BY ins.id, u.i";

bool pg_batch_pending(const struct store_pg *pg)
{
	return pg->batch && pg->batch->n > 0;
}

void pg_batch_discard(struct store_pg *pg)
{
	struct pg_batch *b = pg->batch;
	size_t i;

	if (!b)
		return;
	for (i = 0; i < b->n; i++)
		free(b->copies[i]);
	b->n = 0;
	b->bytes = 0;
}

void pg_batch_free(struct pg_batch *b)
{
	size_t i;

	if (!b)
		return;
	for (i = 0; i < b->n; i++)
		free(b->copies[i]);
	free(b->recs);
	free(b->copies);
	free(b);
}

static char *copy_into(char *dst, const char *s, size_t len)
{
	memcpy(dst, s, len);
	dst[len] = '\0';
	return dst + len + 1;
}

/* Queues a copy of rec. 0 or -ENOMEM. */
static int queue(struct store_pg *pg, const struct db_record *rec)
{
	struct pg_batch *b = pg->batch;
	size_t lh = strlen(rec->host_id), lt = strlen(rec->type), la = strlen(rec->account);
	struct db_record *q;
	char *copy, *p;

	if (!b) {
		b = calloc(1, sizeof(*b));
		if (!b)
			return -ENOMEM;
		pg->batch = b;
	}
	if (b->n == b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 256;
		struct db_record *recs = realloc(b->recs, cap * sizeof(*recs));
		char **copies;

		if (!recs)
			return -ENOMEM;
		b->recs = recs;
		copies = realloc(b->copies, cap * sizeof(*copies));
		if (!copies)
			return -ENOMEM;
		b->copies = copies;
		b->cap = cap;
	}
	copy = malloc(lh + lt + la + rec->body_len + 4);
	if (!copy)
		return -ENOMEM;
	q = &b->recs[b->n];
	*q = *rec;
	p = copy;
	q->host_id = p;
	p = copy_into(p, rec->host_id, lh);
	q->type = p;
	p = copy_into(p, rec->type, lt);
	q->account = p;
	p = copy_into(p, rec->account, la);
	q->body = p;
	(void)copy_into(p, rec->body, rec->body_len);
	b->copies[b->n++] = copy;
	b->bytes += lh + lt + la + rec->body_len;
	return 0;
}

/* Appends s as a quoted array element. */
static int add_text(struct sbuf *out, const char *s, size_t len)
{
	size_t i, start = 0;
	int r = sbuf_addc(out, '"');

	for (i = 0; i < len && r == 0; i++) {
		if (s[i] != '"' && s[i] != '\\')
			continue;
		r = sbuf_add(out, s + start, i - start);
		if (r == 0)
			r = sbuf_addc(out, '\\');
		start = i;
	}
	if (r == 0)
		r = sbuf_add(out, s + start, len - start);
	if (r == 0)
		r = sbuf_addc(out, '"');
	return r;
}

static int add_num(struct sbuf *out, const char *fmt_buf)
{
	return sbuf_adds(out, fmt_buf);
}

/* The seven array literals of the queued records. 0 or -ENOMEM. */
static int build_arrays(const struct pg_batch *b, struct sbuf cols[N_COLS])
{
	size_t i;
	int c, r = 0;

	for (c = 0; c < N_COLS && r == 0; c++)
		r = sbuf_addc(&cols[c], '{');
	for (i = 0; i < b->n && r == 0; i++) {
		const struct db_record *rec = &b->recs[i];
		char num[24];

		for (c = 0; c < N_COLS && r == 0 && i > 0; c++)
			r = sbuf_addc(&cols[c], ',');
		if (r == 0)
			r = add_text(&cols[COL_HOST], rec->host_id, strlen(rec->host_id));
		if (r == 0) {
			(void)snprintf(num, sizeof(num), "%" PRIu64, rec->seq);
			r = add_num(&cols[COL_SEQ], num);
		}
		if (r == 0)
			r = add_text(&cols[COL_TYPE], rec->type, strlen(rec->type));
		if (r == 0)
			r = add_num(&cols[COL_TS], pg_i64(num, rec->ts));
		if (r == 0)
			r = add_num(&cols[COL_RECEIVED], pg_i64(num, (int64_t)rec->received_ms));
		if (r == 0)
			r = add_text(&cols[COL_ACCOUNT], rec->account, strlen(rec->account));
		if (r == 0)
			r = add_text(&cols[COL_BODY], rec->body, rec->body_len);
	}
	for (c = 0; c < N_COLS && r == 0; c++)
		r = sbuf_addc(&cols[c], '}');
	return r;
}

/* Hands the inserted rows (res: ordinal, id) to the read half. 0 or -EIO. */
static int apply_inserted(struct db *db, const struct pg_batch *b, const PGresult *res,
			  bool *ret_last_inserted)
{
	int n = PQntuples(res);
	const struct db_record **recs;
	int64_t *ids;
	int i, k = 0, r;

	if (n == 0)
		return 0;
	recs = malloc((size_t)n * sizeof(*recs));
	ids = malloc((size_t)n * sizeof(*ids));
	if (!recs || !ids) {
		free(recs);
		free(ids);
		return pg_fail(db, NULL, "out of memory");
	}
	for (i = 0; i < n; i++) {
		int64_t ord = pg_get_i64(res, i, 0);

		if (ord < 1 || (uint64_t)ord > b->n)
			continue;
		recs[k] = &b->recs[ord - 1];
		ids[k++] = pg_get_i64(res, i, 1);
		if ((uint64_t)ord == b->n && ret_last_inserted)
			*ret_last_inserted = true;
	}
	r = pg_api_apply(db, recs, ids, (size_t)k);
	free(recs);
	free(ids);
	return r;
}

/* Flushes the queue; *ret_last_inserted (may be NULL): whether its last record was new. */
static int flush(struct db *db, bool *ret_last_inserted)
{
	struct store_pg *pg = pg_of(db);
	struct pg_batch *b = pg->batch;
	struct sbuf cols[N_COLS] = {0};
	const char *values[N_COLS];
	PGresult *res = NULL;
	int64_t day_ts = INT64_MIN;
	size_t i;
	int c, r = 0;

	if (ret_last_inserted)
		*ret_last_inserted = false;
	if (!b || b->n == 0)
		return 0;
	pg->flushing = true;
	/* Each day in the batch has its partition (consecutive records share their day). */
	for (i = 0; i < b->n && r == 0; i++) {
		if (day_ts != INT64_MIN && b->recs[i].ts / 86400000 == day_ts / 86400000)
			continue;
		day_ts = b->recs[i].ts;
		r = pg_partition_ensure(db, "records", b->recs[i].ts);
	}
	if (r == 0 && build_arrays(b, cols) < 0)
		r = pg_fail(db, NULL, "out of memory");
	if (r == 0) {
		for (c = 0; c < N_COLS; c++)
			values[c] = cols[c].s;
		res = pg_query(db, insert_sql, N_COLS, values);
		if (!res)
			r = -EIO;
	}
	for (c = 0; c < N_COLS; c++)
		sbuf_free(&cols[c]);
	if (r == 0)
		r = apply_inserted(db, b, res, ret_last_inserted);
	PQclear(res);
	pg_batch_discard(pg);
	pg->flushing = false;
	return r < 0 ? -EIO : 0;
}

int pg_batch_flush(struct db *db)
{
	return flush(db, NULL);
}

int pg_record_insert(struct db *db, const struct db_record *rec, bool *ret_inserted)
{
	struct store_pg *pg = pg_of(db);
	bool own_tx = !pg->in_tx;
	int r;

	/* Outside a transaction the row and its derived rows still commit together. */
	if (own_tx) {
		r = pg_begin(db);
		if (r < 0)
			return -EIO;
	}
	r = queue(pg, rec);
	if (r < 0)
		r = pg_fail(db, NULL, "out of memory");
	else if (ret_inserted || own_tx || pg->batch->n >= BATCH_MAX_RECORDS ||
		 pg->batch->bytes >= BATCH_MAX_BYTES)
		r = flush(db, ret_inserted);
	if (own_tx) {
		if (r == 0)
			r = pg_commit(db);
		else
			pg_rollback(db);
	}
	return r < 0 ? -EIO : 0;
}

int pg_records_foreach(struct db *db, const char *host_id, const char *type, uint64_t n,
		       db_record_cb cb, void *ctx)
{
	static const char sql[] = "SELECT host_id, seq, type, ts, received_ms, account, body"
				  " FROM records WHERE ($1::text IS NULL OR host_id = $1)"
				  " AND ($2::text IS NULL OR type = $2)"
				  " ORDER BY id DESC LIMIT $3";
	char limit[24];
	const char *args[3] = {host_id, type,
			       pg_i64(limit, n > INT64_MAX ? INT64_MAX : (int64_t)n)};
	PGresult *res = pg_query(db, sql, 3, args);
	int i, r = 0;

	if (!res)
		return -EIO;
	for (i = 0; i < PQntuples(res) && r == 0; i++) {
		struct db_record rec = {
			.host_id = PQgetvalue(res, i, 0),
			.type = PQgetvalue(res, i, 2),
			.ts = pg_get_i64(res, i, 3),
			.received_ms = (uint64_t)pg_get_i64(res, i, 4),
			.account = PQgetvalue(res, i, 5),
			.body = PQgetvalue(res, i, 6),
			.body_len = (size_t)PQgetlength(res, i, 6),
		};

		if (db_seq_parse(PQgetvalue(res, i, 1), &rec.seq) < 0) {
			r = pg_fail(db, NULL, "records: seq is not a uint64");
			break;
		}
		r = cb(&rec, ctx);
	}
	PQclear(res);
	return r;
}

int pg_records_expire(struct db *db, int64_t cutoff_ms, uint64_t batch, uint64_t *ret_deleted)
{
	/* The DEFAULT partition's rows (a ts far from their arrival) go by arrival, in
	 * batches, like the SQLite engine's. */
	static const char default_sql[] =
		"DELETE FROM records_default WHERE ctid IN (SELECT ctid FROM records_default"
		" WHERE received_ms < $1 LIMIT $2)";
	struct store_pg *pg = pg_of(db);
	bool own_tx = !pg->in_tx;
	char cut[24], lim[24];
	const char *args[2] = {pg_i64(cut, cutoff_ms),
			       pg_i64(lim, batch > INT64_MAX ? INT64_MAX : (int64_t)batch)};
	uint64_t dropped = 0, derived = 0;
	PGresult *res;
	int r;

	*ret_deleted = 0;
	if (own_tx) {
		r = pg_begin(db);
		if (r < 0)
			return -EIO;
	}
	/* The derived rows first, while the records they came from are still there. */
	r = pg_api_expire(db, cutoff_ms, batch, &derived);
	if (r == 0)
		r = pg_partitions_drop_before(db, "records", cutoff_ms, &dropped);
	if (r == 0) {
		res = pg_query(db, default_sql, 2, args);
		if (!res) {
			r = -EIO;
		} else {
			dropped += pg_changes(res);
			PQclear(res);
		}
	}
	if (own_tx) {
		if (r == 0)
			r = pg_commit(db);
		else
			pg_rollback(db);
	}
	if (r == 0)
		*ret_deleted = dropped;
	return r < 0 ? -EIO : 0;
}
