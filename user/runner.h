/* A module thread: calls a sampling function at fixed CLOCK_MONOTONIC deadlines. */
#ifndef SRVMON_RUNNER_H
#define SRVMON_RUNNER_H

#include <stdint.h>

struct runner;

/* tick returns 0 or -errno; failures are logged by the runner on state changes only. */
typedef int (*runner_tick_fn)(void *arg);

/* Starts a thread that calls tick(arg) every interval_ms, deadlines measured from the
 * start on CLOCK_MONOTONIC so the cadence does not drift; a tick that overruns skips the
 * deadlines it missed (counted) instead of bursting. NULL + errno. */
struct runner *runner_start(const char *name, uint64_t interval_ms, runner_tick_fn tick, void *arg);
/* Wakes the thread at once, waits for its current tick to end and joins it. */
void runner_stop(struct runner *r);
/* Ticks skipped because the previous one overran. */
uint64_t runner_missed(struct runner *r);
/* The last tick's result (0 before the first). */
int runner_last_error(struct runner *r);

#endif
