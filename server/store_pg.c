/* The PostgreSQL engine (store_pg_impl.h): opening a database (connection, schema, today's
 * partitions), closing it, transactions, and its table of operations (store_pg_ops). */
#include "store_pg_impl.h"

#include "monoclock.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct db *store_pg_open(const char *url, bool create, const char **ret_err)
{
	static char msg[256];
	struct store_pg *pg;
	size_t size;
	int r;

	*ret_err = "out of memory";
	pg = calloc(1, sizeof(*pg));
	if (!pg) {
		errno = ENOMEM;
		return NULL;
	}
	pg->base.ops = &store_pg_ops;
	/* "***" for each password: room for the worst case of short ones. */
	size = 2 * strlen(url) + 16;
	pg->conninfo = strdup(url);
	pg->safe_target = malloc(size);
	if (!pg->conninfo || !pg->safe_target) {
		r = -ENOMEM;
		goto fail;
	}
	(void)store_target_safe(url, pg->safe_target, size);
	r = pg_open_connection(pg);
	if (r < 0) {
		*ret_err = pg->err;
		goto fail;
	}
	/* Creates or migrates the schema (one transaction, under an advisory lock). */
	r = pg_schema_migrate(&pg->base, create, ret_err);
	if (r < 0)
		goto fail;
	/* Today's and tomorrow's day partitions, before any ingest transaction needs them. */
	r = pg_partitions_prepare(&pg->base, (int64_t)wall_ms());
	if (r < 0) {
		*ret_err = pg->err;
		goto fail;
	}
	return &pg->base;
fail:
	/* The message may live in the handle: keep a copy before freeing it. */
	(void)snprintf(msg, sizeof(msg), "%s", *ret_err);
	*ret_err = msg;
	pg_close(&pg->base);
	errno = -r;
	return NULL;
}

void pg_close(struct db *db)
{
	struct store_pg *pg = pg_of(db);

	if (!pg)
		return;
	pg_batch_free(pg->batch);
	/* Closing the connection rolls an open transaction back. */
	if (pg->conn)
		PQfinish(pg->conn);
	pg_stmts_free(pg->stmts);
	pg_parts_free(pg->parts);
	free(pg->conninfo);
	free(pg->safe_target);
	free(pg);
}

const char *pg_errmsg(const struct db *db)
{
	const struct store_pg *pg = pg_of_const(db);

	return pg->err[0] ? pg->err : "no error";
}

int pg_begin(struct db *db)
{
	struct store_pg *pg = pg_of(db);
	int r;

	if (pg->in_tx)
		return -EBUSY;
	/* A new UTC day's partitions are made here, outside any transaction (cached: nothing
	 * to do for the rest of the day). Reconnects when the database was away. */
	r = pg_partitions_prepare(db, (int64_t)wall_ms());
	if (r == 0)
		r = pg_connect(pg);
	if (r == 0)
		r = pg_tx_command(db, "BEGIN");
	if (r < 0)
		return -EIO;
	pg->in_tx = true;
	return 0;
}

int pg_commit(struct db *db)
{
	struct store_pg *pg = pg_of(db);
	int r = 0;

	if (!pg->in_tx)
		return 0;
	if (pg_batch_pending(pg))
		r = pg_batch_flush(db);
	if (r == 0)
		r = pg_tx_command(db, "COMMIT");
	/* After a failed statement the server holds the aborted transaction until ROLLBACK. */
	if (r < 0 && pg->conn && PQtransactionStatus(pg->conn) != PQTRANS_IDLE)
		(void)pg_tx_command(db, "ROLLBACK");
	pg_batch_discard(pg);
	pg_parts_tx_end(pg, r == 0);
	pg->in_tx = false;
	return r < 0 ? -EIO : 0;
}

void pg_rollback(struct db *db)
{
	struct store_pg *pg = pg_of(db);

	if (!pg->in_tx)
		return;
	pg_batch_discard(pg);
	if (pg->conn)
		(void)pg_tx_command(db, "ROLLBACK");
	pg_parts_tx_end(pg, false);
	pg->in_tx = false;
}

/* Not while the loss is logged and the reconnect not yet made. */
static bool pg_reachable(const struct db *db)
{
	return !pg_of_const(db)->down_logged;
}

bool pg_in_transaction(const struct db *db)
{
	return pg_of_const(db)->in_tx;
}

const struct store_ops store_pg_ops = {
	.name = "postgresql",
	.open = store_pg_open,
	.close = pg_close,
	.errmsg = pg_errmsg,
	.reachable = pg_reachable,
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
