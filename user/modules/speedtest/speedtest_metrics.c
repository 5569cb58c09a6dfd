/* The speedtest module's Prometheus families. */
#include "speedtest_metrics.h"

#include "speedtest.h"
#include "openmetrics.h"

#include <stddef.h>
#include <string.h>

static int format_speedtest(const void *sample, bool om, struct sbuf *b)
{
	const struct speedtest_result *s = sample;
	int r;

	r = om_family(b, om, "srvmon_speedtest_download_bytes_per_second", "gauge",
		      "bytes_per_second",
		      "Payload download rate of the last successful speed test.");
	if (r == 0)
		r = om_sample_double(b, "srvmon_speedtest_download_bytes_per_second", "server",
				     s->server, s->download_rate / 8.0);
	if (r == 0)
		r = om_family(b, om, "srvmon_speedtest_upload_bytes_per_second", "gauge",
			      "bytes_per_second",
			      "Payload upload rate of the last successful speed test.");
	if (r == 0)
		r = om_sample_double(b, "srvmon_speedtest_upload_bytes_per_second", "server",
				     s->server, s->upload_rate / 8.0);
	if (r == 0)
		r = om_family(b, om, "srvmon_speedtest_latency_seconds", "gauge", "seconds",
			      "Round-trip latency measured by the last successful speed test.");
	if (r == 0)
		r = om_sample_double(b, "srvmon_speedtest_latency_seconds", "server", s->server,
				     s->latency_ms / 1000.0);
	if (r == 0)
		r = om_family(b, om, "srvmon_speedtest_timestamp_seconds", "gauge", "seconds",
			      "Unix time the last successful speed test started.");
	if (r == 0)
		r = om_sample_double(b, "srvmon_speedtest_timestamp_seconds", "server", s->server,
				     (double)s->ts_ms / 1000.0);
	return r;
}

const struct metrics_source speedtest_metrics = {.name = "speedtest", .format = format_speedtest};
