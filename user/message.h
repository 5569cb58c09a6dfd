/* Encoders of the agent -> server wire messages (docs/protocol.md). */
#ifndef SRVMON_MESSAGE_H
#define SRVMON_MESSAGE_H

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>

#include "module.h"

struct host_identity;
struct resources_sample;
struct net_sample;
struct speedtest_result;
struct exec_event;

struct module_state {
	const char *name;   /* "resources", "network" */
	const char *state;  /* "running", "disabled", "failed" */
	const char *detail; /* NULL or a short reason */
};

struct status_info {
	size_t n_modules;
	struct module_state modules[AGENT_MODULES_MAX];
	uint64_t events_lost; /* records dropped before delivery */
	uint64_t reconnects;
	uint64_t spool_dropped; /* of events_lost: evicted from a full spool or not writable */
};

struct hello_info {
	const struct host_identity *id;
	const char *agent_version;
	size_t n_modules;
	const char *modules[AGENT_MODULES_MAX]; /* enabled module names */
	const char *collector;			/* network collector: "bpf", "procfs" or NULL */
};

/* Each builder returns a new object holding "type" and "ts" and the body fields,
 * or NULL on ENOMEM. The outbox adds host_id and seq with message_finish(). */
cJSON *message_hello(const struct hello_info *h, uint64_t ts_ms);
cJSON *message_resources(const struct resources_sample *s);
cJSON *message_network(const struct net_sample *s);
cJSON *message_status(const struct status_info *s, uint64_t ts_ms);
cJSON *message_speedtest(const struct speedtest_result *r);
/* An exec record (docs/protocol.md "exec"); e->user may be NULL. */
cJSON *message_exec(const struct exec_event *e);
struct sbuf;
/* The same record printed directly (no cJSON tree, the hot path): appends one compact
 * JSON object, without host_id and seq (outbox_submit_json() adds them). 0 or -ENOMEM
 * (then nothing is appended). */
int message_exec_json(const struct exec_event *e, struct sbuf *b);

/* Adds an exact unsigned 64-bit integer member (cJSON numbers are doubles). 0 or -ENOMEM. */
int message_add_u64(cJSON *obj, const char *name, uint64_t v);

/* Adds host_id and seq and prints msg compactly. Returns a malloc'd string or NULL. */
char *message_finish(cJSON *msg, const char *host_id, uint64_t seq);

#endif
