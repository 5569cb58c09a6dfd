/* Agent instances: the module set of `--module`, its state directory and seq space. */
#include "instance.h"

#include "config.h"
#include "module.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

_Static_assert(INSTANCE_SEQ_SHIFT + AGENT_MODULES_MAX <= 64, "seq floors fit in 64 bits");

unsigned int instance_all(void)
{
	return (1u << agent_module_count) - 1u;
}

int instance_module_add(const char *name, unsigned int *mask)
{
	int i = module_index(name);

	if (i < 0)
		return -EINVAL;
	*mask |= 1u << i;
	return 0;
}

int instance_name(unsigned int mask, char *buf, size_t size)
{
	size_t len = 0;

	if ((mask & instance_all()) == 0 || (mask & ~instance_all()))
		return -EINVAL;
	if (size == 0)
		return -ENAMETOOLONG;
	buf[0] = '\0';
	for (size_t i = 0; i < agent_module_count; i++) {
		int n;

		if (!(mask & (1u << i)))
			continue;
		n = snprintf(buf + len, size - len, "%s%s", len ? "+" : "", agent_modules[i]->name);
		if (n < 0 || (size_t)n >= size - len)
			return -ENAMETOOLONG;
		len += (size_t)n;
	}
	return 0;
}

uint64_t instance_seq_floor(unsigned int mask)
{
	return (uint64_t)(mask & instance_all()) << INSTANCE_SEQ_SHIFT;
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
	for (size_t i = 0; i < agent_module_count; i++)
		*agent_modules[i]->enabled(cfg) = mask & (1u << i);
	if (cfg->agent.state_dir && *cfg->agent.state_dir) {
		r = dir_append(&cfg->agent.state_dir, name);
		if (r < 0)
			return r;
	}
	if (cfg->spool.dir && *cfg->spool.dir)
		return dir_append(&cfg->spool.dir, name);
	return 0;
}
