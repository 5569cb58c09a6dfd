/*
 * The modules as this process runs them: started in table order (a failure is logged and
 * that module disabled, the others go on), stopped in exact reverse, and their states as
 * hello, status, /metrics and systemd's STATUS= line show them.
 */
#ifndef SRVMON_MODULE_SET_H
#define SRVMON_MODULE_SET_H

#include "module.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct config;
struct hello_info;
struct status_info;
struct metrics_agent;
struct runner;

struct module_slot {
	const struct module_ops *ops;
	void *state;	    /* the module's, while it runs */
	const char *status; /* running, disabled, failed */
	char detail[128];
	struct runner *runner; /* periodic modules in the daemon */
};

struct module_set {
	size_t n;
	struct module_slot slots[AGENT_MODULES_MAX];
};

/*
 * Starts the enabled modules of table[0..n) with ctx (which must outlive the set): periodic
 * ones on a runner thread when daemon (--once ticks them itself with module_set_tick()),
 * the others with their own thread. Module threads do not take SIGINT/SIGTERM. A module
 * that declines --once (-EOPNOTSUPP) stays "disabled". Never fails as a whole.
 */
void module_set_start(struct module_set *ms, const struct module_ops *const *table, size_t n,
		      const struct module_ctx *ctx, struct config *cfg, bool daemon);
/* Stops every module in reverse order (each runner first, then the module). */
void module_set_stop(struct module_set *ms);
/* One sample of every running periodic module (--once). 0, or the first error. */
int module_set_tick(struct module_set *ms);
/* The shortest interval of the running periodic modules, at most max_ms. */
uint64_t module_set_min_interval(const struct module_set *ms, const struct config *cfg,
				 uint64_t max_ms);

void module_set_hello(const struct module_set *ms, struct hello_info *h);
void module_set_status(const struct module_set *ms, struct status_info *s);
void module_set_metrics(const struct module_set *ms, struct metrics_agent *m);
/* Records the modules lost before handing them on (execs lost in the kernel ring). */
uint64_t module_set_lost(const struct module_set *ms);
/* The host byte counters of the module that has them (network). 0, -errno, or -EINVAL when
 * none runs. A module_host_bytes_fn for ctx.host_bytes with arg = the set. */
int module_set_host_bytes(void *ms, uint64_t *ret_rx, uint64_t *ret_tx);
/* Hands the token of a new connection to the running modules that want it. */
void module_set_token(const struct module_set *ms, const char *token);
/* "resources,network" (the running ones) into buf; "" when none. */
const char *module_set_running(const struct module_set *ms, char *buf, size_t size);

#endif
