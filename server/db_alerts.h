/* Alert rules and their per-host states in the database (tables of store_sqlite_schema.c). */
#ifndef SRVMON_SERVER_DB_ALERTS_H
#define SRVMON_SERVER_DB_ALERTS_H

#include "alert_rule.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct db;
struct sbuf;

/* Stores a checked rule; *ret_id its id. 0 or -EIO. */
int db_alert_add(struct db *db, const struct alert_rule *rule, uint64_t now_ms, int64_t *ret_id);
/* Replaces the rule of that id (its states stay). 0, -ENOENT, -EIO. */
int db_alert_update(struct db *db, const struct alert_rule *rule);
/* Deletes a rule and its states. 0, -ENOENT, -EIO. */
int db_alert_del(struct db *db, int64_t id);
/* 0, -ENOENT, -EIO. */
int db_alert_get(struct db *db, int64_t id, struct alert_rule *ret);
/* Calls cb for every rule by id, with its exec cursor. 0, cb's nonzero value, -EIO. */
typedef int (*db_alert_rule_cb)(const struct alert_rule *rule, int64_t exec_cursor, void *ctx);
int db_alert_foreach(struct db *db, db_alert_rule_cb cb, void *ctx);
int db_alert_set_cursor(struct db *db, int64_t id, int64_t exec_cursor);

/* The JSON array of the rules / of the states that ever fired (GET /api/v1/alerts/state). */
int db_alert_rules_json(struct db *db, struct sbuf *out);
int db_alert_states_json(struct db *db, struct sbuf *out);

enum alert_state_kind {
	ALERT_STATE_OK, /* never fired */
	ALERT_STATE_FIRING,
	ALERT_STATE_RESOLVED,
};

struct alert_state {
	enum alert_state_kind state;
	bool have_since;
	int64_t since_ms; /* metric: condition holds since (sample ts); exec: last match */
	int64_t fired_ms, resolved_ms; /* 0: never */
	double value;
};

/* The state of (rule, host); a pair never seen is ALERT_STATE_OK without since. */
int db_alert_state_get(struct db *db, int64_t rule_id, int64_t host, struct alert_state *ret);
int db_alert_state_put(struct db *db, int64_t rule_id, int64_t host, const struct alert_state *s,
		       uint64_t now_ms);
const char *alert_state_name(enum alert_state_kind s);

/* A host as the evaluation sees it (strings valid during the callback). */
struct alert_host {
	int64_t key;
	const char *host_id;
	const char *hostname; /* "" before its hello */
	int64_t last_seen_ms;
	bool have_value;
	double value; /* the latest sample of the rule's metric */
	int64_t ts;   /* its sample time */
};

typedef int (*db_alert_host_cb)(const struct alert_host *h, void *ctx);
/* The hosts (host_id NULL: all) with the latest value of metric (NULL: none). */
int db_alert_hosts(struct db *db, const char *metric, const char *host_id, db_alert_host_cb cb,
		   void *ctx);
/* The hosts of the rule's firing states, with since_ms in h->ts. */
int db_alert_firing(struct db *db, int64_t rule_id, db_alert_host_cb cb, void *ctx);

/* exec records stored after cursor (execs.id), in order, at most limit: the host, the argv
 * joined with spaces, the record's seq. *ret_last is the last id looked at. */
typedef int (*db_alert_exec_cb)(const struct alert_host *h, const char *cmdline, uint64_t seq,
				void *ctx);
int db_alert_execs_after(struct db *db, int64_t cursor, uint64_t limit, db_alert_exec_cb cb,
			 void *ctx, int64_t *ret_last);

#endif
