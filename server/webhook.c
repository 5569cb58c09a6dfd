#include "webhook.h"

#include "log.h"

#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define QUEUE_MAX	   256
#define CONNECT_TIMEOUT_MS 5000L
#define TOTAL_TIMEOUT_MS   10000L
#define REPLY_MAX	   ((size_t)64 * 1024)

/* Waits before the attempts after the first (policy as data). */
static const unsigned int retry_ms[] = {1000, 2000, 4000, 8000, 16000};

struct item {
	struct item *next;
	char *url;
	char *body;
	size_t len;
};

struct webhook {
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
	free(it->url);
	free(it->body);
	free(it);
}

static bool stopping(struct webhook *wh)
{
	bool s;

	pthread_mutex_lock(&wh->lock);
	s = wh->stop;
	pthread_mutex_unlock(&wh->lock);
	return s;
}

/* The reply is read and dropped, up to REPLY_MAX. */
static size_t drop_reply(char *ptr, size_t size, size_t nmemb, void *ctx)
{
	size_t *got = ctx;

	(void)ptr;
	*got += size * nmemb;
	return *got > REPLY_MAX ? 0 : size * nmemb;
}

static int abort_on_stop(void *ctx, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
			 curl_off_t ulnow)
{
	(void)dltotal;
	(void)dlnow;
	(void)ultotal;
	(void)ulnow;
	return stopping(ctx) ? 1 : 0;
}

/* One POST. 0 on a 2xx answer; otherwise -EIO with the reason in err. */
static int post_once(struct webhook *wh, const struct item *it, char err[CURL_ERROR_SIZE])
{
	struct curl_slist *hdr = NULL;
	size_t got = 0;
	long status = 0;
	CURLcode rc;
	CURL *c;

	err[0] = '\0';
	c = curl_easy_init();
	if (!c) {
		(void)snprintf(err, CURL_ERROR_SIZE, "curl_easy_init failed");
		return -ENOMEM;
	}
	hdr = curl_slist_append(NULL, "Content-Type: application/json");
	curl_easy_setopt(c, CURLOPT_URL, it->url);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, err);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, CONNECT_TIMEOUT_MS);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, TOTAL_TIMEOUT_MS);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, it->body);
	curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)it->len);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, drop_reply);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &got);
	curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, abort_on_stop);
	curl_easy_setopt(c, CURLOPT_XFERINFODATA, wh);
	rc = curl_easy_perform(c);
	if (rc == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	else if (!err[0])
		(void)snprintf(err, CURL_ERROR_SIZE, "%s", curl_easy_strerror(rc));
	curl_easy_cleanup(c);
	curl_slist_free_all(hdr);
	if (rc == CURLE_OK && status >= 200 && status < 300)
		return 0;
	if (rc == CURLE_OK)
		(void)snprintf(err, CURL_ERROR_SIZE, "HTTP %ld", status);
	return -EIO;
}

/* Sleeps ms unless stopped first. false when stopped. */
static bool wait_ms(struct webhook *wh, unsigned int ms)
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
	pthread_mutex_lock(&wh->lock);
	while (!wh->stop && pthread_cond_timedwait(&wh->cond, &wh->lock, &until) != ETIMEDOUT)
		;
	stop = wh->stop;
	pthread_mutex_unlock(&wh->lock);
	return !stop;
}

static void deliver(struct webhook *wh, struct item *it)
{
	char err[CURL_ERROR_SIZE];
	size_t n_retry = sizeof(retry_ms) / sizeof(retry_ms[0]);

	for (size_t attempt = 0;; attempt++) {
		if (post_once(wh, it, err) == 0) {
			log_debug("webhook \"%s\": delivered", it->url);
			return;
		}
		if (attempt == n_retry) {
			log_warn("webhook \"%s\": %s; given up after %zu attempts, notification "
				 "dropped",
				 it->url, err, attempt + 1);
			return;
		}
		log_info("webhook \"%s\": %s, trying again in %u ms", it->url, err,
			 retry_ms[attempt]);
		if (!wait_ms(wh, retry_ms[attempt]))
			return;
	}
}

static void *worker(void *arg)
{
	struct webhook *wh = arg;

	for (;;) {
		struct item *it;

		pthread_mutex_lock(&wh->lock);
		while (!wh->stop && !wh->head)
			pthread_cond_wait(&wh->cond, &wh->lock);
		if (wh->stop) {
			pthread_mutex_unlock(&wh->lock);
			return NULL;
		}
		it = wh->head;
		wh->head = it->next;
		if (!wh->head)
			wh->tail = &wh->head;
		wh->n--;
		pthread_mutex_unlock(&wh->lock);
		deliver(wh, it);
		item_free(it);
	}
}

struct webhook *webhook_new(void)
{
	struct webhook *wh = calloc(1, sizeof(*wh));
	int r;

	if (!wh) {
		errno = ENOMEM;
		return NULL;
	}
	/* Before any thread: curl_global_init is not thread-safe. */
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		free(wh);
		errno = EIO;
		return NULL;
	}
	wh->tail = &wh->head;
	pthread_mutex_init(&wh->lock, NULL);
	pthread_cond_init(&wh->cond, NULL);
	r = pthread_create(&wh->thread, NULL, worker, wh);
	if (r != 0) {
		pthread_cond_destroy(&wh->cond);
		pthread_mutex_destroy(&wh->lock);
		curl_global_cleanup();
		free(wh);
		errno = r;
		return NULL;
	}
	(void)pthread_setname_np(wh->thread, "srvmon-webhook");
	return wh;
}

int webhook_post(struct webhook *wh, const char *url, const char *json, size_t len)
{
	struct item *it = calloc(1, sizeof(*it));

	if (!it)
		return -ENOMEM;
	it->url = strdup(url);
	it->body = strndup(json, len);
	it->len = len;
	if (!it->url || !it->body) {
		item_free(it);
		return -ENOMEM;
	}
	pthread_mutex_lock(&wh->lock);
	if (wh->n >= QUEUE_MAX) {
		pthread_mutex_unlock(&wh->lock);
		log_warn("webhook \"%s\": %d notifications waiting, this one dropped", url,
			 QUEUE_MAX);
		item_free(it);
		return -ENOSPC;
	}
	*wh->tail = it;
	wh->tail = &it->next;
	wh->n++;
	pthread_cond_signal(&wh->cond);
	pthread_mutex_unlock(&wh->lock);
	return 0;
}

void webhook_free(struct webhook *wh)
{
	struct item *it;

	if (!wh)
		return;
	pthread_mutex_lock(&wh->lock);
	wh->stop = true;
	pthread_cond_broadcast(&wh->cond);
	pthread_mutex_unlock(&wh->lock);
	pthread_join(wh->thread, NULL);
	while ((it = wh->head)) {
		wh->head = it->next;
		item_free(it);
	}
	pthread_cond_destroy(&wh->cond);
	pthread_mutex_destroy(&wh->lock);
	curl_global_cleanup();
	free(wh);
}
