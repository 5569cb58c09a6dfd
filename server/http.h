/* The libwebsockets vhost: POST /token, GET /health, the speed-test endpoints and the /ws ingest
 * endpoint on one port. */
#ifndef SRVMON_SERVER_HTTP_H
#define SRVMON_SERVER_HTTP_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

struct db;

/* --speedtest: the speed-test endpoints want a valid bearer token, are open to anyone, or
 * are not served (404). */
enum server_speedtest {
	SERVER_SPEEDTEST_TOKEN,
	SERVER_SPEEDTEST_OPEN,
	SERVER_SPEEDTEST_OFF,
};

/* Default ingest budget of one WebSocket connection (--ingest-limit); see docs/server.md. */
#define SERVER_CONN_RECORDS_PER_S 20000
#define SERVER_CONN_MIB_PER_S	  32

struct server_opts {
	const char *listen; /* IPv4 or IPv6 address literal */
	int port;	    /* 0: the kernel picks one, see server_port() */
	uint64_t token_lifetime_s;
	uint64_t refresh_lifetime_s; /* 0: no refresh tokens */
	uint64_t token_burst;	     /* POST /token per client address: burst; 0: no limit */
	uint64_t token_per_minute;   /* ... and refill rate */
	FILE *records_out;	     /* NULL, or where --print-records lines go */
	struct db *db;		     /* borrowed */
	const char *tls_cert;	     /* PEM certificate chain; with tls_key: serve https/wss only */
	const char *tls_key;	     /* PEM private key */
	uint64_t conn_records_per_s; /* ingest budget per WebSocket: records/s; 0: no limit */
	uint64_t conn_bytes_per_s;   /* ... and bytes/s; 0: no limit */
	uint64_t ack_interval_ms;    /* acks paced: at most one per interval (or per
				      * SERVER_ACK_MAX_RECORDS records); 0: after every commit */
	/* Abuse limits (docs/server.md, "Limits"). */
	size_t max_conns;		 /* connections open at once, in all */
	size_t max_conns_per_addr;	 /* ... from one client address */
	uint64_t request_timeout_s;	 /* a request's headers and body, whatever its pace */
	enum server_speedtest speedtest; /* who may use /garbage and /empty */
	size_t speedtest_per_addr;	 /* speed-test requests at once from one address */
	unsigned pw_threads;		 /* password-check worker threads */
	size_t pw_max_jobs;		 /* password checks queued or running; over it 503 */
	uint64_t login_fail_burst;	 /* failed logins per account: burst; 0: no limit */
	uint64_t login_fail_per_minute;	 /* ... and refill rate */
	uint64_t quota_records_per_s;	 /* per account, all connections; 0: no limit */
	uint64_t quota_bytes_per_day;	 /* per account, per UTC day; 0: no limit */
	uint64_t retention_ms;		 /* records older than this are deleted; 0: kept */
	uint64_t rollup_retention_ms;	 /* per-minute rollups older than this: deleted */
	const char *sendmail;		 /* alert emails' program; NULL: the default */
};

/* Defaults of the abuse limits; see docs/server.md, "Limits". */
#define SERVER_MAX_CONNS	     1024
#define SERVER_MAX_CONNS_PER_ADDR    64
#define SERVER_REQUEST_TIMEOUT_S     10
#define SERVER_SPEEDTEST_PER_ADDR    32 /* the most streams an agent uses (speedtest.streams) */
#define SERVER_LOGIN_FAIL_BURST	     10
#define SERVER_LOGIN_FAIL_PER_MINUTE 6
/* The body of an accepted speed-test upload has this long instead of request_timeout_s: the
 * agent uploads for up to its max_duration (at most 60 s). */
#define SERVER_SPEEDTEST_BODY_S 75

/* Default of --ack-interval, and the records after which an ack goes out sooner. */
#define SERVER_ACK_INTERVAL_MS 0 /* off: see docs/server.md */
#define SERVER_ACK_MAX_RECORDS 1000

struct server;

/* Creates the context and the listening vhost. NULL + errno (ENOMEM, or EIO when lws could
 * not listen: lws has logged why). */
struct server *server_new(const struct server_opts *opts);
/* The port actually listened on. */
int server_port(const struct server *s);
/* Serves until *stop becomes nonzero. 0 or a negative errno. */
int server_run(struct server *s, const volatile sig_atomic_t *stop);
/* Wakes server_run() up; async-signal-safe (writes to lws's event pipe). */
void server_wake(struct server *s);
void server_free(struct server *s);

#endif
