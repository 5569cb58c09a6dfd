/* uid -> user name, cached: exec records name their user without a lookup per exec. */
#ifndef SRVMON_EXEC_USERS_H
#define SRVMON_EXEC_USERS_H

#include <stdint.h>

struct exec_users;

/* ttl_ms: how long a name (or its absence) is trusted. NULL + errno. */
struct exec_users *exec_users_new(uint64_t ttl_ms);
/* The name of uid, or NULL when it has none. Valid until the next call. now_ms is a
 * monotonic clock reading. Not thread-safe: one cache per thread. */
const char *exec_users_name(struct exec_users *u, uint32_t uid, uint64_t now_ms);
void exec_users_free(struct exec_users *u);

#endif
