/*
 * A notification queue with one worker thread: each item (a destination and a body) is
 * handed to the channel's send function, retried after 1, 2, 4, 8 and 16 s, then dropped
 * with a log line naming the destination. The event loop only queues. The channels:
 * webhook.c (HTTP POST), alert_email.c (sendmail).
 */
#ifndef SRVMON_SERVER_NOTIFYQ_H
#define SRVMON_SERVER_NOTIFYQ_H

#include <stdbool.h>
#include <stddef.h>

#define NOTIFYQ_ERR_MAX 256

struct notifyq;

/* One attempt at delivering body to dest. 0, or a negative errno with the reason in err
 * (NOTIFYQ_ERR_MAX bytes). Runs on the worker thread; notifyq_stopping() says when to give
 * up early. */
typedef int (*notifyq_send_fn)(struct notifyq *q, void *ctx, const char *dest, const char *body,
			       size_t len, char *err);

/* Starts the worker; channel names the log lines ("webhook") and the thread. NULL + errno. */
struct notifyq *notifyq_new(const char *channel, notifyq_send_fn send, void *ctx);
/* Queues copies of dest and body. 0, -ENOSPC (queue full: dropped, logged) or -ENOMEM. */
int notifyq_push(struct notifyq *q, const char *dest, const char *body, size_t len);
/* True once notifyq_free() has begun: an attempt in flight should end. */
bool notifyq_stopping(struct notifyq *q);
/* Stops the worker (after the attempt in flight) and drops what is queued. */
void notifyq_free(struct notifyq *q);

#endif
