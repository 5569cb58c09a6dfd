/* The one place numbers are parsed from text: whole-string, range-checked. */
#ifndef SRVMON_NUMPARSE_H
#define SRVMON_NUMPARSE_H

#include <stdint.h>

/* Parses a decimal unsigned integer that fills all of s (no sign, no spaces).
 * Returns 0, -EINVAL (not a number / trailing garbage) or -ERANGE (outside [min, max]). */
int parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *ret);

/* Parses the leading decimal digits of *s into *ret and advances *s past them.
 * For tokenised /proc lines. Returns 0, -EINVAL (no digit) or -ERANGE (overflow). */
int parse_u64_prefix(const char **s, uint64_t *ret);

/* Parses a duration: a number followed by ms, s, m or h ("500ms", "10s", "5m", "1h"),
 * into milliseconds. Returns 0, -EINVAL or -ERANGE (outside [min_ms, max_ms]). */
int parse_duration_ms(const char *s, uint64_t min_ms, uint64_t max_ms, uint64_t *ret);

/* Parses true/false/yes/no/on/off/1/0. Returns 0 or -EINVAL. */
int parse_bool(const char *s, int *ret);

#endif
