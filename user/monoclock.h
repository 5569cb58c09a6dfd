/* The monotonic clock in milliseconds (CLOCK_MONOTONIC): timers, retries, rate limits.
 * Shared by the agent and srvmon-server (srvmon_common). */
#ifndef SRVMON_MONOCLOCK_H
#define SRVMON_MONOCLOCK_H

#include <stdint.h>

uint64_t mono_ms(void);

#endif
