/*
 * Alert notifications by webhook: a queue and one worker thread that POSTs each JSON body
 * with libcurl (connect timeout 5 s, total 10 s), retried after 1, 2, 4, 8 and 16 s, then
 * dropped with a log line naming the URL. The event loop only queues.
 */
#ifndef SRVMON_SERVER_WEBHOOK_H
#define SRVMON_SERVER_WEBHOOK_H

#include <stddef.h>

struct webhook;

/* Starts the worker. NULL + errno. */
struct webhook *webhook_new(void);
/* Queues a copy of json for url. 0, -ENOSPC (queue full: dropped, logged) or -ENOMEM. */
int webhook_post(struct webhook *wh, const char *url, const char *json, size_t len);
/* Stops the worker (an attempt in flight is aborted) and drops what is queued. */
void webhook_free(struct webhook *wh);

#endif
