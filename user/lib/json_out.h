/*
 * A direct JSON text writer onto a growing string (struct sbuf), for records built
 * on a hot path without a cJSON tree. Output is byte-identical to what
 * cJSON_PrintUnformatted() prints for the same strings; integers are exact.
 */
#ifndef SRVMON_JSON_OUT_H
#define SRVMON_JSON_OUT_H

#include <stddef.h>
#include <stdint.h>

#include "sbuf.h"

/* Appends s[0..n) as a JSON string; s must be valid UTF-8 (escapes '"', '\\' and
 * control characters as cJSON does). 0 or -ENOMEM. */
int json_add_str(struct sbuf *b, const char *s, size_t n);
/* Like json_add_str(), but bytes that are not well-formed UTF-8 become U+FFFD. */
int json_add_text(struct sbuf *b, const char *s, size_t n);
/* json_add_text() of bytes already known not to be UTF-8. */
int json_add_repaired(struct sbuf *b, const char *s, size_t n);
/* Appends the decimal integer v. 0 or -ENOMEM. */
int json_add_u64(struct sbuf *b, uint64_t v);
int json_add_i64(struct sbuf *b, int64_t v);

#endif
