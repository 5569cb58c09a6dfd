/* One active speed test over HTTP (libcurl multi, LibreSpeed endpoints): latency, download,
 * upload. */
#ifndef SRVMON_SPEEDTEST_H
#define SRVMON_SPEEDTEST_H

#include "speedtest_paths.h"

#include <stdbool.h>
#include <stdint.h>

#define SPEEDTEST_LATENCY_PROBES 10

/* Bytes the host's own interfaces moved (in-kernel counters). 0 or -errno. */
typedef int (*speedtest_host_bytes_fn)(void *arg, uint64_t *ret_rx, uint64_t *ret_tx);

struct speedtest_opts {
	const char *server;	    /* base URL: {server}/garbage, {server}/empty (or .php) */
	enum speedtest_names names; /* known endpoint names of server, or AUTO */
	unsigned streams;
	uint64_t max_duration_ms;   /* per direction */
	uint64_t byte_cap;	    /* whole test, both directions */
	uint64_t timeout_ms;	    /* connect, and longest time without progress */
	const volatile int *cancel; /* NULL, or nonzero to abort (agent stopping) */
	const char *bearer;	    /* NULL, or a token sent as Authorization: Bearer */
	speedtest_host_bytes_fn host_bytes;
	void *host_arg;
};

struct speedtest_result {
	uint64_t ts_ms; /* Unix ms at the start */
	char server[256];
	enum speedtest_names names; /* the endpoint names the server answered on; AUTO: none */
	double download_rate;	    /* bits/s of payload delivered */
	double upload_rate;
	double latency_ms;
	double jitter_ms;
	uint64_t duration_ms; /* whole test */
	uint64_t bytes_down;  /* received by the agent */
	uint64_t bytes_up;    /* received by the server (acknowledged) */
	unsigned streams;
	const char *stop_down; /* "stable", "max_duration", "byte_cap", "complete" */
	const char *stop_up;
	bool capped; /* the byte cap ended a direction */
	bool host_valid;
	uint64_t host_rx_bytes; /* the host's in_total interfaces during the test */
	uint64_t host_tx_bytes;
	char error[256]; /* empty: success */
};

/*
 * Runs one test and fills *ret; a failed test (refused, HTTP error, stalled, timeout)
 * returns 0 with ret->error set, within about timeout_ms of the failure. Returns -errno
 * only when no result can be produced (ENOMEM, EINVAL).
 */
int speedtest_run(const struct speedtest_opts *o, struct speedtest_result *ret);

#endif
