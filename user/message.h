/* The agent's own wire messages, hello and status (docs/protocol.md). */
#ifndef SRVMON_MESSAGE_H
#define SRVMON_MESSAGE_H

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>

#include "module.h"

struct host_identity;

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
 * or NULL on ENOMEM. The outbox adds host_id and seq with message_finish(). The modules'
 * own records are built in their folders (modules/<name>/<name>_message.h). */
cJSON *message_hello(const struct hello_info *h, uint64_t ts_ms);
cJSON *message_status(const struct status_info *s, uint64_t ts_ms);

#endif
