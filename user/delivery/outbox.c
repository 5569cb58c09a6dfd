#include "outbox.h"

#include "json_out.h"
#include "log.h"
#include "message_json.h"
#include "monoclock.h"
#include "seqstore.h"
#include "spool.h"
#include "srvmon_proto.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

struct outbox_item {
	struct outbox_item *next;
	uint64_t seq;
	bool sent;
	uint64_t sent_ms; /* when it was written (sent) */
	size_t len;
	char text[];
};

struct outbox {
	pthread_mutex_t lock;
	char *host_id;
	struct seqstore *seq;
	struct spool *spool; /* when set, records live there instead of the list below */
	uint64_t local_seq;
	size_t max;
	struct outbox_item *head; /* oldest */
	struct outbox_item *tail;
	size_t count;
	bool acks_seen; /* the server acks (an ack or a welcome, now or on an earlier connection) */
	/*
	 * A server that never acks: a written record is delivered once the connection
	 * stayed up grace_ms after it was written, up to when the server's close frame came
	 * (closing_ms) if it did. Until then it is written again after a close.
	 */
	uint64_t grace_ms;
	bool closing;
	uint64_t closing_ms;
	uint64_t (*clock)(void);
	struct outbox_stats stats;
	struct sbuf buf;	/* outbox_submit_json(): the records being finished */
	struct spool_rec *recs; /* outbox_submit_json(): where they are in buf */
	size_t recs_cap;
	void (*notify)(void *arg);
	void *notify_arg;
};

struct outbox *outbox_new(const char *host_id, struct seqstore *seq, size_t max)
{
	struct outbox *o;

	o = calloc(1, sizeof(*o));
	if (!o)
		return NULL;
	o->host_id = strdup(host_id);
	if (!o->host_id) {
		free(o);
		errno = ENOMEM;
		return NULL;
	}
	pthread_mutex_init(&o->lock, NULL);
	o->seq = seq;
	o->max = max ? max : 1;
	o->grace_ms = OUTBOX_UNACKED_GRACE_MS;
	o->clock = mono_ms;
	return o;
}

void outbox_free(struct outbox *o)
{
	struct outbox_item *it;

	if (!o)
		return;
	while (o->head) {
		it = o->head;
		o->head = it->next;
		free(it);
	}
	pthread_mutex_destroy(&o->lock);
	sbuf_free(&o->buf);
	free(o->recs);
	free(o->host_id);
	free(o);
}

size_t outbox_use_spool(struct outbox *o, struct spool *sp)
{
	struct outbox_item *it;
	size_t moved = 0;

	pthread_mutex_lock(&o->lock);
	o->spool = sp;
	/* A record the spool cannot take is counted there (failed), like any append. */
	while ((it = o->head)) {
		o->head = it->next;
		if (spool_append(sp, it->seq, it->text, it->len) == 0)
			moved++;
		free(it);
	}
	o->tail = NULL;
	o->count = 0;
	pthread_mutex_unlock(&o->lock);
	return moved;
}

static uint64_t spool_records(struct spool *sp)
{
	struct spool_stats st;

	spool_stats(sp, &st);
	return st.records;
}

/* The write time kept in the spool: rounded up to a 64th of the grace, so that a
 * connection's writes in one grace take at most ~65 marks (a record then waits at most
 * that much longer than its grace before it counts as delivered). */
static uint64_t mark_ms(const struct outbox *o, uint64_t now)
{
	uint64_t q = o->grace_ms / 64 ? o->grace_ms / 64 : 1;

	return now / q * q + (now % q ? q : 0);
}

/* A server that never acks (with the lock held): the records written at least grace_ms
 * before now, or before the server's close frame came, are delivered. */
static void settle_locked(struct outbox *o)
{
	uint64_t now, until;
	struct outbox_item *it;

	if (o->acks_seen)
		return;
	now = o->clock();
	if (o->closing && o->closing_ms < now)
		now = o->closing_ms;
	if (now < o->grace_ms)
		return;
	until = now - o->grace_ms;
	if (o->spool) {
		uint64_t before = spool_records(o->spool);

		spool_settle(o->spool, until);
		o->stats.acked += before - spool_records(o->spool);
	}
	/* Written records are a prefix of the queue, in the order they were written. */
	while (o->head && o->head->sent && o->head->sent_ms <= until) {
		it = o->head;
		o->head = it->next;
		if (!o->head)
			o->tail = NULL;
		o->count--;
		o->stats.acked++;
		free(it);
	}
}

void outbox_set_unacked_grace(struct outbox *o, uint64_t grace_ms)
{
	pthread_mutex_lock(&o->lock);
	o->grace_ms = grace_ms;
	pthread_mutex_unlock(&o->lock);
}

void outbox_set_clock(struct outbox *o, uint64_t (*clock)(void))
{
	pthread_mutex_lock(&o->lock);
	o->clock = clock ? clock : mono_ms;
	pthread_mutex_unlock(&o->lock);
}

void outbox_sync(struct outbox *o)
{
	pthread_mutex_lock(&o->lock);
	settle_locked(o);
	if (o->spool)
		spool_sync(o->spool, 0);
	pthread_mutex_unlock(&o->lock);
}

void outbox_set_notify(struct outbox *o, void (*fn)(void *arg), void *arg)
{
	pthread_mutex_lock(&o->lock);
	o->notify = fn;
	o->notify_arg = arg;
	pthread_mutex_unlock(&o->lock);
}

/* Called with the lock held and the queue full: makes room for one record. */
static void outbox_evict_locked(struct outbox *o)
{
	struct outbox_item *it;

	/* Written records whose grace has passed are delivered: not evicted, gone. */
	settle_locked(o);
	if (o->count < o->max)
		return;
	/* Unsent, or written and neither acked nor settled: it may never arrive. */
	it = o->head;
	o->stats.dropped++;
	o->head = it->next;
	if (!o->head)
		o->tail = NULL;
	o->count--;
	free(it);
}

/* Queues a printed record (with the lock held). 0 or -errno, counted either way. */
static int enqueue_locked(struct outbox *o, uint64_t seq, const char *text, size_t len)
{
	struct outbox_item *it;
	int r;

	if (o->spool) {
		/* Failures are counted by the spool (stats) and logged there once. */
		r = spool_append(o->spool, seq, text, len);
		if (r == 0)
			o->stats.submitted++;
		return r;
	}
	it = malloc(sizeof(*it) + len + 1);
	if (!it) {
		o->stats.dropped++;
		return -ENOMEM;
	}
	it->next = NULL;
	it->seq = seq;
	it->sent = false;
	it->sent_ms = 0;
	it->len = len;
	memcpy(it->text, text, len);
	it->text[len] = '\0';
	if (o->count >= o->max)
		outbox_evict_locked(o);
	if (o->tail)
		o->tail->next = it;
	else
		o->head = it;
	o->tail = it;
	o->count++;
	o->stats.submitted++;
	return 0;
}

static uint64_t next_seq_locked(struct outbox *o)
{
	uint64_t seq;

	if (o->seq)
		seqstore_next(o->seq, &seq);
	else
		seq = ++o->local_seq;
	return seq;
}

static void notify(struct outbox *o)
{
	void (*fn)(void *arg);
	void *arg;

	pthread_mutex_lock(&o->lock);
	fn = o->notify;
	arg = o->notify_arg;
	pthread_mutex_unlock(&o->lock);
	if (fn)
		fn(arg);
}

int outbox_submit(struct outbox *o, cJSON *msg)
{
	char *text = NULL;
	uint64_t seq;
	int r;

	if (!msg)
		return -ENOMEM;
	pthread_mutex_lock(&o->lock);
	seq = next_seq_locked(o);
	text = message_finish(msg, o->host_id, seq);
	if (text && strlen(text) > SRVMON_MAX_MESSAGE) {
		r = -EMSGSIZE;
		o->stats.dropped++;
		log_err("record seq %llu is %zu bytes, over the %u bytes a server accepts; dropped",
			(unsigned long long)seq, strlen(text), SRVMON_MAX_MESSAGE);
	} else if (text) {
		r = enqueue_locked(o, seq, text, strlen(text));
	} else {
		r = -ENOMEM;
		o->stats.dropped++;
	}
	pthread_mutex_unlock(&o->lock);
	cJSON_free(text);
	cJSON_Delete(msg);
	if (r == 0)
		notify(o);
	return r;
}

/* Room for n entries in o->recs. 0 or -ENOMEM. */
static int recs_reserve(struct outbox *o, size_t n)
{
	struct spool_rec *r;

	if (n <= o->recs_cap)
		return 0;
	r = realloc(o->recs, n * sizeof(*r));
	if (!r)
		return -ENOMEM;
	o->recs = r;
	o->recs_cap = n;
	return 0;
}

int outbox_submit_json(struct outbox *o, const struct record_text *recs, size_t n)
{
	size_t queued = 0, nrec = 0;
	int r = 0;

	pthread_mutex_lock(&o->lock);
	o->buf.len = 0;
	if (recs_reserve(o, n) < 0) {
		o->stats.dropped += n;
		pthread_mutex_unlock(&o->lock);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		const struct record_text *m = &recs[i];
		size_t start = o->buf.len;
		uint64_t seq;
		int e;

		if (m->len < 2 || m->text[0] != '{' || m->text[m->len - 1] != '}') {
			o->stats.dropped++;
			r = -EINVAL;
			continue;
		}
		/* "{...}" -> "{...,"host_id":"H","seq":N}", as message_finish() prints it. */
		seq = next_seq_locked(o);
		e = sbuf_add(&o->buf, m->text, m->len - 1);
		e = e ? e : sbuf_adds(&o->buf, m->len == 2 ? "\"host_id\":" : ",\"host_id\":");
		e = e ? e : json_add_str(&o->buf, o->host_id, strlen(o->host_id));
		e = e ? e : sbuf_add(&o->buf, ",\"seq\":", 7);
		e = e ? e : json_add_u64(&o->buf, seq);
		e = e ? e : sbuf_addc(&o->buf, '}');
		if (!e && o->buf.len - start > SRVMON_MAX_MESSAGE) {
			log_err("record seq %llu is %zu bytes, over the %u bytes a server accepts; "
				"dropped",
				(unsigned long long)seq, o->buf.len - start, SRVMON_MAX_MESSAGE);
			e = -EMSGSIZE;
		}
		if (e) {
			o->buf.len = start;
			o->stats.dropped++;
			r = e;
			continue;
		}
		/* Offsets for now: buf may move while it grows. */
		o->recs[nrec++] = (struct spool_rec){.seq = seq, .text = NULL, .len = start};
	}
	for (size_t i = 0; i < nrec; i++) {
		size_t start = o->recs[i].len;
		size_t end = i + 1 < nrec ? o->recs[i + 1].len : o->buf.len;

		o->recs[i].text = o->buf.s + start;
		o->recs[i].len = end - start;
	}
	if (o->spool && nrec > 0) {
		/* All records of the call in one append (failures counted by the spool). */
		int e = spool_append_many(o->spool, o->recs, nrec);

		if (e > 0) {
			queued = (size_t)e;
			o->stats.submitted += queued;
		} else {
			r = e;
		}
	} else {
		for (size_t i = 0; i < nrec; i++) {
			int e = enqueue_locked(o, o->recs[i].seq, o->recs[i].text, o->recs[i].len);

			if (e == 0)
				queued++;
			else
				r = e;
		}
	}
	pthread_mutex_unlock(&o->lock);
	if (queued == 0)
		return n == 0 ? 0 : r;
	notify(o);
	return (int)queued;
}

int outbox_peek_many(struct outbox *o, char *buf, size_t len, size_t max_n, size_t *ret_len,
		     uint64_t *ret_seq, size_t *ret_n)
{
	struct outbox_item *it;
	size_t used = 0, n = 0;
	int r = 0;

	*ret_n = 0;
	pthread_mutex_lock(&o->lock);
	if (o->spool) {
		r = spool_peek_many(o->spool, buf, len, max_n, ret_len, ret_seq, ret_n);
		goto out;
	}
	for (it = o->head; it && it->sent; it = it->next)
		;
	for (; it && n < max_n; it = it->next) {
		size_t sep = n > 0;

		if (n == 0) {
			*ret_len = it->len;
			*ret_seq = it->seq;
			if (it->len > len) {
				r = -ENOSPC;
				goto out;
			}
		} else if (used + sep + it->len > len) {
			break;
		}
		if (sep)
			buf[used] = ',';
		memcpy(buf + used + sep, it->text, it->len);
		used += sep + it->len;
		*ret_seq = it->seq;
		n++;
	}
	*ret_len = used;
	*ret_n = n;
	r = (int)used;
out:
	pthread_mutex_unlock(&o->lock);
	return r;
}

int outbox_peek(struct outbox *o, char *buf, size_t len, size_t *ret_len, uint64_t *ret_seq)
{
	size_t n;

	return outbox_peek_many(o, buf, len, 1, ret_len, ret_seq, &n);
}

void outbox_mark_sent(struct outbox *o, uint64_t seq)
{
	struct outbox_item *it;
	uint64_t now;

	pthread_mutex_lock(&o->lock);
	now = o->clock();
	if (o->spool)
		spool_mark_sent(o->spool, seq, mark_ms(o, now));
	/* Every record peeked with it: those up to seq (seqs increase along the queue). */
	for (it = o->head; it && it->seq <= seq; it = it->next) {
		if (!it->sent)
			it->sent_ms = now;
		it->sent = true;
	}
	settle_locked(o);
	pthread_mutex_unlock(&o->lock);
}

void outbox_ack(struct outbox *o, uint64_t seq)
{
	struct outbox_item *it;

	pthread_mutex_lock(&o->lock);
	o->acks_seen = true;
	if (o->spool) {
		uint64_t before = spool_records(o->spool);

		spool_ack(o->spool, seq);
		o->stats.acked += before - spool_records(o->spool);
	}
	/* seq is per agent and increasing in queue order: acked records are a prefix. */
	while (o->head && o->head->sent && o->head->seq <= seq) {
		it = o->head;
		o->head = it->next;
		if (!o->head)
			o->tail = NULL;
		o->count--;
		o->stats.acked++;
		free(it);
	}
	pthread_mutex_unlock(&o->lock);
}

void outbox_expect_acks(struct outbox *o)
{
	pthread_mutex_lock(&o->lock);
	o->acks_seen = true;
	pthread_mutex_unlock(&o->lock);
}

void outbox_peer_closing(struct outbox *o)
{
	pthread_mutex_lock(&o->lock);
	if (!o->closing) {
		o->closing = true;
		o->closing_ms = o->clock();
	}
	pthread_mutex_unlock(&o->lock);
}

void outbox_connection_closed(struct outbox *o)
{
	struct outbox_item *it;

	pthread_mutex_lock(&o->lock);
	/* A server that never acks: what the connection outlived by the grace is delivered. */
	settle_locked(o);
	o->closing = false;
	/* The rest is written again on the next connection, as it was, in order. */
	if (o->spool)
		spool_rewind(o->spool);
	for (it = o->head; it; it = it->next)
		it->sent = false;
	pthread_mutex_unlock(&o->lock);
}

size_t outbox_pending(struct outbox *o)
{
	struct outbox_item *it;
	size_t n = 0;

	pthread_mutex_lock(&o->lock);
	if (o->spool) {
		struct spool_stats st;

		spool_stats(o->spool, &st);
		n = st.unsent;
	}
	for (it = o->head; it; it = it->next)
		n += !it->sent;
	pthread_mutex_unlock(&o->lock);
	return n;
}

void outbox_stats(struct outbox *o, struct outbox_stats *ret)
{
	pthread_mutex_lock(&o->lock);
	*ret = o->stats;
	ret->queued = o->count;
	if (o->spool) {
		struct spool_stats st;

		spool_stats(o->spool, &st);
		ret->queued += st.records;
		ret->spool_dropped = st.dropped + st.failed;
		ret->dropped += ret->spool_dropped;
		ret->spool_bytes = st.bytes;
	}
	pthread_mutex_unlock(&o->lock);
}
