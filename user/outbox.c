#include "outbox.h"

#include "log.h"
#include "message.h"
#include "seqstore.h"
#include "spool.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

struct outbox_item {
	struct outbox_item *next;
	uint64_t seq;
	bool sent;
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
	bool acks_seen; /* the server acks (seen on the current or an earlier connection) */
	struct outbox_stats stats;
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
	free(o->host_id);
	free(o);
}

void outbox_use_spool(struct outbox *o, struct spool *sp)
{
	pthread_mutex_lock(&o->lock);
	o->spool = sp;
	pthread_mutex_unlock(&o->lock);
}

void outbox_sync(struct outbox *o)
{
	pthread_mutex_lock(&o->lock);
	if (o->spool)
		spool_sync(o->spool, 0);
	pthread_mutex_unlock(&o->lock);
}

static uint64_t spool_records(struct spool *sp)
{
	struct spool_stats st;

	spool_stats(sp, &st);
	return st.records;
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
	struct outbox_item *it = o->head;

	/* On a server that never acks, written records count as delivered. */
	if (!it->sent || o->acks_seen)
		o->stats.dropped++;
	o->head = it->next;
	if (!o->head)
		o->tail = NULL;
	o->count--;
	free(it);
}

int outbox_submit(struct outbox *o, cJSON *msg)
{
	struct outbox_item *it = NULL;
	void (*notify)(void *arg);
	void *notify_arg;
	char *text = NULL;
	uint64_t seq;
	size_t len;
	int r = 0;

	if (!msg)
		return -ENOMEM;
	pthread_mutex_lock(&o->lock);
	if (o->seq)
		seqstore_next(o->seq, &seq);
	else
		seq = ++o->local_seq;
	text = message_finish(msg, o->host_id, seq);
	if (!text) {
		r = -ENOMEM;
		o->stats.dropped++;
		goto out_unlock;
	}
	len = strlen(text);
	if (o->spool) {
		/* Failures are counted by the spool (stats) and logged there once. */
		r = spool_append(o->spool, seq, text, len);
		if (r == 0)
			o->stats.submitted++;
		goto out_unlock;
	}
	it = malloc(sizeof(*it) + len + 1);
	if (!it) {
		r = -ENOMEM;
		o->stats.dropped++;
		goto out_unlock;
	}
	it->next = NULL;
	it->seq = seq;
	it->sent = false;
	it->len = len;
	memcpy(it->text, text, len + 1);
	if (o->count >= o->max)
		outbox_evict_locked(o);
	if (o->tail)
		o->tail->next = it;
	else
		o->head = it;
	o->tail = it;
	o->count++;
	o->stats.submitted++;
out_unlock:
	notify = o->notify;
	notify_arg = o->notify_arg;
	pthread_mutex_unlock(&o->lock);
	cJSON_free(text);
	cJSON_Delete(msg);
	if (r == 0 && notify)
		notify(notify_arg);
	return r;
}

int outbox_peek(struct outbox *o, char *buf, size_t len, size_t *ret_len, uint64_t *ret_seq)
{
	struct outbox_item *it;
	int r = 0;

	pthread_mutex_lock(&o->lock);
	if (o->spool) {
		r = spool_peek(o->spool, buf, len, ret_len, ret_seq);
		goto out;
	}
	for (it = o->head; it && it->sent; it = it->next)
		;
	if (!it)
		goto out;
	*ret_len = it->len;
	*ret_seq = it->seq;
	if (it->len > len) {
		r = -ENOSPC;
		goto out;
	}
	memcpy(buf, it->text, it->len);
	r = (int)it->len;
out:
	pthread_mutex_unlock(&o->lock);
	return r;
}

void outbox_mark_sent(struct outbox *o, uint64_t seq)
{
	struct outbox_item *it;

	pthread_mutex_lock(&o->lock);
	if (o->spool)
		spool_mark_sent(o->spool, seq);
	for (it = o->head; it; it = it->next) {
		if (it->seq == seq) {
			it->sent = true;
			break;
		}
	}
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

void outbox_connection_closed(struct outbox *o)
{
	struct outbox_item **pp;
	struct outbox_item *it;

	pthread_mutex_lock(&o->lock);
	if (o->spool) {
		if (o->acks_seen)
			spool_rewind(o->spool);
		else
			spool_commit_sent(o->spool); /* a server that never acks */
	}
	pp = &o->head;
	while (*pp) {
		it = *pp;
		if (it->sent && !o->acks_seen) {
			/* A server that never acks: written is delivered. */
			*pp = it->next;
			o->count--;
			free(it);
			continue;
		}
		it->sent = false;
		pp = &it->next;
	}
	o->tail = NULL;
	for (it = o->head; it; it = it->next)
		o->tail = it;
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
