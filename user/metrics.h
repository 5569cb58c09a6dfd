/*
 * The Prometheus figures: a small thread-safe registry the modules update with their
 * latest samples, and the OpenMetrics text rendering of it (user/metrics_http.c serves it).
 * Each module renders its own families (modules/<name>/<name>_metrics.c); the registry
 * keeps a copy of each module's last sample and the agent's own figures.
 */
#ifndef SRVMON_METRICS_H
#define SRVMON_METRICS_H

#include "module.h"
#include "sbuf.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The agent's own figures. */
struct metrics_agent {
	uint64_t events_lost; /* records dropped by the agent + what modules lost */
	uint64_t spool_bytes;
	uint64_t reconnects;
	size_t n_modules;
	struct {
		const char *name; /* static string */
		bool up;
	} modules[AGENT_MODULES_MAX];
};

/* A module's families: format renders one of its samples (its own struct). */
struct metrics_source {
	const char *name;
	int (*format)(const void *sample, bool om, struct sbuf *out);
};

#define METRICS_MAX_SOURCES AGENT_MODULES_MAX

/* Everything rendered in one scrape: each source's sample (NULL: none yet), in order. */
struct metrics_entry {
	const struct metrics_source *src;
	const void *sample;
};

struct metrics_snapshot {
	size_t n;
	struct metrics_entry entries[METRICS_MAX_SOURCES];
	bool have_agent;
	struct metrics_agent agent;
};

enum metrics_format_kind {
	METRICS_OPENMETRICS, /* application/openmetrics-text 1.0.0: UNIT lines, "# EOF" last */
	METRICS_TEXT,	     /* text/plain 0.0.4, for clients that do not ask for OpenMetrics */
};

/* Pure: appends the exposition of s with TYPE/HELP (and UNIT) lines. 0 or -ENOMEM. */
int metrics_format(const struct metrics_snapshot *s, enum metrics_format_kind kind,
		   struct sbuf *out);

struct metrics;

/* NULL + errno (ENOMEM). */
struct metrics *metrics_new(void);
/* Adds a module's families, rendered in the order added (main: the module table's).
 * 0, or -ENOSPC past METRICS_MAX_SOURCES. */
int metrics_add_source(struct metrics *m, const struct metrics_source *src);
/* Keeps a copy of sample (size bytes, the same for every call of one source) as src's
 * latest. Accepts m == NULL (metrics off) and does nothing; so does a source not added. */
void metrics_set(struct metrics *m, const struct metrics_source *src, const void *sample,
		 size_t size);
void metrics_set_agent(struct metrics *m, const struct metrics_agent *a);
/* Renders the current figures into out. 0 or -ENOMEM. */
int metrics_render(struct metrics *m, enum metrics_format_kind kind, struct sbuf *out);
void metrics_free(struct metrics *m);

#endif
