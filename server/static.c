#include "static.h"

#include "log.h"
#include "static_assets.h"

#include <libwebsockets.h>
#include <stdlib.h>
#include <string.h>

#define UI_PREFIX "/ui/"

#define CACHE_REVALIDATE "no-cache"
#define CACHE_IMMUTABLE	 "public, max-age=31536000, immutable"

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

/* Writes status, headers and body (len bytes of body, or none when body is NULL), then ends
 * the transaction. */
static int send_answer(struct lws *wsi, unsigned int status, const char *ctype,
		       const struct static_asset *f, enum static_cache cache, const void *body,
		       size_t len)
{
	unsigned char hdr[LWS_PRE + 1024];
	unsigned char *start = &hdr[LWS_PRE];
	unsigned char *p = start;
	unsigned char *end = &hdr[sizeof(hdr) - 1];
	unsigned char *buf;
	int r;

	if (status == HTTP_STATUS_NOT_MODIFIED) {
		/* RFC 9110 15.4.5: no body and no Content-Length of its own. */
		if (lws_add_http_header_status(wsi, status, &p, end))
			return -1;
	} else if (lws_add_http_common_headers(wsi, status, ctype, len, &p, end)) {
		return -1;
	}
	if (add_security_headers(wsi, &p, end))
		return -1;
	if (f &&
	    (add_header(wsi, "etag:", f->etag, &p, end) ||
	     add_header(wsi, "cache-control:",
			cache == STATIC_IMMUTABLE ? CACHE_IMMUTABLE : CACHE_REVALIDATE, &p, end)))
		return -1;
	if (!f && add_header(wsi, "cache-control:", "no-store", &p, end))
		return -1;
	if (status == HTTP_STATUS_METHOD_NOT_ALLOWED && add_header(wsi, "allow:", "GET", &p, end))
		return -1;
	if (!body || len == 0) {
		if (lws_finalize_http_header(wsi, &p, end))
			return -1;
		r = lws_write(wsi, start, (size_t)(p - start),
			      LWS_WRITE_HTTP_HEADERS | LWS_WRITE_H2_STREAM_END);
		if (r != (int)(p - start))
			return -1;
		return lws_http_transaction_completed(wsi) ? -1 : 0;
	}
	if (lws_finalize_write_http_header(wsi, start, &p, end))
		return -1;
	/* lws_write wants LWS_PRE writable bytes before the payload; the files are const. */
	buf = malloc(LWS_PRE + len);
	if (!buf)
		return -1;
	memcpy(buf + LWS_PRE, body, len);
	r = lws_write(wsi, buf + LWS_PRE, len, LWS_WRITE_HTTP_FINAL);
	free(buf);
	if (r != (int)len)
		return -1;
	/* With bytes still buffered, lws 4.1 defers the completion until they are sent. */
	return lws_http_transaction_completed(wsi) ? -1 : 0;
}

static int send_error(struct lws *wsi, unsigned int status, const char *text)
{
	return send_answer(wsi, status, "text/plain; charset=utf-8", NULL, STATIC_REVALIDATE, text,
			   strlen(text));
}

int static_http_request(struct lws *wsi, const char *uri)
{
	const struct static_asset *f;
	enum static_cache cache;
	char inm[256];

	if (lws_hdr_total_length(wsi, WSI_TOKEN_GET_URI) <= 0)
		return send_error(wsi, HTTP_STATUS_METHOD_NOT_ALLOWED, "method not allowed\n");
	f = static_lookup(uri, &cache);
	if (!f) {
		log_debug("GET %s: no such dashboard file, 404", uri);
		return send_error(wsi, HTTP_STATUS_NOT_FOUND, "not found\n");
	}
	if (lws_hdr_copy(wsi, inm, sizeof(inm), WSI_TOKEN_HTTP_IF_NONE_MATCH) > 0 &&
	    static_etag_matches(inm, f->etag))
		return send_answer(wsi, HTTP_STATUS_NOT_MODIFIED, NULL, f, cache, NULL, 0);
	log_debug("GET %s: %s, %zu bytes", uri, f->name, f->len);
	return send_answer(wsi, HTTP_STATUS_OK, static_content_type(f->name), f, cache, f->data,
			   f->len);
}
