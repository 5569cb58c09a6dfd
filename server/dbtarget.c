/* dbtarget.h: the --db value without its password. */
#include "dbtarget.h"

#include "store.h"

#include <string.h>

struct out {
	char *buf;
	size_t size, len;
};

static void put(struct out *o, const char *s, size_t n)
{
	size_t room = o->size - 1 - o->len;

	if (n > room)
		n = room;
	memcpy(o->buf + o->len, s, n);
	o->len += n;
	o->buf[o->len] = '\0';
}

/* The query string from q (at '?'): each password=VALUE parameter's value becomes ***. */
static void put_query(struct out *o, const char *q)
{
	while (*q) {
		size_t n = strcspn(q + 1, "&") + 1; /* this parameter with its leading ? or & */

		if (strncmp(q + 1, "password=", strlen("password=")) == 0) {
			put(o, q, 1 + strlen("password="));
			put(o, "***", 3);
		} else {
			put(o, q, n);
		}
		q += n;
	}
}

char *dbtarget_redact(const char *target, char *buf, size_t size)
{
	struct out o = {buf, size, 0};
	const char *auth, *end, *at, *colon;

	if (size == 0)
		return buf;
	buf[0] = '\0';
	if (!store_is_pg_url(target)) {
		put(&o, target, strlen(target));
		return buf;
	}
	auth = strstr(target, "://") + 3;
	end = auth + strcspn(auth, "/?");
	at = NULL;
	for (const char *p = auth; p < end; p++)
		if (*p == '@')
			at = p;
	colon = at ? memchr(auth, ':', (size_t)(at - auth)) : NULL;
	if (colon) {
		put(&o, target, (size_t)(colon + 1 - target));
		put(&o, "***", 3);
		put(&o, at, (size_t)(end - at));
	} else {
		put(&o, target, (size_t)(end - target));
	}
	put(&o, end, strcspn(end, "?"));
	end += strcspn(end, "?");
	put_query(&o, end);
	return buf;
}
