/* The PostgreSQL engine's host ownership (table host_owners, store_pg_impl.h). */
#include "store_pg_impl.h"

#include <errno.h>
#include <string.h>

int pg_host_owner(struct db *db, const char *host_id, char *ret, size_t size)
{
	const char *arg = host_id;

	return pg_select_text_in(
		pg_query_unbatched(db, "SELECT account FROM host_owners WHERE host_id = $1", 1,
				   &arg),
		ret, size);
}

int pg_host_claim(struct db *db, const char *host_id, const char *account, uint64_t now_ms,
		  char *ret_owner, size_t size)
{
	char now[24];
	const char *args[3] = {host_id, account, pg_i64(now, (int64_t)now_ms)};
	PGresult *r;
	int rc;

	/* Claimed when unowned, stamped when account owns it; either way the owner comes back
	 * (of two nodes claiming at once, the second waits for the first's row and gets it). */
	r = pg_query_unbatched(db,
			       "WITH up AS (INSERT INTO host_owners(host_id, account, assigned_ms,"
			       " first_seen_ms, last_seen_ms) VALUES($1, $2, $3, $3, $3)"
			       " ON CONFLICT (host_id) DO UPDATE SET"
			       " first_seen_ms = coalesce(host_owners.first_seen_ms, $3),"
			       " last_seen_ms = greatest(coalesce(host_owners.last_seen_ms, 0), $3)"
			       " WHERE host_owners.account = $2 RETURNING account)"
			       " SELECT account FROM up UNION ALL"
			       " SELECT account FROM host_owners WHERE host_id = $1"
			       " AND NOT EXISTS(SELECT 1 FROM up)",
			       3, args);
	if (!r)
		return -EIO;
	if (PQntuples(r)) {
		rc = pg_copy_text(r, 0, 0, ret_owner, size);
		PQclear(r);
		return rc;
	}
	PQclear(r);
	/* Another node's claim committed after this statement's snapshot: ask again. */
	rc = pg_host_owner(db, host_id, ret_owner, size);
	/* Claimed or owned: a row is there, unless the database lost it. */
	return rc == -ENOENT ? -EIO : rc;
}

int pg_host_add(struct db *db, const char *host_id, const char *account, uint64_t now_ms,
		char *ret_owner, size_t size)
{
	char now[24];
	const char *args[3] = {host_id, account, pg_i64(now, (int64_t)now_ms)};
	int r;

	r = pg_query_ok(db,
			"INSERT INTO host_owners(host_id, account, assigned_ms)"
			" SELECT $1, name, $3 FROM accounts WHERE name = $2"
			" ON CONFLICT (host_id) DO NOTHING",
			3, args);
	if (r < 0)
		return r;
	r = pg_host_owner(db, host_id, ret_owner, size);
	if (r < 0)
		return r; /* -ENOENT: not inserted and not owned: no such account */
	return strcmp(ret_owner, account) == 0 ? 0 : -EEXIST;
}

int pg_host_del(struct db *db, const char *host_id)
{
	uint64_t n = 0;
	int r;

	r = pg_exec_changes(db, "DELETE FROM host_owners WHERE host_id = $1", 1, &host_id, &n);
	if (r < 0)
		return r;
	return n ? 0 : -ENOENT;
}

int pg_host_foreach(struct db *db, hosts_row_cb cb, void *ctx)
{
	PGresult *r = pg_query(db,
			       "SELECT host_id, account, assigned_ms, first_seen_ms, last_seen_ms"
			       " FROM host_owners ORDER BY host_id COLLATE \"C\"",
			       0, NULL);
	int i, rc = 0;

	if (!r)
		return -EIO;
	for (i = 0; i < PQntuples(r) && rc == 0; i++) {
		struct hosts_row row = {
			.host_id = PQgetvalue(r, i, 0),
			.account = PQgetvalue(r, i, 1),
			.assigned_ms = (uint64_t)pg_get_i64(r, i, 2),
			.first_seen_ms = (uint64_t)pg_get_i64(r, i, 3),
			.last_seen_ms = (uint64_t)pg_get_i64(r, i, 4),
		};

		rc = cb(&row, ctx);
	}
	PQclear(r);
	return rc;
}
