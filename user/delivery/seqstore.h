/* The message sequence number: strictly increasing, kept across restarts, never reused. */
#ifndef SRVMON_SEQSTORE_H
#define SRVMON_SEQSTORE_H

#include <stdint.h>

struct seqstore;

/*
 * Opens DIR/seq. The file holds a reservation: every seq below it may have been
 * used. The agent reserves SEQSTORE_BLOCK numbers at a time (written with fsync +
 * rename + directory fsync before any of them is used), twice as many as the last time
 * when that one lasted less than SEQSTORE_BLOCK_FAST_MS (up to SEQSTORE_BLOCK_MAX), so
 * a crash skips at most one block and never reuses a number. DIR is created (0700) when
 * missing and must be trusted (user/lib/safedir.h); seq and seq.tmp are never opened
 * through a symbolic link. DIR NULL, unwritable or untrusted: seqs start from the
 * realtime clock in microseconds, still increasing across restarts unless the clock
 * steps back (logged). NULL + errno on ENOMEM only.
 */
struct seqstore *seqstore_open(const char *dir);
/* Returns the next seq in *ret: 0 or -errno (persisting the next block failed: the
 * seq is still valid, the failure is logged once). Not thread-safe: the outbox locks. */
int seqstore_next(struct seqstore *s, uint64_t *ret);
/* Numbers continue from floor when the store is below it (a disjoint seq space for an
 * agent instance, user/instance.h); the next seqstore_next() persists the new block. */
void seqstore_set_floor(struct seqstore *s, uint64_t floor);
void seqstore_close(struct seqstore *s);

#define SEQSTORE_BLOCK	       1024
#define SEQSTORE_BLOCK_MAX     65536
#define SEQSTORE_BLOCK_FAST_MS 10000

#endif
