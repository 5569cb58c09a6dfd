/* TEMPORARY, until the base half (store_pg_conn.c, store_pg_partition.c) is merged: weak
 * stand-ins for its helpers, so that this branch links on its own. The base half's
 * definitions replace them; this file goes with that merge. */
#include "store_pg_impl.h"

#include <errno.h>

__attribute__((weak)) PGresult *pg_query(struct db *db, const char *sql, int n,
					 const char *const *values)
{
	(void)db;
	(void)sql;
	(void)n;
	(void)values;
	return NULL;
}

__attribute__((weak)) int pg_query_ok(struct db *db, const char *sql, int n,
				      const char *const *values)
{
	(void)db;
	(void)sql;
	(void)n;
	(void)values;
	return -ENOTSUP;
}

__attribute__((weak)) int pg_exec_script(struct db *db, const char *sql)
{
	(void)db;
	(void)sql;
	return -ENOTSUP;
}

__attribute__((weak)) int pg_fail(struct db *db, const PGresult *r, const char *what)
{
	(void)db;
	(void)r;
	(void)what;
	return -EIO;
}

__attribute__((weak)) const char *pg_i64(char buf[24], int64_t v)
{
	(void)v;
	buf[0] = '\0';
	return buf;
}

__attribute__((weak)) int64_t pg_get_i64(const PGresult *r, int row, int col)
{
	(void)r;
	(void)row;
	(void)col;
	return 0;
}

__attribute__((weak)) int pg_partition_ensure(struct db *db, const char *parent, int64_t ts_ms)
{
	(void)db;
	(void)parent;
	(void)ts_ms;
	return -ENOTSUP;
}

__attribute__((weak)) int pg_partitions_drop_before(struct db *db, const char *parent,
						    int64_t cutoff_ms, uint64_t *ret_dropped)
{
	(void)db;
	(void)parent;
	(void)cutoff_ms;
	(void)ret_dropped;
	return -ENOTSUP;
}
