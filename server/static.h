/*
 * The dashboard: its files embedded in the binary (static_assets.h), served by srvmon-server
 *   GET /              index.html                  Cache-Control: no-cache, ETag
 *   GET /ui/<name>     a file of web/ by its name  Cache-Control: no-cache, ETag
 *   GET /ui/<hashed>   the same by its hashed name Cache-Control: immutable (a year)
 * with a strict Content-Security-Policy and nosniff; If-None-Match gets 304.
 * server/http.c dispatches to these from its callback; the state is per request.
 */
#ifndef SRVMON_SERVER_STATIC_H
#define SRVMON_SERVER_STATIC_H

#include <stdbool.h>

struct lws;
struct static_asset;
struct static_req;

/* Sent with every dashboard answer; docs/server.md explains each directive. */
#define STATIC_CSP                                                                                 \
	"default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "          \
	"connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"

enum static_cache {
	STATIC_REVALIDATE, /* no-cache: stored, but checked with If-None-Match on every use */
	STATIC_IMMUTABLE,  /* a hashed name: its bytes never change */
};

/* Whether uri is a dashboard path ("/", "/index.html", "/ui/..."). */
bool static_http_match(const char *uri);
/*
 * LWS_CALLBACK_HTTP of a matching uri: creates the request state in *ret_rq (freed by
 * static_http_free) and queues the answer (GET only; 404 for an unknown /ui/ name, 405
 * for other methods). Returns what the lws callback returns (0, or -1 to close).
 */
int static_http_request(struct lws *wsi, const char *uri, struct static_req **ret_rq);
/* LWS_CALLBACK_HTTP_WRITEABLE: writes the headers, then the body in chunks. */
int static_http_writeable(struct lws *wsi, struct static_req *rq);
/* Frees *rq and sets it to NULL; accepts NULL. */
void static_http_free(struct static_req **rq);

/* Pure: the file of a matching uri and how it may be cached; NULL when there is none. */
const struct static_asset *static_lookup(const char *uri, enum static_cache *ret_cache);
/* Pure: the Content-Type of a file name, by its extension. */
const char *static_content_type(const char *name);
/* Pure: whether an If-None-Match value (a list of entity tags, or "*") names etag. */
bool static_etag_matches(const char *if_none_match, const char *etag);

#endif
