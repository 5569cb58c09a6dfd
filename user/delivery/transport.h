/* The WebSocket transport (libwebsockets client): connect, authenticate, ship the outbox. */
#ifndef SRVMON_TRANSPORT_H
#define SRVMON_TRANSPORT_H

#include <signal.h>
#include <stdint.h>

struct config;
struct outbox;
struct auth;
struct transport;

/* Called on the transport's thread each time a connection is established, before
 * anything is written on it (the agent queues hello and status there). */
typedef void (*transport_connected_fn)(void *arg);

struct transport *transport_new(const struct config *cfg, struct outbox *ob, struct auth *auth,
				transport_connected_fn on_connected, void *arg);
void transport_free(struct transport *t);
/* Runs the event loop until *stop is set; calls tick(arg) every tick_ms on the loop's
 * thread (for periodic work such as status messages). 0 or -errno. */
int transport_run(struct transport *t, volatile sig_atomic_t *stop, uint64_t tick_ms,
		  void (*tick)(void *arg), void *arg);
/* Thread-safe: wakes the loop so that newly queued records are written. */
void transport_wake(void *t);
uint64_t transport_reconnects(const struct transport *t);
/* The ws:// or wss:// URL, for logs. */
const char *transport_url(const struct transport *t);

#endif
