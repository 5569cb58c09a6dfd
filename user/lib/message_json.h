/* Building wire messages (docs/protocol.md) with cJSON: the object with "type" and "ts",
 * exact integers, rates and the final host_id and seq. Each module's encoder uses these. */
#ifndef SRVMON_MESSAGE_JSON_H
#define SRVMON_MESSAGE_JSON_H

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>

/* A new object holding "type" and "ts", or NULL on ENOMEM. */
cJSON *message_new(const char *type, uint64_t ts_ms);

/* Adds an exact unsigned 64-bit integer member (cJSON numbers are doubles). 0 or -ENOMEM. */
int message_add_u64(cJSON *obj, const char *name, uint64_t v);

/* Adds a string (NULL: ""). 0 or -ENOMEM. */
int message_add_string(cJSON *obj, const char *name, const char *s);

/* Adds a string from a fixed-size field that may lack its NUL. 0 or -ENOMEM. */
int message_add_fixed_string(cJSON *obj, const char *name, const char *s, size_t size);

/* Whole bits/s as an exact integer; negative or non-finite rates become 0. 0 or -ENOMEM. */
int message_add_rate(cJSON *obj, const char *name, double rate);

/* Milliseconds with two decimals, as cpu_percent. 0 or -ENOMEM. */
int message_add_ms(cJSON *obj, const char *name, double ms);

/* Adds host_id and seq and prints msg compactly. Returns a malloc'd string or NULL. */
char *message_finish(cJSON *msg, const char *host_id, uint64_t seq);

#endif
