/* application/x-www-form-urlencoded bodies (POST /token): pure, no I/O. */
#ifndef SRVMON_SERVER_FORM_H
#define SRVMON_SERVER_FORM_H

#include <stddef.h>

/* Largest form body the server accepts. */
#define FORM_MAX_BODY 8192

/*
 * Percent-decodes in[0..len) with '+' as space into ret (NUL-terminated).
 * Returns the decoded length, -EINVAL for a bad %-escape or a decoded NUL byte,
 * -ENOSPC when ret (size bytes) is too small.
 */
int form_decode(const char *in, size_t len, char *ret, size_t size);

/*
 * Finds the field name in body[0..len) and writes its decoded value into ret.
 * Returns the value length, -ENOENT when absent, -ENOTUNIQ when repeated
 * (RFC 6749 3.1), -EINVAL for bad encoding, -ENOSPC when the value does not fit.
 */
int form_get(const char *body, size_t len, const char *name, char *ret, size_t size);

#endif
