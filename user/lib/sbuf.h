/* A growing NUL-terminated string: the one allocation of the text builders (JSON, base64,
 * shell quoting). */
#ifndef SRVMON_SBUF_H
#define SRVMON_SBUF_H

#include <stddef.h>

/* Zero-initialise; free with sbuf_free(). */
struct sbuf {
	char *s;
	size_t len;
	size_t cap;
};

/* Room for n more bytes and the terminating NUL (b->s + b->len onwards). 0 or -ENOMEM. */
int sbuf_reserve(struct sbuf *b, size_t n);
/* Appends n bytes. 0 or -ENOMEM. */
int sbuf_add(struct sbuf *b, const char *s, size_t n);
int sbuf_adds(struct sbuf *b, const char *s);
int sbuf_addc(struct sbuf *b, char c);
void sbuf_free(struct sbuf *b);

#endif
