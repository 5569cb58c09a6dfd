/*
 * The history module: drains the exec ring buffer on its own thread on a short timer
 * (never one wake-up per exec), turns each record into an exec message and hands it
 * to the module sink (the outbox) and the local trail.
 */
#ifndef SRVMON_HISTORY_COLLECTOR_H
#define SRVMON_HISTORY_COLLECTOR_H

#include <linux/types.h>
#include <stddef.h>
#include <stdint.h>

#include "srvmon_abi.h"

struct config;
struct module_sink;
struct history_collector;

struct history_collector_stats {
	struct srvmon_exec_stats kernel; /* summed over CPUs */
	uint64_t shipped;		 /* records handed to the sink */
	uint64_t excluded;		 /* dropped by exclude_path */
	uint64_t malformed;		 /* records that failed to decode */
	uint64_t trail_errors;
};

/* Loads the BPF programs and opens the trail. backlog_max: the drain pauses while
 * the sink holds this many unsent records, so a burst waits in the kernel ring
 * (and is counted as lost there when it overflows) instead of in memory.
 * NULL + errno; *ret_step names the failing step. */
struct history_collector *history_collector_new(const struct config *cfg,
						const struct module_sink *sink, size_t backlog_max,
						const char **ret_step);
/* Starts the drain thread. 0 or -errno. */
int history_collector_start(struct history_collector *c);
/* Records lost in the kernel (ring buffer full). */
uint64_t history_collector_lost(struct history_collector *c);
void history_collector_stats(struct history_collector *c, struct history_collector_stats *ret);
/* Drains once (no thread): for tests and the final drain. timeout_ms 0 also reads the
 * kernel loss counters at once. Returns records consumed or -errno. */
int history_collector_drain(struct history_collector *c, int timeout_ms);
/* Stops the thread (if any) after a last drain, unloads the programs. */
void history_collector_free(struct history_collector *c);

#endif
