#include "safedir.h"

#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define REFUSALS_KEPT 8
#define REFUSAL_MAX   (PATH_MAX + 128)

static pthread_mutex_t refusals_lock = PTHREAD_MUTEX_INITIALIZER;
static char refusals[REFUSALS_KEPT][REFUSAL_MAX];
static unsigned refusals_next;

/*
 * Logs a refusal as a warning the first time, then at debug level: callers retry (the
 * spool every 10 s) and a planted link or a wrong mode stays until someone fixes it.
 */
__attribute__((format(printf, 1, 2))) static void refuse(const char *fmt, ...)
{
	char msg[REFUSAL_MAX];
	bool seen = false;
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	pthread_mutex_lock(&refusals_lock);
	for (unsigned i = 0; i < REFUSALS_KEPT && !seen; i++)
		seen = strcmp(refusals[i], msg) == 0;
	if (!seen) {
		memcpy(refusals[refusals_next], msg, sizeof(msg));
		refusals_next = (refusals_next + 1) % REFUSALS_KEPT;
	}
	pthread_mutex_unlock(&refusals_lock);
	if (seen)
		log_debug("%s", msg);
	else
		log_warn("%s", msg);
}

/* mkdir -p path with mode: the components that exist are left as they are. */
static int mkdir_parents(const char *path, mode_t mode)
{
	char dir[PATH_MAX];
	size_t n;

	n = strlen(path);
	if (n >= sizeof(dir))
		return -ENAMETOOLONG;
	memcpy(dir, path, n + 1);
	for (char *p = dir + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(dir, mode) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(dir, mode) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

static int open_dir(const char *path)
{
	int fd;

	fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

/* Why open_dir() failed with ELOOP or ENOTDIR: a symbolic link, or not a directory. */
static int refuse_not_dir(const char *path)
{
	struct stat st;

	if (lstat(path, &st) == 0 && S_ISLNK(st.st_mode)) {
		refuse("'%s' is a symbolic link: refusing to use it as a directory (it must be "
		       "a directory owned by root)",
		       path);
		return -ELOOP;
	}
	refuse("'%s' is not a directory: refusing to use it", path);
	return -ENOTDIR;
}

/* Only root (or the agent's own euid) may own it and only the owner may write into it. */
static int check_trusted(const char *path, const struct stat *st)
{
	if (st->st_uid != 0 && st->st_uid != geteuid()) {
		refuse("'%s' is owned by uid %u, not by root: refusing to use it", path,
		       (unsigned)st->st_uid);
		return -EPERM;
	}
	if (st->st_mode & (S_IWGRP | S_IWOTH)) {
		refuse("'%s' is writable by group or others (mode %04o): refusing to use it "
		       "(chmod go-w it)",
		       path, (unsigned)(st->st_mode & 07777));
		return -EPERM;
	}
	return 0;
}

int safedir_open(const char *path, mode_t create_mode)
{
	struct stat st;
	int fd, r;

	fd = open_dir(path);
	if (fd == -ENOENT && create_mode) {
		r = mkdir_parents(path, create_mode);
		if (r < 0)
			return r;
		fd = open_dir(path);
	}
	if (fd == -ELOOP || fd == -ENOTDIR)
		return refuse_not_dir(path);
	if (fd < 0)
		return fd;
	r = fstat(fd, &st) < 0 ? -errno : check_trusted(path, &st);
	if (r < 0) {
		close(fd);
		return r;
	}
	return fd;
}

int safedir_openat(int dirfd, const char *dir, const char *name, int flags, mode_t mode)
{
	struct stat st;
	int fd, r = 0;

	fd = openat(dirfd, name, flags | O_NOFOLLOW | O_CLOEXEC, mode);
	if (fd < 0) {
		r = -errno;
		if (r == -ELOOP)
			refuse("'%s/%s' is a symbolic link: refusing to follow it", dir, name);
		return r;
	}
	if (fstat(fd, &st) < 0)
		r = -errno;
	else if (!S_ISREG(st.st_mode)) {
		refuse("'%s/%s' is not a regular file: refusing to use it", dir, name);
		r = -EPERM;
	}
	if (r < 0) {
		close(fd);
		return r;
	}
	return fd;
}

int safedir_create_tmp(int dirfd, const char *dir, const char *name, mode_t mode)
{
	struct stat st;
	int fd;

	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
		if (S_ISLNK(st.st_mode)) {
			refuse("'%s/%s' is a symbolic link, not a file left by a crash: refusing "
			       "to write through it or to remove it",
			       dir, name);
			return -ELOOP;
		}
		if (!S_ISREG(st.st_mode)) {
			refuse("'%s/%s' is not a regular file: refusing to replace it", dir, name);
			return -EEXIST;
		}
		if (unlinkat(dirfd, name, 0) < 0 && errno != ENOENT)
			return -errno;
	} else if (errno != ENOENT) {
		return -errno;
	}
	/* O_EXCL: whatever appeared at name since (it cannot: the directory is ours) fails. */
	fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
	return fd < 0 ? -errno : fd;
}

int safedir_rename(int dirfd, const char *from, const char *to)
{
	if (renameat(dirfd, from, dirfd, to) < 0)
		return -errno;
	if (fsync(dirfd) < 0)
		return -errno;
	return 0;
}
