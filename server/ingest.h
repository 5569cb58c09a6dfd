/* Validation of agent messages (one JSON object per WebSocket text message): pure, no I/O. */
#ifndef SRVMON_SERVER_INGEST_H
#define SRVMON_SERVER_INGEST_H

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>

/* Largest message accepted (close 1009 above). */
#define INGEST_MAX_MESSAGE ((size_t)1024 * 1024)
#define INGEST_MAX_HOST_ID 255

struct ingest_msg {
	const char *type;    /* one of the known types (static string) */
	const char *host_id; /* inside root */
	uint64_t seq;	     /* exact, from the raw text */
	int64_t ts;	     /* exact, from the raw text */
	cJSON *root;	     /* the parsed object; freed by ingest_msg_clear() */
};

/*
 * Parses and validates buf[0..len) (need not be NUL-terminated): a JSON object with
 * type in {hello, resources, network, status, exec, speedtest}, a non-empty host_id
 * string, seq an integer in [0, 2^64-1] and ts an integer in the int64 range.
 * Returns 0 and fills ret, -EINVAL with *ret_err set to a short reason, or -ENOMEM.
 */
int ingest_parse(const char *buf, size_t len, struct ingest_msg *ret, const char **ret_err);
void ingest_msg_clear(struct ingest_msg *m);

/*
 * Finds the raw text of the top-level member name of the JSON object in buf[0..len)
 * (first occurrence, key without escapes). buf must already be valid JSON.
 * Returns 0 with ret_val and ret_len spanning the value, or -ENOENT.
 */
int ingest_raw_member(const char *buf, size_t len, const char *name, const char **ret_val,
		      size_t *ret_len);

/* Formats the server -> agent replies. Return the length or -ENOSPC. */
int ingest_format_ack(uint64_t seq, char *buf, size_t size);
int ingest_format_error(const char *err, char *buf, size_t size);

#endif
