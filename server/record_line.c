#include "record_line.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

struct out {
	char *buf;
	size_t size;
	size_t len;
};

static void out_printf(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void out_printf(struct out *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (o->len + 1 >= o->size)
		return;
	va_start(ap, fmt);
	n = vsnprintf(o->buf + o->len, o->size - o->len, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	o->len += (size_t)n;
	if (o->len >= o->size)
		o->len = o->size - 1;
}

/* Appends s with control characters and spaces (which would split fields) replaced. */
static void out_clean(struct out *o, const char *s, size_t max)
{
	for (size_t i = 0; s[i] && i < max && o->len + 1 < o->size; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x20 || c == 0x7f)
			o->buf[o->len++] = '?';
		else
			o->buf[o->len++] = s[i];
	}
	o->buf[o->len] = '\0';
}

static bool get_num(const cJSON *root, const char *name, double *ret)
{
	const cJSON *item = cJSON_GetObjectItemCaseSensitive(root, name);

	if (!cJSON_IsNumber(item))
		return false;
	*ret = item->valuedouble;
	return true;
}

static const char *get_str(const cJSON *root, const char *name)
{
	const cJSON *item = cJSON_GetObjectItemCaseSensitive(root, name);

	return cJSON_IsString(item) ? item->valuestring : NULL;
}

void record_line_rate(double bits, char *buf, size_t size)
{
	if (bits >= 1e9)
		(void)snprintf(buf, size, "%.1f Gbit/s", bits / 1e9);
	else if (bits >= 1e6)
		(void)snprintf(buf, size, "%.1f Mbit/s", bits / 1e6);
	else if (bits >= 1e3)
		(void)snprintf(buf, size, "%.0f kbit/s", bits / 1e3);
	else
		(void)snprintf(buf, size, "%.0f bit/s", bits < 0 ? 0 : bits);
}

static void format_used(struct out *o, const char *label, const cJSON *root, const char *total,
			const char *avail)
{
	const double gib = 1024.0 * 1024.0 * 1024.0;
	double t, a;

	if (!get_num(root, total, &t) || !get_num(root, avail, &a))
		return;
	out_printf(o, " %s=%.1f/%.1f GiB", label, (t - a) / gib, t / gib);
}

static void format_resources(struct out *o, const cJSON *root)
{
	double cpu;

	if (get_num(root, "cpu_percent", &cpu))
		out_printf(o, " cpu=%.1f%%", cpu);
	format_used(o, "ram", root, "ram_total", "ram_available");
	format_used(o, "disk", root, "disk_total", "disk_available");
}

static void format_network(struct out *o, const cJSON *root)
{
	const cJSON *ifaces = cJSON_GetObjectItemCaseSensitive(root, "interfaces");
	const cJSON *it;
	char rate[32];
	double v;
	bool first = true;

	if (get_num(root, "upload_rate", &v)) {
		record_line_rate(v, rate, sizeof(rate));
		out_printf(o, " up=%s", rate);
	}
	if (get_num(root, "download_rate", &v)) {
		record_line_rate(v, rate, sizeof(rate));
		out_printf(o, " down=%s", rate);
	}
	cJSON_ArrayForEach(it, ifaces)
	{
		const char *name = get_str(it, "name");

		if (!name || !cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(it, "in_total")))
			continue;
		out_printf(o, first ? " (" : ", ");
		out_clean(o, name, 32);
		first = false;
	}
	if (!first)
		out_printf(o, ")");
}

static void format_hello(struct out *o, const cJSON *root)
{
	static const char *const keys[] = {"hostname", "kernel", "agent_version", "collector"};

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		const char *v = get_str(root, keys[i]);

		if (!v)
			continue;
		out_printf(o, " %s=", keys[i]);
		out_clean(o, v, 64);
	}
}

static void format_status(struct out *o, const cJSON *root)
{
	const cJSON *modules = cJSON_GetObjectItemCaseSensitive(root, "modules");
	const cJSON *m;
	double v;

	cJSON_ArrayForEach(m, modules)
	{
		const char *state = get_str(m, "state");

		if (!m->string || !state)
			continue;
		out_printf(o, " ");
		out_clean(o, m->string, 32);
		out_printf(o, "=");
		out_clean(o, state, 32);
	}
	if (get_num(root, "events_lost", &v))
		out_printf(o, " lost=%.0f", v);
	if (get_num(root, "reconnects", &v))
		out_printf(o, " reconnects=%.0f", v);
}

/* An argument as a shell word: bare when it is plain, else in single quotes. */
static void out_word(struct out *o, const char *s)
{
	bool plain = *s != '\0';

	for (const char *p = s; *p; p++) {
		if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./"
			    "=:,+@%",
			    *p)) {
			plain = false;
			break;
		}
	}
	if (plain) {
		out_clean(o, s, 256);
		return;
	}
	out_printf(o, "'");
	for (const char *p = s; *p && p - s < 256; p++) {
		if (*p == '\'')
			out_printf(o, "'\\''");
		else
			out_clean(o, (const char[]){*p, '\0'}, 1);
	}
	out_printf(o, "'");
}

static void format_exec(struct out *o, const cJSON *root)
{
	static const char *const keys[] = {"user", "tty", "cwd"};
	const cJSON *argv = cJSON_GetObjectItemCaseSensitive(root, "argv");
	const cJSON *arg;
	double ret;
	int n = 0;

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		const char *v = get_str(root, keys[i]);

		if (v && *v) {
			out_printf(o, " %s=", keys[i]);
			out_clean(o, v, 64);
		}
	}
	if (get_num(root, "ret", &ret) && ret != 0)
		out_printf(o, " ret=%.0f", ret);
	out_printf(o, ":");
	cJSON_ArrayForEach(arg, argv)
	{
		if (!cJSON_IsString(arg))
			continue;
		if (n++ == 16) {
			out_printf(o, " \xe2\x80\xa6");
			break;
		}
		out_printf(o, " ");
		out_word(o, arg->valuestring);
	}
}

static void format_speedtest(struct out *o, const cJSON *root)
{
	const char *err = get_str(root, "error");
	char rate[32];
	double v;

	if (err) {
		out_printf(o, " error=");
		out_clean(o, err, 128);
		return;
	}
	if (get_num(root, "download_rate", &v)) {
		record_line_rate(v, rate, sizeof(rate));
		out_printf(o, " down=%s", rate);
	}
	if (get_num(root, "upload_rate", &v)) {
		record_line_rate(v, rate, sizeof(rate));
		out_printf(o, " up=%s", rate);
	}
	if (get_num(root, "latency_ms", &v))
		out_printf(o, " latency=%.1fms", v);
	if (get_num(root, "duration_ms", &v))
		out_printf(o, " in %.1fs", v / 1000.0);
}

size_t record_line_format(const cJSON *root, const char *type, const char *host_id, uint64_t seq,
			  uint64_t received_ms, char *buf, size_t size)
{
	struct out o = {.buf = buf, .size = size, .len = 0};
	time_t secs = (time_t)(received_ms / 1000);
	struct tm tm;
	char when[16] = "??:??:??";

	if (size == 0)
		return 0;
	buf[0] = '\0';
	if (localtime_r(&secs, &tm))
		(void)strftime(when, sizeof(when), "%H:%M:%S", &tm);
	out_printf(&o, "%s host=", when);
	out_clean(&o, host_id, 8);
	if (strlen(host_id) > 8)
		out_printf(&o, "\xe2\x80\xa6");
	out_printf(&o, " %s seq=%" PRIu64, type, seq);
	if (strcmp(type, "resources") == 0)
		format_resources(&o, root);
	else if (strcmp(type, "network") == 0)
		format_network(&o, root);
	else if (strcmp(type, "hello") == 0)
		format_hello(&o, root);
	else if (strcmp(type, "status") == 0)
		format_status(&o, root);
	else if (strcmp(type, "exec") == 0)
		format_exec(&o, root);
	else if (strcmp(type, "speedtest") == 0)
		format_speedtest(&o, root);
	else
		out_printf(&o, " members=%d", cJSON_GetArraySize(root));
	return o.len;
}
