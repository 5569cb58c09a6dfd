/* What a key's value means: parsing a value from the file into the struct, and printing it
 * back (the effective configuration and the reference), by the key's type. */
#include "config_keys.h"

#include "numparse.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

void config_format_duration(uint64_t ms, char *buf, size_t len)
{
	static const struct {
		const char *suffix;
		uint64_t ms;
	} units[] = {{"h", 3600000}, {"m", 60000}, {"s", 1000}};

	for (size_t i = 0; i < ARRAY_SIZE(units); i++) {
		if (ms != 0 && ms % units[i].ms == 0) {
			(void)snprintf(buf, len, "%llu%s", (unsigned long long)(ms / units[i].ms),
				       units[i].suffix);
			return;
		}
	}
	(void)snprintf(buf, len, "%llums", (unsigned long long)ms);
}

void config_strlist_free(struct strlist *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->items[i]);
	free(l->items);
	l->items = NULL;
	l->n = 0;
}

static bool is_list_sep(char c)
{
	return c == ',' || isspace((unsigned char)c);
}

/* Splits a comma- and/or whitespace-separated value; writes the problem on -EINVAL. */
static int list_parse(const struct config_key *k, const char *value, struct strlist *ret,
		      char *problem, size_t plen)
{
	struct strlist l = {0};
	const char *p = value;
	int r = 0;

	l.items = calloc(k->max + 1, sizeof(*l.items));
	if (!l.items)
		return -ENOMEM;
	for (;;) {
		const char *why;
		size_t n;

		while (*p && is_list_sep(*p))
			p++;
		if (!*p)
			break;
		for (n = 0; p[n] && !is_list_sep(p[n]); n++)
			;
		if (l.n == k->max) {
			(void)snprintf(problem, plen, "too many items (at most %llu)",
				       (unsigned long long)k->max);
			r = -EINVAL;
			goto out;
		}
		l.items[l.n] = strndup(p, n);
		if (!l.items[l.n]) {
			r = -ENOMEM;
			goto out;
		}
		l.n++;
		why = k->rule ? k->rule->check(l.items[l.n - 1]) : NULL;
		if (why) {
			(void)snprintf(problem, plen, "invalid item \"%s\" (%s)", l.items[l.n - 1],
				       why);
			r = -EINVAL;
			goto out;
		}
		p += n;
	}
	*ret = l;
	l.items = NULL;
	l.n = 0;
out:
	config_strlist_free(&l);
	return r;
}

static const struct config_choice *choice_find(const struct config_choice *c, const char *v)
{
	for (; c->name; c++) {
		if (strcmp(c->name, v) == 0)
			return c;
	}
	return NULL;
}

static const char *choice_name(const struct config_choice *c, int value)
{
	for (; c->name; c++) {
		if (c->value == value)
			return c->name;
	}
	return "?";
}

static void join_choices(const struct config_choice *c, char *buf, size_t len)
{
	size_t off = 0;

	buf[0] = '\0';
	for (; c->name && off < len; c++) {
		int n = snprintf(buf + off, len - off, "%s%s", off ? ", " : "", c->name);

		if (n < 0)
			break;
		off += (size_t)n;
	}
}

int config_key_set(const struct config_key *k, struct config *cfg, const char *value, char *problem,
		   size_t plen)
{
	void *field = config_key_field(k, cfg);
	char lo[32], hi[32], list[128];
	const char *why;
	uint64_t u;
	int b, r;

	switch (k->type) {
	case KEY_BOOL:
		r = parse_bool(value, &b);
		if (r < 0) {
			(void)snprintf(
				problem, plen,
				"invalid boolean \"%s\" (use true/false, yes/no, on/off or 1/0)",
				value);
			return r;
		}
		*(bool *)field = b;
		return 0;
	case KEY_DURATION:
		r = parse_duration_ms(value, k->min, k->max, &u);
		config_format_duration(k->min, lo, sizeof(lo));
		config_format_duration(k->max, hi, sizeof(hi));
		if (r == -ERANGE) {
			(void)snprintf(problem, plen, "duration \"%s\" out of range (%s..%s)",
				       value, lo, hi);
			return r;
		}
		if (r < 0) {
			(void)snprintf(
				problem, plen,
				"invalid duration \"%s\" (use a whole number with ms, s, m or h, "
				"e.g. 500ms, 10s, 5m, 1h)",
				value);
			return r;
		}
		*(uint64_t *)field = u;
		return 0;
	case KEY_UINT:
	case KEY_PORT:
		r = parse_u64(value, k->min, k->max, &u);
		if (r == -ERANGE) {
			(void)snprintf(problem, plen, "%s out of range (%llu..%llu)", value,
				       (unsigned long long)k->min, (unsigned long long)k->max);
			return r;
		}
		if (r < 0) {
			(void)snprintf(problem, plen,
				       "invalid number \"%s\" (use a decimal integer)", value);
			return r;
		}
		*(uint64_t *)field = u;
		return 0;
	case KEY_LIST: {
		struct strlist l;

		r = list_parse(k, value, &l, problem, plen);
		if (r < 0)
			return r;
		config_strlist_free(field);
		*(struct strlist *)field = l;
		return 0;
	}
	case KEY_LOG_LEVEL:
	case KEY_ENUM: {
		const struct config_choice *c = choice_find(k->choices, value);

		if (!c) {
			join_choices(k->choices, list, sizeof(list));
			(void)snprintf(problem, plen, "invalid value \"%s\" (use one of: %s)",
				       value, list);
			return -EINVAL;
		}
		/* The field is an int-sized enum of config.h. */
		*(int *)field = c->value;
		return 0;
	}
	case KEY_STRING:
		why = k->rule ? k->rule->check(value) : NULL;
		if (why) {
			(void)snprintf(problem, plen, "invalid value \"%s\" (%s)", value, why);
			return -EINVAL;
		}
		break;
	case KEY_SECRET:
		break;
	}

	/* Strings: empty means unset (NULL). */
	char *s = NULL;

	if (value[0] != '\0') {
		s = strdup(value);
		if (!s)
			return -ENOMEM;
	}
	free(*(char **)field);
	*(char **)field = s;
	return 0;
}

void config_key_format(const struct config_key *k, const struct config *cfg, char *buf, size_t len)
{
	const void *field = config_key_field(k, cfg);

	buf[0] = '\0';
	switch (k->type) {
	case KEY_BOOL:
		(void)snprintf(buf, len, "%s", *(const bool *)field ? "true" : "false");
		break;
	case KEY_DURATION:
		config_format_duration(*(const uint64_t *)field, buf, len);
		break;
	case KEY_UINT:
	case KEY_PORT:
		(void)snprintf(buf, len, "%llu", (unsigned long long)*(const uint64_t *)field);
		break;
	case KEY_LIST: {
		const struct strlist *l = field;
		size_t off = 0;

		for (size_t i = 0; i < l->n && off < len; i++) {
			int n = snprintf(buf + off, len - off, "%s%s", i ? ", " : "", l->items[i]);

			if (n < 0)
				break;
			off += (size_t)n;
		}
		break;
	}
	case KEY_SECRET:
		if (*(char *const *)field)
			(void)snprintf(buf, len, "%s", CONFIG_SECRET_MASK);
		break;
	case KEY_STRING:
		if (*(char *const *)field)
			(void)snprintf(buf, len, "%s", *(char *const *)field);
		break;
	case KEY_LOG_LEVEL:
	case KEY_ENUM:
		(void)snprintf(buf, len, "%s", choice_name(k->choices, *(const int *)field));
		break;
	}
}

void config_key_range(const struct config_key *k, char *buf, size_t len)
{
	char lo[32], hi[32];

	buf[0] = '\0';
	switch (k->type) {
	case KEY_BOOL:
		(void)snprintf(buf, len, "true/false, yes/no, on/off, 1/0");
		break;
	case KEY_DURATION:
		config_format_duration(k->min, lo, sizeof(lo));
		config_format_duration(k->max, hi, sizeof(hi));
		(void)snprintf(buf, len, "%s..%s", lo, hi);
		break;
	case KEY_UINT:
	case KEY_PORT:
		(void)snprintf(buf, len, "%llu..%llu", (unsigned long long)k->min,
			       (unsigned long long)k->max);
		break;
	case KEY_LIST:
		(void)snprintf(buf, len, "%s%sat most %llu", k->rule ? k->rule->doc : "",
			       k->rule ? ", " : "", (unsigned long long)k->max);
		break;
	case KEY_LOG_LEVEL:
	case KEY_ENUM:
		join_choices(k->choices, buf, len);
		break;
	case KEY_STRING:
		if (k->rule)
			(void)snprintf(buf, len, "%s", k->rule->doc);
		break;
	case KEY_SECRET:
		break;
	}
}

const char *config_url_split(const char *url, bool *ret_tls, char **ret_host, uint64_t *ret_port,
			     char **ret_base)
{
	const char *auth, *host, *port_s = NULL, *why;
	size_t auth_len, host_len;
	char hostbuf[256], portbuf[8];
	uint64_t port;
	bool tls;

	if (strncasecmp(url, "https://", 8) == 0) {
		tls = true;
		auth = url + 8;
	} else if (strncasecmp(url, "http://", 7) == 0) {
		tls = false;
		auth = url + 7;
	} else {
		return "scheme must be http:// or https://";
	}
	auth_len = strcspn(auth, "/?#");
	if (auth[auth_len] != '\0' && strcmp(auth + auth_len, "/") != 0)
		return "must not contain a path, query or fragment; set token_path and ws_path";
	if (memchr(auth, '@', auth_len))
		return "must not contain user info; set client_id and password";
	if (auth[0] == '[') {
		const char *close = memchr(auth, ']', auth_len);

		if (!close)
			return "IPv6 address lacks the closing ]";
		host = auth + 1;
		host_len = (size_t)(close - host);
		if (close + 1 < auth + auth_len) {
			if (close[1] != ':')
				return "expected :port after the IPv6 address";
			port_s = close + 2;
		}
	} else {
		const char *colon = memchr(auth, ':', auth_len);

		host = auth;
		host_len = colon ? (size_t)(colon - auth) : auth_len;
		if (colon) {
			if (memchr(colon + 1, ':', auth_len - host_len - 1))
				return "IPv6 addresses must be written in brackets";
			port_s = colon + 1;
		}
	}
	if (host_len == 0)
		return "has no host";
	if (host_len >= sizeof(hostbuf))
		return "host name too long";
	memcpy(hostbuf, host, host_len);
	hostbuf[host_len] = '\0';
	why = config_check_host(hostbuf);
	if (why)
		return why;
	if (port_s) {
		size_t n = (size_t)(auth + auth_len - port_s);

		if (n == 0 || n >= sizeof(portbuf))
			return "port must be a number from 1 to 65535";
		memcpy(portbuf, port_s, n);
		portbuf[n] = '\0';
		if (parse_u64(portbuf, 1, 65535, &port) < 0)
			return "port must be a number from 1 to 65535";
	} else {
		port = tls ? 443 : 80;
	}

	if (ret_tls)
		*ret_tls = tls;
	if (ret_port)
		*ret_port = port;
	if (ret_host) {
		*ret_host = strdup(hostbuf);
		if (!*ret_host)
			return "out of memory";
	}
	if (ret_base) {
		/* Lower-case scheme, no trailing slash. */
		if (asprintf(ret_base, "%s://%.*s", tls ? "https" : "http", (int)auth_len, auth) <
		    0)
			*ret_base = NULL;
		if (!*ret_base) {
			if (ret_host) {
				free(*ret_host);
				*ret_host = NULL;
			}
			return "out of memory";
		}
	}
	return NULL;
}
