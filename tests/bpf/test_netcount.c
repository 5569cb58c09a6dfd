/*
 * Loads the real netcount program, sends known traffic over a veth pair whose peer
 * lives in a network namespace this test creates, and compares the counters with
 * the kernel's own /sys/class/net/IF/statistics.
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
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "bpf_netcount.h"
#include "textfile.h"
#include "config.h"
#include "netns_fixture.h"
#include "network.h"
#include "numparse.h"
#include "procnetdev.h"

#define UDP_PORT     5555
#define TCP_PORT     5556
#define UDP_COUNT    2000
#define UDP_MAX_SIZE 1400
#define TCP_BYTES    (1024 * 1024)
#define DEADLINE_MS  20000
#define TOLERANCE    0.005

struct fixture {
	struct netns_veth v[2];
	pid_t child;
};

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Waits until fd is readable or the deadline passes. 0 or -ETIMEDOUT. */
static int wait_readable(int fd, uint64_t deadline)
{
	for (;;) {
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		uint64_t now = now_ms();
		int r;

		if (now >= deadline)
			return -ETIMEDOUT;
		r = poll(&pfd, 1, (int)(deadline - now));
		if (r > 0)
			return 0;
		if (r < 0 && errno != EINTR)
			return -errno;
	}
}

static uint64_t sys_stat(const char *ifname, const char *stat)
{
	char path[256];
	char *buf = NULL;
	uint64_t v = 0;

	snprintf(path, sizeof(path), "/sys/class/net/%s/statistics/%s", ifname, stat);
	assert_int_equal(textfile_read_alloc(path, &buf), 0);
	buf[strcspn(buf, "\n")] = '\0';
	assert_int_equal(parse_u64(buf, 0, UINT64_MAX, &v), 0);
	free(buf);
	return v;
}

struct counts {
	uint64_t rx_bytes, rx_packets, tx_bytes, tx_packets;
};

static struct counts sys_counts(const char *ifname)
{
	struct counts c = {
		.rx_bytes = sys_stat(ifname, "rx_bytes"),
		.rx_packets = sys_stat(ifname, "rx_packets"),
		.tx_bytes = sys_stat(ifname, "tx_bytes"),
		.tx_packets = sys_stat(ifname, "tx_packets"),
	};
	return c;
}

static const struct net_iface_sample *find_iface(const struct net_sample *s, const char *name)
{
	for (size_t i = 0; i < s->n_ifaces; i++) {
		if (strcmp(s->ifaces[i].name, name) == 0)
			return &s->ifaces[i];
	}
	return NULL;
}

static struct counts sample_counts(struct network_collector *nc, const char *name,
				   struct net_sample *s)
{
	const struct net_iface_sample *is;
	struct counts c;

	assert_int_equal(network_sample(nc, s), 0);
	is = find_iface(s, name);
	assert_non_null(is);
	c.rx_bytes = is->rx_bytes;
	c.rx_packets = is->rx_packets;
	c.tx_bytes = is->tx_bytes;
	c.tx_packets = is->tx_packets;
	return c;
}

/* The in-kernel map's own counters for ifname (the agent takes its averages from the
 * device counters; these must still agree with them, they feed the peak windows). */
static struct counts map_counts(struct bpf_netcount *nc, uint32_t ino, const char *ifname)
{
	static struct bpf_netcount_entry e[256];
	unsigned ifindex = if_nametoindex(ifname);
	struct counts c = {0};
	size_t n = 0;

	assert_int_equal(bpf_netcount_read(nc, ino, e, 256, &n), 0);
	for (size_t i = 0; i < n; i++) {
		if (e[i].key.ifindex != ifindex)
			continue;
		c.rx_bytes = e[i].c.rx_bytes;
		c.rx_packets = e[i].c.rx_packets;
		c.tx_bytes = e[i].c.tx_bytes;
		c.tx_packets = e[i].c.tx_packets;
	}
	return c;
}

static struct counts delta(struct counts a, struct counts b)
{
	struct counts d = {
		.rx_bytes = b.rx_bytes - a.rx_bytes,
		.rx_packets = b.rx_packets - a.rx_packets,
		.tx_bytes = b.tx_bytes - a.tx_bytes,
		.tx_packets = b.tx_packets - a.tx_packets,
	};
	return d;
}

static bool close_enough(uint64_t got, uint64_t want)
{
	double diff = got > want ? (double)(got - want) : (double)(want - got);

	return diff <= TOLERANCE * (double)want;
}

static void assert_close(const char *what, uint64_t got, uint64_t want)
{
	if (!close_enough(got, want)) {
		print_error("%s: counted %llu, kernel says %llu (more than %.1f %% apart)\n", what,
			    (unsigned long long)got, (unsigned long long)want, TOLERANCE * 100);
		fail();
	}
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	*state = f;
	if (geteuid() != 0)
		return 0; /* the test skips */
	return netns_veth_create(&f->v[0], "mv", 213, 0) == 0 &&
			       netns_veth_create(&f->v[1], "mv", 213, 1) == 0
		       ? 0
		       : -1;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	if (!f)
		return 0;
	if (f->child > 0) {
		kill(f->child, SIGKILL);
		waitpid(f->child, NULL, 0);
	}
	netns_veth_destroy(&f->v[0]);
	netns_veth_destroy(&f->v[1]);
	free(f);
	return 0;
}

static int bind_socket(int type, const char *ip, int port)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
	int one = 1;
	int fd = socket(AF_INET, type | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	inet_pton(AF_INET, ip, &sa.sin_addr);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* The peer: echoes UDP_COUNT datagrams, then reads a TCP stream and answers its length. */
static int peer_main(const struct netns_veth *v, int ready_fd)
{
	uint64_t deadline = now_ms() + DEADLINE_MS;
	static char buf[65536];
	uint64_t total = 0;
	int udp, tcp, conn;

	if (netns_enter(v->ns) < 0)
		return 10;
	udp = bind_socket(SOCK_DGRAM, v->peer_ip, UDP_PORT);
	tcp = bind_socket(SOCK_STREAM, v->peer_ip, TCP_PORT);
	if (udp < 0 || tcp < 0 || listen(tcp, 1) < 0)
		return 11;
	if (write(ready_fd, "r", 1) != 1)
		return 12;
	for (int i = 0; i < UDP_COUNT; i++) {
		struct sockaddr_in from;
		socklen_t len = sizeof(from);
		ssize_t n;

		if (wait_readable(udp, deadline) < 0)
			return 13;
		n = recvfrom(udp, buf, sizeof(buf), 0, (struct sockaddr *)&from, &len);
		if (n < 0 || sendto(udp, buf, (size_t)n, 0, (struct sockaddr *)&from, len) != n)
			return 14;
	}
	if (wait_readable(tcp, deadline) < 0)
		return 15;
	conn = accept4(tcp, NULL, NULL, SOCK_CLOEXEC);
	if (conn < 0)
		return 16;
	for (;;) {
		ssize_t n;

		if (wait_readable(conn, deadline) < 0)
			return 17;
		n = read(conn, buf, sizeof(buf));
		if (n < 0)
			return 18;
		if (n == 0)
			break;
		total += (uint64_t)n;
	}
	if (write(conn, &total, sizeof(total)) != sizeof(total))
		return 19;
	close(conn);
	return 0;
}

static pid_t start_peer(const struct netns_veth *v)
{
	int p[2];
	char c;
	pid_t pid;

	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(p[0]);
		_exit(peer_main(v, p[1]));
	}
	close(p[1]);
	assert_int_equal(wait_readable(p[0], now_ms() + DEADLINE_MS), 0);
	assert_int_equal(read(p[0], &c, 1), 1);
	close(p[0]);
	return pid;
}

/* Sends the traffic; returns the payload bytes sent (= echoed back over UDP). */
static uint64_t exchange(const struct netns_veth *v, uint64_t *ret_udp_payload)
{
	uint64_t deadline = now_ms() + DEADLINE_MS;
	struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(UDP_PORT)};
	static char buf[65536];
	uint64_t udp_payload = 0;
	uint64_t answer = 0;
	size_t off = 0;
	int udp, tcp;

	memset(buf, 'x', sizeof(buf));
	inet_pton(AF_INET, v->peer_ip, &to.sin_addr);
	udp = bind_socket(SOCK_DGRAM, v->root_ip, 0);
	assert_true(udp >= 0);
	/* Lock-step, so that no datagram is lost to a full socket buffer. */
	for (int i = 0; i < UDP_COUNT; i++) {
		size_t size = 1 + (size_t)(i * 37) % UDP_MAX_SIZE;

		assert_int_equal(sendto(udp, buf, size, 0, (struct sockaddr *)&to, sizeof(to)),
				 size);
		assert_int_equal(wait_readable(udp, deadline), 0);
		assert_int_equal(recv(udp, buf, sizeof(buf), 0), size);
		udp_payload += size;
	}
	close(udp);

	tcp = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(tcp >= 0);
	to.sin_port = htons(TCP_PORT);
	assert_int_equal(connect(tcp, (struct sockaddr *)&to, sizeof(to)), 0);
	for (size_t sent = 0; sent < TCP_BYTES;) {
		size_t chunk = TCP_BYTES - sent < sizeof(buf) ? TCP_BYTES - sent : sizeof(buf);
		ssize_t n = write(tcp, buf, chunk);

		assert_true(n > 0);
		sent += (size_t)n;
	}
	assert_int_equal(shutdown(tcp, SHUT_WR), 0);
	while (off < sizeof(answer)) {
		ssize_t n;

		assert_int_equal(wait_readable(tcp, deadline), 0);
		n = read(tcp, (char *)&answer + off, sizeof(answer) - off);
		assert_true(n > 0);
		off += (size_t)n;
	}
	assert_int_equal(answer, TCP_BYTES);
	close(tcp);
	*ret_udp_payload = udp_payload;
	return udp_payload + TCP_BYTES;
}

static void config_for(struct config *cfg, enum net_collector_kind collector, char **include,
		       size_t n_inc, char **exclude, size_t n_exc)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->network.enabled = true;
	cfg->network.interval_ms = 1000;
	cfg->network.collector = collector;
	cfg->network.include.items = include;
	cfg->network.include.n = n_inc;
	cfg->network.exclude.items = exclude;
	cfg->network.exclude.n = n_exc;
}

static bool all_close(struct counts a, struct counts b)
{
	return close_enough(a.rx_bytes, b.rx_bytes) && close_enough(a.tx_bytes, b.tx_bytes) &&
	       close_enough(a.rx_packets, b.rx_packets) && close_enough(a.tx_packets, b.tx_packets);
}

static void test_counts_match_kernel(void **state)
{
	struct fixture *f = *state;
	struct netns_veth *v = &f->v[0];
	static struct net_sample s;
	const struct net_iface_sample *is;
	struct network_collector *bpf, *procfs, *excl;
	struct config cfg;
	struct counts b0, p0, k0, m0, bd, pd, kd, md;
	struct bpf_netcount_opts raw_opts = {0};
	struct bpf_netcount *raw;
	uint32_t ino = 0;
	char *only[] = {v->root};
	char *other[] = {"lo"};
	uint64_t udp_payload = 0;
	uint64_t payload;
	uint64_t deadline;
	int status;

	if (geteuid() != 0)
		skip();
	config_for(&cfg, NET_COLLECTOR_BPF, only, 1, NULL, 0);
	bpf = network_new(&cfg);
	assert_non_null(bpf);
	assert_string_equal(network_collector_name(bpf), "bpf");
	config_for(&cfg, NET_COLLECTOR_PROCFS, only, 1, NULL, 0);
	procfs = network_new(&cfg);
	assert_non_null(procfs);
	assert_string_equal(network_collector_name(procfs), "procfs");
	/* lo in the total, the veth excluded */
	config_for(&cfg, NET_COLLECTOR_PROCFS, other, 1, only, 1);
	excl = network_new(&cfg);
	assert_non_null(excl);

	assert_int_equal(bpf_netcount_self_netns(&ino), 0);
	raw_opts.netns_ino = ino;
	raw = bpf_netcount_new(&raw_opts, NULL);
	assert_non_null(raw);

	b0 = sample_counts(bpf, v->root, &s);
	p0 = sample_counts(procfs, v->root, &s);
	m0 = map_counts(raw, ino, v->root);
	k0 = sys_counts(v->root);

	f->child = start_peer(v);
	payload = exchange(v, &udp_payload);
	assert_int_equal(waitpid(f->child, &status, 0), f->child);
	f->child = 0;
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);

	/* The last packets may still be in a softirq: poll until the figures agree. */
	deadline = now_ms() + DEADLINE_MS;
	do {
		bd = delta(b0, sample_counts(bpf, v->root, &s));
		md = delta(m0, map_counts(raw, ino, v->root));
		kd = delta(k0, sys_counts(v->root));
	} while ((bd.rx_packets != kd.rx_packets || bd.tx_packets != kd.tx_packets ||
		  md.rx_packets != kd.rx_packets || md.tx_packets != kd.tx_packets) &&
		 now_ms() < deadline);
	pd = delta(p0, sample_counts(procfs, v->root, &s));
	/* The BPF map itself: link-layer bytes and packets as the device counts them. */
	assert_close("map rx bytes", md.rx_bytes, kd.rx_bytes);
	assert_close("map tx bytes", md.tx_bytes, kd.tx_bytes);
	assert_close("map rx packets", md.rx_packets, kd.rx_packets);
	assert_close("map tx packets", md.tx_packets, kd.tx_packets);
	assert_true(md.tx_bytes >= payload);
	bpf_netcount_free(raw);

	print_message("%s: bpf rx %llu B %llu pkt, tx %llu B %llu pkt; kernel rx %llu B %llu "
		      "pkt, tx %llu B %llu pkt; payload %llu B\n",
		      v->root, (unsigned long long)bd.rx_bytes, (unsigned long long)bd.rx_packets,
		      (unsigned long long)bd.tx_bytes, (unsigned long long)bd.tx_packets,
		      (unsigned long long)kd.rx_bytes, (unsigned long long)kd.rx_packets,
		      (unsigned long long)kd.tx_bytes, (unsigned long long)kd.tx_packets,
		      (unsigned long long)payload);

	/* Sent: UDP payload + TCP stream. Received: the UDP echoes + the 8-byte answer. */
	assert_true(bd.tx_bytes >= payload);
	assert_true(bd.rx_bytes >= udp_payload + sizeof(uint64_t));
	assert_true(bd.tx_packets >= UDP_COUNT);
	assert_true(bd.rx_packets >= UDP_COUNT);
	assert_close("bpf rx_bytes", bd.rx_bytes, kd.rx_bytes);
	assert_close("bpf tx_bytes", bd.tx_bytes, kd.tx_bytes);
	assert_close("bpf rx_packets", bd.rx_packets, kd.rx_packets);
	assert_close("bpf tx_packets", bd.tx_packets, kd.tx_packets);
	/* The fallback reads the same kernel counters. */
	assert_close("procfs rx_bytes", pd.rx_bytes, kd.rx_bytes);
	assert_close("procfs tx_bytes", pd.tx_bytes, kd.tx_bytes);
	assert_true(all_close(pd, kd));

	/* Selection: the included interface is the whole total. */
	assert_int_equal(network_sample(bpf, &s), 0);
	is = find_iface(&s, v->root);
	assert_non_null(is);
	assert_true(is->in_total);
	assert_true(s.upload_rate == is->tx_rate);
	assert_true(s.download_rate == is->rx_rate);
	is = find_iface(&s, "lo");
	assert_non_null(is);
	assert_false(is->in_total);

	/* Excluded: not reported at all. */
	assert_int_equal(network_sample(excl, &s), 0);
	assert_null(find_iface(&s, v->root));
	is = find_iface(&s, "lo");
	assert_non_null(is);
	assert_true(is->in_total);

	network_free(excl);
	network_free(procfs);
	network_free(bpf);
}

static void test_rate_over_interval(void **state)
{
	struct fixture *f = *state;
	struct netns_veth *v = &f->v[0];
	static struct net_sample s;
	const struct net_iface_sample *is;
	struct network_collector *bpf;
	struct config cfg;
	char *only[] = {v->root};
	uint64_t udp_payload = 0;
	uint64_t payload;
	int status;

	if (geteuid() != 0)
		skip();
	config_for(&cfg, NET_COLLECTOR_BPF, only, 1, NULL, 0);
	bpf = network_new(&cfg);
	assert_non_null(bpf);
	assert_int_equal(network_sample(bpf, &s), 0);

	f->child = start_peer(v);
	payload = exchange(v, &udp_payload);
	assert_int_equal(waitpid(f->child, &status, 0), f->child);
	f->child = 0;
	assert_int_equal(network_sample(bpf, &s), 0);

	/* The veth existed at the baseline, so this interval has a real rate. */
	is = find_iface(&s, v->root);
	assert_non_null(is);
	assert_true(s.interval_ms > 0);
	assert_true(s.ts_ms > 1500000000000ull);
	assert_true(is->tx_rate >= (double)payload * 8 * 1000 / (double)s.interval_ms);
	assert_true(s.upload_rate == is->tx_rate);
	assert_true(s.download_rate > 0);
	network_free(bpf);
}

/* Without privilege, auto falls back to /proc/net/dev and bpf fails. */
static int unprivileged_main(void)
{
	struct network_collector *nc;
	struct net_sample *s;
	struct config cfg;

	if (setresgid(65534, 65534, 65534) < 0 || setresuid(65534, 65534, 65534) < 0)
		return 20;
	config_for(&cfg, NET_COLLECTOR_BPF, NULL, 0, NULL, 0);
	nc = network_new(&cfg);
	if (nc)
		return 21;
	config_for(&cfg, NET_COLLECTOR_AUTO, NULL, 0, NULL, 0);
	nc = network_new(&cfg);
	if (!nc)
		return 22;
	if (strcmp(network_collector_name(nc), "procfs") != 0)
		return 23;
	s = calloc(1, sizeof(*s));
	if (!s || network_sample(nc, s) < 0 || s->n_ifaces == 0)
		return 24;
	free(s);
	network_free(nc);
	return 0;
}

static void test_fallback_unprivileged(void **state)
{
	int status;
	pid_t pid;

	(void)state;
	if (geteuid() != 0)
		skip();
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(unprivileged_main());
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

static void test_collector_errors(void **state)
{
	struct config cfg;
	struct network_collector *nc;

	(void)state;
	/* Not a value the loader can produce (it names the choices): refused all the same. */
	config_for(&cfg, (enum net_collector_kind)99, NULL, 0, NULL, 0);
	nc = network_new(&cfg);
	assert_null(nc);
	assert_int_equal(errno, EINVAL);
	assert_null(network_new(NULL));
	network_free(NULL);
	bpf_netcount_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_counts_match_kernel, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rate_over_interval, setup, teardown),
		cmocka_unit_test(test_fallback_unprivileged),
		cmocka_unit_test(test_collector_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
