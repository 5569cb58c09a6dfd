/* The PostgreSQL engine's read half (store_pg_api*.c, store_pg_apply.c, store_pg_alerts.c,
 * store_pg_expire.c): one fixed set of records stored through db_record_insert() in a SQLite
 * file and in a private PostgreSQL gives the same answers from every read API and alert
 * operation on both (the JSON compared byte for byte). Records go in batches of several sizes,
 * out of order, with duplicates, so that pg_api_apply()'s batched statements must agree with
 * SQLite's per-record triggers. Skipped when built without libpq or without a PostgreSQL
 * server to start. */
#include <errno.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "db.h"
#include "db_alerts.h"
#include "db_api.h"
#include "metric.h"
#include "sbuf.h"
#include "store.h"

#ifdef SRVMON_WITH_POSTGRESQL

#define T0    1764000000000LL /* 2025-11-24 16:00 UTC */
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

static void add(const char *host, uint64_t seq, const char *type, int64_t ts, const char *fmt, ...)
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

static void make_records(void)
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

static void store_all(struct db *db)
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
		assert_int_equal(call_sq, 0);                                                      \
		assert_int_equal(call_pg, 0);                                                      \
		if (strcmp(a_.s, b_.s) != 0)                                                       \
			fail_msg("%s differs:\nsqlite:     %s\npostgresql: %s", what, a_.s, b_.s); \
		sbuf_free(&a_);                                                                    \
		sbuf_free(&b_);                                                                    \
	} while (0)

static int64_t key(struct db *db, const char *host)
{
	int64_t k = 0;

	assert_int_equal(db_api_host_key(db, host, &k), 0);
	return k;
}

static void test_hosts(void **state)
{
	struct env *e = *state;
	int64_t k;

	SAME(db_api_hosts(e->sq, NOW, NULL, NULL, &a_), db_api_hosts(e->pg, NOW, NULL, NULL, &b_),
	     "hosts");
	SAME(db_api_hosts(e->sq, T0 + 60000, NULL, NULL, &a_),
	     db_api_hosts(e->pg, T0 + 60000, NULL, NULL, &b_), "hosts a minute in");
	assert_int_equal(db_api_host_key(e->pg, "no-such-host", &k), -ENOENT);
	assert_int_equal(db_api_host_key(e->sq, "no-such-host", &k), -ENOENT);
}

static void test_series(void **state)
{
	static const int64_t steps[] = {1000, 10000, 25000, 60000, 120000, 300000, 3600000};
	static const char *const hosts[] = {HOSTA, HOSTB};
	struct env *e = *state;

	for (size_t h = 0; h < 2; h++) {
		for (size_t m = 0; m < metric_count(); m++) {
			for (size_t s = 0; s < sizeof(steps) / sizeof(steps[0]); s++) {
				struct db_series_query qs = {
					.host = key(e->sq, hosts[h]),
					.metric = metric_at(m)->id,
					.from = T0 + 12345,
					.to = T0 + 1500000 + (int64_t)s * 1000,
					.step = steps[s],
				};
				struct db_series_query qp = qs;
				char what[96];

				qp.host = key(e->pg, hosts[h]);
				(void)snprintf(what, sizeof(what), "series %s of %s, step %" PRId64,
					       metric_at(m)->name, hosts[h], steps[s]);
				SAME(db_api_series(e->sq, &qs, &a_), db_api_series(e->pg, &qp, &b_),
				     what);
			}
		}
	}
}

static void test_speedtests(void **state)
{
	struct env *e = *state;

	for (uint64_t limit = 1; limit <= 4; limit++)
		SAME(db_api_speedtests(e->sq, key(e->sq, HOSTA), T0, T0 + 1800000, limit, &a_),
		     db_api_speedtests(e->pg, key(e->pg, HOSTA), T0, T0 + 1800000, limit, &b_),
		     "speedtests");
	SAME(db_api_speedtests(e->sq, key(e->sq, HOSTA), T0 + 1200001, T0 + 1800000, 10, &a_),
	     db_api_speedtests(e->pg, key(e->pg, HOSTA), T0 + 1200001, T0 + 1800000, 10, &b_),
	     "speedtests from after the second");
	SAME(db_api_speedtests(e->sq, key(e->sq, HOSTB), 0, NOW, 10, &a_),
	     db_api_speedtests(e->pg, key(e->pg, HOSTB), 0, NOW, 10, &b_), "no speedtests");
}

/* Every page of one search on one engine, with the cursor each page gave. */
static void exec_pages(struct db *db, struct db_exec_query q, const char *host, struct sbuf *out)
{
	for (int page = 0; page < 100; page++) {
		int64_t next_ts = 0, next_id = 0;
		bool more = false;

		if (host)
			q.host = key(db, host);
		assert_int_equal(db_api_execs(db, &q, out, &more, &next_ts, &next_id), 0);
		assert_int_equal(sbuf_adds(out, more ? " more\n" : " end\n"), 0);
		if (!more)
			return;
		q.have_cursor = true;
		q.cursor_ts = next_ts;
		q.cursor_id = next_id;
	}
	fail_msg("exec pages do not end");
}

static void test_execs(void **state)
{
	static const struct {
		const char *host, *user, *q;
		uint64_t limit;
	} cases[] = {
		{NULL, NULL, NULL, 100},
		{NULL, NULL, NULL, 7},
		{HOSTA, NULL, NULL, 5},
		{HOSTB, NULL, NULL, 5},
		{NULL, "alice", NULL, 1},
		{NULL, "backup", NULL, 4},
		{NULL, NULL, "cron-job", 6},
		{NULL, NULL, "cron-job --n 1", 3},
		{NULL, NULL, "ls", 10},
		{NULL, NULL, "100%_", 10},
		{NULL, NULL, "%", 10},
		{NULL, NULL, "_", 10},
		{NULL, NULL, "a\\b", 10},
		{NULL, NULL, "h\xc3\xa9llo w\"orld", 10},
		{NULL, NULL, "lines\nalice", 10},
		{NULL, NULL, "root\n/srv\ntty1", 10},
		{NULL, NULL, "not-an-array", 10},
		{NULL, NULL, "\n7\n", 10},
		{HOSTA, "root", "cron", 4},
		{NULL, NULL, "no such text", 10},
		{NULL, NULL, "", 3},
		{HOSTB, "alice", NULL, 10},
	};
	struct env *e = *state;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct db_exec_query q = {
			.user = cases[i].user,
			.q = cases[i].q,
			.from = T0 - 1000,
			.to = T0 + 1000000,
			.limit = cases[i].limit,
		};
		char what[64];

		(void)snprintf(what, sizeof(what), "exec search %zu", i);
		SAME((exec_pages(e->sq, q, cases[i].host, &a_), 0),
		     (exec_pages(e->pg, q, cases[i].host, &b_), 0), what);
	}
}

static int body_cb(int64_t id, const char *body, size_t len, void *ctx)
{
	(void)id;
	if (sbuf_add(ctx, body, len) < 0 || sbuf_addc(ctx, '\n') < 0)
		return -ENOMEM;
	return 0;
}

/* The bodies of every record after the first, in pages of limit (ids differ between engines:
 * PostgreSQL's identity skips the duplicates' values). */
static int records_after(struct db *db, const char *host, const char *type, uint64_t limit,
			 struct sbuf *out)
{
	int64_t after = 0, last = 0, first_id = 0;
	size_t before;

	assert_int_equal(db_api_records_after(db, 0, NULL, NULL, 1, body_cb, out, &first_id), 0);
	after = first_id;
	do {
		before = out->len;
		assert_int_equal(
			db_api_records_after(db, after, host, type, limit, body_cb, out, &last), 0);
		after = last;
	} while (out->len != before);
	assert_int_equal(db_api_last_record(db, &last), 0);
	assert_true(last >= first_id);
	return 0;
}

static void test_records_after(void **state)
{
	struct env *e = *state;

	SAME(records_after(e->sq, NULL, NULL, 97, &a_), records_after(e->pg, NULL, NULL, 97, &b_),
	     "records after");
	SAME(records_after(e->sq, HOSTB, NULL, 3, &a_), records_after(e->pg, HOSTB, NULL, 3, &b_),
	     "records after, one host");
	SAME(records_after(e->sq, NULL, "exec", 5, &a_), records_after(e->pg, NULL, "exec", 5, &b_),
	     "records after, one type");
}

static int rule_text(const struct alert_rule *rule, int64_t exec_cursor, void *ctx)
{
	(void)exec_cursor;
	return alert_rule_to_json(rule, ctx) < 0 || sbuf_addc(ctx, '\n') < 0 ? -ENOMEM : 0;
}

static int rule_cursor(const struct alert_rule *rule, int64_t exec_cursor, void *ctx)
{
	char line[64];

	(void)snprintf(line, sizeof(line), "%" PRId64 ":%" PRId64 "\n", rule->id, exec_cursor);
	return sbuf_adds(ctx, line);
}

static int host_text(const struct alert_host *h, void *ctx)
{
	char line[256];

	(void)snprintf(line, sizeof(line), "%s|%s|%" PRId64 "|%d|%.17g|%" PRId64 "\n", h->host_id,
		       h->hostname, h->last_seen_ms, h->have_value, h->value, h->ts);
	return sbuf_adds(ctx, line);
}

/* The lines of out in byte order: hosts are numbered in a batch's host_id order on PostgreSQL
 * (store_pg_apply.c: the lock order), in arrival order on SQLite. */
static int cmp_line(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int sorted_lines(struct sbuf *out)
{
	char *lines[64], *copy = strdup(out->s), *nl;
	size_t n = 0;

	assert_non_null(copy);
	for (char *l = copy; *l && n < 64; l = nl + 1) {
		nl = strchr(l, '\n');
		assert_non_null(nl);
		*nl = '\0';
		lines[n++] = l;
	}
	qsort(lines, n, sizeof(lines[0]), cmp_line);
	out->len = 0;
	out->s[0] = '\0';
	for (size_t i = 0; i < n; i++)
		assert_int_equal(sbuf_adds(out, lines[i]) || sbuf_addc(out, '\n'), 0);
	free(copy);
	return 0;
}

static int exec_text(const struct alert_host *h, const char *cmdline, uint64_t seq, void *ctx)
{
	char line[256];
	int r = host_text(h, ctx);

	(void)snprintf(line, sizeof(line), "[%s] seq=%" PRIu64 "\n", cmdline, seq);
	return r ? r : sbuf_adds(ctx, line);
}

static int execs_after(struct db *db, uint64_t limit, struct sbuf *out)
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

static int state_text(struct db *db, int64_t rule, int64_t host, struct sbuf *out)
{
	struct alert_state s;
	char line[160];

	assert_int_equal(db_alert_state_get(db, rule, host, &s), 0);
	(void)snprintf(line, sizeof(line), "%d %d %" PRId64 " %" PRId64 " %" PRId64 " %.17g\n",
		       s.state, s.have_since, s.since_ms, s.fired_ms, s.resolved_ms, s.value);
	return sbuf_adds(out, line);
}

/* The same operation on both engines; ids must agree. */
static void both_add(struct env *e, const struct alert_rule *rule, int64_t want_id)
{
	int64_t a = 0, b = 0;

	assert_int_equal(db_alert_add(e->sq, rule, (uint64_t)NOW, &a), 0);
	assert_int_equal(db_alert_add(e->pg, rule, (uint64_t)NOW, &b), 0);
	assert_int_equal(a, want_id);
	assert_int_equal(b, want_id);
}

static void both_state(struct env *e, int64_t rule, const char *host, const struct alert_state *s,
		       uint64_t now)
{
	assert_int_equal(db_alert_state_put(e->sq, rule, key(e->sq, host), s, now), 0);
	assert_int_equal(db_alert_state_put(e->pg, rule, key(e->pg, host), s, now), 0);
}

static void test_alerts(void **state)
{
	struct env *e = *state;
	struct alert_rule cpu = {.kind = ALERT_METRIC,
				 .op = ALERT_GT,
				 .threshold = 10.5,
				 .for_ms = 60000,
				 .have_for = true};
	struct alert_rule off = {.kind = ALERT_OFFLINE, .for_ms = 120000, .have_for = true};
	struct alert_rule ex = {.kind = ALERT_EXEC, .have_for = true};
	struct alert_state firing = {.state = ALERT_STATE_FIRING,
				     .have_since = true,
				     .since_ms = T0 + 1000,
				     .fired_ms = T0 + 61000,
				     .value = 12.25};
	struct alert_state resolved = {.state = ALERT_STATE_RESOLVED,
				       .have_since = false,
				       .fired_ms = T0 + 1000,
				       .resolved_ms = T0 + 2000,
				       .value = 1.0 / 3};
	struct alert_state ok = {.state = ALERT_STATE_OK, .have_since = true, .since_ms = 5};
	struct alert_rule got;

	(void)snprintf(cpu.name, sizeof(cpu.name), "cpu high");
	(void)snprintf(cpu.metric, sizeof(cpu.metric), "cpu_percent");
	(void)snprintf(cpu.webhook, sizeof(cpu.webhook), "http://127.0.0.1:9/hook");
	(void)snprintf(off.name, sizeof(off.name), "b offline");
	(void)snprintf(off.host_id, sizeof(off.host_id), HOSTB);
	(void)snprintf(ex.name, sizeof(ex.name), "cron \"jobs\"");
	(void)snprintf(ex.regex, sizeof(ex.regex), "^cron-job .*[0-9]$");
	both_add(e, &cpu, 1);
	both_add(e, &off, 2);
	both_add(e, &ex, 3);
	SAME(db_alert_rules_json(e->sq, &a_), db_alert_rules_json(e->pg, &b_), "rules");
	cpu.id = 1;
	cpu.threshold = 1e-3;
	cpu.op = ALERT_LT;
	assert_int_equal(db_alert_update(e->sq, &cpu), 0);
	assert_int_equal(db_alert_update(e->pg, &cpu), 0);
	cpu.id = 99;
	assert_int_equal(db_alert_update(e->sq, &cpu), -ENOENT);
	assert_int_equal(db_alert_update(e->pg, &cpu), -ENOENT);
	SAME(db_alert_foreach(e->sq, rule_text, &a_), db_alert_foreach(e->pg, rule_text, &b_),
	     "rules after an update");
	assert_int_equal(db_alert_get(e->pg, 99, &got), -ENOENT);
	SAME((db_alert_get(e->sq, 1, &got), alert_rule_to_json(&got, &a_)),
	     (db_alert_get(e->pg, 1, &got), alert_rule_to_json(&got, &b_)), "rule 1");
	/* Exec cursors are record ids: set alike, then read back. */
	for (int64_t id = 1; id <= 3; id++) {
		assert_int_equal(db_alert_set_cursor(e->sq, id, 40 + id), 0);
		assert_int_equal(db_alert_set_cursor(e->pg, id, 40 + id), 0);
	}
	SAME(db_alert_foreach(e->sq, rule_cursor, &a_), db_alert_foreach(e->pg, rule_cursor, &b_),
	     "exec cursors");
	both_state(e, 1, HOSTA, &firing, (uint64_t)T0 + 61000);
	both_state(e, 1, HOSTB, &firing, (uint64_t)T0 + 61000);
	both_state(e, 2, HOSTB, &resolved, (uint64_t)T0 + 2000);
	both_state(e, 3, HOSTA, &ok, (uint64_t)T0 + 7000);
	both_state(e, 1, HOSTB, &resolved, (uint64_t)T0 + 2000);
	SAME(db_alert_states_json(e->sq, &a_), db_alert_states_json(e->pg, &b_), "states");
	SAME((state_text(e->sq, 1, key(e->sq, HOSTA), &a_),
	      state_text(e->sq, 3, key(e->sq, HOSTA), &a_),
	      state_text(e->sq, 2, key(e->sq, HOSTA), &a_)),
	     (state_text(e->pg, 1, key(e->pg, HOSTA), &b_),
	      state_text(e->pg, 3, key(e->pg, HOSTA), &b_),
	      state_text(e->pg, 2, key(e->pg, HOSTA), &b_)),
	     "state get");
	SAME(db_alert_firing(e->sq, 1, host_text, &a_), db_alert_firing(e->pg, 1, host_text, &b_),
	     "firing");
	SAME((db_alert_hosts(e->sq, NULL, NULL, host_text, &a_), sorted_lines(&a_)),
	     (db_alert_hosts(e->pg, NULL, NULL, host_text, &b_), sorted_lines(&b_)), "alert hosts");
	for (size_t m = 0; m < metric_count(); m++) {
		SAME((db_alert_hosts(e->sq, metric_at(m)->name, NULL, host_text, &a_),
		      sorted_lines(&a_)),
		     (db_alert_hosts(e->pg, metric_at(m)->name, NULL, host_text, &b_),
		      sorted_lines(&b_)),
		     metric_at(m)->name);
		SAME(db_alert_hosts(e->sq, metric_at(m)->name, HOSTB, host_text, &a_),
		     db_alert_hosts(e->pg, metric_at(m)->name, HOSTB, host_text, &b_),
		     metric_at(m)->name);
	}
	SAME(execs_after(e->sq, 4, &a_), execs_after(e->pg, 4, &b_), "execs after");
	/* A deleted rule takes its states; the largest id is used again, as SQLite does. */
	assert_int_equal(db_alert_del(e->sq, 3), 0);
	assert_int_equal(db_alert_del(e->pg, 3), 0);
	assert_int_equal(db_alert_del(e->pg, 3), -ENOENT);
	assert_int_equal(db_alert_del(e->sq, 1), 0);
	assert_int_equal(db_alert_del(e->pg, 1), 0);
	SAME(db_alert_states_json(e->sq, &a_), db_alert_states_json(e->pg, &b_), "states after");
	both_add(e, &ex, 3);
	SAME(db_alert_rules_json(e->sq, &a_), db_alert_rules_json(e->pg, &b_), "rules at the end");
}

static int64_t rollups(struct db *db)
{
	uint64_t n, total = 0;

	do {
		assert_int_equal(db_rollups_expire(db, T0 + 600000, 50, &n), 0);
		total += n;
	} while (n);
	return (int64_t)total;
}

/* Runs last: the rollups before a cutoff go, the same ones on both. */
static void test_rollups_expire(void **state)
{
	struct env *e = *state;

	int64_t n = rollups(e->sq);

	assert_true(n > 0);
	assert_int_equal(rollups(e->pg), n);
	test_series(state);
}

#ifdef PGREAD_HARNESS
struct db *harness_open(const char *conninfo);
#endif

static struct db *open_pg(void)
{
#ifdef PGREAD_HARNESS
	return harness_open(getenv("PGREAD_CONNINFO"));
#else
	return NULL;
#endif
}

static int setup(void **state)
{
	static struct env e;
	char tmpl[] = "/tmp/srvmon-pgapi-XXXXXX";
	int fd = mkstemp(tmpl);

	if (fd < 0)
		return -1;
	close(fd);
	unlink(tmpl);
	(void)snprintf(e.sq_path, sizeof(e.sq_path), "%s.db", tmpl);
	e.sq = db_open(e.sq_path, true, NULL);
	if (!e.sq)
		return -1;
	e.pg = open_pg();
	if (!e.pg) {
		print_message("no PostgreSQL to test against: skipping\n");
		*state = &e;
		return 0;
	}
	make_records();
	store_all(e.sq);
	store_all(e.pg);
	*state = &e;
	return 0;
}

static int teardown(void **state)
{
	struct env *e = *state;
	char side[80];

	db_close(e->sq);
	if (e->pg)
		db_close(e->pg);
	unlink(e->sq_path);
	(void)snprintf(side, sizeof(side), "%s-wal", e->sq_path);
	unlink(side);
	(void)snprintf(side, sizeof(side), "%s-shm", e->sq_path);
	unlink(side);
	return 0;
}

#define PG_TEST(f)                                                                                 \
	static void pg_##f(void **state)                                                           \
	{                                                                                          \
		struct env *e = *state;                                                            \
		if (!e->pg)                                                                        \
			skip();                                                                    \
		f(state);                                                                          \
	}
PG_TEST(test_hosts)
PG_TEST(test_series)
PG_TEST(test_speedtests)
PG_TEST(test_execs)
PG_TEST(test_records_after)
PG_TEST(test_alerts)
PG_TEST(test_rollups_expire)

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(pg_test_hosts),	  cmocka_unit_test(pg_test_series),
		cmocka_unit_test(pg_test_speedtests),	  cmocka_unit_test(pg_test_execs),
		cmocka_unit_test(pg_test_records_after),  cmocka_unit_test(pg_test_alerts),
		cmocka_unit_test(pg_test_rollups_expire),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}

#else

static void no_postgresql(void **state)
{
	(void)state;
	print_message("built without libpq (SRVMON_WITH_POSTGRESQL): skipping\n");
	skip();
}

int main(void)
{
	const struct CMUnitTest tests[] = {cmocka_unit_test(no_postgresql)};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

#endif
