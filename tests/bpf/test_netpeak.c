/*
 * Peak rates and shaped-link accuracy of the in-kernel counters: a veth pair into a
 * network namespace this test creates, the root end shaped with tc tbf, a TCP sender of
 * known bytes, and the agent's figures compared with the kernel's own statistics.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"
#include "netns_fixture.h"
#include "network.h"
#include "numparse.h"
#include "textfile.h"

#define TCP_PORT    5557
#define DEADLINE_MS 30000

struct fixture {
	struct netns_veth v;
	pid_t sink;
	int fd; /* connection to the sink */
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t now_ms(void)
{
	return now_ns() / 1000000u;
}

static void sleep_until_ms(uint64_t deadline_ms)
{
	struct timespec ts = {.tv_sec = (time_t)(deadline_ms / 1000),
			      .tv_nsec = (long)(deadline_ms % 1000) * 1000000L};

	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
		;
}

static uint64_t sys_tx_bytes(const char *ifname)
{
	char path[256];
	char *buf = NULL;
	uint64_t v = 0;

	snprintf(path, sizeof(path), "/sys/class/net/%s/statistics/tx_bytes", ifname);
	assert_int_equal(textfile_read_alloc(path, &buf), 0);
	buf[strcspn(buf, "\n")] = '\0';
	assert_int_equal(parse_u64(buf, 0, UINT64_MAX, &v), 0);
	free(buf);
	return v;
}

/* The sink: accepts one connection in the namespace and reads it until EOF. */
static int sink_main(const struct fixture *f, int ready_fd)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(TCP_PORT)};
	uint64_t deadline = now_ms() + 3 * DEADLINE_MS;
	static char buf[1 << 16];
	int one = 1;
	int s, c;

	if (netns_enter(f->v.ns) < 0)
		return 10;
	s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	inet_pton(AF_INET, f->v.peer_ip, &sa.sin_addr);
	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (s < 0 || bind(s, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(s, 1) < 0)
		return 11;
	if (write(ready_fd, "r", 1) != 1)
		return 12;
	c = accept4(s, NULL, NULL, SOCK_CLOEXEC);
	if (c < 0)
		return 13;
	while (now_ms() < deadline) {
		ssize_t n = read(c, buf, sizeof(buf));

		if (n <= 0)
			return n == 0 ? 0 : 14;
	}
	return 15;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	*state = f;
	f->fd = -1;
	if (geteuid() != 0 || system("command -v tc >/dev/null") != 0)
		return 0; /* the tests skip */
	return netns_veth_create(&f->v, "mp", 214, 0) == 0 ? 0 : -1;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	if (!f)
		return 0;
	if (f->fd >= 0)
		close(f->fd);
	if (f->sink > 0) {
		kill(f->sink, SIGKILL);
		waitpid(f->sink, NULL, 0);
	}
	netns_veth_destroy(&f->v);
	free(f);
	return 0;
}

static bool skipped(const struct fixture *f)
{
	return !f->v.created;
}

/* Shapes the root end's egress and connects to a new sink with a bounded send buffer, so
 * that what leaves the socket is on the wire within tens of milliseconds. */
static void connect_shaped(struct fixture *f, const char *rate)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(TCP_PORT)};
	int sndbuf = 256 * 1024; /* 10 ms at 200 Mbit/s: a sender descheduled for a few ms on a
				  * loaded host still keeps the link busy */
	struct pollfd pfd;
	int p[2];
	char c;

	/* A 256 kbit bucket: with one of a few frames, a dequeue timer that fires late on a
	 * loaded host forfeits tokens and the link runs below its rate. */
	assert_int_equal(
		netns_run("tc qdisc replace dev %s root tbf rate %s burst 256kbit latency 50ms",
			  f->v.root, rate),
		0);
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	f->sink = fork();
	assert_true(f->sink >= 0);
	if (f->sink == 0) {
		close(p[0]);
		_exit(sink_main(f, p[1]));
	}
	close(p[1]);
	pfd = (struct pollfd){.fd = p[0], .events = POLLIN};
	assert_int_equal(poll(&pfd, 1, DEADLINE_MS), 1);
	assert_int_equal(read(p[0], &c, 1), 1);
	close(p[0]);

	f->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(f->fd >= 0);
	assert_int_equal(setsockopt(f->fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf)), 0);
	inet_pton(AF_INET, f->v.peer_ip, &sa.sin_addr);
	assert_int_equal(connect(f->fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
}

/* Writes as fast as the shaped link takes it for ms milliseconds. */
static void send_for(int fd, uint64_t ms)
{
	static char buf[1 << 16];
	uint64_t end = now_ms() + ms;

	memset(buf, 'z', sizeof(buf));
	for (uint64_t now = now_ms(); now < end; now = now_ms()) {
		struct pollfd pfd = {.fd = fd, .events = POLLOUT};

		if (poll(&pfd, 1, (int)(end - now)) <= 0)
			continue;
		assert_true(send(fd, buf, sizeof(buf), MSG_DONTWAIT) > 0 || errno == EAGAIN);
	}
}

static void finish_sink(struct fixture *f)
{
	int status;

	close(f->fd);
	f->fd = -1;
	assert_int_equal(waitpid(f->sink, &status, 0), f->sink);
	f->sink = 0;
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

static struct network_collector *collector(struct fixture *f, uint64_t interval_ms)
{
	static char *include[1];
	struct config cfg;

	include[0] = f->v.root;
	memset(&cfg, 0, sizeof(cfg));
	cfg.network.enabled = true;
	cfg.network.interval_ms = interval_ms;
	cfg.network.collector = NET_COLLECTOR_BPF;
	cfg.network.include.items = include;
	cfg.network.include.n = 1;
	cfg.network.peak_window_ms = 100;
	return network_new(&cfg);
}

static const struct net_iface_sample *find_iface(const struct net_sample *s, const char *name)
{
	for (size_t i = 0; i < s->n_ifaces; i++) {
		if (strcmp(s->ifaces[i].name, name) == 0)
			return &s->ifaces[i];
	}
	return NULL;
}

/* Mid-flow samples over secs seconds of a saturated shaped link vs the kernel's counters. */
static void check_accuracy(struct fixture *f, const char *rate, double shaped_bps, uint64_t ms)
{
	static struct net_sample s0, s1;
	const struct net_iface_sample *i0, *i1;
	struct network_collector *nc;
	uint64_t k0b, k0a, k1b, k1a, t0b, t0a, t1b, t1a, agent_bytes, lo, hi;
	uint64_t hrx0, htx0, hrx1, htx1; /* the speed test's host totals */
	double rate_lo, rate_hi;

	nc = collector(f, 1000);
	assert_non_null(nc);
	connect_shaped(f, rate);
	send_for(f->fd, 500); /* past slow start */
	/* The kernel's counter, read right before and right after each sample, brackets the
	 * agent's read: its bytes and rate must lie inside the bracket (± 1 %). */
	k0b = sys_tx_bytes(f->v.root);
	t0b = now_ns();
	assert_int_equal(network_sample(nc, &s0), 0);
	assert_int_equal(network_host_bytes(nc, &hrx0, &htx0), 0);
	t0a = now_ns();
	k0a = sys_tx_bytes(f->v.root);
	send_for(f->fd, ms);
	k1b = sys_tx_bytes(f->v.root);
	t1b = now_ns();
	assert_int_equal(network_sample(nc, &s1), 0);
	assert_int_equal(network_host_bytes(nc, &hrx1, &htx1), 0);
	t1a = now_ns();
	k1a = sys_tx_bytes(f->v.root);
	finish_sink(f);

	i0 = find_iface(&s0, f->v.root);
	i1 = find_iface(&s1, f->v.root);
	assert_non_null(i0);
	assert_non_null(i1);
	agent_bytes = i1->tx_bytes - i0->tx_bytes;
	lo = k1b - k0a;
	hi = k1a - k0b;
	rate_lo = (double)lo * 8e9 / (double)(t1a - t0b);
	rate_hi = (double)hi * 8e9 / (double)(t1b - t0a);
	print_message("%s: agent %llu B in %llu ms = %.0f bit/s (peak %.0f); kernel %llu..%llu B, "
		      "%.0f..%.0f bit/s\n",
		      rate, (unsigned long long)agent_bytes, (unsigned long long)s1.interval_ms,
		      i1->tx_rate, i1->tx_peak_rate, (unsigned long long)lo, (unsigned long long)hi,
		      rate_lo, rate_hi);
	/* Issue 4: bytes within 0.5 %, the average rate within 1 %. (Shaping makes tbf's
	 * watchdog softirq send most packets; docs/network.md says why the totals are the
	 * device's own counters.) */
	assert_true((double)agent_bytes >= 0.995 * (double)lo);
	assert_true((double)agent_bytes <= 1.005 * (double)hi);
	assert_true(i1->tx_rate >= 0.99 * rate_lo && i1->tx_rate <= 1.01 * rate_hi);
	/* The speed test's host totals are the same device counters: inside the bracket
	 * exactly (the in-kernel count under-read it by 0.3-1.6 % on this link). */
	print_message("%s: host totals tx %llu B\n", rate, (unsigned long long)(htx1 - htx0));
	assert_true(htx1 - htx0 >= lo && htx1 - htx0 <= hi);
	assert_true(hrx1 >= hrx0);
	/* The link was saturated: the average and each window near the shaped rate. */
	assert_true(i1->tx_rate > 0.9 * shaped_bps && i1->tx_rate < 1.05 * shaped_bps);
	assert_true(i1->tx_peak_rate >= 0.9 * shaped_bps && i1->tx_peak_rate < 1.1 * shaped_bps);
	assert_true(s1.tx_peak_rate == i1->tx_peak_rate);
	assert_int_equal(s1.peak_window_ms, 100);
	network_free(nc);
}

static void test_accuracy_50mbit(void **state)
{
	struct fixture *f = *state;

	if (skipped(f))
		skip();
	check_accuracy(f, "50mbit", 50e6, 5000);
}

static void test_accuracy_200mbit(void **state)
{
	struct fixture *f = *state;

	if (skipped(f))
		skip();
	check_accuracy(f, "200mbit", 200e6, 3000);
}

/* A 300 ms burst inside a 10 s interval: the average stays low, the peak shows it. */
static void test_burst_peak(void **state)
{
	struct fixture *f = *state;
	static struct net_sample s;
	const struct net_iface_sample *is;
	struct network_collector *nc;
	uint64_t start;

	if (skipped(f))
		skip();
	nc = collector(f, 10000);
	assert_non_null(nc);
	connect_shaped(f, "50mbit");
	assert_int_equal(network_sample(nc, &s), 0);
	start = now_ms();
	sleep_until_ms(start + 2000);
	send_for(f->fd, 300);
	/* The interval is what is being measured: it has to last its 10 s. */
	sleep_until_ms(start + 10000);
	assert_int_equal(network_sample(nc, &s), 0);
	finish_sink(f);

	is = find_iface(&s, f->v.root);
	assert_non_null(is);
	print_message("burst: interval %llu ms, average %.0f bit/s, peak %.0f bit/s over %llu ms "
		      "windows\n",
		      (unsigned long long)s.interval_ms, is->tx_rate, is->tx_peak_rate,
		      (unsigned long long)s.peak_window_ms);
	assert_true(s.interval_ms >= 9900);
	assert_true(is->tx_peak_rate >= 0.8 * 50e6);
	assert_true(is->tx_peak_rate < 1.1 * 50e6);
	assert_true(is->tx_rate < 0.1 * 50e6);
	assert_true(is->tx_rate > 0.01 * 50e6);
	assert_true(s.tx_peak_rate == is->tx_peak_rate);
	network_free(nc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_accuracy_50mbit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_accuracy_200mbit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_burst_peak, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
