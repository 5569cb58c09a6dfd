/* Per-connection ingest budget: token buckets on records/s and bytes/s. Pure (no I/O, no
 * clock): the caller passes a monotonic millisecond time. */
#ifndef SRVMON_SERVER_CONNLIMIT_H
#define SRVMON_SERVER_CONNLIMIT_H

#include <stdint.h>

struct connlimit {
	uint64_t rate[2]; /* units per second: [0] records, [1] bytes; 0: unlimited */
	int64_t level[2]; /* milli-units available; negative while in debt */
	int64_t cap[2];	  /* rate * burst seconds, in milli-units */
	uint64_t last_ms;
};

/* A full bucket of burst_s seconds of each rate (0: that dimension is not limited). */
void connlimit_init(struct connlimit *l, uint64_t records_per_s, uint64_t bytes_per_s,
		    uint64_t burst_s, uint64_t now_ms);

/*
 * Refills for the time passed since the last call, then takes records and bytes (they are
 * always taken: a message that arrived is accounted for, the bucket may go into debt).
 * Returns 0 while within the budget, else the milliseconds until it is no longer in debt:
 * the caller stops reading for that long.
 */
uint64_t connlimit_charge(struct connlimit *l, uint64_t records, uint64_t bytes, uint64_t now_ms);

/* Like connlimit_charge(), but takes nothing when the bucket cannot pay for all of it (no
 * debt): returns 0 when taken, else the milliseconds until it could be. */
uint64_t connlimit_try(struct connlimit *l, uint64_t records, uint64_t bytes, uint64_t now_ms);

#endif
