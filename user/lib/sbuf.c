#include "sbuf.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int sbuf_reserve(struct sbuf *b, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 64;
		char *p;

		while (cap < b->len + n + 1)
			cap *= 2;
		p = realloc(b->s, cap);
		if (!p)
			return -ENOMEM;
		b->s = p;
		b->cap = cap;
	}
	return 0;
}

int sbuf_add(struct sbuf *b, const char *s, size_t n)
{
	int r = sbuf_reserve(b, n);

	if (r)
		return r;
	memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = '\0';
	return 0;
}

int sbuf_adds(struct sbuf *b, const char *s)
{
	return sbuf_add(b, s, strlen(s));
}

int sbuf_addc(struct sbuf *b, char c)
{
	int r = sbuf_reserve(b, 1);

	if (r)
		return r;
	b->s[b->len++] = c;
	b->s[b->len] = '\0';
	return 0;
}

void sbuf_free(struct sbuf *b)
{
	if (!b)
		return;
	free(b->s);
	b->s = NULL;
	b->len = 0;
	b->cap = 0;
}
