#include "netns_fixture.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int netns_run(const char *fmt, ...)
{
	char cmd[512];
	va_list ap;
	int status;

	va_start(ap, fmt);
	(void)vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	status = system(cmd);
	if (status != 0)
		fprintf(stderr, "command failed (%d): %s\n", status, cmd);
	return status;
}

int netns_veth_create(struct netns_veth *v, const char *tag, unsigned octet, int idx)
{
	unsigned pid = (unsigned)getpid();
	/* a /30 picked by pid and idx: used only on this link */
	unsigned net = ((pid * 8 + (unsigned)idx) % 16384) * 4;

	(void)snprintf(v->ns, sizeof(v->ns), "srvmon-%s-%u-%d", tag, pid, idx);
	(void)snprintf(v->root, sizeof(v->root), "sm%s%u%c", tag, pid % 10000000, 'a' + 2 * idx);
	(void)snprintf(v->peer, sizeof(v->peer), "sm%s%u%c", tag, pid % 10000000, 'b' + 2 * idx);
	(void)snprintf(v->root_ip, sizeof(v->root_ip), "10.%u.%u.%u", octet, net / 256,
		       net % 256 + 1);
	(void)snprintf(v->peer_ip, sizeof(v->peer_ip), "10.%u.%u.%u", octet, net / 256,
		       net % 256 + 2);

	if (netns_run("ip netns add %s", v->ns))
		return -1;
	v->created = true;
	if (netns_run("ip link add %s type veth peer name %s netns %s", v->root, v->peer, v->ns) ||
	    netns_run("echo 1 > /proc/sys/net/ipv6/conf/%s/disable_ipv6", v->root) ||
	    netns_run("ip netns exec %s sh -c 'echo 1 > /proc/sys/net/ipv6/conf/%s/disable_ipv6'",
		      v->ns, v->peer) ||
	    netns_run("ip addr add %s/30 dev %s", v->root_ip, v->root) ||
	    netns_run("ip -n %s addr add %s/30 dev %s", v->ns, v->peer_ip, v->peer) ||
	    netns_run("ip link set %s up", v->root) ||
	    netns_run("ip -n %s link set %s up", v->ns, v->peer))
		return -1;
	return 0;
}

void netns_veth_destroy(struct netns_veth *v)
{
	if (!v->created)
		return;
	/* Deleting one end deletes the pair; then the namespace. */
	if (if_nametoindex(v->root) != 0)
		netns_run("ip link del %s", v->root);
	netns_run("ip netns del %s", v->ns);
	v->created = false;
}

int netns_enter(const char *ns)
{
	char path[128];
	int fd;
	int r;

	(void)snprintf(path, sizeof(path), "/var/run/netns/%s", ns);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	r = setns(fd, CLONE_NEWNET) < 0 ? -errno : 0;
	close(fd);
	return r;
}
