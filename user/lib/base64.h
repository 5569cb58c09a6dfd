/* Standard base64 (RFC 4648, padded) onto a growing string. */
#ifndef SRVMON_BASE64_H
#define SRVMON_BASE64_H

#include <stddef.h>

#include "sbuf.h"

/* Appends the base64 of s[0..n). 0 or -ENOMEM. */
int base64_add(struct sbuf *b, const void *s, size_t n);

/* Appends the bytes that the base64 text s encodes. 0, -EINVAL or -ENOMEM. */
int base64_decode_add(struct sbuf *b, const char *s);

#endif
