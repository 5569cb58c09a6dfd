/* Agent instances: `--module NAME` runs a subset of the modules in a process of its own. */
#ifndef SRVMON_INSTANCE_H
#define SRVMON_INSTANCE_H

#include <stddef.h>
#include <stdint.h>

struct config;

/* An instance's module set: bit i is agent_modules[i] (user/module.h), the order of the
 * hello's module list. The order is part of the seq spaces below: new modules go last. */
unsigned int instance_all(void);

/* Each instance numbers its records from (mask << INSTANCE_SEQ_SHIFT): the seq spaces of
 * two instances of one host never overlap (docs/protocol.md). */
#define INSTANCE_SEQ_SHIFT 56

/* Adds the module called name (one of agent_modules) to *mask. Returns 0, or -EINVAL
 * for an unknown name. */
int instance_module_add(const char *name, unsigned int *mask);

/*
 * Writes the instance name of mask into buf: the module names joined with '+' in the
 * order above ("network", "resources+network"). Returns 0, -EINVAL for an empty
 * mask, -ENAMETOOLONG when buf is too small.
 */
int instance_name(unsigned int mask, char *buf, size_t size);

/* The first seq of an instance: 0 for the whole agent (mask 0), else mask << 56. */
uint64_t instance_seq_floor(unsigned int mask);

/*
 * Applies mask (non-zero) to cfg: only its modules stay enabled, whatever the file
 * says, and agent.state_dir and a set spool.dir get "/<instance name>" appended so
 * that no two instances share a seq store or a spool. Returns 0, -EINVAL, -ENOMEM.
 */
int instance_apply(struct config *cfg, unsigned int mask);

#endif
