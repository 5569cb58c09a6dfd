/* The on-disk spool: order, acks, replay after a restart, torn tails, eviction, the record
 * format and its checksums. The delivery accounting: test_spool_accounting.c. */
#include "spool_fixture.h"

#include "crc32c.h"

static void test_crc32(void **state)
{
	(void)state;
	/* The standard check value of CRC-32/ISO-HDLC. */
	assert_int_equal(spool_crc32(0, "123456789", 9), 0xcbf43926u);
	/* CRC-32C's (Castagnoli), on the CPU's instruction when there is one, and chained. */
	assert_int_equal(crc32c(0, "123456789", 9), 0xe3069283u);
	assert_int_equal(crc32c(crc32c(0, "1234", 4), "56789", 5), 0xe3069283u);
	for (size_t n = 0; n < 40; n++) {
		static const char text[] = "the quick brown fox jumps over the lazy dog";
		uint32_t bitwise = ~0u;

		for (size_t i = 0; i < n; i++) {
			bitwise ^= (unsigned char)text[i];
			for (int k = 0; k < 8; k++)
				bitwise = (bitwise >> 1) ^ (0x82f63b78u & (0u - (bitwise & 1u)));
		}
		assert_int_equal(crc32c(0, text, n), ~bitwise);
	}
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
	assert_int_equal(st.dropped, 0);
	spool_close(s);
}

/* The one segment file, its inode, and how many .seg files there are. */
static int seg_files(char *ret_path, size_t len, ino_t *ret_ino)
{
	struct dirent *de;
	struct stat stt;
	int n = 0;
	DIR *d;

	d = opendir(dir);
	assert_non_null(d);
	while ((de = readdir(d))) {
		if (!strstr(de->d_name, ".seg"))
			continue;
		snprintf(ret_path, len, "%s/%s", dir, de->d_name);
		n++;
	}
	closedir(d);
	if (n == 1 && ret_ino) {
		assert_int_equal(stat(ret_path, &stt), 0);
		*ret_ino = stt.st_ino;
	}
	return n;
}

/* An emptied spool keeps its last segment and starts it over once it is full, instead
 * of deleting and creating a file every time it drains. */
static void test_empty_segment_reused(void **state)
{
	struct spool *s = open_spool(65536); /* segments of 8 KiB */
	struct spool_stats st;
	char path[512];
	ino_t ino0 = 0, ino;

	(void)state;
	for (uint64_t q = 1; q <= 400; q++) {
		append_n(s, q, q, 100);
		assert_int_equal(send_one(s), q);
		spool_ack(s, q);
		assert_int_equal(seg_files(path, sizeof(path), &ino), 1);
		if (!ino0)
			ino0 = ino;
		assert_true(ino == ino0);
	}
	spool_stats(s, &st);
	assert_int_equal(st.records, 0);
	assert_true(st.bytes <= 8192 + 200); /* truncated when full, not growing */
	spool_close(s);
	/* Reopened: nothing to replay (the acked marker covers what is in the file). */
	s = open_spool(65536);
	spool_stats(s, &st);
	assert_int_equal(st.recovered, 0);
	assert_int_equal(send_one(s), 0);
	append_n(s, 401, 401, 10);
	assert_int_equal(send_one(s), 401);
	spool_close(s);
}

static void make_recs(struct spool_rec *recs, char (*texts)[64], uint64_t from, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int len = snprintf(texts[i], sizeof(texts[i]), "{\"seq\":%llu}",
				   (unsigned long long)(from + i));

		recs[i] = (struct spool_rec){.seq = from + i, .text = texts[i], .len = (size_t)len};
	}
}

/*
 * One append of many records; a batch peek returns them joined by ',' from the
 * in-memory tail (the file is damaged behind the spool's back and the batch is
 * still right); after a restart the file is read and its damage cut off.
 */
static void test_many_from_memory_then_file(void **state)
{
	static struct spool_rec recs[300];
	static char texts[300][64];
	static char buf[65536];
	struct spool_stats st;
	char path[512], expect[64];
	size_t need = 0, n = 0;
	uint64_t seq = 0;
	struct spool *s = open_spool(1 << 20);
	int len, fd;

	(void)state;
	make_recs(recs, texts, 1, 300);
	assert_int_equal(spool_append_many(s, recs, 300), 300);
	assert_int_equal(seg_files(path, sizeof(path), NULL), 1);
	/* Overwrite record 100's text in the file: a read of the file would see it. */
	fd = open(path, O_WRONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	/* Records 1..9 are 16 + 9 bytes, 10..99 16 + 10. */
	assert_int_equal(pwrite(fd, "XX", 2, 9 * 25 + 90 * 26 + 16 + 2), 2);
	close(fd);
	len = spool_peek_many(s, buf, sizeof(buf), 1000, &need, &seq, &n);
	assert_true(len > 0);
	assert_int_equal(n, 300);
	assert_int_equal(seq, 300);
	assert_int_equal((size_t)len, need);
	assert_memory_equal(buf, "{\"seq\":1},{\"seq\":2},", 20);
	assert_non_null(strstr(buf, ",{\"seq\":100},{\"seq\":101},"));
	assert_memory_equal(buf + len - 11, "{\"seq\":300}", 11);
	spool_mark_sent(s, seq, clock_ms);
	spool_ack(s, 50);
	spool_stats(s, &st);
	assert_int_equal(st.records, 250);
	assert_int_equal(st.unsent, 0);
	/* Restart: 51..99 replayed from the file, the damaged record 100 and after cut. */
	spool_close(s);
	s = open_spool(1 << 20);
	spool_stats(s, &st);
	assert_int_equal(st.recovered, 49);
	len = spool_peek_many(s, buf, sizeof(buf), 1000, &need, &seq, &n);
	assert_int_equal(n, 49);
	assert_int_equal(seq, 99);
	snprintf(expect, sizeof(expect), "{\"seq\":51},");
	assert_memory_equal(buf, expect, strlen(expect));
	spool_mark_sent(s, seq, clock_ms);
	spool_close(s);
}

/* A multi-record append torn by a crash: the whole records before the tear are kept,
 * the partial one is cut, appending continues after it. */
static void test_torn_multi_append(void **state)
{
	static struct spool_rec recs[50];
	static char texts[50][64];
	struct spool_stats st;
	struct spool *s = open_spool(1 << 20);
	char path[512];
	uint64_t q;

	(void)state;
	make_recs(recs, texts, 1, 50);
	assert_int_equal(spool_append_many(s, recs, 50), 50);
	spool_close(s);
	assert_int_equal(seg_files(path, sizeof(path), NULL), 1);
	/* Records 1..9 are 25 bytes, 10..50 26: cut inside record 30. */
	assert_int_equal(truncate(path, 9 * 25 + 20 * 26 + 10), 0);
	s = open_spool(1 << 20);
	spool_stats(s, &st);
	assert_int_equal(st.recovered, 29);
	assert_int_equal(st.last_seq, 29);
	for (q = 1; q <= 29; q++)
		assert_int_equal(send_one(s), q);
	assert_int_equal(send_one(s), 0);
	make_recs(recs, texts, 30, 5);
	assert_int_equal(spool_append_many(s, recs, 5), 5);
	for (q = 30; q <= 34; q++)
		assert_int_equal(send_one(s), q);
	spool_close(s);
}

/* More undelivered bytes than the in-memory tail holds: the older part comes from the
 * file, in order, nothing lost or repeated, from one segment into the next. */
static void test_tail_bound(void **state)
{
	struct spool *s = open_spool(64ull << 20); /* segments of 8 MiB */
	static char buf[1 << 20];
	uint64_t next = 1, seq = 0;
	size_t need = 0, n = 0;
	int len;

	(void)state;
	append_n(s, 1, 6000, 2000); /* ~12 MiB: two segments, over the 4 MiB tail */
	for (;;) {
		char *p = buf;

		len = spool_peek_many(s, buf, sizeof(buf), 1000, &need, &seq, &n);
		assert_true(len >= 0);
		if (len == 0)
			break;
		for (size_t i = 0; i < n; i++) {
			char want[32];

			snprintf(want, sizeof(want), "{\"seq\":%llu,", (unsigned long long)next);
			assert_memory_equal(p, want, strlen(want));
			p = memchr(p, '}', (size_t)(buf + len - p));
			assert_non_null(p);
			p += 2; /* "}," */
			next++;
		}
		assert_int_equal(seq, next - 1);
		spool_mark_sent(s, seq, clock_ms);
		spool_ack(s, seq);
	}
	assert_int_equal(next, 6001);
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

/* Segments written with CRC-32 (before CRC-32C) are read as they are; a wrong checksum
 * under either ends the segment there. */
static void test_old_crc_accepted(void **state)
{
	char path[512], text[64];
	struct spool_stats st;
	struct spool *s;
	FILE *f;

	(void)state;
	snprintf(path, sizeof(path), "%s/00000000000000000001.seg", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	for (uint64_t q = 1; q <= 4; q++) {
		int n = snprintf(text, sizeof(text), "{\"seq\":%llu}", (unsigned long long)q);
		uint32_t hdr[2] = {(uint32_t)n,
				   spool_crc32(spool_crc32(0, &q, 8), text, (size_t)n)};

		if (q == 4)
			hdr[1] ^= 1; /* damaged */
		assert_int_equal(fwrite(hdr, sizeof(hdr), 1, f), 1);
		assert_int_equal(fwrite(&q, sizeof(q), 1, f), 1);
		assert_int_equal(fwrite(text, (size_t)n, 1, f), 1);
	}
	assert_int_equal(fclose(f), 0);
	s = open_spool(1 << 20);
	spool_stats(s, &st);
	assert_int_equal(st.recovered, 3);
	for (uint64_t q = 1; q <= 3; q++)
		assert_int_equal(send_one(s), q);
	assert_int_equal(send_one(s), 0);
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
		cmocka_unit_test_setup_teardown(test_too_big, setup, teardown),
		cmocka_unit_test_setup_teardown(test_empty_segment_reused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_many_from_memory_then_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_torn_multi_append, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tail_bound, setup, teardown),
		cmocka_unit_test_setup_teardown(test_old_crc_accepted, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
