/* The PostgreSQL engine's `stats` figures (store_pg_impl.h). */
#include "store_pg_impl.h"

#include <errno.h>
#include <string.h>

int pg_stats_read(struct db *db, uint64_t now_ms, struct db_stats *ret)
{
	static const char sql[] =
		"SELECT (SELECT count(*) FROM accounts),"
		" (SELECT count(*) FROM tokens WHERE expires_ms > $1),"
		" (SELECT coalesce(sum(value) FILTER (WHERE name = $2), 0) FROM counters),"
		" (SELECT coalesce(sum(value) FILTER (WHERE name = $3), 0) FROM counters),"
		" (SELECT coalesce(sum(value) FILTER (WHERE name = $4), 0) FROM counters),"
		" (SELECT coalesce(sum(value) FILTER (WHERE name = $5), 0) FROM counters)";
	char now[24];
	const char *args[5] = {pg_i64(now, (int64_t)now_ms), DB_COUNTER_TOKENS_ISSUED,
			       DB_COUNTER_TOKEN_REQUESTS, DB_COUNTER_FAILED_LOGINS,
			       DB_COUNTER_REFRESH_GRANTS};
	PGresult *r;
	int i;

	memset(ret, 0, sizeof(*ret));
	r = pg_query(db, "SELECT type, count(*) FROM records GROUP BY type ORDER BY type", 0, NULL);
	if (!r)
		return -EIO;
	for (i = 0; i < PQntuples(r); i++) {
		uint64_t count = (uint64_t)pg_get_i64(r, i, 1);

		ret->records += count;
		if (ret->n_types >= sizeof(ret->types) / sizeof(ret->types[0]))
			continue;
		if (pg_copy_text(r, i, 0, ret->types[ret->n_types].type,
				 sizeof(ret->types[0].type)) < 0)
			continue;
		ret->types[ret->n_types++].count = count;
	}
	PQclear(r);
	r = pg_query(db, sql, 5, args);
	if (!r)
		return -EIO;
	ret->accounts = (uint64_t)pg_get_i64(r, 0, 0);
	ret->tokens_active = (uint64_t)pg_get_i64(r, 0, 1);
	ret->tokens_issued = (uint64_t)pg_get_i64(r, 0, 2);
	ret->token_requests = (uint64_t)pg_get_i64(r, 0, 3);
	ret->failed_logins = (uint64_t)pg_get_i64(r, 0, 4);
	ret->refresh_grants = (uint64_t)pg_get_i64(r, 0, 5);
	PQclear(r);
	return 0;
}
