/* One readable line per stored record (serve --print-records): pure formatting. */
#ifndef SRVMON_SERVER_RECORD_LINE_H
#define SRVMON_SERVER_RECORD_LINE_H

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Formats e.g. "12:00:01 host=3f2a9c1e… resources seq=12 cpu=3.1% ram=1.2/7.8 GiB
 * disk=40.1/250.0 GiB" (no newline) into buf. received_ms gives the local time of day,
 * root is the parsed message. Control characters from the message are replaced by '?'.
 * Truncates to fit; returns the length written.
 */
size_t record_line_format(const cJSON *root, const char *type, const char *host_id, uint64_t seq,
			  uint64_t received_ms, char *buf, size_t size);

/* Formats a bit rate as "300 kbit/s", "1.2 Mbit/s". */
void record_line_rate(double bits, char *buf, size_t size);

#endif
