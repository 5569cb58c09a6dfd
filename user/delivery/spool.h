/*
 * The spool: a bounded, crash-safe on-disk queue of outgoing records.
 *
 * Records are appended to segment files DIR/<first seq>.seg (20 digits), each
 * record a 16-byte header (length, CRC-32 of seq and text, seq) and the JSON text.
 * The unread tail is also kept in memory (up to 4 MiB), so sending and acking
 * do not read the file back; after a restart, or beyond that, they read the file.
 * Appending is one pwritev(2): a killed process loses nothing it had appended (the
 * page cache keeps it); a power loss loses at most what was appended since the
 * last fdatasync (see struct spool_options). On open every segment is scanned
 * and a torn or corrupt tail is cut off.
 *
 * Two cursors walk the queue: "send" (next record to write to the connection)
 * and "delivered" (first record not yet acked). A server that never acks has written
 * records settled instead, once they were written long enough ago (spool_settle).
 * Segments wholly behind the
 * delivered cursor are deleted, except the last, which is truncated and reused once
 * it is full and delivered. Over max_bytes, the oldest segment is deleted and
 * its undelivered records are counted as dropped.
 *
 * Not thread-safe: the outbox locks.
 */
#ifndef SRVMON_SPOOL_H
#define SRVMON_SPOOL_H

#include <stddef.h>
#include <stdint.h>

enum spool_fsync {
	SPOOL_FSYNC_ALWAYS,   /* fdatasync after every record */
	SPOOL_FSYNC_INTERVAL, /* fdatasync when interval_ms has passed since the last one */
	SPOOL_FSYNC_NEVER,    /* leave it to the kernel's writeback */
};

struct spool_options {
	uint64_t max_bytes;
	enum spool_fsync fsync;
	uint64_t fsync_interval_ms;
};

struct spool_stats {
	uint64_t records;   /* undelivered records held (unsent + sent awaiting ack) */
	uint64_t unsent;    /* records not yet written on the current connection */
	uint64_t bytes;	    /* size of the segment files */
	uint64_t dropped;   /* undelivered records deleted to stay under max_bytes */
	uint64_t failed;    /* records that could not be written (disk full, read-only) */
	uint64_t recovered; /* undelivered records found on disk at open */
	uint64_t last_seq;  /* highest seq ever appended (or found at open), 0: none */
};

struct spool;

/* Creates dir (and its parent) if needed (0700). dir must be trusted and no file in it is
 * opened through a symbolic link (user/lib/safedir.h: refused and logged, errno ELOOP or
 * EPERM). NULL + errno (the caller logs with dir). */
struct spool *spool_open(const char *dir, const struct spool_options *opt);
/* Syncs and closes. Accepts NULL. */
void spool_close(struct spool *s);

/* Appends a record. 0, -E2BIG (over max_bytes / 2, not kept) or the write error
 * (-ENOSPC, -EROFS, -EIO: not kept, counted in failed). */
int spool_append(struct spool *s, uint64_t seq, const char *text, size_t len);
struct spool_rec {
	uint64_t seq;
	const char *text;
	size_t len;
};
/* Appends n records (in seq order) with one pwritev per segment they fall into (at
 * most 256 records each) and, with fsync = always, one fdatasync for all. Returns
 * how many were kept (the others are counted in failed) or, when none was, the
 * error as spool_append(). */
int spool_append_many(struct spool *s, const struct spool_rec *recs, size_t n);
/* The next unsent record into buf: its length, 0 when none, -ENOSPC when buf is
 * smaller than *ret_len, -EIO when it cannot be read (the spool skips it). */
int spool_peek(struct spool *s, char *buf, size_t len, size_t *ret_len, uint64_t *ret_seq);
/* Up to max_n consecutive unsent records into buf, separated by ',': their total
 * length (*ret_len), the seq of the last one (*ret_seq) and their number (*ret_n);
 * 0 when none; -ENOSPC when the first one alone is larger than len (*ret_len its
 * length); -EIO as spool_peek(). A batch never spans two segments. */
int spool_peek_many(struct spool *s, char *buf, size_t len, size_t max_n, size_t *ret_len,
		    uint64_t *ret_seq, size_t *ret_n);
/* The records peeked last (seq: the last of them) were written to the connection at
 * now_ms (a monotonic clock, never decreasing between rewinds). */
void spool_mark_sent(struct spool *s, uint64_t seq, uint64_t now_ms);
/* Every sent record with seq <= seq is delivered. */
void spool_ack(struct spool *s, uint64_t seq);
/* A server that never acks: the records written at or before until_ms are delivered
 * (as spool_ack of the last of them), those written later stay sent. */
void spool_settle(struct spool *s, uint64_t until_ms);
/* Sent records that were not acked (or settled) become unsent again (resent next
 * connection, identical and in order). */
void spool_rewind(struct spool *s);
/* Writes the acked marker, then fdatasync of the segment being written when the policy
 * says one is due (or force). Called every second and at close. */
int spool_sync(struct spool *s, int force);
void spool_stats(const struct spool *s, struct spool_stats *ret);

/* CRC-32 (IEEE 802.3), exposed for tests. */
uint32_t spool_crc32(uint32_t crc, const void *buf, size_t len);

#endif
