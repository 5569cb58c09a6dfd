/* The exec record encoders: cJSON, and printed directly on the hot path. */
#ifndef SRVMON_EXEC_MESSAGE_H
#define SRVMON_EXEC_MESSAGE_H

#include <cjson/cJSON.h>

struct exec_event;
struct sbuf;

/* An exec record (docs/protocol.md "exec"); e->user may be NULL. NULL on ENOMEM. */
cJSON *message_exec(const struct exec_event *e);

/* The same record printed directly (no cJSON tree, the hot path): appends one compact
 * JSON object, without host_id and seq (outbox_submit_json() adds them). 0 or -ENOMEM
 * (then nothing is appended). */
int message_exec_json(const struct exec_event *e, struct sbuf *b);

#endif
