/* The history module on the module seam: the exec collector drains on its own thread. */
#include "config.h"
#include "history_collector.h"
#include "module.h"

#include <errno.h>

static bool *history_enabled(struct config *cfg)
{
	return &cfg->history.enabled;
}

static uint64_t history_interval(const struct config *cfg)
{
	(void)cfg;
	return 0; /* its own drain thread */
}

static int history_start(const struct module_ctx *ctx, bool daemon, void **ret_state,
			 const char **ret_step)
{
	struct history_collector *c;
	int r;

	/* Exec records are a stream to a server, not a sample: not part of --once. */
	if (!daemon)
		return -EOPNOTSUPP;
	c = history_collector_new(ctx->cfg, ctx->sink, ctx->backlog_max, ret_step);
	if (!c)
		return -errno;
	r = history_collector_start(c);
	if (r < 0) {
		*ret_step = "thread";
		history_collector_free(c);
		return r;
	}
	*ret_state = c;
	return 0;
}

static void history_stop(void *state)
{
	history_collector_free(state);
}

static uint64_t history_lost(void *state)
{
	return history_collector_lost(state);
}

const struct module_ops history_module_ops = {
	.name = "history",
	.enabled = history_enabled,
	.interval_ms = history_interval,
	.start = history_start,
	.stop = history_stop,
	.lost = history_lost,
};
