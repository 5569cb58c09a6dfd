/* The agent's own wire messages: hello and status (docs/protocol.md). */
#include "message.h"

#include "identity.h"
#include "message_json.h"
#include "srvmon_proto.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

cJSON *message_hello(const struct hello_info *h, uint64_t ts_ms)
{
	const struct host_identity *id = h->id;
	cJSON *modules;
	cJSON *msg;

	if (!id || h->n_modules > ARRAY_SIZE(h->modules)) {
		errno = EINVAL;
		return NULL;
	}
	msg = message_new(SRVMON_TYPE_HELLO, ts_ms);
	if (!msg)
		goto err;
	if (message_add_string(msg, "agent_version", h->agent_version) < 0 ||
	    message_add_fixed_string(msg, "hostname", id->hostname, sizeof(id->hostname)) < 0 ||
	    message_add_fixed_string(msg, "kernel", id->kernel, sizeof(id->kernel)) < 0 ||
	    message_add_fixed_string(msg, "os", id->os, sizeof(id->os)) < 0 ||
	    message_add_fixed_string(msg, "boot_id", id->boot_id, sizeof(id->boot_id)) < 0)
		goto err;
	modules = cJSON_AddArrayToObject(msg, "modules");
	if (!modules)
		goto err;
	for (size_t i = 0; i < h->n_modules; i++) {
		cJSON *name = cJSON_CreateString(h->modules[i] ? h->modules[i] : "");

		if (!name || !cJSON_AddItemToArray(modules, name)) {
			cJSON_Delete(name);
			goto err;
		}
	}
	if (h->collector) {
		if (message_add_string(msg, "collector", h->collector) < 0)
			goto err;
	} else if (!cJSON_AddNullToObject(msg, "collector")) {
		goto err;
	}
	return msg;

err:
	cJSON_Delete(msg);
	errno = ENOMEM;
	return NULL;
}

cJSON *message_status(const struct status_info *s, uint64_t ts_ms)
{
	cJSON *modules;
	cJSON *msg;

	if (s->n_modules > ARRAY_SIZE(s->modules)) {
		errno = EINVAL;
		return NULL;
	}
	msg = message_new(SRVMON_TYPE_STATUS, ts_ms);
	if (!msg)
		goto err;
	modules = cJSON_AddObjectToObject(msg, "modules");
	if (!modules)
		goto err;
	for (size_t i = 0; i < s->n_modules; i++) {
		const struct module_state *m = &s->modules[i];
		cJSON *o;

		if (!m->name) {
			cJSON_Delete(msg);
			errno = EINVAL;
			return NULL;
		}
		o = cJSON_AddObjectToObject(modules, m->name);
		if (!o || message_add_string(o, "state", m->state) < 0)
			goto err;
		if (m->detail && message_add_string(o, "detail", m->detail) < 0)
			goto err;
	}
	if (message_add_u64(msg, "events_lost", s->events_lost) < 0 ||
	    message_add_u64(msg, "reconnects", s->reconnects) < 0 ||
	    message_add_u64(msg, "spool_dropped", s->spool_dropped) < 0)
		goto err;
	return msg;

err:
	cJSON_Delete(msg);
	errno = ENOMEM;
	return NULL;
}
