/*
 * srvmon-server migrate --from sqlite:PATH --to postgresql://...: moves an installation from
 * its SQLite file to another database (a postgresql:// URL; sqlite:PATH works too), reading
 * the source with store_export.h and writing through the engine-neutral store operations, in
 * three steps:
 *   1. in one transaction: the accounts (hash, role, created time), then the unexpired access
 *      and refresh tokens of the accounts this run created (a used refresh token is marked
 *      used again, so that its replay is still seen), then the host owners;
 *   2. the records in id order, --batch of them per transaction (deduplicated by the
 *      target's unique index, so a rerun or an interrupted run inserts only what is
 *      missing), with a progress line at most once a second;
 *   3. in one transaction: the alert rules the target does not have (same name, kind,
 *      metric and host), an exec rule's cursor at the target's last record so that the
 *      migrated execs do not fire it again.
 * Rerunning it is safe: accounts already on the target are kept as they are there (with
 * their tokens), records and rules are not duplicated. Not copied: the counters of `stats`
 * and the alert states (evaluated again). The source should not be served meanwhile (a
 * record it stores during the run may or may not be copied: run it again after stopping the
 * server). Opening the source brings it to the current schema, as a server start would.
 */
#include "cli.h"

#include "log.h"
#include "monoclock.h"
#include "numparse.h"
#include "password.h"
#include "db.h"
#include "db_alerts.h"
#include "db_api.h"
#include "hosts.h"
#include "store.h"
#include "store_export.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MIGRATE_BATCH_DEFAULT 1000
#define MIGRATE_BATCH_MAX     100000
#define MIGRATE_NAME_MAX      512

struct migrate {
	struct db *src, *dst;
	char src_name[MIGRATE_NAME_MAX]; /* as printed: sqlite:PATH */
	char dst_name[MIGRATE_NAME_MAX]; /* as printed: without a password */
	uint64_t now_ms;
	uint64_t batch;
	/* The accounts this run created, in name order (the export's): their tokens follow. */
	char **fresh;
	size_t n_fresh, cap_fresh;
	uint64_t accounts_kept, tokens, refresh, hosts, hosts_conflict;
	uint64_t rules_new, rules_kept;
	uint64_t records_read, records_total, progress_ms;
	int dst_err; /* a write to the target failed (else a failure is the source's) */
	/* step 3: the target's rules */
	struct alert_rule *have;
	size_t n_have, cap_have;
};

static int fresh_add(struct migrate *m, const char *name)
{
	char *copy;

	if (m->n_fresh == m->cap_fresh) {
		size_t cap = m->cap_fresh ? 2 * m->cap_fresh : 16;
		char **v = realloc(m->fresh, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		m->fresh = v;
		m->cap_fresh = cap;
	}
	copy = strdup(name);
	if (!copy)
		return -ENOMEM;
	m->fresh[m->n_fresh++] = copy;
	return 0;
}

/* r of a write to the target, noted. */
static int dst_write(struct migrate *m, int r)
{
	if (r < 0)
		m->dst_err = r;
	return r;
}

/* The failure's message: the target's, the source's, or out of memory. */
static const char *why(const struct migrate *m, int r)
{
	if (r == -ENOMEM)
		return "out of memory";
	return m->dst_err ? db_errmsg(m->dst) : db_errmsg(m->src);
}

/* "source" or "target", the side that failed. */
static const char *side(const struct migrate *m, int r)
{
	return r != -ENOMEM && !m->dst_err ? "source" : "target";
}

static int name_cmp(const void *key, const void *elem)
{
	return strcmp(key, *(char *const *)elem);
}

static bool fresh_has(const struct migrate *m, const char *name)
{
	return m->n_fresh && bsearch(name, m->fresh, m->n_fresh, sizeof(*m->fresh), name_cmp);
}

static int copy_account(const struct export_account *a, void *ctx)
{
	char hash[PASSWORD_ENCODED_MAX];
	struct migrate *m = ctx;
	int r;

	/* Looked up first rather than inserted and refused: on PostgreSQL a refused INSERT
	 * would abort the whole transaction. */
	r = db_account_hash(m->dst, a->name, hash, sizeof(hash));
	if (r == 0) {
		m->accounts_kept++;
		return 0;
	}
	if (r == -ENOENT)
		r = db_account_add(m->dst, a->name, a->hash, a->created_ms);
	if (r == 0)
		r = db_account_set_role(m->dst, a->name, a->role);
	if (dst_write(m, r) < 0)
		return r;
	return fresh_add(m, a->name);
}

static int copy_token(const struct export_credential *c, void *ctx)
{
	struct migrate *m = ctx;

	if (!fresh_has(m, c->account))
		return 0;
	m->tokens++;
	return dst_write(m, db_token_add(m->dst, c->hash, c->account, c->family, c->issued_ms,
					 c->expires_ms));
}

static int copy_refresh(const struct export_credential *c, void *ctx)
{
	char account[GRANT_MAX_USERNAME + 1], family[128];
	struct migrate *m = ctx;
	int r;

	if (!fresh_has(m, c->account))
		return 0;
	m->refresh++;
	r = db_refresh_add(m->dst, c->hash, c->account, c->family, c->issued_ms, c->expires_ms);
	if (r == 0 && c->used)
		r = db_refresh_use(m->dst, c->hash, m->now_ms, account, sizeof(account), family,
				   sizeof(family));
	return dst_write(m, r);
}

/* A host keeps its owner and first/last seen (a claim stamps them); one assigned by host add
 * that never sent a record stays without. Owned by another account on the target: kept
 * there, said. */
static int copy_host(const struct hosts_row *row, void *ctx)
{
	char owner[GRANT_MAX_USERNAME + 1];
	struct migrate *m = ctx;
	int r;

	if (row->first_seen_ms == 0) {
		r = hosts_add(m->dst, row->host_id, row->account, row->assigned_ms, owner,
			      sizeof(owner));
		if (r == -ENOENT) /* its account was deleted: the name keeps it */
			r = store_host_claim(m->dst, row->host_id, row->account, row->assigned_ms,
					     owner, sizeof(owner));
		if (r == -EEXIST)
			r = 0;
	} else {
		r = store_host_claim(m->dst, row->host_id, row->account, row->first_seen_ms, owner,
				     sizeof(owner));
		if (r == 0)
			r = store_host_claim(m->dst, row->host_id, row->account, row->last_seen_ms,
					     owner, sizeof(owner));
	}
	if (dst_write(m, r) < 0)
		return r;
	m->hosts++;
	if (strcmp(owner, row->account) != 0) {
		char host[128], was[GRANT_MAX_USERNAME + 1], is[GRANT_MAX_USERNAME + 1];

		hosts_clean(row->host_id, host, sizeof(host));
		hosts_clean(row->account, was, sizeof(was));
		hosts_clean(owner, is, sizeof(is));
		log_warn("migrate: host \"%s\" of \"%s\" is owned by \"%s\" on the target, kept so",
			 host, was, is);
		m->hosts_conflict++;
	}
	return 0;
}

static int copy_credentials(struct migrate *m)
{
	int r;

	r = dst_write(m, db_begin(m->dst));
	if (r == 0)
		r = store_export_accounts(m->src, copy_account, m);
	if (r == 0)
		r = store_export_credentials(m->src, false, m->now_ms, copy_token, m);
	if (r == 0)
		r = store_export_credentials(m->src, true, m->now_ms, copy_refresh, m);
	if (r == 0)
		r = hosts_foreach(m->src, copy_host, m);
	if (r == 0)
		r = dst_write(m, db_commit(m->dst));
	if (r == 0)
		return 0;
	db_rollback(m->dst);
	log_err("migrate: accounts, tokens and hosts from \"%s\" to \"%s\" (none copied): %s"
		" \"%s\": %s",
		m->src_name, m->dst_name, side(m, r), m->dst_err ? m->dst_name : m->src_name,
		why(m, r));
	return r;
}

static void progress(struct migrate *m, bool last)
{
	uint64_t now = mono_ms();

	if (!last && now - m->progress_ms < 1000)
		return;
	m->progress_ms = now;
	(void)fprintf(stderr, "migrate: records %" PRIu64 " of %" PRIu64 " (%" PRIu64 "%%)\n",
		      m->records_read, m->records_total,
		      m->records_total ? 100 * m->records_read / m->records_total : 100);
}

static int copy_record(int64_t id, const struct db_record *rec, void *ctx)
{
	struct migrate *m = ctx;

	(void)id;
	m->records_read++;
	return dst_write(m, db_record_insert(m->dst, rec, NULL));
}

/* Step 2. *ret_inserted: how many the target gained. */
static int copy_records(struct migrate *m, uint64_t *ret_inserted)
{
	struct db_stats before, after;
	int64_t last = 0;
	int r;

	*ret_inserted = 0;
	r = db_stats_read(m->src, m->now_ms, &before);
	if (r < 0)
		goto fail;
	m->records_total = before.records;
	r = dst_write(m, db_stats_read(m->dst, m->now_ms, &before));
	if (r < 0)
		goto fail;
	m->progress_ms = mono_ms();
	for (;;) {
		int64_t next = last;

		r = dst_write(m, db_begin(m->dst));
		if (r == 0)
			r = store_export_records(m->src, last, m->batch, copy_record, m, &next);
		if (r == 0)
			r = dst_write(m, db_commit(m->dst));
		if (r < 0) {
			db_rollback(m->dst);
			goto fail;
		}
		if (next == last)
			break;
		last = next;
		progress(m, false);
	}
	progress(m, true);
	r = dst_write(m, db_stats_read(m->dst, m->now_ms, &after));
	if (r < 0)
		goto fail;
	*ret_inserted = after.records > before.records ? after.records - before.records : 0;
	return 0;
fail:
	log_err("migrate: records after id %" PRId64 " (those up to it are copied; run it again"
		" to go on): %s \"%s\": %s",
		last, side(m, r), m->dst_err ? m->dst_name : m->src_name, why(m, r));
	return r;
}

static int have_rule(const struct alert_rule *rule, int64_t exec_cursor, void *ctx)
{
	struct migrate *m = ctx;

	(void)exec_cursor;
	if (m->n_have == m->cap_have) {
		size_t cap = m->cap_have ? 2 * m->cap_have : 8;
		struct alert_rule *v = realloc(m->have, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		m->have = v;
		m->cap_have = cap;
	}
	m->have[m->n_have++] = *rule;
	return 0;
}

static bool same_rule(const struct alert_rule *a, const struct alert_rule *b)
{
	return a->kind == b->kind && strcmp(a->name, b->name) == 0 &&
	       strcmp(a->metric, b->metric) == 0 && strcmp(a->host_id, b->host_id) == 0;
}

static int copy_rule(const struct alert_rule *rule, int64_t exec_cursor, void *ctx)
{
	struct migrate *m = ctx;
	struct alert_rule copy = *rule;
	int64_t id, last;
	int r;

	(void)exec_cursor; /* a record id of the source: meaningless on the target */
	for (size_t i = 0; i < m->n_have; i++) {
		if (same_rule(&m->have[i], rule)) {
			m->rules_kept++;
			return 0;
		}
	}
	copy.id = 0;
	r = db_alert_add(m->dst, &copy, rule->created_ms, &id);
	if (r == 0 && rule->kind == ALERT_EXEC)
		r = db_api_last_record(m->dst, &last);
	if (r == 0 && rule->kind == ALERT_EXEC)
		r = db_alert_set_cursor(m->dst, id, last);
	if (r == 0)
		m->rules_new++;
	return dst_write(m, r);
}

static int copy_rules(struct migrate *m)
{
	int r;

	r = dst_write(m, db_begin(m->dst));
	if (r == 0)
		r = db_alert_foreach(m->dst, have_rule, m);
	if (r < 0 && r != -ENOMEM)
		m->dst_err = r;
	if (r == 0)
		r = db_alert_foreach(m->src, copy_rule, m);
	if (r == 0)
		r = dst_write(m, db_commit(m->dst));
	if (r == 0)
		return 0;
	db_rollback(m->dst);
	log_err("migrate: alert rules from \"%s\" to \"%s\" (none copied): %s \"%s\": %s",
		m->src_name, m->dst_name, side(m, r), m->dst_err ? m->dst_name : m->src_name,
		why(m, r));
	return r;
}

static void migrate_free(struct migrate *m)
{
	for (size_t i = 0; i < m->n_fresh; i++)
		free(m->fresh[i]);
	free(m->fresh);
	free(m->have);
	db_close(m->dst);
	db_close(m->src);
}

/* --from sqlite:PATH, --to postgresql://... or sqlite:PATH, --batch N. */
static int parse_opts(int argc, char **argv, const char **ret_from, const char **ret_to,
		      uint64_t *ret_batch)
{
	static const struct option longopts[] = {
		{"from", required_argument, NULL, 'f'},
		{"to", required_argument, NULL, 't'},
		{"batch", required_argument, NULL, 'b'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};

	for (;;) {
		int c = getopt_long(argc, argv, "", longopts, NULL);

		if (c == -1)
			break;
		if (c == 'f')
			*ret_from = optarg;
		else if (c == 't')
			*ret_to = optarg;
		else if (c == 'b' && parse_u64(optarg, 1, MIGRATE_BATCH_MAX, ret_batch) < 0)
			return cli_usage_error("migrate: --batch \"%s\" is not 1..100000", optarg);
		else if (c == 'h')
			return CLI_SHOW_USAGE;
		else if (c != 'b')
			return cli_usage_error("%s", "migrate: bad option");
	}
	if (optind != argc)
		return cli_usage_error("migrate: unexpected argument \"%s\"", argv[optind]);
	if (!*ret_from || strncmp(*ret_from, "sqlite:", strlen("sqlite:")) != 0 ||
	    !(*ret_from)[strlen("sqlite:")])
		return cli_usage_error("%s", "migrate: --from sqlite:PATH is required");
	if (!*ret_to ||
	    (!store_is_pg_url(*ret_to) && (strncmp(*ret_to, "sqlite:", strlen("sqlite:")) != 0 ||
					   !(*ret_to)[strlen("sqlite:")])))
		return cli_usage_error("%s", "migrate: --to postgresql://... (or sqlite:PATH) is"
					     " required");
	if (strcmp(*ret_from, *ret_to) == 0)
		return cli_usage_error("%s", "migrate: --from and --to name the same database");
	return 0;
}

static struct db *open_side(const char *target, bool create, const char *side, const char *name)
{
	const char *err = NULL;
	struct db *db;

	if (strncmp(target, "sqlite:", strlen("sqlite:")) == 0)
		target += strlen("sqlite:");
	db = db_open(target, create, &err);
	if (!db)
		log_err("migrate: %s \"%s\": cannot open: %s", side, name, err ? err : "unknown");
	return db;
}

int cmd_migrate(int argc, char **argv)
{
	struct migrate m = {.batch = MIGRATE_BATCH_DEFAULT};
	const char *from = NULL, *to = NULL;
	uint64_t inserted = 0;
	int r;

	r = parse_opts(argc, argv, &from, &to, &m.batch);
	if (r)
		return r;
	/* Cut names are still safe to print (-ENOSPC only says they were cut). */
	(void)store_target_safe(from, m.src_name, sizeof(m.src_name));
	(void)store_target_safe(to, m.dst_name, sizeof(m.dst_name));
	m.now_ms = wall_ms();
	r = -EIO;
	m.src = open_side(from, false, "source", m.src_name);
	if (!m.src)
		goto out;
	m.dst = open_side(to, true, "target", m.dst_name);
	if (!m.dst)
		goto out;
	r = copy_credentials(&m);
	if (r == 0)
		r = copy_records(&m, &inserted);
	if (r == 0)
		r = copy_rules(&m);
	if (r < 0)
		goto out;
	(void)fprintf(stderr,
		      "migrated \"%s\" to \"%s\": %zu accounts (%" PRIu64
		      " already there, kept), %" PRIu64 " access and %" PRIu64
		      " refresh tokens, %" PRIu64 " hosts (%" PRIu64
		      " owned by another account there), %" PRIu64 " alert rules (%" PRIu64
		      " already there), %" PRIu64 " records read, %" PRIu64 " inserted\n",
		      m.src_name, m.dst_name, m.n_fresh, m.accounts_kept, m.tokens, m.refresh,
		      m.hosts, m.hosts_conflict, m.rules_new, m.rules_kept, m.records_read,
		      inserted);
out:
	migrate_free(&m);
	return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
