#include "spool.h"

#include "log.h"
#include "numparse.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define SPOOL_SEG_MIN	   (4 * 1024ull)
#define SPOOL_SEG_MAX	   (32ull * 1024 * 1024)
#define SPOOL_SEG_PER_MAX  8 /* segments in a full spool: the eviction granularity */
#define SPOOL_NAME_DIGITS  20
#define SPOOL_NAME_SUFFIX  ".seg"
#define SPOOL_MAX_NAME_LEN (SPOOL_NAME_DIGITS + sizeof(SPOOL_NAME_SUFFIX))

/* On-disk record header, host byte order (the spool never leaves the host). */
struct spool_hdr {
	uint32_t len; /* bytes of text that follow */
	uint32_t crc; /* CRC-32 of seq (8 bytes) then text */
	uint64_t seq;
};
_Static_assert(sizeof(struct spool_hdr) == 16, "spool record header is 16 bytes");

struct spool_seg {
	uint64_t first_seq;
	uint64_t bytes;
	int fd;
};

struct spool_pos {
	size_t seg;
	uint64_t off;
};

struct spool {
	int dirfd;
	int acked_fd;	       /* DIR/acked: the highest delivered seq, 8 bytes */
	uint64_t acked_seq;    /* highest delivered seq */
	uint64_t acked_stored; /* value last written to acked_fd */
	char *dir;
	struct spool_options opt;
	uint64_t seg_target;
	struct spool_seg *segs;
	size_t nsegs;
	size_t cap;
	uint64_t total_bytes;
	struct spool_pos send; /* next record to write to the connection */
	struct spool_pos dlv;  /* first record not delivered; dlv <= send */
	bool peeked;
	uint64_t peek_seq;
	uint64_t peek_next; /* offset after the peeked record, in send.seg */
	uint64_t n_unsent;
	uint64_t n_inflight;
	/* Sent but not acked when evicted: delivered if the ack comes, dropped on rewind. */
	uint64_t evicted_inflight;
	uint64_t evicted_inflight_hi; /* highest seq among them */
	uint64_t last_sync_ms;
	bool dirty;	      /* appended since the last fdatasync */
	bool dir_dirty;	      /* segment created or deleted since the last directory fsync */
	bool failing;	      /* the last append failed */
	bool fail_logged;     /* this failure streak was logged */
	uint64_t fail_log_ms; /* last time a write failure was logged: at most once a minute */
	struct spool_stats st;
};

static uint32_t crc_table[256];
static pthread_once_t crc_once = PTHREAD_ONCE_INIT;

static void crc_init(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;

		for (int k = 0; k < 8; k++)
			c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
		crc_table[i] = c;
	}
}

uint32_t spool_crc32(uint32_t crc, const void *buf, size_t len)
{
	const unsigned char *p = buf;

	pthread_once(&crc_once, crc_init);
	crc = ~crc;
	while (len--)
		crc = crc_table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return ~crc;
}

static uint32_t record_crc(uint64_t seq, const char *text, size_t len)
{
	return spool_crc32(spool_crc32(0, &seq, sizeof(seq)), text, len);
}

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void seg_name(uint64_t first_seq, char *buf, size_t len)
{
	(void)snprintf(buf, len, "%0*llu" SPOOL_NAME_SUFFIX, SPOOL_NAME_DIGITS,
		       (unsigned long long)first_seq);
}

/* Reads and checks the header at pos: 0, or -EBADMSG when it does not fit the segment. */
static int read_hdr(const struct spool *s, struct spool_pos p, struct spool_hdr *ret)
{
	const struct spool_seg *g = &s->segs[p.seg];
	ssize_t n;

	n = pread(g->fd, ret, sizeof(*ret), (off_t)p.off);
	if (n < 0)
		return -errno;
	if ((size_t)n < sizeof(*ret) || ret->len > g->bytes - p.off - sizeof(*ret))
		return -EBADMSG;
	return 0;
}

/* End of a segment and start of the next are the same place: use the latter. */
static void normalize(const struct spool *s, struct spool_pos *p)
{
	while (p->seg + 1 < s->nsegs && p->off >= s->segs[p->seg].bytes) {
		p->seg++;
		p->off = 0;
	}
}

static bool pos_before(const struct spool *s, struct spool_pos a, struct spool_pos b)
{
	normalize(s, &a);
	normalize(s, &b);
	return a.seg < b.seg || (a.seg == b.seg && a.off < b.off);
}

static int sync_dir(struct spool *s)
{
	if (!s->dir_dirty)
		return 0;
	if (fsync(s->dirfd) < 0)
		return -errno;
	s->dir_dirty = false;
	return 0;
}

int spool_sync(struct spool *s, int force)
{
	uint64_t now = mono_ms();
	int r = 0;

	if (s->acked_seq != s->acked_stored && s->acked_fd >= 0 &&
	    pwrite(s->acked_fd, &s->acked_seq, sizeof(s->acked_seq), 0) ==
		    (ssize_t)sizeof(s->acked_seq))
		s->acked_stored = s->acked_seq;
	if (!s->dirty && !s->dir_dirty)
		return 0;
	if (!force) {
		if (s->opt.fsync == SPOOL_FSYNC_NEVER)
			return 0;
		if (s->opt.fsync == SPOOL_FSYNC_INTERVAL &&
		    now - s->last_sync_ms < s->opt.fsync_interval_ms)
			return 0;
	}
	if (s->dirty && s->nsegs > 0 && fdatasync(s->segs[s->nsegs - 1].fd) < 0)
		r = -errno;
	if (r == 0)
		r = sync_dir(s);
	if (r == 0)
		s->dirty = false;
	s->last_sync_ms = now;
	return r;
}

/* Removes segment i (0 or the only one), moving the cursors onto what follows. */
static void seg_remove(struct spool *s, size_t i)
{
	char name[SPOOL_MAX_NAME_LEN];
	struct spool_seg *g = &s->segs[i];

	seg_name(g->first_seq, name, sizeof(name));
	close(g->fd);
	if (unlinkat(s->dirfd, name, 0) < 0)
		log_warn_errno(-errno, "cannot delete spool segment '%s/%s'", s->dir, name);
	s->dir_dirty = true;
	s->total_bytes -= g->bytes;
	memmove(&s->segs[i], &s->segs[i + 1], (s->nsegs - i - 1) * sizeof(*g));
	s->nsegs--;
	if (s->dlv.seg > i)
		s->dlv.seg--;
	else
		s->dlv = (struct spool_pos){0, 0};
	if (s->send.seg > i)
		s->send.seg--;
	else
		s->send = (struct spool_pos){0, 0};
	s->peeked = false;
}

/* Deletes segments that hold only delivered records. */
static void collect(struct spool *s)
{
	normalize(s, &s->dlv);
	while (s->nsegs > 1 && s->dlv.seg > 0) {
		seg_remove(s, 0);
		normalize(s, &s->dlv);
	}
	if (s->nsegs == 1 && s->dlv.off >= s->segs[0].bytes && s->send.off >= s->segs[0].bytes)
		seg_remove(s, 0);
}

/* Makes room: deletes the oldest segment, counting its undelivered records as dropped. */
static void evict_oldest(struct spool *s)
{
	struct spool_pos p = s->dlv;
	uint64_t inflight = 0, unsent = 0;
	struct spool_hdr h;

	normalize(s, &p);
	normalize(s, &s->send);
	if (p.seg == 0) {
		while (p.off < s->segs[0].bytes && read_hdr(s, p, &h) == 0) {
			/* A peeked record is being written to the socket right now. */
			if (s->send.seg > 0 || p.off < s->send.off ||
			    (s->peeked && p.off == s->send.off)) {
				inflight++;
				s->evicted_inflight_hi = h.seq;
			} else
				unsent++;
			p.off += sizeof(h) + h.len;
		}
	}
	s->n_inflight -= inflight < s->n_inflight ? inflight : s->n_inflight;
	s->n_unsent -= unsent < s->n_unsent ? unsent : s->n_unsent;
	s->evicted_inflight += inflight;
	s->st.dropped += unsent;
	seg_remove(s, 0);
}

/* Room for one more segment in the array. 0 or -ENOMEM. */
static int seg_reserve(struct spool *s)
{
	struct spool_seg *g;
	size_t cap;

	if (s->nsegs < s->cap)
		return 0;
	cap = s->cap ? s->cap * 2 : 16;
	g = realloc(s->segs, cap * sizeof(*g));
	if (!g)
		return -ENOMEM;
	s->segs = g;
	s->cap = cap;
	return 0;
}

static int seg_create(struct spool *s, uint64_t first_seq)
{
	char name[SPOOL_MAX_NAME_LEN];
	int fd;

	if (seg_reserve(s) < 0)
		return -ENOMEM;
	/* The previous segment is complete: make it durable before moving on. */
	if (s->nsegs > 0 && s->opt.fsync != SPOOL_FSYNC_NEVER && s->dirty)
		fdatasync(s->segs[s->nsegs - 1].fd);
	seg_name(first_seq, name, sizeof(name));
	fd = openat(s->dirfd, name, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	s->segs[s->nsegs++] = (struct spool_seg){.first_seq = first_seq, .bytes = 0, .fd = fd};
	s->dir_dirty = true;
	return 0;
}

static int append_fail(struct spool *s, int err)
{
	uint64_t now = mono_ms();

	s->st.failed++;
	if (!s->failing && (!s->fail_log_ms || now - s->fail_log_ms >= 60000)) {
		log_err_errno(err,
			      "cannot write to the spool '%s': records are dropped until it "
			      "is writable again",
			      s->dir);
		s->fail_log_ms = now;
		s->fail_logged = true;
	}
	s->failing = true;
	return err;
}

int spool_append(struct spool *s, uint64_t seq, const char *text, size_t len)
{
	uint64_t rec = sizeof(struct spool_hdr) + len;
	struct spool_hdr h = {.len = (uint32_t)len, .seq = seq};
	struct spool_seg *g;
	struct iovec iov[2];
	ssize_t n;
	int r;

	if (rec > s->opt.max_bytes / 2 || len > UINT32_MAX) {
		s->st.failed++;
		return -E2BIG;
	}
	while (s->nsegs > 0 && s->total_bytes + rec > s->opt.max_bytes)
		evict_oldest(s);
	if (s->nsegs == 0 || s->segs[s->nsegs - 1].bytes >= s->seg_target) {
		r = seg_create(s, seq);
		if (r < 0)
			return append_fail(s, r);
	}
	g = &s->segs[s->nsegs - 1];
	h.crc = record_crc(seq, text, len);
	iov[0] = (struct iovec){.iov_base = &h, .iov_len = sizeof(h)};
	iov[1] = (struct iovec){.iov_base = (void *)text, .iov_len = len};
	n = pwritev(g->fd, iov, 2, (off_t)g->bytes);
	if (n < 0 || (uint64_t)n != rec) {
		r = n < 0 ? -errno : -ENOSPC;
		/* Leave no partial record behind. */
		if (ftruncate(g->fd, (off_t)g->bytes) < 0)
			log_debug("cannot cut a partial spool record: %s", strerror(errno));
		return append_fail(s, r);
	}
	if (s->failing && s->fail_logged)
		log_info("the spool '%s' is writable again (%llu records could not be kept so "
			 "far)",
			 s->dir, (unsigned long long)s->st.failed);
	if (s->failing)
		s->fail_logged = false;
	s->failing = false;
	g->bytes += rec;
	s->total_bytes += rec;
	s->n_unsent++;
	s->st.last_seq = seq;
	s->dirty = true;
	if (s->opt.fsync == SPOOL_FSYNC_ALWAYS)
		spool_sync(s, 1);
	else
		spool_sync(s, 0);
	return 0;
}

int spool_peek(struct spool *s, char *buf, size_t len, size_t *ret_len, uint64_t *ret_seq)
{
	struct spool_hdr h;
	ssize_t n;
	int r;

	s->peeked = false;
	if (s->nsegs == 0)
		return 0;
	normalize(s, &s->send);
	if (s->send.off >= s->segs[s->send.seg].bytes)
		return 0;
	r = read_hdr(s, s->send, &h);
	if (r == 0) {
		*ret_len = h.len;
		*ret_seq = h.seq;
		if (h.len > len)
			return -ENOSPC;
		n = pread(s->segs[s->send.seg].fd, buf, h.len, (off_t)(s->send.off + sizeof(h)));
		if (n < 0)
			r = -errno;
		else if ((size_t)n != h.len || record_crc(h.seq, buf, h.len) != h.crc)
			r = -EBADMSG;
	}
	if (r < 0) {
		/* Damaged after it was written: skip the rest of this segment. */
		log_err_errno(r, "spool segment in '%s' is damaged at offset %llu; skipping it",
			      s->dir, (unsigned long long)s->send.off);
		s->segs[s->send.seg].bytes = s->send.off;
		s->n_unsent = s->n_unsent ? s->n_unsent - 1 : 0;
		s->st.dropped++;
		return -EIO;
	}
	s->peeked = true;
	s->peek_seq = h.seq;
	s->peek_next = s->send.off + sizeof(h) + h.len;
	return (int)h.len;
}

void spool_mark_sent(struct spool *s, uint64_t seq)
{
	if (!s->peeked || s->peek_seq != seq)
		return; /* evicted meanwhile */
	s->send.off = s->peek_next;
	s->peeked = false;
	if (s->n_unsent)
		s->n_unsent--;
	s->n_inflight++;
}

void spool_ack(struct spool *s, uint64_t seq)
{
	struct spool_hdr h;

	if (seq >= s->evicted_inflight_hi)
		s->evicted_inflight = 0;
	while (pos_before(s, s->dlv, s->send)) {
		normalize(s, &s->dlv);
		if (read_hdr(s, s->dlv, &h) < 0 || h.seq > seq)
			break;
		s->dlv.off += sizeof(h) + h.len;
		s->acked_seq = h.seq;
		if (s->n_inflight)
			s->n_inflight--;
	}
	collect(s);
}

void spool_rewind(struct spool *s)
{
	s->st.dropped += s->evicted_inflight;
	s->evicted_inflight = 0;
	s->send = s->dlv;
	s->n_unsent += s->n_inflight;
	s->n_inflight = 0;
	s->peeked = false;
}

void spool_commit_sent(struct spool *s)
{
	struct spool_hdr h;

	s->evicted_inflight = 0; /* written counts as delivered */
	/* The acked marker: the last record before the send cursor. */
	while (pos_before(s, s->dlv, s->send)) {
		normalize(s, &s->dlv);
		if (read_hdr(s, s->dlv, &h) < 0)
			break;
		s->dlv.off += sizeof(h) + h.len;
		s->acked_seq = h.seq;
	}
	s->dlv = s->send;
	s->n_inflight = 0;
	collect(s);
}

void spool_stats(const struct spool *s, struct spool_stats *ret)
{
	*ret = s->st;
	ret->records = s->n_unsent + s->n_inflight;
	ret->unsent = s->n_unsent;
	ret->bytes = s->total_bytes;
}

/* Checks a segment's records, cuts a torn or corrupt tail; returns records kept. */
static uint64_t seg_scan(struct spool *s, struct spool_seg *g, const char *name)
{
	struct spool_pos p = {.seg = (size_t)(g - s->segs), .off = 0};
	struct spool_hdr h;
	uint64_t count = 0;
	char *buf = NULL;
	size_t cap = 0;

	while (p.off < g->bytes) {
		if (read_hdr(s, p, &h) < 0)
			break;
		if (h.len > cap) {
			char *nb = realloc(buf, h.len);

			if (!nb)
				break;
			buf = nb;
			cap = h.len;
		}
		if (pread(g->fd, buf, h.len, (off_t)(p.off + sizeof(h))) != (ssize_t)h.len ||
		    record_crc(h.seq, buf, h.len) != h.crc)
			break;
		if (h.seq > s->st.last_seq)
			s->st.last_seq = h.seq;
		p.off += sizeof(h) + h.len;
		count++;
	}
	free(buf);
	if (p.off < g->bytes) {
		log_warn("spool segment '%s/%s': %llu bytes after the last whole record "
			 "(interrupted write or damage), cutting them off",
			 s->dir, name, (unsigned long long)(g->bytes - p.off));
		if (ftruncate(g->fd, (off_t)p.off) < 0)
			log_warn_errno(-errno, "cannot truncate '%s/%s'", s->dir, name);
		g->bytes = p.off;
	}
	return count;
}

/* Moves both cursors past the records the acked marker says were delivered. */
static void skip_delivered(struct spool *s)
{
	struct spool_hdr h;
	uint64_t n = 0;

	for (;;) {
		normalize(s, &s->dlv);
		if (s->nsegs == 0 || s->dlv.off >= s->segs[s->dlv.seg].bytes ||
		    read_hdr(s, s->dlv, &h) < 0 || h.seq > s->acked_seq)
			break;
		s->dlv.off += sizeof(h) + h.len;
		n++;
	}
	s->send = s->dlv;
	s->n_unsent -= n;
	s->st.recovered -= n;
	collect(s);
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool is_seg_name(const char *name, uint64_t *ret_seq)
{
	char digits[SPOOL_NAME_DIGITS + 1];

	if (strlen(name) != SPOOL_NAME_DIGITS + strlen(SPOOL_NAME_SUFFIX) ||
	    strcmp(name + SPOOL_NAME_DIGITS, SPOOL_NAME_SUFFIX) != 0)
		return false;
	memcpy(digits, name, SPOOL_NAME_DIGITS);
	digits[SPOOL_NAME_DIGITS] = '\0';
	return parse_u64(digits, 0, UINT64_MAX, ret_seq) == 0;
}

/* Loads the segments found in the directory, oldest (lowest first seq) first. */
static int load_existing(struct spool *s)
{
	char **names = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	DIR *d;
	int fd, r = 0;

	fd = openat(s->dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	d = fdopendir(fd);
	if (!d) {
		r = -errno;
		close(fd);
		return r;
	}
	while ((de = readdir(d))) {
		uint64_t seq;

		if (!is_seg_name(de->d_name, &seq))
			continue;
		if (n == cap) {
			char **nn = realloc(names, (cap ? cap * 2 : 16) * sizeof(*names));

			if (!nn) {
				r = -ENOMEM;
				goto out;
			}
			names = nn;
			cap = cap ? cap * 2 : 16;
		}
		names[n] = strdup(de->d_name);
		if (!names[n]) {
			r = -ENOMEM;
			goto out;
		}
		n++;
	}
	if (n > 1)
		qsort(names, n, sizeof(*names), name_cmp);
	for (size_t i = 0; i < n; i++) {
		struct stat stt;
		uint64_t first, count;
		int sfd;

		is_seg_name(names[i], &first);
		sfd = openat(s->dirfd, names[i], O_RDWR | O_CLOEXEC);
		if (sfd < 0 || fstat(sfd, &stt) < 0) {
			r = -errno;
			if (sfd >= 0)
				close(sfd);
			goto out;
		}
		r = seg_reserve(s);
		if (r < 0) {
			close(sfd);
			goto out;
		}
		s->segs[s->nsegs++] = (struct spool_seg){
			.first_seq = first, .bytes = (uint64_t)stt.st_size, .fd = sfd};
		count = seg_scan(s, &s->segs[s->nsegs - 1], names[i]);
		if (count == 0) {
			seg_remove(s, s->nsegs - 1);
			continue;
		}
		s->total_bytes += s->segs[s->nsegs - 1].bytes;
		s->st.recovered += count;
	}
	s->n_unsent = s->st.recovered;
	skip_delivered(s);
out:
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	closedir(d);
	return r;
}

/* Creates dir, and its parent when that is missing too (state_dir on a first start). */
static int make_dir(const char *dir)
{
	char *parent, *slash;
	int r = 0;

	if (mkdir(dir, 0700) == 0 || errno == EEXIST)
		return 0;
	if (errno != ENOENT)
		return -errno;
	parent = strdup(dir);
	if (!parent)
		return -ENOMEM;
	slash = strrchr(parent, '/');
	if (slash && slash != parent) {
		*slash = '\0';
		if (mkdir(parent, 0700) < 0 && errno != EEXIST)
			r = -errno;
	}
	free(parent);
	if (r == 0 && mkdir(dir, 0700) < 0 && errno != EEXIST)
		r = -errno;
	return r;
}

struct spool *spool_open(const char *dir, const struct spool_options *opt)
{
	struct spool *s;
	int r;

	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->dirfd = -1;
	s->acked_fd = -1;
	s->opt = *opt;
	s->dir = strdup(dir);
	if (!s->dir) {
		r = -ENOMEM;
		goto fail;
	}
	s->seg_target = opt->max_bytes / SPOOL_SEG_PER_MAX;
	if (s->seg_target < SPOOL_SEG_MIN)
		s->seg_target = SPOOL_SEG_MIN;
	if (s->seg_target > SPOOL_SEG_MAX)
		s->seg_target = SPOOL_SEG_MAX;
	r = make_dir(dir);
	if (r < 0)
		goto fail;
	s->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (s->dirfd < 0) {
		r = -errno;
		goto fail;
	}
	s->acked_fd = openat(s->dirfd, "acked", O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (s->acked_fd < 0) {
		r = -errno;
		goto fail;
	}
	if (pread(s->acked_fd, &s->acked_seq, sizeof(s->acked_seq), 0) !=
	    (ssize_t)sizeof(s->acked_seq))
		s->acked_seq = 0;
	s->acked_stored = s->acked_seq;
	r = load_existing(s);
	if (r < 0)
		goto fail;
	s->last_sync_ms = mono_ms();
	return s;
fail:
	spool_close(s);
	errno = -r;
	return NULL;
}

void spool_close(struct spool *s)
{
	if (!s)
		return;
	spool_sync(s, 1);
	for (size_t i = 0; i < s->nsegs; i++)
		close(s->segs[i].fd);
	if (s->acked_fd >= 0)
		close(s->acked_fd);
	if (s->dirfd >= 0)
		close(s->dirfd);
	free(s->segs);
	free(s->dir);
	free(s);
}
