/* The network module on the module seam: a runner tick samples the counters and submits. */
#include "config.h"
#include "metrics.h"
#include "module.h"
#include "network.h"
#include "network_message.h"
#include "network_metrics.h"

#include <errno.h>
#include <stdlib.h>

struct network_module {
	struct network_collector *nc;
	const struct module_ctx *ctx;
	struct net_sample *s; /* ~10 KiB: kept off the runner thread's stack */
};

static bool *network_enabled(struct config *cfg)
{
	return &cfg->network.enabled;
}

static uint64_t network_interval(const struct config *cfg)
{
	return cfg->network.interval_ms;
}

static void network_stop(void *state)
{
	struct network_module *m = state;

	if (!m)
		return;
	network_free(m->nc);
	free(m->s);
	free(m);
}

static int network_start(const struct module_ctx *ctx, bool daemon, void **ret_state,
			 const char **ret_step)
{
	struct network_module *m;
	int r = -ENOMEM;

	(void)daemon;
	*ret_step = "open";
	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->ctx = ctx;
	m->s = malloc(sizeof(*m->s));
	if (!m->s)
		goto fail;
	m->nc = network_new(ctx->cfg);
	if (!m->nc) {
		r = -errno;
		goto fail;
	}
	*ret_state = m;
	return 0;
fail:
	network_stop(m);
	return r;
}

static int network_tick(void *state)
{
	struct network_module *m = state;
	int r;

	r = network_sample(m->nc, m->s);
	if (r < 0)
		return r;
	metrics_set(m->ctx->metrics, &network_metrics, m->s, sizeof(*m->s));
	return m->ctx->sink->submit(m->ctx->sink->arg, message_network(m->s));
}

static const char *network_collector(void *state)
{
	struct network_module *m = state;

	return network_collector_name(m->nc);
}

static int network_module_host_bytes(void *state, uint64_t *ret_rx, uint64_t *ret_tx)
{
	struct network_module *m = state;

	return network_host_bytes(m->nc, ret_rx, ret_tx);
}

const struct module_ops network_module_ops = {
	.name = "network",
	.enabled = network_enabled,
	.interval_ms = network_interval,
	.start = network_start,
	.tick = network_tick,
	.stop = network_stop,
	.collector = network_collector,
	.metrics = &network_metrics,
	.host_bytes = network_module_host_bytes,
};
