/* Which endpoint answers a request: one table of paths (exact, or a family's match function)
 * and their handlers, walked in order; the small endpoints (GET /health, the speed-test gate,
 * a plain GET /ws) are here too. A new endpoint is one row. */
#include "http_internal.h"

#include "log.h"
#include "monoclock.h"
#include "api.h"
#include "speedtest_http.h"
#include "static.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* The speed-test endpoints: off (404), or for a valid bearer token only (401) of an agent
 * account (403: viewers and admins read, they do not measure), and at most
 * --speedtest-streams requests at once from one address (503). A refused request closes
 * the connection once answered: its body (an upload) is not read. */
static int speedtest_request(struct lws *wsi, struct server *srv, struct session *ss,
			     const char *uri)
{
	char account[GRANT_MAX_USERNAME + 1];
	char addr[CONNTRACK_ADDR_MAX];
	enum role role;
	uint64_t expires;
	int r;

	if (srv->opts.speedtest == SERVER_SPEEDTEST_OFF)
		return http_reply(wsi, ss, 404, "{\"error\":\"not found\"}");
	if (!lws_get_peer_simple(wsi, addr, sizeof(addr)))
		(void)snprintf(addr, sizeof(addr), "?");
	ss->close_after = true;
	if (srv->opts.speedtest == SERVER_SPEEDTEST_TOKEN) {
		r = http_authenticate(wsi, srv, account, sizeof(account), &expires, &role, NULL);
		if (r == -EACCES) {
			log_info("%s from %s: refused: missing, unknown or expired token, 401", uri,
				 addr);
			return http_reply(wsi, ss, 401, "{\"error\":\"invalid_token\"}");
		}
		if (r < 0)
			return http_reply(wsi, ss, 500, "{\"error\":\"server_error\"}");
		if (!role_may_ingest(role)) {
			log_info("%s from %s: \"%s\" refused (403): role %s may not measure", uri,
				 addr, account, role_name(role));
			return http_reply(wsi, ss, 403, "{\"error\":\"insufficient_scope\"}");
		}
	}
	if (conntrack_speedtest_begin(srv->conns, lws_get_network_wsi(wsi)) == -EBUSY) {
		log_info("%s from %s: over %zu speed-test requests at once, 503", uri, addr,
			 srv->opts.speedtest_per_addr);
		ss->retry_after_s = 1;
		return http_reply(wsi, ss, 503, "{\"error\":\"too many speed-test requests\"}");
	}
	ss->close_after = false;
	/* An upload may take the agent's whole max_duration: its own, longer deadline. */
	if (lws_hdr_total_length(wsi, WSI_TOKEN_POST_URI) > 0)
		(void)conntrack_set_deadline(srv->conns, lws_get_network_wsi(wsi),
					     mono_ms() + (uint64_t)SERVER_SPEEDTEST_BODY_S * 1000);
	return speedtest_http_request(wsi, uri, &ss->st);
}

static int route_static(struct lws *wsi, struct server *srv, struct session *ss, const char *uri)
{
	(void)srv;
	return static_http_request(wsi, uri, &ss->sr);
}

static int route_api(struct lws *wsi, struct server *srv, struct session *ss, const char *uri)
{
	return api_http_request(srv->api, wsi, uri, &ss->api);
}

static int health_request(struct lws *wsi, struct server *srv, struct session *ss, const char *uri)
{
	(void)srv;
	(void)uri;
	if (lws_hdr_total_length(wsi, WSI_TOKEN_GET_URI) <= 0)
		return http_reply(wsi, ss, 405, "{\"error\":\"method not allowed\"}");
	return http_reply(wsi, ss, 200, "{\"status\":\"ok\"}");
}

/* /ws without an upgrade (the upgrade itself: ws_confirm_upgrade()). */
static int ws_plain_request(struct lws *wsi, struct server *srv, struct session *ss,
			    const char *uri)
{
	(void)srv;
	(void)uri;
	return http_reply(wsi, ss, 400, "{\"error\":\"websocket upgrade required\"}");
}

/* By path: an exact one, or (path NULL) a family's match function. The first row that
 * matches answers. */
static const struct route {
	const char *path;
	bool (*match)(const char *uri);
	int (*request)(struct lws *wsi, struct server *srv, struct session *ss, const char *uri);
} routes[] = {
	{NULL, speedtest_http_match, speedtest_request},
	{NULL, static_http_match, route_static},
	{NULL, api_http_match, route_api},
	{HEALTH_PATH, NULL, health_request},
	{WS_PATH, NULL, ws_plain_request},
	{TOKEN_PATH, NULL, http_token_request},
};

int http_route(struct lws *wsi, struct server *srv, struct session *ss, const char *uri)
{
	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		const struct route *rt = &routes[i];

		if (rt->path ? strcmp(uri, rt->path) == 0 : rt->match(uri))
			return rt->request(wsi, srv, ss, uri);
	}
	return http_reply(wsi, ss, 404, "{\"error\":\"not found\"}");
}
