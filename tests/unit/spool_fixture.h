/* What the spool tests (test_spool.c, test_spool_accounting.c) share: a scratch spool
 * directory per test, appending numbered records, sending one. */
#ifndef SRVMON_TESTS_SPOOL_FIXTURE_H
#define SRVMON_TESTS_SPOOL_FIXTURE_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "spool.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[64];
static uint64_t clock_ms = 1000; /* write times given to spool_mark_sent */

static inline int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/srvmon-spool-XXXXXX");
	assert_non_null(mkdtemp(dir));
	return 0;
}

static inline int teardown(void **state)
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

static inline struct spool *open_spool(uint64_t max)
{
	struct spool_options opt = {
		.max_bytes = max, .fsync = SPOOL_FSYNC_INTERVAL, .fsync_interval_ms = 1000};
	struct spool *s = spool_open(dir, &opt);

	assert_non_null(s);
	return s;
}

static inline void append_n(struct spool *s, uint64_t from, uint64_t to, size_t pad)
{
	char text[4096];

	for (uint64_t q = from; q <= to; q++) {
		int n = snprintf(text, sizeof(text), "{\"seq\":%llu,\"pad\":\"%*s\"}",
				 (unsigned long long)q, (int)pad, "");

		assert_int_equal(spool_append(s, q, text, (size_t)n), 0);
	}
}

/* Peeks and marks sent one record; returns its seq, 0 when none. */
static inline uint64_t send_one(struct spool *s)
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
	spool_mark_sent(s, seq, clock_ms);
	return seq;
}

#endif
