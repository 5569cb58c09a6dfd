/* The /metrics endpoint: one request per connection, answered from the registry. */
#include "metrics_http.h"

#include "sbuf.h"
#include "log.h"
#include "metrics.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#define REQUEST_MAX	 8192 /* bytes of request head kept; larger heads get 431 */
#define CLIENT_TIMEOUT_S 2    /* a client that does not send its request in time is dropped */

struct metrics_http {
	struct metrics *m;
	int fd;
	int stop_pipe[2];
	uint16_t port;
	pthread_t thread;
	bool thread_started;
};

int metrics_listen_parse(const char *listen, char *ret_host, size_t host_size, uint16_t *ret_port)
{
	const char *colon, *host = listen;
	size_t host_len;
	char *end;
	unsigned long port;

	if (listen[0] == '[') {
		const char *close = strchr(listen, ']');

		if (!close || close[1] != ':')
			return -EINVAL;
		host = listen + 1;
		host_len = (size_t)(close - host);
		colon = close + 1;
	} else {
		colon = strrchr(listen, ':');
		if (!colon || memchr(listen, ':', (size_t)(colon - listen)))
			return -EINVAL; /* IPv6 needs brackets */
		host_len = (size_t)(colon - listen);
	}
	if (host_len == 0 || colon[1] < '0' || colon[1] > '9')
		return -EINVAL;
	errno = 0;
	port = strtoul(colon + 1, &end, 10);
	if (errno || *end || port > 65535)
		return -EINVAL;
	if (host_len >= host_size)
		return -ENAMETOOLONG;
	memcpy(ret_host, host, host_len);
	ret_host[host_len] = '\0';
	*ret_port = (uint16_t)port;
	return 0;
}

int metrics_http_route(const char *head, int *ret_status, int *ret_head_only, int *ret_openmetrics)
{
	const char *path;
	size_t plen;

	*ret_head_only = 0;
	*ret_openmetrics = 0;
	/* Header names are case-insensitive; the media type is matched as sent. */
	for (const char *p = strchr(head, '\n'); p; p = strchr(p + 1, '\n')) {
		if (strncasecmp(p + 1, "Accept:", 7) != 0)
			continue;
		if (strstr(p + 1, "application/openmetrics-text") &&
		    strstr(p + 1, "application/openmetrics-text") < strchrnul(p + 1, '\n'))
			*ret_openmetrics = 1;
	}
	if (strncmp(head, "GET ", 4) == 0) {
		path = head + 4;
	} else if (strncmp(head, "HEAD ", 5) == 0) {
		path = head + 5;
		*ret_head_only = 1;
	} else {
		*ret_status = 405;
		return 0;
	}
	plen = strcspn(path, " ?\r\n");
	if (plen == strlen("/metrics") && strncmp(path, "/metrics", plen) == 0)
		*ret_status = 200;
	else
		*ret_status = 404;
	return 0;
}

static int write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

static void respond(int fd, int status, const char *type, const char *body, size_t len,
		    bool head_only)
{
	const char *reason = status == 200   ? "OK"
			     : status == 404 ? "Not Found"
			     : status == 405 ? "Method Not Allowed"
			     : status == 431 ? "Request Header Fields Too Large"
					     : "Internal Server Error";
	char hdr[256];
	int n;

	n = snprintf(hdr, sizeof(hdr),
		     "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
		     "Connection: close\r\n\r\n",
		     status, reason, type, len);
	if (n < 0 || (size_t)n >= sizeof(hdr))
		return;
	if (write_all(fd, hdr, (size_t)n) == 0 && !head_only && len > 0)
		write_all(fd, body, len);
}

/* Reads the request head (up to the empty line) within the client timeout. */
static int read_head(int fd, char *buf, size_t size)
{
	size_t len = 0;

	while (len < size - 1) {
		ssize_t n = recv(fd, buf + len, size - 1 - len, 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -ECONNRESET;
		len += (size_t)n;
		buf[len] = '\0';
		if (strstr(buf, "\r\n\r\n") || strstr(buf, "\n\n"))
			return 0;
	}
	return -E2BIG;
}

static void serve_one(struct metrics_http *h, int fd)
{
	struct timeval tv = {.tv_sec = CLIENT_TIMEOUT_S};
	static const char text[] = "text/plain; charset=utf-8";
	struct sbuf body = {0};
	char head[REQUEST_MAX];
	int status, head_only, om;
	int r;

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	r = read_head(fd, head, sizeof(head));
	if (r == -E2BIG) {
		respond(fd, 431, text, "", 0, false);
		return;
	}
	if (r < 0)
		return;
	metrics_http_route(head, &status, &head_only, &om);
	if (status == 200 &&
	    metrics_render(h->m, om ? METRICS_OPENMETRICS : METRICS_TEXT, &body) == 0) {
		respond(fd, 200, om ? METRICS_CONTENT_TYPE : METRICS_TEXT_CONTENT_TYPE, body.s,
			body.len, head_only);
	} else if (status == 200) {
		respond(fd, 500, text, "out of memory\n", 14, head_only);
	} else if (status == 404) {
		respond(fd, 404, text, "try /metrics\n", 13, head_only);
	} else {
		respond(fd, status, text, "", 0, false);
	}
	sbuf_free(&body);
}

static void *serve_thread(void *arg)
{
	struct metrics_http *h = arg;
	struct pollfd pfd[2] = {{.fd = h->fd, .events = POLLIN},
				{.fd = h->stop_pipe[0], .events = POLLIN}};

	for (;;) {
		int fd;

		if (poll(pfd, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			log_err_errno(-errno, "metrics: poll failed, endpoint stopped");
			break;
		}
		if (pfd[1].revents)
			break;
		if (!(pfd[0].revents & POLLIN))
			continue;
		fd = accept4(h->fd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0)
			continue; /* ECONNABORTED, EMFILE...: the next poll retries */
		serve_one(h, fd);
		close(fd);
	}
	return NULL;
}

static int bind_listen(const char *addr, int *ret_fd, uint16_t *ret_port)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE};
	struct sockaddr_storage ss;
	socklen_t sslen = sizeof(ss);
	struct addrinfo *ai = NULL;
	char host[256], port_s[8];
	uint16_t port;
	int one = 1;
	int fd = -1;
	int r;

	r = metrics_listen_parse(addr, host, sizeof(host), &port);
	if (r < 0)
		return r;
	(void)snprintf(port_s, sizeof(port_s), "%u", port);
	r = getaddrinfo(host, port_s, &hints, &ai);
	if (r != 0)
		return r == EAI_SYSTEM ? -errno : -EADDRNOTAVAIL;
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		r = -errno;
		goto out;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, 16) < 0 ||
	    getsockname(fd, (struct sockaddr *)&ss, &sslen) < 0) {
		r = -errno;
		goto out;
	}
	if (ss.ss_family == AF_INET6)
		*ret_port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	else
		*ret_port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
	*ret_fd = fd;
	fd = -1;
	r = 0;
out:
	if (fd >= 0)
		close(fd);
	freeaddrinfo(ai);
	return r;
}

struct metrics_http *metrics_http_start(const char *listen, struct metrics *m)
{
	struct metrics_http *h;
	sigset_t block, old;
	int r;

	h = calloc(1, sizeof(*h));
	if (!h)
		return NULL;
	h->m = m;
	h->fd = -1;
	h->stop_pipe[0] = h->stop_pipe[1] = -1;
	r = bind_listen(listen, &h->fd, &h->port);
	if (r < 0)
		goto fail;
	if (pipe2(h->stop_pipe, O_CLOEXEC) < 0) {
		r = -errno;
		goto fail;
	}
	/* Signals are for the main loop. */
	sigfillset(&block);
	pthread_sigmask(SIG_BLOCK, &block, &old);
	r = -pthread_create(&h->thread, NULL, serve_thread, h);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r < 0)
		goto fail;
	h->thread_started = true;
	return h;

fail:
	metrics_http_stop(h);
	errno = -r;
	return NULL;
}

uint16_t metrics_http_port(const struct metrics_http *h)
{
	return h->port;
}

void metrics_http_stop(struct metrics_http *h)
{
	if (!h)
		return;
	if (h->thread_started) {
		if (write(h->stop_pipe[1], "x", 1) < 0)
			log_debug("metrics: cannot wake the endpoint thread");
		pthread_join(h->thread, NULL);
	}
	if (h->stop_pipe[0] >= 0)
		close(h->stop_pipe[0]);
	if (h->stop_pipe[1] >= 0)
		close(h->stop_pipe[1]);
	if (h->fd >= 0)
		close(h->fd);
	free(h);
}
