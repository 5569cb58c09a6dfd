/*
 * The local trail of exec records: JSON lines appended to a file, rotated by size
 * (path -> path.1 -> ... -> path.N, the oldest removed).
 */
#ifndef SRVMON_EXEC_TRAIL_H
#define SRVMON_EXEC_TRAIL_H

#include <stddef.h>
#include <stdint.h>

struct exec_trail;

/* Creates the parent directory (0750, and its missing parents) if missing and opens
 * path for appending (0640). The directory must be trusted and path is never opened or
 * rotated through a symbolic link (user/lib/safedir.h: refused, logged, errno ELOOP or EPERM).
 * rotations: rotated files kept (0: the file is truncated when full). NULL + errno. */
struct exec_trail *exec_trail_open(const char *path, uint64_t max_bytes, unsigned rotations);
/* Appends line[0..len) and a newline, rotating first if the file would pass max_bytes.
 * 0 or -errno. */
int exec_trail_write(struct exec_trail *t, const char *line, size_t len);
/* Appends lines[0..len), whole lines each ending in a newline, in one write(2), rotating
 * first if the file would pass max_bytes (a batch is never split across files).
 * 0 or -errno. */
int exec_trail_append(struct exec_trail *t, const char *lines, size_t len);
void exec_trail_close(struct exec_trail *t);

/* Writes "path" or "path.N" (N >= 1) into buf. 0 or -ENAMETOOLONG. */
int exec_trail_name(const char *path, unsigned n, char *buf, size_t len);

#endif
