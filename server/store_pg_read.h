/* The PostgreSQL engine's read half (store_pg_impl.h): the helpers its files share. Only
 * store_pg_api*.c, store_pg_apply.c, store_pg_alerts.c and store_pg_expire.c include it. */
#ifndef SRVMON_SERVER_STORE_PG_READ_H
#define SRVMON_SERVER_STORE_PG_READ_H

#include "store_pg_impl.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sbuf;

/*
 * store_pg_json.c: a column as the SQLite engine writes the same value (store_sqlite_api.c),
 * so that both engines answer the read API with the same bytes: NULL as null, integer
 * columns as exact integers, float columns with %.15g, numeric columns (the SQLite columns
 * of INTEGER affinity that hold a JSON number) as an integer when the value is one that fits
 * 64 bits, else with %.15g, text as a JSON string.
 */
int pg_json_col(struct sbuf *out, const PGresult *r, int row, int col);
/* ,"name":value (no comma when first). */
int pg_json_member(struct sbuf *out, bool first, const char *name, const PGresult *r, int row,
		   int col);
/* Column col as a double (0 for NULL or garbage). */
double pg_get_double(const PGresult *r, int row, int col);
/* Column col as an int64 the way SQLite reads a REAL as an integer (truncated, saturated);
 * 0 for NULL. */
int64_t pg_get_i64_trunc(const PGresult *r, int row, int col);
/* Text of a double parameter (exact: %.17g); buf holds 32 bytes. */
const char *pg_f64(char buf[32], double v);
/* Whether r succeeded (PGRES_TUPLES_OK or PGRES_COMMAND_OK); else records its error (pg_fail)
 * and clears it. */
bool pg_ok(struct db *db, PGresult *r, const char *what);

/* store_pg_body.c: appends the record body text[0..len) as JSON that PostgreSQL's jsonb
 * accepts, with the same values: as it is when it is strict JSON already (the common case),
 * else reprinted by cJSON (which ingest parsed it with). 0, -EINVAL, -ENOMEM. */
int pg_body_add(struct sbuf *out, const char *text, size_t len);

#endif
