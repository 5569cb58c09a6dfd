/* What the configuration tests (test_config.c, test_config_value.c) share: a scratch
 * directory per run, fixtures copied into it, loading and printing into strings. */
#ifndef SRVMON_TESTS_CONFIG_FIXTURE_H
#define SRVMON_TESTS_CONFIG_FIXTURE_H

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
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

#include "config.h"

#define CONFIG_FIXTURES FIXTURES_DIR "/config"
#define DOCS_PATH	FIXTURES_DIR "/../../docs/configuration.md"
#define EXAMPLE_PATH	FIXTURES_DIR "/../../etc/agent.conf.example"

static char tmpdir[64];

static inline char *read_all(const char *path)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = fopen(path, "re");
	FILE *mem;
	int c;

	if (!f)
		return NULL;
	mem = open_memstream(&buf, &len);
	assert_non_null(mem);
	while ((c = fgetc(f)) != EOF)
		fputc(c, mem);
	fclose(mem);
	fclose(f);
	return buf;
}

/* Writes text to tmpdir/name with mode; returns the path in ret (PATH_MAX). */
static inline void write_tmp(const char *name, const char *text, mode_t mode, char *ret)
{
	size_t len = strlen(text);
	int fd;

	snprintf(ret, PATH_MAX, "%s/%s", tmpdir, name);
	unlink(ret);
	fd = open(ret, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, len), (ssize_t)len);
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
}

/* Copies a fixture into tmpdir with mode 0600 (git checks files out 0644, and fixtures
 * holding a password would be refused for that). */
static inline void fixture_copy(const char *name, char *ret)
{
	char src[PATH_MAX];
	char *text;

	snprintf(src, sizeof(src), "%s/%s", CONFIG_FIXTURES, name);
	text = read_all(src);
	assert_non_null(text);
	write_tmp(name, text, 0600, ret);
	free(text);
}

static inline int load(struct config *cfg, const char *path, bool require, char *err, size_t errlen)
{
	int r = config_init_defaults(cfg);

	assert_int_equal(r, 0);
	return config_load(cfg, path, require, err, errlen);
}

static inline char *print_to_string(const struct config *cfg)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *mem = open_memstream(&buf, &len);

	assert_non_null(mem);
	config_print(cfg, mem);
	fclose(mem);
	return buf;
}

/* Drops "#" comment lines (header, derived values) so that settings can be compared. */
static inline char *settings_only(char *printed)
{
	char *w = printed;

	for (char *line = printed; *line;) {
		char *nl = strchrnul(line, '\n');
		size_t len = (size_t)(nl - line) + (*nl ? 1 : 0);

		if (line[0] != '#') {
			memmove(w, line, len);
			w += len;
		}
		line += len;
	}
	*w = '\0';
	return printed;
}

static inline char *reference_to_string(void)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *mem = open_memstream(&buf, &len);

	assert_non_null(mem);
	config_print_reference(mem);
	fclose(mem);
	return buf;
}

static inline void assert_list(const struct strlist *l, size_t n, ...)
{
	va_list ap;

	assert_int_equal(l->n, n);
	va_start(ap, n);
	for (size_t i = 0; i < n; i++)
		assert_string_equal(l->items[i], va_arg(ap, const char *));
	va_end(ap);
}

/* A config_free()d struct is all zero. */
static inline void assert_zeroed(const struct config *cfg)
{
	static const struct config zero;

	assert_memory_equal(cfg, &zero, sizeof(zero));
}

static inline int setup(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_config.XXXXXX");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static inline int teardown(void **state)
{
	char path[PATH_MAX];
	struct dirent *de;
	DIR *dir;

	(void)state;
	/* Files a failed test left behind. */
	dir = opendir(tmpdir);
	if (!dir)
		return -1;
	while ((de = readdir(dir))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", tmpdir, de->d_name);
		unlink(path);
	}
	closedir(dir);
	return rmdir(tmpdir);
}

#endif
