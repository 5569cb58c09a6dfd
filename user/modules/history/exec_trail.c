#include "exec_trail.h"
#include "safedir.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

struct exec_trail {
	char *dir;	  /* the directory part of the path, for messages */
	const char *base; /* the file name in dir (inside dir's allocation) */
	int dirfd;	  /* dir, opened by safedir_open() */
	uint64_t max_bytes;
	unsigned rotations;
	int fd;
	uint64_t size;
};

int exec_trail_name(const char *path, unsigned n, char *buf, size_t len)
{
	int w = n ? snprintf(buf, len, "%s.%u", path, n) : snprintf(buf, len, "%s", path);

	if (w < 0 || (size_t)w >= len)
		return -ENAMETOOLONG;
	return 0;
}

/* Splits path into its directory (allocated, "/" for /name, "." for a bare name) and
 * its last component (inside the same allocation). */
static int split_path(const char *path, char **ret_dir, const char **ret_base)
{
	const char *slash = strrchr(path, '/');
	const char *base = slash ? slash + 1 : path;
	const char *dir = !slash ? "." : slash == path ? "/" : path;
	size_t dlen = !slash || slash == path ? 1 : (size_t)(slash - path);
	size_t blen = strlen(base);
	char *buf;

	if (blen == 0)
		return -EISDIR;
	buf = malloc(dlen + 1 + blen + 1);
	if (!buf)
		return -ENOMEM;
	memcpy(buf, dir, dlen);
	buf[dlen] = '\0';
	memcpy(buf + dlen + 1, base, blen + 1);
	*ret_dir = buf;
	*ret_base = buf + dlen + 1;
	return 0;
}

static int trail_reopen(struct exec_trail *t)
{
	struct stat st;

	if (t->fd >= 0)
		close(t->fd);
	t->fd = safedir_openat(t->dirfd, t->dir, t->base, O_WRONLY | O_APPEND | O_CREAT, 0640);
	if (t->fd < 0)
		return t->fd;
	if (fstat(t->fd, &st) < 0)
		return -errno;
	t->size = (uint64_t)st.st_size;
	return 0;
}

struct exec_trail *exec_trail_open(const char *path, uint64_t max_bytes, unsigned rotations)
{
	struct exec_trail *t;
	int r;

	t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->fd = -1;
	t->dirfd = -1;
	t->max_bytes = max_bytes;
	t->rotations = rotations;
	r = split_path(path, &t->dir, &t->base);
	if (r < 0)
		goto fail;
	r = safedir_open(t->dir, 0750);
	if (r < 0)
		goto fail;
	t->dirfd = r;
	r = trail_reopen(t);
	if (r < 0)
		goto fail;
	return t;
fail:
	exec_trail_close(t);
	errno = -r;
	return NULL;
}

void exec_trail_close(struct exec_trail *t)
{
	if (!t)
		return;
	if (t->fd >= 0)
		close(t->fd);
	if (t->dirfd >= 0)
		close(t->dirfd);
	free(t->dir);
	free(t);
}

static int trail_rotate(struct exec_trail *t)
{
	char from[PATH_MAX], to[PATH_MAX];

	if (t->rotations == 0) {
		if (ftruncate(t->fd, 0) < 0)
			return -errno;
		t->size = 0;
		return 0;
	}
	for (unsigned i = t->rotations; i > 0; i--) {
		if (exec_trail_name(t->base, i - 1, from, sizeof(from)) < 0 ||
		    exec_trail_name(t->base, i, to, sizeof(to)) < 0)
			return -ENAMETOOLONG;
		/* In the directory fd: renameat() moves a symbolic link, never its target. */
		if (renameat(t->dirfd, from, t->dirfd, to) < 0 && errno != ENOENT)
			return -errno;
	}
	return trail_reopen(t);
}

int exec_trail_write(struct exec_trail *t, const char *line, size_t len)
{
	struct iovec iov[2] = {{(void *)line, len}, {"\n", 1}};
	ssize_t w;
	int r;

	if (t->size > 0 && t->size + len + 1 > t->max_bytes) {
		r = trail_rotate(t);
		if (r < 0)
			return r;
	}
	/* One writev per line: O_APPEND keeps lines whole even with other writers. */
	w = writev(t->fd, iov, 2);
	if (w < 0)
		return -errno;
	t->size += (uint64_t)w;
	return (size_t)w == len + 1 ? 0 : -EIO;
}

int exec_trail_append(struct exec_trail *t, const char *lines, size_t len)
{
	ssize_t w;
	int r;

	if (len == 0)
		return 0;
	if (t->size > 0 && t->size + len > t->max_bytes) {
		r = trail_rotate(t);
		if (r < 0)
			return r;
	}
	/* One write for the whole batch: O_APPEND keeps it whole even with other writers. */
	w = write(t->fd, lines, len);
	if (w < 0)
		return -errno;
	t->size += (uint64_t)w;
	return (size_t)w == len ? 0 : -EIO;
}
