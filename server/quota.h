/*
 * Per-account ingest quota: records per second (a token bucket, connlimit.c) over all of an
 * account's connections, and bytes stored per UTC day. Pure (no I/O, no clock): the caller
 * passes a monotonic millisecond time and the Unix time in milliseconds.
 */
#ifndef SRVMON_SERVER_QUOTA_H
#define SRVMON_SERVER_QUOTA_H

#include <stddef.h>
#include <stdint.h>

/* Defaults of --quota; see docs/server.md. */
#define QUOTA_RECORDS_PER_S 10000
#define QUOTA_BURST_S	    10
#define QUOTA_MIB_PER_DAY   2048
/* Accounts tracked at once (8 probed slots each); when an account finds its slots taken,
 * the least recently charged of them starts afresh. */
#define QUOTA_ACCOUNTS 1024

struct quota;

/* records_per_s (burst QUOTA_BURST_S seconds) and bytes_per_day; 0 in either: that one is
 * not limited. NULL + errno (ENOMEM). */
struct quota *quota_new(uint64_t records_per_s, uint64_t bytes_per_day);
void quota_free(struct quota *q);

/*
 * Charges one record of bytes to account. 0 when within the quota (charged); -EAGAIN over
 * the records/s rate, with *ret_retry_ms until one would fit; -EDQUOT over the bytes of
 * this UTC day, with *ret_retry_ms until the next day. A refused record is not charged.
 */
int quota_charge(struct quota *q, const char *account, uint64_t bytes, uint64_t mono_ms,
		 uint64_t wall_ms, uint64_t *ret_retry_ms);

#endif
