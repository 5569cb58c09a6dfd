/* The exec trail (user/modules/history/exec_trail.c) and `srvmon-agent history` output (history_cli.c). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "exec_trail.h"
#include "history_cli.h"

#define TRAIL FIXTURES_DIR "/exec/trail.jsonl"

static char *print(const char *path, unsigned rotations, const struct history_filter *f, bool json)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&buf, &len);

	assert_non_null(out);
	assert_int_equal(history_print(path, rotations, f, json, out), 0);
	fclose(out);
	return buf;
}

static void test_history_table(void **state)
{
	struct history_filter f = {0};
	char *out;

	(void)state;
	out = print(TRAIL, 1, &f, false);
	assert_string_equal(
		out,
		"TIME                 USER   TTY    CWD          COMMAND\n"
		"2023-11-14 22:13:20  alice  pts/3  /home/alice  ls -la\n"
		"2023-11-14 22:13:21  bob    -      /tmp         grep 'a b' 'it'\\''s'\n"
		"2023-11-14 22:13:22  alice  pts/3  /home/alice  printf $'x\\ny'\n"
		"2023-11-14 22:13:23  alice  pts/3  /home/alice  /nope  # failed: No such file "
		"or directory\n");
	free(out);
}

static void test_history_filters(void **state)
{
	struct history_filter f = {.user = "bob"};
	char *out;

	(void)state;
	out = print(TRAIL, 1, &f, true);
	assert_non_null(strstr(out, "\"user\": \"bob\""));
	assert_null(strstr(out, "alice"));
	assert_int_equal(out[strlen(out) - 1], '\n');
	free(out);
	/* The newest n, by time; the rotated file is older. */
	f = (struct history_filter){.max = 2};
	out = print(TRAIL, 1, &f, false);
	assert_null(strstr(out, "ls -la"));
	assert_null(strstr(out, "grep"));
	assert_non_null(strstr(out, "printf"));
	free(out);
	f = (struct history_filter){.since_ms = 1700000001500ull};
	out = print(TRAIL, 1, &f, false);
	assert_null(strstr(out, "grep"));
	assert_non_null(strstr(out, "/nope"));
	free(out);
	/* uid instead of a name */
	f = (struct history_filter){.user = "1001"};
	out = print(TRAIL, 0, &f, false);
	assert_non_null(strstr(out, "grep"));
	free(out);
	assert_int_equal(history_print("/nonexistent/trail", 2, &f, false, stdout), -ENOENT);
}

static void test_trail_rotation(void **state)
{
	char dir[] = "/tmp/srvmon-trail-XXXXXX";
	char path[256], name[256], line[100];
	struct exec_trail *t;
	struct stat st;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/sub/exec.jsonl", dir);
	t = exec_trail_open(path, 1000, 2);
	assert_non_null(t);
	memset(line, 'x', sizeof(line) - 1);
	line[sizeof(line) - 1] = '\0';
	/* 100 bytes a line: 10 lines a file; 35 lines make path, path.1, path.2 and drop one. */
	for (int i = 0; i < 35; i++)
		assert_int_equal(exec_trail_write(t, line, strlen(line)), 0);
	exec_trail_close(t);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_size, 500);
	assert_int_equal(st.st_mode & 0777, 0640);
	for (unsigned i = 1; i <= 2; i++) {
		assert_int_equal(exec_trail_name(path, i, name, sizeof(name)), 0);
		assert_int_equal(stat(name, &st), 0);
		assert_int_equal(st.st_size, 1000);
		unlink(name);
	}
	assert_int_equal(exec_trail_name(path, 3, name, sizeof(name)), 0);
	assert_int_not_equal(stat(name, &st), 0);
	unlink(path);
	snprintf(name, sizeof(name), "%s/sub", dir);
	rmdir(name);
	rmdir(dir);
}

/* A batch of lines goes in one write and is never split across rotated files. */
static void test_trail_append_batch(void **state)
{
	char dir[] = "/tmp/srvmon-trail-XXXXXX";
	char path[256], name[256], batch[301];
	struct exec_trail *t;
	struct stat st;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/exec.jsonl", dir);
	t = exec_trail_open(path, 1000, 1);
	assert_non_null(t);
	/* Three 100-byte lines a batch: 3 batches fit in 1000 bytes, the 4th rotates. */
	for (int i = 0; i < 3; i++) {
		memset(batch + i * 100, 'a' + i, 99);
		batch[i * 100 + 99] = '\n';
	}
	batch[300] = '\0';
	for (int i = 0; i < 4; i++)
		assert_int_equal(exec_trail_append(t, batch, 300), 0);
	assert_int_equal(exec_trail_append(t, batch, 0), 0);
	exec_trail_close(t);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_size, 300);
	assert_int_equal(exec_trail_name(path, 1, name, sizeof(name)), 0);
	assert_int_equal(stat(name, &st), 0);
	assert_int_equal(st.st_size, 900);
	unlink(name);
	unlink(path);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_history_table),
		cmocka_unit_test(test_history_filters),
		cmocka_unit_test(test_trail_rotation),
		cmocka_unit_test(test_trail_append_batch),
	};

	setenv("TZ", "UTC", 1);
	tzset();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
