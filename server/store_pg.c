/* The PostgreSQL engine (store_pg_impl.h): its ops table and, until the base half lands,
 * STUBS for the base half's operations. */
#include "store_pg_impl.h"

#include <errno.h>
#include <stddef.h>

struct db *store_pg_open(const char *url, bool create, const char **ret_err)
{
	(void)url;
	(void)create;
	*ret_err = "the PostgreSQL engine is not implemented yet";
	errno = ENOTSUP;
	return NULL;
}

void pg_close(struct db *db)
{
	(void)db;
}

const char *pg_errmsg(const struct db *db)
{
	(void)db;
	return "not implemented";
}

int pg_schema_version(struct db *db, int *ret)
{
	(void)db;
	(void)ret;
	return -ENOTSUP;
}

int pg_account_add(struct db *db, const char *name, const char *hash, uint64_t now_ms)
{
	(void)db;
	(void)name;
	(void)hash;
	(void)now_ms;
	return -ENOTSUP;
}

int pg_account_hash(struct db *db, const char *name, char *ret, size_t size)
{
	(void)db;
	(void)name;
	(void)ret;
	(void)size;
	return -ENOTSUP;
}

int pg_token_add(struct db *db, const char *hash, const char *account, const char *family,
		 uint64_t now_ms, uint64_t expires_ms)
{
	(void)db;
	(void)hash;
	(void)account;
	(void)family;
	(void)now_ms;
	(void)expires_ms;
	return -ENOTSUP;
}

int pg_token_lookup(struct db *db, const char *hash, char *ret_account, size_t size,
		    uint64_t *ret_expires_ms)
{
	(void)db;
	(void)hash;
	(void)ret_account;
	(void)size;
	(void)ret_expires_ms;
	return -ENOTSUP;
}

int pg_refresh_add(struct db *db, const char *hash, const char *account, const char *family,
		   uint64_t now_ms, uint64_t expires_ms)
{
	(void)db;
	(void)hash;
	(void)account;
	(void)family;
	(void)now_ms;
	(void)expires_ms;
	return -ENOTSUP;
}

int pg_refresh_use(struct db *db, const char *hash, uint64_t now_ms, char *ret_account, size_t size,
		   char *ret_family, size_t family_size)
{
	(void)db;
	(void)hash;
	(void)now_ms;
	(void)ret_account;
	(void)size;
	(void)ret_family;
	(void)family_size;
	return -ENOTSUP;
}

int pg_counter_add(struct db *db, const char *name, uint64_t delta)
{
	(void)db;
	(void)name;
	(void)delta;
	return -ENOTSUP;
}

int pg_record_insert(struct db *db, const struct db_record *rec, bool *ret_inserted)
{
	(void)db;
	(void)rec;
	(void)ret_inserted;
	return -ENOTSUP;
}

int pg_begin(struct db *db)
{
	(void)db;
	return -ENOTSUP;
}

int pg_commit(struct db *db)
{
	(void)db;
	return -ENOTSUP;
}

void pg_rollback(struct db *db)
{
	(void)db;
}

bool pg_in_transaction(const struct db *db)
{
	(void)db;
	return false;
}

int pg_records_foreach(struct db *db, const char *host_id, const char *type, uint64_t n,
		       db_record_cb cb, void *ctx)
{
	(void)db;
	(void)host_id;
	(void)type;
	(void)n;
	(void)cb;
	(void)ctx;
	return -ENOTSUP;
}

int pg_records_expire(struct db *db, int64_t cutoff_ms, uint64_t batch, uint64_t *ret_deleted)
{
	(void)db;
	(void)cutoff_ms;
	(void)batch;
	(void)ret_deleted;
	return -ENOTSUP;
}

int pg_stats_read(struct db *db, uint64_t now_ms, struct db_stats *ret)
{
	(void)db;
	(void)now_ms;
	(void)ret;
	return -ENOTSUP;
}

int pg_token_auth(struct db *db, const char *hash, struct db_auth *ret)
{
	(void)db;
	(void)hash;
	(void)ret;
	return -ENOTSUP;
}

int pg_account_set_role(struct db *db, const char *name, enum role role)
{
	(void)db;
	(void)name;
	(void)role;
	return -ENOTSUP;
}

int pg_account_role(struct db *db, const char *name, enum role *ret)
{
	(void)db;
	(void)name;
	(void)ret;
	return -ENOTSUP;
}

int pg_revoke_family(struct db *db, const char *family, struct revoke_counts *ret)
{
	(void)db;
	(void)family;
	(void)ret;
	return -ENOTSUP;
}

int pg_revoke_account(struct db *db, const char *account, struct revoke_counts *ret)
{
	(void)db;
	(void)account;
	(void)ret;
	return -ENOTSUP;
}

int pg_revoke_delete_account(struct db *db, const char *account, struct revoke_counts *ret)
{
	(void)db;
	(void)account;
	(void)ret;
	return -ENOTSUP;
}

int pg_host_claim(struct db *db, const char *host_id, const char *account, uint64_t now_ms,
		  char *ret_owner, size_t size)
{
	(void)db;
	(void)host_id;
	(void)account;
	(void)now_ms;
	(void)ret_owner;
	(void)size;
	return -ENOTSUP;
}

int pg_host_owner(struct db *db, const char *host_id, char *ret, size_t size)
{
	(void)db;
	(void)host_id;
	(void)ret;
	(void)size;
	return -ENOTSUP;
}

int pg_host_add(struct db *db, const char *host_id, const char *account, uint64_t now_ms,
		char *ret_owner, size_t size)
{
	(void)db;
	(void)host_id;
	(void)account;
	(void)now_ms;
	(void)ret_owner;
	(void)size;
	return -ENOTSUP;
}

int pg_host_del(struct db *db, const char *host_id)
{
	(void)db;
	(void)host_id;
	return -ENOTSUP;
}

int pg_host_foreach(struct db *db, hosts_row_cb cb, void *ctx)
{
	(void)db;
	(void)cb;
	(void)ctx;
	return -ENOTSUP;
}

const struct store_ops store_pg_ops = {
	.name = "postgresql",
	.open = store_pg_open,
	.close = pg_close,
	.errmsg = pg_errmsg,
	.schema_version = pg_schema_version,
	.account_add = pg_account_add,
	.account_hash = pg_account_hash,
	.token_add = pg_token_add,
	.token_lookup = pg_token_lookup,
	.refresh_add = pg_refresh_add,
	.refresh_use = pg_refresh_use,
	.counter_add = pg_counter_add,
	.record_insert = pg_record_insert,
	.begin = pg_begin,
	.commit = pg_commit,
	.rollback = pg_rollback,
	.in_transaction = pg_in_transaction,
	.records_foreach = pg_records_foreach,
	.records_expire = pg_records_expire,
	.rollups_expire = pg_rollups_expire,
	.stats_read = pg_stats_read,
	.token_auth = pg_token_auth,
	.account_set_role = pg_account_set_role,
	.account_role = pg_account_role,
	.api_hosts = pg_api_hosts,
	.api_host_key = pg_api_host_key,
	.api_series = pg_api_series,
	.api_speedtests = pg_api_speedtests,
	.api_execs = pg_api_execs,
	.api_records_after = pg_api_records_after,
	.api_last_record = pg_api_last_record,
	.alert_add = pg_alert_add,
	.alert_update = pg_alert_update,
	.alert_del = pg_alert_del,
	.alert_get = pg_alert_get,
	.alert_foreach = pg_alert_foreach,
	.alert_set_cursor = pg_alert_set_cursor,
	.alert_rules_json = pg_alert_rules_json,
	.alert_states_json = pg_alert_states_json,
	.alert_state_get = pg_alert_state_get,
	.alert_state_put = pg_alert_state_put,
	.alert_hosts = pg_alert_hosts,
	.alert_firing = pg_alert_firing,
	.alert_execs_after = pg_alert_execs_after,
	.revoke_family = pg_revoke_family,
	.revoke_account = pg_revoke_account,
	.revoke_delete_account = pg_revoke_delete_account,
	.host_claim = pg_host_claim,
	.host_owner = pg_host_owner,
	.host_add = pg_host_add,
	.host_del = pg_host_del,
	.host_foreach = pg_host_foreach,
};
