/* The fd-passing loader child (user/lib/bpf_loader.c), without BPF: plain descriptors. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "bpf_loader.h"

/* The child opens a pipe and a file; slot 1 stays empty. */
static void child_sends_fds(void *arg, struct bpf_loader_result *ret)
{
	int p[2];

	(void)arg;
	if (pipe(p) < 0) {
		ret->r = -errno;
		return;
	}
	ret->fds[0] = p[0];
	ret->fds[2] = p[1];
	ret->fds[3] = open("/dev/null", O_RDONLY | O_CLOEXEC);
	ret->n_fds = 4;
	ret->step = 7;
	ret->flags = 5;
}

static void test_fds_come_back(void **state)
{
	struct bpf_loader_result res;
	struct stat st;
	char c = 0;

	(void)state;
	assert_int_equal(bpf_loader_run(child_sends_fds, NULL, 10000, &res), 0);
	assert_int_equal(res.r, 0);
	assert_int_equal(res.step, 7);
	assert_int_equal(res.flags, 5);
	assert_int_equal(res.n_fds, 4);
	assert_true(res.fds[0] >= 0);
	assert_int_equal(res.fds[1], -1);
	assert_true(res.fds[2] >= 0);
	assert_true(res.fds[3] >= 0);
	/* The pipe made in the child works in the parent, both ends ours now. */
	assert_int_equal(write(res.fds[2], "x", 1), 1);
	assert_int_equal(read(res.fds[0], &c, 1), 1);
	assert_int_equal(c, 'x');
	assert_int_equal(fstat(res.fds[3], &st), 0);
	assert_true(S_ISCHR(st.st_mode));
	assert_true(fcntl(res.fds[0], F_GETFD) & FD_CLOEXEC);
	bpf_loader_close(&res);
	assert_int_equal(res.fds[0], -1);
	assert_int_equal(res.fds[3], -1);
}

/* A failed step comes back with its errno and index, and no descriptor. */
static void child_fails(void *arg, struct bpf_loader_result *ret)
{
	(void)arg;
	ret->fds[0] = open("/dev/null", O_RDONLY | O_CLOEXEC);
	ret->n_fds = 1;
	ret->step = 2;
	ret->r = -EPERM;
}

static void test_failure_reported(void **state)
{
	struct bpf_loader_result res;

	(void)state;
	assert_int_equal(bpf_loader_run(child_fails, NULL, 10000, &res), 0);
	assert_int_equal(res.r, -EPERM);
	assert_int_equal(res.step, 2);
	assert_int_equal(res.fds[0], -1);
}

/* A child that dies before it reports: EOF, nothing open. */
static void child_dies(void *arg, struct bpf_loader_result *ret)
{
	(void)arg;
	(void)ret;
	_exit(3);
}

static void test_child_death(void **state)
{
	struct bpf_loader_result res;

	(void)state;
	assert_int_equal(bpf_loader_run(child_dies, NULL, 10000, &res), -EPIPE);
	assert_int_equal(res.fds[0], -1);
}

/* A child that never reports is killed at the deadline. */
static void child_hangs(void *arg, struct bpf_loader_result *ret)
{
	(void)arg;
	(void)ret;
	for (;;)
		pause();
}

static void test_child_timeout(void **state)
{
	struct bpf_loader_result res;

	(void)state;
	assert_int_equal(bpf_loader_run(child_hangs, NULL, 200, &res), -ETIMEDOUT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fds_come_back),
		cmocka_unit_test(test_failure_reported),
		cmocka_unit_test(test_child_death),
		cmocka_unit_test(test_child_timeout),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
