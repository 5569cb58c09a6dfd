/* What goes over an open connection: records out as frames or batch frames (with LWS_PRE
 * headroom, from the WRITEABLE callback), server messages in (welcome, acks, errors; an
 * oversized message discarded to its end, then closed with 1009), and the rate-limited
 * log of what the server said. */
#include "transport_impl.h"

#include "auth.h"
#include "log.h"
#include "monoclock.h"
#include "outbox.h"
#include "server_message.h"
#include "wsframe.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

static const struct {
	const char *what; /* for "N more <what> ... were not logged" */
	struct peertext_policy policy;
} peer_kinds[PEER_KINDS] = {
	[PEER_ERROR] = {"error messages", {.window_ms = 60000, .burst = 1}},
	[PEER_CLOSE] = {"close reasons", {.window_ms = 60000, .burst = 1}},
	[PEER_MALFORMED] = {"malformed messages", {.window_ms = 60000, .burst = 1}},
	[PEER_BINARY] = {"binary frames", {.window_ms = 60000, .burst = 1}},
	[PEER_OVERSIZE] = {"oversized messages", {.window_ms = 60000, .burst = 1}},
	[PEER_BAD_ACK] = {"acks above the last seq written", {.window_ms = 60000, .burst = 1}},
};

/* Whether a line of this kind may be logged now; *more says how many were left out. */
bool transport_peer_log_ok(struct transport *t, enum peer_kind k, char *more, size_t len)
{
	uint64_t n = 0;

	more[0] = '\0';
	if (!peertext_allow(&t->peer_limit[k], &peer_kinds[k].policy, mono_ms(), &n))
		return false;
	if (n > 0)
		(void)snprintf(more, len, " (%llu more not logged)", (unsigned long long)n);
	return true;
}

/* Once a window has ended, the count of what it left out. */
void transport_peer_log_flush(struct transport *t)
{
	uint64_t now = mono_ms();

	for (int k = 0; k < PEER_KINDS; k++) {
		uint64_t n = 0;

		if (peertext_flush(&t->peer_limit[k], &peer_kinds[k].policy, now, &n))
			log_warn("%llu more %s from %s in the last %llus were not logged",
				 (unsigned long long)n, peer_kinds[k].what, t->url,
				 (unsigned long long)(peer_kinds[k].policy.window_ms / 1000));
	}
}

/*
 * Writes one text frame (body at buf, LWS_PRE bytes before it) whose last record is seq.
 * The frame is made here (user/delivery/wsframe.c: masked eight bytes at a time) and written raw;
 * libwebsockets still sends it, buffering what the socket does not take at once. Should
 * the kernel have no random bytes for the masking key, lws_write() frames it instead.
 */
static int send_frame(struct transport *t, struct lws *wsi, unsigned char *buf, size_t len,
		      uint64_t seq)
{
	uint8_t key[4];
	size_t hl;
	int r;

	_Static_assert(LWS_PRE >= WSFRAME_MAX_HEADER, "room for the frame header");
	if (getrandom(key, sizeof(key), GRND_NONBLOCK) == (ssize_t)sizeof(key)) {
		hl = wsframe_client_text(buf, len, key);
		r = lws_write(wsi, buf - hl, len + hl, LWS_WRITE_RAW) < (int)(len + hl);
	} else {
		r = lws_write(wsi, buf, len, LWS_WRITE_TEXT) < (int)len;
	}
	if (r) {
		log_warn("write to %s failed", t->url);
		return -1;
	}
	outbox_mark_sent(t->ob, seq);
	if (seq > t->max_written_seq)
		t->max_written_seq = seq;
	if (outbox_pending(t->ob) > 0)
		lws_callback_on_writable(wsi);
	return 0;
}

int transport_write_one(struct transport *t, struct lws *wsi)
{
	size_t need = 0;
	uint64_t seq = 0;
	int n;

	n = outbox_peek(t->ob, (char *)t->tx + LWS_PRE, t->tx_cap, &need, &seq);
	if (n == -ENOSPC) {
		unsigned char *p;

		/* Not from this agent: the outbox refuses records over SRVMON_MAX_MESSAGE when
		 * they are submitted. Only a spool written by another build could hold one. */
		if (need > TRANSPORT_MAX_TX) {
			log_err("record seq %llu is %zu bytes, over the %zu byte limit; dropped",
				(unsigned long long)seq, need, TRANSPORT_MAX_TX);
			outbox_mark_sent(t->ob, seq);
			outbox_ack(t->ob, seq);
			return 0;
		}
		p = realloc(t->tx, LWS_PRE + need);
		if (!p)
			return 0; /* retried on the next writeable */
		t->tx = p;
		t->tx_cap = need;
		n = outbox_peek(t->ob, (char *)t->tx + LWS_PRE, t->tx_cap, &need, &seq);
	}
	if (n <= 0)
		return 0;
	return send_frame(t, wsi, t->tx + LWS_PRE, (size_t)n, seq);
}

/*
 * Up to BATCH_MAX_RECORDS records in one {"type":"batch","records":[...]} frame of at
 * most max_frame bytes: one frame, one send and one event-loop turn for a burst. A
 * record too large for a batch frame goes alone, as a plain frame.
 */
int transport_write_batch(struct transport *t, struct lws *wsi)
{
	const size_t pre = sizeof(BATCH_PREFIX) - 1;
	const size_t post = sizeof(BATCH_SUFFIX) - 1;
	size_t need = 0, count = 0;
	unsigned char *body;
	uint64_t seq = 0;
	int n;

	if (t->tx_cap < t->max_frame) {
		unsigned char *p = realloc(t->tx, LWS_PRE + t->max_frame);

		if (!p)
			return transport_write_one(t, wsi);
		t->tx = p;
		t->tx_cap = t->max_frame;
	}
	body = t->tx + LWS_PRE;
	n = outbox_peek_many(t->ob, (char *)body + pre, t->max_frame - pre - post,
			     BATCH_MAX_RECORDS, &need, &seq, &count);
	if (n == -ENOSPC)
		return transport_write_one(t, wsi);
	if (n <= 0)
		return 0;
	memcpy(body, BATCH_PREFIX, pre);
	memcpy(body + pre + (size_t)n, BATCH_SUFFIX, post);
	return send_frame(t, wsi, body, pre + (size_t)n + post, seq);
}

static void handle_welcome(struct transport *t, const struct server_message *m)
{
	/* A server that welcomes acks: without this, a connection lost before the first
	 * (possibly paced) ack would count everything written on it as delivered. */
	outbox_expect_acks(t->ob);
	t->batch = false;
	if (!m->batch || !t->wsi)
		return;
	t->batch = true;
	t->max_frame = m->max_frame ? (size_t)m->max_frame : BATCH_DEFAULT_FRAME;
	if (t->max_frame > TRANSPORT_MAX_TX)
		t->max_frame = TRANSPORT_MAX_TX;
	if (t->max_frame < BATCH_MIN_FRAME)
		t->batch = false; /* too small to be worth it: one record a frame */
	log_debug("%s takes batches of up to %zu bytes", t->url, t->max_frame);
	if (t->batch && outbox_pending(t->ob) > 0)
		lws_callback_on_writable(t->wsi);
}

static void handle_ack(struct transport *t, uint64_t seq)
{
	char more[64];

	/* Acking what was never written acks nothing more than the last seq written
	 * (outbox_ack() counts written records only); it is a server's error all the same. */
	if (seq > t->max_written_seq) {
		if (transport_peer_log_ok(t, PEER_BAD_ACK, more, sizeof(more)))
			log_warn("%s acked seq %llu, above the last seq written (%llu)%s", t->url,
				 (unsigned long long)seq, (unsigned long long)t->max_written_seq,
				 more);
		seq = t->max_written_seq;
	} else {
		t->useful = true; /* a true ack: this connection works */
	}
	outbox_ack(t->ob, seq);
}

static void handle_frame(struct transport *t)
{
	struct server_message m;
	char more[64];
	char text[sizeof(m.detail) * 4];

	if (server_message_parse(t->rx, t->rx_len, &m) < 0) {
		if (transport_peer_log_ok(t, PEER_MALFORMED, more, sizeof(more)))
			log_warn("ignoring a malformed message from %s%s", t->url, more);
		return;
	}
	switch (m.type) {
	case SERVER_MESSAGE_ACK:
		handle_ack(t, m.ack_seq);
		break;
	case SERVER_MESSAGE_WELCOME:
		handle_welcome(t, &m);
		break;
	case SERVER_MESSAGE_ERROR:
		if (!transport_peer_log_ok(t, PEER_ERROR, more, sizeof(more)))
			break;
		peertext_escape(m.detail, strlen(m.detail), text, sizeof(text));
		log_warn("server %s reported: \"%s\"%s", t->url, text, more);
		break;
	default:
		log_debug("ignoring message of type '%s' from %s", m.detail, t->url);
		break;
	}
}

int transport_receive(struct transport *t, struct lws *wsi, const void *in, size_t len)
{
	char more[64];

	if (lws_is_first_fragment(wsi)) {
		t->rx_len = 0;
		t->rx_overflow = false;
	}
	if (t->rx_dropping)
		return 0;
	if (lws_remaining_packet_payload(wsi) > TRANSPORT_MAX_DISCARD) {
		/* Too long to read to its end (a header may claim 2^62 bytes), text or binary:
		 * dropped from the event loop, outside the frame parser, without a close. */
		t->rx_dropping = true;
		log_warn("a frame from %s has %zu more bytes to come; dropping the connection",
			 t->url, lws_remaining_packet_payload(wsi));
		lws_set_timeout(wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
		return 0;
	}
	if (lws_frame_is_binary(wsi)) {
		if (lws_is_final_fragment(wsi) &&
		    transport_peer_log_ok(t, PEER_BINARY, more, sizeof(more)))
			log_warn("ignoring a binary frame from %s%s", t->url, more);
		return 0;
	}
	if (!t->rx_overflow && t->rx_len + len > TRANSPORT_MAX_RX) {
		t->rx_overflow = true;
		if (transport_peer_log_ok(t, PEER_OVERSIZE, more, sizeof(more)))
			log_warn("message from %s is over %zu bytes; closing the connection "
				 "(1009)%s",
				 t->url, TRANSPORT_MAX_RX, more);
	}
	if (t->rx_overflow) {
		/* libwebsockets 4.1 writes past its 4 KiB rx buffer when the callback fails
		 * inside a frame: the rest of this fragment is discarded, chunk by chunk, and
		 * the connection closed at its end (an endless message closes at once). */
		if (lws_remaining_packet_payload(wsi) > 0)
			return 0;
		lws_close_reason(wsi, LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE, NULL, 0);
		return -1;
	}
	memcpy(t->rx + t->rx_len, in, len);
	t->rx_len += len;
	if (lws_is_final_fragment(wsi))
		handle_frame(t);
	return 0;
}
