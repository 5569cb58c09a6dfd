#include "exec_trail.h"

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
	char *path;
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

/* mkdir -p of the directory part of path. */
static int make_parent(const char *path)
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
		if (mkdir(dir, 0750) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	return 0;
}

static int trail_reopen(struct exec_trail *t)
{
	struct stat st;

	if (t->fd >= 0)
		close(t->fd);
	t->fd = open(t->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
	if (t->fd < 0)
		return -errno;
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
	t->max_bytes = max_bytes;
	t->rotations = rotations;
	t->path = strdup(path);
	if (!t->path) {
		r = -ENOMEM;
		goto fail;
	}
	r = make_parent(path);
	if (r == 0)
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
	free(t->path);
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
		if (exec_trail_name(t->path, i - 1, from, sizeof(from)) < 0 ||
		    exec_trail_name(t->path, i, to, sizeof(to)) < 0)
			return -ENAMETOOLONG;
		if (rename(from, to) < 0 && errno != ENOENT)
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
