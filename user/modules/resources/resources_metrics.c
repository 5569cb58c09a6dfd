/* The resources module's Prometheus families. */
#include "resources_metrics.h"

#include "resources.h"
#include "openmetrics.h"

#include <stddef.h>
#include <string.h>

static int format_resources(const void *sample, bool om, struct sbuf *b)
{
	const struct resources_sample *s = sample;
	int r = 0;

	if (s->cpu_valid) {
		r = om_family(b, om, "srvmon_cpu_usage_ratio", "gauge", "ratio",
			      "Busy share of all CPUs over the last resources interval (0..1).");
		if (r == 0)
			r = om_sample_double(b, "srvmon_cpu_usage_ratio", NULL, NULL,
					     s->cpu_percent / 100.0);
	}
	if (r == 0 && s->ram_valid) {
		r = om_family(b, om, "srvmon_memory_total_bytes", "gauge", "bytes",
			      "Physical memory (MemTotal).");
		if (r == 0)
			r = om_sample_u64(b, "srvmon_memory_total_bytes", NULL, NULL, s->ram_total);
		if (r == 0)
			r = om_family(b, om, "srvmon_memory_available_bytes", "gauge", "bytes",
				      "Memory available without swapping (MemAvailable).");
		if (r == 0)
			r = om_sample_u64(b, "srvmon_memory_available_bytes", NULL, NULL,
					  s->ram_available);
		if (r == 0)
			r = om_family(b, om, "srvmon_memory_used_bytes", "gauge", "bytes",
				      "MemTotal - MemAvailable.");
		if (r == 0)
			r = om_sample_u64(b, "srvmon_memory_used_bytes", NULL, NULL,
					  s->ram_total > s->ram_available
						  ? s->ram_total - s->ram_available
						  : 0);
	}
	if (r == 0 && s->n_disks > 0) {
		r = om_family(b, om, "srvmon_filesystem_size_bytes", "gauge", "bytes",
			      "Size of the file system of each configured mount point.");
		for (size_t i = 0; i < s->n_disks && r == 0; i++) {
			if (s->disks[i].err == 0)
				r = om_sample_u64(b, "srvmon_filesystem_size_bytes", "mountpoint",
						  s->disks[i].mount, s->disks[i].total);
		}
		if (r == 0)
			r = om_family(b, om, "srvmon_filesystem_avail_bytes", "gauge", "bytes",
				      "Space available to unprivileged users, as df shows.");
		for (size_t i = 0; i < s->n_disks && r == 0; i++) {
			if (s->disks[i].err == 0)
				r = om_sample_u64(b, "srvmon_filesystem_avail_bytes", "mountpoint",
						  s->disks[i].mount, s->disks[i].available);
		}
	}
	return r;
}

const struct metrics_source resources_metrics = {.name = "resources", .format = format_resources};
