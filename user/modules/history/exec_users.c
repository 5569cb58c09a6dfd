#include "exec_users.h"

#include <errno.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define USERS_SLOTS 256 /* direct-mapped by uid */
#define NAME_MAX_   64

struct user_slot {
	bool used;
	bool found;
	uint32_t uid;
	uint64_t expires_ms;
	char name[NAME_MAX_];
};

struct exec_users {
	uint64_t ttl_ms;
	struct user_slot slots[USERS_SLOTS];
	char *pwbuf;
	size_t pwbuf_len;
};

struct exec_users *exec_users_new(uint64_t ttl_ms)
{
	struct exec_users *u = calloc(1, sizeof(*u));
	long n = sysconf(_SC_GETPW_R_SIZE_MAX);

	if (!u)
		return NULL;
	u->ttl_ms = ttl_ms;
	u->pwbuf_len = n > 0 ? (size_t)n : 16384;
	u->pwbuf = malloc(u->pwbuf_len);
	if (!u->pwbuf) {
		free(u);
		errno = ENOMEM;
		return NULL;
	}
	return u;
}

void exec_users_free(struct exec_users *u)
{
	if (!u)
		return;
	free(u->pwbuf);
	free(u);
}

const char *exec_users_name(struct exec_users *u, uint32_t uid, uint64_t now_ms)
{
	struct user_slot *s = &u->slots[uid % USERS_SLOTS];
	struct passwd pw, *res = NULL;
	size_t n;

	if (s->used && s->uid == uid && now_ms < s->expires_ms)
		return s->found ? s->name : NULL;
	s->used = true;
	s->uid = uid;
	s->expires_ms = now_ms + u->ttl_ms;
	s->found = false;
	if (getpwuid_r(uid, &pw, u->pwbuf, u->pwbuf_len, &res) != 0 || !res)
		return NULL;
	n = strlen(res->pw_name);
	if (n >= sizeof(s->name))
		return NULL;
	memcpy(s->name, res->pw_name, n + 1);
	s->found = true;
	return s->name;
}
