/* The network module's Prometheus families. */
#include "network_metrics.h"

#include "network.h"
#include "openmetrics.h"

#include <stddef.h>
#include <string.h>

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

static int format_network(const void *sample, bool om, struct sbuf *b)
{
	const struct net_sample *s = sample;
	int r = 0;

	for (size_t m = 0; m < sizeof(if_metrics) / sizeof(if_metrics[0]) && r == 0; m++) {
		const struct if_metric *im = &if_metrics[m];

		if (im->peak && s->peak_window_ms == 0)
			continue;
		r = om_family(b, om, im->name, im->type, im->unit, im->help);
		for (size_t i = 0; i < s->n_ifaces && r == 0; i++) {
			const char *base = (const char *)&s->ifaces[i];

			if (im->u64_off != SIZE_MAX) {
				uint64_t v;

				memcpy(&v, base + im->u64_off, sizeof(v));
				r = om_sample_u64(b, im->sample, "interface", s->ifaces[i].name, v);
			} else {
				double v;

				memcpy(&v, base + im->dbl_off, sizeof(v));
				r = om_sample_double(b, im->sample, "interface", s->ifaces[i].name,
						     v / 8.0);
			}
		}
	}
	return r;
}

const struct metrics_source network_metrics = {.name = "network", .format = format_network};
