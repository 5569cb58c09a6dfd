/* The PostgreSQL engine's revocation: the tokens of a refresh family or of an account, and
 * an account with its tokens (store_pg_impl.h). */
#include "store_pg_impl.h"

#include <errno.h>

int pg_revoke_family(struct db *db, const char *family, struct revoke_counts *ret)
{
	int r;

	*ret = (struct revoke_counts){0};
	r = pg_exec_changes(db, "DELETE FROM tokens WHERE family = $1", 1, &family, &ret->access);
	if (r == 0)
		r = pg_exec_changes(db, "DELETE FROM refresh_tokens WHERE family = $1", 1, &family,
				    &ret->refresh);
	return r;
}

int pg_revoke_account(struct db *db, const char *account, struct revoke_counts *ret)
{
	int r;

	*ret = (struct revoke_counts){0};
	r = pg_exec_changes(db, "DELETE FROM tokens WHERE account = $1", 1, &account, &ret->access);
	if (r == 0)
		r = pg_exec_changes(db, "DELETE FROM refresh_tokens WHERE account = $1", 1,
				    &account, &ret->refresh);
	return r;
}

int pg_revoke_delete_account(struct db *db, const char *account, struct revoke_counts *ret)
{
	uint64_t n = 0;
	int r;

	*ret = (struct revoke_counts){0};
	r = pg_begin(db);
	if (r < 0)
		return r;
	r = pg_exec_changes(db, "DELETE FROM accounts WHERE name = $1", 1, &account, &n);
	if (r == 0 && n == 0)
		r = -ENOENT;
	if (r == 0)
		r = pg_revoke_account(db, account, ret);
	if (r == 0)
		return pg_commit(db);
	pg_rollback(db);
	return r;
}
