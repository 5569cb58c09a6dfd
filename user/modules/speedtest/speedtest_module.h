/* The speedtest module: periodic speed tests on their own thread. */
#ifndef SRVMON_SPEEDTEST_MODULE_H
#define SRVMON_SPEEDTEST_MODULE_H

#include <stdint.h>

#include "speedtest.h"

struct config;
struct speedtest_module;

/* Called on the module's thread with every result, failed ones included. */
typedef int (*speedtest_submit_fn)(void *arg, const struct speedtest_result *r);

/*
 * Starts the thread: the first test first_delay + [0, first_jitter] after start, each next one
 * interval + [0, jitter] after the previous ended, so never two at once. Servers are
 * speedtest.servers in turn, or default_server. NULL + errno on failure.
 */
struct speedtest_module *speedtest_module_start(const struct config *cfg,
						const char *default_server,
						speedtest_submit_fn submit, void *submit_arg,
						speedtest_host_bytes_fn host_bytes, void *host_arg);
/* The agent's current access token (NULL: none), sent with the tests against default_server
 * only; thread-safe, copied. */
void speedtest_module_set_bearer(struct speedtest_module *m, const char *token);
/* The error of the last test (0, -EIO for a failed test). */
int speedtest_module_last_error(struct speedtest_module *m);
/* Cancels a running test and joins the thread; accepts NULL. */
void speedtest_module_stop(struct speedtest_module *m);

/* Pure: delay before the next test, interval + rnd % (jitter + 1). */
uint64_t speedtest_next_delay_ms(uint64_t interval_ms, uint64_t jitter_ms, uint64_t rnd);

#endif
