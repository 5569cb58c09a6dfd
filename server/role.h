/* Account roles: what an account's tokens may do (docs/api.md, "Accounts, roles"). Pure. */
#ifndef SRVMON_SERVER_ROLE_H
#define SRVMON_SERVER_ROLE_H

#include <stdbool.h>

enum role {
	ROLE_AGENT,  /* ingest over /ws and the speed-test endpoints only */
	ROLE_VIEWER, /* reads /api/v1 */
	ROLE_ADMIN,  /* reads /api/v1 and manages alert rules */
};

/* "agent", "viewer" or "admin" into *ret. 0 or -EINVAL. */
int role_parse(const char *s, enum role *ret);
const char *role_name(enum role r);

bool role_may_ingest(enum role r);
bool role_may_read(enum role r);
bool role_may_admin(enum role r);

#endif
