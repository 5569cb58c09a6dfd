/* Shared by the network BPF tests: a veth pair into a network namespace of their own. */
#ifndef SRVMON_TEST_NETNS_FIXTURE_H
#define SRVMON_TEST_NETNS_FIXTURE_H

#include <arpa/inet.h>
#include <net/if.h>
#include <stdbool.h>

struct netns_veth {
	char ns[32];		/* namespace of the peer */
	char root[IF_NAMESIZE]; /* end in the root namespace */
	char peer[IF_NAMESIZE]; /* end in ns */
	char root_ip[INET_ADDRSTRLEN];
	char peer_ip[INET_ADDRSTRLEN];
	bool created; /* the namespace exists: netns_veth_destroy() has work to do */
};

/* Runs a shell command; its exit status (0: success), the command logged when not 0. */
int netns_run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * Creates namespace "srvmon-TAG-PID-IDX" and a veth pair "smTAG<pid>a/b" (the b end in the
 * namespace), IPv6 off on both ends (no ND/MLD traffic during a measurement), a /30 in
 * 10.OCTET.0.0/16 picked by pid and idx, both ends up. TAG: 1 or 2 characters, a different
 * one per test program; idx < 8. 0 or -1; call netns_veth_destroy() either way.
 */
int netns_veth_create(struct netns_veth *v, const char *tag, unsigned octet, int idx);
/* Deletes the pair and the namespace; nothing when not created. */
void netns_veth_destroy(struct netns_veth *v);

/* Moves the calling thread into namespace ns (by name). 0 or -errno. */
int netns_enter(const char *ns);

#endif
