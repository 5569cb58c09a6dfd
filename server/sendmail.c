#include "sendmail.h"

#include "monoclock.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/wait.h>
#include <unistd.h>

#define OUTPUT_MAX   512 /* of the child's output, kept for the error */
#define STOP_POLL_MS 250

extern char **environ;

struct child {
	pid_t pid;
	int pidfd;
	int in;	 /* its stdin, ours to write; -1 once closed */
	int out; /* its stdout and stderr; -1 at EOF */
	char output[OUTPUT_MAX + 1];
	size_t n_output;
};

static void close_fd(int *fd)
{
	if (*fd >= 0)
		(void)close(*fd);
	*fd = -1;
}

/* The child's output as one line of printable text. */
static const char *output_text(struct child *c)
{
	size_t n = c->n_output;

	for (size_t i = 0; i < n; i++) {
		if ((unsigned char)c->output[i] < 0x20 || c->output[i] == 0x7f)
			c->output[i] = ' ';
	}
	while (n > 0 && c->output[n - 1] == ' ')
		n--;
	c->output[n] = '\0';
	return c->output;
}

static void read_output(struct child *c)
{
	char buf[256];

	for (;;) {
		ssize_t n = read(c->out, buf, sizeof(buf));

		if (n < 0 && errno == EINTR)
			continue;
		if (n == 0 || (n < 0 && errno != EAGAIN)) {
			close_fd(&c->out);
			return;
		}
		if (n < 0)
			return;
		for (ssize_t i = 0; i < n && c->n_output < OUTPUT_MAX; i++)
			c->output[c->n_output++] = buf[i];
	}
}

/* Starts path -t -oi with pipes for its stdin and its output. 0 or -errno. */
static int spawn(const char *path, struct child *c)
{
	char *const argv[] = {(char *)path, (char *)"-t", (char *)"-oi", NULL};
	int in[2] = {-1, -1}, out[2] = {-1, -1};
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t none, dfl;
	int r;

	if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0) {
		r = -errno;
		goto out;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, in[0], STDIN_FILENO);
	posix_spawn_file_actions_adddup2(&fa, out[1], STDOUT_FILENO);
	posix_spawn_file_actions_adddup2(&fa, out[1], STDERR_FILENO);
	/* The server ignores SIGPIPE; the child gets the defaults and no blocked signal. */
	posix_spawnattr_init(&attr);
	sigemptyset(&none);
	sigemptyset(&dfl);
	sigaddset(&dfl, SIGPIPE);
	posix_spawnattr_setsigmask(&attr, &none);
	posix_spawnattr_setsigdefault(&attr, &dfl);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
	r = -posix_spawn(&c->pid, path, &fa, &attr, argv, environ);
	posix_spawnattr_destroy(&attr);
	posix_spawn_file_actions_destroy(&fa);
	if (r < 0)
		goto out;
	c->pidfd = pidfd_open(c->pid, 0);
	if (c->pidfd < 0) {
		r = -errno;
		(void)kill(c->pid, SIGKILL);
		(void)waitpid(c->pid, NULL, 0);
		goto out;
	}
	c->in = in[1];
	c->out = out[0];
	in[1] = out[0] = -1;
	(void)fcntl(c->in, F_SETFL, O_NONBLOCK);
	(void)fcntl(c->out, F_SETFL, O_NONBLOCK);
out:
	close_fd(&in[0]);
	close_fd(&in[1]);
	close_fd(&out[0]);
	close_fd(&out[1]);
	return r;
}

/* Feeds msg and collects the output until the child exits or end_ms (monotonic) passes or
 * stop says so. 0 (exited: *ret_status), -ETIMEDOUT, -ECANCELED. */
static int supervise(struct child *c, const char *msg, size_t len, uint64_t end_ms,
		     bool (*stop)(void *), void *stop_ctx, int *ret_status)
{
	size_t sent = 0;

	if (len == 0)
		close_fd(&c->in);
	for (;;) {
		struct pollfd p[3] = {
			{.fd = c->pidfd, .events = POLLIN},
			{.fd = c->out, .events = POLLIN},
			{.fd = c->in, .events = POLLOUT},
		};
		uint64_t now = mono_ms();
		int wait = STOP_POLL_MS;

		if (now >= end_ms)
			return -ETIMEDOUT;
		if (stop && stop(stop_ctx))
			return -ECANCELED;
		if (end_ms - now < (uint64_t)wait)
			wait = (int)(end_ms - now);
		if (poll(p, 3, wait) < 0 && errno != EINTR)
			return -errno;
		if (p[2].revents & (POLLOUT | POLLERR | POLLHUP)) {
			ssize_t n = write(c->in, msg + sent, len - sent);

			if (n > 0)
				sent += (size_t)n;
			/* EPIPE: it stopped reading; its exit status says why. */
			if ((n < 0 && errno != EAGAIN && errno != EINTR) || sent == len)
				close_fd(&c->in);
		}
		if (p[1].revents)
			read_output(c);
		if (p[0].revents & POLLIN) {
			if (waitpid(c->pid, ret_status, 0) < 0)
				return -errno;
			c->pid = 0;
			if (c->out >= 0)
				read_output(c);
			return 0;
		}
	}
}

int sendmail_run(const char *path, const char *msg, size_t len, unsigned int timeout_ms,
		 bool (*stop)(void *stop_ctx), void *stop_ctx, char *err, size_t size)
{
	struct child c = {.pid = 0, .pidfd = -1, .in = -1, .out = -1};
	int status = 0;
	int r;

	err[0] = '\0';
	r = spawn(path, &c);
	if (r < 0) {
		(void)snprintf(err, size, "cannot run \"%s\": %s", path, strerror(-r));
		return r;
	}
	r = supervise(&c, msg, len, mono_ms() + timeout_ms, stop, stop_ctx, &status);
	if (c.pid > 0) {
		(void)pidfd_send_signal(c.pidfd, SIGKILL, NULL, 0);
		(void)waitpid(c.pid, NULL, 0);
	}
	if (r == -ETIMEDOUT) {
		(void)snprintf(err, size, "\"%s\" killed after %u ms: %s", path, timeout_ms,
			       output_text(&c));
	} else if (r == -ECANCELED) {
		(void)snprintf(err, size, "\"%s\" killed: the server is stopping", path);
	} else if (r < 0) {
		(void)snprintf(err, size, "\"%s\": %s", path, strerror(-r));
	} else if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
		r = 0;
	} else {
		r = -EIO;
		if (WIFEXITED(status))
			(void)snprintf(err, size, "\"%s\" exited with status %d: %s", path,
				       WEXITSTATUS(status), output_text(&c));
		else
			(void)snprintf(err, size, "\"%s\" killed by signal %d: %s", path,
				       WIFSIGNALED(status) ? WTERMSIG(status) : 0, output_text(&c));
	}
	close_fd(&c.in);
	close_fd(&c.out);
	close_fd(&c.pidfd);
	return r;
}
