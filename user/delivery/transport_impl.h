/* The transport's internals, shared by transport.c (connecting, the lws callback, the
 * event loop) and transport_io.c (what goes over an open connection). */
#ifndef SRVMON_TRANSPORT_IMPL_H
#define SRVMON_TRANSPORT_IMPL_H

#include "transport.h"

#include "backoff.h"
#include "peertext.h"
#include "srvmon_proto.h"

#include <libwebsockets.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TRANSPORT_MAX_RX ((size_t)SRVMON_MAX_MESSAGE) /* larger ones: closed with 1009 */
/* An oversized frame is read to its end before the 1009 close; a frame (text or binary)
 * with more than this left to come is not waited for: the connection is dropped. */
#define TRANSPORT_MAX_DISCARD ((size_t)16 * 1024 * 1024)
#define TRANSPORT_MAX_TX      ((size_t)4 * 1024 * 1024)
/* Batched frames (docs/protocol.md, "welcome"): at most this many records a frame. */
#define BATCH_MAX_RECORDS   SRVMON_BATCH_MAX_RECORDS
#define BATCH_MIN_FRAME	    ((size_t)4096)
#define BATCH_DEFAULT_FRAME ((size_t)64 * 1024) /* a welcome without max_frame */
#define BATCH_PREFIX	    "{\"type\":\"" SRVMON_MSG_BATCH "\",\"records\":["
#define BATCH_SUFFIX	    "]}"

/* A connection resets the reconnect back-off only once it proved useful: an ack came, or
 * it stayed open this long. A server that accepts and closes at once is retried with
 * growing delays instead of in a token request loop. */
#define TRANSPORT_STABLE_MS 10000
/* On SIGTERM: the close frame (1001) gets this long to be written. */
#define TRANSPORT_CLOSE_MS 2000

/* What a server says is logged at most once a minute per kind, with the count of the
 * lines left out (docs/reliability.md, "Bad input from the server"). */
enum peer_kind {
	PEER_ERROR,	/* {"type":"error"} */
	PEER_CLOSE,	/* a close frame's reason (its code is always logged) */
	PEER_MALFORMED, /* not a message */
	PEER_BINARY,
	PEER_OVERSIZE,
	PEER_BAD_ACK, /* an ack above every seq written */
	PEER_KINDS,
};

struct transport {
	const struct config *cfg;
	struct outbox *ob;
	struct auth *auth;
	transport_connected_fn on_connected;
	void *on_connected_arg;

	struct lws_context *ctx;
	struct lws *wsi;
	lws_retry_bo_t idle_policy;
	lws_sorted_usec_list_t sul_connect;
	lws_sorted_usec_list_t sul_tick;
	uint64_t tick_ms;
	void (*tick)(void *arg);
	void *tick_arg;

	struct backoff bo;
	struct backoff auth_bo;
	bool connected;
	bool ever_connected;
	bool renewing; /* closing to reconnect with a renewed token: no back-off */
	bool stopping; /* SIGTERM: closing with 1001 */
	bool close_timed_out;
	bool useful; /* this connection was acked: the back-off is reset when it ends */
	uint64_t connected_ms;
	uint64_t max_written_seq;
	uint64_t reconnects;
	struct peertext_limit peer_limit[PEER_KINDS];
	char url[512];
	char path[8192];
	char authz[4200];

	bool batch;	  /* this connection's server welcomed batches */
	size_t max_frame; /* its largest frame */
	unsigned char *tx;
	size_t tx_cap; /* bytes after LWS_PRE */
	char *rx;
	size_t rx_len;
	bool rx_overflow; /* this message is over TRANSPORT_MAX_RX: discarded to its end */
	bool rx_dropping; /* ...and too long to wait for: the connection is being dropped */
};

/* Whether a line of this kind may be logged now; *more says how many were left out. */
bool transport_peer_log_ok(struct transport *t, enum peer_kind k, char *more, size_t len);
/* Logs how many lines of each kind were left out once their window is over. */
void transport_peer_log_flush(struct transport *t);
/* One record as one frame (no welcome allowing batches). 0, or -1 to drop the connection. */
int transport_write_one(struct transport *t, struct lws *wsi);
/* Everything waiting, as batch frames of at most max_frame. 0, or -1. */
int transport_write_batch(struct transport *t, struct lws *wsi);
/* A piece of a server message (LWS_CALLBACK_CLIENT_RECEIVE). 0, or -1 to close. */
int transport_receive(struct transport *t, struct lws *wsi, const void *in, size_t len);

#endif
