/*
 * Directories the root agent trusts, and the files it opens in them.
 *
 * The agent runs as root and writes its state (seq store), spool and exec trail. A
 * symbolic link planted at one of those names, or a directory someone else can write
 * into, would let that someone point a root write at any file. So a directory is
 * opened once, checked (a real directory, owned by root or the agent's euid, writable
 * by neither group nor others) and kept as an fd; files are opened relative to it
 * and never through a symbolic link; temporary files are created exclusively.
 *
 * Every function returns an fd or 0, or a negative errno. A refusal (an untrusted
 * directory, a symbolic link, not a regular file) is logged here, naming the path and
 * why, as only this code knows why: as a warning the first time, at debug level when the
 * same refusal comes again (callers retry). Plain errors (-ENOENT, -EACCES, -EROFS...)
 * are left to the caller to log.
 */
#ifndef SRVMON_SAFEDIR_H
#define SRVMON_SAFEDIR_H

#include <sys/types.h>

/*
 * Opens the directory path (O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC). When missing and
 * create_mode is not 0, creates it and its missing parents with create_mode. Refused:
 * -ELOOP (a symbolic link), -ENOTDIR, -EPERM (owned by another user than root and the
 * euid, or writable by group or others).
 */
int safedir_open(const char *path, mode_t create_mode);

/*
 * Opens name in the directory dirfd (opened by safedir_open(); dir is its path, only for
 * messages) with flags | O_NOFOLLOW | O_CLOEXEC. Refused: -ELOOP (name is a symbolic
 * link), -EPERM (not a regular file).
 */
int safedir_openat(int dirfd, const char *dir, const char *name, int flags, mode_t mode);

/*
 * Creates the temporary file name in dirfd for writing (O_CREAT | O_EXCL | O_NOFOLLOW):
 * a regular file already there (left by a crash) is removed first. Refused: -ELOOP (a
 * symbolic link is there; it is left as it is), -EEXIST (anything else that is not a
 * regular file).
 */
int safedir_create_tmp(int dirfd, const char *dir, const char *name, mode_t mode);

/* renameat() of from to to, both in dirfd, then fsync of the directory so that the new
 * name survives a power loss. */
int safedir_rename(int dirfd, const char *from, const char *to);

#endif
