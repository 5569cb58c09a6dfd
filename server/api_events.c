/* GET /api/v1/events: the Server-Sent Events stream of committed records (resumed after
 * Last-Event-ID) and of alert state changes, with keep-alives. */
#include "api_internal.h"

#include "log.h"
#include "db.h"
#include "json_out.h"
#include "monoclock.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EVENTS_BACKLOG	10000 /* records resent after Last-Event-ID, at most */
#define EVENTS_PER_TURN 200
#define KEEPALIVE_US	((lws_usec_t)15 * LWS_US_PER_SEC)

static void stream_keepalive(lws_sorted_usec_list_t *sul)
{
	struct api_req *rq = lws_container_of(sul, struct api_req, sul);

	rq->keepalive_due = true;
	lws_callback_on_writable(rq->wsi);
	lws_sul_schedule(rq->api->ctx, 0, &rq->sul, stream_keepalive, KEEPALIVE_US);
}

/* A revoked (or expired) token ends the stream: looked up again every TOKEN_RECHECK_MS. A
 * database failure keeps it open until the next look-up. */
static void stream_recheck(lws_sorted_usec_list_t *sul)
{
	struct api_req *rq = lws_container_of(sul, struct api_req, recheck_sul);
	struct db_auth auth;
	int r;

	r = db_token_auth(rq->api->db, rq->token_sha, &auth);
	if (r == -ENOENT) {
		rq->end_reason = "token revoked";
	} else if (r < 0) {
		log_warn_errno(r, "%s/events: token of \"%s\": database \"%s\", not checked",
			       API_PREFIX, rq->auth.account, db_errmsg(rq->api->db));
	} else if (auth.expires_ms <= wall_ms()) {
		rq->end_reason = "token expired";
	}
	if (rq->end_reason) {
		log_info("%s/events: %s of \"%s\", ending the stream", API_PREFIX, rq->end_reason,
			 rq->auth.account);
		lws_callback_on_writable(rq->wsi);
		return;
	}
	lws_sul_schedule(rq->api->ctx, 0, &rq->recheck_sul, stream_recheck,
			 (lws_usec_t)TOKEN_RECHECK_MS * LWS_US_PER_MS);
}

int ep_events(struct api_req *rq, const char *arg, const struct api_args *args)
{
	const char *host = api_args_get(args, "host");
	const char *type = api_args_get(args, "type");
	char last[32];
	int r;

	(void)arg;
	if (host && strlen(host) >= sizeof(rq->host))
		return api_bad_param(rq, "host", "longer than 255 bytes");
	if (type && strlen(type) >= sizeof(rq->type))
		return api_bad_param(rq, "type", "not a record type");
	(void)snprintf(rq->host, sizeof(rq->host), "%s", host ? host : "");
	(void)snprintf(rq->type, sizeof(rq->type), "%s", type ? type : "");
	r = db_api_last_record(rq->api->db, &rq->last_id);
	if (r < 0)
		return api_server_error(rq, r, "events");
	/* Last-Event-ID: resume after that record (within the backlog). */
	if (lws_hdr_custom_copy(rq->wsi, last, sizeof(last), "last-event-id:", 14) > 0) {
		int64_t id;

		if (api_parse_ms(last, &id) == 0 && id < rq->last_id)
			rq->last_id = id < rq->last_id - EVENTS_BACKLOG
					      ? rq->last_id - EVENTS_BACKLOG
					      : id;
	}
	rq->phase = RQ_SSE_HEADERS;
	rq->next = rq->api->streams;
	if (rq->next)
		rq->next->prev = &rq->next;
	rq->prev = &rq->api->streams;
	rq->api->streams = rq;
	lws_sul_schedule(rq->api->ctx, 0, &rq->sul, stream_keepalive, KEEPALIVE_US);
	lws_sul_schedule(rq->api->ctx, 0, &rq->recheck_sul, stream_recheck,
			 (lws_usec_t)TOKEN_RECHECK_MS * LWS_US_PER_MS);
	lws_callback_on_writable(rq->wsi);
	return 0;
}

/* Appends the SSE event of one record; newlines (whitespace between JSON tokens) become
 * spaces so that data stays one line. */
static int add_record_event(int64_t id, const char *body, size_t len, void *ctx)
{
	struct sbuf *out = ctx;
	size_t start;
	int r;

	r = sbuf_adds(out, "id: ");
	if (r == 0)
		r = json_add_i64(out, id);
	if (r == 0)
		r = sbuf_adds(out, "\nevent: record\ndata: ");
	start = out->len;
	if (r == 0)
		r = sbuf_add(out, body, len);
	for (size_t i = start; r == 0 && i < out->len; i++) {
		if (out->s[i] == '\n' || out->s[i] == '\r')
			out->s[i] = ' ';
	}
	if (r == 0)
		r = sbuf_adds(out, "\n\n");
	return r;
}

int api_events_writeable(struct lws *wsi, struct api_req *rq)
{
	unsigned char buf[LWS_PRE + WRITE_CHUNK];
	int64_t last = rq->last_id;
	enum lws_write_protocol wp = LWS_WRITE_HTTP;
	int r = 0;

	/* The "end" event is out (lws holds what the socket did not take until it is): close. */
	if (rq->phase == RQ_SSE_CLOSING)
		return -1;
	if (rq->phase == RQ_SSE_HEADERS) {
		rq->status = 200;
		if (api_write_headers(wsi, rq, "text/event-stream", LWS_ILLEGAL_HTTP_CONTENT_LEN) <
		    0)
			return -1;
		/* The stream stays open: no lws timeout applies to it. */
		lws_set_timeout(wsi, NO_PENDING_TIMEOUT, 0);
		rq->phase = RQ_SSE;
		rq->out.len = 0;
		r = sbuf_adds(&rq->out, ": srvmon events\n\n");
	}
	if (rq->sent >= rq->out.len && rq->end_reason) {
		rq->out.len = 0;
		rq->sent = 0;
		r = sbuf_adds(&rq->out, "event: end\ndata: {\"reason\":");
		if (r == 0)
			r = json_add_str(&rq->out, rq->end_reason, strlen(rq->end_reason));
		if (r == 0)
			r = sbuf_adds(&rq->out, "}\n\n");
		if (r < 0)
			return -1;
		rq->phase = RQ_SSE_CLOSING;
	} else if (rq->sent >= rq->out.len) {
		rq->out.len = 0;
		rq->sent = 0;
		while (r == 0 && rq->n_alerts > 0) {
			r = sbuf_adds(&rq->out, "event: alert\ndata: ");
			if (r == 0)
				r = sbuf_adds(&rq->out, rq->alerts[0]);
			if (r == 0)
				r = sbuf_adds(&rq->out, "\n\n");
			free(rq->alerts[0]);
			memmove(&rq->alerts[0], &rq->alerts[1],
				(rq->n_alerts - 1) * sizeof(rq->alerts[0]));
			rq->n_alerts--;
		}
		if (r == 0)
			r = db_api_records_after(rq->api->db, rq->last_id,
						 rq->host[0] ? rq->host : NULL,
						 rq->type[0] ? rq->type : NULL, EVENTS_PER_TURN,
						 add_record_event, &rq->out, &last);
		if (r < 0) {
			log_err_errno(r, "%s/events: database \"%s\"", API_PREFIX,
				      db_errmsg(rq->api->db));
			return -1;
		}
		if (rq->out.len == 0 && rq->keepalive_due)
			r = sbuf_adds(&rq->out, ": keep-alive\n\n");
		if (r < 0)
			return -1;
		rq->keepalive_due = false;
		rq->last_id = last;
	}
	if (rq->sent < rq->out.len) {
		size_t n = rq->out.len - rq->sent;

		if (n > WRITE_CHUNK)
			n = WRITE_CHUNK;
		memcpy(&buf[LWS_PRE], rq->out.s + rq->sent, n);
		if (rq->phase == RQ_SSE_CLOSING && rq->sent + n == rq->out.len)
			wp = LWS_WRITE_HTTP_FINAL;
		if (lws_write(wsi, &buf[LWS_PRE], n, wp) != (int)n)
			return -1;
		rq->sent += n;
		/* More to write, or maybe more records than one turn took. */
		lws_callback_on_writable(wsi);
	}
	return 0;
}

void api_events_end(struct api_req *rq)
{
	if (!rq->prev)
		return;
	*rq->prev = rq->next;
	if (rq->next)
		rq->next->prev = rq->prev;
	rq->prev = NULL;
	lws_sul_cancel(&rq->sul);
	lws_sul_cancel(&rq->recheck_sul);
}

void api_committed(struct api *api)
{
	if (!api)
		return;
	for (struct api_req *rq = api->streams; rq; rq = rq->next) {
		if (rq->phase == RQ_SSE)
			lws_callback_on_writable(rq->wsi);
	}
}

void api_alert_event(struct api *api, const char *json, size_t len)
{
	if (!api)
		return;
	for (struct api_req *rq = api->streams; rq; rq = rq->next) {
		char *copy;

		if (rq->n_alerts >= ALERT_EVENTS_MAX)
			continue;
		copy = strndup(json, len);
		if (!copy)
			continue;
		rq->alerts[rq->n_alerts++] = copy;
		lws_callback_on_writable(rq->wsi);
	}
}
