/*
 * The tables of roles, the read API and alerts (step 2 of db_migrate.c): accounts.role and
 * tokens.role (existing accounts and tokens become agent), hosts, metrics (+ per-minute
 * aggregates), execs and speedtests filled from each stored record by triggers in the
 * record's own transaction and emptied with it (retention), and the alert tables.
 * Idempotent; a database that has records but not yet the API tables gets them filled
 * from its records once.
 */
#ifndef SRVMON_SERVER_DB_API_SCHEMA_H
#define SRVMON_SERVER_DB_API_SCHEMA_H

struct sqlite3;

/* Run inside db_migrate()'s transaction. 0, or -EIO with SQLite's message in *ret_err. */
int db_api_migrate(struct sqlite3 *sql, const char **ret_err);

#endif
