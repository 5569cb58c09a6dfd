/* The speedtest record (docs/protocol.md "speedtest"). */
#include "speedtest_message.h"

#include "message_json.h"
#include "speedtest.h"
#include "srvmon_proto.h"

#include <errno.h>
#include <string.h>

cJSON *message_speedtest(const struct speedtest_result *r)
{
	cJSON *msg = message_new(SRVMON_TYPE_SPEEDTEST, r->ts_ms);

	if (!msg)
		goto err;
	if (message_add_fixed_string(msg, "server", r->server, sizeof(r->server)) < 0 ||
	    message_add_u64(msg, "duration_ms", r->duration_ms) < 0 ||
	    message_add_u64(msg, "streams", r->streams) < 0 ||
	    message_add_u64(msg, "bytes_down", r->bytes_down) < 0 ||
	    message_add_u64(msg, "bytes_up", r->bytes_up) < 0)
		goto err;
	if (r->host_valid && (message_add_u64(msg, "host_rx_bytes", r->host_rx_bytes) < 0 ||
			      message_add_u64(msg, "host_tx_bytes", r->host_tx_bytes) < 0))
		goto err;
	if (r->error[0]) {
		if (message_add_fixed_string(msg, "error", r->error, sizeof(r->error)) < 0)
			goto err;
		return msg;
	}
	if (message_add_rate(msg, "download_rate", r->download_rate) < 0 ||
	    message_add_rate(msg, "upload_rate", r->upload_rate) < 0 ||
	    message_add_ms(msg, "latency_ms", r->latency_ms) < 0 ||
	    message_add_ms(msg, "jitter_ms", r->jitter_ms) < 0 ||
	    message_add_string(msg, "stop_down", r->stop_down) < 0 ||
	    message_add_string(msg, "stop_up", r->stop_up) < 0 ||
	    !cJSON_AddBoolToObject(msg, "capped", r->capped))
		goto err;
	return msg;

err:
	cJSON_Delete(msg);
	errno = ENOMEM;
	return NULL;
}
