/* The exec trail (user/modules/history/exec_trail.c): size-bounded files, rotation, batches
 * kept whole. */
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
		cmocka_unit_test(test_trail_rotation),
		cmocka_unit_test(test_trail_append_batch),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
