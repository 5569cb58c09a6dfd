#include "identity.h"
#include "textfile.h"

#include "config.h"
#include "procstat.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#define MACHINE_ID_PATH	 "/etc/machine-id"
#define MACHINE_ID_LEN	 32
#define BOOT_ID_PATH	 "/proc/sys/kernel/random/boot_id"
#define OS_RELEASE_PATH	 "/etc/os-release"
#define OS_RELEASE_PATH2 "/usr/lib/os-release"

/* Copies at most len - 1 bytes of [s, s + n) and NUL-terminates. */
static void copy_bounded(char *dst, size_t len, const char *s, size_t n)
{
	if (len == 0)
		return;
	if (n >= len)
		n = len - 1;
	memcpy(dst, s, n);
	dst[n] = '\0';
}

/* Strips leading and trailing white space in place; returns the start. */
static char *trim(char *s)
{
	size_t n;

	while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
		s++;
	n = strlen(s);
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\n' || s[n - 1] == '\r'))
		n--;
	s[n] = '\0';
	return s;
}

static int read_trimmed(const char *path, char *ret, size_t len)
{
	char buf[256];
	char *s;
	int r;

	r = textfile_read(path, buf, sizeof(buf), NULL);
	if (r < 0)
		return r;
	s = trim(buf);
	copy_bounded(ret, len, s, strlen(s));
	return 0;
}

static bool is_machine_id(const char *s)
{
	size_t n = strlen(s);

	if (n != MACHINE_ID_LEN)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')))
			return false;
	}
	return true;
}

static int read_host_id(const struct config *cfg, char *ret, size_t len)
{
	char id[64];
	int r;

	if (cfg && cfg->agent.host_id && cfg->agent.host_id[0]) {
		if (strlen(cfg->agent.host_id) >= len)
			return -ENAMETOOLONG;
		copy_bounded(ret, len, cfg->agent.host_id, strlen(cfg->agent.host_id));
		return 0;
	}
	r = read_trimmed(MACHINE_ID_PATH, id, sizeof(id));
	if (r < 0)
		return r;
	/* An empty file is systemd's "not yet initialised": no id. */
	if (id[0] == '\0')
		return -ENOENT;
	if (!is_machine_id(id))
		return -EINVAL;
	copy_bounded(ret, len, id, strlen(id));
	return 0;
}

int identity_parse_os_release(const char *buf, char *ret, unsigned long len)
{
	static const char key[] = "PRETTY_NAME=";
	const char *p = buf;

	if (len == 0)
		return -EINVAL;
	while (*p) {
		const char *eol = strchr(p, '\n');
		const char *end = eol ? eol : p + strlen(p);

		if (strncmp(p, key, sizeof(key) - 1) == 0) {
			const char *v = p + sizeof(key) - 1;
			size_t n = 0;
			char quote = 0;

			while (end > v && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
				end--;
			if (v < end && (*v == '"' || *v == '\'')) {
				quote = *v++;
				if (end > v && end[-1] == quote)
					end--;
			}
			/* Shell-style: in double quotes, a backslash escapes the next character. */
			for (; v < end && n < len - 1; v++) {
				if (quote == '"' && *v == '\\' && v + 1 < end)
					v++;
				ret[n++] = *v;
			}
			ret[n] = '\0';
			return 0;
		}
		if (!eol)
			break;
		p = eol + 1;
	}
	return -ENOENT;
}

static void read_os(char *ret, size_t len)
{
	static const char *const paths[] = {OS_RELEASE_PATH, OS_RELEASE_PATH2};
	char buf[4096];

	ret[0] = '\0';
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		if (textfile_read(paths[i], buf, sizeof(buf), NULL) < 0)
			continue;
		if (identity_parse_os_release(buf, ret, len) == 0)
			return;
	}
}

int identity_read(const struct config *cfg, struct host_identity *ret)
{
	struct utsname uts;
	int r;

	memset(ret, 0, sizeof(*ret));
	if (uname(&uts) == 0) {
		copy_bounded(ret->hostname, sizeof(ret->hostname), uts.nodename,
			     strlen(uts.nodename));
		copy_bounded(ret->kernel, sizeof(ret->kernel), uts.release, strlen(uts.release));
	} else if (gethostname(ret->hostname, sizeof(ret->hostname) - 1) < 0) {
		ret->hostname[0] = '\0';
	}
	read_os(ret->os, sizeof(ret->os));
	if (read_trimmed(BOOT_ID_PATH, ret->boot_id, sizeof(ret->boot_id)) < 0)
		ret->boot_id[0] = '\0';

	r = read_host_id(cfg, ret->host_id, sizeof(ret->host_id));
	if (r < 0)
		ret->host_id[0] = '\0';
	return r;
}
