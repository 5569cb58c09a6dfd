/*
 * The spool's internals, shared by its files: spool.c (segments, appending, reading for
 * the connection, open and close), spool_record.c (the on-disk format),
 * spool_accounting.c (acks, settling, in-flight evictions) and spool_recovery.c (reading
 * back an existing spool). Only these files include it.
 */
#ifndef SRVMON_SPOOL_IMPL_H
#define SRVMON_SPOOL_IMPL_H

#include "spool.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

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

void spool_collect(struct spool *s);
bool spool_gone_add(struct spool *s, uint64_t seq);
int spool_load_existing(struct spool *s);
void spool_normalize(const struct spool *s, struct spool_pos *p);
bool spool_pos_before(const struct spool *s, struct spool_pos a, struct spool_pos b);
int spool_read_hdr(const struct spool *s, struct spool_pos p, struct spool_hdr *ret);
uint32_t spool_record_crc(uint64_t seq, const char *text, size_t len);
bool spool_record_crc_ok(const struct spool_hdr *h, const char *text);
void spool_seg_name(uint64_t first_seq, char *buf, size_t len);
void spool_seg_remove(struct spool *s, size_t i);
int spool_seg_reserve(struct spool *s);

#endif
