#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>

#include "message.h"
#include "outbox.h"
#include "srvmon_proto.h"
#include "seqstore.h"
#include "spool.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static cJSON *msg(int i)
{
	cJSON *m = cJSON_CreateObject();

	cJSON_AddStringToObject(m, "type", "status");
	cJSON_AddNumberToObject(m, "i", i);
	return m;
}

/* Peeks the next unsent record and returns its seq (0 when none). */
static uint64_t next_seq(struct outbox *o, char *buf, size_t len)
{
	size_t need = 0;
	uint64_t seq = 0;
	int n = outbox_peek(o, buf, len, &need, &seq);

	assert_true(n >= 0);
	if (n == 0)
		return 0;
	buf[n] = '\0';
	return seq;
}

static void test_seq_increases_and_fields_added(void **state)
{
	struct outbox *o = outbox_new("host-a", NULL, 10);
	char buf[512];

	(void)state;
	assert_non_null(o);
	assert_int_equal(outbox_submit(o, msg(1)), 0);
	assert_int_equal(outbox_submit(o, msg(2)), 0);
	assert_int_equal(next_seq(o, buf, sizeof(buf) - 1), 1);
	assert_non_null(strstr(buf, "\"host_id\":\"host-a\""));
	assert_non_null(strstr(buf, "\"seq\":1"));
	outbox_mark_sent(o, 1);
	assert_int_equal(next_seq(o, buf, sizeof(buf) - 1), 2);
	outbox_free(o);
}

static void test_unacked_resent_after_reconnect_on_acking_server(void **state)
{
	struct outbox *o = outbox_new("h", NULL, 10);
	struct outbox_stats st;
	char buf[512];

	(void)state;
	for (int i = 0; i < 4; i++)
		outbox_submit(o, msg(i));
	for (uint64_t s = 1; s <= 4; s++) {
		assert_int_equal(next_seq(o, buf, sizeof(buf) - 1), s);
		outbox_mark_sent(o, s);
	}
	assert_int_equal(next_seq(o, buf, sizeof(buf) - 1), 0);
	outbox_ack(o, 2);
	outbox_connection_closed(o);
	/* 3 and 4 were written but not acked: written again, in order. */
	assert_int_equal(next_seq(o, buf, sizeof(buf) - 1), 3);
	outbox_mark_sent(o, 3);
	assert_int_equal(next_seq(o, buf, sizeof(buf) - 1), 4);
	outbox_stats(o, &st);
	assert_int_equal(st.acked, 2);
	assert_int_equal(st.dropped, 0);
	outbox_free(o);
}

static void test_welcome_expects_acks_before_the_first(void **state)
{
	struct outbox *o = outbox_new("h", NULL, 10);
	char buf[512];

	(void)state;
	for (int i = 0; i < 3; i++)
		outbox_submit(o, msg(i));
	for (uint64_t s = 1; s <= 3; s++) {
		assert_int_equal(next_seq(o, buf, sizeof(buf) - 1), s);
		outbox_mark_sent(o, s);
	}
	/* Welcomed, then lost before the first (paced) ack: all three go out again. */
	outbox_expect_acks(o);
	outbox_connection_closed(o);
	assert_int_equal(next_seq(o, buf, sizeof(buf) - 1), 1);
	assert_int_equal(outbox_pending(o), 3);
	outbox_free(o);
}

static uint64_t fake_now = 1000;

static uint64_t fake_clock(void)
{
	return fake_now;
}

/* Writes the next record at fake_now; returns its seq. */
static uint64_t write_at(struct outbox *o, uint64_t now, char *buf, size_t len)
{
	uint64_t seq;

	fake_now = now;
	seq = next_seq(o, buf, len);
	outbox_mark_sent(o, seq);
	return seq;
}

/*
 * A server that never acks (grace 5 s): a written record is delivered once the
 * connection stayed up 5 s after it was written; on a close the others are written
 * again, identical and in order; after the server's close frame nothing counts.
 */
static void check_noack(struct outbox *o)
{
	struct outbox_stats st;
	char buf[512], first[512];

	outbox_set_clock(o, fake_clock);
	outbox_set_unacked_grace(o, 5000);
	for (int i = 0; i < 6; i++)
		outbox_submit(o, msg(i));
	for (uint64_t q = 1; q <= 3; q++)
		assert_int_equal(write_at(o, 1000, buf, sizeof(buf) - 1), q);
	for (uint64_t q = 4; q <= 6; q++)
		assert_int_equal(write_at(o, 4000, buf, sizeof(buf) - 1), q);
	(void)snprintf(first, sizeof(first), "%s", buf);
	fake_now = 5999;
	outbox_sync(o);
	outbox_stats(o, &st);
	assert_int_equal(st.acked, 0);
	fake_now = 6100; /* the tick after 1..3's grace */
	outbox_sync(o);
	outbox_stats(o, &st);
	assert_int_equal(st.acked, 3);
	assert_int_equal(st.queued, 3);
	/* Closed before 4..6 had theirs: written again, the same bytes, in order. */
	outbox_connection_closed(o);
	assert_int_equal(outbox_pending(o), 3);
	assert_int_equal(write_at(o, 7000, buf, sizeof(buf) - 1), 4);
	assert_int_equal(write_at(o, 7000, buf, sizeof(buf) - 1), 5);
	assert_int_equal(write_at(o, 7000, buf, sizeof(buf) - 1), 6);
	assert_string_equal(buf, first);
	/* The server's close frame at 8000; the connection ends at 20000: the grace counts
	 * only up to the close frame, so 4..6 go out again, and 7, written after it, too. */
	outbox_submit(o, msg(7));
	fake_now = 8000;
	outbox_peer_closing(o);
	assert_int_equal(write_at(o, 19000, buf, sizeof(buf) - 1), 7);
	fake_now = 20000;
	outbox_sync(o);
	outbox_connection_closed(o);
	outbox_stats(o, &st);
	assert_int_equal(st.acked, 3);
	assert_int_equal(outbox_pending(o), 4);
	assert_int_equal(write_at(o, 21000, buf, sizeof(buf) - 1), 4);
	/* A healthy connection: delivered after their grace, nothing lost or dropped. */
	for (uint64_t q = 5; q <= 7; q++)
		assert_int_equal(write_at(o, 21000, buf, sizeof(buf) - 1), q);
	fake_now = 26100; /* the spool rounds write times up, by at most a 64th of the grace */
	outbox_connection_closed(o);
	outbox_stats(o, &st);
	assert_int_equal(st.acked, 7);
	assert_int_equal(st.queued, 0);
	assert_int_equal(st.dropped, 0);
	assert_int_equal(outbox_pending(o), 0);
}

static void test_never_acking_server_memory(void **state)
{
	struct outbox *o = outbox_new("h", NULL, 10);

	(void)state;
	check_noack(o);
	outbox_free(o);
}

static void test_never_acking_server_spool(void **state)
{
	struct spool_options opt = {.max_bytes = 1 << 20, .fsync = SPOOL_FSYNC_NEVER};
	char dir[] = "/tmp/srvmon-outbox-XXXXXX";
	struct outbox *o = outbox_new("h", NULL, 10);
	struct spool *sp;
	char path[600];

	(void)state;
	assert_non_null(mkdtemp(dir));
	sp = spool_open(dir, &opt);
	assert_non_null(sp);
	outbox_use_spool(o, sp);
	check_noack(o);
	outbox_free(o);
	spool_close(sp);
	(void)snprintf(path, sizeof(path), "%s/acked", dir);
	unlink(path);
	(void)snprintf(path, sizeof(path), "%s/00000000000000000001.seg", dir);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(rmdir(dir), 0);
}

/* The memory queue full of written records: those past their grace make room without
 * a loss; one still in its grace is evicted and counted as dropped. */
static void test_never_acking_server_full_queue(void **state)
{
	struct outbox *o = outbox_new("h", NULL, 3);
	struct outbox_stats st;
	char buf[512];

	(void)state;
	outbox_set_clock(o, fake_clock);
	outbox_set_unacked_grace(o, 5000);
	for (int i = 0; i < 3; i++) {
		outbox_submit(o, msg(i));
		write_at(o, 1000, buf, sizeof(buf) - 1);
	}
	fake_now = 6000;
	outbox_submit(o, msg(3));
	outbox_stats(o, &st);
	assert_int_equal(st.dropped, 0);
	assert_int_equal(st.acked, 3);
	write_at(o, 6000, buf, sizeof(buf) - 1);
	outbox_submit(o, msg(4));
	outbox_submit(o, msg(5));
	outbox_submit(o, msg(6)); /* evicts 4, written at 6000, not yet delivered */
	outbox_stats(o, &st);
	assert_int_equal(st.dropped, 1);
	outbox_connection_closed(o);
	assert_int_equal(next_seq(o, buf, sizeof(buf) - 1), 5);
	outbox_free(o);
}

static void test_full_queue_drops_oldest_and_counts(void **state)
{
	struct outbox *o = outbox_new("h", NULL, 3);
	struct outbox_stats st;
	char buf[512];

	(void)state;
	for (int i = 0; i < 5; i++)
		outbox_submit(o, msg(i));
	outbox_stats(o, &st);
	assert_int_equal(st.dropped, 2);
	assert_int_equal(st.queued, 3);
	assert_int_equal(next_seq(o, buf, sizeof(buf) - 1), 3);
	outbox_free(o);
}

static void test_small_buffer_reports_size(void **state)
{
	struct outbox *o = outbox_new("h", NULL, 3);
	char buf[8];
	size_t need = 0;
	uint64_t seq = 0;

	(void)state;
	outbox_submit(o, msg(1));
	assert_int_equal(outbox_peek(o, buf, sizeof(buf), &need, &seq), -ENOSPC);
	assert_true(need > sizeof(buf));
	assert_int_equal(seq, 1);
	outbox_free(o);
}

static void test_seqstore_persists_and_never_reuses(void **state)
{
	char dir[] = "/tmp/srvmon-seq-XXXXXX";
	char path[PATH_MAX];
	struct seqstore *s;
	uint64_t a = 0, b = 0;

	(void)state;
	assert_non_null(mkdtemp(dir));
	s = seqstore_open(dir);
	assert_non_null(s);
	assert_int_equal(seqstore_next(s, &a), 0);
	assert_int_equal(a, 1);
	for (int i = 0; i < 10; i++)
		assert_int_equal(seqstore_next(s, &a), 0);
	seqstore_close(s); /* as if killed: no final write */
	s = seqstore_open(dir);
	assert_int_equal(seqstore_next(s, &b), 0);
	assert_true(b > a);
	seqstore_close(s);
	snprintf(path, sizeof(path), "%s/seq", dir);
	unlink(path);
	rmdir(dir);
}

/* Reading DIR/seq: the reservation on disk. */
static uint64_t seq_reserved(const char *dir)
{
	char path[PATH_MAX];
	unsigned long long v = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/seq", dir);
	f = fopen(path, "r");
	assert_non_null(f);
	assert_int_equal(fscanf(f, "%llu", &v), 1);
	fclose(f);
	return v;
}

/* A burst doubles the block at each reservation, up to SEQSTORE_BLOCK_MAX. */
static void test_seqstore_block_grows_in_a_burst(void **state)
{
	char dir[] = "/tmp/srvmon-seq-XXXXXX";
	char path[PATH_MAX];
	struct seqstore *s;
	uint64_t q = 0, want = 1, block = SEQSTORE_BLOCK;

	(void)state;
	assert_non_null(mkdtemp(dir));
	s = seqstore_open(dir);
	assert_non_null(s);
	for (int i = 0; i < 10; i++) {
		assert_int_equal(seqstore_next(s, &q), 0);
		want += block;
		assert_int_equal(seq_reserved(dir), want);
		/* Use up the rest of the block: the next call reserves again. */
		while (q + 1 < want)
			assert_int_equal(seqstore_next(s, &q), 0);
		block = block * 2 > SEQSTORE_BLOCK_MAX ? SEQSTORE_BLOCK_MAX : block * 2;
	}
	seqstore_close(s);
	snprintf(path, sizeof(path), "%s/seq", dir);
	unlink(path);
	rmdir(dir);
}

/* Records submitted together come out together: one batch peek, joined by ',', with
 * host_id and seq; acked as a whole. Through the spool and through the memory queue. */
static void check_batch(struct outbox *o)
{
	static const char *const texts[] = {"{\"type\":\"exec\",\"a\":1}", "{}",
					    "{\"type\":\"exec\",\"a\":3}"};
	struct record_text recs[3];
	struct outbox_stats st;
	char buf[1024];
	size_t need = 0, n = 0;
	uint64_t seq = 0;
	int len;

	for (int i = 0; i < 3; i++)
		recs[i] = (struct record_text){.text = texts[i], .len = strlen(texts[i])};
	assert_int_equal(outbox_submit_json(o, recs, 3), 3);
	len = outbox_peek_many(o, buf, sizeof(buf) - 1, 1000, &need, &seq, &n);
	assert_true(len > 0);
	buf[len] = '\0';
	assert_int_equal(n, 3);
	assert_int_equal(seq, 3);
	assert_string_equal(buf, "{\"type\":\"exec\",\"a\":1,\"host_id\":\"h\",\"seq\":1},"
				 "{\"host_id\":\"h\",\"seq\":2},"
				 "{\"type\":\"exec\",\"a\":3,\"host_id\":\"h\",\"seq\":3}");
	/* A buffer that holds only the first two: a shorter batch, not an error. */
	len = outbox_peek_many(o, buf, 80, 1000, &need, &seq, &n);
	assert_int_equal(n, 2);
	assert_int_equal(seq, 2);
	len = outbox_peek_many(o, buf, sizeof(buf), 1000, &need, &seq, &n);
	outbox_mark_sent(o, seq);
	assert_int_equal(outbox_pending(o), 0);
	outbox_ack(o, 3);
	outbox_stats(o, &st);
	assert_int_equal(st.acked, 3);
	assert_int_equal(st.queued, 0);
}

static void test_batch_memory(void **state)
{
	struct outbox *o = outbox_new("h", NULL, 10);

	(void)state;
	check_batch(o);
	outbox_free(o);
}

static void test_batch_spool(void **state)
{
	struct spool_options opt = {.max_bytes = 1 << 20, .fsync = SPOOL_FSYNC_NEVER};
	char dir[] = "/tmp/srvmon-outbox-XXXXXX";
	struct outbox *o = outbox_new("h", NULL, 10);
	struct spool *sp;
	char path[600];

	(void)state;
	assert_non_null(mkdtemp(dir));
	sp = spool_open(dir, &opt);
	assert_non_null(sp);
	outbox_use_spool(o, sp);
	check_batch(o);
	outbox_free(o);
	spool_close(sp);
	snprintf(path, sizeof(path), "%s/acked", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/00000000000000000001.seg", dir);
	assert_int_equal(unlink(path), 0); /* the one segment, kept for reuse */
	assert_int_equal(rmdir(dir), 0);
}

/* A spool opened late takes what waits in memory, written or not, in order. */
static void test_late_spool_takes_the_queue(void **state)
{
	struct spool_options opt = {.max_bytes = 1 << 20, .fsync = SPOOL_FSYNC_NEVER};
	char dir[] = "/tmp/srvmon-outbox-XXXXXX";
	struct outbox *o = outbox_new("h", NULL, 10);
	struct spool *sp;
	char buf[512], path[600];

	(void)state;
	for (int i = 0; i < 3; i++)
		outbox_submit(o, msg(i));
	assert_int_equal(next_seq(o, buf, sizeof(buf) - 1), 1);
	outbox_mark_sent(o, 1); /* written, not acked: written again from the spool */
	assert_non_null(mkdtemp(dir));
	sp = spool_open(dir, &opt);
	assert_non_null(sp);
	assert_int_equal(outbox_use_spool(o, sp), 3);
	assert_int_equal(outbox_pending(o), 3);
	for (uint64_t q = 1; q <= 3; q++) {
		assert_int_equal(next_seq(o, buf, sizeof(buf) - 1), q);
		outbox_mark_sent(o, q);
	}
	outbox_ack(o, 3);
	assert_int_equal(outbox_pending(o), 0);
	outbox_free(o);
	spool_close(sp);
	snprintf(path, sizeof(path), "%s/acked", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/00000000000000000001.seg", dir);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(rmdir(dir), 0);
}

/* A record over what a server accepts (SRVMON_MAX_MESSAGE) is refused when submitted and
 * counted as dropped, so it never reaches a connection that would close on it (1009). */
static void test_oversized_record_refused(void **state)
{
	struct outbox *o = outbox_new("h", NULL, 10);
	size_t big = SRVMON_MAX_MESSAGE + 1;
	char *text = malloc(big + 3);
	struct record_text rec;
	struct outbox_stats st;
	cJSON *msg;

	(void)state;
	assert_non_null(o);
	assert_non_null(text);
	memset(text, 'x', big + 2);
	text[big + 2] = '\0';
	text[0] = '{';
	text[1] = '}';
	msg = cJSON_CreateObject();
	assert_non_null(msg);
	assert_non_null(cJSON_AddStringToObject(msg, "pad", text + 2));
	assert_int_equal(outbox_submit(o, msg), -EMSGSIZE);
	rec = (struct record_text){.text = "{\"a\":1}", .len = 7};
	assert_int_equal(outbox_submit_json(o, &rec, 1), 1); /* a small one still goes */
	text[big + 1] = '}';
	rec = (struct record_text){.text = text, .len = big + 2};
	assert_int_equal(outbox_submit_json(o, &rec, 1), -EMSGSIZE);
	outbox_stats(o, &st);
	assert_int_equal(st.dropped, 2);
	assert_int_equal(outbox_pending(o), 1);
	free(text);
	outbox_free(o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_seq_increases_and_fields_added),
		cmocka_unit_test(test_unacked_resent_after_reconnect_on_acking_server),
		cmocka_unit_test(test_welcome_expects_acks_before_the_first),
		cmocka_unit_test(test_never_acking_server_memory),
		cmocka_unit_test(test_never_acking_server_spool),
		cmocka_unit_test(test_never_acking_server_full_queue),
		cmocka_unit_test(test_full_queue_drops_oldest_and_counts),
		cmocka_unit_test(test_small_buffer_reports_size),
		cmocka_unit_test(test_seqstore_persists_and_never_reuses),
		cmocka_unit_test(test_seqstore_block_grows_in_a_burst),
		cmocka_unit_test(test_batch_memory),
		cmocka_unit_test(test_batch_spool),
		cmocka_unit_test(test_late_spool_takes_the_queue),
		cmocka_unit_test(test_oversized_record_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
