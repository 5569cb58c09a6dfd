/* Building wire messages with cJSON: the members every record type uses. */
#include "message_json.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

int message_add_u64(cJSON *obj, const char *name, uint64_t v)
{
	char buf[24];

	/* A raw member: cJSON numbers are doubles and lose precision above 2^53. */
	(void)snprintf(buf, sizeof(buf), "%" PRIu64, v);
	if (!cJSON_AddRawToObject(obj, name, buf))
		return -ENOMEM;
	return 0;
}

/* Adds a string from a fixed-size field that may lack its NUL. */
int message_add_fixed_string(cJSON *obj, const char *name, const char *s, size_t size)
{
	char buf[512];
	size_t n = strnlen(s, size);

	if (n >= sizeof(buf))
		n = sizeof(buf) - 1;
	memcpy(buf, s, n);
	buf[n] = '\0';
	if (!cJSON_AddStringToObject(obj, name, buf))
		return -ENOMEM;
	return 0;
}

int message_add_string(cJSON *obj, const char *name, const char *s)
{
	if (!cJSON_AddStringToObject(obj, name, s ? s : ""))
		return -ENOMEM;
	return 0;
}

/* Whole bits/s as an exact integer; negative or non-finite rates become 0. */
int message_add_rate(cJSON *obj, const char *name, double rate)
{
	if (!isfinite(rate) || rate < 0)
		rate = 0;
	if (rate >= 18446744073709551615.0)
		return message_add_u64(obj, name, UINT64_MAX);
	return message_add_u64(obj, name, (uint64_t)llround(rate));
}

cJSON *message_new(const char *type, uint64_t ts_ms)
{
	cJSON *msg = cJSON_CreateObject();

	if (!msg)
		return NULL;
	if (message_add_string(msg, "type", type) < 0 || message_add_u64(msg, "ts", ts_ms) < 0) {
		cJSON_Delete(msg);
		return NULL;
	}
	return msg;
}

/* Milliseconds with two decimals, as cpu_percent. */
int message_add_ms(cJSON *obj, const char *name, double ms)
{
	if (!isfinite(ms) || ms < 0)
		ms = 0;
	if (!cJSON_AddNumberToObject(obj, name, round(ms * 100.0) / 100.0))
		return -ENOMEM;
	return 0;
}

char *message_finish(cJSON *msg, const char *host_id, uint64_t seq)
{
	char *out;

	if (!msg || !host_id) {
		errno = EINVAL;
		return NULL;
	}
	/* Idempotent: a message re-sent after a reconnect keeps one host_id and seq. */
	cJSON_DeleteItemFromObjectCaseSensitive(msg, "host_id");
	cJSON_DeleteItemFromObjectCaseSensitive(msg, "seq");
	if (message_add_string(msg, "host_id", host_id) < 0 ||
	    message_add_u64(msg, "seq", seq) < 0) {
		errno = ENOMEM;
		return NULL;
	}
	out = cJSON_PrintUnformatted(msg);
	if (!out)
		errno = ENOMEM;
	return out;
}
