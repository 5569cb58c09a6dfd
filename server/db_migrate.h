/* Brings a database made by an earlier srvmon-server up to the current schema, in place. */
#ifndef SRVMON_SERVER_DB_MIGRATE_H
#define SRVMON_SERVER_DB_MIGRATE_H

#include <sqlite3.h>

/* PRAGMA user_version of the current schema. 0: made before versions were kept. */
#define DB_SCHEMA_VERSION 2

/*
 * Run by db_open() after the schema's CREATE ... IF NOT EXISTS (passed as schema, run again
 * once tables were rebuilt, to recreate their indexes). Version 1: the columns family (tokens,
 * refresh_tokens) and used_ms (refresh_tokens); records deduplicated on (host_id, seq,
 * account) instead of (host_id, seq) (the table is rebuilt, rows and ids kept); table
 * host_owners filled from the records (a host belongs to the account of its oldest record).
 * Version 2: roles and the tables of the read API and alerts, filled from the records
 * (db_api_schema.h). Each step once, in order; one transaction: on failure nothing changed.
 * 0, or -EIO with *ret_err set.
 */
int db_migrate(sqlite3 *sql, const char *schema, const char **ret_err);

#endif
