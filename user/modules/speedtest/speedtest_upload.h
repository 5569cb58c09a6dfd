/* Pure part of the upload measurement: which bytes of one POST count as received by the
 * server. The rule (docs/protocol.md, speedtest):
 *   - a POST that finished with a 2xx answer: the server read its whole body, so every
 *     byte curl sent counts; a {"received":N} answer (srvmon-server) is the server's own
 *     count and is taken instead, never above what was sent;
 *   - a POST still in flight, or one that failed: only what the server's TCP has
 *     acknowledged, bytes sent minus those still in the socket's send queue (SIOCOUTQ);
 *     nothing when that queue cannot be read.
 * The count of a stream never goes down (the caller keeps the highest). */
#ifndef SRVMON_SPEEDTEST_UPLOAD_H
#define SRVMON_SPEEDTEST_UPLOAD_H

#include <stdbool.h>
#include <stdint.h>

struct speedtest_upload {
	bool done;	      /* the transfer ended */
	long http_code;	      /* its answer, when done */
	bool reply_valid;     /* the answer carried {"received":N} */
	uint64_t reply_bytes; /* that N */
	uint64_t sent;	      /* body bytes curl wrote to the socket */
	bool outq_valid;      /* in flight: the send queue could be read */
	uint64_t outq;	      /* bytes written but not yet acknowledged */
};

/* Bytes of one upload stream the server has received, by the rule above. */
uint64_t speedtest_upload_counted(const struct speedtest_upload *u);

/* The N of a {"received":N} answer. 0, or -ENOENT when the answer has none (an empty body,
 * as stock LibreSpeed's empty.php sends), -EINVAL/-ERANGE when N is not a number. */
int speedtest_parse_received(const char *reply, uint64_t *ret);

#endif
