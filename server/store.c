/* The storage interface's dispatch (store.h): db_open() picks the engine by the --db value,
 * every other public operation calls the open engine's. Also the engine-neutral helpers. */
#include "store.h"

#include "json_out.h"
#include "numparse.h"
#include "sbuf.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

bool store_is_pg_url(const char *target)
{
	return strncmp(target, "postgresql://", strlen("postgresql://")) == 0 ||
	       strncmp(target, "postgres://", strlen("postgres://")) == 0;
}

/* Appends n bytes of s at *pos (cut at size - 1); false once something did not fit. */
static bool put(char *ret, size_t size, size_t *pos, const char *s, size_t n)
{
	size_t room = size - 1 - *pos;
	size_t k = n < room ? n : room;

	memcpy(ret + *pos, s, k);
	*pos += k;
	ret[*pos] = '\0';
	return k == n;
}

/* Whether the query parameter starting at p (up to its '=') names a password. */
static bool secret_param(const char *p, size_t name_len)
{
	static const char *const names[] = {"password", "sslpassword"};
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strlen(names[i]) == name_len && strncmp(p, names[i], name_len) == 0)
			return true;
	return false;
}

int store_target_safe(const char *target, char *ret, size_t size)
{
	const char *authority, *end, *at, *colon, *p;
	bool ok = true;
	size_t pos = 0;

	if (size == 0)
		return -ENOSPC;
	ret[0] = '\0';
	if (!store_is_pg_url(target))
		return put(ret, size, &pos, target, strlen(target)) ? 0 : -ENOSPC;
	/* postgresql://[userinfo@]host[:port][,...][/dbname][?param=value&...] */
	authority = strstr(target, "://") + 3;
	/* libpq takes user:password@ up to an '@' before the first '/' (a '?' may be in the
	 * password); the last such '@', so that a raw one in the password is covered too. */
	end = authority + strcspn(authority, "/");
	at = NULL;
	for (p = authority; p < end; p++)
		if (*p == '@')
			at = p;
	ok = put(ret, size, &pos, target, (size_t)(authority - target));
	if (at) {
		colon = memchr(authority, ':', (size_t)(at - authority));
		if (colon) {
			ok = ok && put(ret, size, &pos, authority, (size_t)(colon - authority));
			ok = ok && put(ret, size, &pos, ":***", 4);
		} else {
			ok = ok && put(ret, size, &pos, authority, (size_t)(at - authority));
		}
		authority = at;
	}
	p = strchr(authority, '?');
	end = authority + strlen(authority);
	ok = ok && put(ret, size, &pos, authority, (size_t)((p ? p : end) - authority));
	while (p && *p) {
		/* p at '?' or '&': the separator, then name=value up to the next '&'. */
		size_t len = 1 + strcspn(p + 1, "&");
		const char *eq = memchr(p + 1, '=', len - 1);

		if (eq && secret_param(p + 1, (size_t)(eq - p - 1))) {
			ok = ok && put(ret, size, &pos, p, (size_t)(eq + 1 - p));
			ok = ok && put(ret, size, &pos, "***", 3);
		} else {
			ok = ok && put(ret, size, &pos, p, len);
		}
		p += len;
	}
	return ok ? 0 : -ENOSPC;
}

struct db *db_open(const char *target, bool create, const char **ret_err)
{
	const char *dummy;

	if (!ret_err)
		ret_err = &dummy;
	if (!store_is_pg_url(target))
		return store_sqlite_open(target, create, ret_err);
#ifdef SRVMON_WITH_POSTGRESQL
	return store_pg_open(target, create, ret_err);
#else
	*ret_err = "srvmon-server was built without PostgreSQL support (libpq-dev missing at"
		   " build time)";
	errno = EPROTONOSUPPORT;
	return NULL;
#endif
}

void db_close(struct db *db)
{
	if (db)
		db->ops->close(db);
}

const char *db_errmsg(const struct db *db)
{
	return db->ops->errmsg(db);
}

bool db_reachable(const struct db *db)
{
	return db->ops->reachable(db);
}

void db_seq_format(uint64_t seq, char ret[DB_SEQ_DIGITS + 1])
{
	(void)snprintf(ret, DB_SEQ_DIGITS + 1, "%020" PRIu64, seq);
}

int db_seq_parse(const char *s, uint64_t *ret)
{
	return parse_u64(s, 0, UINT64_MAX, ret);
}

static const char *const state_names[] = {"ok", "firing", "resolved"};

const char *alert_state_name(enum alert_state_kind s)
{
	return (unsigned int)s < 3 ? state_names[s] : "?";
}

struct rules_json_ctx {
	struct sbuf *out;
	size_t n;
};

static int rule_json(const struct alert_rule *rule, int64_t exec_cursor, void *ctx)
{
	struct rules_json_ctx *c = ctx;
	int r = c->n++ ? sbuf_addc(c->out, ',') : 0;

	(void)exec_cursor;
	return r ? r : alert_rule_to_json(rule, c->out);
}

int store_alert_rules_json(struct db *db, struct sbuf *out)
{
	struct rules_json_ctx c = {.out = out};
	int r = sbuf_addc(out, '[');

	if (r == 0)
		r = db_alert_foreach(db, rule_json, &c);
	if (r == 0)
		r = sbuf_addc(out, ']');
	return r;
}

int db_schema_version(struct db *db, int *ret)
{
	return db->ops->schema_version(db, ret);
}

int db_account_add(struct db *db, const char *name, const char *hash, uint64_t now_ms)
{
	return db->ops->account_add(db, name, hash, now_ms);
}

int db_account_hash(struct db *db, const char *name, char *ret, size_t size)
{
	return db->ops->account_hash(db, name, ret, size);
}

int db_token_add(struct db *db, const char *hash, const char *account, const char *family,
		 uint64_t now_ms, uint64_t expires_ms)
{
	return db->ops->token_add(db, hash, account, family, now_ms, expires_ms);
}

int db_token_lookup(struct db *db, const char *hash, char *ret_account, size_t size,
		    uint64_t *ret_expires_ms)
{
	return db->ops->token_lookup(db, hash, ret_account, size, ret_expires_ms);
}

int db_refresh_add(struct db *db, const char *hash, const char *account, const char *family,
		   uint64_t now_ms, uint64_t expires_ms)
{
	return db->ops->refresh_add(db, hash, account, family, now_ms, expires_ms);
}

int db_refresh_use(struct db *db, const char *hash, uint64_t now_ms, char *ret_account, size_t size,
		   char *ret_family, size_t family_size)
{
	return db->ops->refresh_use(db, hash, now_ms, ret_account, size, ret_family, family_size);
}

int db_counter_add(struct db *db, const char *name, uint64_t delta)
{
	return db->ops->counter_add(db, name, delta);
}

int db_record_insert(struct db *db, const struct db_record *rec, bool *ret_inserted)
{
	return db->ops->record_insert(db, rec, ret_inserted);
}

int db_begin(struct db *db)
{
	return db->ops->begin(db);
}

int db_commit(struct db *db)
{
	return db->ops->commit(db);
}

void db_rollback(struct db *db)
{
	db->ops->rollback(db);
}

bool db_in_transaction(const struct db *db)
{
	return db->ops->in_transaction(db);
}

int db_records_foreach(struct db *db, const char *host_id, const char *type, uint64_t n,
		       db_record_cb cb, void *ctx)
{
	return db->ops->records_foreach(db, host_id, type, n, cb, ctx);
}

int db_records_expire(struct db *db, int64_t cutoff_ms, uint64_t batch, uint64_t *ret_deleted)
{
	return db->ops->records_expire(db, cutoff_ms, batch, ret_deleted);
}

int db_rollups_expire(struct db *db, int64_t cutoff_ms, uint64_t batch, uint64_t *ret_deleted)
{
	return db->ops->rollups_expire(db, cutoff_ms, batch, ret_deleted);
}

int db_stats_read(struct db *db, uint64_t now_ms, struct db_stats *ret)
{
	return db->ops->stats_read(db, now_ms, ret);
}

int db_token_auth(struct db *db, const char *hash, struct db_auth *ret)
{
	return db->ops->token_auth(db, hash, ret);
}

int db_account_set_role(struct db *db, const char *name, enum role role)
{
	return db->ops->account_set_role(db, name, role);
}

int db_account_role(struct db *db, const char *name, enum role *ret)
{
	return db->ops->account_role(db, name, ret);
}

int db_api_hosts(struct db *db, uint64_t now_ms, bool (*connected)(const char *host_id, void *ctx),
		 void *ctx, struct sbuf *out)
{
	return db->ops->api_hosts(db, now_ms, connected, ctx, out);
}

int db_api_host_key(struct db *db, const char *host_id, int64_t *ret_key)
{
	return db->ops->api_host_key(db, host_id, ret_key);
}

int db_api_series(struct db *db, const struct db_series_query *q, struct sbuf *out)
{
	return db->ops->api_series(db, q, out);
}

int db_api_speedtests(struct db *db, int64_t host, int64_t from, int64_t to, uint64_t limit,
		      struct sbuf *out)
{
	return db->ops->api_speedtests(db, host, from, to, limit, out);
}

int db_api_execs(struct db *db, const struct db_exec_query *q, struct sbuf *out, bool *ret_more,
		 int64_t *ret_next_ts, int64_t *ret_next_id)
{
	return db->ops->api_execs(db, q, out, ret_more, ret_next_ts, ret_next_id);
}

int db_api_records_after(struct db *db, int64_t after_id, const char *host_id, const char *type,
			 uint64_t limit, db_api_record_cb cb, void *ctx, int64_t *ret_last)
{
	return db->ops->api_records_after(db, after_id, host_id, type, limit, cb, ctx, ret_last);
}

int db_api_last_record(struct db *db, int64_t *ret)
{
	return db->ops->api_last_record(db, ret);
}

int db_alert_add(struct db *db, const struct alert_rule *rule, uint64_t now_ms, int64_t *ret_id)
{
	return db->ops->alert_add(db, rule, now_ms, ret_id);
}

int db_alert_update(struct db *db, const struct alert_rule *rule)
{
	return db->ops->alert_update(db, rule);
}

int db_alert_del(struct db *db, int64_t id)
{
	return db->ops->alert_del(db, id);
}

int db_alert_get(struct db *db, int64_t id, struct alert_rule *ret)
{
	return db->ops->alert_get(db, id, ret);
}

int db_alert_foreach(struct db *db, db_alert_rule_cb cb, void *ctx)
{
	return db->ops->alert_foreach(db, cb, ctx);
}

int db_alert_set_cursor(struct db *db, int64_t id, int64_t exec_cursor)
{
	return db->ops->alert_set_cursor(db, id, exec_cursor);
}

int db_alert_rules_json(struct db *db, struct sbuf *out)
{
	return db->ops->alert_rules_json(db, out);
}

int db_alert_states_json(struct db *db, struct sbuf *out)
{
	return db->ops->alert_states_json(db, out);
}

int db_alert_state_get(struct db *db, int64_t rule_id, int64_t host, struct alert_state *ret)
{
	return db->ops->alert_state_get(db, rule_id, host, ret);
}

int db_alert_state_put(struct db *db, int64_t rule_id, int64_t host, const struct alert_state *s,
		       uint64_t now_ms)
{
	return db->ops->alert_state_put(db, rule_id, host, s, now_ms);
}

int db_alert_hosts(struct db *db, const char *metric, const char *host_id, db_alert_host_cb cb,
		   void *ctx)
{
	return db->ops->alert_hosts(db, metric, host_id, cb, ctx);
}

int db_alert_firing(struct db *db, int64_t rule_id, db_alert_host_cb cb, void *ctx)
{
	return db->ops->alert_firing(db, rule_id, cb, ctx);
}

int db_alert_execs_after(struct db *db, int64_t cursor, uint64_t limit, db_alert_exec_cb cb,
			 void *ctx, int64_t *ret_last)
{
	return db->ops->alert_execs_after(db, cursor, limit, cb, ctx, ret_last);
}

int revoke_family(struct db *db, const char *family, struct revoke_counts *ret)
{
	return db->ops->revoke_family(db, family, ret);
}

int revoke_account(struct db *db, const char *account, struct revoke_counts *ret)
{
	return db->ops->revoke_account(db, account, ret);
}

int revoke_delete_account(struct db *db, const char *account, struct revoke_counts *ret)
{
	return db->ops->revoke_delete_account(db, account, ret);
}

int store_host_claim(struct db *db, const char *host_id, const char *account, uint64_t now_ms,
		     char *ret_owner, size_t size)
{
	return db->ops->host_claim(db, host_id, account, now_ms, ret_owner, size);
}

int store_host_owner(struct db *db, const char *host_id, char *ret, size_t size)
{
	return db->ops->host_owner(db, host_id, ret, size);
}

int hosts_add(struct db *db, const char *host_id, const char *account, uint64_t now_ms,
	      char *ret_owner, size_t size)
{
	return db->ops->host_add(db, host_id, account, now_ms, ret_owner, size);
}

int hosts_del(struct db *db, const char *host_id)
{
	return db->ops->host_del(db, host_id);
}

int hosts_foreach(struct db *db, hosts_row_cb cb, void *ctx)
{
	return db->ops->host_foreach(db, cb, ctx);
}

const char *const store_api_host_members[STORE_API_HOST_MEMBERS] = {
	"host_id",	  "hostname",	   "os",
	"kernel",	  "agent_version", "collector",
	"last_seen_ms",	  "first_seen_ms", "cpu_percent",
	"ram_total",	  "ram_available", "disk_total",
	"disk_available", "resources_ts",  "upload_rate",
	"download_rate",  "rx_peak_rate",  "tx_peak_rate",
	"network_ts",
};

int64_t store_host_interval(const int64_t intervals[3])
{
	int64_t best = 0;

	for (int i = 0; i < 3; i++) {
		if (intervals[i] > 0 && (best == 0 || intervals[i] < best))
			best = intervals[i];
	}
	return best > DB_API_INTERVAL_MAX_MS ? DB_API_INTERVAL_MAX_MS : best;
}

int store_api_host_end(struct sbuf *out, uint64_t now_ms, int64_t last_seen_ms, int64_t interval,
		       bool (*connected)(const char *host_id, void *ctx), const char *host_id,
		       void *ctx)
{
	int64_t window = interval ? DB_API_ONLINE_INTERVALS * interval : DB_API_ONLINE_DEFAULT_MS;
	bool online =
		(int64_t)now_ms - last_seen_ms <= window || (connected && connected(host_id, ctx));
	int r = sbuf_adds(out, ",\"interval_ms\":");

	if (r == 0)
		r = interval ? json_add_i64(out, interval) : sbuf_adds(out, "null");
	if (r == 0)
		r = sbuf_adds(out, online ? ",\"online\":true}" : ",\"online\":false}");
	return r;
}
