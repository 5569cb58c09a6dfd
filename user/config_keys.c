/* The configuration key table (docs/configuration.md is generated from it) and the checks
 * of its values. */
#include "config_keys.h"

#include "log.h"
#include "numparse.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CFG_OFF(field) offsetof(struct config, field)
#define MS_PER_DAY     (24ULL * 3600 * 1000)

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

const char *config_check_host(const char *v)
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

static const char *check_url(const char *v)
{
	if (v[0] == '\0')
		return NULL;
	return config_url_split(v, NULL, NULL, NULL, NULL);
}

static const struct value_rule rule_path_optional = {check_abs_path_optional, "absolute path"};
static const struct value_rule rule_path = {check_abs_path, "absolute path"};
static const struct value_rule rule_url_path = {check_url_path, "starts with /"};
static const struct value_rule rule_host = {config_check_host, "host name or IP address"};
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

static const struct config_choice collector_choices[] = {{"auto", NET_COLLECTOR_AUTO},
							 {"bpf", NET_COLLECTOR_BPF},
							 {"procfs", NET_COLLECTOR_PROCFS},
							 {0}};
static const struct config_choice spool_fsync_choices[] = {{"always", SPOOL_SYNC_ALWAYS},
							   {"interval", SPOOL_SYNC_INTERVAL},
							   {"never", SPOOL_SYNC_NEVER},
							   {0}};
static const struct config_choice log_level_choices[] = {{"error", LOG_LEVEL_ERR},
							 {"warning", LOG_LEVEL_WARN},
							 {"info", LOG_LEVEL_INFO},
							 {"debug", LOG_LEVEL_DEBUG},
							 {0}};

static const char *check_comm(const char *v)
{
	if (strlen(v) > 15)
		return "process names (comm) have at most 15 characters";
	return NULL;
}

static const struct value_rule rule_comm = {check_comm, "process names, up to 15 characters"};
static const struct value_rule rule_glob = {check_abs_path, "absolute path globs (fnmatch)"};
static const struct config_choice history_cwd_choices[] = {
	{"kernel", HISTORY_CWD_KERNEL}, {"off", HISTORY_CWD_OFF}, {0}};
static const struct config_choice history_filter_choices[] = {
	{"all", HISTORY_FILTER_ALL}, {"login", HISTORY_FILTER_LOGIN}, {0}};

/* The single source of truth for every key; docs/configuration.md is generated from it. */
const struct config_key config_keys[] = {
	{.section = "server",
	 .name = "url",
	 .type = KEY_STRING,
	 .offset = CFG_OFF(server.url),
	 .def = "",
	 .rule = &rule_url,
	 .doc = "Server base URL such as https://api.example.com:8443. Sets server_address, "
		"server_port and tls, which must then be left out."},
	{.section = "server",
	 .name = "server_address",
	 .type = KEY_STRING,
	 .offset = CFG_OFF(server.server_address),
	 .def = "127.0.0.1",
	 .rule = &rule_host,
	 .doc = "Server host name or IP address (IPv6 without brackets)."},
	{.section = "server",
	 .name = "server_port",
	 .type = KEY_PORT,
	 .offset = CFG_OFF(server.server_port),
	 .min = 1,
	 .max = 65535,
	 .def = "8080",
	 .doc = "Server TCP port."},
	{.section = "server",
	 .name = "tls",
	 .type = KEY_BOOL,
	 .offset = CFG_OFF(server.tls),
	 .def = "false",
	 .doc = "Use https:// and wss:// instead of http:// and ws://."},
	{.section = "server",
	 .name = "ca_file",
	 .type = KEY_STRING,
	 .offset = CFG_OFF(server.ca_file),
	 .def = "",
	 .rule = &rule_path_optional,
	 .doc = "CA bundle that verifies the server; unset: the system store."},
	{.section = "server",
	 .name = "client_id",
	 .type = KEY_STRING,
	 .offset = CFG_OFF(server.client_id),
	 .def = "",
	 .doc = "Agent login name. Required to connect."},
	{.section = "server",
	 .name = "password",
	 .type = KEY_SECRET,
	 .offset = CFG_OFF(server.password),
	 .def = "",
	 .doc = "Agent password. Required to connect unless password_file is set; the file holding "
		"it must not be readable by group or others (chmod 600)."},
	{.section = "server",
	 .name = "password_file",
	 .type = KEY_STRING,
	 .offset = CFG_OFF(server.password_file),
	 .def = "",
	 .rule = &rule_path_optional,
	 .doc = "File whose content (without the trailing newline) is the password; mode 600. "
		"Excludes password."},
	{.section = "server",
	 .name = "token_path",
	 .type = KEY_STRING,
	 .offset = CFG_OFF(server.token_path),
	 .def = "/token",
	 .rule = &rule_url_path,
	 .doc = "HTTP path where the agent obtains its access token."},
	{.section = "server",
	 .name = "ws_path",
	 .type = KEY_STRING,
	 .offset = CFG_OFF(server.ws_path),
	 .def = "/ws",
	 .rule = &rule_url_path,
	 .doc = "WebSocket path the agent streams records to."},
	{.section = "server",
	 .name = "token_in_query",
	 .type = KEY_BOOL,
	 .offset = CFG_OFF(server.token_in_query),
	 .def = "false",
	 .doc = "Pass the token in the WebSocket URL query instead of an Authorization header."},
	{.section = "server",
	 .name = "connect_timeout",
	 .type = KEY_DURATION,
	 .offset = CFG_OFF(server.connect_timeout_ms),
	 .min = 100,
	 .max = 5ULL * 60 * 1000,
	 .def = "10s",
	 .doc = "Time allowed to establish a connection."},
	{.section = "server",
	 .name = "reconnect_max",
	 .type = KEY_DURATION,
	 .offset = CFG_OFF(server.reconnect_max_ms),
	 .min = 1000,
	 .max = 3600 * 1000ULL,
	 .def = "60s",
	 .doc = "Longest wait between reconnect attempts (back-off cap)."},
	{.section = "server",
	 .name = "ping_interval",
	 .type = KEY_DURATION,
	 .offset = CFG_OFF(server.ping_interval_ms),
	 .min = 1000,
	 .max = 3600 * 1000ULL,
	 .def = "30s",
	 .doc = "WebSocket keep-alive ping interval."},
	{.section = "server",
	 .name = "unacked_grace",
	 .type = KEY_DURATION,
	 .offset = CFG_OFF(server.unacked_grace_ms),
	 .min = 100,
	 .max = 600 * 1000ULL,
	 .def = "5s",
	 .doc = "A server that never acks: a written record counts as delivered once the "
		"connection "
		"stayed up this long after it was written; records written later than that before "
		"a "
		"close are written again on the next connection (docs/reliability.md)."},
	{.section = "server",
	 .name = "allow_insecure",
	 .type = KEY_BOOL,
	 .offset = CFG_OFF(server.allow_insecure),
	 .def = "false",
	 .doc = "Allow sending the password over plain http:// to a host that is not loopback "
		"(refused otherwise)."},
	{.section = "server",
	 .name = "pin_sha256",
	 .type = KEY_STRING,
	 .offset = CFG_OFF(server.pin_sha256),
	 .def = "",
	 .doc = "Base64 SHA-256 of the server certificate's public key (SubjectPublicKeyInfo, as "
		"curl's "
		"--pinnedpubkey sha256//); when set, any other key is refused "
		"(docs/reliability.md)."},

	{.section = "agent",
	 .name = "host_id",
	 .type = KEY_STRING,
	 .offset = CFG_OFF(agent.host_id),
	 .def = "",
	 .rule = &rule_host_id,
	 .doc = "Name this host reports as; unset: /etc/machine-id."},
	{.section = "agent",
	 .name = "state_dir",
	 .type = KEY_STRING,
	 .offset = CFG_OFF(agent.state_dir),
	 .def = "/var/lib/srvmon",
	 .rule = &rule_path,
	 .doc = "Directory for persistent state."},
	{.section = "agent",
	 .name = "log_level",
	 .type = KEY_LOG_LEVEL,
	 .offset = CFG_OFF(agent.log_level),
	 .def = "info",
	 .choices = log_level_choices,
	 .doc = "Most verbose level logged."},
	{.section = "agent",
	 .name = "status_interval",
	 .type = KEY_DURATION,
	 .offset = CFG_OFF(agent.status_interval_ms),
	 .min = 1000,
	 .max = MS_PER_DAY,
	 .def = "60s",
	 .doc = "Interval of the agent status record."},
	{.section = "agent",
	 .name = "queue_max",
	 .type = KEY_UINT,
	 .offset = CFG_OFF(agent.queue_max),
	 .min = 10,
	 .max = 10000000,
	 .def = "10000",
	 .doc = "Records kept in memory while the server is unreachable; the oldest are dropped."},
	{.section = "agent",
	 .name = "bpf_pin_dir",
	 .type = KEY_STRING,
	 .offset = CFG_OFF(agent.bpf_pin_dir),
	 .def = "/sys/fs/bpf/srvmon",
	 .rule = &rule_path_optional,
	 .doc = "Directory under bpffs where the BPF maps are pinned for bpftool "
		"(docs/debugging.md); "
		"stale pins are replaced on start, all removed on exit. Empty: no pins."},

	{.section = "spool",
	 .name = "dir",
	 .type = KEY_STRING,
	 .offset = CFG_OFF(spool.dir),
	 .def = "",
	 .rule = &rule_path_optional,
	 .doc = "Directory of the on-disk queue of undelivered records; unset: state_dir/spool "
		"(/var/lib/srvmon/spool). If it cannot be opened, records wait in memory "
		"(agent.queue_max)."},
	{.section = "spool",
	 .name = "max_size",
	 .type = KEY_UINT,
	 .offset = CFG_OFF(spool.max_size),
	 .min = 16384,
	 .max = 1ULL << 40,
	 .def = "268435456",
	 .doc = "Bytes the spool may use (default 256 MiB); when full, the oldest records are "
		"dropped "
		"and counted in status events_lost and spool_dropped."},
	{.section = "spool",
	 .name = "fsync",
	 .type = KEY_ENUM,
	 .offset = CFG_OFF(spool.fsync),
	 .def = "interval",
	 .choices = spool_fsync_choices,
	 .doc = "When spooled records are forced to disk: always (every record), interval (at most "
		"every fsync_interval), never (kernel writeback). A killed agent loses nothing in "
		"any mode; this bounds the loss on power failure."},
	{.section = "spool",
	 .name = "fsync_interval",
	 .type = KEY_DURATION,
	 .offset = CFG_OFF(spool.fsync_interval_ms),
	 .min = 10,
	 .max = MS_PER_DAY,
	 .def = "1s",
	 .doc = "Longest time between two fdatasync of the spool (fsync = interval)."},

	{.section = "resources",
	 .name = "enabled",
	 .type = KEY_BOOL,
	 .offset = CFG_OFF(resources.enabled),
	 .def = "true",
	 .doc = "Collect CPU, memory and disk usage."},
	{.section = "resources",
	 .name = "interval",
	 .type = KEY_DURATION,
	 .offset = CFG_OFF(resources.interval_ms),
	 .min = 100,
	 .max = MS_PER_DAY,
	 .def = "10s",
	 .doc = "Sampling interval."},
	{.section = "resources",
	 .name = "mounts",
	 .type = KEY_LIST,
	 .offset = CFG_OFF(resources.mounts),
	 .max = 16,
	 .def = "/",
	 .rule = &rule_path,
	 .doc = "Mount points whose disk usage is reported."},

	{.section = "network",
	 .name = "enabled",
	 .type = KEY_BOOL,
	 .offset = CFG_OFF(network.enabled),
	 .def = "true",
	 .doc = "Collect per-interface traffic counters."},
	{.section = "network",
	 .name = "interval",
	 .type = KEY_DURATION,
	 .offset = CFG_OFF(network.interval_ms),
	 .min = 100,
	 .max = MS_PER_DAY,
	 .def = "1s",
	 .doc = "Sampling interval."},
	{.section = "network",
	 .name = "collector",
	 .type = KEY_ENUM,
	 .offset = CFG_OFF(network.collector),
	 .def = "auto",
	 .choices = collector_choices,
	 .doc = "Counter source: bpf (kernel programs), procfs (/proc/net/dev) or auto (bpf, "
		"falling "
		"back to procfs)."},
	{.section = "network",
	 .name = "include",
	 .type = KEY_LIST,
	 .offset = CFG_OFF(network.include),
	 .max = 64,
	 .def = "",
	 .rule = &rule_ifname,
	 .doc = "Interfaces to report; unset: the interfaces that carry a default route."},
	{.section = "network",
	 .name = "exclude",
	 .type = KEY_LIST,
	 .offset = CFG_OFF(network.exclude),
	 .max = 64,
	 .def = "lo",
	 .rule = &rule_ifname,
	 .doc = "Interfaces never reported."},
	{.section = "network",
	 .name = "peak_window",
	 .type = KEY_DURATION,
	 .offset = CFG_OFF(network.peak_window_ms),
	 .min = 10,
	 .max = 10000,
	 .def = "100ms",
	 .doc = "Window of rx_peak_rate/tx_peak_rate: the highest rate over windows this long "
		"inside "
		"each interval (BPF collector only; widened to interval/120 for long intervals)."},

	{.section = "speedtest",
	 .name = "enabled",
	 .type = KEY_BOOL,
	 .offset = CFG_OFF(speedtest.enabled),
	 .def = "true",
	 .doc = "Run periodic active speed tests (HTTP, LibreSpeed protocol) against servers, or "
		"the monitoring server."},
	{.section = "speedtest",
	 .name = "interval",
	 .type = KEY_DURATION,
	 .offset = CFG_OFF(speedtest.interval_ms),
	 .min = 60000,
	 .max = MS_PER_DAY,
	 .def = "6h",
	 .doc = "Time between the end of one speed test and the start of the next."},
	{.section = "speedtest",
	 .name = "jitter",
	 .type = KEY_DURATION,
	 .offset = CFG_OFF(speedtest.jitter_ms),
	 .max = MS_PER_DAY,
	 .def = "30m",
	 .doc = "Random extra delay, uniform in [0, jitter], added to every interval."},
	{.section = "speedtest",
	 .name = "first_delay",
	 .type = KEY_DURATION,
	 .offset = CFG_OFF(speedtest.first_delay_ms),
	 .max = MS_PER_DAY,
	 .def = "2m",
	 .doc = "The first test runs this long after the agent starts, plus a random delay in "
		"[0, first_jitter]: a fleet started together does not test at once, and a restart "
		"loop does not test every time."},
	{.section = "speedtest",
	 .name = "first_jitter",
	 .type = KEY_DURATION,
	 .offset = CFG_OFF(speedtest.first_jitter_ms),
	 .max = MS_PER_DAY,
	 .def = "8m",
	 .doc = "Random extra delay of the first test, uniform in [0, first_jitter]."},
	{.section = "speedtest",
	 .name = "servers",
	 .type = KEY_LIST,
	 .offset = CFG_OFF(speedtest.servers),
	 .max = 16,
	 .def = "",
	 .rule = &rule_speedtest_url,
	 .doc = "LibreSpeed server base URLs, tried in turn; unset: the monitoring server."},
	{.section = "speedtest",
	 .name = "streams",
	 .type = KEY_UINT,
	 .offset = CFG_OFF(speedtest.streams),
	 .min = 1,
	 .max = 32,
	 .def = "4",
	 .doc = "Parallel HTTP streams per direction."},
	{.section = "speedtest",
	 .name = "max_duration",
	 .type = KEY_DURATION,
	 .offset = CFG_OFF(speedtest.max_duration_ms),
	 .min = 1000,
	 .max = 60000,
	 .def = "5s",
	 .doc = "Longest measurement per direction; it stops earlier once the rate is stable."},
	{.section = "speedtest",
	 .name = "max_megabytes",
	 .type = KEY_UINT,
	 .offset = CFG_OFF(speedtest.max_megabytes),
	 .min = 1,
	 .max = 100000,
	 .def = "100",
	 .doc = "Byte cap per test, both directions together, in MB (10^6 bytes)."},
	{.section = "speedtest",
	 .name = "timeout",
	 .type = KEY_DURATION,
	 .offset = CFG_OFF(speedtest.timeout_ms),
	 .min = 1000,
	 .max = 600000,
	 .def = "5s",
	 .doc = "A connection that cannot be made, or no byte moving, for this long fails the "
		"test."},

	{.section = "history",
	 .name = "enabled",
	 .type = KEY_BOOL,
	 .offset = CFG_OFF(history.enabled),
	 .def = "true",
	 .doc = "Capture every exec in the kernel and ship it as an exec record "
		"(docs/history.md)."},
	{.section = "history",
	 .name = "argv_max",
	 .type = KEY_UINT,
	 .offset = CFG_OFF(history.argv_max),
	 .min = 4096,
	 .max = 131072,
	 .def = "32768",
	 .doc = "Bytes of arguments kept per exec; longer command lines are cut at an argument "
		"boundary and flagged argv_truncated."},
	{.section = "history",
	 .name = "ringbuf_size",
	 .type = KEY_UINT,
	 .offset = CFG_OFF(history.ringbuf_size),
	 .min = 65536,
	 .max = 1ULL << 30,
	 .def = "8388608",
	 .doc = "Bytes of the kernel ring buffer holding execs not yet read (rounded up to a power "
		"of 2); when it is full, execs are counted as lost."},
	{.section = "history",
	 .name = "filter",
	 .type = KEY_ENUM,
	 .offset = CFG_OFF(history.filter),
	 .def = "all",
	 .choices = history_filter_choices,
	 .doc = "all: every exec; login: only processes of a login session (login uid set)."},
	{.section = "history",
	 .name = "min_uid",
	 .type = KEY_UINT,
	 .offset = CFG_OFF(history.min_uid),
	 .max = 4294967295ULL,
	 .def = "0",
	 .doc = "Execs by users with a lower uid are not recorded (filtered in the kernel)."},
	{.section = "history",
	 .name = "exclude_comm",
	 .type = KEY_LIST,
	 .offset = CFG_OFF(history.exclude_comm),
	 .max = 64,
	 .def = "",
	 .rule = &rule_comm,
	 .doc = "Process names (comm after the exec) never recorded (in the kernel)."},
	{.section = "history",
	 .name = "exclude_path",
	 .type = KEY_LIST,
	 .offset = CFG_OFF(history.exclude_path),
	 .max = 64,
	 .def = "",
	 .rule = &rule_glob,
	 .doc = "Executed paths never recorded, as shell globs such as /usr/lib/*/*."},
	{.section = "history",
	 .name = "failed",
	 .type = KEY_BOOL,
	 .offset = CFG_OFF(history.failed),
	 .def = "true",
	 .doc = "Also record execs that failed (ret = -errno)."},
	{.section = "history",
	 .name = "cwd",
	 .type = KEY_ENUM,
	 .offset = CFG_OFF(history.cwd),
	 .def = "kernel",
	 .choices = history_cwd_choices,
	 .doc = "kernel: the working directory of every exec, walked up in the kernel (1-2.5 us an "
		"exec here, docs/history.md); off: cwd is empty, the exec costs less."},
	{.section = "history",
	 .name = "drain_interval",
	 .type = KEY_DURATION,
	 .offset = CFG_OFF(history.drain_interval_ms),
	 .min = 10,
	 .max = 1000,
	 .def = "200ms",
	 .doc = "How often the agent reads the exec ring buffer while execs come (the kernel never "
		"wakes it per exec): the latency added to an exec record. Shorter costs more agent "
		"CPU per exec (docs/BENCHMARKS.md); a ring filling past a quarter wakes it early, "
		"and "
		"after a drain that found no exec the first exec wakes it at once."},
	{.section = "history",
	 .name = "trail",
	 .type = KEY_BOOL,
	 .offset = CFG_OFF(history.trail),
	 .def = "true",
	 .doc = "Also append exec records to a local JSON-lines file (srvmon-agent history reads "
		"it)."},
	{.section = "history",
	 .name = "trail_path",
	 .type = KEY_STRING,
	 .offset = CFG_OFF(history.trail_path),
	 .def = "/var/log/srvmon/exec.jsonl",
	 .rule = &rule_path,
	 .doc = "The local trail file."},
	{.section = "history",
	 .name = "trail_max_size",
	 .type = KEY_UINT,
	 .offset = CFG_OFF(history.trail_max_size),
	 .min = 65536,
	 .max = 1ULL << 40,
	 .def = "67108864",
	 .doc = "Bytes of the trail file before it is rotated."},
	{.section = "history",
	 .name = "trail_rotations",
	 .type = KEY_UINT,
	 .offset = CFG_OFF(history.trail_rotations),
	 .max = 100,
	 .def = "4",
	 .doc = "Rotated trail files kept (trail_path.1 is the newest)."},

	{.section = "metrics",
	 .name = "enabled",
	 .type = KEY_BOOL,
	 .offset = CFG_OFF(metrics.enabled),
	 .def = "false",
	 .doc = "Serve the figures to Prometheus at http://listen/metrics (OpenMetrics text)."},
	{.section = "metrics",
	 .name = "listen",
	 .type = KEY_STRING,
	 .offset = CFG_OFF(metrics.listen),
	 .def = "127.0.0.1:9469",
	 .rule = &rule_listen,
	 .doc = "Address of the /metrics endpoint; loopback by default, there is no "
		"authentication."},
};

const size_t config_key_count = sizeof(config_keys) / sizeof(config_keys[0]);

_Static_assert(sizeof(config_keys) / sizeof(config_keys[0]) <= CONFIG_KEYS_MAX,
	       "raise CONFIG_KEYS_MAX");

const char *const config_key_type_names[] = {
	[KEY_STRING] = "string",     [KEY_SECRET] = "secret",	    [KEY_BOOL] = "bool",
	[KEY_DURATION] = "duration", [KEY_UINT] = "integer",	    [KEY_PORT] = "port",
	[KEY_LIST] = "list",	     [KEY_LOG_LEVEL] = "log level", [KEY_ENUM] = "enum",
};
