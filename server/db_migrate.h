/*
 * The tables of roles, the read API and alerts, added to the schema of db.c in place:
 * accounts.role and tokens.role (existing accounts and tokens become agent), hosts, metrics
 * (+ per-minute aggregates), execs and speedtests filled from each stored record by
 * triggers in the record's own transaction, and the alert tables. Idempotent; a database
 * that has records but not yet the API tables gets them filled from its records once.
 */
#ifndef SRVMON_SERVER_DB_MIGRATE_H
#define SRVMON_SERVER_DB_MIGRATE_H

struct sqlite3;

#include <stddef.h>

/* 0, or -EIO with SQLite's message in ret_err (nothing of the migration is kept). */
int db_migrate(struct sqlite3 *sql, char *ret_err, size_t size);

#endif
