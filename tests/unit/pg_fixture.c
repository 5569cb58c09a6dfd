/* A private PostgreSQL 15 for a test (pg_fixture.h). */
#include "pg_fixture.h"

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define PG_USER "postgres"

static bool as_root(void)
{
	return geteuid() == 0;
}

/* Runs argv (as PG_USER when root), output appended to log (or /dev/null); waits. 0 or
 * -EIO when it failed. */
static int run(const char *const *argv, const char *log)
{
	const char *full[24];
	size_t n = 0, i;
	pid_t pid;
	int status;

	if (as_root()) {
		full[n++] = "runuser";
		full[n++] = "-u";
		full[n++] = PG_USER;
		full[n++] = "--";
	}
	for (i = 0; argv[i] && n < 23; i++)
		full[n++] = argv[i];
	full[n] = NULL;
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		int fd = open(log ? log : "/dev/null", O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC,
			      0644);

		if (fd >= 0) {
			dup2(fd, STDOUT_FILENO);
			dup2(fd, STDERR_FILENO);
		}
		execvp(full[0], (char *const *)full);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) < 0)
		return -errno;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -EIO;
}

static int rm_rf(const char *dir)
{
	const char *argv[] = {"rm", "-rf", dir, NULL};
	pid_t pid = fork();
	int status;

	if (pid < 0)
		return -errno;
	if (pid == 0) {
		execvp(argv[0], (char *const *)argv);
		_exit(127);
	}
	return waitpid(pid, &status, 0) < 0 ? -errno : 0;
}

bool pg_fixture_available(const char **ret_why)
{
	if (access(PG_FIXTURE_BIN "/initdb", X_OK) != 0 ||
	    access(PG_FIXTURE_BIN "/pg_ctl", X_OK) != 0) {
		*ret_why = PG_FIXTURE_BIN "/initdb or pg_ctl missing (package postgresql-15; "
					  "scripts/install-deps.sh installs it)";
		return false;
	}
	if (as_root() && !getpwnam(PG_USER)) {
		*ret_why = "no user " PG_USER " to run the server as";
		return false;
	}
	return true;
}

static int ctl(struct pg_fixture *f, const char *action)
{
	char opts[160], log[96];
	const char *argv[] = {PG_FIXTURE_BIN "/pg_ctl",
			      "-D",
			      f->data,
			      "-w",
			      "-t",
			      "60",
			      "-l",
			      log,
			      "-o",
			      opts,
			      action,
			      NULL,
			      NULL,
			      NULL};

	(void)snprintf(log, sizeof(log), "%s/server.log", f->dir);
	/* No TCP. */
	(void)snprintf(opts, sizeof(opts), "-c listen_addresses='' -k %s -p %d%s", f->dir, f->port,
		       f->durable ? "" : " -c fsync=off -c full_page_writes=off");
	if (strcmp(action, "stop") == 0) {
		argv[11] = "-m";
		argv[12] = "fast";
	}
	return run(argv, NULL);
}

/* Waits for the test process to end (its pipe's EOF), then stops and removes the server. */
static void reaper_main(struct pg_fixture *f, int fd)
{
	char c;

	while (read(fd, &c, 1) > 0)
		;
	{
		const char *argv[] = {PG_FIXTURE_BIN "/pg_ctl",
				      "-D",
				      f->data,
				      "-w",
				      "-m",
				      "immediate",
				      "stop",
				      NULL};

		(void)run(argv, NULL);
	}
	(void)rm_rf(f->dir);
	_exit(0);
}

static int start_reaper(struct pg_fixture *f)
{
	int fds[2];
	pid_t pid;

	if (pipe2(fds, O_CLOEXEC) < 0)
		return -errno;
	pid = fork();
	if (pid < 0) {
		close(fds[0]);
		close(fds[1]);
		return -errno;
	}
	if (pid == 0) {
		close(fds[1]);
		/* Its own process group: a ^C to the test leaves it to clean up. */
		(void)setpgid(0, 0);
		reaper_main(f, fds[0]);
	}
	close(fds[0]);
	f->reaper = pid;
	f->reaper_fd = fds[1];
	return 0;
}

int pg_fixture_start(struct pg_fixture *f, bool durable)
{
	char tmpl[] = "/tmp/srvmon-pg-XXXXXX";
	char log[96];
	const struct passwd *pw = NULL;
	int r;

	memset(f, 0, sizeof(*f));
	f->durable = durable;
	f->reaper = -1;
	f->reaper_fd = -1;
	f->port = 5432; /* only the socket file's name: the directory is ours alone */
	if (!mkdtemp(tmpl))
		return -errno;
	(void)snprintf(f->dir, sizeof(f->dir), "%s", tmpl);
	(void)snprintf(f->data, sizeof(f->data), "%s/data", f->dir);
	(void)snprintf(log, sizeof(log), "%s/initdb.log", f->dir);
	if (as_root()) {
		pw = getpwnam(PG_USER);
		if (!pw || chown(f->dir, pw->pw_uid, pw->pw_gid) < 0) {
			r = -EPERM;
			goto fail;
		}
	}
	r = start_reaper(f);
	if (r < 0)
		goto fail;
	{
		const char *argv[] = {PG_FIXTURE_BIN "/initdb",
				      "-D",
				      f->data,
				      "-U",
				      PG_USER,
				      "-A",
				      "trust",
				      "-E",
				      "UTF8",
				      "--locale=C",
				      "--no-sync",
				      NULL};

		r = run(argv, log);
	}
	if (r < 0) {
		(void)fprintf(stderr, "pg_fixture: initdb failed, see %s\n", log);
		goto fail;
	}
	r = ctl(f, "start");
	if (r < 0) {
		(void)fprintf(stderr, "pg_fixture: pg_ctl start failed\n");
		goto fail;
	}
	f->running = true;
	r = pg_fixture_createdb(f, "srvmon");
	if (r < 0)
		goto fail;
	pg_fixture_url(f, "srvmon", f->url, sizeof(f->url));
	return 0;
fail:
	pg_fixture_destroy(f);
	return r;
}

int pg_fixture_createdb(struct pg_fixture *f, const char *name)
{
	char port[16], log[96];
	const char *argv[] = {
		PG_FIXTURE_BIN "/createdb", "-h", f->dir, "-p", port, "-U", PG_USER, name, NULL};
	int r;

	(void)snprintf(port, sizeof(port), "%d", f->port);
	(void)snprintf(log, sizeof(log), "%s/createdb.log", f->dir);
	r = run(argv, log);
	if (r < 0)
		(void)fprintf(stderr, "pg_fixture: createdb %s failed, see %s\n", name, log);
	return r;
}

void pg_fixture_url(const struct pg_fixture *f, const char *name, char *buf, size_t size)
{
	(void)snprintf(buf, size, "postgresql:///%s?host=%s&port=%d&user=%s", name, f->dir, f->port,
		       PG_USER);
}

int pg_fixture_stop(struct pg_fixture *f)
{
	int r = ctl(f, "stop");

	if (r == 0)
		f->running = false;
	return r;
}

int pg_fixture_restart(struct pg_fixture *f)
{
	int r = ctl(f, "start");

	if (r == 0)
		f->running = true;
	return r;
}

void pg_fixture_destroy(struct pg_fixture *f)
{
	if (f->running)
		(void)pg_fixture_stop(f);
	f->running = false;
	if (f->dir[0])
		(void)rm_rf(f->dir);
	f->dir[0] = '\0';
	if (f->reaper > 0) {
		/* Nothing left to clean: end it by its pid, then collect it. */
		(void)kill(f->reaper, SIGKILL);
		(void)waitpid(f->reaper, NULL, 0);
		f->reaper = -1;
	}
	if (f->reaper_fd >= 0)
		close(f->reaper_fd);
	f->reaper_fd = -1;
}
