/* The network module's Prometheus families. */
#ifndef SRVMON_NETWORK_METRICS_H
#define SRVMON_NETWORK_METRICS_H

#include "metrics.h"

/* Renders a struct net_sample (the module's last sample). */
extern const struct metrics_source network_metrics;

#endif
