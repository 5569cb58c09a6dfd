/* `srvmon-agent history` output (user/modules/history/history_cli.c), read from trail fixtures. */
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_history_table),
		cmocka_unit_test(test_history_filters),
	};

	setenv("TZ", "UTC", 1);
	tzset();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
