/* Thin wrapper over libsystemd's sd_notify(): the agent tells systemd how it is doing. */
#include "service_notify.h"

#include "log.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <systemd/sd-daemon.h>

struct service_notify {
	bool enabled;	       /* $NOTIFY_SOCKET set */
	uint64_t period_ms;    /* WATCHDOG=1 period, 0: no watchdog */
	uint64_t last_ping_ms; /* CLOCK_MONOTONIC of the last ping */
	bool warned;
};

struct service_notify *service_notify_new(void)
{
	struct service_notify *n;
	uint64_t usec = 0;
	const char *sock;
	int r;

	n = calloc(1, sizeof(*n));
	if (!n)
		return NULL;
	sock = getenv("NOTIFY_SOCKET");
	n->enabled = sock && *sock;
	/* > 0: the watchdog is on for this process (WATCHDOG_PID matches or is unset). */
	r = sd_watchdog_enabled(0, &usec);
	if (r > 0 && usec > 0) {
		n->period_ms = usec / 2000u;
		if (n->period_ms == 0)
			n->period_ms = 1;
	} else if (r < 0) {
		log_warn_errno(r, "ignoring invalid $WATCHDOG_USEC/$WATCHDOG_PID");
	}
	if (n->enabled)
		log_debug("systemd notifications to '%s', watchdog ping every %llu ms", sock,
			  (unsigned long long)n->period_ms);
	return n;
}

static void notify(struct service_notify *n, const char *state)
{
	int r;

	if (!n || !n->enabled)
		return;
	r = sd_notify(0, state);
	if (r < 0 && !n->warned) {
		log_warn_errno(r, "cannot notify systemd ('%s'), ignoring", state);
		n->warned = true;
	}
}

static void notify_with_status(struct service_notify *n, const char *what, const char *status)
{
	char buf[512];

	if (!n || !n->enabled)
		return;
	if (status)
		(void)snprintf(buf, sizeof(buf), "%s%sSTATUS=%s", what, *what ? "\n" : "", status);
	else
		(void)snprintf(buf, sizeof(buf), "%s", what);
	notify(n, buf);
}

void service_notify_ready(struct service_notify *n, const char *status)
{
	notify_with_status(n, "READY=1", status);
}

void service_notify_watchdog(struct service_notify *n, uint64_t now_ms)
{
	if (!n || !n->enabled || n->period_ms == 0)
		return;
	if (n->last_ping_ms != 0 && now_ms - n->last_ping_ms < n->period_ms)
		return;
	n->last_ping_ms = now_ms;
	notify(n, "WATCHDOG=1");
}

uint64_t service_notify_watchdog_period_ms(const struct service_notify *n)
{
	return n ? n->period_ms : 0;
}

void service_notify_status(struct service_notify *n, const char *status)
{
	notify_with_status(n, "", status);
}

void service_notify_stopping(struct service_notify *n, const char *status)
{
	notify_with_status(n, "STOPPING=1", status);
}

void service_notify_free(struct service_notify *n)
{
	free(n);
}
