#include "seqstore.h"

#include "log.h"
#include "monoclock.h"
#include "numparse.h"
#include "safedir.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define SEQ_NAME     "seq"
#define SEQ_TMP_NAME "seq.tmp"

struct seqstore {
	char path[PATH_MAX]; /* dir/seq, for messages */
	char dir[PATH_MAX];
	int dirfd; /* the state directory (user/lib/safedir.h), -1: not persistent */
	bool persistent;
	bool warned;
	uint64_t next;
	uint64_t reserved;   /* every seq < reserved is on disk as possibly used */
	uint64_t block;	     /* size of the next reservation */
	uint64_t reserve_ms; /* when the last one was written */
};

static int seqstore_read(struct seqstore *s, uint64_t *ret)
{
	char buf[32];
	ssize_t n;
	int fd;
	int r;

	fd = safedir_openat(s->dirfd, s->dir, SEQ_NAME, O_RDONLY, 0);
	if (fd < 0)
		return fd;
	errno = 0;
	n = read(fd, buf, sizeof(buf) - 1);
	r = -errno;
	close(fd);
	if (n < 0)
		return r;
	buf[n] = '\0';
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		buf[--n] = '\0';
	return parse_u64(buf, 1, UINT64_MAX - SEQSTORE_BLOCK_MAX, ret);
}

/* dir/seq.tmp (created exclusively, never through a symbolic link), fsync, renamed over
 * dir/seq, directory fsync: the reservation is on disk before any of its seqs is used. */
static int seqstore_write(struct seqstore *s, uint64_t reserved)
{
	char buf[32];
	int len;
	int fd;
	int r = 0;

	len = snprintf(buf, sizeof(buf), "%llu\n", (unsigned long long)reserved);
	fd = safedir_create_tmp(s->dirfd, s->dir, SEQ_TMP_NAME, 0600);
	if (fd < 0)
		return fd;
	if (write(fd, buf, (size_t)len) != len)
		r = errno ? -errno : -EIO;
	if (r == 0 && fsync(fd) < 0)
		r = -errno;
	if (close(fd) < 0 && r == 0)
		r = -errno;
	if (r == 0)
		r = safedir_rename(s->dirfd, SEQ_TMP_NAME, SEQ_NAME);
	if (r < 0)
		unlinkat(s->dirfd, SEQ_TMP_NAME, 0);
	return r;
}

static uint64_t realtime_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

struct seqstore *seqstore_open(const char *dir)
{
	struct seqstore *s;
	uint64_t stored = 1;
	int r;

	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->dirfd = -1;
	s->next = realtime_us();
	if (!dir || !*dir)
		goto volatile_seq;
	if (snprintf(s->dir, sizeof(s->dir), "%s", dir) >= (int)sizeof(s->dir) ||
	    snprintf(s->path, sizeof(s->path), "%s/" SEQ_NAME, dir) >= (int)sizeof(s->path)) {
		log_warn("state directory path '%s' too long, seq not persisted", dir);
		goto volatile_seq;
	}
	/* state_dir/<instance> and its parent are created on a first start. */
	r = safedir_open(dir, 0700);
	if (r < 0) {
		log_warn_errno(r, "cannot use the state directory '%s', seq not persisted", dir);
		goto volatile_seq;
	}
	s->dirfd = r;
	r = seqstore_read(s, &stored);
	if (r < 0 && r != -ENOENT) {
		/* A corrupt file must not restart numbering at 1: continue above the clock. */
		log_warn_errno(r, "cannot read '%s', continuing from the clock", s->path);
		stored = realtime_us();
	} else if (r == -ENOENT) {
		stored = 1;
	}
	s->next = stored;
	s->reserved = stored;
	s->persistent = true;
	return s;

volatile_seq:
	s->persistent = false;
	return s;
}

int seqstore_next(struct seqstore *s, uint64_t *ret)
{
	int r = 0;

	if (!s->persistent) {
		uint64_t now = realtime_us();

		if (now > s->next)
			s->next = now;
		*ret = s->next++;
		return 0;
	}
	if (s->next >= s->reserved) {
		uint64_t now = mono_ms(), want;

		/* A block used up within SEQSTORE_BLOCK_FAST_MS: a burst (an exec storm), so a
		 * larger one (one fsync + rename per block); back to SEQSTORE_BLOCK when calm. */
		if (s->block && s->reserve_ms && now - s->reserve_ms < SEQSTORE_BLOCK_FAST_MS)
			s->block = s->block * 2 > SEQSTORE_BLOCK_MAX ? SEQSTORE_BLOCK_MAX
								     : s->block * 2;
		else
			s->block = SEQSTORE_BLOCK;
		s->reserve_ms = now;
		want = s->next + s->block;

		r = seqstore_write(s, want);
		if (r < 0) {
			/* Unreserved numbers could be used again after a restart (the server
			 * keeps one record per seq): go on from the clock, as without a
			 * state directory. */
			uint64_t clock = realtime_us();

			if (clock > s->next)
				s->next = clock;
			/* A refusal (user/lib/safedir.h) stays until someone fixes it: stop trying. */
			if (r == -ELOOP || r == -EPERM || r == -EEXIST)
				s->persistent = false;
			if (!s->warned)
				log_warn_errno(r,
					       "cannot persist seq reservation to '%s', numbering "
					       "from the clock",
					       s->path);
			s->warned = true;
		} else {
			s->warned = false;
			s->reserved = want;
		}
	}
	*ret = s->next++;
	return r;
}

void seqstore_set_floor(struct seqstore *s, uint64_t floor)
{
	if (s->next >= floor)
		return;
	s->next = floor;
	if (s->reserved < floor)
		s->reserved = floor;
}

void seqstore_close(struct seqstore *s)
{
	if (!s)
		return;
	if (s->dirfd >= 0)
		close(s->dirfd);
	free(s);
}
