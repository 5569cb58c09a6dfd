/* Quoting a command line so that it can be pasted back into a POSIX shell. */
#ifndef SRVMON_SHELL_QUOTE_H
#define SRVMON_SHELL_QUOTE_H

#include <stddef.h>

#include "sbuf.h"

/*
 * Appends s[0..n) as one shell word: as is when it only holds characters no shell
 * treats specially, in '...' when it holds no control character and is valid UTF-8,
 * else in $'...' with \n, \t, \xHH escapes (bash, zsh, ksh; POSIX.1-2024 sh).
 * 0 or -ENOMEM.
 */
int shell_quote_add(struct sbuf *b, const char *s, size_t n);

#endif
