// SPDX-License-Identifier: GPL-2.0
/* The exec storm of the exec benchmarks: WORKERS processes each run COUNT / WORKERS
 * sequential fork + execve("/bin/true", {"/bin/true", TAG}) and wait for each child.
 * Prints "wall_s cpu_s" on stdout: the monotonic wall time of the whole storm and the
 * user + system CPU of every process it created (getrusage RUSAGE_CHILDREN).
 * execve() goes through libc, so an LD_PRELOAD tracer (snoopy) sees it.
 * Usage: exec-loop COUNT TAG [WORKERS]
 * Build: cc -O2 -o exec-loop bench/exec-loop.c (the scripts do it).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static int parse_count(const char *s, unsigned long max, unsigned long *ret_value)
{
	char *end = NULL;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end != '\0' || v == 0 || v > max)
		return -EINVAL;
	*ret_value = v;
	return 0;
}

/* COUNT sequential fork + execve + waitpid; 0 or -errno (the first failure). */
static int run_execs(unsigned long count, const char *tag)
{
	/* Arguments in anonymous memory, as a shell has them: a tracer that reads argv at
	 * sys_enter_execve cannot read strings of a file mapping not yet faulted in by the
	 * child (fork copies no page table entries of file mappings). */
	char path[] = "/bin/true";
	char arg[256];
	char *const argv[] = {path, arg, NULL};
	unsigned long i;

	if (strlen(tag) >= sizeof(arg))
		return -E2BIG;
	memcpy(arg, tag, strlen(tag) + 1);

	for (i = 0; i < count; i++) {
		int status = 0;
		pid_t pid = fork();

		if (pid < 0)
			return -errno;
		if (pid == 0) {
			execve(argv[0], argv, environ);
			_exit(127);
		}
		if (waitpid(pid, &status, 0) < 0)
			return -errno;
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
			return -ECHILD;
	}
	return 0;
}

/* Starts WORKERS processes sharing COUNT execs and waits for them; 0 or -errno. */
static int run_workers(unsigned long count, const char *tag, unsigned long workers)
{
	unsigned long w;
	int ret = 0;

	for (w = 0; w < workers; w++) {
		unsigned long share = count / workers + (w < count % workers ? 1 : 0);
		pid_t pid = fork();

		if (pid < 0) {
			ret = -errno;
			break;
		}
		if (pid == 0)
			_exit(run_execs(share, tag) == 0 ? 0 : 1);
	}
	for (;;) {
		int status = 0;
		pid_t pid = wait(&status);

		if (pid < 0)
			break;
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
			ret = ret ? ret : -ECHILD;
	}
	return ret;
}

static double seconds(const struct timespec *a, const struct timespec *b)
{
	return (double)(b->tv_sec - a->tv_sec) + (double)(b->tv_nsec - a->tv_nsec) / 1e9;
}

int main(int argc, char **argv)
{
	unsigned long count = 0;
	unsigned long workers = 1;
	struct timespec t0, t1;
	struct rusage ru;
	int r;

	if (argc < 3 || argc > 4 || parse_count(argv[1], 100000000UL, &count) < 0 ||
	    (argc == 4 && parse_count(argv[3], 256, &workers) < 0)) {
		fprintf(stderr, "usage: exec-loop COUNT TAG [WORKERS <= 256]\n");
		return 2;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (workers == 1)
		r = run_execs(count, argv[2]);
	else
		r = run_workers(count, argv[2], workers);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (r < 0) {
		fprintf(stderr, "exec-loop: the storm failed: %s\n", strerror(-r));
		return 1;
	}
	if (getrusage(RUSAGE_CHILDREN, &ru) < 0) {
		fprintf(stderr, "exec-loop: getrusage: %s\n", strerror(errno));
		return 1;
	}
	printf("%.3f %.3f\n", seconds(&t0, &t1),
	       (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
		       (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6);
	return 0;
}
