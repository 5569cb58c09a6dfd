#include "metric.h"

#include <string.h>

static const struct metric_def metrics[] = {
	{1, "cpu_percent", "resources", "percent"},  {2, "ram_total", "resources", "bytes"},
	{3, "ram_available", "resources", "bytes"},  {4, "disk_total", "resources", "bytes"},
	{5, "disk_available", "resources", "bytes"}, {6, "upload_rate", "network", "bits/s"},
	{7, "download_rate", "network", "bits/s"},   {8, "rx_peak_rate", "network", "bits/s"},
	{9, "tx_peak_rate", "network", "bits/s"},
};

#define N_METRICS (sizeof(metrics) / sizeof(metrics[0]))

const struct metric_def *metric_by_name(const char *name)
{
	for (size_t i = 0; i < N_METRICS; i++) {
		if (strcmp(metrics[i].name, name) == 0)
			return &metrics[i];
	}
	return NULL;
}

const struct metric_def *metric_by_id(int id)
{
	for (size_t i = 0; i < N_METRICS; i++) {
		if (metrics[i].id == id)
			return &metrics[i];
	}
	return NULL;
}

size_t metric_count(void)
{
	return N_METRICS;
}

const struct metric_def *metric_at(size_t i)
{
	return i < N_METRICS ? &metrics[i] : NULL;
}
