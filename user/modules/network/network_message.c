/* The network record (docs/protocol.md "network"). */
#include "network_message.h"

#include "message_json.h"
#include "network.h"
#include "srvmon_proto.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

static int add_iface(cJSON *ifaces, const struct net_iface_sample *is, bool peaks)
{
	cJSON *o = cJSON_CreateObject();

	if (!o || !cJSON_AddItemToArray(ifaces, o)) {
		cJSON_Delete(o);
		return -ENOMEM;
	}
	if (message_add_fixed_string(o, "name", is->name, sizeof(is->name)) < 0 ||
	    message_add_u64(o, "rx_bytes", is->rx_bytes) < 0 ||
	    message_add_u64(o, "tx_bytes", is->tx_bytes) < 0 ||
	    message_add_u64(o, "rx_packets", is->rx_packets) < 0 ||
	    message_add_u64(o, "tx_packets", is->tx_packets) < 0 ||
	    message_add_rate(o, "rx_rate", is->rx_rate) < 0 ||
	    message_add_rate(o, "tx_rate", is->tx_rate) < 0 ||
	    !cJSON_AddBoolToObject(o, "in_total", is->in_total))
		return -ENOMEM;
	if (peaks && (message_add_rate(o, "rx_peak_rate", is->rx_peak_rate) < 0 ||
		      message_add_rate(o, "tx_peak_rate", is->tx_peak_rate) < 0))
		return -ENOMEM;
	return 0;
}

cJSON *message_network(const struct net_sample *s)
{
	cJSON *ifaces;
	cJSON *msg;

	if (s->n_ifaces > NET_MAX_IFACES) {
		errno = EINVAL;
		return NULL;
	}
	msg = message_new(SRVMON_TYPE_NETWORK, s->ts_ms);
	if (!msg)
		goto err;
	if (message_add_rate(msg, "upload_rate", s->upload_rate) < 0 ||
	    message_add_rate(msg, "download_rate", s->download_rate) < 0 ||
	    message_add_u64(msg, "interval_ms", s->interval_ms) < 0)
		goto err;
	/* Peaks come from the in-kernel windows only (BPF collector). */
	if (s->peak_window_ms && (message_add_rate(msg, "rx_peak_rate", s->rx_peak_rate) < 0 ||
				  message_add_rate(msg, "tx_peak_rate", s->tx_peak_rate) < 0 ||
				  message_add_u64(msg, "peak_window_ms", s->peak_window_ms) < 0))
		goto err;
	ifaces = cJSON_AddArrayToObject(msg, "interfaces");
	if (!ifaces)
		goto err;
	for (size_t i = 0; i < s->n_ifaces; i++) {
		if (add_iface(ifaces, &s->ifaces[i], s->peak_window_ms != 0) < 0)
			goto err;
	}
	return msg;

err:
	cJSON_Delete(msg);
	errno = ENOMEM;
	return NULL;
}
