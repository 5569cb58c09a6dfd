/*
 * /api/v1: the read API, the alert rules endpoints and the Server-Sent Events stream of
 * committed records (docs/api.md). server/http.c routes requests whose path starts with
 * /api/v1 here and forwards the request's later callbacks; the state is per request.
 */
#ifndef SRVMON_SERVER_API_H
#define SRVMON_SERVER_API_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct db;
struct lws;
struct lws_context;
struct api;
struct api_req;

/* Also starts the alert evaluation (alerts.c; sendmail: alerts_new()). NULL + errno. */
struct api *api_new(struct db *db, struct lws_context *ctx, const char *sendmail);
/* Stops the alert timer and the webhook worker: before lws_context_destroy(). */
void api_stop(struct api *api);
/* After lws_context_destroy() (the event streams' requests are gone by then). */
void api_free(struct api *api);

bool api_http_match(const char *uri);
/* LWS_CALLBACK_HTTP: authenticates, parses the arguments and queues the answer, or starts
 * reading the body (POST). Returns what the lws callback returns. */
int api_http_request(struct api *api, struct lws *wsi, const char *uri, struct api_req **ret);
int api_http_body(struct api_req *rq, const void *in, size_t len);
int api_http_body_done(struct lws *wsi, struct api_req *rq);
int api_http_writeable(struct lws *wsi, struct api_req *rq);
/* Frees *rq (and ends its event stream) and sets it to NULL; accepts NULL. */
void api_http_free(struct api_req **rq);

/* A WebSocket connection carries records of host_id: +1 when it first does, -1 when it
 * closes. Such a host is online in GET /api/v1/hosts whatever its last record's age. */
void api_host_connection(struct api *api, const char *host_id, int delta);

/* Records were committed: the event streams send them. */
void api_committed(struct api *api);
/* An alert changed state: json (one line) goes to every event stream as "event: alert". */
void api_alert_event(struct api *api, const char *json, size_t len);

#endif
