/*
 * Alert evaluation in srvmon-server: every second (an lws timer on the event loop) each
 * rule of the database is checked against the hosts' latest figures, their last record
 * and the exec records stored since; a state change (firing, resolved) is stored, logged,
 * sent to the event streams and, when the rule has them, to its webhook (webhook.c) and
 * its email address (alert_email.c): one notification per change. docs/api.md, "Alerts".
 */
#ifndef SRVMON_SERVER_ALERTS_H
#define SRVMON_SERVER_ALERTS_H

#include <stdint.h>

struct api;
struct db;
struct lws_context;
struct alerts;

/* Starts the timer and the webhook and email workers; sendmail: the program emails go
 * through (NULL: SENDMAIL_DEFAULT_PATH). NULL + errno. */
struct alerts *alerts_new(struct db *db, struct lws_context *ctx, struct api *api,
			  const char *sendmail);
/* One evaluation at now_ms (the timer calls it; tests may too). 0 or a negative errno. */
int alerts_evaluate(struct alerts *a, uint64_t now_ms);
void alerts_free(struct alerts *a);

#endif
