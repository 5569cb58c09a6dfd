/* The on-disk spool: order, acks, replay after a restart, torn tails, eviction. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "spool.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dir[64];

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/srvmon-spool-XXXXXX");
	assert_non_null(mkdtemp(dir));
	return 0;
}

static int teardown(void **state)
{
	struct dirent *de;
	DIR *d = opendir(dir);

	(void)state;
	while (d && (de = readdir(d))) {
		char p[512];

		if (de->d_name[0] == '.')
			continue;
		snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
		unlink(p);
	}
	if (d)
		closedir(d);
	rmdir(dir);
	return 0;
}

static struct spool *open_spool(uint64_t max)
{
	struct spool_options opt = {
		.max_bytes = max, .fsync = SPOOL_FSYNC_INTERVAL, .fsync_interval_ms = 1000};
	struct spool *s = spool_open(dir, &opt);

	assert_non_null(s);
	return s;
}

static void append_n(struct spool *s, uint64_t from, uint64_t to, size_t pad)
{
	char text[4096];

	for (uint64_t q = from; q <= to; q++) {
		int n = snprintf(text, sizeof(text), "{\"seq\":%llu,\"pad\":\"%*s\"}",
				 (unsigned long long)q, (int)pad, "");

		assert_int_equal(spool_append(s, q, text, (size_t)n), 0);
	}
}

/* Peeks and marks sent one record; returns its seq, 0 when none. */
static uint64_t send_one(struct spool *s)
{
	char buf[4096];
	uint64_t seq = 0;
	size_t need = 0;
	int n;

	n = spool_peek(s, buf, sizeof(buf), &need, &seq);
	assert_true(n >= 0);
	if (n == 0)
		return 0;
	assert_int_equal((size_t)n, need);
	assert_non_null(strstr(buf, "\"seq\":"));
	spool_mark_sent(s, seq);
	return seq;
}

static void test_crc32(void **state)
{
	(void)state;
	/* The standard check value of CRC-32/ISO-HDLC. */
	assert_int_equal(spool_crc32(0, "123456789", 9), 0xcbf43926u);
}

static void test_order_ack_rewind(void **state)
{
	struct spool *s = open_spool(1 << 20);
	struct spool_stats st;

	(void)state;
	append_n(s, 1, 100, 10);
	for (uint64_t q = 1; q <= 100; q++)
		assert_int_equal(send_one(s), q);
	assert_int_equal(send_one(s), 0);
	spool_ack(s, 50);
	spool_stats(s, &st);
	assert_int_equal(st.records, 50);
	assert_int_equal(st.unsent, 0);
	/* Connection lost: 51..100 go out again, in order, ahead of new records. */
	spool_rewind(s);
	append_n(s, 101, 105, 10);
	for (uint64_t q = 51; q <= 105; q++)
		assert_int_equal(send_one(s), q);
	spool_ack(s, 105);
	spool_stats(s, &st);
	assert_int_equal(st.records, 0);
	assert_int_equal(st.bytes, 0); /* delivered segments are deleted */
	assert_int_equal(st.dropped, 0);
	spool_close(s);
}

static void test_reopen_replays(void **state)
{
	struct spool *s = open_spool(1 << 20);
	struct spool_stats st;
	uint64_t q, prev = 0;

	(void)state;
	append_n(s, 1000, 1999, 100);
	for (q = 1000; q < 1500; q++)
		send_one(s);
	spool_ack(s, 1499);
	/* No close: a killed process leaves its fds to the kernel; reopen from scratch. */
	spool_close(s);
	s = open_spool(1 << 20);
	spool_stats(s, &st);
	/* The acked marker (written at close, or by spool_sync every second) skips 1000..1499. */
	assert_int_equal(st.recovered, 500);
	assert_int_equal(st.last_seq, 1999);
	assert_int_equal(send_one(s), 1500);
	prev = 1500;
	for (;;) {
		q = send_one(s);
		if (!q)
			break;
		assert_int_equal(q, prev + 1);
		prev = q;
	}
	assert_int_equal(prev, 1999);
	spool_close(s);
}

static void test_torn_tail_cut(void **state)
{
	struct spool *s = open_spool(1 << 20);
	struct spool_stats st;
	struct dirent *de;
	char path[512] = "";
	DIR *d;
	int fd;

	(void)state;
	append_n(s, 1, 10, 10);
	spool_close(s);
	d = opendir(dir);
	while ((de = readdir(d))) {
		if (strstr(de->d_name, ".seg"))
			snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
	}
	closedir(d);
	assert_true(path[0]);
	/* A record cut short by a crash: a header promising more than is there. */
	fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(
		write(fd, "\x40\x00\x00\x00\x01\x02\x03\x04\x0b\x00\x00\x00\x00\x00\x00\x00{\"x",
		      19),
		19);
	close(fd);
	s = open_spool(1 << 20);
	spool_stats(s, &st);
	assert_int_equal(st.recovered, 10);
	for (uint64_t q = 1; q <= 10; q++)
		assert_int_equal(send_one(s), q);
	assert_int_equal(send_one(s), 0);
	/* And it keeps appending after the cut. */
	append_n(s, 11, 11, 1);
	assert_int_equal(send_one(s), 11);
	spool_close(s);
}

static void test_full_drops_oldest(void **state)
{
	struct spool *s = open_spool(65536);
	struct spool_stats st;
	uint64_t q, first = 0, prev = 0, n = 0;

	(void)state;
	append_n(s, 1, 400, 1000); /* ~400 KB into 64 KiB */
	spool_stats(s, &st);
	assert_true(st.bytes <= 65536);
	assert_true(st.dropped > 0);
	assert_int_equal(st.dropped + st.records, 400);
	for (;;) {
		q = send_one(s);
		if (!q)
			break;
		if (!first)
			first = q;
		assert_true(q > prev);
		prev = q;
		n++;
	}
	/* The newest are kept, contiguous, the oldest dropped. */
	assert_int_equal(prev, 400);
	assert_int_equal(n, st.records);
	assert_int_equal(first, 400 - n + 1);
	spool_close(s);
}

static void test_commit_sent(void **state)
{
	struct spool *s = open_spool(1 << 20);
	struct spool_stats st;

	(void)state;
	append_n(s, 1, 20, 10);
	for (int i = 0; i < 15; i++)
		send_one(s);
	/* A server that never acks: written counts as delivered. */
	spool_commit_sent(s);
	spool_rewind(s);
	spool_stats(s, &st);
	assert_int_equal(st.records, 5);
	assert_int_equal(send_one(s), 16);
	spool_close(s);
}

static void test_too_big(void **state)
{
	struct spool *s = open_spool(65536);
	static char big[40000];
	struct spool_stats st;

	(void)state;
	memset(big, 'x', sizeof(big));
	assert_int_equal(spool_append(s, 1, big, sizeof(big)), -E2BIG);
	spool_stats(s, &st);
	assert_int_equal(st.failed, 1);
	assert_int_equal(st.records, 0);
	spool_close(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_crc32),
		cmocka_unit_test_setup_teardown(test_order_ack_rewind, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reopen_replays, setup, teardown),
		cmocka_unit_test_setup_teardown(test_torn_tail_cut, setup, teardown),
		cmocka_unit_test_setup_teardown(test_full_drops_oldest, setup, teardown),
		cmocka_unit_test_setup_teardown(test_commit_sent, setup, teardown),
		cmocka_unit_test_setup_teardown(test_too_big, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
