/* systemd service notifications (sd_notify): READY, WATCHDOG, STOPPING, STATUS. */
#ifndef SRVMON_SERVICE_NOTIFY_H
#define SRVMON_SERVICE_NOTIFY_H

#include <stdint.h>

struct service_notify;

/*
 * Reads $NOTIFY_SOCKET and $WATCHDOG_USEC/$WATCHDOG_PID (via libsystemd). Without
 * $NOTIFY_SOCKET every call below is a no-op. NULL + errno on ENOMEM only.
 */
struct service_notify *service_notify_new(void);
/* READY=1 with a STATUS= line: the BPF programs are attached, the modules started. */
void service_notify_ready(struct service_notify *n, const char *status);
/* WATCHDOG=1 when half the watchdog interval has passed since the last ping;
 * now_ms is CLOCK_MONOTONIC. Call it from the main loop. */
void service_notify_watchdog(struct service_notify *n, uint64_t now_ms);
/* Returns the ping period in ms (half of WatchdogSec), 0 when no watchdog is set. */
uint64_t service_notify_watchdog_period_ms(const struct service_notify *n);
void service_notify_status(struct service_notify *n, const char *status);
/* STOPPING=1 with a STATUS= line. */
void service_notify_stopping(struct service_notify *n, const char *status);
void service_notify_free(struct service_notify *n);

#endif
