/*
 * Alert notifications by email: the message (RFC 5322, composed on the event loop from the
 * state change) and its delivery by a local sendmail binary (sendmail.c) on a notifyq.c
 * worker, killed after SENDMAIL_TIMEOUT_MS, retried like the webhook. docs/server.md,
 * "Alerts".
 */
#ifndef SRVMON_SERVER_ALERT_EMAIL_H
#define SRVMON_SERVER_ALERT_EMAIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sbuf;
struct alert_email;

#define ALERT_EMAIL_MAX 254 /* RFC 5321's limit on a path */

/* A single addr-spec "local@domain" of printable ASCII without spaces, quotes, brackets,
 * commas or semicolons (so neither a header nor a second recipient can be smuggled in). */
bool alert_email_address_ok(const char *addr);

/* What one notification says. */
struct alert_email_msg {
	const char *domain; /* of From (srvmon@domain) and of Message-ID */
	const char *to;
	const char *rule_name;
	int64_t rule_id;
	const char *rule_text; /* alert_rule_describe() */
	const char *state;     /* "firing", "resolved" */
	const char *hostname;  /* "" before the host's hello */
	const char *host_id;
	double value;
	bool have_since;
	int64_t since_ms;
	int64_t at_ms;
	uint64_t unique; /* makes the Message-ID unique with at_ms and rule_id */
};

/* Appends the message: headers (From, To, Subject, Date, Message-ID, MIME) and a plain-text
 * body, lines ending in LF (sendmail's input). Control characters in the texts become
 * spaces; a Subject that is not ASCII is RFC 2047-encoded. Pure. 0, -EINVAL (m->to not an
 * address), -ENOMEM. */
int alert_email_compose(const struct alert_email_msg *m, struct sbuf *out);

/* Starts the worker that runs sendmail_path. NULL + errno. */
struct alert_email *alert_email_new(const char *sendmail_path);
/* The domain of this host for alert_email_msg (its hostname, "localhost" without one). */
const char *alert_email_domain(const struct alert_email *ae);
/* Queues the composed message for to (named in the logs). 0, -ENOSPC, -ENOMEM. */
int alert_email_send(struct alert_email *ae, const char *to, const char *msg, size_t len);
/* Stops the worker (a sendmail child in flight is killed) and drops what is queued. */
void alert_email_free(struct alert_email *ae);

#endif
