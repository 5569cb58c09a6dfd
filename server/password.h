/* Account passwords: argon2id encoded hashes (PHC string format). */
#ifndef SRVMON_SERVER_PASSWORD_H
#define SRVMON_SERVER_PASSWORD_H

#include <stddef.h>

/* Cost parameters (OWASP argon2id minimum: m=19 MiB, t=2, p=1). */
#define PASSWORD_T_COST	  2
#define PASSWORD_M_COST	  19456 /* KiB */
#define PASSWORD_PARALLEL 1
#define PASSWORD_SALT_LEN 16
#define PASSWORD_HASH_LEN 32
/* Longest password accepted, in bytes. */
#define PASSWORD_MAX_LEN 1024
/* Room for any encoded hash this module produces. */
#define PASSWORD_ENCODED_MAX 128

/* Hashes pw with a random salt into ret (size bytes). Returns 0, -EINVAL (empty or
 * too long password), -ENOSPC or -EIO (argon2 failure, e.g. out of memory). */
int password_hash(const char *pw, char *ret, size_t size);

/* Returns 0 when pw matches encoded, -EACCES when it does not, -EINVAL when encoded
 * is not an argon2id hash. */
int password_verify(const char *encoded, const char *pw);

/* An encoded hash of a random password with the same costs, for spending the same time
 * on unknown users as on known ones. Computed once; NULL on failure. */
const char *password_dummy_hash(void);

#endif
