/* BPF load in a forked child; the descriptors come back over SCM_RIGHTS. */
#include "bpf_loader.h"

#include "log.h"

#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* The message: this header as data, the present descriptors as SCM_RIGHTS. */
struct loader_msg {
	int32_t r;
	uint32_t step;
	uint32_t flags;
	uint32_t n_fds;
	uint32_t present; /* bit i: fds[i] is in the control message */
};

_Static_assert(BPF_LOADER_MAX_FDS <= 32, "one presence bit per descriptor");

union loader_cmsg {
	struct cmsghdr h;
	char buf[CMSG_SPACE(sizeof(int) * BPF_LOADER_MAX_FDS)];
};

static void child_main(int sock, bpf_loader_fn fn, void *arg)
{
	struct bpf_loader_result res;
	struct loader_msg m = {0};
	union loader_cmsg u;
	struct iovec iov = {.iov_base = &m, .iov_len = sizeof(m)};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
	int fds[BPF_LOADER_MAX_FDS];
	size_t n = 0;

	memset(&res, 0, sizeof(res));
	for (size_t i = 0; i < BPF_LOADER_MAX_FDS; i++)
		res.fds[i] = -1;
	fn(arg, &res);
	m.r = res.r;
	m.step = res.step;
	m.flags = res.flags;
	m.n_fds = res.n_fds > BPF_LOADER_MAX_FDS ? BPF_LOADER_MAX_FDS : res.n_fds;
	for (uint32_t i = 0; res.r == 0 && i < m.n_fds; i++) {
		if (res.fds[i] < 0)
			continue;
		m.present |= 1u << i;
		fds[n++] = res.fds[i];
	}
	if (n > 0) {
		memset(&u, 0, sizeof(u));
		mh.msg_control = u.buf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * n);
		u.h.cmsg_level = SOL_SOCKET;
		u.h.cmsg_type = SCM_RIGHTS;
		u.h.cmsg_len = CMSG_LEN(sizeof(int) * n);
		memcpy(CMSG_DATA(&u.h), fds, sizeof(int) * n);
	}
	/* No exit handlers, no stdio flush: they belong to the parent. The kernel closes
	 * the child's descriptors; the parent's copies keep the objects alive. */
	_exit(sendmsg(sock, &mh, MSG_NOSIGNAL) < 0 ? 1 : 0);
}

static int64_t mono_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits for the child's message until the deadline. 0 or -errno. */
static int wait_readable(int sock, int timeout_ms)
{
	int64_t deadline = mono_now_ms() + timeout_ms;

	for (;;) {
		struct pollfd p = {.fd = sock, .events = POLLIN};
		int64_t left = deadline - mono_now_ms();
		int n;

		if (left <= 0)
			return -ETIMEDOUT;
		n = poll(&p, 1, (int)left);
		if (n > 0)
			return 0;
		if (n < 0 && errno != EINTR)
			return -errno;
	}
}

static int receive(int sock, struct bpf_loader_result *ret)
{
	struct loader_msg m;
	union loader_cmsg u;
	struct iovec iov = {.iov_base = &m, .iov_len = sizeof(m)};
	struct msghdr mh = {.msg_iov = &iov,
			    .msg_iovlen = 1,
			    .msg_control = u.buf,
			    .msg_controllen = sizeof(u.buf)};
	int fds[BPF_LOADER_MAX_FDS];
	size_t n_got = 0, n_want = 0;
	ssize_t len;
	int r = 0;

	memset(&u, 0, sizeof(u));
	do {
		len = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
	} while (len < 0 && errno == EINTR);
	if (len < 0)
		return -errno;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
		size_t k;

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		if (k > BPF_LOADER_MAX_FDS - n_got)
			k = BPF_LOADER_MAX_FDS - n_got;
		memcpy(fds + n_got, CMSG_DATA(c), k * sizeof(int));
		n_got += k;
	}
	/* EOF: the child died before it could report. */
	if (len == 0)
		r = -EPIPE;
	else if ((size_t)len != sizeof(m) || (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) ||
		 m.n_fds > BPF_LOADER_MAX_FDS)
		r = -EPROTO;
	for (uint32_t i = 0; r == 0 && i < m.n_fds; i++)
		n_want += (m.present >> i) & 1u;
	if (r == 0 && n_want != n_got)
		r = -EPROTO;
	if (r < 0) {
		for (size_t i = 0; i < n_got; i++)
			close(fds[i]);
		return r;
	}
	ret->r = m.r > 0 ? -EINVAL : m.r;
	ret->step = m.step;
	ret->flags = m.flags;
	ret->n_fds = m.n_fds;
	n_got = 0;
	for (uint32_t i = 0; i < m.n_fds; i++)
		ret->fds[i] = (m.present >> i) & 1u ? fds[n_got++] : -1;
	return 0;
}

/* The process's thread count from /proc/self/task; 0 when it cannot be read. */
static size_t thread_count(void)
{
	DIR *d = opendir("/proc/self/task");
	const struct dirent *e;
	size_t n = 0;

	if (!d)
		return 0;
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

int bpf_loader_run(bpf_loader_fn fn, void *arg, int timeout_ms, struct bpf_loader_result *ret)
{
	size_t threads;
	int sv[2];
	pid_t pid;
	int r;

	memset(ret, 0, sizeof(*ret));
	for (size_t i = 0; i < BPF_LOADER_MAX_FDS; i++)
		ret->fds[i] = -1;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;
	/* The child runs libbpf (malloc, locks): safe only when no other thread can hold one at
	 * the fork. The agent starts its threads after the BPF loads (user/module_set.c). */
	threads = thread_count();
	if (threads > 1)
		log_warn("BPF loader: forking with %zu threads running; the child may hang on a "
			 "lock "
			 "one of them held (until the %d ms deadline)",
			 threads, timeout_ms);
	pid = fork();
	if (pid < 0) {
		r = -errno;
		close(sv[0]);
		close(sv[1]);
		return r;
	}
	if (pid == 0) {
		close(sv[0]);
		child_main(sv[1], fn, arg);
	}
	/* Our copy of the child's end goes, so that its death reads as EOF. */
	close(sv[1]);
	r = wait_readable(sv[0], timeout_ms);
	if (r == 0)
		r = receive(sv[0], ret);
	close(sv[0]);
	if (r == -ETIMEDOUT)
		(void)kill(pid, SIGKILL); /* our own child, by its PID */
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
	return r;
}

void bpf_loader_close(struct bpf_loader_result *res)
{
	for (size_t i = 0; i < BPF_LOADER_MAX_FDS; i++) {
		if (res->fds[i] >= 0)
			close(res->fds[i]);
		res->fds[i] = -1;
	}
}
