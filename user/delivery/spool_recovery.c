/* Opening a spool that is already there: its segments read back and checked, records
 * past the acked mark queued again, a damaged tail cut off. */
#include "spool_impl.h"

#include "log.h"
#include "numparse.h"
#include "safedir.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Checks a segment's records, cuts a torn or corrupt tail; returns records kept. */
static uint64_t seg_scan(struct spool *s, struct spool_seg *g, const char *name)
{
	struct spool_pos p = {.seg = (size_t)(g - s->segs), .off = 0};
	struct spool_hdr h;
	uint64_t count = 0;
	char *buf = NULL;
	size_t cap = 0;

	while (p.off < g->bytes) {
		if (spool_read_hdr(s, p, &h) < 0)
			break;
		if (h.len > cap) {
			char *nb = realloc(buf, h.len);

			if (!nb)
				break;
			buf = nb;
			cap = h.len;
		}
		if (pread(g->fd, buf, h.len, (off_t)(p.off + sizeof(h))) != (ssize_t)h.len ||
		    !spool_record_crc_ok(&h, buf))
			break;
		if (h.seq > s->st.last_seq)
			s->st.last_seq = h.seq;
		p.off += sizeof(h) + h.len;
		count++;
	}
	free(buf);
	if (p.off < g->bytes) {
		log_warn("spool segment '%s/%s': %llu bytes after the last whole record "
			 "(interrupted write or damage), cutting them off",
			 s->dir, name, (unsigned long long)(g->bytes - p.off));
		if (ftruncate(g->fd, (off_t)p.off) < 0)
			log_warn_errno(-errno, "cannot truncate '%s/%s'", s->dir, name);
		g->bytes = p.off;
	}
	return count;
}

/* Moves both cursors past the records the acked marker says were delivered. */
static void skip_delivered(struct spool *s)
{
	struct spool_hdr h;
	uint64_t n = 0;

	for (;;) {
		spool_normalize(s, &s->dlv);
		if (s->nsegs == 0 || s->dlv.off >= s->segs[s->dlv.seg].bytes ||
		    spool_read_hdr(s, s->dlv, &h) < 0 || h.seq > s->acked_seq)
			break;
		s->dlv.off += sizeof(h) + h.len;
		n++;
	}
	s->send = s->dlv;
	s->n_unsent -= n;
	s->st.recovered -= n;
	spool_collect(s);
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool is_seg_name(const char *name, uint64_t *ret_seq)
{
	char digits[SPOOL_NAME_DIGITS + 1];

	if (strlen(name) != SPOOL_NAME_DIGITS + strlen(SPOOL_NAME_SUFFIX) ||
	    strcmp(name + SPOOL_NAME_DIGITS, SPOOL_NAME_SUFFIX) != 0)
		return false;
	memcpy(digits, name, SPOOL_NAME_DIGITS);
	digits[SPOOL_NAME_DIGITS] = '\0';
	return parse_u64(digits, 0, UINT64_MAX, ret_seq) == 0;
}

/* Loads the segments found in the directory, oldest (lowest first seq) first. */
int spool_load_existing(struct spool *s)
{
	char **names = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	DIR *d;
	int fd, r = 0;

	fd = openat(s->dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	d = fdopendir(fd);
	if (!d) {
		r = -errno;
		close(fd);
		return r;
	}
	while ((de = readdir(d))) {
		uint64_t seq;

		if (!is_seg_name(de->d_name, &seq))
			continue;
		if (n == cap) {
			char **nn = realloc(names, (cap ? cap * 2 : 16) * sizeof(*names));

			if (!nn) {
				r = -ENOMEM;
				goto out;
			}
			names = nn;
			cap = cap ? cap * 2 : 16;
		}
		names[n] = strdup(de->d_name);
		if (!names[n]) {
			r = -ENOMEM;
			goto out;
		}
		n++;
	}
	if (n > 1)
		qsort(names, n, sizeof(*names), name_cmp);
	for (size_t i = 0; i < n; i++) {
		struct stat stt;
		uint64_t first, count;
		int sfd;

		is_seg_name(names[i], &first);
		sfd = safedir_openat(s->dirfd, s->dir, names[i], O_RDWR, 0);
		if (sfd < 0 || fstat(sfd, &stt) < 0) {
			r = sfd < 0 ? sfd : -errno;
			if (sfd >= 0)
				close(sfd);
			goto out;
		}
		r = spool_seg_reserve(s);
		if (r < 0) {
			close(sfd);
			goto out;
		}
		s->segs[s->nsegs++] = (struct spool_seg){
			.first_seq = first, .bytes = (uint64_t)stt.st_size, .fd = sfd};
		count = seg_scan(s, &s->segs[s->nsegs - 1], names[i]);
		if (count == 0) {
			spool_seg_remove(s, s->nsegs - 1);
			continue;
		}
		s->total_bytes += s->segs[s->nsegs - 1].bytes;
		s->st.recovered += count;
	}
	s->n_unsent = s->st.recovered;
	skip_delivered(s);
out:
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	closedir(d);
	return r;
}
