/* Reading whole text files (/proc, /sys, /etc): bounded, O_CLOEXEC, NUL-terminated. */
#ifndef SRVMON_TEXTFILE_H
#define SRVMON_TEXTFILE_H

#include <stddef.h>

/* Reads at most size - 1 bytes of path into buf and NUL-terminates it; a longer file
 * is truncated. Returns 0 or -errno. */
int textfile_read(const char *path, char *buf, size_t size, size_t *ret_len);

/* Reads the whole file into a NUL-terminated malloc'd *ret_buf.
 * Returns 0 or -errno (-EFBIG above 16 MiB). */
int textfile_read_alloc(const char *path, char **ret_buf);

#endif
