/* The /ws ingest endpoint: the upgrade (bearer token, role), one WebSocket session per agent
 * connection, its frames (reassembled, budgeted, token expiry and revocation checked), its
 * paced acks and error frames, and how it is closed. The records themselves: ws_record.c. */
#include "http_internal.h"

#include "log.h"
#include "monoclock.h"
#include "api.h"
#include "db.h"
#include "srvmon_proto.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CLOSE_TOKEN_EXPIRED SRVMON_CLOSE_TOKEN_EXPIRED
/* The ingest budget of a connection may be spent this many seconds ahead. */
#define LIMIT_BURST_S 2
/* A connection's token is looked up again (revoked: closed with 4401) at most this often,
 * when a message arrives. */
#define AUTH_RECHECK_MS 2000

int ws_confirm_upgrade(struct lws *wsi, struct server *srv)
{
	char uri[256];
	char account[GRANT_MAX_USERNAME + 1];
	enum role role;
	uint64_t expires;
	int r;

	if (lws_hdr_copy(wsi, uri, sizeof(uri), WSI_TOKEN_GET_URI) <= 0 ||
	    strcmp(uri, WS_PATH) != 0) {
		/* lws_return_http_status() writes the reply itself; >0 tells lws it did. */
		lws_return_http_status(wsi, HTTP_STATUS_NOT_FOUND, NULL);
		return 1;
	}
	r = http_authenticate(wsi, srv, account, sizeof(account), &expires, &role, NULL);
	if (r == 0 && !role_may_ingest(role)) {
		log_info("GET %s: upgrade of \"%s\" refused (403): role %s may not ingest", WS_PATH,
			 account, role_name(role));
		lws_return_http_status(wsi, HTTP_STATUS_FORBIDDEN, NULL);
		return 1;
	}
	if (r == -EACCES) {
		log_info("GET %s: upgrade refused: missing, unknown or expired token", WS_PATH);
		lws_return_http_status(wsi, HTTP_STATUS_UNAUTHORIZED, NULL);
		return 1;
	}
	if (r < 0) {
		lws_return_http_status(wsi, HTTP_STATUS_INTERNAL_SERVER_ERROR, NULL);
		return 1;
	}
	return 0;
}

int ws_established(struct lws *wsi, struct server *srv, struct session *ss)
{
	enum role role;
	int r;

	memset(ss, 0, sizeof(*ss));
	/* The headers are still bound here; confirm_upgrade checked them moments ago. */
	r = http_authenticate(wsi, srv, ss->account, sizeof(ss->account), &ss->token_expires_ms,
			      &role, ss->token_sha);
	if (r < 0 || !role_may_ingest(role))
		return -1;
	ss->auth_checked_ms = mono_ms();
	ss->ws_authed = true;
	ss->wsi = wsi;
	/* An agent's connection lasts: the request deadline was for the upgrade only. */
	(void)conntrack_set_deadline(srv->conns, lws_get_network_wsi(wsi), 0);
	connlimit_init(&ss->budget, srv->opts.conn_records_per_s, srv->opts.conn_bytes_per_s,
		       LIMIT_BURST_S, mono_ms());
	connlimit_init(&ss->invalid, INVALID_PER_S, 0, INVALID_BURST_S, mono_ms());
	log_info("%s: connection of \"%s\" established", WS_PATH, ss->account);
	/* Tell the agent it may send batch frames. */
	ss->welcome_pending = true;
	lws_callback_on_writable(wsi);
	return 0;
}

/* The connection's one lws timer, set to the earlier of its two uses: resuming reads
 * (ingest budget) and sending a paced ack. */
static void ws_arm_timer(struct lws *wsi, struct session *ss, uint64_t now)
{
	uint64_t at = ss->rx_resume_ms;

	if (ss->ack_due_ms && (!at || ss->ack_due_ms < at))
		at = ss->ack_due_ms;
	if (!at)
		return;
	lws_set_timer_usecs(wsi, at > now ? (lws_usec_t)(at - now) * 1000 : 1);
}

/* Takes records and bytes from the connection's budget; over it, stops reading from the
 * socket (TCP pushes back on the sender) until the budget has refilled. */
static void ws_charge(struct lws *wsi, struct session *ss, uint64_t records, uint64_t bytes)
{
	uint64_t wait = connlimit_charge(&ss->budget, records, bytes, mono_ms());

	if (wait == 0 || ss->rx_paused)
		return;
	if (!ss->throttle_logged)
		log_info("%s: \"%s\" is over its ingest budget (%" PRIu64 " records/s, %" PRIu64
			 " bytes/s), reading more slowly",
			 WS_PATH, ss->account, ss->budget.rate[0], ss->budget.rate[1]);
	ss->throttle_logged = true;
	ss->rx_paused = true;
	lws_rx_flow_control(wsi, 0);
	ss->rx_resume_ms = mono_ms() + wait;
	ws_arm_timer(wsi, ss, mono_ms());
}

int ws_timer(struct lws *wsi, struct session *ss)
{
	uint64_t now = mono_ms();

	if (ss->ack_due_ms && now >= ss->ack_due_ms) {
		ss->ack_due_ms = 0;
		lws_callback_on_writable(wsi);
	}
	if (ss->rx_paused && now >= ss->rx_resume_ms) {
		uint64_t wait = connlimit_charge(&ss->budget, 0, 0, now);

		if (wait > 0) {
			ss->rx_resume_ms = now + wait;
		} else {
			ss->rx_paused = false;
			ss->rx_resume_ms = 0;
			lws_rx_flow_control(wsi, 1);
		}
	}
	ws_arm_timer(wsi, ss, now);
	return 0;
}

/*
 * Whether the pending ack goes out now. Acks are paced (--ack-interval): an agent that
 * sends a frame every 100 ms is then woken once a second, not twice per frame; an ack
 * still goes at once after SERVER_ACK_MAX_RECORDS records, so an agent's unacked backlog
 * stays small. Otherwise the timer is armed for when it is due.
 */
static bool ack_due(struct lws *wsi, struct server *srv, struct session *ss)
{
	uint64_t now = mono_ms();
	uint64_t every = srv->opts.ack_interval_ms;

	if (!every || ss->acked_n >= SERVER_ACK_MAX_RECORDS || now >= ss->last_ack_ms + every)
		return true;
	if (!ss->ack_due_ms) {
		ss->ack_due_ms = ss->last_ack_ms + every;
		ws_arm_timer(wsi, ss, now);
	}
	return false;
}

/* One complete text message: a batch frame or a single record. 0, or -1 to close. */
static int ws_message(struct lws *wsi, struct server *srv, struct session *ss)
{
	uint64_t received = wall_ms();
	const char *err = NULL;
	cJSON *tree = NULL;
	size_t n = 1;
	int r = 0;

	if (!ingest_is_batch(ss->msg, ss->msg_len)) {
		r = ws_record(wsi, srv, ss, ss->msg, ss->msg_len, NULL, -1, received);
	} else if (ingest_batch_split(ss->msg, ss->msg_len, srv->spans, INGEST_BATCH_MAX, &n, &tree,
				      &err) < 0) {
		n = 0;
		r = ws_invalid(wsi, ss, "batch", err);
	} else {
		/* Each element like a single-record frame; a bad one does not drop the others.
		 * The frame was parsed once: the elements are checked on its tree. */
		for (size_t i = 0; i < n && r == 0; i++)
			r = ws_record(wsi, srv, ss, srv->spans[i].buf, srv->spans[i].len,
				      srv->spans[i].node, (long)i, received);
		cJSON_Delete(tree);
	}
	if (r == 0)
		ws_charge(wsi, ss, n, 0);
	ws_tx_bound(srv);
	return r;
}

/* Whether the connection's token was revoked (token revoke, user del, a replayed refresh
 * token), looked up at most every AUTH_RECHECK_MS. A database failure keeps it open. */
static bool ws_token_revoked(struct server *srv, struct session *ss)
{
	char account[GRANT_MAX_USERNAME + 1];
	uint64_t now = mono_ms();
	uint64_t expires;
	int r;

	if (now - ss->auth_checked_ms < AUTH_RECHECK_MS)
		return false;
	ss->auth_checked_ms = now;
	r = db_token_lookup(srv->opts.db, ss->token_sha, account, sizeof(account), &expires);
	if (r < 0 && r != -ENOENT)
		log_warn_errno(r, "%s: token of \"%s\": database \"%s\", not checked", WS_PATH,
			       ss->account, db_errmsg(srv->opts.db));
	return r == -ENOENT;
}

int ws_receive(struct lws *wsi, struct server *srv, struct session *ss, const void *in, size_t len)
{
	int r;

	if (!ss->ws_authed)
		return -1;
	ws_charge(wsi, ss, 0, len);
	if (lws_frame_is_binary(wsi))
		return ws_close(wsi, LWS_CLOSE_STATUS_UNACCEPTABLE_OPCODE, "text frames only");
	if (lws_is_first_fragment(wsi))
		ss->msg_len = 0;
	if (ss->msg_len + len > INGEST_MAX_MESSAGE)
		return ws_close(wsi, LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE, "message over 1 MiB");
	if (ss->msg_len + len + 1 > ss->msg_cap) {
		size_t cap = ss->msg_cap ? ss->msg_cap : 4096;
		char *p;

		while (cap < ss->msg_len + len + 1)
			cap *= 2;
		p = realloc(ss->msg, cap);
		if (!p)
			return ws_close(wsi, LWS_CLOSE_STATUS_UNEXPECTED_CONDITION,
					"out of memory");
		ss->msg = p;
		ss->msg_cap = cap;
	}
	memcpy(ss->msg + ss->msg_len, in, len);
	ss->msg_len += len;
	if (!lws_is_final_fragment(wsi) || lws_remaining_packet_payload(wsi) > 0)
		return 0;
	ss->msg[ss->msg_len] = '\0';
	/* An expired token ends the connection before the message is stored. */
	if (wall_ms() >= ss->token_expires_ms) {
		log_info("%s: token of \"%s\" expired, closing", WS_PATH, ss->account);
		return ws_close(wsi, CLOSE_TOKEN_EXPIRED, "token expired");
	}
	if (ws_token_revoked(srv, ss)) {
		log_info("%s: token of \"%s\" revoked, closing", WS_PATH, ss->account);
		return ws_close(wsi, CLOSE_TOKEN_EXPIRED, "token revoked");
	}
	r = ws_message(wsi, srv, ss);
	ss->msg_len = 0;
	return r;
}

int ws_writeable(struct lws *wsi, struct server *srv, struct session *ss)
{
	unsigned char buf[LWS_PRE + WS_ERROR_MAX];
	unsigned char *start = &buf[LWS_PRE];
	uint64_t seq;
	int n;

	if (ss->storage_failed)
		return ws_close(wsi, LWS_CLOSE_STATUS_UNEXPECTED_CONDITION, "storage failed");
	if (ss->welcome_pending) {
		n = ingest_format_welcome(INGEST_MAX_MESSAGE, (char *)start, sizeof(buf) - LWS_PRE);
		ss->welcome_pending = false;
	} else if (ss->n_err > 0) {
		n = snprintf((char *)start, sizeof(buf) - LWS_PRE, "%s", ss->err[0]);
		free(ss->err[0]);
		memmove(&ss->err[0], &ss->err[1], (ss->n_err - 1) * sizeof(ss->err[0]));
		ss->n_err--;
	} else if (ss->ack_pending && (ss->over_quota || ack_due(wsi, srv, ss))) {
		ss->ack_pending = false;
		ss->acked_n = 0;
		ss->last_ack_ms = mono_ms();
		/* Cumulative: it never covers a refused record (hosts.c). Nothing to ack: over
		 * quota, the connection is closed all the same. */
		if (!hosts_ack_cap(&ss->refused, ss->ack_seq, &seq)) {
			if (ss->over_quota && !ss->have_uncommitted)
				return ws_close(wsi, CLOSE_OVER_QUOTA, "over quota");
			return 0;
		}
		n = ingest_format_ack(seq, (char *)start, sizeof(buf) - LWS_PRE);
	} else if (ss->over_quota && !ss->have_uncommitted) {
		return ws_close(wsi, CLOSE_OVER_QUOTA, "over quota");
	} else {
		return 0;
	}
	if (n < 0 || (size_t)n >= sizeof(buf) - LWS_PRE)
		return -1;
	if (lws_write(wsi, start, (size_t)n, LWS_WRITE_TEXT) < n)
		return -1;
	if (ss->n_err > 0 || (ss->ack_pending && !ss->ack_due_ms) || ss->over_quota)
		lws_callback_on_writable(wsi);
	return 0;
}

void ws_closed(struct server *srv, struct session *ss)
{
	if (ss->ws_authed && ss->refused.n > 0)
		log_info("%s: connection of \"%s\" closed, %" PRIu64 " records refused "
			 "(hosts of other accounts)",
			 WS_PATH, ss->account, ss->refused.n);
	else if (ss->ws_authed)
		log_info("%s: connection of \"%s\" closed", WS_PATH, ss->account);
	if (ss->conn_host)
		api_host_connection(srv->api, ss->conn_host, -1);
	ws_tx_unlink(ss);
	free(ss->msg);
	ss->msg = NULL;
	free(ss->conn_host);
	ss->conn_host = NULL;
	for (size_t i = 0; i < ss->n_err; i++)
		free(ss->err[i]);
	ss->n_err = 0;
}
