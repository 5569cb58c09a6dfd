/* UTF-8 validation and repair, pure functions on buffers. */
#ifndef SRVMON_UTF8_H
#define SRVMON_UTF8_H

#include <stdbool.h>
#include <stddef.h>

#include "sbuf.h"

/* True when s[0..n) is well-formed UTF-8 (no overlongs, surrogates or > U+10FFFF). */
bool utf8_valid(const char *s, size_t n);

/* Length of the well-formed UTF-8 sequence at s[0..n) (n > 0), or 0 if there is none. */
size_t utf8_seq_len(const unsigned char *s, size_t n);

/* Appends s[0..n) with every byte that is not part of well-formed UTF-8 replaced by
 * U+FFFD. 0 or -ENOMEM. */
int utf8_repair(struct sbuf *b, const char *s, size_t n);

#endif
