/* The resources module on the module seam: a runner tick samples and submits. */
#include "config.h"
#include "log.h"
#include "metrics.h"
#include "module.h"
#include "resources.h"
#include "resources_message.h"
#include "resources_metrics.h"

#include <errno.h>
#include <stdlib.h>

struct resources_module {
	struct resources_collector *rc;
	const struct module_ctx *ctx;
};

static bool *resources_enabled(struct config *cfg)
{
	return &cfg->resources.enabled;
}

static uint64_t resources_interval(const struct config *cfg)
{
	return cfg->resources.interval_ms;
}

static int resources_start(const struct module_ctx *ctx, bool daemon, void **ret_state,
			   const char **ret_step)
{
	struct resources_module *m;

	(void)daemon;
	*ret_step = "open";
	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->ctx = ctx;
	m->rc = resources_new(ctx->cfg);
	if (!m->rc) {
		int r = -errno;

		free(m);
		return r;
	}
	*ret_state = m;
	return 0;
}

static int resources_tick(void *state)
{
	struct resources_module *m = state;
	struct resources_sample s;
	int r;

	r = resources_sample(m->rc, &s);
	if (r < 0)
		return r;
	metrics_set(m->ctx->metrics, &resources_metrics, &s, sizeof(s));
	return m->ctx->sink->submit(m->ctx->sink->arg, message_resources(&s));
}

static void resources_stop(void *state)
{
	struct resources_module *m = state;

	if (!m)
		return;
	resources_free(m->rc);
	free(m);
}

const struct module_ops resources_module_ops = {
	.name = "resources",
	.enabled = resources_enabled,
	.interval_ms = resources_interval,
	.start = resources_start,
	.tick = resources_tick,
	.stop = resources_stop,
	.metrics = &resources_metrics,
};
