/*
 * Reading a whole database out, for srvmon-server migrate (cli_migrate.c): the accounts with
 * their password hashes and roles, the unexpired access and refresh tokens, and the records
 * in id (arrival) order. The host owners and the alert rules are read with the engine-neutral
 * hosts_foreach() and db_alert_foreach(). Implemented for SQLite, the engine one migrates
 * from (store_sqlite_export.c); on another engine each returns -ENOTSUP.
 */
#ifndef SRVMON_SERVER_STORE_EXPORT_H
#define SRVMON_SERVER_STORE_EXPORT_H

#include "db.h"
#include "role.h"

#include <stdbool.h>
#include <stdint.h>

struct export_account {
	const char *name;
	const char *hash; /* the encoded argon2id hash, as stored */
	uint64_t created_ms;
	enum role role;
};

/* Calls cb for every account, by name; stops with cb's nonzero value. 0, cb's value, -EIO,
 * -ENOTSUP. */
typedef int (*export_account_cb)(const struct export_account *a, void *ctx);
int store_export_accounts(struct db *db, export_account_cb cb, void *ctx);

struct export_credential {
	const char *hash;
	const char *account;
	const char *family; /* NULL: none */
	uint64_t issued_ms;
	uint64_t expires_ms;
	bool used; /* refresh tokens: used once already (kept to detect a replay) */
};

/* Calls cb for every access token (refresh: every refresh token) that expires after now_ms,
 * in issue order; stops with cb's nonzero value. 0, cb's value, -EIO, -ENOTSUP. */
typedef int (*export_credential_cb)(const struct export_credential *c, void *ctx);
int store_export_credentials(struct db *db, bool refresh, uint64_t now_ms, export_credential_cb cb,
			     void *ctx);

/* Calls cb for at most limit records with id > after_id, in id order, then sets *ret_last to
 * the id of the last one (after_id when none); stops with cb's nonzero value. The strings of
 * rec live until cb returns. 0, cb's value, -EIO, -ENOTSUP. */
typedef int (*export_record_cb)(int64_t id, const struct db_record *rec, void *ctx);
int store_export_records(struct db *db, int64_t after_id, uint64_t limit, export_record_cb cb,
			 void *ctx, int64_t *ret_last);

#endif
