/* The Prometheus /metrics endpoint: a minimal HTTP/1.1 server on its own thread. */
#ifndef SRVMON_METRICS_HTTP_H
#define SRVMON_METRICS_HTTP_H

#include <stddef.h>
#include <stdint.h>

struct metrics;
struct metrics_http;

#define METRICS_CONTENT_TYPE	  "application/openmetrics-text; version=1.0.0; charset=utf-8"
#define METRICS_TEXT_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/*
 * Pure: splits "127.0.0.1:9469", "[::1]:9469" or "localhost:9469" into host and port
 * (0: any free port). Returns 0, -EINVAL or -ENAMETOOLONG.
 */
int metrics_listen_parse(const char *listen, char *ret_host, size_t host_size, uint16_t *ret_port);

/*
 * Pure: the response to one request head (request line + headers): GET or HEAD of
 * /metrics (any query) gives 200, another path 404, another method 405. Sets
 * *ret_status, and *ret_openmetrics when the Accept header asks for
 * application/openmetrics-text (as Prometheus does); otherwise text format 0.0.4.
 */
int metrics_http_route(const char *head, int *ret_status, int *ret_head_only, int *ret_openmetrics);

/* Binds listen and serves m on a thread of its own. NULL + errno (the bind error). */
struct metrics_http *metrics_http_start(const char *listen, struct metrics *m);
/* The bound port (useful when listen asked for port 0). */
uint16_t metrics_http_port(const struct metrics_http *h);
/* Stops the thread and closes the socket; accepts NULL. */
void metrics_http_stop(struct metrics_http *h);

#endif
