#include "message.h"

#include "exec_record.h"
#include "exec_text.h"
#include "identity.h"
#include "json_out.h"
#include "network.h"
#include "resources.h"
#include "speedtest.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

int message_add_u64(cJSON *obj, const char *name, uint64_t v)
{
	char buf[24];

	/* A raw member: cJSON numbers are doubles and lose precision above 2^53. */
	(void)snprintf(buf, sizeof(buf), "%" PRIu64, v);
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

static int add_iface(cJSON *ifaces, const struct net_iface_sample *is, bool peaks)
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
	if (peaks && (add_rate(o, "rx_peak_rate", is->rx_peak_rate) < 0 ||
		      add_rate(o, "tx_peak_rate", is->tx_peak_rate) < 0))
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
	/* Peaks come from the in-kernel windows only (BPF collector). */
	if (s->peak_window_ms && (add_rate(msg, "rx_peak_rate", s->rx_peak_rate) < 0 ||
				  add_rate(msg, "tx_peak_rate", s->tx_peak_rate) < 0 ||
				  message_add_u64(msg, "peak_window_ms", s->peak_window_ms) < 0))
		goto err;
	ifaces = cJSON_AddArrayToObject(msg, "interfaces");
	if (!ifaces)
		goto err;
	for (size_t i = 0; i < s->n_ifaces; i++) {
		if (add_iface(ifaces, &s->ifaces[i], s->peak_window_ms != 0) < 0)
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
	    message_add_u64(msg, "reconnects", s->reconnects) < 0 ||
	    message_add_u64(msg, "spool_dropped", s->spool_dropped) < 0)
		goto err;
	return msg;

err:
	cJSON_Delete(msg);
	errno = ENOMEM;
	return NULL;
}

/* Milliseconds with two decimals, as cpu_percent. */
static int add_ms(cJSON *obj, const char *name, double ms)
{
	if (!isfinite(ms) || ms < 0)
		ms = 0;
	if (!cJSON_AddNumberToObject(obj, name, round(ms * 100.0) / 100.0))
		return -ENOMEM;
	return 0;
}

cJSON *message_speedtest(const struct speedtest_result *r)
{
	cJSON *msg = message_new("speedtest", r->ts_ms);

	if (!msg)
		goto err;
	if (add_fixed_string(msg, "server", r->server, sizeof(r->server)) < 0 ||
	    message_add_u64(msg, "duration_ms", r->duration_ms) < 0 ||
	    message_add_u64(msg, "streams", r->streams) < 0 ||
	    message_add_u64(msg, "bytes_down", r->bytes_down) < 0 ||
	    message_add_u64(msg, "bytes_up", r->bytes_up) < 0)
		goto err;
	if (r->host_valid && (message_add_u64(msg, "host_rx_bytes", r->host_rx_bytes) < 0 ||
			      message_add_u64(msg, "host_tx_bytes", r->host_tx_bytes) < 0))
		goto err;
	if (r->error[0]) {
		if (add_fixed_string(msg, "error", r->error, sizeof(r->error)) < 0)
			goto err;
		return msg;
	}
	if (add_rate(msg, "download_rate", r->download_rate) < 0 ||
	    add_rate(msg, "upload_rate", r->upload_rate) < 0 ||
	    add_ms(msg, "latency_ms", r->latency_ms) < 0 ||
	    add_ms(msg, "jitter_ms", r->jitter_ms) < 0 ||
	    add_string(msg, "stop_down", r->stop_down) < 0 ||
	    add_string(msg, "stop_up", r->stop_up) < 0 ||
	    !cJSON_AddBoolToObject(msg, "capped", r->capped))
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

/* ,"name": from a string literal, in one copy. */
#define add_key(b, name) sbuf_add((b), ",\"" name "\":", sizeof(",\"" name "\":") - 1)

#define add_u64(b, name, v) (add_key(b, name) ? -ENOMEM : json_add_u64((b), (v)))

/* An id that is -1 when unset (0xffffffff in the kernel). */
static int64_t id_value(uint32_t v)
{
	return v == 0xffffffffu ? -1 : (int64_t)v;
}
#define add_id(b, name, v) (add_key(b, name) ? -ENOMEM : json_add_i64((b), id_value(v)))

/* A string member from bytes that may not be UTF-8 (repaired with U+FFFD). */
#define add_text(b, name, s, n) (add_key(b, name) ? -ENOMEM : json_add_text((b), (s), (n)))

static int add_b64(struct sbuf *b, const char *s, size_t n)
{
	int r = sbuf_addc(b, '"');

	if (r == 0)
		r = base64_add(b, s, n);
	return r ? r : sbuf_addc(b, '"');
}

/* argv as strings; when one is not UTF-8, argv_b64 carries every argument's exact bytes. */
static int add_argv(struct sbuf *b, const struct exec_event *e)
{
	const char *a;
	size_t off = 0, n;
	bool exact = true;
	size_t i = 0;
	int r;

	r = add_key(b, "argv");
	if (r == 0)
		r = sbuf_addc(b, '[');
	while (r == 0 && exec_event_next_arg(e, &off, &a, &n)) {
		bool valid = utf8_valid(a, n);

		if (i++ > 0)
			r = sbuf_addc(b, ',');
		exact = exact && valid;
		if (r == 0)
			r = valid ? json_add_str(b, a, n) : json_add_repaired(b, a, n);
	}
	if (r == 0)
		r = sbuf_addc(b, ']');
	if (r || exact)
		return r;
	r = add_key(b, "argv_b64");
	if (r == 0)
		r = sbuf_addc(b, '[');
	off = 0;
	i = 0;
	while (r == 0 && exec_event_next_arg(e, &off, &a, &n)) {
		if (i++ > 0)
			r = sbuf_addc(b, ',');
		if (r == 0)
			r = add_b64(b, a, n);
	}
	return r ? r : sbuf_addc(b, ']');
}

int message_exec_json(const struct exec_event *e, struct sbuf *b)
{
	size_t start = b->len;
	int r;

	/* Members in the order message_finish() would print them, host_id and seq last. */
	r = sbuf_adds(b, "{\"type\":\"exec\"");
	r = r ? r : add_u64(b, "ts", e->ts_ms);
	r = r ? r : add_u64(b, "mono_ns", e->mono_ns);
	r = r ? r : add_u64(b, "pid", e->pid);
	r = r ? r : add_u64(b, "ppid", e->ppid);
	r = r ? r : add_u64(b, "tid", e->tid);
	r = r ? r : add_u64(b, "uid", e->uid);
	r = r ? r : add_u64(b, "gid", e->gid);
	r = r ? r : add_u64(b, "euid", e->euid);
	r = r ? r : add_text(b, "user", e->user ? e->user : "", e->user ? strlen(e->user) : 0);
	r = r ? r : add_id(b, "auid", e->auid);
	r = r ? r : add_id(b, "sessionid", e->sessionid);
	r = r ? r : add_text(b, "tty", e->tty, strlen(e->tty));
	r = r ? r : add_text(b, "cwd", e->cwd, strlen(e->cwd));
	r = r ? r : add_text(b, "filename", e->filename, e->filename_len);
	if (r == 0 && !utf8_valid(e->filename, e->filename_len)) {
		r = add_key(b, "filename_b64");
		r = r ? r : add_b64(b, e->filename, e->filename_len);
	}
	r = r ? r : add_text(b, "comm", e->comm, strlen(e->comm));
	r = r ? r : add_u64(b, "cgroup_id", e->cgroup_id);
	r = r ? r : add_text(b, "cgroup", e->cgroup, strlen(e->cgroup));
	r = r ? r : add_text(b, "container_id", e->container_id, strlen(e->container_id));
	r = r ? r : add_argv(b, e);
	r = r ? r : add_key(b, "argv_truncated");
	r = r ? r : sbuf_adds(b, e->argv_truncated ? "true" : "false");
	r = r ? r : add_u64(b, "argv_size", e->argv_total);
	r = r ? r : add_key(b, "ret");
	r = r ? r : json_add_i64(b, e->ret);
	r = r ? r : sbuf_addc(b, '}');
	if (r) {
		b->len = start; /* nothing half-written stays behind */
		if (b->s)
			b->s[start] = '\0';
	}
	return r;
}

cJSON *message_exec(const struct exec_event *e)
{
	struct sbuf b = {0};
	cJSON *msg = NULL;

	if (message_exec_json(e, &b) == 0)
		msg = cJSON_Parse(b.s);
	sbuf_free(&b);
	if (!msg)
		errno = ENOMEM;
	return msg;
}
