/* The read-only commands: query (latest records) and stats (counts as JSON). */
#ifndef SRVMON_SERVER_QUERY_H
#define SRVMON_SERVER_QUERY_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

struct db;

struct query_opts {
	const char *host_id; /* NULL: any */
	const char *type;    /* NULL: any */
	uint64_t limit;
	bool json; /* the stored JSON, control characters escaped (json_line.h), one a line */
};

/* Prints the newest records, oldest of them first. 0, -EIO or -ENOMEM. */
int query_print(struct db *db, const struct query_opts *opts, FILE *out);

/* Prints {"records":N,"records_by_type":{...},"accounts":N,"tokens_issued":N,
 * "tokens_active":N,"token_requests":N,"failed_logins":N}. 0, -EIO or -ENOMEM. */
int stats_print(struct db *db, uint64_t now_ms, FILE *out);

#endif
