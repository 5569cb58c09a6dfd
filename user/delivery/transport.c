#include "transport_impl.h"

#include "auth.h"
#include "backoff.h"
#include "config.h"
#include "log.h"
#include "monoclock.h"
#include "outbox.h"
#include "peertext.h"
#include "tlspin.h"
#include "srvmon_proto.h"

#include <errno.h>
#include <libwebsockets.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Retry policies (docs/design.md). Reconnects: full jitter; credentials refused:
 * at least half the ceiling, so a wrong password makes a handful of requests. */
static const struct backoff_policy reconnect_policy = {.base_ms = 1000, .floor_ms = 100};
static const struct backoff_policy auth_policy = {.base_ms = 1000, .floor_ms = 500};

static uint64_t seed_from_clock(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 20) ^ (uint64_t)getpid();
}

static void connect_cb(lws_sorted_usec_list_t *sul);

/* Rescheduling replaces a pending attempt: there is never more than one. */
__attribute__((format(printf, 3, 4))) static void
schedule_connect(struct transport *t, uint64_t delay_ms, const char *fmt, ...)
{
	char why[1024];
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	log_info("%s; next attempt in %.1fs", why, (double)delay_ms / 1000.0);
	lws_sul_schedule(t->ctx, 0, &t->sul_connect, connect_cb, (lws_usec_t)delay_ms * 1000);
}

static void percent_encode(const char *in, char *out, size_t len)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t o = 0;

	for (; *in && o + 4 < len; in++) {
		unsigned char c = (unsigned char)*in;

		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '_' || c == '.' || c == '~') {
			out[o++] = (char)c;
		} else {
			out[o++] = '%';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 15];
		}
	}
	out[o] = '\0';
}

static void connect_cb(lws_sorted_usec_list_t *sul)
{
	struct transport *t = lws_container_of(sul, struct transport, sul_connect);
	const struct config *cfg = t->cfg;
	struct lws_client_connect_info ci;
	const char *token = NULL;
	int r;

	r = auth_get_token(t->auth, &token);
	if (r == -EACCES) {
		/* auth_get_token() logged the URL and user, once per window: no line here. */
		uint64_t delay = backoff_next(&t->auth_bo);

		log_debug("credentials refused; next attempt in %.1fs", (double)delay / 1000.0);
		lws_sul_schedule(t->ctx, 0, &t->sul_connect, connect_cb, (lws_usec_t)delay * 1000);
		return;
	}
	if (r < 0) {
		schedule_connect(t, backoff_next(&t->bo), "no token");
		return;
	}
	backoff_reset(&t->auth_bo);

	(void)snprintf(t->authz, sizeof(t->authz), "Bearer %s", token);
	if (cfg->server.token_in_query) {
		char enc[4096];

		percent_encode(token, enc, sizeof(enc));
		(void)snprintf(t->path, sizeof(t->path), "%s%ctoken=%s", cfg->server.ws_path,
			       strchr(cfg->server.ws_path, '?') ? '&' : '?', enc);
	} else {
		(void)snprintf(t->path, sizeof(t->path), "%s", cfg->server.ws_path);
	}

	memset(&ci, 0, sizeof(ci));
	ci.context = t->ctx;
	ci.address = cfg->server.server_address;
	ci.port = (int)cfg->server.server_port;
	ci.path = t->path;
	ci.host = cfg->server.server_address;
	ci.origin = cfg->server.server_address;
	ci.ssl_connection = cfg->server.tls ? LCCSCF_USE_SSL : 0;
	ci.local_protocol_name = "srvmon-agent";
	ci.retry_and_idle_policy = &t->idle_policy;
	ci.pwsi = &t->wsi;
	ci.userdata = t;
	log_debug("connecting to %s", t->url);
	if (!lws_client_connect_via_info(&ci)) {
		t->wsi = NULL;
		schedule_connect(t, backoff_next(&t->bo), "cannot start connection to %s", t->url);
	}
}

/*
 * The server binds a connection to the token it was opened with and closes it (4401)
 * once that expires. So shortly before expiry a new token is fetched while still
 * connected, and the connection is closed normally and reopened at once with it;
 * records written but not acked are written again (the server deduplicates).
 */
static void renew_token(struct transport *t)
{
	const char *token = NULL;

	if (!t->connected || !t->wsi || t->renewing || !auth_renewal_due(t->auth))
		return;
	if (auth_get_token(t->auth, &token) < 0)
		return; /* logged; the current token is used until it expires */
	if (auth_renewal_due(t->auth))
		return; /* the server issued an old token: nothing gained by reconnecting */
	log_info("token renewed; reconnecting to %s with it", t->url);
	t->renewing = true;
	lws_callback_on_writable(t->wsi);
}

static void tick_cb(lws_sorted_usec_list_t *sul)
{
	struct transport *t = lws_container_of(sul, struct transport, sul_tick);

	renew_token(t);
	transport_peer_log_flush(t);
	if (t->tick)
		t->tick(t->tick_arg);
	lws_sul_schedule(t->ctx, 0, &t->sul_tick, tick_cb, (lws_usec_t)t->tick_ms * 1000);
}

/* Called per certificate of the chain after OpenSSL's own verification: nonzero refuses. */
static int check_pin(struct transport *t, X509_STORE_CTX *xs, int preverify_ok)
{
	const char *pin = t ? t->cfg->server.pin_sha256 : NULL;
	char actual[TLSPIN_B64_LEN] = "?";

	if (!pin || !*pin || !preverify_ok || X509_STORE_CTX_get_error_depth(xs) != 0)
		return 0;
	if (tlspin_of_cert(X509_STORE_CTX_get_current_cert(xs), actual) < 0 ||
	    !tlspin_match(pin, actual)) {
		log_err("the certificate of %s has public key sha256 %s, not server.pin_sha256; "
			"refusing it",
			t->url, actual);
		X509_STORE_CTX_set_error(xs, X509_V_ERR_APPLICATION_VERIFICATION);
		return 1;
	}
	return 0;
}

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
		    size_t len)
{
	struct transport *t = lws_context_user(lws_get_context(wsi));
	int status;

	(void)user;
	switch (reason) {
	case LWS_CALLBACK_CLIENT_APPEND_HANDSHAKE_HEADER: {
		unsigned char **p = in;
		unsigned char *end = *p + len;

		if (lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_AUTHORIZATION,
						 (const unsigned char *)t->authz,
						 (int)strlen(t->authz), p, end))
			return -1;
		break;
	}
	case LWS_CALLBACK_CLIENT_ESTABLISHED:
		t->connected = true;
		t->batch = false; /* until this server's welcome says otherwise */
		if (t->ever_connected)
			t->reconnects++;
		t->ever_connected = true;
		t->useful = false; /* until an ack shows it works (or TRANSPORT_STABLE_MS) */
		t->rx_dropping = false;
		t->connected_ms = mono_ms();
		log_info("connected to %s", t->url);
		if (t->on_connected)
			t->on_connected(t->on_connected_arg);
		lws_callback_on_writable(wsi);
		break;
	case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
		status = (int)lws_http_client_http_response(wsi);
		t->wsi = NULL;
		if (status == 401 || status == 403) {
			auth_invalidate(t->auth);
			schedule_connect(t, backoff_next(&t->bo), "%s refused the token (HTTP %d)",
					 t->url, status);
		} else {
			schedule_connect(t, backoff_next(&t->bo), "cannot connect to %s: %s",
					 t->url, in ? (const char *)in : "connection error");
		}
		break;
	case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
		outbox_peer_closing(t->ob); /* what is written from now on is not delivered */
		if (len >= 2) {
			const unsigned char *b = in;
			int code = (b[0] << 8) | b[1];
			char more[64];
			char reason[128 * 4];

			/* One line per close (connections are paced by the back-off); the
			 * reason, the server's text, at most once a minute. libwebsockets 4.1
			 * hands codes 1012-1015 over (and echoes them) as 1002. */
			reason[0] = '\0';
			more[0] = '\0';
			if (len > 2 && transport_peer_log_ok(t, PEER_CLOSE, more, sizeof(more)))
				peertext_escape((const char *)b + 2, len - 2, reason,
						sizeof(reason));
			log_info("%s closed the connection with code %d%s%s%s%s%s", t->url, code,
				 code == 1002 ? " (or 1012-1015)" : "", reason[0] ? ": \"" : "",
				 reason, reason[0] ? "\"" : "", more);
			if (code == SRVMON_CLOSE_POLICY || code == SRVMON_CLOSE_TOKEN_EXPIRED)
				auth_invalidate(t->auth);
		}
		break;
	case LWS_CALLBACK_CLIENT_CLOSED:
		t->wsi = NULL;
		t->connected = false;
		t->batch = false;
		outbox_connection_closed(t->ob);
		if (t->stopping)
			break;
		if (t->useful || mono_ms() - t->connected_ms >= TRANSPORT_STABLE_MS)
			backoff_reset(&t->bo);
		if (t->renewing) {
			t->renewing = false;
			lws_sul_schedule(t->ctx, 0, &t->sul_connect, connect_cb, 1);
			break;
		}
		schedule_connect(t, backoff_next(&t->bo), "connection to %s lost", t->url);
		break;
	case LWS_CALLBACK_OPENSSL_PERFORM_SERVER_CERT_VERIFICATION:
		/* user: the X509_STORE_CTX, len: OpenSSL's preverify_ok */
		return check_pin(t, user, (int)len);
	case LWS_CALLBACK_CLIENT_RECEIVE:
		return transport_receive(t, wsi, in, len);
	case LWS_CALLBACK_CLIENT_WRITEABLE:
		if (t->stopping) {
			lws_close_reason(wsi, LWS_CLOSE_STATUS_GOINGAWAY,
					 (unsigned char *)"agent stopping", 14);
			return -1;
		}
		if (t->renewing) {
			lws_close_reason(wsi, LWS_CLOSE_STATUS_NORMAL,
					 (unsigned char *)"token renewal", 13);
			return -1;
		}
		return t->batch ? transport_write_batch(t, wsi) : transport_write_one(t, wsi);
	case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
		if (t && t->connected && t->wsi && outbox_pending(t->ob) > 0)
			lws_callback_on_writable(t->wsi);
		break;
	default:
		break;
	}
	return 0;
}

static const struct lws_protocols protocols[] = {
	/* tx_packet_size: without it lws 4.1 hands the socket at most rx_buffer_size (default
	 * 4 KiB) per send and keeps the rest for later POLLOUTs: a 30 KiB batch would take 8
	 * poll + sendto rounds instead of one sendto. */
	{.name = "srvmon-agent",
	 .callback = callback,
	 .rx_buffer_size = 0,
	 .tx_packet_size = TRANSPORT_MAX_TX + LWS_PRE},
	{0},
};

static void lws_log_emit(int level, const char *line)
{
	size_t n = strlen(line);

	while (n > 0 && line[n - 1] == '\n')
		n--;
	if (level & LLL_ERR)
		log_warn("libwebsockets: %.*s", (int)n, line);
	else
		log_debug("libwebsockets: %.*s", (int)n, line);
}

struct transport *transport_new(const struct config *cfg, struct outbox *ob, struct auth *auth,
				transport_connected_fn on_connected, void *arg)
{
	struct lws_context_creation_info info;
	struct transport *t;
	uint64_t ping_s;
	int err = ENOMEM;

	t = calloc(1, sizeof(*t));
	if (!t)
		goto fail;
	t->cfg = cfg;
	t->ob = ob;
	t->auth = auth;
	t->on_connected = on_connected;
	t->on_connected_arg = arg;
	(void)snprintf(t->url, sizeof(t->url), "%s://%s%s%s:%llu%s", cfg->server.tls ? "wss" : "ws",
		       strchr(cfg->server.server_address, ':') ? "[" : "",
		       cfg->server.server_address,
		       strchr(cfg->server.server_address, ':') ? "]" : "",
		       (unsigned long long)cfg->server.server_port, cfg->server.ws_path);
	t->tx_cap = (size_t)64 * 1024;
	t->tx = malloc(LWS_PRE + t->tx_cap);
	t->rx = malloc(TRANSPORT_MAX_RX + 1);
	if (!t->tx || !t->rx)
		goto fail;
	backoff_init(&t->bo, &reconnect_policy, seed_from_clock());
	t->bo.policy.cap_ms = cfg->server.reconnect_max_ms;
	backoff_init(&t->auth_bo, &auth_policy, seed_from_clock() ^ 0x5bd1e995);
	t->auth_bo.policy.cap_ms = cfg->server.reconnect_max_ms;

	ping_s = cfg->server.ping_interval_ms / 1000;
	if (ping_s < 1)
		ping_s = 1;
	if (ping_s > 30000)
		ping_s = 30000;
	t->idle_policy.secs_since_valid_ping = (uint16_t)ping_s;
	t->idle_policy.secs_since_valid_hangup = (uint16_t)(ping_s * 2 + 5);

	lws_set_log_level(LLL_ERR | (log_get_level() >= LOG_LEVEL_DEBUG ? LLL_WARN : 0),
			  lws_log_emit);
	memset(&info, 0, sizeof(info));
	info.port = CONTEXT_PORT_NO_LISTEN;
	info.protocols = protocols;
	info.user = t;
	/* OpenSSL is initialised only when TLS is used: it costs ~4 MiB of resident pages. */
	info.options = cfg->server.tls ? LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT : 0;
	if (cfg->server.ca_file && *cfg->server.ca_file)
		info.client_ssl_ca_filepath = cfg->server.ca_file;
	info.fd_limit_per_thread = 8;
	t->ctx = lws_create_context(&info);
	if (!t->ctx) {
		log_err("cannot create the libwebsockets context for %s", t->url);
		err = EIO;
		goto fail;
	}
	return t;
fail:
	transport_free(t);
	errno = err;
	return NULL;
}

void transport_free(struct transport *t)
{
	if (!t)
		return;
	if (t->ctx)
		lws_context_destroy(t->ctx);
	free(t->tx);
	free(t->rx);
	explicit_bzero(t->authz, sizeof(t->authz));
	explicit_bzero(t->path, sizeof(t->path));
	free(t);
}

static void close_timeout_cb(lws_sorted_usec_list_t *sul)
{
	struct transport *t = lws_container_of(sul, struct transport, sul_connect);

	t->close_timed_out = true;
}

/* Stopping: the server gets a close frame (1001, "going away") rather than a dropped
 * connection. libwebsockets 4.1 closes the socket once the frame is written, without
 * waiting for the server's answer; a frame still unwritten after TRANSPORT_CLOSE_MS (a
 * server that stopped reading) is given up. */
static void close_for_stop(struct transport *t)
{
	t->stopping = true;
	if (!t->wsi || !t->connected)
		return; /* nothing to close, or not open yet: the context's end drops it */
	lws_sul_schedule(t->ctx, 0, &t->sul_connect, close_timeout_cb,
			 (lws_usec_t)TRANSPORT_CLOSE_MS * 1000);
	lws_callback_on_writable(t->wsi);
	while (t->wsi && !t->close_timed_out) {
		if (lws_service(t->ctx, 0) < 0)
			break;
	}
	lws_sul_schedule(t->ctx, 0, &t->sul_connect, NULL, LWS_SET_TIMER_USEC_CANCEL);
	if (t->wsi)
		log_info("the close frame to %s could not be written within %d ms; dropping the "
			 "connection",
			 t->url, TRANSPORT_CLOSE_MS);
}

int transport_run(struct transport *t, volatile sig_atomic_t *stop, uint64_t tick_ms,
		  void (*tick)(void *arg), void *arg)
{
	t->tick_ms = tick_ms ? tick_ms : 1000;
	t->tick = tick;
	t->tick_arg = arg;
	lws_sul_schedule(t->ctx, 0, &t->sul_connect, connect_cb, 1);
	lws_sul_schedule(t->ctx, 0, &t->sul_tick, tick_cb, (lws_usec_t)t->tick_ms * 1000);
	while (!*stop) {
		if (lws_service(t->ctx, 0) < 0)
			break;
	}
	lws_sul_schedule(t->ctx, 0, &t->sul_connect, NULL, LWS_SET_TIMER_USEC_CANCEL);
	lws_sul_schedule(t->ctx, 0, &t->sul_tick, NULL, LWS_SET_TIMER_USEC_CANCEL);
	close_for_stop(t);
	return 0;
}

void transport_wake(void *arg)
{
	struct transport *t = arg;

	lws_cancel_service(t->ctx);
}

uint64_t transport_reconnects(const struct transport *t)
{
	return t->reconnects;
}

const char *transport_url(const struct transport *t)
{
	return t->url;
}
