#include "speedtest_module.h"

#include "config.h"
#include "log.h"
#include "metrics.h"
#include "module.h"
#include "speedtest_message.h"
#include "speedtest_metrics.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

struct speedtest_module {
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool stop;	     /* under lock */
	volatile int cancel; /* read by the running test */
	int last_error;	     /* under lock */
	char **servers;
	enum speedtest_names *names; /* per server: the endpoint names it answered on */
	size_t n_servers;
	char *own_server;  /* default_server: the only one the agent's token goes to */
	char bearer[4096]; /* under lock: the agent's current token, "" none */
	struct speedtest_opts opts;
	uint64_t interval_ms;
	uint64_t jitter_ms;
	uint64_t first_delay_ms;
	uint64_t first_jitter_ms;
	speedtest_submit_fn submit;
	void *submit_arg;
};

uint64_t speedtest_next_delay_ms(uint64_t interval_ms, uint64_t jitter_ms, uint64_t rnd)
{
	return interval_ms + (jitter_ms ? rnd % (jitter_ms + 1) : 0);
}

static uint64_t random_u64(void)
{
	uint64_t v = 0;

	if (getrandom(&v, sizeof(v), GRND_NONBLOCK) != sizeof(v))
		v = (uint64_t)time(NULL) * 2654435761u;
	return v;
}

/* Waits ms or until stopped. Returns true when stopped. */
static bool wait_or_stop(struct speedtest_module *m, uint64_t ms)
{
	struct timespec until;
	bool stop;

	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += (time_t)(ms / 1000);
	until.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&m->lock);
	while (!m->stop && pthread_cond_timedwait(&m->cond, &m->lock, &until) != ETIMEDOUT)
		;
	stop = m->stop;
	pthread_mutex_unlock(&m->lock);
	return stop;
}

/* Waits until speedtest_module_set_bearer() gave a token, the module stops, or timeout_ms. */
static void wait_for_bearer(struct speedtest_module *m)
{
	struct timespec until;

	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += (time_t)(m->opts.timeout_ms / 1000);
	until.tv_nsec += (long)(m->opts.timeout_ms % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&m->lock);
	while (!m->stop && !m->bearer[0] &&
	       pthread_cond_timedwait(&m->cond, &m->lock, &until) != ETIMEDOUT)
		;
	pthread_mutex_unlock(&m->lock);
}

static void *thread_main(void *arg)
{
	struct speedtest_module *m = arg;
	struct speedtest_result *res = malloc(sizeof(*res));
	char *bearer = malloc(sizeof(m->bearer)); /* this test's copy */
	uint64_t delay =
		speedtest_next_delay_ms(m->first_delay_ms, m->first_jitter_ms, random_u64());

	for (size_t k = 0; res && bearer && !wait_or_stop(m, delay); k++) {
		int r;

		size_t i = k % m->n_servers;

		m->opts.server = m->servers[i];
		m->opts.names = m->names[i];
		/* The token only to the agent's own server, never to a third party; the first test
		 * may come before the first connection brought one: it waits up to timeout. */
		if (strcmp(m->opts.server, m->own_server) == 0)
			wait_for_bearer(m);
		pthread_mutex_lock(&m->lock);
		memcpy(bearer, m->bearer, sizeof(m->bearer));
		pthread_mutex_unlock(&m->lock);
		m->opts.bearer =
			bearer[0] && strcmp(m->opts.server, m->own_server) == 0 ? bearer : NULL;
		log_info("speedtest: testing against \"%s\"", m->opts.server);
		r = speedtest_run(&m->opts, res);
		/* Found once, asked first next time (a 404 there finds them again). */
		if (r == 0 && res->names != SPEEDTEST_NAMES_AUTO)
			m->names[i] = res->names;
		if (r == 0 && __atomic_load_n(&m->cancel, __ATOMIC_RELAXED))
			break; /* stopping: no record of a test cut short by us */
		if (r < 0)
			log_err_errno(r, "speedtest: test against \"%s\" could not run",
				      m->opts.server);
		else if (res->error[0])
			log_warn("speedtest: test against \"%s\" failed: %s", m->opts.server,
				 res->error);
		if (r == 0)
			r = m->submit(m->submit_arg, res);
		pthread_mutex_lock(&m->lock);
		m->last_error = r < 0 ? r : res->error[0] ? -EIO : 0;
		pthread_mutex_unlock(&m->lock);
		delay = speedtest_next_delay_ms(m->interval_ms, m->jitter_ms, random_u64());
	}
	if (bearer)
		OPENSSL_cleanse(bearer, sizeof(m->bearer));
	free(bearer);
	free(res);
	return NULL;
}

static void module_free(struct speedtest_module *m)
{
	for (size_t i = 0; i < m->n_servers; i++)
		free(m->servers[i]);
	free(m->servers);
	free(m->names);
	free(m->own_server);
	OPENSSL_cleanse(m->bearer, sizeof(m->bearer));
	pthread_cond_destroy(&m->cond);
	pthread_mutex_destroy(&m->lock);
	free(m);
}

struct speedtest_module *speedtest_module_start(const struct config *cfg,
						const char *default_server,
						speedtest_submit_fn submit, void *submit_arg,
						speedtest_host_bytes_fn host_bytes, void *host_arg)
{
	const struct config_speedtest *c = &cfg->speedtest;
	struct speedtest_module *m;
	pthread_condattr_t ca;
	size_t n = c->servers.n ? c->servers.n : 1;
	size_t own_len;
	int r;

	m = calloc(1, sizeof(*m));
	if (!m) {
		errno = ENOMEM;
		return NULL;
	}
	pthread_mutex_init(&m->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&m->cond, &ca);
	pthread_condattr_destroy(&ca);
	m->servers = calloc(n, sizeof(*m->servers));
	m->names = calloc(n, sizeof(*m->names)); /* zero: SPEEDTEST_NAMES_AUTO */
	if (!m->servers || !m->names) {
		r = -ENOMEM;
		goto fail;
	}
	for (size_t i = 0; i < n; i++) {
		const char *s = c->servers.n ? c->servers.items[i] : default_server;
		size_t len = strlen(s ? s : "");

		/* "https://host/" and "https://host" name the same server. */
		while (len > 0 && s[len - 1] == '/')
			len--;
		m->servers[i] = strndup(s ? s : "", len);
		if (!m->servers[i]) {
			r = -ENOMEM;
			goto fail;
		}
		m->n_servers++;
	}
	own_len = strlen(default_server ? default_server : "");
	while (own_len > 0 && default_server[own_len - 1] == '/')
		own_len--;
	m->own_server = strndup(default_server ? default_server : "", own_len);
	if (!m->own_server) {
		r = -ENOMEM;
		goto fail;
	}
	m->opts = (struct speedtest_opts){
		.streams = (unsigned)c->streams,
		.max_duration_ms = c->max_duration_ms,
		.byte_cap = c->max_megabytes * 1000000u,
		.timeout_ms = c->timeout_ms,
		.cancel = &m->cancel,
		.host_bytes = host_bytes,
		.host_arg = host_arg,
	};
	m->interval_ms = c->interval_ms;
	m->jitter_ms = c->jitter_ms;
	m->first_delay_ms = c->first_delay_ms;
	m->first_jitter_ms = c->first_jitter_ms;
	m->submit = submit;
	m->submit_arg = submit_arg;
	r = -pthread_create(&m->thread, NULL, thread_main, m);
	if (r < 0)
		goto fail;
	return m;

fail:
	module_free(m);
	errno = -r;
	return NULL;
}

void speedtest_module_set_bearer(struct speedtest_module *m, const char *token)
{
	if (!m)
		return;
	pthread_mutex_lock(&m->lock);
	if (!token || strlen(token) >= sizeof(m->bearer))
		m->bearer[0] = '\0';
	else
		memcpy(m->bearer, token, strlen(token) + 1);
	pthread_cond_broadcast(&m->cond);
	pthread_mutex_unlock(&m->lock);
}

int speedtest_module_last_error(struct speedtest_module *m)
{
	int r;

	pthread_mutex_lock(&m->lock);
	r = m->last_error;
	pthread_mutex_unlock(&m->lock);
	return r;
}

void speedtest_module_stop(struct speedtest_module *m)
{
	if (!m)
		return;
	__atomic_store_n(&m->cancel, 1, __ATOMIC_RELAXED);
	pthread_mutex_lock(&m->lock);
	m->stop = true;
	pthread_cond_signal(&m->cond);
	pthread_mutex_unlock(&m->lock);
	pthread_join(m->thread, NULL);
	module_free(m);
}

/* The module seam: results go to the metrics and the sink of the agent's context. */
struct speedtest_seam {
	struct speedtest_module *m;
	const struct module_ctx *ctx;
};

static bool *speedtest_enabled(struct config *cfg)
{
	return &cfg->speedtest.enabled;
}

static uint64_t speedtest_interval(const struct config *cfg)
{
	(void)cfg;
	return 0; /* its own thread, with its own jittered schedule */
}

static int speedtest_seam_submit(void *arg, const struct speedtest_result *r)
{
	struct speedtest_seam *s = arg;

	/* A failed test keeps the last good figures. */
	if (!r->error[0]) {
		struct speedtest_result *copy = malloc(sizeof(*copy));

		if (copy) {
			*copy = *r;
			/* Its stop reasons point at static strings; not rendered, not kept. */
			copy->stop_down = NULL;
			copy->stop_up = NULL;
			metrics_set(s->ctx->metrics, &speedtest_metrics, copy, sizeof(*copy));
			free(copy);
		}
	}
	return s->ctx->sink->submit(s->ctx->sink->arg, message_speedtest(r));
}

static int speedtest_seam_start(const struct module_ctx *ctx, bool daemon, void **ret_state,
				const char **ret_step)
{
	struct speedtest_seam *s;
	int r;

	/* A speed test moves up to max_megabytes: never as part of --once. */
	if (!daemon)
		return -EOPNOTSUPP;
	*ret_step = "thread";
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->ctx = ctx;
	s->m = speedtest_module_start(ctx->cfg, ctx->server_url, speedtest_seam_submit, s,
				      ctx->host_bytes, ctx->host_bytes_arg);
	if (!s->m) {
		r = -errno;
		free(s);
		return r;
	}
	*ret_state = s;
	return 0;
}

static void speedtest_seam_stop(void *state)
{
	struct speedtest_seam *s = state;

	if (!s)
		return;
	speedtest_module_stop(s->m);
	free(s);
}

static int speedtest_seam_last_error(void *state)
{
	struct speedtest_seam *s = state;

	return speedtest_module_last_error(s->m);
}

static void speedtest_seam_set_token(void *state, const char *token)
{
	struct speedtest_seam *s = state;

	speedtest_module_set_bearer(s->m, token);
}

const struct module_ops speedtest_module_ops = {
	.name = "speedtest",
	.enabled = speedtest_enabled,
	.interval_ms = speedtest_interval,
	.start = speedtest_seam_start,
	.stop = speedtest_seam_stop,
	.last_error = speedtest_seam_last_error,
	.set_token = speedtest_seam_set_token,
	.metrics = &speedtest_metrics,
};
