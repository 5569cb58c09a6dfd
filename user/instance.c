/* Agent instances: the module set of `--module`, its state directory and seq space. */
#include "instance.h"

#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const module_names[] = {"resources", "network", "history", "speedtest"};

#define N_MODULES (sizeof(module_names) / sizeof(module_names[0]))

int instance_module_add(const char *name, unsigned int *mask)
{
	for (size_t i = 0; i < N_MODULES; i++) {
		if (strcmp(name, module_names[i]) == 0) {
			*mask |= 1u << i;
			return 0;
		}
	}
	return -EINVAL;
}

int instance_name(unsigned int mask, char *buf, size_t size)
{
	size_t len = 0;

	if ((mask & INSTANCE_ALL) == 0 || (mask & ~(unsigned int)INSTANCE_ALL))
		return -EINVAL;
	if (size == 0)
		return -ENAMETOOLONG;
	buf[0] = '\0';
	for (size_t i = 0; i < N_MODULES; i++) {
		int n;

		if (!(mask & (1u << i)))
			continue;
		n = snprintf(buf + len, size - len, "%s%s", len ? "+" : "", module_names[i]);
		if (n < 0 || (size_t)n >= size - len)
			return -ENAMETOOLONG;
		len += (size_t)n;
	}
	return 0;
}

uint64_t instance_seq_floor(unsigned int mask)
{
	return (uint64_t)(mask & INSTANCE_ALL) << INSTANCE_SEQ_SHIFT;
}

/* Replaces *dir with "<*dir>/<name>". */
static int dir_append(char **dir, const char *name)
{
	size_t size = strlen(*dir) + 1 + strlen(name) + 1;
	char *s = malloc(size);

	if (!s)
		return -ENOMEM;
	(void)snprintf(s, size, "%s/%s", *dir, name);
	free(*dir);
	*dir = s;
	return 0;
}

int instance_apply(struct config *cfg, unsigned int mask)
{
	char name[64];
	int r;

	r = instance_name(mask, name, sizeof(name));
	if (r < 0)
		return r;
	cfg->resources.enabled = mask & INSTANCE_RESOURCES;
	cfg->network.enabled = mask & INSTANCE_NETWORK;
	cfg->history.enabled = mask & INSTANCE_HISTORY;
	cfg->speedtest.enabled = mask & INSTANCE_SPEEDTEST;
	if (cfg->agent.state_dir && *cfg->agent.state_dir) {
		r = dir_append(&cfg->agent.state_dir, name);
		if (r < 0)
			return r;
	}
	if (cfg->spool.dir && *cfg->spool.dir)
		return dir_append(&cfg->spool.dir, name);
	return 0;
}
