#include "spool.h"

#include "crc32c.h"
#include "log.h"
#include "monoclock.h"
#include "numparse.h"
#include "safedir.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>
#include <zlib.h>

#define SPOOL_SEG_MIN	   (4 * 1024ull)
#define SPOOL_SEG_MAX	   (32ull * 1024 * 1024)
#define SPOOL_SEG_PER_MAX  8 /* segments in a full spool: the eviction granularity */
#define SPOOL_NAME_DIGITS  20
#define SPOOL_NAME_SUFFIX  ".seg"
#define SPOOL_MAX_NAME_LEN (SPOOL_NAME_DIGITS + sizeof(SPOOL_NAME_SUFFIX))
#define SPOOL_TAIL_MAX	   ((size_t)4 * 1024 * 1024) /* in-memory copy of the unread tail */
#define SPOOL_IOV_RECS	   256 /* records per pwritev (2 iovecs each, under IOV_MAX) */

/* On-disk record header, host byte order (the spool never leaves the host). */
struct spool_hdr {
	uint32_t len; /* bytes of text that follow */
	uint32_t crc; /* CRC-32C (or CRC-32, both accepted) of seq (8 bytes) then text */
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

/* The records up to seq (those before it not yet settled) were written at ms. */
struct spool_mark {
	uint64_t seq;
	uint64_t ms;
};

/* Consecutive seqs [lo, hi], written to the connection and evicted before their ack. */
struct spool_range {
	uint64_t lo;
	uint64_t hi;
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
	uint64_t peek_seq;  /* seq of the last record peeked */
	uint64_t peek_n;    /* records peeked */
	uint64_t peek_next; /* offset after the last peeked record, in send.seg */
	/*
	 * A copy of the last segment's bytes [tail_off, tail_off + tail_len), kept as
	 * they are appended, so that sending and acking do not read back what was just
	 * written. Bounded by SPOOL_TAIL_MAX: what is older (or was there at open) is
	 * read from the file.
	 */
	char *tail;
	size_t tail_len;
	size_t tail_cap;
	uint64_t tail_off;
	uint64_t tail_seg; /* first_seq of the segment it belongs to */
	bool tail_valid;
	struct spool_hdr wr_hdr[SPOOL_IOV_RECS];
	struct iovec wr_iov[2 * SPOOL_IOV_RECS];
	uint64_t n_unsent;
	uint64_t n_inflight;
	/*
	 * Sent but not acked when evicted: delivered when an ack covers them, dropped on
	 * rewind. Kept by seq, in order, so that an ack forgives exactly those it covers.
	 */
	struct spool_range *gone;
	size_t ngone;
	size_t gone_cap;
	/*
	 * Written on this connection and not yet acked or settled: when each frame was
	 * written, in seq order (ms never decreasing), so that a server that never acks
	 * can have them settled once its grace has passed (spool_settle).
	 */
	struct spool_mark *marks;
	size_t nmarks;
	size_t marks_cap;
	uint64_t last_sync_ms;
	bool dirty;	      /* appended since the last fdatasync */
	bool dir_dirty;	      /* segment created or deleted since the last directory fsync */
	bool failing;	      /* the last append failed */
	bool fail_logged;     /* this failure streak was logged */
	uint64_t fail_log_ms; /* last time a write failure was logged: at most once a minute */
	struct spool_stats st;
};

uint32_t spool_crc32(uint32_t crc, const void *buf, size_t len)
{
	const unsigned char *p = buf;

	/* zlib's crc32() is the same CRC-32 (IEEE, reflected), computed several bytes at a
	 * time; it takes uInt lengths. */
	while (len > 0) {
		uInt n = len > UINT_MAX ? UINT_MAX : (uInt)len;

		crc = (uint32_t)crc32(crc, p, n);
		p += n;
		len -= n;
	}
	return crc;
}

/* CRC-32 (IEEE) of seq then text: what every record had before CRC-32C. */
static uint32_t record_crc32(uint64_t seq, const char *text, size_t len)
{
	return spool_crc32(spool_crc32(0, &seq, sizeof(seq)), text, len);
}

static uint32_t record_crc32c(uint64_t seq, const char *text, size_t len)
{
	return crc32c(crc32c(0, &seq, sizeof(seq)), text, len);
}

/* The checksum a new record gets: CRC-32C when the CPU computes it, else CRC-32. */
static uint32_t record_crc(uint64_t seq, const char *text, size_t len)
{
	return crc32c_fast() ? record_crc32c(seq, text, len) : record_crc32(seq, text, len);
}

/* Either checksum is accepted: the spool may come from an agent that wrote the other. */
static bool record_crc_ok(const struct spool_hdr *h, const char *text)
{
	return record_crc(h->seq, text, h->len) == h->crc ||
	       (crc32c_fast() ? record_crc32(h->seq, text, h->len)
			      : record_crc32c(h->seq, text, h->len)) == h->crc;
}

static void seg_name(uint64_t first_seq, char *buf, size_t len)
{
	(void)snprintf(buf, len, "%0*llu" SPOOL_NAME_SUFFIX, SPOOL_NAME_DIGITS,
		       (unsigned long long)first_seq);
}

static void normalize(const struct spool *s, struct spool_pos *p);

/* The in-memory copy of len bytes at p, or NULL when they are only in the file. */
static const char *tail_at(const struct spool *s, struct spool_pos p, uint64_t len)
{
	if (!s->tail_valid || p.seg + 1 != s->nsegs || s->segs[p.seg].first_seq != s->tail_seg ||
	    p.off < s->tail_off || p.off - s->tail_off + len > s->tail_len)
		return NULL;
	return s->tail + (p.off - s->tail_off);
}

/* Reads len bytes at p, from memory when the tail holds them. Bytes read or -errno. */
static ssize_t read_at(const struct spool *s, struct spool_pos p, void *buf, size_t len)
{
	const char *m = tail_at(s, p, len);
	ssize_t n;

	if (m) {
		memcpy(buf, m, len);
		return (ssize_t)len;
	}
	n = pread(s->segs[p.seg].fd, buf, len, (off_t)p.off);
	return n < 0 ? -errno : n;
}

/* Appends bytes written at off of the last segment to the in-memory tail. */
static void tail_add(struct spool *s, uint64_t off, const struct iovec *iov, size_t niov,
		     uint64_t bytes)
{
	const struct spool_seg *g = &s->segs[s->nsegs - 1];
	struct spool_pos d = s->dlv;
	size_t need;

	if (!s->tail_valid || s->tail_seg != g->first_seq || s->tail_off + s->tail_len != off) {
		s->tail_valid = true;
		s->tail_seg = g->first_seq;
		s->tail_off = off;
		s->tail_len = 0;
	}
	need = s->tail_len + (size_t)bytes;
	if (need > s->tail_cap) {
		/* Drop what is delivered first: it is never read again. */
		normalize(s, &d);
		if (d.seg + 1 == s->nsegs && d.off > s->tail_off) {
			uint64_t drop = d.off - s->tail_off;

			if (drop > s->tail_len)
				drop = s->tail_len;
			memmove(s->tail, s->tail + drop, s->tail_len - (size_t)drop);
			s->tail_len -= (size_t)drop;
			s->tail_off += drop;
			need = s->tail_len + (size_t)bytes;
		}
	}
	if (need > SPOOL_TAIL_MAX || need > s->opt.max_bytes) {
		/* Too much undelivered: the older part is read from the file. */
		s->tail_off = off;
		s->tail_len = 0;
		need = (size_t)bytes;
		if (need > SPOOL_TAIL_MAX) {
			s->tail_off = off + bytes;
			return;
		}
	}
	if (need > s->tail_cap) {
		size_t cap = s->tail_cap ? s->tail_cap : (size_t)64 * 1024;
		char *t;

		while (cap < need)
			cap *= 2;
		if (cap > SPOOL_TAIL_MAX)
			cap = SPOOL_TAIL_MAX;
		t = realloc(s->tail, cap);
		if (!t) {
			s->tail_valid = false;
			return;
		}
		s->tail = t;
		s->tail_cap = cap;
	}
	for (size_t i = 0; i < niov; i++) {
		memcpy(s->tail + s->tail_len, iov[i].iov_base, iov[i].iov_len);
		s->tail_len += iov[i].iov_len;
	}
}

/* Reads and checks the header at pos: 0, or -EBADMSG when it does not fit the segment. */
static int read_hdr(const struct spool *s, struct spool_pos p, struct spool_hdr *ret)
{
	const struct spool_seg *g = &s->segs[p.seg];
	ssize_t n;

	n = read_at(s, p, ret, sizeof(*ret));
	if (n < 0)
		return (int)n;
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

/* fdatasync of the segment being written, when the policy says one is due (or force). */
static int sync_data(struct spool *s, int force)
{
	uint64_t now = mono_ms();
	int r = 0;

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

int spool_sync(struct spool *s, int force)
{
	/* The acked marker only saves resending delivered records after a crash (the
	 * server deduplicates them): written here, on the tick, not on every append. */
	if (s->acked_seq != s->acked_stored && s->acked_fd >= 0 &&
	    pwrite(s->acked_fd, &s->acked_seq, sizeof(s->acked_seq), 0) ==
		    (ssize_t)sizeof(s->acked_seq))
		s->acked_stored = s->acked_seq;
	return sync_data(s, force);
}

/* Removes segment i (0 or the only one), moving the cursors onto what follows. */
static void seg_remove(struct spool *s, size_t i)
{
	char name[SPOOL_MAX_NAME_LEN];
	struct spool_seg *g = &s->segs[i];

	if (s->tail_valid && s->tail_seg == g->first_seq)
		s->tail_valid = false;
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
	if (s->send.seg > i) {
		s->send.seg--; /* a peek there stays valid: its offsets are in that segment */
	} else {
		s->send = (struct spool_pos){0, 0};
		s->peeked = false; /* what was peeked is gone (counted by the caller) */
	}
}

/* Deletes segments that hold only delivered records. The last one stays: it is
 * reused (truncated) by the next append that finds it full and delivered, instead
 * of a delete and a create each time the spool empties. */
static void collect(struct spool *s)
{
	normalize(s, &s->dlv);
	while (s->nsegs > 1 && s->dlv.seg > 0) {
		seg_remove(s, 0);
		normalize(s, &s->dlv);
	}
}

/* Remembers seq as written and evicted before its ack; false when out of memory. */
static bool gone_add(struct spool *s, uint64_t seq)
{
	struct spool_range *g;
	size_t cap;

	if (s->ngone > 0 && s->gone[s->ngone - 1].hi + 1 == seq) {
		s->gone[s->ngone - 1].hi = seq;
		return true;
	}
	if (s->ngone == s->gone_cap) {
		cap = s->gone_cap ? s->gone_cap * 2 : 16;
		g = realloc(s->gone, cap * sizeof(*g));
		if (!g)
			return false;
		s->gone = g;
		s->gone_cap = cap;
	}
	s->gone[s->ngone++] = (struct spool_range){.lo = seq, .hi = seq};
	return true;
}

/* Records written and evicted before their ack that no ack has covered yet. */
static uint64_t gone_count(const struct spool *s)
{
	uint64_t n = 0;

	for (size_t i = 0; i < s->ngone; i++)
		n += s->gone[i].hi - s->gone[i].lo + 1;
	return n;
}

/* An ack of seq covers every record written before it on this connection. */
static void gone_ack(struct spool *s, uint64_t seq)
{
	size_t i = 0;

	while (i < s->ngone && s->gone[i].hi <= seq)
		i++;
	if (i < s->ngone && s->gone[i].lo <= seq)
		s->gone[i].lo = seq + 1;
	if (i == 0)
		return;
	memmove(s->gone, s->gone + i, (s->ngone - i) * sizeof(*s->gone));
	s->ngone -= i;
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
			/* Sent: before the send cursor. Peeked: being written right now, still
			 * counted unsent until marked sent. Either may yet be acked. */
			bool sent = s->send.seg > 0 || p.off < s->send.off;
			bool peeked = !sent && s->peeked && p.off < s->peek_next;

			if (sent)
				inflight++;
			else
				unsent++;
			/* Written ones are remembered until an ack or a rewind settles them; one
			 * that cannot be remembered is counted as dropped now, like the unsent. */
			if (!(sent || peeked) || !gone_add(s, h.seq))
				s->st.dropped++;
			p.off += sizeof(h) + h.len;
		}
	}
	s->n_inflight -= inflight < s->n_inflight ? inflight : s->n_inflight;
	s->n_unsent -= unsent < s->n_unsent ? unsent : s->n_unsent;
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

/* The only segment is full and every record in it delivered: start it over. */
static int seg_reuse(struct spool *s)
{
	struct spool_seg *g = &s->segs[0];

	if (ftruncate(g->fd, 0) < 0)
		return -errno;
	s->total_bytes -= g->bytes;
	g->bytes = 0;
	s->dlv = (struct spool_pos){0, 0};
	s->send = s->dlv;
	s->peeked = false;
	s->tail_valid = false;
	return 0;
}

/* The only segment holds bytes, all of them delivered. */
static bool seg_delivered(const struct spool *s)
{
	return s->nsegs == 1 && s->segs[0].bytes > 0 && s->n_unsent == 0 && s->n_inflight == 0 &&
	       s->ngone == 0 && !pos_before(s, s->dlv, (struct spool_pos){0, s->segs[0].bytes});
}

static int seg_create(struct spool *s, uint64_t first_seq)
{
	char name[SPOOL_MAX_NAME_LEN];
	int fd;

	if (seg_delivered(s) && seg_reuse(s) == 0)
		return 0;

	if (seg_reserve(s) < 0)
		return -ENOMEM;
	/* The previous segment is complete: make it durable before moving on. */
	if (s->nsegs > 0 && s->opt.fsync != SPOOL_FSYNC_NEVER && s->dirty)
		fdatasync(s->segs[s->nsegs - 1].fd);
	seg_name(first_seq, name, sizeof(name));
	fd = safedir_openat(s->dirfd, s->dir, name, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0)
		return fd;
	s->segs[s->nsegs++] = (struct spool_seg){.first_seq = first_seq, .bytes = 0, .fd = fd};
	s->dir_dirty = true;
	return 0;
}

static int append_fail(struct spool *s, int err, uint64_t count)
{
	uint64_t now = mono_ms();

	s->st.failed += count;
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

/* Writes recs[0..n) (n <= SPOOL_IOV_RECS) at the end of the last segment, one pwritev. */
static int write_group(struct spool *s, const struct spool_rec *recs, size_t n, uint64_t bytes)
{
	struct spool_seg *g = &s->segs[s->nsegs - 1];
	ssize_t w;
	int r;

	for (size_t i = 0; i < n; i++) {
		s->wr_hdr[i] = (struct spool_hdr){
			.len = (uint32_t)recs[i].len,
			.crc = record_crc(recs[i].seq, recs[i].text, recs[i].len),
			.seq = recs[i].seq};
		s->wr_iov[2 * i] = (struct iovec){.iov_base = &s->wr_hdr[i],
						  .iov_len = sizeof(struct spool_hdr)};
		s->wr_iov[2 * i + 1] =
			(struct iovec){.iov_base = (void *)recs[i].text, .iov_len = recs[i].len};
	}
	w = pwritev(g->fd, s->wr_iov, (int)(2 * n), (off_t)g->bytes);
	if (w < 0 || (uint64_t)w != bytes) {
		r = w < 0 ? -errno : -ENOSPC;
		/* Leave no partial record behind. */
		if (ftruncate(g->fd, (off_t)g->bytes) < 0)
			log_debug("cannot cut a partial spool record: %s", strerror(errno));
		return append_fail(s, r, n);
	}
	if (s->failing && s->fail_logged)
		log_info("the spool '%s' is writable again (%llu records could not be kept so "
			 "far)",
			 s->dir, (unsigned long long)s->st.failed);
	if (s->failing)
		s->fail_logged = false;
	s->failing = false;
	tail_add(s, g->bytes, s->wr_iov, 2 * n, bytes);
	g->bytes += bytes;
	s->total_bytes += bytes;
	s->n_unsent += n;
	s->st.last_seq = recs[n - 1].seq;
	s->dirty = true;
	return 0;
}

static bool rec_too_big(const struct spool *s, const struct spool_rec *m)
{
	return m->len > UINT32_MAX || sizeof(struct spool_hdr) + m->len > s->opt.max_bytes / 2;
}

int spool_append_many(struct spool *s, const struct spool_rec *recs, size_t n)
{
	size_t i = 0, kept = 0;
	int r, err = 0;

	while (i < n) {
		uint64_t rec = sizeof(struct spool_hdr) + recs[i].len;
		uint64_t bytes = 0, end;
		size_t j = i;

		if (rec_too_big(s, &recs[i])) {
			s->st.failed++;
			err = -E2BIG;
			i++;
			continue;
		}
		while (s->nsegs > 0 && s->total_bytes + rec > s->opt.max_bytes)
			evict_oldest(s);
		/* A new segment when the last is full; after a failed write (disk full),
		 * the delivered bytes of the last one are given back first. */
		if (s->nsegs == 0 || s->segs[s->nsegs - 1].bytes >= s->seg_target ||
		    (s->failing && seg_delivered(s))) {
			r = seg_create(s, recs[i].seq);
			if (r < 0) {
				err = append_fail(s, r, 1);
				i++;
				continue;
			}
		}
		/* As many following records as go into this segment without an eviction. */
		end = s->segs[s->nsegs - 1].bytes;
		while (j < n && j - i < SPOOL_IOV_RECS) {
			rec = sizeof(struct spool_hdr) + recs[j].len;
			if (j > i && (rec_too_big(s, &recs[j]) || end + bytes >= s->seg_target ||
				      s->total_bytes + bytes + rec > s->opt.max_bytes))
				break;
			bytes += rec;
			j++;
		}
		r = write_group(s, &recs[i], j - i, bytes);
		if (r < 0)
			err = r;
		else
			kept += j - i;
		i = j;
	}
	if (kept > 0)
		sync_data(s, s->opt.fsync == SPOOL_FSYNC_ALWAYS);
	return kept > 0 ? (int)kept : (n == 0 ? 0 : err);
}

int spool_append(struct spool *s, uint64_t seq, const char *text, size_t len)
{
	struct spool_rec m = {.seq = seq, .text = text, .len = len};
	int r = spool_append_many(s, &m, 1);

	return r < 0 ? r : 0;
}

int spool_peek_many(struct spool *s, char *buf, size_t len, size_t max_n, size_t *ret_len,
		    uint64_t *ret_seq, size_t *ret_n)
{
	struct spool_pos p, body;
	size_t used = 0, n = 0;
	struct spool_hdr h;
	const char *mem;
	ssize_t got;
	int r = 0;

	s->peeked = false;
	*ret_n = 0;
	if (s->nsegs == 0)
		return 0;
	normalize(s, &s->send);
	p = s->send;
	/* One segment at most: the records of a batch are contiguous in one file. */
	while (n < max_n && p.off < s->segs[p.seg].bytes) {
		size_t sep = n > 0;

		r = read_hdr(s, p, &h);
		if (r < 0)
			break;
		if (n == 0) {
			*ret_len = h.len;
			*ret_seq = h.seq;
			if (h.len > len)
				return -ENOSPC;
		} else if (used + sep + h.len > len) {
			break;
		}
		if (sep)
			buf[used] = ',';
		body = (struct spool_pos){p.seg, p.off + sizeof(h)};
		mem = tail_at(s, body, h.len);
		if (mem) {
			/* The bytes we wrote ourselves: no CRC to check against the disk. */
			memcpy(buf + used + sep, mem, h.len);
		} else {
			got = pread(s->segs[p.seg].fd, buf + used + sep, h.len, (off_t)body.off);
			if (got < 0) {
				r = -errno;
				break;
			}
			if ((size_t)got != h.len || !record_crc_ok(&h, buf + used + sep)) {
				r = -EBADMSG;
				break;
			}
		}
		used += sep + h.len;
		n++;
		*ret_seq = h.seq;
		p.off += sizeof(h) + h.len;
	}
	if (r < 0 && n == 0) {
		/* Damaged after it was written: skip the rest of this segment. */
		log_err_errno(r, "spool segment in '%s' is damaged at offset %llu; skipping it",
			      s->dir, (unsigned long long)s->send.off);
		s->segs[s->send.seg].bytes = s->send.off;
		if (s->tail_valid && s->tail_seg == s->segs[s->send.seg].first_seq)
			s->tail_valid = false;
		s->n_unsent = s->n_unsent ? s->n_unsent - 1 : 0;
		s->st.dropped++;
		return -EIO;
	}
	if (n == 0)
		return 0;
	/* A damaged record after good ones: sent alone on the next peek, which skips it. */
	s->peeked = true;
	s->peek_seq = *ret_seq;
	s->peek_n = n;
	s->peek_next = p.off;
	*ret_len = used;
	*ret_n = n;
	return (int)used;
}

int spool_peek(struct spool *s, char *buf, size_t len, size_t *ret_len, uint64_t *ret_seq)
{
	size_t n;

	return spool_peek_many(s, buf, len, 1, ret_len, ret_seq, &n);
}

/* Records up to seq were written at ms. A write in the same ms as the last one extends
 * its mark; so does one that finds no memory for a new mark, which only makes the older
 * records wait for the newer one's grace (resent rather than lost). */
static void mark_add(struct spool *s, uint64_t seq, uint64_t ms)
{
	struct spool_mark *m;
	size_t cap;

	if (s->nmarks > 0 && s->marks[s->nmarks - 1].seq >= seq)
		return;
	if (s->nmarks > 0 && s->marks[s->nmarks - 1].ms >= ms) {
		s->marks[s->nmarks - 1].seq = seq;
		return;
	}
	if (s->nmarks == s->marks_cap) {
		cap = s->marks_cap ? s->marks_cap * 2 : 16;
		m = realloc(s->marks, cap * sizeof(*m));
		if (!m) {
			if (s->nmarks > 0)
				s->marks[s->nmarks - 1] = (struct spool_mark){.seq = seq, .ms = ms};
			return;
		}
		s->marks = m;
		s->marks_cap = cap;
	}
	s->marks[s->nmarks++] = (struct spool_mark){.seq = seq, .ms = ms};
}

/* Forgets the marks an ack of seq covers whole. */
static void marks_ack(struct spool *s, uint64_t seq)
{
	size_t i = 0;

	while (i < s->nmarks && s->marks[i].seq <= seq)
		i++;
	if (i == 0)
		return;
	memmove(s->marks, s->marks + i, (s->nmarks - i) * sizeof(*s->marks));
	s->nmarks -= i;
}

void spool_mark_sent(struct spool *s, uint64_t seq, uint64_t now_ms)
{
	/* Also when the peek was evicted meanwhile: what was written up to seq is settled
	 * with its mark (spool_ack forgives the evicted ones, counted in gone). */
	mark_add(s, seq, now_ms);
	if (!s->peeked || s->peek_seq != seq)
		return; /* evicted meanwhile */
	s->send.off = s->peek_next;
	s->peeked = false;
	s->n_unsent -= s->peek_n < s->n_unsent ? s->peek_n : s->n_unsent;
	s->n_inflight += s->peek_n;
}

void spool_ack(struct spool *s, uint64_t seq)
{
	struct spool_hdr h;

	gone_ack(s, seq);
	marks_ack(s, seq);
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
	/* Written but unacked when the connection was lost, and no longer here to resend. */
	s->st.dropped += gone_count(s);
	s->ngone = 0;
	s->nmarks = 0;
	s->send = s->dlv;
	s->n_unsent += s->n_inflight;
	s->n_inflight = 0;
	s->peeked = false;
}

void spool_settle(struct spool *s, uint64_t until_ms)
{
	size_t i = 0;

	while (i < s->nmarks && s->marks[i].ms <= until_ms)
		i++;
	/* Delivered as if acked: the cursor, the acked marker, the evicted ones in gone. */
	if (i > 0)
		spool_ack(s, s->marks[i - 1].seq);
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
		    !record_crc_ok(&h, buf))
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
		sfd = safedir_openat(s->dirfd, s->dir, names[i], O_RDWR, 0);
		if (sfd < 0 || fstat(sfd, &stt) < 0) {
			r = sfd < 0 ? sfd : -errno;
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
	/* Created with its parent when missing (state_dir on a first start). */
	r = safedir_open(dir, 0700);
	if (r < 0)
		goto fail;
	s->dirfd = r;
	r = safedir_openat(s->dirfd, s->dir, "acked", O_RDWR | O_CREAT, 0600);
	if (r < 0)
		goto fail;
	s->acked_fd = r;
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
	free(s->gone);
	free(s->marks);
	free(s->tail);
	free(s->dir);
	free(s);
}
