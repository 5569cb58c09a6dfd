/*
 * LibreSpeed-compatible speed-test endpoints of srvmon-server:
 *   GET  /garbage?ckSize=N  N MiB (default 4; over 256 served as 256) of incompressible bytes
 *   GET  /empty             an empty 200 answer (latency probes)
 *   POST /empty             reads and drops the body; answers {"received":<bytes>}
 * server/http.c dispatches to these from its callback; the state is per request.
 */
#ifndef SRVMON_SERVER_SPEEDTEST_HTTP_H
#define SRVMON_SERVER_SPEEDTEST_HTTP_H

#include <stdbool.h>
#include <stddef.h>

struct lws;
struct speedtest_http;

/* Largest download served; a larger ckSize is clamped to it (LibreSpeed clients ask for up
 * to 1024). */
#define SPEEDTEST_CHUNK_MIB_MAX 256

/* Whether uri is one of the speed-test paths. */
bool speedtest_http_match(const char *uri);
/*
 * LWS_CALLBACK_HTTP of a matching uri: creates the request state in *ret_st (freed by
 * speedtest_http_free) and queues the answer or starts reading the body. Returns what
 * the lws callback returns (0, or -1 to close the connection).
 */
int speedtest_http_request(struct lws *wsi, const char *uri, struct speedtest_http **ret_st);
/* LWS_CALLBACK_HTTP_BODY: counts and drops len bytes. */
int speedtest_http_body(struct speedtest_http *st, size_t len);
/* LWS_CALLBACK_HTTP_BODY_COMPLETION: queues {"received":N}. */
int speedtest_http_body_done(struct lws *wsi, struct speedtest_http *st);
/* LWS_CALLBACK_HTTP_WRITEABLE: writes the headers, then the body in chunks. */
int speedtest_http_writeable(struct lws *wsi, struct speedtest_http *st);
/* Frees *st and sets it to NULL; accepts NULL. */
void speedtest_http_free(struct speedtest_http **st);

/* Pure: parses the ckSize argument (NULL: absent): a positive integer, clamped to
 * SPEEDTEST_CHUNK_MIB_MAX. 0 with MiB in *ret, or -EINVAL. */
int speedtest_http_parse_cksize(const char *v, size_t *ret_mib);

#endif
