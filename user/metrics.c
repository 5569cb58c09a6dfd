/* Prometheus figures: the registry the modules update, and its OpenMetrics rendering. */
#include "metrics.h"

#include "openmetrics.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct metrics_slot {
	const struct metrics_source *src;
	void *sample; /* the last one set, NULL before */
	size_t size;
};

struct metrics {
	pthread_mutex_t lock;
	size_t n;
	struct metrics_slot slots[METRICS_MAX_SOURCES];
	bool have_agent;
	struct metrics_agent agent;
};

static int format_agent(const struct metrics_agent *a, bool om, struct sbuf *b)
{
	int r;

	r = om_family(
		b, om, "srvmon_events_lost", "counter", NULL,
		"Records lost: dropped from a full queue or spool, or execs lost in the kernel.");
	if (r == 0)
		r = om_sample_u64(b, "srvmon_events_lost_total", NULL, NULL, a->events_lost);
	if (r == 0)
		r = om_family(b, om, "srvmon_spool_bytes", "gauge", "bytes",
			      "Size of the on-disk spool of undelivered records.");
	if (r == 0)
		r = om_sample_u64(b, "srvmon_spool_bytes", NULL, NULL, a->spool_bytes);
	if (r == 0)
		r = om_family(b, om, "srvmon_reconnects", "counter", NULL,
			      "Connections to the monitoring server after the first one.");
	if (r == 0)
		r = om_sample_u64(b, "srvmon_reconnects_total", NULL, NULL, a->reconnects);
	if (r == 0)
		r = om_family(b, om, "srvmon_module_up", "gauge", NULL,
			      "1 when the module runs, 0 when it is disabled or failed.");
	for (size_t i = 0; i < a->n_modules && i < AGENT_MODULES_MAX && r == 0; i++)
		r = om_sample_u64(b, "srvmon_module_up", "module", a->modules[i].name,
				  a->modules[i].up ? 1 : 0);
	return r;
}

int metrics_format(const struct metrics_snapshot *s, enum metrics_format_kind kind,
		   struct sbuf *out)
{
	bool om = kind == METRICS_OPENMETRICS;
	int r = 0;

	for (size_t i = 0; i < s->n && r == 0; i++) {
		if (s->entries[i].sample)
			r = s->entries[i].src->format(s->entries[i].sample, om, out);
	}
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

int metrics_add_source(struct metrics *m, const struct metrics_source *src)
{
	if (m->n == METRICS_MAX_SOURCES)
		return -ENOSPC;
	m->slots[m->n++] = (struct metrics_slot){.src = src};
	return 0;
}

void metrics_set(struct metrics *m, const struct metrics_source *src, const void *sample,
		 size_t size)
{
	struct metrics_slot *slot = NULL;

	if (!m)
		return;
	pthread_mutex_lock(&m->lock);
	for (size_t i = 0; i < m->n; i++) {
		if (m->slots[i].src == src)
			slot = &m->slots[i];
	}
	if (slot && !slot->sample) {
		slot->sample = malloc(size);
		slot->size = slot->sample ? size : 0;
	}
	/* Out of memory, or a source not added: these figures stay absent from /metrics. */
	if (slot && slot->sample && slot->size == size)
		memcpy(slot->sample, sample, size);
	pthread_mutex_unlock(&m->lock);
}

void metrics_set_agent(struct metrics *m, const struct metrics_agent *a)
{
	if (!m)
		return;
	pthread_mutex_lock(&m->lock);
	m->agent = *a;
	m->have_agent = true;
	pthread_mutex_unlock(&m->lock);
}

static void snapshot_free(struct metrics_snapshot *s)
{
	for (size_t i = 0; i < s->n; i++)
		free((void *)s->entries[i].sample);
	free(s);
}

int metrics_render(struct metrics *m, enum metrics_format_kind kind, struct sbuf *out)
{
	struct metrics_snapshot *copy;
	int r = 0;

	/* Format outside the lock: the modules' threads must not wait for a scrape. */
	copy = calloc(1, sizeof(*copy));
	if (!copy)
		return -ENOMEM;
	pthread_mutex_lock(&m->lock);
	for (size_t i = 0; i < m->n && r == 0; i++) {
		void *sample = NULL;

		if (m->slots[i].sample) {
			sample = malloc(m->slots[i].size);
			if (sample)
				memcpy(sample, m->slots[i].sample, m->slots[i].size);
			else
				r = -ENOMEM;
		}
		copy->entries[copy->n++] =
			(struct metrics_entry){.src = m->slots[i].src, .sample = sample};
	}
	copy->have_agent = m->have_agent;
	copy->agent = m->agent;
	pthread_mutex_unlock(&m->lock);
	if (r == 0)
		r = metrics_format(copy, kind, out);
	snapshot_free(copy);
	return r;
}

void metrics_free(struct metrics *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->n; i++)
		free(m->slots[i].sample);
	pthread_mutex_destroy(&m->lock);
	free(m);
}
