/* The speedtest module's Prometheus families. */
#ifndef SRVMON_SPEEDTEST_METRICS_H
#define SRVMON_SPEEDTEST_METRICS_H

#include "metrics.h"

/* Renders a struct speedtest_result (the module's last sample). */
extern const struct metrics_source speedtest_metrics;

#endif
