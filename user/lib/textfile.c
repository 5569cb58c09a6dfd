#include "textfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#define READ_TEXT_MAX	(16u << 20)
#define READ_TEXT_CHUNK 4096

int textfile_read(const char *path, char *buf, size_t size, size_t *ret_len)
{
	size_t len = 0;
	int fd;
	int r = 0;

	if (size == 0)
		return -EINVAL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	while (len < size - 1) {
		ssize_t n = read(fd, buf + len, size - 1 - len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			r = -errno;
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	buf[len] = '\0';
	if (ret_len)
		*ret_len = len;
out:
	close(fd);
	return r;
}

int textfile_read_alloc(const char *path, char **ret_buf)
{
	size_t len = 0;
	size_t size = 0;
	char *buf = NULL;
	int fd;
	int r;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	for (;;) {
		ssize_t got;

		if (size - len < READ_TEXT_CHUNK + 1) {
			char *nb;

			if (size >= READ_TEXT_MAX) {
				r = -EFBIG;
				goto out;
			}
			size = size ? size * 2 : 2 * (size_t)READ_TEXT_CHUNK;
			nb = realloc(buf, size);
			if (!nb) {
				r = -ENOMEM;
				goto out;
			}
			buf = nb;
		}
		got = read(fd, buf + len, size - len - 1);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			r = -errno;
			goto out;
		}
		if (got == 0)
			break;
		len += (size_t)got;
	}
	buf[len] = '\0';
	*ret_buf = buf;
	buf = NULL;
	r = 0;
out:
	free(buf);
	close(fd);
	return r;
}
