#include "speedtest.h"

#include "log.h"
#include "speedtest_rule.h"
#include "speedtest_upload.h"

#include <curl/curl.h>
#include <errno.h>
#include <inttypes.h>
#include <linux/sockios.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <time.h>

#define MIB		(1024ull * 1024)
#define POLL_MS		20
#define DOWNLOAD_BUFFER (256L * 1024) /* curl receive buffer of a download stream */
#define MAX_STREAMS	32
#define UPLOAD_POOL	((size_t)1024 * 1024)
#define REPLY_MAX	256
#define CKSIZE_MAX	1024 /* MiB, the LibreSpeed limit */

enum direction { DIR_DOWN, DIR_UP };

struct stream {
	CURL *h;
	struct phase *ph;
	char errbuf[CURL_ERROR_SIZE];
	char url[512];
	struct curl_slist *headers;
	curl_socket_t fd;    /* upload: the connection's socket, from on_sockopt */
	uint64_t bytes;	     /* download: received; upload: handed to curl */
	uint64_t upload_len; /* upload: the POST body length */
	char reply[REPLY_MAX + 1];
	size_t reply_len;
	bool done;
	long http_code;	  /* when done */
	uint64_t counted; /* upload: highest count of bytes the server received */
};

struct phase {
	enum direction dir;
	enum speedtest_names names;
	uint64_t budget; /* bytes this direction may move */
	uint64_t total;	 /* download: bytes received */
	bool capped;
	char error[256];
};

static unsigned char *upload_pool;

static uint64_t mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static void set_error(char *buf, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void set_error(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;

	if (buf[0])
		return; /* the first error is the cause */
	va_start(ap, fmt);
	(void)vsnprintf(buf, size, fmt, ap);
	va_end(ap);
}

static int pool_init(void)
{
	size_t off = 0;

	if (upload_pool)
		return 0;
	upload_pool = malloc(UPLOAD_POOL);
	if (!upload_pool)
		return -ENOMEM;
	while (off < UPLOAD_POOL) {
		ssize_t n = getrandom(upload_pool + off, UPLOAD_POOL - off, 0);

		if (n < 0 && errno != EINTR) {
			free(upload_pool);
			upload_pool = NULL;
			return -errno;
		}
		if (n > 0)
			off += (size_t)n;
	}
	return 0;
}

static size_t on_download(char *data, size_t size, size_t nmemb, void *arg)
{
	struct stream *s = arg;
	struct phase *ph = s->ph;
	size_t n = size * nmemb;
	long code = 0;

	(void)data;
	curl_easy_getinfo(s->h, CURLINFO_RESPONSE_CODE, &code);
	if (code != 200)
		return 0; /* an error answer is not payload; reported at completion */
	/* Payload counted stops exactly at the cap. */
	if (ph->total + n >= ph->budget) {
		s->bytes += ph->budget - ph->total;
		ph->total = ph->budget;
		ph->capped = true;
		return 0;
	}
	s->bytes += n;
	ph->total += n;
	return n;
}

static size_t on_reply(char *data, size_t size, size_t nmemb, void *arg)
{
	struct stream *s = arg;
	size_t n = size * nmemb;
	size_t keep = REPLY_MAX - s->reply_len;

	if (keep > n)
		keep = n;
	memcpy(s->reply + s->reply_len, data, keep);
	s->reply_len += keep;
	s->reply[s->reply_len] = '\0';
	return n;
}

static size_t on_upload(char *buf, size_t size, size_t nmemb, void *arg)
{
	struct stream *s = arg;
	size_t n = size * nmemb;
	uint64_t left = s->upload_len - s->bytes;
	size_t off = (size_t)(s->bytes % UPLOAD_POOL);

	if (n > left)
		n = (size_t)left;
	if (n > UPLOAD_POOL - off)
		n = UPLOAD_POOL - off;
	memcpy(buf, upload_pool + off, n);
	s->bytes += n;
	return n;
}

/* Remembers an upload stream's socket, to ask the kernel what is still unacknowledged. */
static int on_sockopt(void *arg, curl_socket_t fd, curlsocktype purpose)
{
	struct stream *s = arg;

	if (purpose == CURLSOCKTYPE_IPCXN)
		s->fd = fd;
	return CURL_SOCKOPT_OK;
}

/* Options every request of a test shares. */
static int easy_common(CURL *h, const char *url, char *errbuf, uint64_t timeout_ms,
		       const char *bearer)
{
	errbuf[0] = '\0';
	/* srvmon-server's endpoints want the agent's token (sent with the first request). */
	if (bearer && (curl_easy_setopt(h, CURLOPT_HTTPAUTH, (long)CURLAUTH_BEARER) != CURLE_OK ||
		       curl_easy_setopt(h, CURLOPT_XOAUTH2_BEARER, bearer) != CURLE_OK))
		return -EINVAL;
	if (curl_easy_setopt(h, CURLOPT_URL, url) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)timeout_ms) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https") != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, NULL) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_USERAGENT, "srvmon-agent speedtest") != CURLE_OK)
		return -EINVAL;
	return 0;
}

static bool cancelled(const struct speedtest_opts *o)
{
	return o->cancel && __atomic_load_n(o->cancel, __ATOMIC_RELAXED);
}

/* Latency: SPEEDTEST_LATENCY_PROBES small GETs on one kept-alive connection, after one
 * that opens it. That first one also finds the server's endpoint names: a 404 on the
 * names tried first is retried once with the other names. The first failure ends the
 * test; ret->names is set once the server answered. */
static int measure_latency(const struct speedtest_opts *o, struct speedtest_result *ret)
{
	double rtt[SPEEDTEST_LATENCY_PROBES];
	char errbuf[CURL_ERROR_SIZE];
	char url[512], first_url[512] = "";
	struct stream sink = {0};
	enum speedtest_names names = speedtest_names_first(o->names);
	CURL *h;
	int r;

	r = speedtest_url(url, sizeof(url), o->server, names, SPEEDTEST_EMPTY, 0);
	if (r < 0)
		return r;
	h = curl_easy_init();
	if (!h)
		return -ENOMEM;
	sink.h = h;
	if (easy_common(h, url, errbuf, o->timeout_ms, o->bearer) < 0 ||
	    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)o->timeout_ms) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_reply) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_WRITEDATA, &sink) != CURLE_OK) {
		r = -EINVAL;
		goto out;
	}
	for (int i = 0; i <= SPEEDTEST_LATENCY_PROBES && !cancelled(o); i++) {
		curl_off_t total_us = 0;
		long code = 0;
		CURLcode c;

		sink.reply_len = 0;
		c = curl_easy_perform(h);
		if (c != CURLE_OK) {
			set_error(ret->error, sizeof(ret->error), "latency: GET %s: %s", url,
				  errbuf[0] ? errbuf : curl_easy_strerror(c));
			goto out;
		}
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
		if (code == 404 && i == 0 && !first_url[0]) {
			/* Not these names: the other ones, once. */
			memcpy(first_url, url, sizeof(url));
			names = speedtest_names_other(names);
			r = speedtest_url(url, sizeof(url), o->server, names, SPEEDTEST_EMPTY, 0);
			if (r < 0 || curl_easy_setopt(h, CURLOPT_URL, url) != CURLE_OK) {
				r = r < 0 ? r : -EINVAL;
				goto out;
			}
			log_debug("speedtest: GET %s: HTTP 404, trying %s", first_url, url);
			i--;
			continue;
		}
		if (code != 200) {
			if (first_url[0])
				set_error(ret->error, sizeof(ret->error),
					  "latency: GET %s: HTTP 404, GET %s: HTTP %ld", first_url,
					  url, code);
			else
				set_error(ret->error, sizeof(ret->error),
					  "latency: GET %s: HTTP %ld", url, code);
			goto out;
		}
		ret->names = names;
		curl_easy_getinfo(h, CURLINFO_TOTAL_TIME_T, &total_us);
		if (i > 0) /* the first one includes the TCP (and TLS) handshake */
			rtt[i - 1] = (double)total_us / 1000.0;
	}
	if (cancelled(o)) {
		set_error(ret->error, sizeof(ret->error), "cancelled");
		goto out;
	}
	speedtest_latency(rtt, SPEEDTEST_LATENCY_PROBES, &ret->latency_ms, &ret->jitter_ms);
out:
	curl_easy_cleanup(h);
	return r;
}

/* Bytes of an upload stream the server has received (speedtest_upload.h): the whole
 * body of a POST answered 2xx, else what its TCP acknowledged. */
static uint64_t upload_acked(struct stream *s)
{
	struct speedtest_upload u = {.done = s->done, .http_code = s->http_code};
	curl_off_t sent = 0;
	uint64_t n;
	int outq = 0;

	if (curl_easy_getinfo(s->h, CURLINFO_SIZE_UPLOAD_T, &sent) == CURLE_OK && sent > 0)
		u.sent = (uint64_t)sent;
	if (s->done)
		u.reply_valid = speedtest_parse_received(s->reply, &u.reply_bytes) == 0;
	/* Only a transfer in flight owns its socket: a finished one's may be closed, and
	 * the number reused by another stream. */
	else if (s->fd != CURL_SOCKET_BAD && ioctl(s->fd, SIOCOUTQ, &outq) == 0 && outq >= 0) {
		u.outq_valid = true;
		u.outq = (uint64_t)outq;
	}
	n = speedtest_upload_counted(&u);
	if (n > s->counted)
		s->counted = n;
	return s->counted;
}

static uint64_t phase_bytes(struct phase *ph, struct stream *st, unsigned n)
{
	uint64_t sum = 0;

	if (ph->dir == DIR_DOWN)
		return ph->total;
	for (unsigned i = 0; i < n; i++)
		sum += upload_acked(&st[i]);
	return sum;
}

static int stream_setup(const struct speedtest_opts *o, struct stream *s, struct phase *ph,
			uint64_t per_stream)
{
	struct curl_slist *hdrs;
	char *url = s->url;
	int r;

	s->ph = ph;
	s->h = curl_easy_init();
	if (!s->h)
		return -ENOMEM;
	if (ph->dir == DIR_DOWN) {
		uint64_t mib = (per_stream + MIB - 1) / MIB;

		if (mib < 1)
			mib = 1;
		if (mib > CKSIZE_MAX)
			mib = CKSIZE_MAX;
		r = speedtest_url(url, sizeof(s->url), o->server, ph->names, SPEEDTEST_GARBAGE,
				  mib);
		if (r < 0)
			return r;
		if (easy_common(s->h, url, s->errbuf, o->timeout_ms, o->bearer) < 0 ||
		    /* Fewer, larger reads: at 1 Gbit/s the default 16 KiB is 8000 callbacks/s. */
		    curl_easy_setopt(s->h, CURLOPT_BUFFERSIZE, DOWNLOAD_BUFFER) != CURLE_OK ||
		    curl_easy_setopt(s->h, CURLOPT_WRITEFUNCTION, on_download) != CURLE_OK ||
		    curl_easy_setopt(s->h, CURLOPT_WRITEDATA, s) != CURLE_OK)
			return -EINVAL;
		return 0;
	}
	r = speedtest_url(url, sizeof(s->url), o->server, ph->names, SPEEDTEST_EMPTY, 0);
	if (r < 0)
		return r;
	s->upload_len = per_stream;
	s->fd = CURL_SOCKET_BAD;
	/* No "Expect: 100-continue" round trip before the body. */
	s->headers = curl_slist_append(NULL, "Expect:");
	if (!s->headers)
		return -ENOMEM;
	hdrs = curl_slist_append(s->headers, "Content-Type: application/octet-stream");
	if (!hdrs)
		return -ENOMEM; /* s->headers is freed with the stream */
	s->headers = hdrs;
	if (easy_common(s->h, url, s->errbuf, o->timeout_ms, o->bearer) < 0 ||
	    curl_easy_setopt(s->h, CURLOPT_POST, 1L) != CURLE_OK ||
	    curl_easy_setopt(s->h, CURLOPT_HTTPHEADER, s->headers) != CURLE_OK ||
	    curl_easy_setopt(s->h, CURLOPT_SOCKOPTFUNCTION, on_sockopt) != CURLE_OK ||
	    curl_easy_setopt(s->h, CURLOPT_SOCKOPTDATA, s) != CURLE_OK ||
	    curl_easy_setopt(s->h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)per_stream) !=
		    CURLE_OK ||
	    curl_easy_setopt(s->h, CURLOPT_READFUNCTION, on_upload) != CURLE_OK ||
	    curl_easy_setopt(s->h, CURLOPT_READDATA, s) != CURLE_OK ||
	    curl_easy_setopt(s->h, CURLOPT_WRITEFUNCTION, on_reply) != CURLE_OK ||
	    curl_easy_setopt(s->h, CURLOPT_WRITEDATA, s) != CURLE_OK)
		return -EINVAL;
	return 0;
}

static void stream_done(struct stream *s, CURLcode c)
{
	struct phase *ph = s->ph;
	const char *what = ph->dir == DIR_DOWN ? "download: GET" : "upload: POST";
	long code = 0;

	s->done = true;
	curl_easy_getinfo(s->h, CURLINFO_RESPONSE_CODE, &code);
	s->http_code = code;
	if (c == CURLE_WRITE_ERROR && ph->capped && code == 200)
		return; /* our own stop at the byte cap */
	if (c != CURLE_OK) {
		if (code >= 400)
			set_error(ph->error, sizeof(ph->error), "%s %s: HTTP %ld", what, s->url,
				  code);
		else
			set_error(ph->error, sizeof(ph->error), "%s %s: %s", what, s->url,
				  s->errbuf[0] ? s->errbuf : curl_easy_strerror(c));
		return;
	}
	/* A download's payload is a 200's body; an upload may be answered by any 2xx. */
	if (ph->dir == DIR_DOWN ? code != 200 : code < 200 || code >= 300)
		set_error(ph->error, sizeof(ph->error), "%s %s: HTTP %ld", what, s->url, code);
}

struct phase_out {
	double rate;
	uint64_t bytes;
	const char *stop;
};

/* One direction: streams in parallel until the stop rule, the time or byte cap. */
static int run_phase(const struct speedtest_opts *o, struct phase *ph, struct phase_out *out)
{
	struct speedtest_windows win;
	struct stream st[MAX_STREAMS];
	const char *what = ph->dir == DIR_DOWN ? "download" : "upload";
	unsigned n = o->streams;
	uint64_t t0, now, next_win, last_progress, last_bytes = 0, bytes = 0;
	CURLM *m;
	int r = 0;
	int running = 1;

	memset(st, 0, sizeof(st));
	memset(&win, 0, sizeof(win));
	out->stop = "max_duration";
	m = curl_multi_init();
	if (!m)
		return -ENOMEM;
	for (unsigned i = 0; i < n; i++) {
		r = stream_setup(o, &st[i], ph, ph->budget / n);
		if (r < 0)
			goto out;
		if (curl_multi_add_handle(m, st[i].h) != CURLM_OK) {
			r = -ENOMEM;
			goto out;
		}
	}
	t0 = mono_us();
	next_win = t0 + (uint64_t)SPEEDTEST_WINDOW_MS * 1000u;
	last_progress = t0;
	for (;;) {
		CURLMsg *msg;
		int left;
		double rate;

		curl_multi_perform(m, &running);
		while ((msg = curl_multi_info_read(m, &left))) {
			for (unsigned i = 0; i < n && msg->msg == CURLMSG_DONE; i++) {
				if (st[i].h == msg->easy_handle)
					stream_done(&st[i], msg->data.result);
			}
		}
		now = mono_us();
		bytes = phase_bytes(ph, st, n);
		if (ph->error[0])
			break;
		if (bytes != last_bytes) {
			last_bytes = bytes;
			last_progress = now;
		}
		if (now - last_progress > o->timeout_ms * 1000u) {
			set_error(ph->error, sizeof(ph->error),
				  "%s: stalled, no data for %" PRIu64 " ms", what, o->timeout_ms);
			break;
		}
		if (cancelled(o)) {
			set_error(ph->error, sizeof(ph->error), "cancelled");
			break;
		}
		if (now >= next_win) {
			/* The boundary is when the bytes were counted, not when it was due: a
			 * late wake-up (a loaded host) must not stretch a window's bytes over a
			 * nominal 250 ms, nor add empty windows. */
			speedtest_windows_add(&win, now - t0, bytes);
			while (next_win <= now)
				next_win += (uint64_t)SPEEDTEST_WINDOW_MS * 1000u;
			if (speedtest_stable(&win, &rate)) {
				out->rate = rate;
				out->stop = "stable";
				goto measured;
			}
		}
		if (ph->capped) {
			out->stop = "byte_cap";
			break;
		}
		if (!running) {
			/* Every body ended: the upload's per-stream share of the cap is sent. */
			out->stop = ph->dir == DIR_UP ? "byte_cap" : "complete";
			ph->capped = ph->dir == DIR_UP;
			break;
		}
		if (now - t0 >= o->max_duration_ms * 1000u)
			break;
		curl_multi_poll(m, NULL, 0, POLL_MS, NULL);
	}
	if (!ph->error[0])
		out->rate = speedtest_fallback_rate(&win, now - t0, bytes);
measured:
	out->bytes = phase_bytes(ph, st, n);
out:
	for (unsigned i = 0; i < n; i++) {
		if (!st[i].h)
			continue;
		curl_multi_remove_handle(m, st[i].h);
		curl_easy_cleanup(st[i].h);
		curl_slist_free_all(st[i].headers);
	}
	curl_multi_cleanup(m);
	return r;
}

static uint64_t unix_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int speedtest_run(const struct speedtest_opts *o, struct speedtest_result *ret)
{
	struct phase down = {.dir = DIR_DOWN}, up = {.dir = DIR_UP};
	struct phase_out dout = {0}, uout = {0};
	uint64_t rx0 = 0, tx0 = 0, rx1 = 0, tx1 = 0;
	uint64_t t0;
	int r;

	if (!o || !ret || !o->server || o->streams == 0 || o->streams > MAX_STREAMS ||
	    o->byte_cap < 2 || o->timeout_ms == 0)
		return -EINVAL;
	memset(ret, 0, sizeof(*ret));
	r = pool_init();
	if (r < 0)
		return r;
	ret->ts_ms = unix_ms();
	ret->streams = o->streams;
	(void)snprintf(ret->server, sizeof(ret->server), "%s", o->server);
	t0 = mono_us();
	ret->host_valid = o->host_bytes && o->host_bytes(o->host_arg, &rx0, &tx0) == 0;

	/* Step 1: latency and jitter; also proves the server answers. */
	r = measure_latency(o, ret);
	if (r < 0 || ret->error[0])
		goto out;
	/* Step 2: download, with half the byte cap, on the names the server answered. */
	down.names = ret->names;
	up.names = ret->names;
	down.budget = o->byte_cap / 2;
	r = run_phase(o, &down, &dout);
	if (r < 0)
		goto out;
	if (down.error[0]) {
		(void)snprintf(ret->error, sizeof(ret->error), "%s", down.error);
		goto out;
	}
	ret->download_rate = dout.rate;
	ret->bytes_down = dout.bytes;
	ret->stop_down = dout.stop;
	/* Step 3: upload, with what the download left of the cap. */
	up.budget = o->byte_cap - dout.bytes;
	r = run_phase(o, &up, &uout);
	if (r < 0)
		goto out;
	if (up.error[0]) {
		(void)snprintf(ret->error, sizeof(ret->error), "%s", up.error);
		goto out;
	}
	ret->upload_rate = uout.rate;
	ret->bytes_up = uout.bytes;
	ret->stop_up = uout.stop;
	ret->capped = down.capped || up.capped;
out:
	ret->duration_ms = (mono_us() - t0) / 1000u;
	if (ret->host_valid && o->host_bytes(o->host_arg, &rx1, &tx1) == 0 && rx1 >= rx0 &&
	    tx1 >= tx0) {
		ret->host_rx_bytes = rx1 - rx0;
		ret->host_tx_bytes = tx1 - tx0;
	} else {
		ret->host_valid = false;
	}
	return r;
}
