/*
 * srvmon-server ingest capacity: ONE process opens N WebSocket connections to srvmon-server
 * (each its own host_id, all with one bearer token), each sending `status` records as fast
 * as its window of unacknowledged records allows (or at --rate records/s), as single-record
 * frames or as batch frames. Reports records/s acknowledged and the per-record ack latency
 * (from the write of the frame holding the record to the ack covering it): p50, p99, max.
 *
 * Built and run by bench/ingest-load.sh (cc + pkg-config libwebsockets). Loopback only.
 *
 * ingest-load --port P --token T [--conns 500] [--seconds 30] [--batch 0|B] [--window W]
 *             [--rate R] [--pad BYTES] [--first-host N]
 *
 * --first-host: the host_ids are load-N.. (default 0): several load processes against one
 * database (bench/ingest-engines.sh, two nodes) send distinct hosts.
 */
#include <errno.h>
#include <inttypes.h>
#include <libwebsockets.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#define MAX_CONNS   5000
#define MAX_WINDOW  1000
#define MAX_SAMPLES (32u * 1024 * 1024)
#define FRAME_MAX   (1024 * 1024)
#define DRAIN_S	    10
#define CONNECT_S   30

struct conn {
	struct lws *wsi;
	unsigned int idx;
	bool established;
	bool closed;
	uint64_t next_seq;	      /* next seq to send (from 1) */
	uint64_t acked;		      /* highest seq acked */
	uint64_t sent_us[MAX_WINDOW]; /* send time of seq, at seq % window */
};

static struct {
	const char *token;
	int port;
	unsigned int conns;
	unsigned int seconds;
	unsigned int batch; /* 0: single-record frames */
	unsigned int window;
	unsigned int rate; /* records/s per connection; 0: as fast as the window allows */
	unsigned int pad;
	unsigned int first_host;
} opt = {.conns = 500, .seconds = 30, .window = 100, .pad = 200};

static struct conn *conns;
static unsigned int n_established, n_closed, n_errors;
static uint32_t *samples; /* latencies in microseconds, measured window only */
static size_t n_samples;
static uint64_t acked_in_window;
static uint64_t t_start_us, t_end_us;
static bool sending = true;
static char *frame; /* LWS_PRE + FRAME_MAX */
static char *padding;

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static uint64_t parse_num(const char *s, const char *name)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s || *end) {
		fprintf(stderr, "ingest-load: %s: \"%s\" is not a number\n", name, s);
		exit(2);
	}
	return v;
}

/* Appends one record to frame at *len. */
static int put_record(struct conn *c, size_t *len)
{
	char *p = frame + LWS_PRE + *len;
	size_t room = FRAME_MAX - *len;
	int n;

	n = snprintf(p, room,
		     "{\"type\":\"status\",\"ts\":%" PRIu64
		     ",\"host_id\":\"load-%05u\",\"seq\":%" PRIu64 ",\"pad\":\"%s\"}",
		     (uint64_t)time(NULL) * 1000, opt.first_host + c->idx, c->next_seq, padding);
	if (n < 0 || (size_t)n >= room)
		return -ENOSPC;
	*len += (size_t)n;
	return 0;
}

static unsigned int may_send(struct conn *c, uint64_t now)
{
	uint64_t inflight = c->next_seq - 1 - c->acked;
	uint64_t room = inflight >= opt.window ? 0 : opt.window - inflight;

	if (opt.rate) {
		uint64_t due = (now - t_start_us) * opt.rate / 1000000 + 1;

		if (c->next_seq > due)
			return 0;
		if (due - c->next_seq + 1 < room)
			room = due - c->next_seq + 1;
	}
	return (unsigned int)room;
}

static int write_frame(struct conn *c)
{
	uint64_t now = now_us();
	unsigned int n = may_send(c, now);
	size_t len = 0;

	if (!sending || n == 0) {
		if (sending && opt.rate)
			lws_set_timer_usecs(c->wsi, 1000000 / opt.rate + 1);
		return 0;
	}
	if (opt.batch == 0) {
		n = 1;
	} else {
		if (n > opt.batch)
			n = opt.batch;
		len = (size_t)snprintf(frame + LWS_PRE, FRAME_MAX,
				       "{\"type\":\"batch\",\"records\":[");
	}
	for (unsigned int i = 0; i < n; i++) {
		if (i > 0)
			frame[LWS_PRE + len++] = ',';
		if (put_record(c, &len) < 0)
			return -1;
		c->sent_us[c->next_seq % opt.window] = now;
		c->next_seq++;
	}
	if (opt.batch) {
		frame[LWS_PRE + len++] = ']';
		frame[LWS_PRE + len++] = '}';
	}
	if (lws_write(c->wsi, (unsigned char *)frame + LWS_PRE, len, LWS_WRITE_TEXT) < (int)len)
		return -1;
	if (may_send(c, now_us()) > 0)
		lws_callback_on_writable(c->wsi);
	else if (opt.rate)
		lws_set_timer_usecs(c->wsi, 1000000 / opt.rate + 1);
	return 0;
}

static void on_ack(struct conn *c, uint64_t seq)
{
	uint64_t now = now_us();

	if (seq >= c->next_seq)
		seq = c->next_seq - 1;
	for (uint64_t s = c->acked + 1; s <= seq; s++) {
		uint64_t sent = c->sent_us[s % opt.window];

		if (sent >= t_start_us && sent < t_end_us) {
			acked_in_window++;
			if (n_samples < MAX_SAMPLES)
				samples[n_samples++] = (uint32_t)(now - sent);
		}
	}
	if (seq > c->acked)
		c->acked = seq;
	if (sending)
		lws_callback_on_writable(c->wsi);
}

static void on_message(struct conn *c, const char *in, size_t len)
{
	char buf[256];
	const char *p;

	if (len >= sizeof(buf))
		return;
	memcpy(buf, in, len);
	buf[len] = '\0';
	if (strstr(buf, "\"type\":\"ack\"") && (p = strstr(buf, "\"seq\":")))
		on_ack(c, strtoull(p + 6, NULL, 10));
	else if (strstr(buf, "\"type\":\"error\""))
		n_errors++;
}

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
		    size_t len)
{
	struct conn *c = user;

	(void)user;
	switch (reason) {
	case LWS_CALLBACK_CLIENT_ESTABLISHED:
		c->established = true;
		n_established++;
		lws_callback_on_writable(wsi);
		break;
	case LWS_CALLBACK_CLIENT_RECEIVE:
		on_message(c, in, len);
		break;
	case LWS_CALLBACK_CLIENT_WRITEABLE:
		if (t_start_us == 0)
			return 0; /* until every connection is up */
		return write_frame(c);
	case LWS_CALLBACK_TIMER:
		lws_callback_on_writable(wsi);
		break;
	case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
		fprintf(stderr, "ingest-load: connection %u: %s\n", c ? c->idx : 0,
			in ? (const char *)in : "error");
		/* fallthrough */
	case LWS_CALLBACK_CLIENT_CLOSED:
		if (c && !c->closed) {
			c->closed = true;
			n_closed++;
		}
		break;
	default:
		break;
	}
	return 0;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static double pct(double p)
{
	size_t i;

	if (n_samples == 0)
		return 0;
	i = (size_t)(p * (double)(n_samples - 1) + 0.5);
	return samples[i] / 1000.0;
}

int main(int argc, char **argv)
{
	static const struct lws_protocols protocols[] = {
		{"srvmon", callback, 0, 65536, 0, NULL, 0},
		{NULL, NULL, 0, 0, 0, NULL, 0},
	};
	struct lws_context_creation_info info;
	struct lws_context *ctx;
	struct rlimit rl;
	char path[256];
	uint64_t deadline, pending;
	unsigned int i;

	for (int a = 1; a + 1 < argc; a += 2) {
		const char *k = argv[a], *v = argv[a + 1];

		if (strcmp(k, "--port") == 0)
			opt.port = (int)parse_num(v, k);
		else if (strcmp(k, "--token") == 0)
			opt.token = v;
		else if (strcmp(k, "--conns") == 0)
			opt.conns = (unsigned int)parse_num(v, k);
		else if (strcmp(k, "--seconds") == 0)
			opt.seconds = (unsigned int)parse_num(v, k);
		else if (strcmp(k, "--batch") == 0)
			opt.batch = (unsigned int)parse_num(v, k);
		else if (strcmp(k, "--window") == 0)
			opt.window = (unsigned int)parse_num(v, k);
		else if (strcmp(k, "--rate") == 0)
			opt.rate = (unsigned int)parse_num(v, k);
		else if (strcmp(k, "--pad") == 0)
			opt.pad = (unsigned int)parse_num(v, k);
		else if (strcmp(k, "--first-host") == 0)
			opt.first_host = (unsigned int)parse_num(v, k);
		else {
			fprintf(stderr, "ingest-load: unknown option %s\n", k);
			return 2;
		}
	}
	if (!opt.token || !opt.port || opt.conns == 0 || opt.conns > MAX_CONNS || opt.window == 0 ||
	    opt.window > MAX_WINDOW || opt.batch > 1000 || opt.seconds == 0 || opt.seconds > 600 ||
	    opt.pad > 4096 || opt.first_host > 90000) {
		fprintf(stderr,
			"usage: ingest-load --port P --token T [--conns 1..%d] [--seconds "
			"1..600] [--batch 0..1000] [--window 1..%d] [--rate R] [--pad 0..4096]"
			" [--first-host 0..90000]\n",
			MAX_CONNS, MAX_WINDOW);
		return 2;
	}
	/* One descriptor per connection, plus lws's own. */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < opt.conns + 64u) {
		rl.rlim_cur = rl.rlim_max < opt.conns + 256u ? rl.rlim_max : opt.conns + 256u;
		if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
			perror("ingest-load: setrlimit(RLIMIT_NOFILE)");
	}
	conns = calloc(opt.conns, sizeof(*conns));
	samples = malloc(MAX_SAMPLES * sizeof(*samples));
	frame = malloc(LWS_PRE + FRAME_MAX);
	padding = malloc(opt.pad + 1);
	if (!conns || !samples || !frame || !padding) {
		fprintf(stderr, "ingest-load: out of memory\n");
		return 1;
	}
	memset(padding, 'x', opt.pad);
	padding[opt.pad] = '\0';
	signal(SIGPIPE, SIG_IGN);
	lws_set_log_level(LLL_ERR, NULL);

	memset(&info, 0, sizeof(info));
	info.port = CONTEXT_PORT_NO_LISTEN;
	info.protocols = protocols;
	info.fd_limit_per_thread = opt.conns + 64;
	ctx = lws_create_context(&info);
	if (!ctx) {
		fprintf(stderr, "ingest-load: lws_create_context failed\n");
		return 1;
	}
	(void)snprintf(path, sizeof(path), "/ws?token=%s", opt.token);
	for (i = 0; i < opt.conns; i++) {
		struct lws_client_connect_info ci;

		memset(&ci, 0, sizeof(ci));
		ci.context = ctx;
		ci.address = "127.0.0.1";
		ci.port = opt.port;
		ci.path = path;
		ci.host = "127.0.0.1";
		ci.origin = "127.0.0.1";
		ci.protocol = NULL;
		ci.userdata = &conns[i];
		ci.pwsi = &conns[i].wsi;
		conns[i].idx = i;
		conns[i].next_seq = 1;
		if (!lws_client_connect_via_info(&ci)) {
			conns[i].closed = true;
			n_closed++;
		}
		/* Let the server accept as we go rather than in one burst. */
		if (i % 50 == 49)
			lws_service(ctx, 0);
	}
	deadline = now_us() + CONNECT_S * 1000000ull;
	while (n_established + n_closed < opt.conns && now_us() < deadline)
		lws_service(ctx, 0);
	if (n_established < opt.conns) {
		fprintf(stderr, "ingest-load: only %u of %u connections established\n",
			n_established, opt.conns);
		lws_context_destroy(ctx);
		return 1;
	}
	/* Measure: every connection sends for --seconds. */
	t_start_us = now_us();
	t_end_us = t_start_us + opt.seconds * 1000000ull;
	for (i = 0; i < opt.conns; i++)
		lws_callback_on_writable(conns[i].wsi);
	while (now_us() < t_end_us && n_closed == 0)
		lws_service(ctx, 0);
	/* Stop sending; wait for the acks of what was sent. */
	sending = false;
	deadline = now_us() + DRAIN_S * 1000000ull;
	do {
		pending = 0;
		for (i = 0; i < opt.conns; i++)
			if (!conns[i].closed)
				pending += conns[i].next_seq - 1 - conns[i].acked;
		if (pending == 0 || now_us() > deadline)
			break;
		lws_service(ctx, 0);
	} while (true);

	qsort(samples, n_samples, sizeof(*samples), cmp_u32);
	{
		uint64_t sent = 0, acked = 0;

		for (i = 0; i < opt.conns; i++) {
			sent += conns[i].next_seq - 1;
			acked += conns[i].acked;
		}
		printf("conns=%u mode=%s window=%u rate=%s seconds=%u: sent=%" PRIu64
		       " acked=%" PRIu64 " unacked=%" PRIu64 " errors=%u closed=%u\n",
		       opt.conns, opt.batch ? "batch" : "single", opt.window,
		       opt.rate ? "paced" : "max", opt.seconds, sent, acked, pending, n_errors,
		       n_closed);
		if (opt.batch)
			printf("batch=%u records per frame\n", opt.batch);
		printf("records/s=%.0f ack_latency_ms p50=%.1f p99=%.1f max=%.1f (%zu samples)\n",
		       (double)acked_in_window / opt.seconds, pct(0.50), pct(0.99), pct(1.0),
		       n_samples);
	}
	/* Decided before the context is destroyed (that closes every connection). */
	i = pending == 0 && n_closed == 0 ? 0 : 1;
	lws_context_destroy(ctx);
	free(padding);
	free(frame);
	free(samples);
	free(conns);
	return (int)i;
}
