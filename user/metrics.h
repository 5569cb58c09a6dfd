/*
 * The Prometheus figures: a small thread-safe registry the modules update with their
 * latest samples, and the OpenMetrics text rendering of it (user/metrics_http.c serves it).
 */
#ifndef SRVMON_METRICS_H
#define SRVMON_METRICS_H

#include "sbuf.h"
#include "module.h"
#include "network.h"
#include "resources.h"
#include "speedtest.h"

#include <stdbool.h>
#include <stdint.h>

/* The agent's own figures. */
struct metrics_agent {
	uint64_t events_lost; /* records dropped by the agent + execs lost in the kernel */
	uint64_t spool_bytes;
	uint64_t reconnects;
	size_t n_modules;
	struct {
		const char *name; /* static string */
		bool up;
	} modules[AGENT_MODULES_MAX];
};

/* Everything rendered in one scrape. */
struct metrics_snapshot {
	bool have_resources;
	struct resources_sample resources;
	bool have_network;
	struct net_sample network;
	bool have_speedtest;
	struct speedtest_result speedtest;
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

/* NULL + errno (ENOMEM). Every setter below accepts m == NULL and does nothing. */
struct metrics *metrics_new(void);
void metrics_set_resources(struct metrics *m, const struct resources_sample *s);
void metrics_set_network(struct metrics *m, const struct net_sample *s);
/* A failed test (r->error set) keeps the last good figures. */
void metrics_set_speedtest(struct metrics *m, const struct speedtest_result *r);
void metrics_set_agent(struct metrics *m, const struct metrics_agent *a);
/* Renders the current figures into out. 0 or -ENOMEM. */
int metrics_render(struct metrics *m, enum metrics_format_kind kind, struct sbuf *out);
void metrics_free(struct metrics *m);

#endif
