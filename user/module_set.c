#include "module_set.h"

#include "log.h"
#include "message.h"
#include "metrics.h"
#include "runner.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

static bool slot_running(const struct module_slot *m)
{
	return strcmp(m->status, "running") == 0;
}

/* The error of a running module's last sample or test (0: fine). */
static int slot_error(const struct module_slot *m)
{
	if (m->runner)
		return runner_last_error(m->runner);
	if (m->state && m->ops->last_error)
		return m->ops->last_error(m->state);
	return 0;
}

static void slot_failed(struct module_slot *m, int err, const char *step)
{
	log_err_errno(err, "%s module failed to start (%s), disabled", m->ops->name, step);
	m->status = "failed";
	(void)snprintf(m->detail, sizeof(m->detail), "%s: %s", step, strerror(-err));
}

/* Phase 1, on the main thread: the module's start. No runner thread exists yet, so that a
 * start that forks (the BPF loader child, user/lib/bpf_loader.c) forks a single-threaded
 * process: a child of a multi-threaded one may inherit a lock another thread held (seen:
 * the AddressSanitizer allocator's, the child hung until the loader's 60 s deadline). */
static void slot_start(struct module_slot *m, const struct module_ctx *ctx, struct config *cfg,
		       bool daemon)
{
	const char *step = "start";
	int r;

	if (!*m->ops->enabled(cfg))
		return;
	r = m->ops->start(ctx, daemon, &m->state, &step);
	if (r == -EOPNOTSUPP && !daemon)
		return; /* not a module of --once */
	if (r < 0) {
		m->state = NULL;
		slot_failed(m, r, step);
		return;
	}
	m->status = "running";
	if (m->ops->collector)
		(void)snprintf(m->detail, sizeof(m->detail), "collector %s",
			       m->ops->collector(m->state));
}

/* Phase 2, once every module has started: the periodic ones get their runner thread. */
static void slot_run(struct module_slot *m, struct config *cfg, bool daemon)
{
	uint64_t interval;
	int r;

	if (!m->state || !daemon)
		return;
	interval = m->ops->interval_ms(cfg);
	if (interval == 0)
		return;
	m->runner = runner_start(m->ops->name, interval, m->ops->tick, m->state);
	if (!m->runner) {
		r = -errno;
		m->ops->stop(m->state);
		m->state = NULL;
		slot_failed(m, r, "thread");
	}
}

void module_set_start(struct module_set *ms, const struct module_ops *const *table, size_t n,
		      const struct module_ctx *ctx, struct config *cfg, bool daemon)
{
	sigset_t block, old;

	/* Module threads must not take SIGINT/SIGTERM: the main loop's poll has to see them. */
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &block, &old);
	ms->n = n < AGENT_MODULES_MAX ? n : AGENT_MODULES_MAX;
	for (size_t i = 0; i < ms->n; i++) {
		ms->slots[i] = (struct module_slot){.ops = table[i], .status = "disabled"};
		slot_start(&ms->slots[i], ctx, cfg, daemon);
	}
	for (size_t i = 0; i < ms->n; i++)
		slot_run(&ms->slots[i], cfg, daemon);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
}

void module_set_stop(struct module_set *ms)
{
	for (size_t i = ms->n; i-- > 0;) {
		struct module_slot *m = &ms->slots[i];

		runner_stop(m->runner);
		m->runner = NULL;
		if (m->state)
			m->ops->stop(m->state);
		m->state = NULL;
	}
	ms->n = 0;
}

int module_set_tick(struct module_set *ms)
{
	int rc = 0;

	for (size_t i = 0; i < ms->n; i++) {
		const struct module_slot *m = &ms->slots[i];
		int r;

		if (!m->state || !m->ops->tick)
			continue;
		r = m->ops->tick(m->state);
		if (r < 0 && rc == 0)
			rc = r;
	}
	return rc;
}

uint64_t module_set_min_interval(const struct module_set *ms, const struct config *cfg,
				 uint64_t max_ms)
{
	uint64_t min = max_ms;

	for (size_t i = 0; i < ms->n; i++) {
		uint64_t interval = ms->slots[i].ops->interval_ms(cfg);

		if (ms->slots[i].state && interval > 0 && interval < min)
			min = interval;
	}
	return min;
}

void module_set_hello(const struct module_set *ms, struct hello_info *h)
{
	for (size_t i = 0; i < ms->n; i++) {
		const struct module_slot *m = &ms->slots[i];

		if (strcmp(m->status, "disabled") != 0)
			h->modules[h->n_modules++] = m->ops->name;
		if (m->state && m->ops->collector)
			h->collector = m->ops->collector(m->state);
	}
}

void module_set_status(const struct module_set *ms, struct status_info *s)
{
	for (size_t i = 0; i < ms->n; i++) {
		const struct module_slot *m = &ms->slots[i];
		int err = slot_error(m);

		s->modules[i].name = m->ops->name;
		s->modules[i].state = m->status;
		s->modules[i].detail = m->detail[0] ? m->detail : NULL;
		if (err < 0 && slot_running(m)) {
			s->modules[i].state = "failing";
			s->modules[i].detail = strerror(-err);
		}
	}
	s->n_modules = ms->n;
}

void module_set_metrics(const struct module_set *ms, struct metrics_agent *m)
{
	for (size_t i = 0; i < ms->n; i++) {
		m->modules[i].name = ms->slots[i].ops->name;
		m->modules[i].up = slot_running(&ms->slots[i]) && slot_error(&ms->slots[i]) == 0;
	}
	m->n_modules = ms->n;
}

uint64_t module_set_lost(const struct module_set *ms)
{
	uint64_t n = 0;

	for (size_t i = 0; i < ms->n; i++) {
		if (ms->slots[i].state && ms->slots[i].ops->lost)
			n += ms->slots[i].ops->lost(ms->slots[i].state);
	}
	return n;
}

int module_set_host_bytes(void *arg, uint64_t *ret_rx, uint64_t *ret_tx)
{
	const struct module_set *ms = arg;

	for (size_t i = 0; i < ms->n; i++) {
		const struct module_slot *m = &ms->slots[i];

		if (m->state && m->ops->host_bytes)
			return m->ops->host_bytes(m->state, ret_rx, ret_tx);
	}
	return -EINVAL;
}

void module_set_token(const struct module_set *ms, const char *token)
{
	for (size_t i = 0; i < ms->n; i++) {
		if (ms->slots[i].state && ms->slots[i].ops->set_token)
			ms->slots[i].ops->set_token(ms->slots[i].state, token);
	}
}

const char *module_set_running(const struct module_set *ms, char *buf, size_t size)
{
	size_t len = 0;

	if (size == 0)
		return buf;
	buf[0] = '\0';
	for (size_t i = 0; i < ms->n; i++) {
		int n;

		if (!slot_running(&ms->slots[i]))
			continue;
		n = snprintf(buf + len, size - len, "%s%s", len ? "," : "", ms->slots[i].ops->name);
		if (n < 0 || (size_t)n >= size - len)
			break;
		len += (size_t)n;
	}
	return buf;
}
