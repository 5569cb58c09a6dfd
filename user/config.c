/* Agent configuration: one key table drives defaults, parsing, printing and the docs. */
#include "config.h"

#include "log.h"
#include "numparse.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <ini.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define ARRAY_SIZE(a)	   (sizeof(a) / sizeof((a)[0]))
#define CFG_OFF(field)	   offsetof(struct config, field)
#define SECRET_MASK	   "********"
#define PASSWORD_FILE_MAX  4096
#define MS_PER_DAY	   (24ULL * 3600 * 1000)
#define SECTION_FLAT_ALIAS "server" /* keys before any [section] belong here */
#define ERRMSG_MAX	   512
#define ERR_LINE_NAMED	   (-1) /* the error message names its own file */

enum key_type {
	KEY_STRING,
	KEY_SECRET,
	KEY_BOOL,
	KEY_DURATION,
	KEY_UINT,
	KEY_PORT,
	KEY_LIST,
	KEY_LOG_LEVEL,
	KEY_ENUM,
};

/* Extra validation of a string value or of each list item. */
struct value_rule {
	/* Returns NULL when value is acceptable, else what is wrong with it. */
	const char *(*check)(const char *value);
	const char *doc; /* shown in the Range column of the reference */
};

struct config_key {
	const char *section;
	const char *name;
	enum key_type type;
	size_t offset;		       /* of the field in struct config */
	uint64_t min;		       /* numbers; milliseconds for durations */
	uint64_t max;		       /* numbers; maximum item count for lists */
	const char *def;	       /* default, parsed like a value from the file */
	const char *const *choices;    /* KEY_ENUM, KEY_LOG_LEVEL */
	const struct value_rule *rule; /* KEY_STRING, KEY_LIST items */
	const char *doc;
};

static const char *check_abs_path_optional(const char *v)
{
	if (v[0] != '\0' && v[0] != '/')
		return "must be an absolute path";
	return NULL;
}

static const char *check_abs_path(const char *v)
{
	if (v[0] != '/')
		return "must be an absolute path";
	return NULL;
}

static const char *check_url_path(const char *v)
{
	if (v[0] != '/')
		return "must start with /";
	for (const char *p = v; *p; p++) {
		if (isspace((unsigned char)*p) || *p == '?' || *p == '#')
			return "must be a plain path without spaces, ? or #";
	}
	return NULL;
}

static const char *check_host(const char *v)
{
	if (v[0] == '\0')
		return "must not be empty";
	if (v[0] == '[')
		return "write IPv6 addresses without brackets";
	for (const char *p = v; *p; p++) {
		if (!isalnum((unsigned char)*p) && !strchr(".-_:", *p))
			return "must be a host name or IP address";
	}
	return NULL;
}

static const char *check_host_id(const char *v)
{
	size_t n = strlen(v);

	if (n > 127)
		return "must be at most 127 characters";
	for (const char *p = v; *p; p++) {
		if (!isalnum((unsigned char)*p) && !strchr("._-", *p))
			return "may only contain A-Z a-z 0-9 . _ -";
	}
	return NULL;
}

static const char *check_ifname(const char *v)
{
	if (strlen(v) > 15)
		return "interface names have at most 15 characters";
	if (strchr(v, '/'))
		return "interface names cannot contain /";
	return NULL;
}

static const char *url_split(const char *url, bool *ret_tls, char **ret_host, uint64_t *ret_port,
			     char **ret_base);

static const char *check_url(const char *v)
{
	if (v[0] == '\0')
		return NULL;
	return url_split(v, NULL, NULL, NULL, NULL);
}

static const struct value_rule rule_path_optional = {check_abs_path_optional, "absolute path"};
static const struct value_rule rule_path = {check_abs_path, "absolute path"};
static const struct value_rule rule_url_path = {check_url_path, "starts with /"};
static const struct value_rule rule_host = {check_host, "host name or IP address"};
static const struct value_rule rule_host_id = {check_host_id, "up to 127 of A-Z a-z 0-9 . _ -"};
static const struct value_rule rule_ifname = {check_ifname, "interface names"};
static const struct value_rule rule_url = {check_url, "http:// or https:// URL"};

/* Speed-test servers may live under a path (https://host/backend). */
static const char *check_speedtest_url(const char *v)
{
	if (strncasecmp(v, "http://", 7) != 0 && strncasecmp(v, "https://", 8) != 0)
		return "scheme must be http:// or https://";
	for (const char *p = v; *p; p++) {
		if (isspace((unsigned char)*p) || *p == '?' || *p == '#')
			return "must be a base URL without spaces, query or fragment";
	}
	return NULL;
}

static const struct value_rule rule_speedtest_url = {check_speedtest_url,
						     "http:// or https:// base URLs"};

/* host:port or [IPv6]:port (metrics_listen_parse() splits it; this file stays
 * self-contained for the config fuzz target). */
static const char *check_listen(const char *v)
{
	const char *colon = strrchr(v, ':');
	uint64_t port;

	if (!colon || colon == v || parse_u64(colon + 1, 0, 65535, &port) < 0)
		return "must be host:port or [IPv6]:port";
	if (v[0] == '[' ? colon[-1] != ']' || colon - v < 3
			: memchr(v, ':', (size_t)(colon - v)) != NULL)
		return "must be host:port or [IPv6]:port";
	return NULL;
}

static const struct value_rule rule_listen = {check_listen, "host:port or [IPv6]:port"};

static const char *const collector_choices[] = {"auto", "bpf", "procfs", NULL};
static const char *const spool_fsync_choices[] = {"always", "interval", "never", NULL};
static const char *const log_level_choices[] = {"error", "warning", "info", "debug", NULL};

static const char *check_comm(const char *v)
{
	if (strlen(v) > 15)
		return "process names (comm) have at most 15 characters";
	return NULL;
}

static const struct value_rule rule_comm = {check_comm, "process names, up to 15 characters"};
static const struct value_rule rule_glob = {check_abs_path, "absolute path globs (fnmatch)"};
static const char *const history_cwd_choices[] = {"kernel", "off", NULL};
static const char *const history_filter_choices[] = {"all", "login", NULL};

/* The single source of truth for every key; docs/configuration.md is generated from it. */
static const struct config_key config_keys[] = {
	{"server", "url", KEY_STRING, CFG_OFF(server.url), 0, 0, "", NULL, &rule_url,
	 "Server base URL such as https://api.example.com:8443. Sets server_address, "
	 "server_port and tls, which must then be left out."},
	{"server", "server_address", KEY_STRING, CFG_OFF(server.server_address), 0, 0, "127.0.0.1",
	 NULL, &rule_host, "Server host name or IP address (IPv6 without brackets)."},
	{"server", "server_port", KEY_PORT, CFG_OFF(server.server_port), 1, 65535, "8080", NULL,
	 NULL, "Server TCP port."},
	{"server", "tls", KEY_BOOL, CFG_OFF(server.tls), 0, 0, "false", NULL, NULL,
	 "Use https:// and wss:// instead of http:// and ws://."},
	{"server", "ca_file", KEY_STRING, CFG_OFF(server.ca_file), 0, 0, "", NULL,
	 &rule_path_optional, "CA bundle that verifies the server; unset: the system store."},
	{"server", "client_id", KEY_STRING, CFG_OFF(server.client_id), 0, 0, "", NULL, NULL,
	 "Agent login name. Required to connect."},
	{"server", "password", KEY_SECRET, CFG_OFF(server.password), 0, 0, "", NULL, NULL,
	 "Agent password. Required to connect unless password_file is set; the file holding "
	 "it must not be readable by group or others (chmod 600)."},
	{"server", "password_file", KEY_STRING, CFG_OFF(server.password_file), 0, 0, "", NULL,
	 &rule_path_optional,
	 "File whose content (without the trailing newline) is the password; mode 600. "
	 "Excludes password."},
	{"server", "token_path", KEY_STRING, CFG_OFF(server.token_path), 0, 0, "/token", NULL,
	 &rule_url_path, "HTTP path where the agent obtains its access token."},
	{"server", "ws_path", KEY_STRING, CFG_OFF(server.ws_path), 0, 0, "/ws", NULL,
	 &rule_url_path, "WebSocket path the agent streams records to."},
	{"server", "token_in_query", KEY_BOOL, CFG_OFF(server.token_in_query), 0, 0, "false", NULL,
	 NULL, "Pass the token in the WebSocket URL query instead of an Authorization header."},
	{"server", "connect_timeout", KEY_DURATION, CFG_OFF(server.connect_timeout_ms), 100,
	 5ULL * 60 * 1000, "10s", NULL, NULL, "Time allowed to establish a connection."},
	{"server", "reconnect_max", KEY_DURATION, CFG_OFF(server.reconnect_max_ms), 1000,
	 3600 * 1000ULL, "60s", NULL, NULL,
	 "Longest wait between reconnect attempts (back-off cap)."},
	{"server", "ping_interval", KEY_DURATION, CFG_OFF(server.ping_interval_ms), 1000,
	 3600 * 1000ULL, "30s", NULL, NULL, "WebSocket keep-alive ping interval."},
	{"server", "unacked_grace", KEY_DURATION, CFG_OFF(server.unacked_grace_ms), 100,
	 600 * 1000ULL, "5s", NULL, NULL,
	 "A server that never acks: a written record counts as delivered once the connection "
	 "stayed up this long after it was written; records written later than that before a "
	 "close are written again on the next connection (docs/reliability.md)."},
	{"server", "allow_insecure", KEY_BOOL, CFG_OFF(server.allow_insecure), 0, 0, "false", NULL,
	 NULL,
	 "Allow sending the password over plain http:// to a host that is not loopback "
	 "(refused otherwise)."},
	{"server", "pin_sha256", KEY_STRING, CFG_OFF(server.pin_sha256), 0, 0, "", NULL, NULL,
	 "Base64 SHA-256 of the server certificate's public key (SubjectPublicKeyInfo, as curl's "
	 "--pinnedpubkey sha256//); when set, any other key is refused (docs/reliability.md)."},

	{"agent", "host_id", KEY_STRING, CFG_OFF(agent.host_id), 0, 0, "", NULL, &rule_host_id,
	 "Name this host reports as; unset: /etc/machine-id."},
	{"agent", "state_dir", KEY_STRING, CFG_OFF(agent.state_dir), 0, 0, "/var/lib/srvmon", NULL,
	 &rule_path, "Directory for persistent state."},
	{"agent", "log_level", KEY_LOG_LEVEL, CFG_OFF(agent.log_level), 0, 0, "info",
	 log_level_choices, NULL, "Most verbose level logged."},
	{"agent", "status_interval", KEY_DURATION, CFG_OFF(agent.status_interval_ms), 1000,
	 MS_PER_DAY, "60s", NULL, NULL, "Interval of the agent status record."},
	{"agent", "queue_max", KEY_UINT, CFG_OFF(agent.queue_max), 10, 10000000, "10000", NULL,
	 NULL, "Records kept in memory while the server is unreachable; the oldest are dropped."},
	{"agent", "bpf_pin_dir", KEY_STRING, CFG_OFF(agent.bpf_pin_dir), 0, 0, "/sys/fs/bpf/srvmon",
	 NULL, &rule_path_optional,
	 "Directory under bpffs where the BPF maps are pinned for bpftool (docs/debugging.md); "
	 "stale pins are replaced on start, all removed on exit. Empty: no pins."},

	{"spool", "dir", KEY_STRING, CFG_OFF(spool.dir), 0, 0, "", NULL, &rule_path_optional,
	 "Directory of the on-disk queue of undelivered records; unset: state_dir/spool "
	 "(/var/lib/srvmon/spool). If it cannot be opened, records wait in memory "
	 "(agent.queue_max)."},
	{"spool", "max_size", KEY_UINT, CFG_OFF(spool.max_size), 16384, 1ULL << 40, "268435456",
	 NULL, NULL,
	 "Bytes the spool may use (default 256 MiB); when full, the oldest records are dropped "
	 "and counted in status events_lost and spool_dropped."},
	{"spool", "fsync", KEY_ENUM, CFG_OFF(spool.fsync), 0, 0, "interval", spool_fsync_choices,
	 NULL,
	 "When spooled records are forced to disk: always (every record), interval (at most "
	 "every fsync_interval), never (kernel writeback). A killed agent loses nothing in "
	 "any mode; this bounds the loss on power failure."},
	{"spool", "fsync_interval", KEY_DURATION, CFG_OFF(spool.fsync_interval_ms), 10, MS_PER_DAY,
	 "1s", NULL, NULL, "Longest time between two fdatasync of the spool (fsync = interval)."},

	{"resources", "enabled", KEY_BOOL, CFG_OFF(resources.enabled), 0, 0, "true", NULL, NULL,
	 "Collect CPU, memory and disk usage."},
	{"resources", "interval", KEY_DURATION, CFG_OFF(resources.interval_ms), 100, MS_PER_DAY,
	 "10s", NULL, NULL, "Sampling interval."},
	{"resources", "mounts", KEY_LIST, CFG_OFF(resources.mounts), 0, 16, "/", NULL, &rule_path,
	 "Mount points whose disk usage is reported."},

	{"network", "enabled", KEY_BOOL, CFG_OFF(network.enabled), 0, 0, "true", NULL, NULL,
	 "Collect per-interface traffic counters."},
	{"network", "interval", KEY_DURATION, CFG_OFF(network.interval_ms), 100, MS_PER_DAY, "1s",
	 NULL, NULL, "Sampling interval."},
	{"network", "collector", KEY_ENUM, CFG_OFF(network.collector), 0, 0, "auto",
	 collector_choices, NULL,
	 "Counter source: bpf (kernel programs), procfs (/proc/net/dev) or auto (bpf, falling "
	 "back to procfs)."},
	{"network", "include", KEY_LIST, CFG_OFF(network.include), 0, 64, "", NULL, &rule_ifname,
	 "Interfaces to report; unset: the interfaces that carry a default route."},
	{"network", "exclude", KEY_LIST, CFG_OFF(network.exclude), 0, 64, "lo", NULL, &rule_ifname,
	 "Interfaces never reported."},
	{"network", "peak_window", KEY_DURATION, CFG_OFF(network.peak_window_ms), 10, 10000,
	 "100ms", NULL, NULL,
	 "Window of rx_peak_rate/tx_peak_rate: the highest rate over windows this long inside "
	 "each interval (BPF collector only; widened to interval/120 for long intervals)."},

	{"speedtest", "enabled", KEY_BOOL, CFG_OFF(speedtest.enabled), 0, 0, "false", NULL, NULL,
	 "Run periodic active speed tests (HTTP, LibreSpeed protocol)."},
	{"speedtest", "interval", KEY_DURATION, CFG_OFF(speedtest.interval_ms), 60000, MS_PER_DAY,
	 "1h", NULL, NULL, "Time between the end of one speed test and the start of the next."},
	{"speedtest", "jitter", KEY_DURATION, CFG_OFF(speedtest.jitter_ms), 0, MS_PER_DAY, "5m",
	 NULL, NULL, "Random extra delay, uniform in [0, jitter], added to every interval."},
	{"speedtest", "servers", KEY_LIST, CFG_OFF(speedtest.servers), 0, 16, "", NULL,
	 &rule_speedtest_url,
	 "LibreSpeed server base URLs, tried in turn; unset: the monitoring server."},
	{"speedtest", "streams", KEY_UINT, CFG_OFF(speedtest.streams), 1, 32, "4", NULL, NULL,
	 "Parallel HTTP streams per direction."},
	{"speedtest", "max_duration", KEY_DURATION, CFG_OFF(speedtest.max_duration_ms), 1000, 60000,
	 "5s", NULL, NULL,
	 "Longest measurement per direction; it stops earlier once the rate is stable."},
	{"speedtest", "max_megabytes", KEY_UINT, CFG_OFF(speedtest.max_megabytes), 1, 100000, "250",
	 NULL, NULL, "Byte cap per test, both directions together, in MB (10^6 bytes)."},
	{"speedtest", "timeout", KEY_DURATION, CFG_OFF(speedtest.timeout_ms), 1000, 600000, "5s",
	 NULL, NULL,
	 "A connection that cannot be made, or no byte moving, for this long fails the test."},

	{"history", "enabled", KEY_BOOL, CFG_OFF(history.enabled), 0, 0, "true", NULL, NULL,
	 "Capture every exec in the kernel and ship it as an exec record (docs/history.md)."},
	{"history", "argv_max", KEY_UINT, CFG_OFF(history.argv_max), 4096, 131072, "32768", NULL,
	 NULL,
	 "Bytes of arguments kept per exec; longer command lines are cut at an argument "
	 "boundary and flagged argv_truncated."},
	{"history", "ringbuf_size", KEY_UINT, CFG_OFF(history.ringbuf_size), 65536, 1ULL << 30,
	 "8388608", NULL, NULL,
	 "Bytes of the kernel ring buffer holding execs not yet read (rounded up to a power "
	 "of 2); when it is full, execs are counted as lost."},
	{"history", "filter", KEY_ENUM, CFG_OFF(history.filter), 0, 0, "all",
	 history_filter_choices, NULL,
	 "all: every exec; login: only processes of a login session (login uid set)."},
	{"history", "min_uid", KEY_UINT, CFG_OFF(history.min_uid), 0, 4294967295ULL, "0", NULL,
	 NULL, "Execs by users with a lower uid are not recorded (filtered in the kernel)."},
	{"history", "exclude_comm", KEY_LIST, CFG_OFF(history.exclude_comm), 0, 64, "", NULL,
	 &rule_comm, "Process names (comm after the exec) never recorded (in the kernel)."},
	{"history", "exclude_path", KEY_LIST, CFG_OFF(history.exclude_path), 0, 64, "", NULL,
	 &rule_glob, "Executed paths never recorded, as shell globs such as /usr/lib/*/*."},
	{"history", "failed", KEY_BOOL, CFG_OFF(history.failed), 0, 0, "true", NULL, NULL,
	 "Also record execs that failed (ret = -errno)."},
	{"history", "cwd", KEY_ENUM, CFG_OFF(history.cwd), 0, 0, "kernel", history_cwd_choices,
	 NULL,
	 "kernel: the working directory of every exec, walked up in the kernel (1-2.5 us an "
	 "exec here, docs/history.md); off: cwd is empty, the exec costs less."},
	{"history", "drain_interval", KEY_DURATION, CFG_OFF(history.drain_interval_ms), 10, 1000,
	 "200ms", NULL, NULL,
	 "How often the agent reads the exec ring buffer while execs come (the kernel never "
	 "wakes it per exec): the latency added to an exec record. Shorter costs more agent "
	 "CPU per exec (docs/BENCHMARKS.md); a ring filling past a quarter wakes it early, and "
	 "after a drain that found no exec the first exec wakes it at once."},
	{"history", "trail", KEY_BOOL, CFG_OFF(history.trail), 0, 0, "true", NULL, NULL,
	 "Also append exec records to a local JSON-lines file (srvmon-agent history reads it)."},
	{"history", "trail_path", KEY_STRING, CFG_OFF(history.trail_path), 0, 0,
	 "/var/log/srvmon/exec.jsonl", NULL, &rule_path, "The local trail file."},
	{"history", "trail_max_size", KEY_UINT, CFG_OFF(history.trail_max_size), 65536, 1ULL << 40,
	 "67108864", NULL, NULL, "Bytes of the trail file before it is rotated."},
	{"history", "trail_rotations", KEY_UINT, CFG_OFF(history.trail_rotations), 0, 100, "4",
	 NULL, NULL, "Rotated trail files kept (trail_path.1 is the newest)."},

	{"metrics", "enabled", KEY_BOOL, CFG_OFF(metrics.enabled), 0, 0, "false", NULL, NULL,
	 "Serve the figures to Prometheus at http://listen/metrics (OpenMetrics text)."},
	{"metrics", "listen", KEY_STRING, CFG_OFF(metrics.listen), 0, 0, "127.0.0.1:9469", NULL,
	 &rule_listen,
	 "Address of the /metrics endpoint; loopback by default, there is no authentication."},
};

#define N_KEYS ARRAY_SIZE(config_keys)

static const char *const key_type_names[] = {
	[KEY_STRING] = "string",     [KEY_SECRET] = "secret",	    [KEY_BOOL] = "bool",
	[KEY_DURATION] = "duration", [KEY_UINT] = "integer",	    [KEY_PORT] = "port",
	[KEY_LIST] = "list",	     [KEY_LOG_LEVEL] = "log level", [KEY_ENUM] = "enum",
};

/* ---- small pure helpers ---- */

static void *key_field(const struct config_key *k, const struct config *cfg)
{
	return (char *)cfg + k->offset;
}

static bool key_is_string(const struct config_key *k)
{
	return k->type == KEY_STRING || k->type == KEY_SECRET || k->type == KEY_LOG_LEVEL ||
	       k->type == KEY_ENUM;
}

static int key_find(const char *section, const char *name)
{
	for (size_t i = 0; i < N_KEYS; i++) {
		if (strcmp(config_keys[i].section, section) == 0 &&
		    strcmp(config_keys[i].name, name) == 0)
			return (int)i;
	}
	return -1;
}

static const char *key_find_other_section(const char *name)
{
	for (size_t i = 0; i < N_KEYS; i++) {
		if (strcmp(config_keys[i].name, name) == 0)
			return config_keys[i].section;
	}
	return NULL;
}

static bool section_known(const char *name, size_t len)
{
	for (size_t i = 0; i < N_KEYS; i++) {
		if (strlen(config_keys[i].section) == len &&
		    strncmp(config_keys[i].section, name, len) == 0)
			return true;
	}
	return false;
}

/* Formats ms in the largest unit that represents it exactly: 60000 -> "1m". */
static void format_duration(uint64_t ms, char *buf, size_t len)
{
	static const struct {
		const char *suffix;
		uint64_t ms;
	} units[] = {{"h", 3600000}, {"m", 60000}, {"s", 1000}};

	for (size_t i = 0; i < ARRAY_SIZE(units); i++) {
		if (ms != 0 && ms % units[i].ms == 0) {
			(void)snprintf(buf, len, "%llu%s", (unsigned long long)(ms / units[i].ms),
				       units[i].suffix);
			return;
		}
	}
	(void)snprintf(buf, len, "%llums", (unsigned long long)ms);
}

static void strlist_free(struct strlist *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->items[i]);
	free(l->items);
	l->items = NULL;
	l->n = 0;
}

static bool is_list_sep(char c)
{
	return c == ',' || isspace((unsigned char)c);
}

/* Splits a comma- and/or whitespace-separated value; writes the problem on -EINVAL. */
static int list_parse(const struct config_key *k, const char *value, struct strlist *ret,
		      char *problem, size_t plen)
{
	struct strlist l = {0};
	const char *p = value;
	int r = 0;

	l.items = calloc(k->max + 1, sizeof(*l.items));
	if (!l.items)
		return -ENOMEM;
	for (;;) {
		const char *why;
		size_t n;

		while (*p && is_list_sep(*p))
			p++;
		if (!*p)
			break;
		for (n = 0; p[n] && !is_list_sep(p[n]); n++)
			;
		if (l.n == k->max) {
			(void)snprintf(problem, plen, "too many items (at most %llu)",
				       (unsigned long long)k->max);
			r = -EINVAL;
			goto out;
		}
		l.items[l.n] = strndup(p, n);
		if (!l.items[l.n]) {
			r = -ENOMEM;
			goto out;
		}
		l.n++;
		why = k->rule ? k->rule->check(l.items[l.n - 1]) : NULL;
		if (why) {
			(void)snprintf(problem, plen, "invalid item \"%s\" (%s)", l.items[l.n - 1],
				       why);
			r = -EINVAL;
			goto out;
		}
		p += n;
	}
	*ret = l;
	l.items = NULL;
	l.n = 0;
out:
	strlist_free(&l);
	return r;
}

static bool in_choices(const char *const *choices, const char *v)
{
	for (; *choices; choices++) {
		if (strcmp(*choices, v) == 0)
			return true;
	}
	return false;
}

static void join_choices(const char *const *choices, char *buf, size_t len)
{
	size_t off = 0;

	buf[0] = '\0';
	for (; *choices && off < len; choices++) {
		int n = snprintf(buf + off, len - off, "%s%s", off ? ", " : "", *choices);

		if (n < 0)
			break;
		off += (size_t)n;
	}
}

/* Parses value as key k into cfg. Returns 0, -EINVAL/-ERANGE with the problem written, or
 * -ENOMEM. Secret values are never copied into problem. */
static int key_set(const struct config_key *k, struct config *cfg, const char *value, char *problem,
		   size_t plen)
{
	void *field = key_field(k, cfg);
	char lo[32], hi[32], list[128];
	const char *why;
	uint64_t u;
	int b, r;

	switch (k->type) {
	case KEY_BOOL:
		r = parse_bool(value, &b);
		if (r < 0) {
			(void)snprintf(
				problem, plen,
				"invalid boolean \"%s\" (use true/false, yes/no, on/off or 1/0)",
				value);
			return r;
		}
		*(bool *)field = b;
		return 0;
	case KEY_DURATION:
		r = parse_duration_ms(value, k->min, k->max, &u);
		format_duration(k->min, lo, sizeof(lo));
		format_duration(k->max, hi, sizeof(hi));
		if (r == -ERANGE) {
			(void)snprintf(problem, plen, "duration \"%s\" out of range (%s..%s)",
				       value, lo, hi);
			return r;
		}
		if (r < 0) {
			(void)snprintf(
				problem, plen,
				"invalid duration \"%s\" (use a whole number with ms, s, m or h, "
				"e.g. 500ms, 10s, 5m, 1h)",
				value);
			return r;
		}
		*(uint64_t *)field = u;
		return 0;
	case KEY_UINT:
	case KEY_PORT:
		r = parse_u64(value, k->min, k->max, &u);
		if (r == -ERANGE) {
			(void)snprintf(problem, plen, "%s out of range (%llu..%llu)", value,
				       (unsigned long long)k->min, (unsigned long long)k->max);
			return r;
		}
		if (r < 0) {
			(void)snprintf(problem, plen,
				       "invalid number \"%s\" (use a decimal integer)", value);
			return r;
		}
		*(uint64_t *)field = u;
		return 0;
	case KEY_LIST: {
		struct strlist l;

		r = list_parse(k, value, &l, problem, plen);
		if (r < 0)
			return r;
		strlist_free(field);
		*(struct strlist *)field = l;
		return 0;
	}
	case KEY_LOG_LEVEL:
	case KEY_ENUM: {
		enum log_level level;

		/* Log levels must also satisfy the logger's own parser. */
		if (!in_choices(k->choices, value) ||
		    (k->type == KEY_LOG_LEVEL && log_level_parse(value, &level) < 0)) {
			join_choices(k->choices, list, sizeof(list));
			(void)snprintf(problem, plen, "invalid value \"%s\" (use one of: %s)",
				       value, list);
			return -EINVAL;
		}
		break;
	}
	case KEY_STRING:
		why = k->rule ? k->rule->check(value) : NULL;
		if (why) {
			(void)snprintf(problem, plen, "invalid value \"%s\" (%s)", value, why);
			return -EINVAL;
		}
		break;
	case KEY_SECRET:
		break;
	}

	/* Strings: empty means unset (NULL). */
	char *s = NULL;

	if (value[0] != '\0') {
		s = strdup(value);
		if (!s)
			return -ENOMEM;
	}
	free(*(char **)field);
	*(char **)field = s;
	return 0;
}

/*
 * Splits "http[s]://host[:port][/]" (IPv6 hosts in brackets). Any out pointer may be NULL.
 * Returns NULL or the problem; on success *ret_host and *ret_base are allocated (NULL
 * with "out of memory" on allocation failure).
 */
static const char *url_split(const char *url, bool *ret_tls, char **ret_host, uint64_t *ret_port,
			     char **ret_base)
{
	const char *auth, *host, *port_s = NULL, *why;
	size_t auth_len, host_len;
	char hostbuf[256], portbuf[8];
	uint64_t port;
	bool tls;

	if (strncasecmp(url, "https://", 8) == 0) {
		tls = true;
		auth = url + 8;
	} else if (strncasecmp(url, "http://", 7) == 0) {
		tls = false;
		auth = url + 7;
	} else {
		return "scheme must be http:// or https://";
	}
	auth_len = strcspn(auth, "/?#");
	if (auth[auth_len] != '\0' && strcmp(auth + auth_len, "/") != 0)
		return "must not contain a path, query or fragment; set token_path and ws_path";
	if (memchr(auth, '@', auth_len))
		return "must not contain user info; set client_id and password";
	if (auth[0] == '[') {
		const char *close = memchr(auth, ']', auth_len);

		if (!close)
			return "IPv6 address lacks the closing ]";
		host = auth + 1;
		host_len = (size_t)(close - host);
		if (close + 1 < auth + auth_len) {
			if (close[1] != ':')
				return "expected :port after the IPv6 address";
			port_s = close + 2;
		}
	} else {
		const char *colon = memchr(auth, ':', auth_len);

		host = auth;
		host_len = colon ? (size_t)(colon - auth) : auth_len;
		if (colon) {
			if (memchr(colon + 1, ':', auth_len - host_len - 1))
				return "IPv6 addresses must be written in brackets";
			port_s = colon + 1;
		}
	}
	if (host_len == 0)
		return "has no host";
	if (host_len >= sizeof(hostbuf))
		return "host name too long";
	memcpy(hostbuf, host, host_len);
	hostbuf[host_len] = '\0';
	why = check_host(hostbuf);
	if (why)
		return why;
	if (port_s) {
		size_t n = (size_t)(auth + auth_len - port_s);

		if (n == 0 || n >= sizeof(portbuf))
			return "port must be a number from 1 to 65535";
		memcpy(portbuf, port_s, n);
		portbuf[n] = '\0';
		if (parse_u64(portbuf, 1, 65535, &port) < 0)
			return "port must be a number from 1 to 65535";
	} else {
		port = tls ? 443 : 80;
	}

	if (ret_tls)
		*ret_tls = tls;
	if (ret_port)
		*ret_port = port;
	if (ret_host) {
		*ret_host = strdup(hostbuf);
		if (!*ret_host)
			return "out of memory";
	}
	if (ret_base) {
		/* Lower-case scheme, no trailing slash. */
		if (asprintf(ret_base, "%s://%.*s", tls ? "https" : "http", (int)auth_len, auth) <
		    0)
			*ret_base = NULL;
		if (!*ret_base) {
			if (ret_host) {
				free(*ret_host);
				*ret_host = NULL;
			}
			return "out of memory";
		}
	}
	return NULL;
}

static bool mode_exposes_secret(mode_t mode)
{
	return (mode & (S_IRGRP | S_IROTH)) != 0;
}

/* ---- loading ---- */

struct load_ctx {
	struct config *cfg;
	const char *path;
	FILE *f;
	int line;	      /* line the last chunk read belongs to */
	bool at_line_start;   /* the next chunk starts a new line */
	bool continuation;    /* current line continues the previous key (inih multi-line) */
	bool have_prev_key;   /* mirrors inih: a key was seen since the last section header */
	int set_line[N_KEYS]; /* line a key was set on, 0: not in the file */
	int err;	      /* first error, negative errno */
	int err_line;	      /* its line, 0: about the whole file, or ERR_LINE_NAMED */
	char err_msg[ERRMSG_MAX];
};

__attribute__((format(printf, 4, 5))) static void ctx_fail(struct load_ctx *ctx, int line, int err,
							   const char *fmt, ...)
{
	va_list ap;

	if (ctx->err)
		return;
	ctx->err = err;
	ctx->err_line = line;
	va_start(ap, fmt);
	(void)vsnprintf(ctx->err_msg, sizeof(ctx->err_msg), fmt, ap);
	va_end(ap);
}

/* Like inih: position of the first char of chars, or of an inline comment (" ;"). */
static const char *find_chars_or_comment(const char *s, const char *chars)
{
	bool was_space = false;

	for (; *s; s++) {
		if (strchr(chars, *s) || (was_space && *s == ';'))
			return s;
		was_space = isspace((unsigned char)*s);
	}
	return s;
}

/*
 * Classifies a new raw line the way inih will, so that section headers (which inih does
 * not report), syntax errors and continuation lines get a precise message.
 */
static void classify_line(struct load_ctx *ctx, const char *raw)
{
	const char *s = raw;
	const char *end;
	bool indented;

	ctx->continuation = false;
	if (ctx->line == 1 && strncmp(s, "\xEF\xBB\xBF", 3) == 0)
		s += 3;
	indented = *s != '\0' && isspace((unsigned char)*s);
	while (*s && isspace((unsigned char)*s))
		s++;
	if (*s == '\0' || *s == ';' || *s == '#')
		return;
	if (indented && ctx->have_prev_key) {
		ctx->continuation = true;
		return;
	}
	if (*s == '[') {
		end = find_chars_or_comment(s + 1, "]");
		if (*end != ']') {
			ctx_fail(ctx, ctx->line, -EINVAL,
				 "syntax error: section header lacks the closing ]");
			return;
		}
		ctx->have_prev_key = false;
		if (!section_known(s + 1, (size_t)(end - s - 1)))
			ctx_fail(ctx, ctx->line, -EINVAL,
				 "[%.*s]: unknown section (use [server], [agent], [resources] or "
				 "[network])",
				 (int)(end - s - 1), s + 1);
		return;
	}
	end = find_chars_or_comment(s, "=:");
	if (*end != '=' && *end != ':')
		ctx_fail(ctx, ctx->line, -EINVAL,
			 "syntax error: expected \"key = value\" or \"[section]\"");
}

/* ini_reader: fgets that counts lines (inih's own count is not passed to handlers). */
static char *ctx_read(char *str, int num, void *stream)
{
	struct load_ctx *ctx = stream;
	bool new_line = ctx->at_line_start;
	size_t n;

	if (!fgets(str, num, ctx->f))
		return NULL;
	n = strlen(str);
	ctx->at_line_start = n > 0 && str[n - 1] == '\n';
	if (!new_line)
		return str;
	ctx->line++;
	if (!ctx->at_line_start && !feof(ctx->f))
		ctx_fail(ctx, ctx->line, -EINVAL, "line longer than %d characters", num - 2);
	classify_line(ctx, str);
	return str;
}

static int on_key(void *user, const char *section, const char *name, const char *value)
{
	struct load_ctx *ctx = user;
	const char *sec = section[0] ? section : SECTION_FLAT_ALIAS;
	char problem[ERRMSG_MAX - 64];
	const char *other;
	int idx, r;

	if (ctx->continuation) {
		ctx_fail(ctx, ctx->line, -EINVAL,
			 "%s.%s: indented line continues this key's value; multi-line values are "
			 "not supported (remove the indentation)",
			 sec, name);
		return 0;
	}
	ctx->have_prev_key = true;
	if (ctx->err)
		return 1; /* only the first error is reported */
	if (!section_known(sec, strlen(sec)))
		return 0; /* reported at the section header */

	idx = key_find(sec, name);
	if (idx < 0) {
		other = key_find_other_section(name);
		if (!section[0] && other)
			ctx_fail(ctx, ctx->line, -EINVAL,
				 "%s: only [server] keys may precede the first section header (put "
				 "it under [%s])",
				 name, other);
		else if (other)
			ctx_fail(ctx, ctx->line, -EINVAL,
				 "%s.%s: unknown key (it belongs under [%s])", sec, name, other);
		else
			ctx_fail(ctx, ctx->line, -EINVAL,
				 "%s.%s: unknown key (see docs/configuration.md)", sec, name);
		return 0;
	}
	if (ctx->set_line[idx]) {
		ctx_fail(ctx, ctx->line, -EINVAL, "%s.%s: duplicate key (first set on line %d)",
			 sec, name, ctx->set_line[idx]);
		return 0;
	}
	ctx->set_line[idx] = ctx->line;
	problem[0] = '\0';
	r = key_set(&config_keys[idx], ctx->cfg, value, problem, sizeof(problem));
	if (r == -ENOMEM) {
		ctx_fail(ctx, ctx->line, r, "%s.%s: out of memory", sec, name);
		return 0;
	}
	if (r < 0) {
		ctx_fail(ctx, ctx->line, r, "%s.%s: %s", sec, name, problem);
		return 0;
	}
	return 1;
}

static int key_line(const struct load_ctx *ctx, const char *section, const char *name)
{
	int idx = key_find(section, name);

	return idx < 0 ? 0 : ctx->set_line[idx];
}

/* Reads the password file into cfg->server.password. */
static int read_password_file(struct load_ctx *ctx)
{
	const char *pw_path = ctx->cfg->server.password_file;
	int line = key_line(ctx, "server", "password_file");
	char buf[PASSWORD_FILE_MAX + 1];
	size_t len = 0;
	struct stat st;
	int fd, r = 0;

	fd = open(pw_path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		r = -errno;
		ctx_fail(ctx, line, r, "server.password_file: cannot open \"%s\": %s", pw_path,
			 strerror(-r));
		return r;
	}
	if (fstat(fd, &st) < 0) {
		r = -errno;
		ctx_fail(ctx, line, r, "server.password_file: cannot stat \"%s\": %s", pw_path,
			 strerror(-r));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		r = -EINVAL;
		ctx_fail(ctx, line, r, "server.password_file: \"%s\" is not a regular file",
			 pw_path);
		goto out;
	}
	if (mode_exposes_secret(st.st_mode)) {
		r = -EACCES;
		ctx_fail(ctx, ERR_LINE_NAMED, r,
			 "%s: contains a password but is readable by group/others (mode %04o); "
			 "run: chmod 600 %s",
			 pw_path, (unsigned)(st.st_mode & 07777), pw_path);
		goto out;
	}
	while (len < sizeof(buf)) {
		ssize_t n = read(fd, buf + len, sizeof(buf) - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = -errno;
			ctx_fail(ctx, line, r, "server.password_file: cannot read \"%s\": %s",
				 pw_path, strerror(-r));
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (len > PASSWORD_FILE_MAX) {
		r = -EFBIG;
		ctx_fail(ctx, line, r, "server.password_file: \"%s\" is larger than %d bytes",
			 pw_path, PASSWORD_FILE_MAX);
		goto out;
	}
	while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
		len--;
	buf[len] = '\0';
	if (len == 0 || memchr(buf, '\0', len)) {
		r = -EINVAL;
		ctx_fail(ctx, line, r, "server.password_file: \"%s\" %s", pw_path,
			 len == 0 ? "is empty" : "contains a NUL byte");
		goto out;
	}
	free(ctx->cfg->server.password);
	ctx->cfg->server.password = strndup(buf, len);
	if (!ctx->cfg->server.password) {
		r = -ENOMEM;
		ctx_fail(ctx, line, r, "server.password_file: out of memory");
	}
out:
	explicit_bzero(buf, sizeof(buf));
	close(fd);
	return r;
}

/* Checks that need the whole file: conflicts, secrets, required keys; derives base_url. */
static int finish_load(struct load_ctx *ctx, const struct stat *st, bool require_server)
{
	static const char *const url_excludes[] = {"server_address", "server_port", "tls"};
	struct config_server *srv = &ctx->cfg->server;
	int url_line = key_line(ctx, "server", "url");
	const char *why;
	int r;

	for (size_t i = 0; srv->url && i < ARRAY_SIZE(url_excludes); i++) {
		int line = key_line(ctx, "server", url_excludes[i]);

		if (line) {
			ctx_fail(ctx, line, -EINVAL,
				 "server.%s: cannot be combined with server.url (line %d) (remove "
				 "one of them)",
				 url_excludes[i], url_line);
			return ctx->err;
		}
	}
	if (srv->password && srv->password_file) {
		ctx_fail(ctx, key_line(ctx, "server", "password_file"), -EINVAL,
			 "server.password_file: cannot be combined with server.password (line %d) "
			 "(remove one of them)",
			 key_line(ctx, "server", "password"));
		return ctx->err;
	}
	if (srv->password && key_line(ctx, "server", "password") &&
	    mode_exposes_secret(st->st_mode)) {
		ctx_fail(ctx, 0, -EACCES,
			 "contains a password but is readable by group/others (mode %04o); "
			 "run: chmod 600 %s",
			 (unsigned)(st->st_mode & 07777), ctx->path);
		return ctx->err;
	}
	if (srv->password_file) {
		r = read_password_file(ctx);
		if (r < 0)
			return r;
	}
	if (require_server && (!srv->client_id || !srv->password)) {
		ctx_fail(ctx, 0, -EINVAL, "server.%s: required key missing (%s)",
			 !srv->client_id ? "client_id" : "password",
			 !srv->client_id ? "add client_id = NAME under [server]"
					 : "add password or password_file under [server]");
		return ctx->err;
	}

	free(ctx->cfg->base_url);
	ctx->cfg->base_url = NULL;
	if (srv->url) {
		free(srv->server_address);
		srv->server_address = NULL;
		why = url_split(srv->url, &srv->tls, &srv->server_address, &srv->server_port,
				&ctx->cfg->base_url);
		if (why) {
			/* The value was validated when read: only allocation can fail here. */
			ctx_fail(ctx, url_line, -ENOMEM, "server.url: %s", why);
			return ctx->err;
		}
		return 0;
	}
	r = asprintf(&ctx->cfg->base_url, "%s://%s%s%s:%llu", srv->tls ? "https" : "http",
		     strchr(srv->server_address, ':') ? "[" : "", srv->server_address,
		     strchr(srv->server_address, ':') ? "]" : "",
		     (unsigned long long)srv->server_port);
	if (r < 0) {
		ctx->cfg->base_url = NULL;
		ctx_fail(ctx, 0, -ENOMEM, "out of memory");
		return ctx->err;
	}
	return 0;
}

int config_init_defaults(struct config *cfg)
{
	char problem[256];
	int r = 0;

	memset(cfg, 0, sizeof(*cfg));
	for (size_t i = 0; i < N_KEYS; i++) {
		r = key_set(&config_keys[i], cfg, config_keys[i].def, problem, sizeof(problem));
		if (r < 0)
			break;
	}
	if (r < 0)
		config_free(cfg);
	return r;
}

int config_load(struct config *cfg, const char *path, bool require_server, char *errbuf,
		size_t errlen)
{
	struct load_ctx *ctx;
	struct stat st;
	FILE *f = NULL;
	int fd, r;

	if (errbuf && errlen)
		errbuf[0] = '\0';
	ctx = calloc(1, sizeof(*ctx));
	if (!ctx) {
		r = -ENOMEM;
		if (errbuf && errlen)
			(void)snprintf(errbuf, errlen, "%s: out of memory", path);
		goto out;
	}
	ctx->cfg = cfg;
	ctx->path = path;
	ctx->at_line_start = true;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		r = -errno;
		ctx_fail(ctx, 0, r, "cannot open: %s", strerror(-r));
		goto out;
	}
	if (fstat(fd, &st) < 0) {
		r = -errno;
		ctx_fail(ctx, 0, r, "cannot stat: %s", strerror(-r));
		close(fd);
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		r = S_ISDIR(st.st_mode) ? -EISDIR : -EINVAL;
		ctx_fail(ctx, 0, r, "not a regular file");
		close(fd);
		goto out;
	}
	f = fdopen(fd, "r");
	if (!f) {
		r = -errno;
		ctx_fail(ctx, 0, r, "cannot open: %s", strerror(-r));
		close(fd);
		goto out;
	}
	ctx->f = f;

	r = ini_parse_stream(ctx_read, ctx, on_key, ctx);
	if (ferror(f))
		ctx_fail(ctx, 0, -EIO, "read error");
	else if (r == -2)
		ctx_fail(ctx, 0, -ENOMEM, "out of memory");
	else if (r > 0 && (!ctx->err || r < ctx->err_line))
		/* inih found something classify_line() did not foresee. */
		ctx_fail(ctx, r, -EINVAL, "syntax error");
	if (ctx->err) {
		r = ctx->err;
		goto out;
	}

	r = finish_load(ctx, &st, require_server);
	if (r < 0)
		goto out;
	free(cfg->path);
	cfg->path = strdup(path);
	if (!cfg->path) {
		r = -ENOMEM;
		ctx_fail(ctx, 0, r, "out of memory");
	}
out:
	if (f)
		(void)fclose(f);
	if (r < 0) {
		if (ctx && errbuf && errlen) {
			if (ctx->err_line > 0)
				(void)snprintf(errbuf, errlen, "%s:%d: %s", path, ctx->err_line,
					       ctx->err_msg);
			else if (ctx->err_line == ERR_LINE_NAMED)
				(void)snprintf(errbuf, errlen, "%s", ctx->err_msg);
			else
				(void)snprintf(errbuf, errlen, "%s: %s", path, ctx->err_msg);
		}
		config_free(cfg);
	}
	free(ctx);
	return r;
}

/* ---- printing ---- */

/* Writes the value of k in cfg as it would appear in a config file ("" when unset). */
static void key_format(const struct config_key *k, const struct config *cfg, char *buf, size_t len)
{
	const void *field = key_field(k, cfg);

	buf[0] = '\0';
	switch (k->type) {
	case KEY_BOOL:
		(void)snprintf(buf, len, "%s", *(const bool *)field ? "true" : "false");
		break;
	case KEY_DURATION:
		format_duration(*(const uint64_t *)field, buf, len);
		break;
	case KEY_UINT:
	case KEY_PORT:
		(void)snprintf(buf, len, "%llu", (unsigned long long)*(const uint64_t *)field);
		break;
	case KEY_LIST: {
		const struct strlist *l = field;
		size_t off = 0;

		for (size_t i = 0; i < l->n && off < len; i++) {
			int n = snprintf(buf + off, len - off, "%s%s", i ? ", " : "", l->items[i]);

			if (n < 0)
				break;
			off += (size_t)n;
		}
		break;
	}
	case KEY_SECRET:
		if (*(char *const *)field)
			(void)snprintf(buf, len, "%s", SECRET_MASK);
		break;
	case KEY_STRING:
	case KEY_LOG_LEVEL:
	case KEY_ENUM:
		if (*(char *const *)field)
			(void)snprintf(buf, len, "%s", *(char *const *)field);
		break;
	}
}

/* Keys that url sets; printing them as settings would conflict with url on reading back. */
static bool key_derived_from_url(const struct config_key *k, const struct config *cfg)
{
	if (!cfg->server.url || strcmp(k->section, "server") != 0)
		return false;
	return strcmp(k->name, "server_address") == 0 || strcmp(k->name, "server_port") == 0 ||
	       strcmp(k->name, "tls") == 0;
}

void config_print(const struct config *cfg, FILE *out)
{
	const char *section = NULL;
	char value[1024];

	if (cfg->path)
		(void)fprintf(out, "# effective configuration read from %s\n", cfg->path);
	else
		(void)fprintf(out, "# effective configuration (defaults)\n");
	for (size_t i = 0; i < N_KEYS; i++) {
		const struct config_key *k = &config_keys[i];

		if (!section || strcmp(section, k->section) != 0) {
			if (section && strcmp(section, "server") == 0 && cfg->base_url)
				(void)fprintf(out, "# derived: base_url = %s\n", cfg->base_url);
			section = k->section;
			(void)fprintf(out, "%s[%s]\n", i ? "\n" : "", section);
		}
		key_format(k, cfg, value, sizeof(value));
		/* " ; (unset)" reads back as an empty value. */
		if (key_derived_from_url(k, cfg))
			(void)fprintf(out, "# %s = %s (from url)\n", k->name, value);
		else if (value[0])
			(void)fprintf(out, "%s = %s\n", k->name, value);
		else
			(void)fprintf(out, "%s = ; (unset)\n", k->name);
	}
}

/* The Range column: bounds, choices or the rule a string must follow. */
static void key_range(const struct config_key *k, char *buf, size_t len)
{
	char lo[32], hi[32];

	buf[0] = '\0';
	switch (k->type) {
	case KEY_BOOL:
		(void)snprintf(buf, len, "true/false, yes/no, on/off, 1/0");
		break;
	case KEY_DURATION:
		format_duration(k->min, lo, sizeof(lo));
		format_duration(k->max, hi, sizeof(hi));
		(void)snprintf(buf, len, "%s..%s", lo, hi);
		break;
	case KEY_UINT:
	case KEY_PORT:
		(void)snprintf(buf, len, "%llu..%llu", (unsigned long long)k->min,
			       (unsigned long long)k->max);
		break;
	case KEY_LIST:
		(void)snprintf(buf, len, "%s%sat most %llu", k->rule ? k->rule->doc : "",
			       k->rule ? ", " : "", (unsigned long long)k->max);
		break;
	case KEY_LOG_LEVEL:
	case KEY_ENUM:
		join_choices(k->choices, buf, len);
		break;
	case KEY_STRING:
		if (k->rule)
			(void)snprintf(buf, len, "%s", k->rule->doc);
		break;
	case KEY_SECRET:
		break;
	}
}

void config_print_reference(FILE *out)
{
	char range[256];

	(void)fprintf(out, "| Section | Key | Type | Default | Range | Description |\n");
	(void)fprintf(out, "| --- | --- | --- | --- | --- | --- |\n");
	for (size_t i = 0; i < N_KEYS; i++) {
		const struct config_key *k = &config_keys[i];

		key_range(k, range, sizeof(range));
		(void)fprintf(out, "| %s | `%s` | %s | ", k->section, k->name,
			      key_type_names[k->type]);
		if (k->def[0])
			(void)fprintf(out, "`%s`", k->def);
		else
			(void)fprintf(out, "(unset)");
		(void)fprintf(out, " | %s | %s |\n", range, k->doc);
	}
}

void config_free(struct config *cfg)
{
	if (!cfg)
		return;
	for (size_t i = 0; i < N_KEYS; i++) {
		const struct config_key *k = &config_keys[i];
		void *field = key_field(k, cfg);

		if (k->type == KEY_LIST) {
			strlist_free(field);
		} else if (key_is_string(k)) {
			if (k->type == KEY_SECRET && *(char **)field)
				explicit_bzero(*(char **)field, strlen(*(char **)field));
			free(*(char **)field);
			*(char **)field = NULL;
		}
	}
	free(cfg->path);
	free(cfg->base_url);
	memset(cfg, 0, sizeof(*cfg));
}

int config_load_optional(struct config *cfg, const char *path, char *errbuf, size_t errlen)
{
	if (!path) {
		if (access(CONFIG_DEFAULT_PATH, F_OK) != 0)
			return 0;
		path = CONFIG_DEFAULT_PATH;
	}
	return config_load(cfg, path, false, errbuf, errlen);
}
