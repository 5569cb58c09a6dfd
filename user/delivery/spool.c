#include "spool_impl.h"

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
		spool_normalize(s, &d);
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
int spool_read_hdr(const struct spool *s, struct spool_pos p, struct spool_hdr *ret)
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
void spool_normalize(const struct spool *s, struct spool_pos *p)
{
	while (p->seg + 1 < s->nsegs && p->off >= s->segs[p->seg].bytes) {
		p->seg++;
		p->off = 0;
	}
}

bool spool_pos_before(const struct spool *s, struct spool_pos a, struct spool_pos b)
{
	spool_normalize(s, &a);
	spool_normalize(s, &b);
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
void spool_seg_remove(struct spool *s, size_t i)
{
	char name[SPOOL_MAX_NAME_LEN];
	struct spool_seg *g = &s->segs[i];

	if (s->tail_valid && s->tail_seg == g->first_seq)
		s->tail_valid = false;
	spool_seg_name(g->first_seq, name, sizeof(name));
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
void spool_collect(struct spool *s)
{
	spool_normalize(s, &s->dlv);
	while (s->nsegs > 1 && s->dlv.seg > 0) {
		spool_seg_remove(s, 0);
		spool_normalize(s, &s->dlv);
	}
}

/* Makes room: deletes the oldest segment, counting its undelivered records as dropped. */
static void evict_oldest(struct spool *s)
{
	struct spool_pos p = s->dlv;
	uint64_t inflight = 0, unsent = 0;
	struct spool_hdr h;

	spool_normalize(s, &p);
	spool_normalize(s, &s->send);
	if (p.seg == 0) {
		while (p.off < s->segs[0].bytes && spool_read_hdr(s, p, &h) == 0) {
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
			if (!(sent || peeked) || !spool_gone_add(s, h.seq))
				s->st.dropped++;
			p.off += sizeof(h) + h.len;
		}
	}
	s->n_inflight -= inflight < s->n_inflight ? inflight : s->n_inflight;
	s->n_unsent -= unsent < s->n_unsent ? unsent : s->n_unsent;
	spool_seg_remove(s, 0);
}

/* Room for one more segment in the array. 0 or -ENOMEM. */
int spool_seg_reserve(struct spool *s)
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
	       s->ngone == 0 &&
	       !spool_pos_before(s, s->dlv, (struct spool_pos){0, s->segs[0].bytes});
}

static int seg_create(struct spool *s, uint64_t first_seq)
{
	char name[SPOOL_MAX_NAME_LEN];
	int fd;

	if (seg_delivered(s) && seg_reuse(s) == 0)
		return 0;

	if (spool_seg_reserve(s) < 0)
		return -ENOMEM;
	/* The previous segment is complete: make it durable before moving on. */
	if (s->nsegs > 0 && s->opt.fsync != SPOOL_FSYNC_NEVER && s->dirty)
		fdatasync(s->segs[s->nsegs - 1].fd);
	spool_seg_name(first_seq, name, sizeof(name));
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
			.crc = spool_record_crc(recs[i].seq, recs[i].text, recs[i].len),
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
	spool_normalize(s, &s->send);
	p = s->send;
	/* One segment at most: the records of a batch are contiguous in one file. */
	while (n < max_n && p.off < s->segs[p.seg].bytes) {
		size_t sep = n > 0;

		r = spool_read_hdr(s, p, &h);
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
			if ((size_t)got != h.len || !spool_record_crc_ok(&h, buf + used + sep)) {
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
	r = spool_load_existing(s);
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
