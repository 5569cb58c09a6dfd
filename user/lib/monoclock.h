/* The two clocks in milliseconds. Shared by the agent and srvmon-server (srvmon_common). */
#ifndef SRVMON_MONOCLOCK_H
#define SRVMON_MONOCLOCK_H

#include <stdint.h>

/* CLOCK_MONOTONIC: timers, retries, rate limits, durations. */
uint64_t mono_ms(void);

/* CLOCK_REALTIME, Unix epoch: timestamps that leave the process (records, files). */
uint64_t wall_ms(void);

#endif
