#include "webhook.h"

#include "notifyq.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define CONNECT_TIMEOUT_MS 5000L
#define TOTAL_TIMEOUT_MS   10000L
#define REPLY_MAX	   ((size_t)64 * 1024)

_Static_assert(NOTIFYQ_ERR_MAX >= CURL_ERROR_SIZE, "curl's error buffer fits notifyq's");

struct webhook {
	struct notifyq *q;
};

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
	return notifyq_stopping(ctx) ? 1 : 0;
}

/* One POST. 0 on a 2xx answer; otherwise -EIO with the reason in err. */
static int post_once(struct notifyq *q, void *ctx, const char *url, const char *body, size_t len,
		     char *err)
{
	struct curl_slist *hdr = NULL;
	size_t got = 0;
	long status = 0;
	CURLcode rc;
	CURL *c;

	(void)ctx;
	c = curl_easy_init();
	if (!c) {
		(void)snprintf(err, NOTIFYQ_ERR_MAX, "curl_easy_init failed");
		return -ENOMEM;
	}
	hdr = curl_slist_append(NULL, "Content-Type: application/json");
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, err);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, CONNECT_TIMEOUT_MS);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, TOTAL_TIMEOUT_MS);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, drop_reply);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &got);
	curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, abort_on_stop);
	curl_easy_setopt(c, CURLOPT_XFERINFODATA, q);
	rc = curl_easy_perform(c);
	if (rc == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	else if (!err[0])
		(void)snprintf(err, NOTIFYQ_ERR_MAX, "%s", curl_easy_strerror(rc));
	curl_easy_cleanup(c);
	curl_slist_free_all(hdr);
	if (rc == CURLE_OK && status >= 200 && status < 300)
		return 0;
	if (rc == CURLE_OK)
		(void)snprintf(err, NOTIFYQ_ERR_MAX, "HTTP %ld", status);
	return -EIO;
}

struct webhook *webhook_new(void)
{
	struct webhook *wh = calloc(1, sizeof(*wh));
	int e;

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
	wh->q = notifyq_new("webhook", post_once, NULL);
	if (!wh->q) {
		e = errno;
		curl_global_cleanup();
		free(wh);
		errno = e;
		return NULL;
	}
	return wh;
}

int webhook_post(struct webhook *wh, const char *url, const char *json, size_t len)
{
	return notifyq_push(wh->q, url, json, len);
}

void webhook_free(struct webhook *wh)
{
	if (!wh)
		return;
	notifyq_free(wh->q);
	curl_global_cleanup();
	free(wh);
}
