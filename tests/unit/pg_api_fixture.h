/* What the PostgreSQL read-half tests (test_server_store_pg_api.c,
 * test_server_store_pg_alerts.c) share: one fixed set of records stored through
 * db_record_insert() in a temporary SQLite file and in a private PostgreSQL (pg_fixture.c),
 * and SAME(), which runs a call on both engines and compares their output byte for byte. */
#ifndef SRVMON_TESTS_PG_API_FIXTURE_H
#define SRVMON_TESTS_PG_API_FIXTURE_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "db.h"
#include "db_alerts.h"
#include "db_api.h"
#include "pg_fixture.h"
#include "sbuf.h"
#include "store.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define DAY_MS 86400000LL
/* Half an hour before the last midnight (UTC), set by setup(): the records span two day
 * partitions. */
static int64_t T0;
#define HOSTA "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define HOSTB "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
#define HOSTC "cccccccccccccccccccccccccccccccc"
#define HOSTD "dddddddddddddddddddddddddddddddd"
#define NOW   (T0 + 3600 * 1000)

struct env {
	struct db *sq, *pg;
	char sq_path[64];
};

/* The records, in insertion order. */
struct rec {
	const char *host;
	uint64_t seq;
	const char *type;
	int64_t ts;
	char body[512];
};

static struct rec recs[1200];
static size_t n_recs;

static inline void add(const char *host, uint64_t seq, const char *type, int64_t ts,
		       const char *fmt, ...)
{
	struct rec *r = &recs[n_recs++];
	char extra[400];
	va_list ap;

	assert_true(n_recs <= sizeof(recs) / sizeof(recs[0]));
	va_start(ap, fmt);
	(void)vsnprintf(extra, sizeof(extra), fmt, ap);
	va_end(ap);
	r->host = host;
	r->seq = seq;
	r->type = type;
	r->ts = ts;
	(void)snprintf(r->body, sizeof(r->body),
		       "{\"type\":\"%s\",\"host_id\":\"%s\",\"seq\":%" PRIu64 ",\"ts\":%" PRId64
		       "%s%s}",
		       type, host, seq, ts, extra[0] ? "," : "", extra);
}

static inline void make_records(void)
{
	uint64_t sa = 1, sb = 1, sc = 1;

	n_recs = 0;
	add(HOSTA, sa++, "hello", T0,
	    "\"hostname\":\"web1\",\"os\":\"Debian\",\"kernel\":\"6.1\","
	    "\"agent_version\":\"0.1.0\",\"collector\":\"bpf\"");
	/* 30 min of resources every 10 s, network every 10 s, status every minute. */
	for (int i = 0; i < 180; i++) {
		int64_t ts = T0 + 1000 + i * 10000LL;

		add(HOSTA, sa++, "resources", ts,
		    "\"cpu_percent\":%d.%d,\"ram_total\":8217473024,\"ram_available\":%d,"
		    "\"disk_total\":12345678901234567,\"disk_available\":%d.5,\"other\":7",
		    i % 13, (i * 7) % 4 * 25, 6000000 + i * 4096, 1000 + i);
		add(HOSTA, sa++, "network", ts + 500,
		    "\"interval_ms\":10000,\"upload_rate\":%d,\"download_rate\":%d,"
		    "\"rx_peak_rate\":%d,\"tx_peak_rate\":%d",
		    1000 * (i % 9), 2000 * (i % 5), 9000 + i, 100 * i);
		if (i % 6 == 0)
			add(HOSTA, sa++, "status", ts + 700, "\"modules\":[]");
	}
	/* Commands: argv with spaces, quotes, LIKE metacharacters, UTF-8, a newline. */
	add(HOSTA, sa++, "exec", T0 + 5000,
	    "\"argv\":[\"ls\",\"-l\",\"/tmp\"],\"user\":\"root\",\"cwd\":\"/root\",\"tty\":\"pts/"
	    "0\"");
	add(HOSTA, sa++, "exec", T0 + 6000,
	    "\"argv\":[\"grep\",\"100%%_done\",\"a\\\\b\"],\"user\":\"alice\",\"cwd\":\"/home/"
	    "alice\","
	    "\"tty\":\"\"");
	add(HOSTA, sa++, "exec", T0 + 6000,
	    "\"argv\":[\"echo\",\"h\\u00e9llo w\\\"orld\",\"two\\nlines\"],\"user\":\"alice\","
	    "\"cwd\":\"/tmp\"");
	for (int i = 0; i < 40; i++)
		add(HOSTA, sa++, "exec", T0 + 10000 + i * 30000LL,
		    "\"argv\":[\"cron-job\",\"--n\",\"%d\"],\"user\":\"%s\",\"cwd\":\"/\","
		    "\"tty\":null",
		    i, i % 3 ? "root" : "backup");
	add(HOSTA, sa++, "exec", T0 + 20000, "\"argv\":\"not-an-array\",\"user\":\"root\"");
	add(HOSTA, sa++, "exec", T0 + 21000, "\"user\":7");
	for (int i = 0; i < 3; i++)
		add(HOSTA, sa++, "speedtest", T0 + 600000 * (i + 1),
		    "\"download_bps\":%d,\"upload_bps\":%d", 90000000 + i, 30000000 + i);
	/* Host B: no hello at first, records out of order, a repeated ts, then a hello. */
	add(HOSTB, sb++, "resources", T0 + 50000, "\"cpu_percent\":50,\"ram_total\":100");
	add(HOSTB, sb++, "resources", T0 + 30000, "\"cpu_percent\":30,\"ram_total\":100");
	add(HOSTB, sb++, "resources", T0 + 50000, "\"cpu_percent\":55,\"ram_total\":1.5");
	add(HOSTB, sb++, "resources", T0 + 70000, "\"cpu_percent\":70");
	add(HOSTB, sb++, "status", T0 + 40000, "");
	add(HOSTB, sb++, "status", T0 + 20000, "");
	add(HOSTB, sb++, "status", T0 + 45000, "");
	add(HOSTB, sb++, "network", T0 + 10000, "\"interval_ms\":900000,\"upload_rate\":1e3");
	add(HOSTB, sb++, "exec", T0 + 30000,
	    "\"argv\":[\"cron-job\",\"b\"],\"user\":\"root\",\"cwd\":\"/srv\",\"tty\":\"tty1\"");
	add(HOSTB, sb++, "hello", T0 + 1000, "\"hostname\":\"db1\",\"os\":\"Alpine\"");
	add(HOSTB, sb++, "hello", T0 + 2000, "\"hostname\":\"api\",\"kernel\":\"6.6\"");
	/* Host D: resources only, out of order: its interval is its gap. */
	add(HOSTD, 1, "resources", T0 + 100000, "\"cpu_percent\":1");
	add(HOSTD, 2, "resources", T0 + 130000, "\"cpu_percent\":2");
	add(HOSTD, 3, "resources", T0 + 120000, "\"cpu_percent\":3");
	add(HOSTD, 4, "resources", T0 + 160000, "\"cpu_percent\":4");
	add(HOSTD, 5, "resources", T0 + 160000, "\"cpu_percent\":5");
	/* After midnight: kept by the retention up to it. */
	add(HOSTA, sa++, "exec", T0 + 1900000,
	    "\"argv\":[\"cron-job\",\"--late\"],\"user\":\"root\",\"cwd\":\"/\"");
	add(HOSTB, sb++, "exec", T0 + 1850000,
	    "\"argv\":[\"ls\"],\"user\":\"alice\",\"cwd\":\"/\"");
	add(HOSTB, sb++, "resources", T0 + 1810000, "\"cpu_percent\":81,\"ram_total\":100");
	add(HOSTB, sb++, "resources", T0 + 1820000, "\"cpu_percent\":82,\"ram_total\":100");
	add(HOSTA, sa++, "speedtest", T0 + 1900000, "\"download_bps\":1");
	/* Host C: only a type that is not applied, then one exec. */
	add(HOSTC, sc++, "ack", T0, "\"x\":1");
	add(HOSTC, sc++, "exec", T0 - 100, "\"argv\":[\"id\"],\"user\":\"root\",\"cwd\":\"/\"");
	/* Duplicates (the same host, seq and account): stored once. */
	add(HOSTB, 1, "resources", T0 + 50000, "\"cpu_percent\":99,\"ram_total\":100");
	add(HOSTA, 3, "network", T0 + 1500, "\"upload_rate\":1");
	/* Later samples of host B, in a new minute and beyond 2^53 / fractions. */
	add(HOSTB, sb++, "resources", T0 + 130000,
	    "\"cpu_percent\":12.25,\"ram_total\":9007199254740993,\"disk_available\":-0.0");
	add(HOSTB, sb++, "network", T0 + 9000, "\"interval_ms\":1000,\"upload_rate\":2");
}

static inline void store_all(struct db *db)
{
	/* Batches of 1, 2, 3, ... records, the last ones alone (no transaction). */
	size_t i = 0, size = 1;

	while (i < n_recs) {
		bool tx = i + 6 < n_recs;

		if (tx)
			assert_int_equal(db_begin(db), 0);
		for (size_t k = 0; k < (tx ? size : 1) && i < n_recs; k++, i++) {
			struct db_record r = {
				.host_id = recs[i].host,
				.seq = recs[i].seq,
				.type = recs[i].type,
				.ts = recs[i].ts,
				.received_ms = (uint64_t)(recs[i].ts + 150),
				.account = "agent1",
				.body = recs[i].body,
				.body_len = strlen(recs[i].body),
			};
			bool inserted = false;

			assert_int_equal(db_record_insert(db, &r, tx ? NULL : &inserted), 0);
		}
		if (tx)
			assert_int_equal(db_commit(db), 0);
		size = size % 40 + 1;
	}
}

/* Both engines' output of one call, compared. */
#define SAME(call_sq, call_pg, what)                                                               \
	do {                                                                                       \
		struct sbuf a_ = {0}, b_ = {0};                                                    \
		assert_int_equal(sbuf_reserve(&a_, 0), 0);                                         \
		assert_int_equal(sbuf_reserve(&b_, 0), 0);                                         \
		a_.s[0] = b_.s[0] = '\0';                                                          \
		assert_int_equal(call_sq, 0);                                                      \
		assert_int_equal(call_pg, 0);                                                      \
		if (strcmp(a_.s, b_.s) != 0)                                                       \
			fail_msg("%s differs:\nsqlite:     %s\npostgresql: %s", what, a_.s, b_.s); \
		sbuf_free(&a_);                                                                    \
		sbuf_free(&b_);                                                                    \
	} while (0)

static inline int64_t key(struct db *db, const char *host)
{
	int64_t k = 0;

	assert_int_equal(db_api_host_key(db, host, &k), 0);
	return k;
}

static inline int host_text(const struct alert_host *h, void *ctx)
{
	char line[256];

	(void)snprintf(line, sizeof(line), "%s|%s|%" PRId64 "|%d|%.17g|%" PRId64 "\n", h->host_id,
		       h->hostname, h->last_seen_ms, h->have_value, h->value, h->ts);
	return sbuf_adds(ctx, line);
}

static inline int exec_text(const struct alert_host *h, const char *cmdline, uint64_t seq,
			    void *ctx)
{
	char line[256];
	int r = host_text(h, ctx);

	(void)snprintf(line, sizeof(line), "[%s] seq=%" PRIu64 "\n", cmdline, seq);
	return r ? r : sbuf_adds(ctx, line);
}

static inline int execs_after(struct db *db, uint64_t limit, struct sbuf *out)
{
	int64_t cursor = 0, last = 0;
	size_t before;

	do {
		before = out->len;
		assert_int_equal(db_alert_execs_after(db, cursor, limit, exec_text, out, &last), 0);
		cursor = last;
	} while (out->len != before);
	return 0;
}

static struct pg_fixture fx;

static inline struct db *open_pg(void)
{
	const char *err = NULL;
	struct db *db;

	if (pg_fixture_start(&fx, false) < 0)
		return NULL;
	db = db_open(fx.url, true, &err);
	if (!db)
		print_message("db_open(%s): %s\n", fx.url, err ? err : "?");
	return db;
}

static inline int setup(void **state)
{
	static struct env e;
	char tmpl[] = "/tmp/srvmon-pgapi-XXXXXX";
	int fd = mkstemp(tmpl);
	struct timespec now;

	clock_gettime(CLOCK_REALTIME, &now);
	T0 = (int64_t)now.tv_sec / 86400 * DAY_MS - 1800000;

	if (fd < 0)
		return -1;
	close(fd);
	unlink(tmpl);
	(void)snprintf(e.sq_path, sizeof(e.sq_path), "%s.db", tmpl);
	e.sq = db_open(e.sq_path, true, NULL);
	if (!e.sq)
		return -1;
	e.pg = open_pg();
	if (!e.pg)
		return -1;
	make_records();
	store_all(e.sq);
	store_all(e.pg);
	*state = &e;
	return 0;
}

static inline int teardown(void **state)
{
	struct env *e = *state;
	char side[80];

	db_close(e->sq);
	if (e->pg)
		db_close(e->pg);
	pg_fixture_destroy(&fx);
	unlink(e->sq_path);
	(void)snprintf(side, sizeof(side), "%s-wal", e->sq_path);
	unlink(side);
	(void)snprintf(side, sizeof(side), "%s-shm", e->sq_path);
	unlink(side);
	return 0;
}

#endif
