#include "speedtest_http.h"

#include "log.h"
#include "numparse.h"

#include <errno.h>
#include <inttypes.h>
#include <libwebsockets.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#define GARBAGE_PATH   "/garbage"
#define EMPTY_PATH     "/empty"
#define MIB	       ((size_t)1024 * 1024)
#define CKSIZE_DEFAULT 4
#define WRITE_CHUNK    ((size_t)128 * 1024)
#define POOL_SIZE      MIB /* random bytes the garbage is cut from */

enum st_phase {
	ST_READING_BODY,
	ST_SEND_HEADERS,
	ST_SEND_BODY,
	ST_DONE,
};

struct speedtest_http {
	enum st_phase phase;
	unsigned int status;
	const char *ctype;
	uint64_t body_left; /* bytes still to write */
	uint64_t pool_off;
	uint64_t received; /* POST body bytes */
	char reply[64];	   /* small JSON answers */
	size_t reply_len;
	unsigned char *buf; /* LWS_PRE + WRITE_CHUNK, garbage only */
};

/* Random, so that no compression on the path can inflate the rate; made once. */
static unsigned char *pool;

static int pool_init(void)
{
	size_t off = 0;

	if (pool)
		return 0;
	pool = malloc(POOL_SIZE);
	if (!pool)
		return -ENOMEM;
	while (off < POOL_SIZE) {
		ssize_t n = getrandom(pool + off, POOL_SIZE - off, 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			free(pool);
			pool = NULL;
			return -errno;
		}
		off += (size_t)n;
	}
	return 0;
}

bool speedtest_http_match(const char *uri)
{
	return strcmp(uri, GARBAGE_PATH) == 0 || strcmp(uri, EMPTY_PATH) == 0;
}

int speedtest_http_parse_cksize(const char *v, size_t *ret_mib)
{
	uint64_t n;

	if (!v) {
		*ret_mib = CKSIZE_DEFAULT;
		return 0;
	}
	if (parse_u64(v, 1, UINT64_MAX, &n) < 0)
		return -EINVAL;
	*ret_mib = n > SPEEDTEST_CHUNK_MIB_MAX ? SPEEDTEST_CHUNK_MIB_MAX : (size_t)n;
	return 0;
}

void speedtest_http_free(struct speedtest_http **st)
{
	if (!st || !*st)
		return;
	free((*st)->buf);
	free(*st);
	*st = NULL;
}

static int queue_reply(struct lws *wsi, struct speedtest_http *st, unsigned int status,
		       const char *json)
{
	int n = snprintf(st->reply, sizeof(st->reply), "%s", json);

	if (n < 0 || (size_t)n >= sizeof(st->reply))
		return -1;
	st->status = status;
	st->ctype = "application/json";
	st->reply_len = (size_t)n;
	st->body_left = (uint64_t)n;
	st->phase = ST_SEND_HEADERS;
	lws_callback_on_writable(wsi);
	return 0;
}

static int start_garbage(struct lws *wsi, struct speedtest_http *st)
{
	char arg[32];
	const char *v = lws_get_urlarg_by_name(wsi, "ckSize=", arg, (int)sizeof(arg));
	size_t mib;

	if (speedtest_http_parse_cksize(v, &mib) < 0)
		return queue_reply(wsi, st, 400,
				   "{\"error\":\"ckSize must be a positive integer\"}");
	if (pool_init() < 0)
		return queue_reply(wsi, st, 500, "{\"error\":\"no random bytes\"}");
	st->buf = malloc(LWS_PRE + WRITE_CHUNK);
	if (!st->buf)
		return -1;
	st->status = 200;
	st->ctype = "application/octet-stream";
	st->body_left = (uint64_t)mib * MIB;
	st->reply_len = 0;
	st->phase = ST_SEND_HEADERS;
	lws_callback_on_writable(wsi);
	return 0;
}

int speedtest_http_request(struct lws *wsi, const char *uri, struct speedtest_http **ret_st)
{
	bool post = lws_hdr_total_length(wsi, WSI_TOKEN_POST_URI) > 0;
	bool get = lws_hdr_total_length(wsi, WSI_TOKEN_GET_URI) > 0;
	struct speedtest_http *st;

	speedtest_http_free(ret_st);
	st = calloc(1, sizeof(*st));
	if (!st)
		return -1;
	*ret_st = st;
	if (strcmp(uri, GARBAGE_PATH) == 0) {
		if (!get)
			return queue_reply(wsi, st, 405, "{\"error\":\"method not allowed\"}");
		return start_garbage(wsi, st);
	}
	if (get)
		return queue_reply(wsi, st, 200, "");
	if (!post)
		return queue_reply(wsi, st, 405, "{\"error\":\"method not allowed\"}");
	/* A body without Content-Length (chunked) is not read by lws 4.1's h1 server. */
	if (lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_CONTENT_LENGTH) <= 0)
		return queue_reply(wsi, st, 200, "{\"received\":0}");
	st->phase = ST_READING_BODY;
	return 0;
}

int speedtest_http_body(struct speedtest_http *st, size_t len)
{
	if (st->phase == ST_READING_BODY)
		st->received += len;
	return 0;
}

int speedtest_http_body_done(struct lws *wsi, struct speedtest_http *st)
{
	char json[48];

	if (st->phase != ST_READING_BODY)
		return 0;
	(void)snprintf(json, sizeof(json), "{\"received\":%" PRIu64 "}", st->received);
	log_debug("POST " EMPTY_PATH ": %" PRIu64 " bytes received", st->received);
	return queue_reply(wsi, st, 200, json);
}

static int write_headers(struct lws *wsi, struct speedtest_http *st)
{
	unsigned char buf[LWS_PRE + 512];
	unsigned char *start = &buf[LWS_PRE];
	unsigned char *p = start;
	unsigned char *end = &buf[sizeof(buf) - 1];

	if (lws_add_http_common_headers(wsi, st->status, st->ctype, st->body_left, &p, end) ||
	    lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_CACHE_CONTROL,
					 (const unsigned char *)"no-store", 8, &p, end) ||
	    lws_finalize_write_http_header(wsi, start, &p, end))
		return -1;
	st->phase = ST_SEND_BODY;
	if (st->body_left == 0) {
		st->phase = ST_DONE;
		return lws_http_transaction_completed(wsi) ? -1 : 0;
	}
	lws_callback_on_writable(wsi);
	return 0;
}

static int write_body(struct lws *wsi, struct speedtest_http *st)
{
	unsigned char small[LWS_PRE + sizeof(st->reply)];
	unsigned char *out;
	size_t n;

	if (st->buf) {
		n = st->body_left < WRITE_CHUNK ? (size_t)st->body_left : WRITE_CHUNK;
		out = st->buf + LWS_PRE;
		for (size_t done = 0; done < n;) {
			size_t k = POOL_SIZE - st->pool_off;

			if (k > n - done)
				k = n - done;
			memcpy(out + done, pool + st->pool_off, k);
			done += k;
			st->pool_off = (st->pool_off + k) % POOL_SIZE;
		}
	} else {
		n = st->reply_len;
		out = small + LWS_PRE;
		memcpy(out, st->reply, n);
	}
	st->body_left -= n;
	if (lws_write(wsi, out, n, st->body_left ? LWS_WRITE_HTTP : LWS_WRITE_HTTP_FINAL) != (int)n)
		return -1;
	if (st->body_left) {
		lws_callback_on_writable(wsi);
		return 0;
	}
	st->phase = ST_DONE;
	return lws_http_transaction_completed(wsi) ? -1 : 0;
}

int speedtest_http_writeable(struct lws *wsi, struct speedtest_http *st)
{
	if (st->phase == ST_SEND_HEADERS)
		return write_headers(wsi, st);
	if (st->phase == ST_SEND_BODY)
		return write_body(wsi, st);
	return 0;
}
