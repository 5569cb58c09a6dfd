/* Host identity for the hello message: never the IP address. */
#ifndef SRVMON_IDENTITY_H
#define SRVMON_IDENTITY_H

struct config;

struct host_identity {
	char host_id[128]; /* config agent.host_id, else /etc/machine-id */
	char hostname[256];
	char kernel[128]; /* uname release */
	char os[256];	  /* PRETTY_NAME of /etc/os-release */
	char boot_id[64]; /* /proc/sys/kernel/random/boot_id */
};

/* Returns 0, or -errno when no host_id can be found (the others fall back to ""). */
int identity_read(const struct config *cfg, struct host_identity *ret);

/* Pure helper: PRETTY_NAME (unquoted) from os-release text. Returns 0 or -ENOENT. */
int identity_parse_os_release(const char *buf, char *ret, unsigned long len);

#endif
