#include "role.h"

#include <errno.h>
#include <string.h>

/* Policy as data: one row per role, in enum order. */
static const struct {
	const char *name;
	bool ingest;
	bool read;
	bool admin;
} roles[] = {
	[ROLE_AGENT] = {"agent", true, false, false},
	[ROLE_VIEWER] = {"viewer", false, true, false},
	[ROLE_ADMIN] = {"admin", false, true, true},
};

#define N_ROLES (sizeof(roles) / sizeof(roles[0]))

int role_parse(const char *s, enum role *ret)
{
	for (size_t i = 0; i < N_ROLES; i++) {
		if (strcmp(s, roles[i].name) == 0) {
			*ret = (enum role)i;
			return 0;
		}
	}
	return -EINVAL;
}

const char *role_name(enum role r)
{
	return (unsigned int)r < N_ROLES ? roles[r].name : "?";
}

bool role_may_ingest(enum role r)
{
	return (unsigned int)r < N_ROLES && roles[r].ingest;
}

bool role_may_read(enum role r)
{
	return (unsigned int)r < N_ROLES && roles[r].read;
}

bool role_may_admin(enum role r)
{
	return (unsigned int)r < N_ROLES && roles[r].admin;
}
