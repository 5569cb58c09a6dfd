/*
 * Trusted directories (user/lib/safedir.c) and the root agent's files opened through them:
 * the seq store, the exec trail and the spool refuse symbolic links and directories
 * others can write into, and leave what a link points to untouched.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "exec_trail.h"
#include "log.h"
#include "safedir.h"
#include "seqstore.h"
#include "spool.h"

#define TARGET_TEXT "must stay as it is\n"

struct fixture {
	char dir[64];	       /* a fresh directory, 0700, owned by us */
	char target[PATH_MAX]; /* a file a planted link points to */
};

static int setup(void **state)
{
	static struct fixture f;

	memset(&f, 0, sizeof(f));
	(void)snprintf(f.dir, sizeof(f.dir), "/tmp/srvmon-safedir-XXXXXX");
	if (!mkdtemp(f.dir))
		return -1;
	(void)snprintf(f.target, sizeof(f.target), "%s/target", f.dir);
	*state = &f;
	return 0;
}

static int remove_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)type;
	(void)ftw;
	return remove(path);
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	/* FTW_PHYS: links are removed, never followed. */
	return nftw(f->dir, remove_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void path_in(const struct fixture *f, const char *name, char *buf, size_t len)
{
	assert_true((size_t)snprintf(buf, len, "%s/%s", f->dir, name) < len);
}

static void write_file(const char *path, const char *text)
{
	FILE *fp = fopen(path, "we");

	assert_non_null(fp);
	assert_int_equal(fputs(text, fp) >= 0, 1);
	assert_int_equal(fclose(fp), 0);
}

static void assert_file_is(const char *path, const char *text)
{
	char buf[256];
	FILE *fp = fopen(path, "re");
	size_t n;

	assert_non_null(fp);
	n = fread(buf, 1, sizeof(buf) - 1, fp);
	(void)fclose(fp);
	buf[n] = '\0';
	assert_string_equal(buf, text);
}

static void assert_is_symlink(const char *path)
{
	struct stat st;

	assert_int_equal(lstat(path, &st), 0);
	assert_true(S_ISLNK(st.st_mode));
}

static void plant_link(const struct fixture *f, const char *name)
{
	char link[PATH_MAX];

	write_file(f->target, TARGET_TEXT);
	path_in(f, name, link, sizeof(link));
	assert_int_equal(symlink(f->target, link), 0);
}

static void test_open_creates_missing_dirs(void **state)
{
	struct fixture *f = *state;
	char path[PATH_MAX];
	struct stat st;
	int fd;

	path_in(f, "a/b", path, sizeof(path));
	fd = safedir_open(path, 0700);
	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0700);
	close(fd);
	/* create_mode 0: a missing directory stays missing. */
	path_in(f, "missing", path, sizeof(path));
	assert_int_equal(safedir_open(path, 0), -ENOENT);
	assert_int_equal(access(path, F_OK), -1);
}

static void test_open_refuses_writable_by_others(void **state)
{
	static const mode_t modes[] = {0770, 0702, 01777, 0720};
	struct fixture *f = *state;
	char path[PATH_MAX];
	int fd;

	path_in(f, "shared", path, sizeof(path));
	assert_int_equal(mkdir(path, 0700), 0);
	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		assert_int_equal(chmod(path, modes[i]), 0);
		assert_int_equal(safedir_open(path, 0700), -EPERM);
	}
	/* Readable by others is fine: only writing lets someone plant a link. */
	assert_int_equal(chmod(path, 0755), 0);
	fd = safedir_open(path, 0700);
	assert_true(fd >= 0);
	close(fd);
}

static void test_open_refuses_other_owner(void **state)
{
	struct fixture *f = *state;
	char path[PATH_MAX];

	if (geteuid() != 0)
		skip(); /* only root can give a directory away */
	path_in(f, "theirs", path, sizeof(path));
	assert_int_equal(mkdir(path, 0700), 0);
	assert_int_equal(chown(path, 12345, 12345), 0);
	assert_int_equal(safedir_open(path, 0700), -EPERM);
}

static void test_open_refuses_links_and_files(void **state)
{
	struct fixture *f = *state;
	char real[PATH_MAX], link[PATH_MAX], file[PATH_MAX];

	path_in(f, "real", real, sizeof(real));
	path_in(f, "link", link, sizeof(link));
	path_in(f, "file", file, sizeof(file));
	assert_int_equal(mkdir(real, 0700), 0);
	assert_int_equal(symlink(real, link), 0);
	assert_int_equal(safedir_open(link, 0700), -ELOOP);
	write_file(file, "x");
	assert_int_equal(safedir_open(file, 0700), -ENOTDIR);
}

static void test_openat_refuses_links_and_non_files(void **state)
{
	struct fixture *f = *state;
	char fifo[PATH_MAX];
	int dfd, fd;

	dfd = safedir_open(f->dir, 0);
	assert_true(dfd >= 0);
	plant_link(f, "log");
	assert_int_equal(safedir_openat(dfd, f->dir, "log", O_WRONLY | O_APPEND | O_CREAT, 0600),
			 -ELOOP);
	assert_file_is(f->target, TARGET_TEXT);
	path_in(f, "fifo", fifo, sizeof(fifo));
	assert_int_equal(mkfifo(fifo, 0600), 0);
	assert_int_equal(safedir_openat(dfd, f->dir, "fifo", O_RDWR, 0), -EPERM);
	fd = safedir_openat(dfd, f->dir, "new", O_WRONLY | O_CREAT, 0600);
	assert_true(fd >= 0);
	close(fd);
	close(dfd);
}

static void test_create_tmp(void **state)
{
	struct fixture *f = *state;
	char tmp[PATH_MAX], link[PATH_MAX], sub[PATH_MAX];
	struct stat st;
	int dfd, fd;

	dfd = safedir_open(f->dir, 0);
	assert_true(dfd >= 0);
	/* A regular file left by a crash is replaced by an empty new one. */
	path_in(f, "x.tmp", tmp, sizeof(tmp));
	write_file(tmp, "stale");
	fd = safedir_create_tmp(dfd, f->dir, "x.tmp", 0600);
	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	assert_int_equal(st.st_size, 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	close(fd);
	/* A symbolic link is neither followed nor removed. */
	plant_link(f, "l.tmp");
	path_in(f, "l.tmp", link, sizeof(link));
	assert_int_equal(safedir_create_tmp(dfd, f->dir, "l.tmp", 0600), -ELOOP);
	assert_is_symlink(link);
	assert_file_is(f->target, TARGET_TEXT);
	/* Nor is a directory. */
	path_in(f, "d.tmp", sub, sizeof(sub));
	assert_int_equal(mkdir(sub, 0700), 0);
	assert_int_equal(safedir_create_tmp(dfd, f->dir, "d.tmp", 0600), -EEXIST);
	/* rename + directory fsync. */
	assert_int_equal(safedir_rename(dfd, "x.tmp", "x"), 0);
	path_in(f, "x", tmp, sizeof(tmp));
	assert_int_equal(access(tmp, F_OK), 0);
	close(dfd);
}

static void test_seqstore_refuses_link_at_tmp(void **state)
{
	struct fixture *f = *state;
	char link[PATH_MAX], seq[PATH_MAX];
	struct seqstore *s;
	uint64_t v, w;

	plant_link(f, "seq.tmp");
	s = seqstore_open(f->dir);
	assert_non_null(s);
	/* The reservation cannot be written: refused; numbering goes on from the clock (a
	 * restart cannot hand out the same numbers again) and is not retried. */
	assert_int_equal(seqstore_next(s, &v), -ELOOP);
	assert_true(v > 1000000000000000ull);
	assert_int_equal(seqstore_next(s, &w), 0);
	assert_true(w > v);
	seqstore_close(s);
	path_in(f, "seq.tmp", link, sizeof(link));
	assert_is_symlink(link);
	assert_file_is(f->target, TARGET_TEXT);
	path_in(f, "seq", seq, sizeof(seq));
	assert_int_equal(access(seq, F_OK), -1);
}

static void test_seqstore_refuses_link_at_seq(void **state)
{
	struct fixture *f = *state;
	char seq[PATH_MAX];
	struct seqstore *s;
	uint64_t v;

	/* A link at seq is not read (numbering goes on from the clock, not from 1) and the
	 * rename replaces the link itself, not its target. */
	plant_link(f, "seq");
	s = seqstore_open(f->dir);
	assert_non_null(s);
	assert_int_equal(seqstore_next(s, &v), 0);
	assert_true(v > 1000000000000000ull);
	seqstore_close(s);
	assert_file_is(f->target, TARGET_TEXT);
	path_in(f, "seq", seq, sizeof(seq));
	assert_int_equal(access(seq, F_OK), 0);
	s = seqstore_open(f->dir);
	assert_non_null(s);
	seqstore_close(s);
}

static void test_seqstore_untrusted_dir_not_persisted(void **state)
{
	struct fixture *f = *state;
	char dir[PATH_MAX], seq[PATH_MAX];
	struct seqstore *s;
	uint64_t v;

	path_in(f, "state", dir, sizeof(dir));
	assert_int_equal(mkdir(dir, 0700), 0);
	assert_int_equal(chmod(dir, 0777), 0);
	s = seqstore_open(dir);
	assert_non_null(s);
	assert_int_equal(seqstore_next(s, &v), 0); /* from the clock, nothing written */
	seqstore_close(s);
	path_in(f, "state/seq", seq, sizeof(seq));
	assert_int_equal(access(seq, F_OK), -1);
}

static void test_trail_refuses_link(void **state)
{
	struct fixture *f = *state;
	char path[PATH_MAX];
	struct exec_trail *t;

	plant_link(f, "exec.jsonl");
	path_in(f, "exec.jsonl", path, sizeof(path));
	errno = 0;
	t = exec_trail_open(path, 1 << 20, 2);
	assert_null(t);
	assert_int_equal(errno, ELOOP);
	assert_file_is(f->target, TARGET_TEXT);
	assert_is_symlink(path);
}

static void test_trail_untrusted_dir(void **state)
{
	struct fixture *f = *state;
	char dir[PATH_MAX], path[PATH_MAX];

	path_in(f, "log", dir, sizeof(dir));
	assert_int_equal(mkdir(dir, 0700), 0);
	assert_int_equal(chmod(dir, 0775), 0);
	path_in(f, "log/exec.jsonl", path, sizeof(path));
	errno = 0;
	assert_null(exec_trail_open(path, 1 << 20, 2));
	assert_int_equal(errno, EPERM);
	assert_int_equal(access(path, F_OK), -1);
	/* Created when missing, with its parents, 0750. */
	path_in(f, "new/log/exec.jsonl", path, sizeof(path));
	exec_trail_close(exec_trail_open(path, 1 << 20, 2));
	assert_int_equal(access(path, F_OK), 0);
}

static void test_spool_refuses_links(void **state)
{
	static const struct spool_options opt = {.max_bytes = 1 << 20, .fsync = SPOOL_FSYNC_NEVER};
	struct fixture *f = *state;
	char dir[PATH_MAX], name[PATH_MAX];

	path_in(f, "spool", dir, sizeof(dir));
	assert_int_equal(mkdir(dir, 0700), 0);
	plant_link(f, "spool/acked");
	errno = 0;
	assert_null(spool_open(dir, &opt));
	assert_int_equal(errno, ELOOP);
	assert_file_is(f->target, TARGET_TEXT);
	/* A link named like a segment. */
	path_in(f, "spool/acked", name, sizeof(name));
	assert_int_equal(unlink(name), 0);
	path_in(f, "spool/00000000000000000001.seg", name, sizeof(name));
	assert_int_equal(symlink(f->target, name), 0);
	errno = 0;
	assert_null(spool_open(dir, &opt));
	assert_int_equal(errno, ELOOP);
	assert_file_is(f->target, TARGET_TEXT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_open_creates_missing_dirs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_refuses_writable_by_others, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_open_refuses_other_owner, setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_refuses_links_and_files, setup, teardown),
		cmocka_unit_test_setup_teardown(test_openat_refuses_links_and_non_files, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_create_tmp, setup, teardown),
		cmocka_unit_test_setup_teardown(test_seqstore_refuses_link_at_tmp, setup, teardown),
		cmocka_unit_test_setup_teardown(test_seqstore_refuses_link_at_seq, setup, teardown),
		cmocka_unit_test_setup_teardown(test_seqstore_untrusted_dir_not_persisted, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_trail_refuses_link, setup, teardown),
		cmocka_unit_test_setup_teardown(test_trail_untrusted_dir, setup, teardown),
		cmocka_unit_test_setup_teardown(test_spool_refuses_links, setup, teardown),
	};

	log_set_level(LOG_LEVEL_ERR); /* the refusals are expected: keep their warnings quiet */
	return cmocka_run_group_tests(tests, NULL, NULL);
}
