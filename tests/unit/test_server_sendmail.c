/* server/sendmail.c: the child's arguments and stdin, exit statuses, the time limit, the stop
 * callback, a program that does not exist. Real processes: /bin/sh scripts written here. */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "monoclock.h"
#include "sendmail.h"

static char dir[64];

/* dir/name, a /bin/sh script of body, executable. */
static void script(const char *name, const char *body, char *ret, size_t size)
{
	FILE *f;

	(void)snprintf(ret, size, "%s/%s", dir, name);
	f = fopen(ret, "we");
	assert_non_null(f);
	(void)fprintf(f, "#!/bin/sh\n%s\n", body);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(chmod(ret, 0700), 0);
}

static void slurp(const char *path, char *ret, size_t size)
{
	FILE *f = fopen(path, "re");
	size_t n;

	assert_non_null(f);
	n = fread(ret, 1, size - 1, f);
	ret[n] = '\0';
	(void)fclose(f);
}

static int setup(void **state)
{
	(void)state;
	(void)snprintf(dir, sizeof(dir), "/tmp/srvmon-sendmail-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	/* As srvmon-server serve does: a child that stops reading is no signal to us. */
	(void)signal(SIGPIPE, SIG_IGN);
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	(void)snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void test_delivers(void **state)
{
	char prog[128], out[4096], err[256];
	char body[256];
	static const char msg[] = "To: ops@example.org\nSubject: x\n\nbody\n";

	(void)state;
	(void)snprintf(body, sizeof(body), "echo \"$@\" > %s/args\ncat > %s/stdin", dir, dir);
	script("ok.sh", body, prog, sizeof(prog));
	assert_int_equal(sendmail_run(prog, msg, strlen(msg), 5000, NULL, NULL, err, sizeof(err)),
			 0);
	(void)snprintf(body, sizeof(body), "%s/args", dir);
	slurp(body, out, sizeof(out));
	assert_string_equal(out, "-t -oi\n");
	(void)snprintf(body, sizeof(body), "%s/stdin", dir);
	slurp(body, out, sizeof(out));
	assert_string_equal(out, msg);
}

/* A message larger than a pipe holds reaches the child whole. */
static void test_large(void **state)
{
	static char msg[200 * 1024];
	char prog[128], err[256], body[128];
	struct stat st;

	(void)state;
	memset(msg, 'x', sizeof(msg));
	(void)snprintf(body, sizeof(body), "cat > %s/large", dir);
	script("large.sh", body, prog, sizeof(prog));
	assert_int_equal(sendmail_run(prog, msg, sizeof(msg), 5000, NULL, NULL, err, sizeof(err)),
			 0);
	(void)snprintf(body, sizeof(body), "%s/large", dir);
	assert_int_equal(stat(body, &st), 0);
	assert_int_equal(st.st_size, sizeof(msg));
}

static void test_fails(void **state)
{
	char prog[128], err[256];

	(void)state;
	script("fail.sh", "cat >/dev/null; echo 'msmtp: cannot connect' >&2; exit 75", prog,
	       sizeof(prog));
	assert_int_equal(sendmail_run(prog, "x\n", 2, 5000, NULL, NULL, err, sizeof(err)), -EIO);
	assert_non_null(strstr(err, "exited with status 75: msmtp: cannot connect"));
	/* It exits without reading: the write fails (EPIPE), its status is what counts. */
	script("early.sh", "exit 1", prog, sizeof(prog));
	assert_int_equal(sendmail_run(prog, "x\n", 2, 5000, NULL, NULL, err, sizeof(err)), -EIO);
	assert_non_null(strstr(err, "exited with status 1"));
	assert_int_equal(
		sendmail_run("/nonexistent/sendmail", "x\n", 2, 5000, NULL, NULL, err, sizeof(err)),
		-ENOENT);
	assert_non_null(strstr(err, "cannot run \"/nonexistent/sendmail\""));
}

static void test_time_limit(void **state)
{
	char prog[128], err[256];
	uint64_t t0;

	(void)state;
	script("hang.sh", "exec sleep 30", prog, sizeof(prog));
	t0 = mono_ms();
	assert_int_equal(sendmail_run(prog, "x\n", 2, 300, NULL, NULL, err, sizeof(err)),
			 -ETIMEDOUT);
	assert_true(mono_ms() - t0 < 5000);
	assert_non_null(strstr(err, "killed after 300 ms"));
}

static bool stop_now(void *ctx)
{
	return *(int *)ctx > 0;
}

static void test_stop(void **state)
{
	char prog[128], err[256];
	int stop = 1;
	uint64_t t0;

	(void)state;
	script("hang2.sh", "exec sleep 30", prog, sizeof(prog));
	t0 = mono_ms();
	assert_int_equal(sendmail_run(prog, "x\n", 2, 20000, stop_now, &stop, err, sizeof(err)),
			 -ECANCELED);
	assert_true(mono_ms() - t0 < 5000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_delivers), cmocka_unit_test(test_large),
		cmocka_unit_test(test_fails),	 cmocka_unit_test(test_time_limit),
		cmocka_unit_test(test_stop),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
