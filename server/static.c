#include "static.h"

#include "log.h"
#include "static_assets.h"

#include <libwebsockets.h>
#include <stdlib.h>
#include <string.h>

#define UI_PREFIX "/ui/"

#define CACHE_REVALIDATE "no-cache"
#define CACHE_IMMUTABLE	 "public, max-age=31536000, immutable"
/* Body bytes per write: what a socket almost always takes at once (lws would otherwise
 * buffer the rest itself). */
#define STATIC_CHUNK ((size_t)16 * 1024)

struct ctype_rule {
	const char *ext;
	const char *ctype;
};

/* Every text type names its charset: the files are UTF-8. */
static const struct ctype_rule ctypes[] = {
	{".html", "text/html; charset=utf-8"},
	{".js", "text/javascript; charset=utf-8"},
	{".css", "text/css; charset=utf-8"},
	{".svg", "image/svg+xml"},
	{".png", "image/png"},
	{".json", "application/json"},
	{".txt", "text/plain; charset=utf-8"},
};

/* One answer: written from LWS_CALLBACK_HTTP_WRITEABLE, headers first, then the body in
 * chunks of STATIC_CHUNK. */
struct static_req {
	const struct static_asset *f; /* NULL: an error answer */
	enum static_cache cache;
	unsigned int status;
	const char *ctype;
	const unsigned char *body;
	size_t len;
	size_t off; /* body bytes written */
	bool headers_sent;
	unsigned char buf[LWS_PRE + STATIC_CHUNK];
};

/* Sent with every answer of this file, the errors included. */
struct header {
	const char *name; /* with the colon, as lws_add_http_header_by_name wants it */
	const char *value;
};

static const struct header security_headers[] = {
	{"content-security-policy:", STATIC_CSP},
	{"x-content-type-options:", "nosniff"},
	{"referrer-policy:", "no-referrer"},
	{"x-frame-options:", "DENY"},
	{"cross-origin-opener-policy:", "same-origin"},
};

bool static_http_match(const char *uri)
{
	return strcmp(uri, "/") == 0 || strcmp(uri, "/index.html") == 0 ||
	       strncmp(uri, UI_PREFIX, strlen(UI_PREFIX)) == 0;
}

const struct static_asset *static_lookup(const char *uri, enum static_cache *ret_cache)
{
	const char *name;

	*ret_cache = STATIC_REVALIDATE;
	if (strcmp(uri, "/") == 0 || strcmp(uri, "/index.html") == 0)
		return &static_index;
	if (strncmp(uri, UI_PREFIX, strlen(UI_PREFIX)) != 0)
		return NULL;
	name = uri + strlen(UI_PREFIX);
	for (size_t i = 0; i < static_assets_n; i++) {
		if (strcmp(name, static_assets[i].hashed_name) == 0) {
			*ret_cache = STATIC_IMMUTABLE;
			return &static_assets[i];
		}
		if (strcmp(name, static_assets[i].name) == 0)
			return &static_assets[i];
	}
	return NULL;
}

const char *static_content_type(const char *name)
{
	size_t n = strlen(name);

	for (size_t i = 0; i < sizeof(ctypes) / sizeof(ctypes[0]); i++) {
		size_t k = strlen(ctypes[i].ext);

		if (n >= k && strcmp(name + n - k, ctypes[i].ext) == 0)
			return ctypes[i].ctype;
	}
	return "application/octet-stream";
}

bool static_etag_matches(const char *inm, const char *etag)
{
	size_t elen = strlen(etag);
	const char *p = inm;

	/* RFC 9110 13.1.2: a list of entity tags compared weakly, or "*". */
	while (*p) {
		const char *start;

		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		if (*p == '*')
			return true;
		if (strncmp(p, "W/", 2) == 0)
			p += 2;
		start = p;
		while (*p && *p != ',' && *p != ' ' && *p != '\t')
			p++;
		if ((size_t)(p - start) == elen && memcmp(start, etag, elen) == 0)
			return true;
	}
	return false;
}

static int add_header(struct lws *wsi, const char *name, const char *value, unsigned char **p,
		      unsigned char *end)
{
	return lws_add_http_header_by_name(wsi, (const unsigned char *)name,
					   (const unsigned char *)value, (int)strlen(value), p,
					   end);
}

static int add_security_headers(struct lws *wsi, unsigned char **p, unsigned char *end)
{
	for (size_t i = 0; i < sizeof(security_headers) / sizeof(security_headers[0]); i++)
		if (add_header(wsi, security_headers[i].name, security_headers[i].value, p, end))
			return -1;
	return 0;
}

static int queue_error(struct lws *wsi, struct static_req *rq, unsigned int status,
		       const char *text)
{
	rq->f = NULL;
	rq->status = status;
	rq->ctype = "text/plain; charset=utf-8";
	rq->body = (const unsigned char *)text;
	rq->len = strlen(text);
	lws_callback_on_writable(wsi);
	return 0;
}

int static_http_request(struct lws *wsi, const char *uri, struct static_req **ret_rq)
{
	struct static_req *rq;
	char inm[256];

	static_http_free(ret_rq);
	rq = calloc(1, sizeof(*rq));
	if (!rq)
		return -1;
	*ret_rq = rq;
	rq->cache = STATIC_REVALIDATE;
	if (lws_hdr_total_length(wsi, WSI_TOKEN_GET_URI) <= 0)
		return queue_error(wsi, rq, HTTP_STATUS_METHOD_NOT_ALLOWED, "method not allowed\n");
	rq->f = static_lookup(uri, &rq->cache);
	if (!rq->f) {
		log_debug("GET %s: no such dashboard file, 404", uri);
		return queue_error(wsi, rq, HTTP_STATUS_NOT_FOUND, "not found\n");
	}
	if (lws_hdr_copy(wsi, inm, sizeof(inm), WSI_TOKEN_HTTP_IF_NONE_MATCH) > 0 &&
	    static_etag_matches(inm, rq->f->etag)) {
		rq->status = HTTP_STATUS_NOT_MODIFIED;
	} else {
		log_debug("GET %s: %s, %zu bytes", uri, rq->f->name, rq->f->len);
		rq->status = HTTP_STATUS_OK;
		rq->ctype = static_content_type(rq->f->name);
		rq->body = rq->f->data;
		rq->len = rq->f->len;
	}
	lws_callback_on_writable(wsi);
	return 0;
}

static int write_headers(struct lws *wsi, struct static_req *rq)
{
	unsigned char *start = &rq->buf[LWS_PRE];
	unsigned char *p = start;
	unsigned char *end = &rq->buf[sizeof(rq->buf) - 1];
	const struct static_asset *f = rq->f;

	if (rq->status == HTTP_STATUS_NOT_MODIFIED) {
		/* RFC 9110 15.4.5: no body and no Content-Length of its own. */
		if (lws_add_http_header_status(wsi, rq->status, &p, end))
			return -1;
	} else if (lws_add_http_common_headers(wsi, rq->status, rq->ctype, rq->len, &p, end)) {
		return -1;
	}
	if (add_security_headers(wsi, &p, end))
		return -1;
	if (f && (add_header(wsi, "etag:", f->etag, &p, end) ||
		  add_header(wsi, "cache-control:",
			     rq->cache == STATIC_IMMUTABLE ? CACHE_IMMUTABLE : CACHE_REVALIDATE, &p,
			     end)))
		return -1;
	if (!f && add_header(wsi, "cache-control:", "no-store", &p, end))
		return -1;
	if (rq->status == HTTP_STATUS_METHOD_NOT_ALLOWED &&
	    add_header(wsi, "allow:", "GET", &p, end))
		return -1;
	rq->headers_sent = true;
	if (rq->len == 0) {
		if (lws_finalize_http_header(wsi, &p, end))
			return -1;
		if (lws_write(wsi, start, (size_t)(p - start),
			      LWS_WRITE_HTTP_HEADERS | LWS_WRITE_H2_STREAM_END) != (int)(p - start))
			return -1;
		return lws_http_transaction_completed(wsi) ? -1 : 0;
	}
	if (lws_finalize_write_http_header(wsi, start, &p, end))
		return -1;
	lws_callback_on_writable(wsi);
	return 0;
}

int static_http_writeable(struct lws *wsi, struct static_req *rq)
{
	size_t n;

	if (!rq->headers_sent)
		return write_headers(wsi, rq);
	if (rq->off >= rq->len)
		return 0;
	n = rq->len - rq->off;
	if (n > STATIC_CHUNK)
		n = STATIC_CHUNK;
	/* lws_write wants LWS_PRE writable bytes before the payload; the files are const. */
	memcpy(&rq->buf[LWS_PRE], rq->body + rq->off, n);
	rq->off += n;
	if (lws_write(wsi, &rq->buf[LWS_PRE], n,
		      rq->off < rq->len ? LWS_WRITE_HTTP : LWS_WRITE_HTTP_FINAL) != (int)n)
		return -1;
	if (rq->off < rq->len) {
		lws_callback_on_writable(wsi);
		return 0;
	}
	return lws_http_transaction_completed(wsi) ? -1 : 0;
}

void static_http_free(struct static_req **rq)
{
	if (!rq || !*rq)
		return;
	free(*rq);
	*rq = NULL;
}
