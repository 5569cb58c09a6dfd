/* A record already printed as one compact JSON object. */
#ifndef SRVMON_RECORD_TEXT_H
#define SRVMON_RECORD_TEXT_H

#include <stddef.h>

/* "{...}" without host_id and seq: whoever assigns them adds both before the closing
 * brace (outbox_submit_json()). */
struct record_text {
	const char *text;
	size_t len;
};

#endif
