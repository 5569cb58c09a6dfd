/* Agent configuration: the struct every module reads, and the INI loader. */
#ifndef SRVMON_CONFIG_H
#define SRVMON_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "log.h"

#define CONFIG_DEFAULT_PATH "/etc/srvmon/agent.conf"
#define EX_CONFIG_STATUS    78 /* sysexits.h EX_CONFIG */

/* A list of strings from a comma- or space-separated value. */
struct strlist {
	char **items;
	size_t n;
};

/* The values of the enum keys, parsed at load time (config_keys.c has their names). */
enum net_collector_kind { NET_COLLECTOR_AUTO, NET_COLLECTOR_BPF, NET_COLLECTOR_PROCFS };
enum spool_sync_mode { SPOOL_SYNC_ALWAYS, SPOOL_SYNC_INTERVAL, SPOOL_SYNC_NEVER };
enum history_filter_kind { HISTORY_FILTER_ALL, HISTORY_FILTER_LOGIN };
enum history_cwd_mode { HISTORY_CWD_KERNEL, HISTORY_CWD_OFF };

struct config_server {
	char *url;	      /* base URL; when set, server_address/server_port/tls are derived */
	char *server_address; /* old client's key */
	uint64_t server_port; /* old client's key */
	bool tls;
	char *ca_file;
	char *client_id;     /* old client's key */
	char *password;	     /* old client's key; secret */
	char *password_file; /* read at load time into password */
	char *token_path;    /* default /token */
	char *ws_path;	     /* default /ws */
	bool token_in_query;
	uint64_t connect_timeout_ms;
	uint64_t reconnect_max_ms; /* backoff cap, default 60 s */
	uint64_t ping_interval_ms;
	/* a server that never acks: a written record is delivered after this */
	uint64_t unacked_grace_ms;
	bool allow_insecure; /* send the password over plain http to a non-loopback host */
	char *pin_sha256;    /* base64 SHA-256 of the server's public key (SPKI); empty: none */
};

struct config_agent {
	char *host_id; /* empty: /etc/machine-id */
	char *state_dir;
	enum log_level log_level;
	uint64_t status_interval_ms;
	uint64_t queue_max; /* records kept in memory while the server is away */
	char *bpf_pin_dir;  /* BPF maps pinned there for bpftool; empty: not pinned */
};

struct config_resources {
	bool enabled;
	uint64_t interval_ms;  /* default 10 s */
	struct strlist mounts; /* default "/" */
};

struct config_network {
	bool enabled;
	uint64_t interval_ms; /* default 1 s */
	enum net_collector_kind collector;
	struct strlist include; /* empty: interfaces carrying a default route */
	struct strlist exclude;
	uint64_t peak_window_ms; /* window of rx/tx_peak_rate, default 100 ms */
};

struct config_speedtest {
	bool enabled;
	uint64_t interval_ms;	 /* default 6 h */
	uint64_t jitter_ms;	 /* random extra delay in [0, jitter] before each test */
	uint64_t first_delay_ms; /* the first test: first_delay + [0, first_jitter] after start */
	uint64_t first_jitter_ms;
	struct strlist servers;	  /* LibreSpeed base URLs; empty: the monitoring server */
	uint64_t streams;	  /* parallel HTTP streams, default 4 */
	uint64_t max_duration_ms; /* per direction, default 5 s */
	uint64_t max_megabytes;	  /* bytes per test (both directions), default 100 MB */
	uint64_t timeout_ms;	  /* no progress for this long: the test fails */
};

struct config_spool {
	char *dir;	   /* empty: state_dir/spool */
	uint64_t max_size; /* bytes, default 256 MiB */
	enum spool_sync_mode fsync;
	uint64_t fsync_interval_ms; /* default 1 s */
};

struct config_history {
	bool enabled;
	uint64_t argv_max;     /* bytes of argv per exec, default 32 KiB */
	uint64_t ringbuf_size; /* bytes of the kernel ring buffer */
	enum history_filter_kind filter;
	uint64_t min_uid;
	struct strlist exclude_comm; /* exact comm names, filtered in the kernel */
	struct strlist exclude_path; /* fnmatch globs on the executed path */
	bool failed;		     /* record failed execs too */
	enum history_cwd_mode cwd;   /* the in-kernel cwd walk, or none */
	uint64_t drain_interval_ms;  /* ring buffer drained this often */
	bool trail;		     /* local JSON-lines trail */
	char *trail_path;
	uint64_t trail_max_size;
	uint64_t trail_rotations;
};

struct config_metrics {
	bool enabled; /* Prometheus /metrics endpoint (user/metrics_http.c) */
	char *listen; /* host:port, default 127.0.0.1:9469 */
};

struct config {
	char *path; /* file it was read from */
	struct config_server server;
	struct config_agent agent;
	struct config_resources resources;
	struct config_network network;
	struct config_spool spool;
	struct config_speedtest speedtest;
	struct config_history history;
	struct config_metrics metrics;

	/* derived by config_load() */
	char *base_url; /* scheme://host:port, no trailing slash */
};

/* Fills cfg with every default. Returns 0 or -ENOMEM. */
int config_init_defaults(struct config *cfg);

/*
 * Reads path over the defaults. On any error (missing file, unknown section or
 * key, bad or out-of-range value, secret file readable by others, missing
 * required key when require_server is true) writes one line naming
 * file:line: key and the fix into errbuf and returns a negative errno; cfg is
 * then freed and must not be used (never a half-read config).
 */
int config_load(struct config *cfg, const char *path, bool require_server, char *errbuf,
		size_t errlen);

/*
 * For commands that can run on the defaults alone (history, speedtest): reads path, or
 * CONFIG_DEFAULT_PATH when path is NULL and that file exists, or nothing (returns 0,
 * cfg keeps its defaults). Server keys are not required. Errors as config_load().
 */
int config_load_optional(struct config *cfg, const char *path, char *errbuf, size_t errlen);

/* Prints the effective configuration as INI with secrets masked. */
void config_print(const struct config *cfg, FILE *out);

/* Prints the key table as the Markdown reference of docs/configuration.md. */
void config_print_reference(FILE *out);

void config_free(struct config *cfg);

#endif
