/* One record of a /ws frame: checked, its host's owner and the account's quota checked,
 * stored in the transaction of this event-loop turn, and acked once that commits. */
#include "http_internal.h"

#include "log.h"
#include "monoclock.h"
#include "api.h"
#include "db.h"
#include "quota.h"
#include "record_line.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One transaction groups the records of one event-loop turn, cut at these bounds. */
#define COMMIT_MAX_RECORDS 4096
#define COMMIT_MAX_MS	   20

static void ws_queue_error(struct lws *wsi, struct session *ss, const char *err)
{
	char buf[WS_ERROR_MAX];
	char *copy;

	if (ss->n_err >= MAX_PENDING_ERR)
		return;
	if (ingest_format_error(err, buf, sizeof(buf)) < 0)
		return;
	copy = strdup(buf);
	if (!copy)
		return;
	ss->err[ss->n_err++] = copy;
	lws_callback_on_writable(wsi);
}

int ws_close(struct lws *wsi, int code, const char *reason)
{
	lws_close_reason(wsi, (enum lws_close_status)code, (unsigned char *)reason, strlen(reason));
	return -1;
}

void ws_tx_unlink(struct session *ss)
{
	if (!ss->tx_prev)
		return;
	*ss->tx_prev = ss->tx_next;
	if (ss->tx_next)
		ss->tx_next->tx_prev = ss->tx_prev;
	ss->tx_next = NULL;
	ss->tx_prev = NULL;
}

/* Commits the open transaction; then the sessions that stored records in it get their ack
 * (acks mean committed), or, when the commit failed, are closed with 1011. */
void ws_tx_commit(struct server *srv)
{
	struct session *ss;
	int r;

	if (!db_in_transaction(srv->opts.db))
		return;
	r = db_commit(srv->opts.db);
	if (r < 0)
		log_db_err(srv->opts.db, r, "%s: committing %zu records: database \"%s\"", WS_PATH,
			   srv->tx_records, db_errmsg(srv->opts.db));
	if (r == 0)
		api_committed(srv->api); /* the event streams send what was committed */
	while ((ss = srv->tx_sessions)) {
		ws_tx_unlink(ss);
		if (r < 0) {
			ss->storage_failed = true;
		} else if (ss->have_uncommitted) {
			if (!ss->have_ack || ss->uncommitted_seq > ss->ack_seq)
				ss->ack_seq = ss->uncommitted_seq;
			ss->have_ack = true;
			ss->ack_pending = true;
			ss->acked_n += ss->uncommitted_n;
		}
		ss->have_uncommitted = false;
		ss->uncommitted_n = 0;
		lws_callback_on_writable(ss->wsi);
	}
	srv->tx_records = 0;
}

/* Commits early when the open transaction holds many records or is old. */
void ws_tx_bound(struct server *srv)
{
	if (srv->tx_records >= COMMIT_MAX_RECORDS || mono_ms() - srv->tx_start_ms >= COMMIT_MAX_MS)
		ws_tx_commit(srv);
}

/* Counts an invalid message; -1 (close 1008) when the connection sends them persistently. */
int ws_invalid(struct lws *wsi, struct session *ss, const char *what, const char *err)
{
	log_warn("%s: %s from \"%s\" rejected: %s, ignoring", WS_PATH, what, ss->account, err);
	ws_queue_error(wsi, ss, err);
	if (connlimit_charge(&ss->invalid, 1, 0, mono_ms()) > 0) {
		log_warn("%s: \"%s\" sent over %d invalid messages, closing (1008)", WS_PATH,
			 ss->account, INVALID_PER_S * INVALID_BURST_S);
		return ws_close(wsi, LWS_CLOSE_STATUS_POLICY_VIOLATION,
				"too many invalid messages");
	}
	return 0;
}

/* Whether the connection's account may write m's host (claiming it when it has no owner):
 * 1, 0 when refused (error queued; never acked), -EIO (logged). */
static int ws_owned(struct lws *wsi, struct server *srv, struct session *ss,
		    const struct ingest_msg *m, long index, uint64_t now)
{
	char reason[INGEST_MAX_HOST_ID + 96];
	const char *owner = NULL;
	bool owned = false;
	int r;

	r = hosts_check(srv->opts.db, &ss->owner, m->host_id, ss->account, now, &owned, &owner);
	if (r < 0) {
		log_db_err(srv->opts.db, r, "%s: owner of a host of \"%s\": database \"%s\"",
			   WS_PATH, ss->account, db_errmsg(srv->opts.db));
		return r;
	}
	if (owned)
		return 1;
	hosts_refusal_note(&ss->refused, m->seq);
	/* The owner is not named to the sender: that would tell it another account's name. */
	if (index < 0)
		(void)snprintf(reason, sizeof(reason), "host_id \"%s\" belongs to another account",
			       m->host_id);
	else
		(void)snprintf(reason, sizeof(reason),
			       "batch record %ld: host_id \"%s\" belongs to another account", index,
			       m->host_id);
	ws_queue_error(wsi, ss, reason);
	if (ss->refused.n == 1) {
		char host[INGEST_MAX_HOST_ID + 1];

		hosts_clean(m->host_id, host, sizeof(host));
		log_warn("%s: %s seq=%" PRIu64 " from \"%s\" refused: host_id \"%s\" belongs to "
			 "account \"%s\" (further refusals on this connection are counted)",
			 WS_PATH, m->type, m->seq, ss->account, host, owner);
	}
	return 0;
}

/*
 * Charges one record of len bytes to the account's quota. Over it, the record and every
 * later one on this connection are refused (not stored, not acked): one error frame says
 * why, the records committed before are acked, then the connection is closed with 1013 and
 * the agent sends the rest again after reconnecting (its backoff paces the retries).
 */
static bool over_quota(struct lws *wsi, struct server *srv, struct session *ss, size_t len)
{
	char err[200];
	uint64_t retry = 0;
	int r;

	if (ss->over_quota)
		return true;
	if (!srv->quota)
		return false;
	r = quota_charge(srv->quota, ss->account, len, mono_ms(), wall_ms(), &retry);
	if (r == 0)
		return false;
	if (r == -EDQUOT)
		(void)snprintf(
			err, sizeof(err), "over quota: %" PRIu64 " MiB a day for account \"%s\"",
			srv->opts.quota_bytes_per_day / ((uint64_t)1024 * 1024), ss->account);
	else
		(void)snprintf(err, sizeof(err),
			       "over quota: %" PRIu64 " records/s for account \"%s\"",
			       srv->opts.quota_records_per_s, ss->account);
	log_info("%s: %s: refusing the rest of this connection, closing (%d) once the "
		 "committed records are acked; retry in %" PRIu64 " ms",
		 WS_PATH, err, CLOSE_OVER_QUOTA, retry);
	ws_queue_error(wsi, ss, err);
	ss->over_quota = true;
	lws_rx_flow_control(wsi, 0);
	return true;
}

/* Validates and stores one record: a single-record frame (node NULL) or one element of a
 * batch (index >= 0, node its object in the batch's tree). 0, or -1 to close the
 * connection. */
int ws_record(struct lws *wsi, struct server *srv, struct session *ss, const char *buf, size_t len,
	      const cJSON *node, long index, uint64_t received)
{
	struct ingest_msg m;
	struct db_record rec;
	const char *err = NULL;
	char what[64];
	bool inserted = false;
	int r;

	r = node ? ingest_check(node, buf, len, &m, &err) : ingest_parse(buf, len, &m, &err);
	if (r == -ENOMEM) {
		log_warn("%s: message from \"%s\": out of memory, ignoring", WS_PATH, ss->account);
		ws_queue_error(wsi, ss, "server out of memory");
		return 0;
	}
	if (r < 0) {
		char reason[128];

		if (index < 0)
			return ws_invalid(wsi, ss, "message", err);
		(void)snprintf(what, sizeof(what), "batch record %ld", index);
		(void)snprintf(reason, sizeof(reason), "batch record %ld: %s", index, err);
		return ws_invalid(wsi, ss, what, reason);
	}
	if (over_quota(wsi, srv, ss, len)) {
		ingest_msg_clear(&m);
		return 0;
	}
	if (!db_in_transaction(srv->opts.db)) {
		r = db_begin(srv->opts.db);
		if (r < 0) {
			log_db_err(srv->opts.db, r, "%s: starting a transaction: database \"%s\"",
				   WS_PATH, db_errmsg(srv->opts.db));
			goto fail;
		}
		srv->tx_start_ms = mono_ms();
	}
	r = ws_owned(wsi, srv, ss, &m, index, received);
	if (r < 0)
		goto fail;
	if (r == 0) {
		ingest_msg_clear(&m);
		return 0;
	}
	rec = (struct db_record){
		.host_id = m.host_id,
		.seq = m.seq,
		.type = m.type,
		.ts = m.ts,
		.received_ms = received,
		.account = ss->account,
		.body = buf,
		.body_len = len,
	};
	/* Batched (the engine may defer the row to the commit) unless the record is printed
	 * when new (--print-records), which needs the answer now. */
	r = db_record_insert(srv->opts.db, &rec, srv->opts.records_out ? &inserted : NULL);
	if (r < 0) {
		log_db_err(srv->opts.db, r,
			   "%s: storing %s seq=%" PRIu64 " of \"%s\": database \"%s\"", WS_PATH,
			   m.type, m.seq, m.host_id, db_errmsg(srv->opts.db));
		goto fail;
	}
	srv->tx_records++;
	/* A duplicate is stored already: it is acknowledged like a new one. */
	if (!ss->have_uncommitted || m.seq > ss->uncommitted_seq)
		ss->uncommitted_seq = m.seq;
	ss->have_uncommitted = true;
	ss->uncommitted_n++;
	if (!ss->tx_prev) {
		ss->tx_next = srv->tx_sessions;
		if (ss->tx_next)
			ss->tx_next->tx_prev = &ss->tx_next;
		ss->tx_prev = &srv->tx_sessions;
		srv->tx_sessions = ss;
	}
	if (inserted && srv->opts.records_out) {
		char line[1024];

		record_line_format(m.obj, m.type, m.host_id, m.seq, received, line, sizeof(line));
		(void)fprintf(srv->opts.records_out, "%s\n", line);
		(void)fflush(srv->opts.records_out);
	}
	log_debug("%s: %s seq=%" PRIu64 " from \"%s\" %s", WS_PATH, m.type, m.seq, m.host_id,
		  !srv->opts.records_out ? "added to the transaction"
		  : inserted		 ? "stored"
					 : "duplicate");
	if (!ss->conn_host) {
		ss->conn_host = strdup(m.host_id);
		if (ss->conn_host)
			api_host_connection(srv->api, ss->conn_host, 1);
	}
	ingest_msg_clear(&m);
	return 0;
fail:
	ingest_msg_clear(&m);
	/* Nothing later on this connection is acked: the agent resends after reconnecting. */
	return ws_close(wsi, LWS_CLOSE_STATUS_UNEXPECTED_CONDITION, "storage failed");
}
