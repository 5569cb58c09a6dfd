/*
 * The netcount map itself, through the raw loader (bpf_netcount_*): counters keyed by
 * (network namespace, ifindex), so two namespaces whose devices share an ifindex keep
 * separate slots, and a full map is counted, not silent. Traffic goes over veth pairs
 * into network namespaces this test creates (netns_fixture.h) and removes.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "bpf_netcount.h"
#include "monoclock.h"
#include "netns_fixture.h"

#define UDP_PORT    5555
#define DEADLINE_MS 20000
#define now_ms()    mono_ms()

/* Two pairs, each into its own namespace: their peer ends get the same ifindex. */
static int setup(void **state)
{
	struct netns_veth *v = calloc(2, sizeof(*v));

	*state = v;
	if (!v)
		return -1;
	if (geteuid() != 0)
		return 0; /* the tests skip */
	return netns_veth_create(&v[0], "mm", 215, 0) == 0 &&
			       netns_veth_create(&v[1], "mm", 215, 1) == 0
		       ? 0
		       : -1;
}

static int teardown(void **state)
{
	struct netns_veth *v = *state;

	if (v) {
		netns_veth_destroy(&v[0]);
		netns_veth_destroy(&v[1]);
	}
	free(v);
	return 0;
}

static uint32_t ns_inode(const char *ns)
{
	char path[128];
	struct stat st;

	snprintf(path, sizeof(path), "/var/run/netns/%s", ns);
	assert_int_equal(stat(path, &st), 0);
	return (uint32_t)st.st_ino;
}

static int ifindex_in_ns(const char *ns, const char *ifname)
{
	int self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	int idx;

	assert_true(self >= 0);
	assert_int_equal(netns_enter(ns), 0);
	idx = (int)if_nametoindex(ifname);
	assert_int_equal(setns(self, CLONE_NEWNET), 0);
	close(self);
	return idx;
}

/* Two namespaces whose peers have the same ifindex keep separate counters. */
static void test_netns_no_collision(void **state)
{
	struct netns_veth *v = *state;
	struct bpf_netcount_opts opts = {.max_entries = 256, .netns_ino = 0};
	struct bpf_netcount_entry e[256];
	struct bpf_netcount *nc;
	const int sends[2] = {300, 100};
	const size_t size = 200;
	uint64_t got[2][2] = {{0}}; /* [ns][before, after] rx_packets */
	uint64_t bytes[2][2] = {{0}};
	uint32_t ino[2];
	int idx[2];
	char buf[256];
	size_t n;
	uint64_t deadline;
	int udp;

	if (geteuid() != 0)
		skip();
	for (int i = 0; i < 2; i++) {
		idx[i] = ifindex_in_ns(v[i].ns, v[i].peer);
		ino[i] = ns_inode(v[i].ns);
	}
	/* The precondition of the test: same ifindex, different namespaces. */
	assert_true(idx[0] > 0);
	assert_int_equal(idx[0], idx[1]);
	assert_int_not_equal(ino[0], ino[1]);

	nc = bpf_netcount_new(&opts, NULL);
	assert_non_null(nc);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(bpf_netcount_read(nc, ino[i], e, 256, &n), 0);
		for (size_t j = 0; j < n; j++) {
			if (e[j].key.ifindex == (uint32_t)idx[i]) {
				got[i][0] = e[j].c.rx_packets;
				bytes[i][0] = e[j].c.rx_bytes;
			}
		}
	}

	memset(buf, 'y', sizeof(buf));
	udp = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	assert_true(udp >= 0);
	for (int i = 0; i < 2; i++) {
		struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(UDP_PORT)};

		inet_pton(AF_INET, v[i].peer_ip, &to.sin_addr);
		for (int k = 0; k < sends[i]; k++)
			assert_int_equal(
				sendto(udp, buf, size, 0, (struct sockaddr *)&to, sizeof(to)),
				size);
	}
	close(udp);

	deadline = now_ms() + DEADLINE_MS;
	for (;;) {
		bool done = true;

		for (int i = 0; i < 2; i++) {
			assert_int_equal(bpf_netcount_read(nc, ino[i], e, 256, &n), 0);
			for (size_t j = 0; j < n; j++) {
				if (e[j].key.ifindex != (uint32_t)idx[i])
					continue;
				got[i][1] = e[j].c.rx_packets;
				bytes[i][1] = e[j].c.rx_bytes;
			}
			done &= got[i][1] - got[i][0] >= (uint64_t)sends[i];
		}
		if (done || now_ms() >= deadline)
			break;
	}
	for (int i = 0; i < 2; i++) {
		uint64_t pk = got[i][1] - got[i][0];

		print_message("netns %u ifindex %d: %llu packets, %llu bytes received\n", ino[i],
			      idx[i], (unsigned long long)pk,
			      (unsigned long long)(bytes[i][1] - bytes[i][0]));
		/* A shared slot would show 400 in both; allow a few ARP packets. */
		assert_true(pk >= (uint64_t)sends[i]);
		assert_true(pk <= (uint64_t)sends[i] + 10);
		/* link-layer: 14 Ethernet + 20 IP + 8 UDP around each payload */
		assert_true(bytes[i][1] - bytes[i][0] >= (uint64_t)sends[i] * (size + 42));
	}
	bpf_netcount_free(nc);
}

/* A full map is counted, not silent. */
static void test_map_full_counted(void **state)
{
	struct netns_veth *v = *state;
	struct bpf_netcount_opts opts = {.max_entries = 1, .netns_ino = 0};
	struct bpf_netcount *nc;
	struct srvmon_net_stats st = {0};
	uint64_t deadline;
	char buf[64] = {0};
	int udp;

	if (geteuid() != 0)
		skip();
	nc = bpf_netcount_new(&opts, NULL);
	assert_non_null(nc);
	assert_int_equal(bpf_netcount_stats(nc, &st), 0);

	/* Traffic on four devices (two veth ends per pair) for one slot. */
	udp = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	assert_true(udp >= 0);
	deadline = now_ms() + DEADLINE_MS;
	do {
		for (int i = 0; i < 2; i++) {
			struct sockaddr_in to = {.sin_family = AF_INET,
						 .sin_port = htons(UDP_PORT)};

			inet_pton(AF_INET, v[i].peer_ip, &to.sin_addr);
			sendto(udp, buf, sizeof(buf), 0, (struct sockaddr *)&to, sizeof(to));
		}
		assert_int_equal(bpf_netcount_stats(nc, &st), 0);
	} while (st.if_map_full == 0 && now_ms() < deadline);
	close(udp);
	assert_true(st.if_map_full > 0);
	/* Peak tracking is off: its counter is a separate field and stays at zero. */
	assert_int_equal(st.peak_map_full, 0);
	bpf_netcount_free(nc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_netns_no_collision, setup, teardown),
		cmocka_unit_test_setup_teardown(test_map_full_counted, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
