/* Revoking credentials: a refresh-token family on replay, all tokens of an account, and
 * deleting an account. */
#ifndef SRVMON_SERVER_REVOKE_H
#define SRVMON_SERVER_REVOKE_H

#include <stdint.h>

struct db;

struct revoke_counts {
	uint64_t access;  /* access tokens deleted */
	uint64_t refresh; /* refresh tokens deleted (used ones included) */
};

/* Deletes every access and refresh token of a refresh family. 0 or -EIO. */
int revoke_family(struct db *db, const char *family, struct revoke_counts *ret);
/* Deletes every access and refresh token of account. 0 or -EIO. */
int revoke_account(struct db *db, const char *account, struct revoke_counts *ret);
/* Deletes account and all its tokens, in one transaction; its hosts stay assigned to the
 * name (no other account can take them over). 0, -ENOENT (no such account), -EIO. */
int revoke_delete_account(struct db *db, const char *account, struct revoke_counts *ret);

#endif
