/* Validation of agent messages (one JSON object per WebSocket text message): pure, no I/O. */
#ifndef SRVMON_SERVER_INGEST_H
#define SRVMON_SERVER_INGEST_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "srvmon_proto.h"

/* Largest message accepted (close 1009 above). */
#define INGEST_MAX_MESSAGE ((size_t)SRVMON_MAX_MESSAGE)
#define INGEST_MAX_HOST_ID 255
/* Most records in one batch frame (docs/protocol.md, "batch"). */
#define INGEST_BATCH_MAX SRVMON_BATCH_MAX_RECORDS

struct ingest_msg {
	const char *type;    /* one of the known types (static string) */
	const char *host_id; /* inside root */
	uint64_t seq;	     /* exact, from the raw text */
	int64_t ts;	     /* exact, from the raw text */
	const cJSON *obj;    /* the parsed object */
	cJSON *root;	     /* obj when ingest_parse() made it (ingest_msg_clear() frees it) */
};

/*
 * Parses and validates buf[0..len) (need not be NUL-terminated): a JSON object with
 * type one of SRVMON_RECORD_TYPES (srvmon_proto.h), a non-empty host_id
 * string, seq an integer in [0, 2^64-1] and ts an integer in the int64 range.
 * Returns 0 and fills ret, -EINVAL with *ret_err set to a short reason, or -ENOMEM.
 */
int ingest_parse(const char *buf, size_t len, struct ingest_msg *ret, const char **ret_err);
/*
 * The same checks on an object already parsed (an element of a batch frame: obj from
 * ingest_batch_split(), buf[0..len) its raw text, from which seq and ts are read
 * exactly). ret->root stays NULL: obj belongs to the batch's tree.
 */
int ingest_check(const cJSON *obj, const char *buf, size_t len, struct ingest_msg *ret,
		 const char **ret_err);
void ingest_msg_clear(struct ingest_msg *m);

/*
 * Finds the raw text of the top-level member name of the JSON object in buf[0..len)
 * (first occurrence, key without escapes). buf must already be valid JSON.
 * Returns 0 with ret_val and ret_len spanning the value, or -ENOENT.
 */
int ingest_raw_member(const char *buf, size_t len, const char *name, const char **ret_val,
		      size_t *ret_len);

/* One element of a batch frame: its raw text (inside the frame's buffer) and its node in
 * the frame's parsed tree. */
struct ingest_span {
	const char *buf;
	size_t len;
	const cJSON *node;
};

/* Whether buf[0..len) is meant as a batch frame: its first top-level "type" member is the
 * string "batch". Cheap (no parse); ingest_batch_split() validates. */
bool ingest_is_batch(const char *buf, size_t len);

/*
 * Validates the envelope of a batch frame {"type":"batch","records":[<record>,...]} in
 * buf[0..len) (need not be NUL-terminated): valid JSON, an object, type "batch", records an
 * array of 1..cap elements. The raw text and the parsed node of each element go to
 * ret_spans[0..*ret_n), in order; the elements themselves are not validated (pass each to
 * ingest_check()). The tree they belong to goes to *ret_root, for the caller to free with
 * cJSON_Delete() once done with the nodes (NULL on failure). The frame is parsed once.
 * Returns 0, -EINVAL with *ret_err set to a short reason, or -ENOMEM.
 */
int ingest_batch_split(const char *buf, size_t len, struct ingest_span *ret_spans, size_t cap,
		       size_t *ret_n, cJSON **ret_root, const char **ret_err);

/* Formats the server -> agent replies. Return the length or -ENOSPC. */
int ingest_format_ack(uint64_t seq, char *buf, size_t size);
/* {"type":"welcome","batch":true,"max_frame":N}: sent once a WebSocket is established. */
int ingest_format_welcome(size_t max_frame, char *buf, size_t size);
int ingest_format_error(const char *err, char *buf, size_t size);

#endif
