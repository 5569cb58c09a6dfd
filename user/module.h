/*
 * The module seam: what every collector of the agent (resources, network, history,
 * speedtest) offers main.c, and what main.c hands it. A module never sees the outbox,
 * the transport or another module: it submits through the sink of its context.
 * How to add one: docs/design.md, "Adding a module".
 */
#ifndef SRVMON_MODULE_H
#define SRVMON_MODULE_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "record_text.h"

struct config;
struct metrics;
struct metrics_source;

/* Where a module's records go: the outbox in the daemon, standard output for --once. */
struct module_sink {
	/* Takes ownership of msg (frees it). 0 or -errno. */
	int (*submit)(void *arg, cJSON *msg);
	/* n printed records at once; returns how many were taken, or -errno when none. */
	int (*submit_text)(void *arg, const struct record_text *recs, size_t n);
	/* Records taken but not yet written to a server: a producer that can wait (the
	 * kernel ring of history) pauses while this is high. */
	size_t (*backlog)(void *arg);
	void *arg;
};

/* Cumulative link-layer bytes of the interfaces in the totals (the network module's
 * network_host_bytes()), for the speed test's host counters. 0 or -errno. */
typedef int (*module_host_bytes_fn)(void *arg, uint64_t *ret_rx, uint64_t *ret_tx);

struct module_ctx {
	const struct config *cfg;
	const struct module_sink *sink;
	struct metrics *metrics;	 /* NULL: [metrics] off; metrics_set() accepts it */
	const char *server_url;		 /* the monitoring server's base URL (speed-test default) */
	size_t backlog_max;		 /* see module_sink.backlog */
	module_host_bytes_fn host_bytes; /* NULL when the network module does not run */
	void *host_bytes_arg;
};

struct module_ops {
	const char *name; /* one name everywhere: config section, --module, hello, status */
	/* The section's enabled flag: read at start, set by --module (user/instance.c). */
	bool *(*enabled)(struct config *cfg);
	/* > 0: main calls tick() on a runner thread at this interval (and once for --once);
	 * 0: the module runs its own thread from start() and has no tick(). */
	uint64_t (*interval_ms)(const struct config *cfg);
	/* Creates the module's state (and its thread, for interval 0). On failure returns
	 * -errno and names the failed step in *ret_step ("load", "attach", ...). daemon is
	 * false for --once: a module that only makes sense with a server may decline with
	 * -EOPNOTSUPP, and is then left out silently. */
	int (*start)(const struct module_ctx *ctx, bool daemon, void **ret_state,
		     const char **ret_step);
	/* One sample, submitted through ctx->sink. 0 or -errno (the status reports it). */
	int (*tick)(void *state);
	/* Stops the thread (if any) and frees the state; accepts NULL. */
	void (*stop)(void *state);
	/* Optional. The error of the last run for modules with their own thread. */
	int (*last_error)(void *state);
	/* Optional. Records the module lost before they reached the sink (events_lost). */
	uint64_t (*lost)(void *state);
	/* Optional. A word for status and hello ("bpf", "procfs"); NULL: none. */
	const char *(*collector)(void *state);
	/* Optional. The module's Prometheus families; it updates them with metrics_set(). */
	const struct metrics_source *metrics;
	/* Optional. Called on the main thread each time a connection to the monitoring server
	 * opens, with its token: a module that talks to that server itself keeps a copy. */
	void (*set_token)(void *state, const char *token);
	/* Optional. Cumulative bytes of the host's interfaces (module_host_bytes_fn). */
	int (*host_bytes)(void *state, uint64_t *ret_rx, uint64_t *ret_tx);
};

/* The most modules the agent's fixed-size lists (status, hello, /metrics) hold. */
#define AGENT_MODULES_MAX 8

/* The agent's modules in start order; stopped in reverse. */
extern const struct module_ops *const agent_modules[];
extern const size_t agent_module_count;

/* The index of the module called name in agent_modules, or -ENOENT. */
int module_index(const char *name);

/* Module tables of each module (user/<name>_module.c). */
extern const struct module_ops resources_module_ops;
extern const struct module_ops network_module_ops;
extern const struct module_ops history_module_ops;
extern const struct module_ops speedtest_module_ops;

#endif
