/* The agent's module table: the one list main.c, --module, hello, status and /metrics
 * iterate. Start order; stopped in reverse (the speed test reads the network module's
 * counters, so it comes after it). The modules that load BPF in a forked child (network,
 * history) come before any module whose start() creates a thread (history creates its drain
 * thread after its own load; speedtest): the child of a multi-threaded process can inherit
 * a lock held by another thread. module_set_start() starts the runner threads after all. */
#include "module.h"

#include <errno.h>
#include <string.h>

const struct module_ops *const agent_modules[] = {
	&resources_module_ops,
	&network_module_ops,
	&history_module_ops,
	&speedtest_module_ops,
};

const size_t agent_module_count = sizeof(agent_modules) / sizeof(agent_modules[0]);

_Static_assert(sizeof(agent_modules) / sizeof(agent_modules[0]) <= AGENT_MODULES_MAX,
	       "raise AGENT_MODULES_MAX");

int module_index(const char *name)
{
	for (size_t i = 0; i < agent_module_count; i++) {
		if (strcmp(agent_modules[i]->name, name) == 0)
			return (int)i;
	}
	return -ENOENT;
}
