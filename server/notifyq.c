#include "notifyq.h"

#include "log.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define QUEUE_MAX 256

/* Waits before the attempts after the first (policy as data). */
static const unsigned int retry_ms[] = {1000, 2000, 4000, 8000, 16000};

struct item {
	struct item *next;
	char *dest;
	char *body;
	size_t len;
};

struct notifyq {
	char channel[16];
	notifyq_send_fn send;
	void *ctx;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool stop;
	struct item *head, **tail;
	size_t n;
};

static void item_free(struct item *it)
{
	if (!it)
		return;
	free(it->dest);
	free(it->body);
	free(it);
}

bool notifyq_stopping(struct notifyq *q)
{
	bool s;

	pthread_mutex_lock(&q->lock);
	s = q->stop;
	pthread_mutex_unlock(&q->lock);
	return s;
}

/* Sleeps ms unless stopped first. false when stopped. */
static bool wait_ms(struct notifyq *q, unsigned int ms)
{
	struct timespec until;
	bool stop;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += ms / 1000;
	until.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&q->lock);
	while (!q->stop && pthread_cond_timedwait(&q->cond, &q->lock, &until) != ETIMEDOUT)
		;
	stop = q->stop;
	pthread_mutex_unlock(&q->lock);
	return !stop;
}

static void deliver(struct notifyq *q, struct item *it)
{
	char err[NOTIFYQ_ERR_MAX];
	size_t n_retry = sizeof(retry_ms) / sizeof(retry_ms[0]);

	for (size_t attempt = 0;; attempt++) {
		err[0] = '\0';
		if (q->send(q, q->ctx, it->dest, it->body, it->len, err) == 0) {
			log_debug("%s \"%s\": delivered", q->channel, it->dest);
			return;
		}
		if (notifyq_stopping(q))
			return;
		if (attempt == n_retry) {
			log_warn("%s \"%s\": %s; given up after %zu attempts, notification "
				 "dropped",
				 q->channel, it->dest, err, attempt + 1);
			return;
		}
		log_info("%s \"%s\": %s, trying again in %u ms", q->channel, it->dest, err,
			 retry_ms[attempt]);
		if (!wait_ms(q, retry_ms[attempt]))
			return;
	}
}

static void *worker(void *arg)
{
	struct notifyq *q = arg;

	for (;;) {
		struct item *it;

		pthread_mutex_lock(&q->lock);
		while (!q->stop && !q->head)
			pthread_cond_wait(&q->cond, &q->lock);
		if (q->stop) {
			pthread_mutex_unlock(&q->lock);
			return NULL;
		}
		it = q->head;
		q->head = it->next;
		if (!q->head)
			q->tail = &q->head;
		q->n--;
		pthread_mutex_unlock(&q->lock);
		deliver(q, it);
		item_free(it);
	}
}

struct notifyq *notifyq_new(const char *channel, notifyq_send_fn send, void *ctx)
{
	struct notifyq *q = calloc(1, sizeof(*q));
	char name[16];
	int r;

	if (!q) {
		errno = ENOMEM;
		return NULL;
	}
	(void)snprintf(q->channel, sizeof(q->channel), "%s", channel);
	q->send = send;
	q->ctx = ctx;
	q->tail = &q->head;
	pthread_mutex_init(&q->lock, NULL);
	pthread_cond_init(&q->cond, NULL);
	r = pthread_create(&q->thread, NULL, worker, q);
	if (r != 0) {
		pthread_cond_destroy(&q->cond);
		pthread_mutex_destroy(&q->lock);
		free(q);
		errno = r;
		return NULL;
	}
	/* Thread names are at most 15 bytes. */
	(void)snprintf(name, sizeof(name), "srvmon-%.8s", channel);
	(void)pthread_setname_np(q->thread, name);
	return q;
}

int notifyq_push(struct notifyq *q, const char *dest, const char *body, size_t len)
{
	struct item *it = calloc(1, sizeof(*it));

	if (!it)
		return -ENOMEM;
	it->dest = strdup(dest);
	it->body = strndup(body, len);
	it->len = len;
	if (!it->dest || !it->body) {
		item_free(it);
		return -ENOMEM;
	}
	pthread_mutex_lock(&q->lock);
	if (q->n >= QUEUE_MAX) {
		pthread_mutex_unlock(&q->lock);
		log_warn("%s \"%s\": %d notifications waiting, this one dropped", q->channel, dest,
			 QUEUE_MAX);
		item_free(it);
		return -ENOSPC;
	}
	*q->tail = it;
	q->tail = &it->next;
	q->n++;
	pthread_cond_signal(&q->cond);
	pthread_mutex_unlock(&q->lock);
	return 0;
}

void notifyq_free(struct notifyq *q)
{
	struct item *it;

	if (!q)
		return;
	pthread_mutex_lock(&q->lock);
	q->stop = true;
	pthread_cond_broadcast(&q->cond);
	pthread_mutex_unlock(&q->lock);
	pthread_join(q->thread, NULL);
	while ((it = q->head)) {
		q->head = it->next;
		item_free(it);
	}
	pthread_cond_destroy(&q->cond);
	pthread_mutex_destroy(&q->lock);
	free(q);
}
