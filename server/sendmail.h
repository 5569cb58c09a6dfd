/* Runs a sendmail-compatible program (`PATH -t -oi`, the recipients taken from the message's
 * headers) with a message on its standard input, under a time limit. The caller ignores
 * SIGPIPE (srvmon-server serve does). */
#ifndef SRVMON_SERVER_SENDMAIL_H
#define SRVMON_SERVER_SENDMAIL_H

#include <stdbool.h>
#include <stddef.h>

#define SENDMAIL_DEFAULT_PATH "/usr/sbin/sendmail"
#define SENDMAIL_TIMEOUT_MS   10000

/*
 * Runs path with msg (len bytes) on its stdin; its stdout and stderr are kept (the start) for
 * the error. The child is killed (SIGKILL) after timeout_ms, or as soon as stop(stop_ctx)
 * (checked every 250 ms; may be NULL) says so. 0 when it exits with status 0; otherwise a
 * negative errno (-ETIMEDOUT killed at the limit, -ECANCELED stopped, -EIO a non-zero exit or
 * a signal, the spawn's errno) with the reason in err (size bytes).
 */
int sendmail_run(const char *path, const char *msg, size_t len, unsigned int timeout_ms,
		 bool (*stop)(void *stop_ctx), void *stop_ctx, char *err, size_t size);

#endif
