/* Host ownership: a host_id belongs to one account, the first that sent it or the one an
 * administrator assigned (host add); only that account's records for it are stored. */
#ifndef SRVMON_SERVER_HOSTS_H
#define SRVMON_SERVER_HOSTS_H

#include "grant.h"
#include "ingest.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct db;

/* A connection asks the database again after this long (an owner changed by host add/del
 * while it is connected takes effect then), or when the host_id changes. */
#define HOSTS_RECHECK_MS 1000

/* The last answer a connection got (pure: filled by hosts_check()). */
struct hosts_cache {
	char host_id[INGEST_MAX_HOST_ID + 1]; /* "": none yet */
	char owner[GRANT_MAX_USERNAME + 1];
	uint64_t checked_ms;
};

/* The records a connection had refused: the ack never covers them. */
struct hosts_refusals {
	uint64_t n;
	uint64_t min_seq; /* lowest refused seq, when n > 0 */
};

/*
 * Whether account may write host_id: claims it for account when it has no owner (first
 * sender) and stamps first/last seen when account owns it, unless cache answers (same
 * host_id, checked less than HOSTS_RECHECK_MS ago). Part of the open transaction when there
 * is one: the claim is undone with the records when it rolls back. *ret_owner (may be NULL)
 * points at the owner in cache. 0 with *ret_owned set, or -EIO.
 */
int hosts_check(struct db *db, struct hosts_cache *cache, const char *host_id, const char *account,
		uint64_t now_ms, bool *ret_owned, const char **ret_owner);

/* Notes a refused seq. */
void hosts_refusal_note(struct hosts_refusals *r, uint64_t seq);
/*
 * The cumulative ack to send for the highest committed seq: every seq <= it is stored, so
 * it stops below the lowest refused seq. false: no ack can be sent (seq 0 was refused).
 */
bool hosts_ack_cap(const struct hosts_refusals *r, uint64_t committed, uint64_t *ret);

/* Assigns host_id to account (an existing account). 0 (also when account owns it already),
 * -EEXIST (another account owns it: *ret_owner, size bytes), -ENOENT (no such account),
 * -ENOSPC, -EIO. */
int hosts_add(struct db *db, const char *host_id, const char *account, uint64_t now_ms,
	      char *ret_owner, size_t size);
/* Releases host_id (its records stay): the next account to send it owns it. 0, -ENOENT,
 * -EIO. */
int hosts_del(struct db *db, const char *host_id);

struct hosts_row {
	const char *host_id;
	const char *account;
	uint64_t assigned_ms;
	uint64_t first_seen_ms; /* 0: no record yet */
	uint64_t last_seen_ms;
};

/* Calls cb for every host, by host_id; stops with cb's nonzero value. 0, cb's value, -EIO. */
typedef int (*hosts_row_cb)(const struct hosts_row *row, void *ctx);
int hosts_foreach(struct db *db, hosts_row_cb cb, void *ctx);

/* One line of `host list` (no newline): host, account, first and last seen (UTC, ISO 8601,
 * "-" when never) separated by tabs; control characters and tabs in the names become '?'.
 * Returns the length (cut at size - 1). */
size_t hosts_format_row(const struct hosts_row *row, char *buf, size_t size);
/* Copies s with control characters replaced by '?' (for logs and terminals), cut to fit. */
void hosts_clean(const char *s, char *buf, size_t size);
/* The header line of `host list`. */
#define HOSTS_LIST_HEADER "HOST\tACCOUNT\tFIRST_SEEN\tLAST_SEEN"

#endif
