/*
 * The outbox: records waiting for delivery, shared by the module threads
 * (producers) and the transport (consumer). Assigns seq, keeps sent records
 * until the server acks them, bounds memory at queue_max records. On a server that
 * never acks, a written record is kept until the connection has stayed up for the
 * unacked grace after it was written (docs/reliability.md).
 */
#ifndef SRVMON_OUTBOX_H
#define SRVMON_OUTBOX_H

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>

#include "record_text.h"

struct seqstore;
struct outbox;

/* [server] unacked_grace's default. */
#define OUTBOX_UNACKED_GRACE_MS 5000

struct outbox_stats {
	uint64_t submitted;
	uint64_t dropped; /* never delivered: evicted while the queue was full */
	uint64_t acked; /* delivered: acked, or settled by the grace on a server that never acks */
	size_t queued;	/* records held now (unsent + sent awaiting ack) */
	uint64_t spool_dropped; /* of dropped: evicted from a full spool or not writable */
	uint64_t spool_bytes;	/* size of the spool on disk */
};

/* NULL + errno. seq may be NULL (then seqs count from 1, for --once). */
struct outbox *outbox_new(const char *host_id, struct seqstore *seq, size_t max);
void outbox_free(struct outbox *o);

struct spool;
/* From now on records go through the spool sp (owned by the caller, who closes it
 * after outbox_free()): crash-safe, bounded by bytes instead of queue_max. Records
 * waiting in memory (a spool opened late) move into it, in order; those written but
 * not acked are written again from it. Returns how many moved. */
size_t outbox_use_spool(struct outbox *o, struct spool *sp);
/* Lets the spool fdatasync when its policy says one is due, and settles what a server
 * that never acks has had for its grace (call every second). */
void outbox_sync(struct outbox *o);
/* A server that never acks: a written record is delivered once the connection stayed
 * up grace_ms after it was written (default OUTBOX_UNACKED_GRACE_MS). */
void outbox_set_unacked_grace(struct outbox *o, uint64_t grace_ms);
/* The clock of write times and grace, milliseconds (default mono_ms(); for tests). */
void outbox_set_clock(struct outbox *o, uint64_t (*clock)(void));

/* Called (without the lock) after every submit, e.g. to wake the transport. */
void outbox_set_notify(struct outbox *o, void (*fn)(void *arg), void *arg);

/* Takes ownership of msg (frees it). Assigns host_id and seq. 0 or -errno. */
int outbox_submit(struct outbox *o, cJSON *msg);

/* Submits n printed records under one lock and one notify (host_id and seq are added
 * before the closing brace). Returns how many were queued, or -errno when none was. */
int outbox_submit_json(struct outbox *o, const struct record_text *recs, size_t n);

/* Copies the oldest record not yet written on this connection into buf (which
 * has room for len bytes): returns its length, 0 when none is waiting, -ENOSPC when
 * buf is too small (*ret_len tells the size needed). */
int outbox_peek(struct outbox *o, char *buf, size_t len, size_t *ret_len, uint64_t *ret_seq);
/* Up to max_n records not yet written, in seq order, into buf separated by ',':
 * returns their total length (also *ret_len), the seq of the last (*ret_seq) and
 * their number (*ret_n); 0 when none; -ENOSPC when the first one alone does not fit
 * (*ret_len its length). */
int outbox_peek_many(struct outbox *o, char *buf, size_t len, size_t max_n, size_t *ret_len,
		     uint64_t *ret_seq, size_t *ret_n);
/* Marks the records peeked last (seq: the last of them) as written to the connection. */
void outbox_mark_sent(struct outbox *o, uint64_t seq);
/* A cumulative ack: every record with seq <= seq is delivered. */
void outbox_ack(struct outbox *o, uint64_t seq);
/* The server said it acks (srvmon-server's welcome) before any ack arrived: records
 * written to it count as delivered only when acked, even if the connection ends first. */
void outbox_expect_acks(struct outbox *o);
/* The server's close frame arrived: nothing written from now on counts as delivered,
 * nor what was written less than the grace before. */
void outbox_peer_closing(struct outbox *o);
/* The connection ended. Records written but not acked are written again on the next
 * connection, identical and in order; on a server that never acked, except those
 * written at least the grace before the end (or before the server's close frame). */
void outbox_connection_closed(struct outbox *o);
/* Number of records waiting to be written. */
size_t outbox_pending(struct outbox *o);
void outbox_stats(struct outbox *o, struct outbox_stats *ret);

#endif
