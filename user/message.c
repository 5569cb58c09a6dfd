#include "message.h"

#include "identity.h"
#include "network.h"
#include "resources.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

int message_add_u64(cJSON *obj, const char *name, uint64_t v)
{
	char buf[24];

	/* A raw member: cJSON numbers are doubles and lose precision above 2^53. */
	snprintf(buf, sizeof(buf), "%" PRIu64, v);
	if (!cJSON_AddRawToObject(obj, name, buf))
		return -ENOMEM;
	return 0;
}

/* Adds a string from a fixed-size field that may lack its NUL. */
static int add_fixed_string(cJSON *obj, const char *name, const char *s, size_t size)
{
	char buf[512];
	size_t n = strnlen(s, size);

	if (n >= sizeof(buf))
		n = sizeof(buf) - 1;
	memcpy(buf, s, n);
	buf[n] = '\0';
	if (!cJSON_AddStringToObject(obj, name, buf))
		return -ENOMEM;
	return 0;
}

static int add_string(cJSON *obj, const char *name, const char *s)
{
	if (!cJSON_AddStringToObject(obj, name, s ? s : ""))
		return -ENOMEM;
	return 0;
}

/* Whole bits/s as an exact integer; negative or non-finite rates become 0. */
static int add_rate(cJSON *obj, const char *name, double rate)
{
	if (!isfinite(rate) || rate < 0)
		rate = 0;
	if (rate >= 18446744073709551615.0)
		return message_add_u64(obj, name, UINT64_MAX);
	return message_add_u64(obj, name, (uint64_t)llround(rate));
}

static cJSON *message_new(const char *type, uint64_t ts_ms)
{
	cJSON *msg = cJSON_CreateObject();

	if (!msg)
		return NULL;
	if (add_string(msg, "type", type) < 0 || message_add_u64(msg, "ts", ts_ms) < 0) {
		cJSON_Delete(msg);
		return NULL;
	}
	return msg;
}

cJSON *message_hello(const struct hello_info *h, uint64_t ts_ms)
{
	const struct host_identity *id = h->id;
	cJSON *modules;
	cJSON *msg;

	if (!id || h->n_modules > ARRAY_SIZE(h->modules)) {
		errno = EINVAL;
		return NULL;
	}
	msg = message_new("hello", ts_ms);
	if (!msg)
		goto err;
	if (add_string(msg, "agent_version", h->agent_version) < 0 ||
	    add_fixed_string(msg, "hostname", id->hostname, sizeof(id->hostname)) < 0 ||
	    add_fixed_string(msg, "kernel", id->kernel, sizeof(id->kernel)) < 0 ||
	    add_fixed_string(msg, "os", id->os, sizeof(id->os)) < 0 ||
	    add_fixed_string(msg, "boot_id", id->boot_id, sizeof(id->boot_id)) < 0)
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
		if (add_string(msg, "collector", h->collector) < 0)
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

static int add_disk(cJSON *disks, const struct disk_usage *d)
{
	cJSON *o = cJSON_CreateObject();
	char errbuf[128];

	if (!o || !cJSON_AddItemToArray(disks, o)) {
		cJSON_Delete(o);
		return -ENOMEM;
	}
	if (add_fixed_string(o, "mount", d->mount, sizeof(d->mount)) < 0)
		return -ENOMEM;
	if (d->err)
		return add_string(o, "error", strerror_r(-d->err, errbuf, sizeof(errbuf)));
	if (message_add_u64(o, "total", d->total) < 0 ||
	    message_add_u64(o, "available", d->available) < 0)
		return -ENOMEM;
	return 0;
}

cJSON *message_resources(const struct resources_sample *s)
{
	cJSON *disks;
	cJSON *msg;

	if (s->n_disks > RESOURCES_MAX_DISKS) {
		errno = EINVAL;
		return NULL;
	}
	msg = message_new("resources", s->ts_ms);
	if (!msg)
		goto err;
	if (s->cpu_valid) {
		double pct = round(s->cpu_percent * 100.0) / 100.0;

		if (!cJSON_AddNumberToObject(msg, "cpu_percent", pct))
			goto err;
	}
	if (s->ram_valid && (message_add_u64(msg, "ram_total", s->ram_total) < 0 ||
			     message_add_u64(msg, "ram_available", s->ram_available) < 0))
		goto err;
	/* The summary figures are those of the first configured mount. */
	if (s->n_disks > 0 && s->disks[0].err == 0 &&
	    (message_add_u64(msg, "disk_total", s->disks[0].total) < 0 ||
	     message_add_u64(msg, "disk_available", s->disks[0].available) < 0))
		goto err;
	disks = cJSON_AddArrayToObject(msg, "disks");
	if (!disks)
		goto err;
	for (size_t i = 0; i < s->n_disks; i++) {
		if (add_disk(disks, &s->disks[i]) < 0)
			goto err;
	}
	return msg;

err:
	cJSON_Delete(msg);
	errno = ENOMEM;
	return NULL;
}

static int add_iface(cJSON *ifaces, const struct net_iface_sample *is)
{
	cJSON *o = cJSON_CreateObject();

	if (!o || !cJSON_AddItemToArray(ifaces, o)) {
		cJSON_Delete(o);
		return -ENOMEM;
	}
	if (add_fixed_string(o, "name", is->name, sizeof(is->name)) < 0 ||
	    message_add_u64(o, "rx_bytes", is->rx_bytes) < 0 ||
	    message_add_u64(o, "tx_bytes", is->tx_bytes) < 0 ||
	    message_add_u64(o, "rx_packets", is->rx_packets) < 0 ||
	    message_add_u64(o, "tx_packets", is->tx_packets) < 0 ||
	    add_rate(o, "rx_rate", is->rx_rate) < 0 || add_rate(o, "tx_rate", is->tx_rate) < 0 ||
	    !cJSON_AddBoolToObject(o, "in_total", is->in_total))
		return -ENOMEM;
	return 0;
}

cJSON *message_network(const struct net_sample *s)
{
	cJSON *ifaces;
	cJSON *msg;

	if (s->n_ifaces > NET_MAX_IFACES) {
		errno = EINVAL;
		return NULL;
	}
	msg = message_new("network", s->ts_ms);
	if (!msg)
		goto err;
	if (add_rate(msg, "upload_rate", s->upload_rate) < 0 ||
	    add_rate(msg, "download_rate", s->download_rate) < 0 ||
	    message_add_u64(msg, "interval_ms", s->interval_ms) < 0)
		goto err;
	ifaces = cJSON_AddArrayToObject(msg, "interfaces");
	if (!ifaces)
		goto err;
	for (size_t i = 0; i < s->n_ifaces; i++) {
		if (add_iface(ifaces, &s->ifaces[i]) < 0)
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
	msg = message_new("status", ts_ms);
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
		if (!o || add_string(o, "state", m->state) < 0)
			goto err;
		if (m->detail && add_string(o, "detail", m->detail) < 0)
			goto err;
	}
	if (message_add_u64(msg, "events_lost", s->events_lost) < 0 ||
	    message_add_u64(msg, "reconnects", s->reconnects) < 0)
		goto err;
	return msg;

err:
	cJSON_Delete(msg);
	errno = ENOMEM;
	return NULL;
}

char *message_finish(cJSON *msg, const char *host_id, uint64_t seq)
{
	char *out;

	if (!msg || !host_id) {
		errno = EINVAL;
		return NULL;
	}
	/* Idempotent: a message re-sent after a reconnect keeps one host_id and seq. */
	cJSON_DeleteItemFromObjectCaseSensitive(msg, "host_id");
	cJSON_DeleteItemFromObjectCaseSensitive(msg, "seq");
	if (add_string(msg, "host_id", host_id) < 0 || message_add_u64(msg, "seq", seq) < 0) {
		errno = ENOMEM;
		return NULL;
	}
	out = cJSON_PrintUnformatted(msg);
	if (!out)
		errno = ENOMEM;
	return out;
}

uint64_t message_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}
