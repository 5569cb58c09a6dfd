/* Prometheus figures: the registry the modules update, and its OpenMetrics rendering. */
#include "metrics.h"

#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct metrics {
	pthread_mutex_t lock;
	struct metrics_snapshot snap;
};

static int addf(struct sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int addf(struct sbuf *b, const char *fmt, ...)
{
	char line[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(line))
		return -EINVAL;
	return sbuf_add(b, line, (size_t)n);
}

/* One metric family's metadata. unit NULL: none (the name then carries no unit). */
/* OpenMetrics names a counter family without its samples' _total suffix and has UNIT
 * lines; the Prometheus text format (0.0.4) names it with the suffix and has no UNIT. */
static int family(struct sbuf *b, bool om, const char *name, const char *type, const char *unit,
		  const char *help)
{
	const char *suffix = !om && strcmp(type, "counter") == 0 ? "_total" : "";
	int r = addf(b, "# TYPE %s%s %s\n", name, suffix, type);

	if (r == 0 && unit && om)
		r = addf(b, "# UNIT %s %s\n", name, unit);
	if (r == 0)
		r = addf(b, "# HELP %s%s %s\n", name, suffix, help);
	return r;
}

/* Appends a label value with \, " and newline escaped (OpenMetrics ABNF). */
static int add_label_value(struct sbuf *b, const char *v)
{
	int r = 0;

	for (const char *p = v; *p && r == 0; p++) {
		if (*p == '\\')
			r = sbuf_adds(b, "\\\\");
		else if (*p == '"')
			r = sbuf_adds(b, "\\\"");
		else if (*p == '\n')
			r = sbuf_adds(b, "\\n");
		else
			r = sbuf_addc(b, *p);
	}
	return r;
}

/* name{label="value"} or name, then the value. */
static int sample_start(struct sbuf *b, const char *name, const char *label, const char *value)
{
	int r = sbuf_adds(b, name);

	if (r == 0 && label) {
		r = addf(b, "{%s=\"", label);
		if (r == 0)
			r = add_label_value(b, value);
		if (r == 0)
			r = sbuf_adds(b, "\"}");
	}
	return r;
}

static int sample_u64(struct sbuf *b, const char *name, const char *label, const char *value,
		      uint64_t v)
{
	int r = sample_start(b, name, label, value);

	return r ? r : addf(b, " %" PRIu64 "\n", v);
}

static int sample_double(struct sbuf *b, const char *name, const char *label, const char *value,
			 double v)
{
	int r = sample_start(b, name, label, value);

	return r ? r : addf(b, " %.17g\n", v);
}

static int format_resources(const struct resources_sample *s, bool om, struct sbuf *b)
{
	int r = 0;

	if (s->cpu_valid) {
		r = family(b, om, "srvmon_cpu_usage_ratio", "gauge", "ratio",
			   "Busy share of all CPUs over the last resources interval (0..1).");
		if (r == 0)
			r = sample_double(b, "srvmon_cpu_usage_ratio", NULL, NULL,
					  s->cpu_percent / 100.0);
	}
	if (r == 0 && s->ram_valid) {
		r = family(b, om, "srvmon_memory_total_bytes", "gauge", "bytes",
			   "Physical memory (MemTotal).");
		if (r == 0)
			r = sample_u64(b, "srvmon_memory_total_bytes", NULL, NULL, s->ram_total);
		if (r == 0)
			r = family(b, om, "srvmon_memory_available_bytes", "gauge", "bytes",
				   "Memory available without swapping (MemAvailable).");
		if (r == 0)
			r = sample_u64(b, "srvmon_memory_available_bytes", NULL, NULL,
				       s->ram_available);
		if (r == 0)
			r = family(b, om, "srvmon_memory_used_bytes", "gauge", "bytes",
				   "MemTotal - MemAvailable.");
		if (r == 0)
			r = sample_u64(b, "srvmon_memory_used_bytes", NULL, NULL,
				       s->ram_total > s->ram_available
					       ? s->ram_total - s->ram_available
					       : 0);
	}
	if (r == 0 && s->n_disks > 0) {
		r = family(b, om, "srvmon_filesystem_size_bytes", "gauge", "bytes",
			   "Size of the file system of each configured mount point.");
		for (size_t i = 0; i < s->n_disks && r == 0; i++) {
			if (s->disks[i].err == 0)
				r = sample_u64(b, "srvmon_filesystem_size_bytes", "mountpoint",
					       s->disks[i].mount, s->disks[i].total);
		}
		if (r == 0)
			r = family(b, om, "srvmon_filesystem_avail_bytes", "gauge", "bytes",
				   "Space available to unprivileged users, as df shows.");
		for (size_t i = 0; i < s->n_disks && r == 0; i++) {
			if (s->disks[i].err == 0)
				r = sample_u64(b, "srvmon_filesystem_avail_bytes", "mountpoint",
					       s->disks[i].mount, s->disks[i].available);
		}
	}
	return r;
}

/* The per-interface figures: which field, as what. */
struct if_metric {
	const char *name;
	const char *type;
	const char *sample; /* name of the sample line (counters: name + "_total") */
	const char *unit;
	const char *help;
	size_t u64_off; /* offset of a uint64_t field, or SIZE_MAX */
	size_t dbl_off; /* offset of a double field in bits/s, or SIZE_MAX */
	bool peak;	/* only with the BPF collector's peak windows */
};

#define IF_U64(f) offsetof(struct net_iface_sample, f), SIZE_MAX
#define IF_DBL(f) SIZE_MAX, offsetof(struct net_iface_sample, f)

static const struct if_metric if_metrics[] = {
	{"srvmon_network_receive_bytes", "counter", "srvmon_network_receive_bytes_total", "bytes",
	 "Bytes received by the interface since the agent started.", IF_U64(rx_bytes), false},
	{"srvmon_network_transmit_bytes", "counter", "srvmon_network_transmit_bytes_total", "bytes",
	 "Bytes transmitted by the interface since the agent started.", IF_U64(tx_bytes), false},
	{"srvmon_network_receive_packets", "counter", "srvmon_network_receive_packets_total", NULL,
	 "Packets received by the interface since the agent started.", IF_U64(rx_packets), false},
	{"srvmon_network_transmit_packets", "counter", "srvmon_network_transmit_packets_total",
	 NULL, "Packets transmitted by the interface since the agent started.", IF_U64(tx_packets),
	 false},
	{"srvmon_network_receive_rate_bytes_per_second", "gauge",
	 "srvmon_network_receive_rate_bytes_per_second", "bytes_per_second",
	 "Receive rate over the last network interval.", IF_DBL(rx_rate), false},
	{"srvmon_network_transmit_rate_bytes_per_second", "gauge",
	 "srvmon_network_transmit_rate_bytes_per_second", "bytes_per_second",
	 "Transmit rate over the last network interval.", IF_DBL(tx_rate), false},
	{"srvmon_network_receive_peak_bytes_per_second", "gauge",
	 "srvmon_network_receive_peak_bytes_per_second", "bytes_per_second",
	 "Highest receive rate of one peak window in the last network interval.",
	 IF_DBL(rx_peak_rate), true},
	{"srvmon_network_transmit_peak_bytes_per_second", "gauge",
	 "srvmon_network_transmit_peak_bytes_per_second", "bytes_per_second",
	 "Highest transmit rate of one peak window in the last network interval.",
	 IF_DBL(tx_peak_rate), true},
};

static int format_network(const struct net_sample *s, bool om, struct sbuf *b)
{
	int r = 0;

	for (size_t m = 0; m < sizeof(if_metrics) / sizeof(if_metrics[0]) && r == 0; m++) {
		const struct if_metric *im = &if_metrics[m];

		if (im->peak && s->peak_window_ms == 0)
			continue;
		r = family(b, om, im->name, im->type, im->unit, im->help);
		for (size_t i = 0; i < s->n_ifaces && r == 0; i++) {
			const char *base = (const char *)&s->ifaces[i];

			if (im->u64_off != SIZE_MAX) {
				uint64_t v;

				memcpy(&v, base + im->u64_off, sizeof(v));
				r = sample_u64(b, im->sample, "interface", s->ifaces[i].name, v);
			} else {
				double v;

				memcpy(&v, base + im->dbl_off, sizeof(v));
				r = sample_double(b, im->sample, "interface", s->ifaces[i].name,
						  v / 8.0);
			}
		}
	}
	return r;
}

static int format_speedtest(const struct speedtest_result *s, bool om, struct sbuf *b)
{
	int r;

	r = family(b, om, "srvmon_speedtest_download_bytes_per_second", "gauge", "bytes_per_second",
		   "Payload download rate of the last successful speed test.");
	if (r == 0)
		r = sample_double(b, "srvmon_speedtest_download_bytes_per_second", "server",
				  s->server, s->download_rate / 8.0);
	if (r == 0)
		r = family(b, om, "srvmon_speedtest_upload_bytes_per_second", "gauge",
			   "bytes_per_second",
			   "Payload upload rate of the last successful speed test.");
	if (r == 0)
		r = sample_double(b, "srvmon_speedtest_upload_bytes_per_second", "server",
				  s->server, s->upload_rate / 8.0);
	if (r == 0)
		r = family(b, om, "srvmon_speedtest_latency_seconds", "gauge", "seconds",
			   "Round-trip latency measured by the last successful speed test.");
	if (r == 0)
		r = sample_double(b, "srvmon_speedtest_latency_seconds", "server", s->server,
				  s->latency_ms / 1000.0);
	if (r == 0)
		r = family(b, om, "srvmon_speedtest_timestamp_seconds", "gauge", "seconds",
			   "Unix time the last successful speed test started.");
	if (r == 0)
		r = sample_double(b, "srvmon_speedtest_timestamp_seconds", "server", s->server,
				  (double)s->ts_ms / 1000.0);
	return r;
}

static int format_agent(const struct metrics_agent *a, bool om, struct sbuf *b)
{
	int r;

	r = family(
		b, om, "srvmon_events_lost", "counter", NULL,
		"Records lost: dropped from a full queue or spool, or execs lost in the kernel.");
	if (r == 0)
		r = sample_u64(b, "srvmon_events_lost_total", NULL, NULL, a->events_lost);
	if (r == 0)
		r = family(b, om, "srvmon_spool_bytes", "gauge", "bytes",
			   "Size of the on-disk spool of undelivered records.");
	if (r == 0)
		r = sample_u64(b, "srvmon_spool_bytes", NULL, NULL, a->spool_bytes);
	if (r == 0)
		r = family(b, om, "srvmon_reconnects", "counter", NULL,
			   "Connections to the monitoring server after the first one.");
	if (r == 0)
		r = sample_u64(b, "srvmon_reconnects_total", NULL, NULL, a->reconnects);
	if (r == 0)
		r = family(b, om, "srvmon_module_up", "gauge", NULL,
			   "1 when the module runs, 0 when it is disabled or failed.");
	for (size_t i = 0; i < a->n_modules && i < AGENT_MODULES_MAX && r == 0; i++)
		r = sample_u64(b, "srvmon_module_up", "module", a->modules[i].name,
			       a->modules[i].up ? 1 : 0);
	return r;
}

int metrics_format(const struct metrics_snapshot *s, enum metrics_format_kind kind,
		   struct sbuf *out)
{
	bool om = kind == METRICS_OPENMETRICS;
	int r = 0;

	if (s->have_resources)
		r = format_resources(&s->resources, om, out);
	if (r == 0 && s->have_network)
		r = format_network(&s->network, om, out);
	if (r == 0 && s->have_speedtest)
		r = format_speedtest(&s->speedtest, om, out);
	if (r == 0 && s->have_agent)
		r = format_agent(&s->agent, om, out);
	if (r == 0 && om)
		r = sbuf_adds(out, "# EOF\n");
	return r;
}

struct metrics *metrics_new(void)
{
	struct metrics *m = calloc(1, sizeof(*m));

	if (!m)
		return NULL;
	pthread_mutex_init(&m->lock, NULL);
	return m;
}

void metrics_set_resources(struct metrics *m, const struct resources_sample *s)
{
	if (!m)
		return;
	pthread_mutex_lock(&m->lock);
	m->snap.resources = *s;
	m->snap.have_resources = true;
	pthread_mutex_unlock(&m->lock);
}

void metrics_set_network(struct metrics *m, const struct net_sample *s)
{
	if (!m)
		return;
	pthread_mutex_lock(&m->lock);
	m->snap.network = *s;
	m->snap.have_network = true;
	pthread_mutex_unlock(&m->lock);
}

void metrics_set_speedtest(struct metrics *m, const struct speedtest_result *r)
{
	if (!m || r->error[0])
		return;
	pthread_mutex_lock(&m->lock);
	m->snap.speedtest = *r;
	/* Its stop reasons point at static strings; not rendered, not kept. */
	m->snap.speedtest.stop_down = NULL;
	m->snap.speedtest.stop_up = NULL;
	m->snap.have_speedtest = true;
	pthread_mutex_unlock(&m->lock);
}

void metrics_set_agent(struct metrics *m, const struct metrics_agent *a)
{
	if (!m)
		return;
	pthread_mutex_lock(&m->lock);
	m->snap.agent = *a;
	m->snap.have_agent = true;
	pthread_mutex_unlock(&m->lock);
}

int metrics_render(struct metrics *m, enum metrics_format_kind kind, struct sbuf *out)
{
	struct metrics_snapshot *copy;
	int r;

	/* Format outside the lock: the modules' threads must not wait for a scrape. */
	copy = malloc(sizeof(*copy));
	if (!copy)
		return -ENOMEM;
	pthread_mutex_lock(&m->lock);
	*copy = m->snap;
	pthread_mutex_unlock(&m->lock);
	r = metrics_format(copy, kind, out);
	free(copy);
	return r;
}

void metrics_free(struct metrics *m)
{
	if (!m)
		return;
	pthread_mutex_destroy(&m->lock);
	free(m);
}
