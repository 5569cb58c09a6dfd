/*
 * Text helpers of the command history: UTF-8 validation and repair, base64, and
 * quoting a command line so that it can be pasted back into a POSIX shell.
 * Pure functions on buffers; the growing string is the only allocation.
 */
#ifndef SRVMON_EXEC_TEXT_H
#define SRVMON_EXEC_TEXT_H

#include <stdbool.h>
#include <stddef.h>

/* A growing NUL-terminated string. Zero-initialise; free with sbuf_free(). */
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

/* True when s[0..n) is well-formed UTF-8 (no overlongs, surrogates or > U+10FFFF). */
bool utf8_valid(const char *s, size_t n);

/* Appends s[0..n) with every byte that is not part of well-formed UTF-8 replaced by
 * U+FFFD. 0 or -ENOMEM. */
int utf8_repair(struct sbuf *b, const char *s, size_t n);

/* Appends the standard base64 (RFC 4648, padded) of s[0..n). 0 or -ENOMEM. */
int base64_add(struct sbuf *b, const void *s, size_t n);

/* Appends the bytes that the base64 text s encodes. 0, -EINVAL or -ENOMEM. */
int base64_decode_add(struct sbuf *b, const char *s);

/*
 * Appends s[0..n) as one shell word: as is when it only holds characters no shell
 * treats specially, in '...' when it holds no control character and is valid UTF-8,
 * else in $'...' with \n, \t, \xHH escapes (bash, zsh, ksh; POSIX.1-2024 sh).
 * 0 or -ENOMEM.
 */
int shell_quote_add(struct sbuf *b, const char *s, size_t n);

#endif
