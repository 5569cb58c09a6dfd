/*
 * Loads the real exec programs, runs real execs (successful, failed, through an fd,
 * as another user, with a login uid) and checks the records field by field, the
 * truncation at argv_max and the kernel-side filters and counters.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "bpf_exec.h"
#include "exec_record.h"

#define DEADLINE_MS 10000
#define MAX_KEPT    64

struct capture {
	char marker[64];
	void *recs[MAX_KEPT];
	size_t sizes[MAX_KEPT];
	size_t n;
};

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Keeps the records that carry this test's marker. */
static void on_record(void *arg, const void *data, size_t size)
{
	struct capture *c = arg;

	if (c->n >= MAX_KEPT || !memmem(data, size, c->marker, strlen(c->marker)))
		return;
	c->recs[c->n] = malloc(size);
	assert_non_null(c->recs[c->n]);
	memcpy(c->recs[c->n], data, size);
	c->sizes[c->n++] = size;
}

static void capture_clear(struct capture *c)
{
	for (size_t i = 0; i < c->n; i++)
		free(c->recs[i]);
	c->n = 0;
}

static struct bpf_exec *load(struct capture *c, struct bpf_exec_opts *o)
{
	const char *step = "?";
	struct bpf_exec *e;

	snprintf(c->marker, sizeof(c->marker), "srvmon-bpf-test-%d-%llu", getpid(),
		 (unsigned long long)now_ms());
	if (!o->argv_max)
		o->argv_max = 32768;
	if (!o->ringbuf_size)
		o->ringbuf_size = 1 << 20;
	e = bpf_exec_new(o, on_record, c, &step, NULL);
	if (!e)
		fail_msg("bpf_exec_new failed at %s: %s", step, strerror(errno));
	return e;
}

enum how { HOW_EXECVE, HOW_EXECVEAT_FD };

struct spawn_opts {
	enum how how;
	uid_t uid;	      /* 0: stay root */
	const char *loginuid; /* written to /proc/self/loginuid first */
	const char *cwd;      /* chdir() there first */
	int cpu;	      /* > 0: run on CPU cpu - 1 (the kernel's cwd cache is per CPU) */
};

/* Forks, execs path with argv in the child, waits. Returns the child's pid. */
static pid_t spawn(const char *path, char *const argv[], const struct spawn_opts *o)
{
	static char *const envp[] = {"PATH=/usr/bin:/bin", NULL};
	pid_t pid = fork();
	int status;

	assert_true(pid >= 0);
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY | O_CLOEXEC);

		if (null >= 0)
			dup2(null, STDOUT_FILENO);
		if (o && o->cpu > 0) {
			cpu_set_t set;

			CPU_ZERO(&set);
			CPU_SET(o->cpu - 1, &set);
			if (sched_setaffinity(0, sizeof(set), &set) < 0)
				_exit(123);
		}
		if (o && o->cwd && chdir(o->cwd) < 0)
			_exit(124);
		if (o && o->loginuid) {
			int fd = open("/proc/self/loginuid", O_WRONLY | O_CLOEXEC);

			if (fd < 0 || write(fd, o->loginuid, strlen(o->loginuid)) < 0)
				_exit(126);
			close(fd);
		}
		if (o && o->uid && (setgid(o->uid) < 0 || setuid(o->uid) < 0))
			_exit(125);
		if (o && o->how == HOW_EXECVEAT_FD) {
			int fd = open(path, O_RDONLY); /* no O_CLOEXEC: fexecve of a script */

			syscall(SYS_execveat, fd, "", argv, envp, AT_EMPTY_PATH);
		} else {
			execve(path, argv, envp);
		}
		_exit(127);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (WIFEXITED(status) && WEXITSTATUS(status) >= 123 && WEXITSTATUS(status) <= 126)
		fail_msg("child set-up step failed (status %d)", WEXITSTATUS(status));
	return pid;
}

/* Drains until n records with the marker arrived (or the deadline). */
static void wait_records(struct bpf_exec *e, struct capture *c, size_t n)
{
	uint64_t deadline = now_ms() + DEADLINE_MS;

	while (c->n < n && now_ms() < deadline)
		assert_true(bpf_exec_poll(e, 50) >= 0);
	if (c->n < n)
		fail_msg("%zu of %zu exec records after %d ms", c->n, n, DEADLINE_MS);
}

static void decode(struct capture *c, size_t i, struct exec_event *ev)
{
	assert_int_equal(exec_record_decode(c->recs[i], c->sizes[i], 0, ev), 0);
}

static void assert_argv(const struct exec_event *ev, char *const argv[])
{
	size_t off = 0, n, i = 0;
	const char *a;

	while (exec_event_next_arg(ev, &off, &a, &n)) {
		if (!argv[i] || n != strlen(argv[i]))
			fprintf(stderr, "argv[%zu]: got '%.*s'\n", i, (int)n, a);
		assert_non_null(argv[i]);
		assert_int_equal(n, strlen(argv[i]));
		assert_memory_equal(a, argv[i], n);
		i++;
	}
	if (argv[i])
		fprintf(stderr, "argv: %zu arguments, %zu bytes, missing '%s'\n", ev->argc,
			ev->argv_len, argv[i]);
	assert_null(argv[i]);
	assert_int_equal(ev->argc, i);
}

static void test_exec_fields(void **state)
{
	struct bpf_exec_opts o = {.capture_failed = true, .capture_cwd = true};
	struct capture c = {0};
	struct bpf_exec *e = load(&c, &o);
	char cwd[4096];
	char *argv[] = {"/bin/true",
			c.marker,
			"two words",
			"",
			"tab\there",
			"\xff\xfe raw",
			"\xc3\xa9\xe6\x97\xa5",
			NULL};
	struct exec_event ev;
	pid_t pid;

	(void)state;
	assert_non_null(getcwd(cwd, sizeof(cwd)));
	pid = spawn("/bin/true", argv, NULL);
	wait_records(e, &c, 1);
	decode(&c, 0, &ev);
	assert_int_equal(ev.pid, pid);
	assert_int_equal(ev.ppid, getpid());
	assert_int_equal(ev.uid, 0);
	assert_int_equal(ev.ret, 0);
	assert_false(ev.argv_truncated);
	assert_string_equal(ev.comm, "true");
	assert_string_equal(ev.filename, "/bin/true");
	assert_string_equal(ev.cwd, cwd);
	assert_argv(&ev, argv);
	capture_clear(&c);
	bpf_exec_free(e);
}

/* history.cwd = off: no walk, an empty cwd, everything else as usual. */
static void test_exec_no_cwd(void **state)
{
	struct bpf_exec_opts o = {.capture_failed = true};
	struct capture c = {0};
	struct bpf_exec *e = load(&c, &o);
	char *argv[] = {"/bin/true", c.marker, "x y", NULL};
	struct exec_event ev;

	(void)state;
	spawn("/bin/true", argv, NULL);
	wait_records(e, &c, 1);
	decode(&c, 0, &ev);
	assert_true(ev.flags & SRVMON_EXEC_F_NO_CWD);
	assert_string_equal(ev.cwd, "");
	assert_string_equal(ev.filename, "/bin/true");
	assert_argv(&ev, argv);
	capture_clear(&c);
	bpf_exec_free(e);
}

static void test_exec_failed(void **state)
{
	struct bpf_exec_opts o = {.capture_failed = true, .capture_cwd = true};
	struct capture c = {0};
	struct bpf_exec *e = load(&c, &o);
	char path[128];
	/* On the heap, as a shell builds them: a non-sleepable program cannot fault in
	 * file-backed pages (string literals) the child has not touched (docs/history.md). */
	char *xy = strdup("x y");
	char *argv[] = {path, c.marker, xy, NULL};
	struct exec_event ev;

	(void)state;
	snprintf(path, sizeof(path), "/nonexistent/%s", c.marker);
	spawn(path, argv, NULL);
	wait_records(e, &c, 1);
	decode(&c, 0, &ev);
	assert_int_equal(ev.ret, -ENOENT);
	assert_true(ev.flags & SRVMON_EXEC_F_FAILED);
	assert_string_equal(ev.filename, path);
	assert_argv(&ev, argv);
	free(xy);
	capture_clear(&c);
	bpf_exec_free(e);
}

static void test_execveat_fd(void **state)
{
	struct bpf_exec_opts o = {.capture_failed = true, .capture_cwd = true};
	struct spawn_opts so = {.how = HOW_EXECVEAT_FD};
	struct capture c = {0};
	struct bpf_exec *e = load(&c, &o);
	char *argv[] = {"true-by-fd", c.marker, "fd", NULL};
	struct exec_event ev;

	(void)state;
	spawn("/bin/true", argv, &so);
	wait_records(e, &c, 1);
	decode(&c, 0, &ev);
	assert_int_equal(ev.ret, 0);
	assert_argv(&ev, argv);
	assert_true(strncmp(ev.filename, "/dev/fd/", 8) == 0);
	capture_clear(&c);
	bpf_exec_free(e);
}

static void test_truncation(void **state)
{
	struct bpf_exec_opts o = {.argv_max = 4096};
	struct capture c = {0};
	struct bpf_exec *e = load(&c, &o);
	static char big[10][1001];
	char *argv[13] = {"/bin/true", c.marker};
	struct srvmon_exec_stats st;
	size_t total = strlen("/bin/true") + 1 + strlen(c.marker) + 1;
	struct exec_event ev;
	size_t off = 0, n;
	const char *a;

	(void)state;
	for (int i = 0; i < 10; i++) {
		memset(big[i], 'a' + i, 1000);
		argv[2 + i] = big[i];
		total += 1001;
	}
	spawn("/bin/true", argv, NULL);
	wait_records(e, &c, 1);
	decode(&c, 0, &ev);
	assert_true(ev.argv_truncated);
	assert_int_equal(ev.argv_total, total);
	/* Cut at an argument boundary: every argument kept is whole. */
	assert_true(ev.argv_len <= 4096);
	assert_int_equal(ev.argv[ev.argv_len - 1], '\0');
	{
		size_t kept = 0, expect = 0;

		for (size_t i = 0; argv[i] && kept + strlen(argv[i]) + 1 <= 4096; i++) {
			kept += strlen(argv[i]) + 1;
			expect++;
		}
		assert_int_equal(ev.argc, expect);
		assert_int_equal(ev.argv_len, kept);
	}
	for (size_t i = 0; exec_event_next_arg(&ev, &off, &a, &n); i++) {
		assert_int_equal(n, strlen(argv[i]));
		assert_memory_equal(a, argv[i], n);
	}
	assert_int_equal(bpf_exec_stats(e, &st), 0);
	assert_true(st.argv_truncated >= 1);
	assert_true(st.emitted >= 1);
	capture_clear(&c);
	bpf_exec_free(e);
}

static void test_filters(void **state)
{
	static const char *const excl[] = {"true"};
	struct bpf_exec_opts o = {.exclude_comm = excl, .n_exclude_comm = 1, .min_uid = 1000};
	struct spawn_opts nobody = {.uid = 65534};
	struct capture c = {0};
	struct bpf_exec *e = load(&c, &o);
	char *t_argv[] = {"/bin/true", c.marker, NULL};
	char *root_argv[] = {"/bin/echo", c.marker, "root", NULL};
	char *user_argv[] = {"/bin/echo", c.marker, "nobody", NULL};
	struct srvmon_exec_stats st;
	struct exec_event ev;

	(void)state;
	spawn("/bin/true", t_argv, &nobody);	/* excluded comm */
	spawn("/bin/echo", root_argv, NULL);	/* uid 0 < min_uid */
	spawn("/bin/echo", user_argv, &nobody); /* the one recorded */
	wait_records(e, &c, 1);
	/* Records arrive in order: the filtered ones would be in front of it. */
	assert_int_equal(c.n, 1);
	decode(&c, 0, &ev);
	assert_int_equal(ev.uid, 65534);
	assert_string_equal(ev.comm, "echo");
	assert_int_equal(bpf_exec_stats(e, &st), 0);
	assert_true(st.filtered >= 2);
	capture_clear(&c);
	bpf_exec_free(e);
}

static void test_login_filter(void **state)
{
	struct bpf_exec_opts o = {.login_only = true};
	struct spawn_opts login = {.loginuid = "4242"};
	struct capture c = {0};
	struct bpf_exec *e = load(&c, &o);
	char *no_argv[] = {"/bin/echo", c.marker, "no-login", NULL};
	char *yes_argv[] = {"/bin/echo", c.marker, "login", NULL};
	struct exec_event ev;
	char self[32] = "";
	int fd;

	(void)state;
	/* Only meaningful when this process has no login uid itself. */
	fd = open("/proc/self/loginuid", O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		ssize_t n = read(fd, self, sizeof(self) - 1);

		self[n > 0 ? n : 0] = '\0';
		close(fd);
	}
	if (strcmp(self, "4294967295") != 0) {
		bpf_exec_free(e);
		skip();
	}
	spawn("/bin/echo", no_argv, NULL);
	spawn("/bin/echo", yes_argv, &login);
	wait_records(e, &c, 1);
	assert_int_equal(c.n, 1);
	decode(&c, 0, &ev);
	assert_int_equal(ev.auid, 4242);
	assert_argv(&ev, yes_argv);
	capture_clear(&c);
	bpf_exec_free(e);
}

/* Appends "/" and a component of len bytes of c to path (a buffer of size bytes). */
static void path_push(char *path, size_t size, char c, size_t len)
{
	size_t at = strlen(path);

	assert_true(at + 1 + len < size);
	path[at] = '/';
	memset(path + at + 1, c, len);
	path[at + 1 + len] = '\0';
	assert_true(mkdir(path, 0700) == 0 || errno == EEXIST);
}

/*
 * cwd components are copied by their length: names stored in the dentry (short) and
 * outside it (long), up to NAME_MAX, come back exact; a renamed directory is seen under
 * its new name at the next exec; two directories alternating each get their own path.
 */
static void test_exec_cwd_names(void **state)
{
	struct bpf_exec_opts o = {.capture_cwd = true};
	struct capture c = {0};
	struct bpf_exec *e = load(&c, &o);
	char *argv[] = {"/bin/true", c.marker, NULL};
	char base[] = "/tmp/srvmon-cwd-XXXXXX";
	static const size_t lens[] = {1, 31, 32, 39, 40, 41, 255};
	static char deep[4096], renamed[4096], other[4096];
	struct spawn_opts so = {0};
	struct exec_event ev;
	char cmd[64];

	(void)state;
	assert_non_null(mkdtemp(base));
	snprintf(deep, sizeof(deep), "%s", base);
	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++)
		path_push(deep, sizeof(deep), (char)('a' + i), lens[i]);
	snprintf(other, sizeof(other), "%s", base);
	path_push(other, sizeof(other), 'o', 3);

	so.cwd = deep;
	spawn("/bin/true", argv, &so);
	so.cwd = other;
	spawn("/bin/true", argv, &so);
	so.cwd = deep;
	spawn("/bin/true", argv, &so);
	wait_records(e, &c, 3);
	decode(&c, 0, &ev);
	assert_string_equal(ev.cwd, deep);
	decode(&c, 1, &ev);
	assert_string_equal(ev.cwd, other);
	decode(&c, 2, &ev);
	assert_string_equal(ev.cwd, deep);
	capture_clear(&c);

	/* Rename an ancestor: the next exec in the same directory shows the new path. */
	snprintf(renamed, sizeof(renamed), "%s/renamed", base);
	{
		char from[4096];

		snprintf(from, sizeof(from), "%s/a", base);
		assert_int_equal(rename(from, renamed), 0);
	}
	snprintf(deep, sizeof(deep), "%s", renamed);
	for (size_t i = 1; i < sizeof(lens) / sizeof(lens[0]); i++) {
		size_t at = strlen(deep);

		deep[at] = '/';
		memset(deep + at + 1, 'a' + (int)i, lens[i]);
		deep[at + 1 + lens[i]] = '\0';
	}
	so.cwd = deep;
	spawn("/bin/true", argv, &so);
	wait_records(e, &c, 1);
	decode(&c, 0, &ev);
	assert_string_equal(ev.cwd, deep);
	capture_clear(&c);
	bpf_exec_free(e);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", base);
	assert_int_equal(system(cmd), 0);
}

/*
 * One exec of /bin/true from cwd on the CPU of so; its record's cwd must be expect.
 * Returns whether the kernel took that cwd from its cache.
 */
static bool exec_cwd(struct bpf_exec *e, struct capture *c, struct spawn_opts *so, const char *cwd,
		     const char *expect)
{
	char *argv[] = {"/bin/true", c->marker, NULL};
	struct exec_event ev;
	bool cached;

	so->cwd = cwd;
	spawn("/bin/true", argv, so);
	wait_records(e, c, 1);
	decode(c, 0, &ev);
	assert_string_equal(ev.cwd, expect);
	cached = (ev.flags & SRVMON_EXEC_F_CWD_CACHED) != 0;
	capture_clear(c);
	return cached;
}

/* Execs from cwd until one is served from the cache (a few tries: another exec on the
 * CPU may take the slot in between); fails when none is. */
static void exec_cwd_cached(struct bpf_exec *e, struct capture *c, struct spawn_opts *so,
			    const char *cwd)
{
	for (int i = 0; i < 5; i++)
		if (exec_cwd(e, c, so, cwd, cwd))
			return;
	fail_msg("cwd %s never taken from the cache", cwd);
}

static void join(char *buf, size_t size, const char *a, const char *b)
{
	assert_true((size_t)snprintf(buf, size, "%s/%s", a, b) < size);
}

/*
 * The kernel's cwd cache gives what the walk gives: after a first exec fills it, a
 * second from the same directory is served from it; after a rename of an ancestor
 * (same name length), a move of an ancestor to another parent, a rename of the cwd
 * itself, a directory deleted and recreated with the same name, and a mount moved
 * elsewhere, the next exec shows the new path (checked, not cached), then the cache
 * serves the new path.
 */
static void test_exec_cwd_cache(void **state)
{
	struct bpf_exec_opts o = {.capture_cwd = true, .cwd_cache_slots = 1024};
	struct capture c = {0};
	struct bpf_exec *e;
	struct spawn_opts so = {0};
	char base[] = "/tmp/srvmon-cwdc-XXXXXX";
	static char p[4096], q[4096], dir[4096], to[4096], m[4096], n[4096];
	char cmd[64];
	int cpu = sched_getcpu();

	(void)state;
	assert_true(cpu >= 0);
	so.cpu = cpu + 1;
	e = load(&c, &o);
	assert_non_null(mkdtemp(base));
	join(p, sizeof(p), base, "ppp");
	assert_int_equal(mkdir(p, 0700), 0);
	join(q, sizeof(q), p, "q");
	assert_int_equal(mkdir(q, 0700), 0);
	join(dir, sizeof(dir), q, "leaf");
	assert_int_equal(mkdir(dir, 0700), 0);
	exec_cwd(e, &c, &so, dir, dir);
	exec_cwd_cached(e, &c, &so, dir);

	/* An ancestor renamed, same length: same dentries, new path. */
	join(to, sizeof(to), base, "PPP");
	assert_int_equal(rename(p, to), 0);
	join(q, sizeof(q), to, "q");
	join(dir, sizeof(dir), q, "leaf");
	assert_false(exec_cwd(e, &c, &so, dir, dir));
	exec_cwd_cached(e, &c, &so, dir);

	/* An ancestor moved under another parent. */
	join(p, sizeof(p), base, "other");
	assert_int_equal(mkdir(p, 0700), 0);
	join(to, sizeof(to), p, "q");
	assert_int_equal(rename(q, to), 0);
	join(dir, sizeof(dir), to, "leaf");
	assert_false(exec_cwd(e, &c, &so, dir, dir));
	exec_cwd_cached(e, &c, &so, dir);

	/* The cwd itself renamed. */
	join(q, sizeof(q), to, "LEAF");
	assert_int_equal(rename(dir, q), 0);
	assert_false(exec_cwd(e, &c, &so, q, q));
	exec_cwd_cached(e, &c, &so, q);

	/* Deleted and made again with the same name: the same path either way. */
	assert_int_equal(rmdir(q), 0);
	assert_int_equal(mkdir(q, 0700), 0);
	exec_cwd(e, &c, &so, q, q);
	exec_cwd_cached(e, &c, &so, q);

	/* A mount crossed on the way, then moved: same (mount, dentry), new path. In a
	 * mount namespace of this test process's own, gone with it. */
	assert_int_equal(unshare(CLONE_NEWNS), 0);
	assert_int_equal(mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL), 0);
	join(m, sizeof(m), base, "m");
	join(n, sizeof(n), base, "n");
	assert_int_equal(mkdir(m, 0700), 0);
	assert_int_equal(mkdir(n, 0700), 0);
	assert_int_equal(mount("srvmon-test", m, "tmpfs", 0, "size=64k"), 0);
	join(dir, sizeof(dir), m, "in");
	assert_int_equal(mkdir(dir, 0700), 0);
	exec_cwd(e, &c, &so, dir, dir);
	exec_cwd_cached(e, &c, &so, dir);
	assert_int_equal(mount(m, n, NULL, MS_MOVE, NULL), 0);
	join(dir, sizeof(dir), n, "in");
	assert_false(exec_cwd(e, &c, &so, dir, dir));
	exec_cwd_cached(e, &c, &so, dir);
	assert_int_equal(umount(n), 0);

	bpf_exec_free(e);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", base);
	assert_int_equal(system(cmd), 0);
}

/* cgroup_id is the id of the cgroup v2 directory (its inode number in cgroupfs). */
static void test_exec_cgroup(void **state)
{
	struct bpf_exec_opts o = {0};
	struct capture c = {0};
	struct bpf_exec *e;
	char *argv[] = {"/bin/true", NULL, NULL};
	char line[4096], path[4200];
	struct exec_event ev;
	struct stat st;
	FILE *f;

	(void)state;
	/* "0::/PATH" is this process's cgroup v2 path; the child execs in it too. */
	f = fopen("/proc/self/cgroup", "re");
	assert_non_null(f);
	line[0] = '\0';
	while (fgets(line, sizeof(line), f) && strncmp(line, "0::", 3) != 0)
		line[0] = '\0';
	fclose(f);
	if (strncmp(line, "0::", 3) != 0)
		skip(); /* no cgroup v2 */
	line[strcspn(line, "\n")] = '\0';
	snprintf(path, sizeof(path), "/sys/fs/cgroup%s", line + 3);
	if (stat(path, &st) < 0)
		skip(); /* cgroup2 not mounted there */
	e = load(&c, &o);
	argv[1] = c.marker;
	spawn("/bin/true", argv, NULL);
	wait_records(e, &c, 1);
	decode(&c, 0, &ev);
	assert_int_equal(ev.cgroup_id, (uint64_t)st.st_ino);
	{
		const char *leaf = strrchr(line + 3, '/');

		assert_string_equal(ev.cgroup, leaf && leaf[1] ? leaf + 1 : "");
	}
	capture_clear(&c);
	bpf_exec_free(e);
}

/*
 * Records are submitted without a wake-up; once the unread part of the ring passes
 * a quarter of it (checked once per query_bytes a CPU submits), the consumer is woken:
 * a few records do not wake bpf_exec_poll() (it runs out its timeout), enough of them
 * do, long before its timeout, and none is lost. Only this test's own execs reach the
 * ring (min_uid: they run as a random uid no account has), so other work on the machine
 * can neither wake the consumer nor fill the ring.
 */
static void test_forced_wakeup(void **state)
{
	uid_t uid = 3000000000u + (uid_t)(now_ms() % 1000000000u);
	struct bpf_exec_opts o = {.ringbuf_size = 64 * 1024, .min_uid = uid};
	struct spawn_opts so = {.uid = uid};
	struct capture c = {0};
	struct bpf_exec *e = load(&c, &o);
	static char pad[400];
	char *argv[] = {"/bin/true", c.marker, pad, NULL};
	struct srvmon_exec_stats st;
	uint64_t t0;

	(void)state;
	memset(pad, 'p', sizeof(pad) - 1);
	/* ~700 bytes a record: 4 of them are 2.8 KiB, below the 16 KiB of a wake-up. */
	for (int i = 0; i < 4; i++)
		spawn("/bin/true", argv, &so);
	t0 = now_ms();
	assert_true(bpf_exec_poll(e, 300) >= 0);
	assert_true(now_ms() - t0 >= 290);
	assert_int_equal(c.n, 4);
	/* 40 more are 28 KiB, past 16 KiB + 2 CPUs' 4 KiB between two fill-level reads. */
	for (int i = 0; i < 40; i++)
		spawn("/bin/true", argv, &so);
	t0 = now_ms();
	assert_true(bpf_exec_poll(e, 8000) > 0);
	assert_true(now_ms() - t0 < 6000);
	wait_records(e, &c, 44);
	assert_int_equal(c.n, 44);
	assert_int_equal(bpf_exec_stats(e, &st), 0);
	assert_int_equal(st.ringbuf_full, 0);
	capture_clear(&c);
	bpf_exec_free(e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exec_fields),    cmocka_unit_test(test_exec_no_cwd),
		cmocka_unit_test(test_exec_failed),    cmocka_unit_test(test_execveat_fd),
		cmocka_unit_test(test_truncation),     cmocka_unit_test(test_filters),
		cmocka_unit_test(test_login_filter),   cmocka_unit_test(test_exec_cwd_names),
		cmocka_unit_test(test_exec_cwd_cache), cmocka_unit_test(test_exec_cgroup),
		cmocka_unit_test(test_forced_wakeup),
	};

	if (geteuid() != 0) {
		fprintf(stderr, "test_exec needs root (BPF), skipping\n");
		return 77;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
