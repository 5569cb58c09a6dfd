/* The resources module's Prometheus families. */
#ifndef SRVMON_RESOURCES_METRICS_H
#define SRVMON_RESOURCES_METRICS_H

#include "metrics.h"

/* Renders a struct resources_sample (the module's last sample). */
extern const struct metrics_source resources_metrics;

#endif
