/* The PostgreSQL engine's read half (store_pg_impl.h): STUBS, to be replaced by the real
 * derived tables, read API queries and alerts. */
#include "store_pg_impl.h"

#include <errno.h>

int pg_api_schema(struct db *db, const char **ret_err)
{
	(void)db;
	*ret_err = "the PostgreSQL read API is not implemented yet";
	return -ENOTSUP;
}

int pg_api_apply(struct db *db, const struct db_record *const *recs, const int64_t *ids, size_t n)
{
	(void)db;
	(void)recs;
	(void)ids;
	(void)n;
	return -ENOTSUP;
}

int pg_api_expire(struct db *db, int64_t cutoff_ms, uint64_t batch, uint64_t *ret_deleted)
{
	(void)db;
	(void)cutoff_ms;
	(void)batch;
	(void)ret_deleted;
	return -ENOTSUP;
}

int pg_rollups_expire(struct db *db, int64_t cutoff_ms, uint64_t batch, uint64_t *ret_deleted)
{
	(void)db;
	(void)cutoff_ms;
	(void)batch;
	(void)ret_deleted;
	return -ENOTSUP;
}

int pg_api_hosts(struct db *db, uint64_t now_ms, bool (*connected)(const char *host_id, void *ctx),
		 void *ctx, struct sbuf *out)
{
	(void)db;
	(void)now_ms;
	(void)connected;
	(void)ctx;
	(void)out;
	return -ENOTSUP;
}

int pg_api_host_key(struct db *db, const char *host_id, int64_t *ret_key)
{
	(void)db;
	(void)host_id;
	(void)ret_key;
	return -ENOTSUP;
}

int pg_api_series(struct db *db, const struct db_series_query *q, struct sbuf *out)
{
	(void)db;
	(void)q;
	(void)out;
	return -ENOTSUP;
}

int pg_api_speedtests(struct db *db, int64_t host, int64_t from, int64_t to, uint64_t limit,
		      struct sbuf *out)
{
	(void)db;
	(void)host;
	(void)from;
	(void)to;
	(void)limit;
	(void)out;
	return -ENOTSUP;
}

int pg_api_execs(struct db *db, const struct db_exec_query *q, struct sbuf *out, bool *ret_more,
		 int64_t *ret_next_ts, int64_t *ret_next_id)
{
	(void)db;
	(void)q;
	(void)out;
	(void)ret_more;
	(void)ret_next_ts;
	(void)ret_next_id;
	return -ENOTSUP;
}

int pg_api_records_after(struct db *db, int64_t after_id, const char *host_id, const char *type,
			 uint64_t limit, db_api_record_cb cb, void *ctx, int64_t *ret_last)
{
	(void)db;
	(void)after_id;
	(void)host_id;
	(void)type;
	(void)limit;
	(void)cb;
	(void)ctx;
	(void)ret_last;
	return -ENOTSUP;
}

int pg_api_last_record(struct db *db, int64_t *ret)
{
	(void)db;
	(void)ret;
	return -ENOTSUP;
}

int pg_alert_add(struct db *db, const struct alert_rule *rule, uint64_t now_ms, int64_t *ret_id)
{
	(void)db;
	(void)rule;
	(void)now_ms;
	(void)ret_id;
	return -ENOTSUP;
}

int pg_alert_update(struct db *db, const struct alert_rule *rule)
{
	(void)db;
	(void)rule;
	return -ENOTSUP;
}

int pg_alert_del(struct db *db, int64_t id)
{
	(void)db;
	(void)id;
	return -ENOTSUP;
}

int pg_alert_get(struct db *db, int64_t id, struct alert_rule *ret)
{
	(void)db;
	(void)id;
	(void)ret;
	return -ENOTSUP;
}

int pg_alert_foreach(struct db *db, db_alert_rule_cb cb, void *ctx)
{
	(void)db;
	(void)cb;
	(void)ctx;
	return -ENOTSUP;
}

int pg_alert_set_cursor(struct db *db, int64_t id, int64_t exec_cursor)
{
	(void)db;
	(void)id;
	(void)exec_cursor;
	return -ENOTSUP;
}

int pg_alert_rules_json(struct db *db, struct sbuf *out)
{
	(void)db;
	(void)out;
	return -ENOTSUP;
}

int pg_alert_states_json(struct db *db, struct sbuf *out)
{
	(void)db;
	(void)out;
	return -ENOTSUP;
}

int pg_alert_state_get(struct db *db, int64_t rule_id, int64_t host, struct alert_state *ret)
{
	(void)db;
	(void)rule_id;
	(void)host;
	(void)ret;
	return -ENOTSUP;
}

int pg_alert_state_put(struct db *db, int64_t rule_id, int64_t host, const struct alert_state *s,
		       uint64_t now_ms)
{
	(void)db;
	(void)rule_id;
	(void)host;
	(void)s;
	(void)now_ms;
	return -ENOTSUP;
}

int pg_alert_hosts(struct db *db, const char *metric, const char *host_id, db_alert_host_cb cb,
		   void *ctx)
{
	(void)db;
	(void)metric;
	(void)host_id;
	(void)cb;
	(void)ctx;
	return -ENOTSUP;
}

int pg_alert_firing(struct db *db, int64_t rule_id, db_alert_host_cb cb, void *ctx)
{
	(void)db;
	(void)rule_id;
	(void)cb;
	(void)ctx;
	return -ENOTSUP;
}

int pg_alert_execs_after(struct db *db, int64_t cursor, uint64_t limit, db_alert_exec_cb cb,
			 void *ctx, int64_t *ret_last)
{
	(void)db;
	(void)cursor;
	(void)limit;
	(void)cb;
	(void)ctx;
	(void)ret_last;
	return -ENOTSUP;
}
