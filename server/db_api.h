/* The queries of the read API (docs/api.md) and of role checks, on the tables of
 * store_sqlite_schema.c (SQLite) or store_pg*.c. Results are JSON text appended to a struct sbuf.
 */
#ifndef SRVMON_SERVER_DB_API_H
#define SRVMON_SERVER_DB_API_H

#include "grant.h"
#include "role.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct db;
struct sbuf;

/* Hosts are online when a record came within this many of their interval (docs/api.md). */
#define DB_API_ONLINE_INTERVALS	 3LL
#define DB_API_ONLINE_DEFAULT_MS (3LL * 60 * 1000)
#define DB_API_INTERVAL_MAX_MS	 (10LL * 60 * 1000)

struct db_auth {
	char account[GRANT_MAX_USERNAME + 1];
	enum role role;
	uint64_t expires_ms;
};

/* The token (by its hash) with its account and role. 0, -ENOENT, -EIO. */
int db_token_auth(struct db *db, const char *hash, struct db_auth *ret);
/* 0, -ENOENT (no such account), -EIO. */
int db_account_set_role(struct db *db, const char *name, enum role role);
/* 0, -ENOENT, -EIO. */
int db_account_role(struct db *db, const char *name, enum role *ret);

/* The JSON array of GET /api/v1/hosts; connected(host_id, ctx) (may be NULL) says whether a
 * connection of the host is open (then it is online). 0, -ENOMEM, -EIO. */
int db_api_hosts(struct db *db, uint64_t now_ms, bool (*connected)(const char *host_id, void *ctx),
		 void *ctx, struct sbuf *out);
/* The hosts row of host_id. 0, -ENOENT, -EIO. */
int db_api_host_key(struct db *db, const char *host_id, int64_t *ret_key);

struct db_series_query {
	int64_t host;		/* db_api_host_key() */
	int metric;		/* struct metric_def.id */
	int64_t from, to, step; /* ms; step a multiple of 60000 reads the minute aggregates */
};

/* Appends "t":[..],"min":[..],"avg":[..],"max":[..],"n":[..] (no braces). */
int db_api_series(struct db *db, const struct db_series_query *q, struct sbuf *out);

/* The JSON array of the host's speedtest records, newest first. */
int db_api_speedtests(struct db *db, int64_t host, int64_t from, int64_t to, uint64_t limit,
		      struct sbuf *out);

struct db_exec_query {
	int64_t host;	  /* 0: any */
	const char *user; /* NULL: any */
	const char *q;	  /* NULL: any */
	int64_t from, to;
	uint64_t limit;
	bool have_cursor;
	int64_t cursor_ts, cursor_id; /* rows strictly older than (ts, id) */
};

/* Appends the JSON array of matching exec records, newest first; *ret_more tells whether
 * more follow, *ret_next_* the cursor of the last one. */
int db_api_execs(struct db *db, const struct db_exec_query *q, struct sbuf *out, bool *ret_more,
		 int64_t *ret_next_ts, int64_t *ret_next_id);

/* Calls cb for the records with id > after_id (host_id, type: NULL for any), in id order, at
 * most limit; *ret_last is the highest id looked at. 0, cb's nonzero value, -EIO. */
typedef int (*db_api_record_cb)(int64_t id, const char *body, size_t len, void *ctx);
int db_api_records_after(struct db *db, int64_t after_id, const char *host_id, const char *type,
			 uint64_t limit, db_api_record_cb cb, void *ctx, int64_t *ret_last);
/* The highest record id (0 when none). 0 or -EIO. */
int db_api_last_record(struct db *db, int64_t *ret);

#endif
