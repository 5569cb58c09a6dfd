/* srvmon-agent: samples this host and ships the records to a monitoring API. */
#include "auth.h"
#include "config.h"
#include "exec_collector.h"
#include "history_cli.h"
#include "identity.h"
#include "instance.h"
#include "log.h"
#include "monoclock.h"
#include "message.h"
#include "metrics.h"
#include "metrics_http.h"
#include "network.h"
#include "outbox.h"
#include "resources.h"
#include "runner.h"
#include "seqstore.h"
#include "service_notify.h"
#include "speedtest_cli.h"
#include "speedtest_module.h"
#include "spool.h"
#include "tlspin.h"
#include "transport.h"

#include "srvmon_version.h"

#include <curl/curl.h>
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum module_id { MOD_RESOURCES, MOD_NETWORK, MOD_HISTORY, MOD_SPEEDTEST, MOD_COUNT };

struct module_slot {
	const char *name;
	const char *state; /* running, disabled, failed */
	char detail[128];
	struct runner *runner;
};

struct agent {
	struct config cfg;
	struct host_identity id;
	struct seqstore *seq;
	struct outbox *ob;
	struct spool *spool;
	uint64_t spool_retry_ms; /* next attempt to open a spool that could not be; 0: none */
	struct auth *auth;
	struct transport *tr;
	struct resources_collector *res;
	struct network_collector *net;
	struct exec_collector *exec;
	struct speedtest_module *speedtest;
	struct module_slot mods[MOD_COUNT];
	uint64_t next_status_ms;
	unsigned int instance; /* --module set (user/instance.h), 0: every module */
	struct service_notify *sn;
	struct metrics *metrics; /* NULL: [metrics] off */
	struct metrics_http *metrics_http;
};

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

static int resources_tick(void *arg)
{
	struct agent *a = arg;
	struct resources_sample s;
	int r;

	r = resources_sample(a->res, &s);
	if (r < 0)
		return r;
	metrics_set_resources(a->metrics, &s);
	return outbox_submit(a->ob, message_resources(&s));
}

static int network_tick(void *arg)
{
	struct agent *a = arg;
	struct net_sample *s;
	int r;

	/* ~10 KiB: keep it off the thread's stack. */
	s = malloc(sizeof(*s));
	if (!s)
		return -ENOMEM;
	r = network_sample(a->net, s);
	if (r == 0)
		metrics_set_network(a->metrics, s);
	if (r == 0)
		r = outbox_submit(a->ob, message_network(s));
	free(s);
	return r;
}

static cJSON *agent_hello(struct agent *a)
{
	struct hello_info h = {.id = &a->id, .agent_version = SRVMON_VERSION};

	for (int i = 0; i < MOD_COUNT; i++) {
		if (strcmp(a->mods[i].state, "disabled") != 0)
			h.modules[h.n_modules++] = a->mods[i].name;
	}
	h.collector = a->net ? network_collector_name(a->net) : NULL;
	return message_hello(&h, message_now_ms());
}

static cJSON *agent_status(struct agent *a)
{
	struct status_info s = {0};
	struct outbox_stats st = {0};

	for (int i = 0; i < MOD_COUNT; i++) {
		struct module_slot *m = &a->mods[i];
		int err = m->runner ? runner_last_error(m->runner) : 0;

		if (i == MOD_SPEEDTEST && a->speedtest)
			err = speedtest_module_last_error(a->speedtest);

		s.modules[i].name = m->name;
		s.modules[i].state = m->state;
		s.modules[i].detail = m->detail[0] ? m->detail : NULL;
		if (err < 0 && strcmp(m->state, "running") == 0) {
			s.modules[i].state = "failing";
			s.modules[i].detail = strerror(-err);
		}
	}
	s.n_modules = MOD_COUNT;
	if (a->ob)
		outbox_stats(a->ob, &st);
	s.events_lost = st.dropped + exec_collector_lost(a->exec); /* + execs lost in the kernel */
	s.spool_dropped = st.spool_dropped;
	s.reconnects = a->tr ? transport_reconnects(a->tr) : 0;
	return message_status(&s, message_now_ms());
}

/* The agent's own figures for /metrics: losses, spool, reconnects, module states. */
static void agent_update_metrics(struct agent *a)
{
	struct metrics_agent m = {0};
	struct outbox_stats st = {0};

	if (!a->metrics)
		return;
	outbox_stats(a->ob, &st);
	m.events_lost = st.dropped + exec_collector_lost(a->exec);
	m.spool_bytes = st.spool_bytes;
	m.reconnects = transport_reconnects(a->tr);
	for (int i = 0; i < MOD_COUNT && i < METRICS_MAX_MODULES; i++) {
		int err = a->mods[i].runner ? runner_last_error(a->mods[i].runner) : 0;

		m.modules[i].name = a->mods[i].name;
		m.modules[i].up = strcmp(a->mods[i].state, "running") == 0 && err == 0;
		m.n_modules++;
	}
	metrics_set_agent(a->metrics, &m);
}

/* The optional Prometheus endpoint; a bind failure is logged and the agent goes on. */
static void metrics_start(struct agent *a)
{
	if (!a->cfg.metrics.enabled)
		return;
	a->metrics = metrics_new();
	if (!a->metrics) {
		log_err("metrics: out of memory, /metrics disabled");
		return;
	}
	a->metrics_http = metrics_http_start(a->cfg.metrics.listen, a->metrics);
	if (!a->metrics_http) {
		log_err_errno(-errno, "metrics: cannot listen on '%s', /metrics disabled",
			      a->cfg.metrics.listen);
		return;
	}
	log_info("metrics: serving OpenMetrics on '%s' (port %u), path /metrics",
		 a->cfg.metrics.listen, metrics_http_port(a->metrics_http));
}

/* One STATUS= line for systemctl status: modules, server, reconnects, losses. */
static void agent_notify_status(struct agent *a, const char *what)
{
	char mods[128] = "";
	char line[384];
	size_t len = 0;

	for (int i = 0; i < MOD_COUNT; i++) {
		int n;

		if (strcmp(a->mods[i].state, "running") != 0)
			continue;
		n = snprintf(mods + len, sizeof(mods) - len, "%s%s", len ? "," : "",
			     a->mods[i].name);
		if (n < 0 || (size_t)n >= sizeof(mods) - len)
			break;
		len += (size_t)n;
	}
	(void)snprintf(line, sizeof(line), "%s%smodules %s; server %s; reconnects %llu",
		       what ? what : "", what ? ": " : "", len ? mods : "none",
		       a->tr ? transport_url(a->tr) : "-",
		       (unsigned long long)(a->tr ? transport_reconnects(a->tr) : 0));
	if (what && strcmp(what, "ready") == 0)
		service_notify_ready(a->sn, line);
	else
		service_notify_status(a->sn, line);
}

static void on_connected(void *arg)
{
	struct agent *a = arg;
	const char *token;

	/* The token this connection was opened with: the speed tests against this server
	 * send it too (srvmon-server's speed-test endpoints want it). */
	if (a->speedtest && auth_get_token(a->auth, &token) == 0)
		speedtest_module_set_bearer(a->speedtest, token);
	outbox_submit(a->ob, agent_hello(a));
	outbox_submit(a->ob, agent_status(a));
	a->next_status_ms = mono_ms() + a->cfg.agent.status_interval_ms;
}

static void spool_start(struct agent *a, bool retry);

static void on_tick(void *arg)
{
	struct agent *a = arg;

	if (a->spool_retry_ms && mono_ms() >= a->spool_retry_ms)
		spool_start(a, true);
	outbox_sync(a->ob);
	service_notify_watchdog(a->sn, mono_ms());
	agent_update_metrics(a);
	if (mono_ms() < a->next_status_ms)
		return;
	a->next_status_ms = mono_ms() + a->cfg.agent.status_interval_ms;
	outbox_submit(a->ob, agent_status(a));
	agent_notify_status(a, NULL);
}

/* Initialises the collectors; one that fails is logged and disabled, the others go on. */
static void modules_init(struct agent *a)
{
	a->mods[MOD_RESOURCES] = (struct module_slot){.name = "resources", .state = "disabled"};
	a->mods[MOD_NETWORK] = (struct module_slot){.name = "network", .state = "disabled"};
	a->mods[MOD_HISTORY] = (struct module_slot){.name = "history", .state = "disabled"};
	a->mods[MOD_SPEEDTEST] = (struct module_slot){.name = "speedtest", .state = "disabled"};

	if (a->cfg.resources.enabled) {
		a->res = resources_new(&a->cfg);
		if (a->res) {
			a->mods[MOD_RESOURCES].state = "running";
		} else {
			log_err_errno(-errno, "resources module failed to start, disabled");
			a->mods[MOD_RESOURCES].state = "failed";
			(void)snprintf(a->mods[MOD_RESOURCES].detail, sizeof(a->mods[0].detail),
				       "%s", strerror(errno));
		}
	}
	if (a->cfg.network.enabled) {
		a->net = network_new(&a->cfg);
		if (a->net) {
			a->mods[MOD_NETWORK].state = "running";
			(void)snprintf(a->mods[MOD_NETWORK].detail, sizeof(a->mods[0].detail),
				       "collector %s", network_collector_name(a->net));
		} else {
			log_err_errno(-errno, "network module failed to start, disabled");
			a->mods[MOD_NETWORK].state = "failed";
			(void)snprintf(a->mods[MOD_NETWORK].detail, sizeof(a->mods[0].detail), "%s",
				       strerror(errno));
		}
	}
}

/* The exec history (daemon only: it needs the outbox). Half of the queue at most. */
static void history_init(struct agent *a)
{
	const char *step = "?";

	if (!a->cfg.history.enabled || !a->ob)
		return;
	a->exec = exec_collector_new(&a->cfg, a->ob, a->cfg.agent.queue_max / 2, &step);
	if (a->exec) {
		a->mods[MOD_HISTORY].state = "running";
		return;
	}
	log_err_errno(-errno, "history module failed to start (%s), disabled", step);
	a->mods[MOD_HISTORY].state = "failed";
	(void)snprintf(a->mods[MOD_HISTORY].detail, sizeof(a->mods[0].detail), "%s: %s", step,
		       strerror(errno));
}

static int speedtest_submit(void *arg, const struct speedtest_result *r)
{
	struct agent *a = arg;

	metrics_set_speedtest(a->metrics, r);
	return outbox_submit(a->ob, message_speedtest(r));
}

static int speedtest_host_bytes(void *arg, uint64_t *ret_rx, uint64_t *ret_tx)
{
	struct agent *a = arg;

	return network_host_bytes(a->net, ret_rx, ret_tx);
}

/* Periodic speed tests on their own thread (daemon only); signals blocked like the others. */
static void speedtest_start(struct agent *a)
{
	sigset_t block, old;

	if (!a->cfg.speedtest.enabled)
		return;
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &block, &old);
	a->speedtest = speedtest_module_start(&a->cfg, a->cfg.base_url, speedtest_submit, a,
					      speedtest_host_bytes, a);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (a->speedtest) {
		a->mods[MOD_SPEEDTEST].state = "running";
		return;
	}
	log_err_errno(-errno, "speedtest module failed to start, disabled");
	a->mods[MOD_SPEEDTEST].state = "failed";
	(void)snprintf(a->mods[MOD_SPEEDTEST].detail, sizeof(a->mods[0].detail), "%s",
		       strerror(errno));
}

static void modules_fini(struct agent *a)
{
	/* First: its test reads the network collector's counters. */
	speedtest_module_stop(a->speedtest);
	a->speedtest = NULL;
	for (int i = MOD_COUNT - 1; i >= 0; i--) {
		runner_stop(a->mods[i].runner);
		a->mods[i].runner = NULL;
	}
	exec_collector_free(a->exec);
	a->exec = NULL;
	network_free(a->net);
	a->net = NULL;
	resources_free(a->res);
	a->res = NULL;
}

/* Module threads must not take SIGINT/SIGTERM: the main loop's poll has to see them. */
static int modules_start(struct agent *a)
{
	sigset_t block, old;

	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &block, &old);
	if (a->res)
		a->mods[MOD_RESOURCES].runner =
			runner_start("resources", a->cfg.resources.interval_ms, resources_tick, a);
	if (a->net)
		a->mods[MOD_NETWORK].runner =
			runner_start("network", a->cfg.network.interval_ms, network_tick, a);
	if (a->exec && exec_collector_start(a->exec) < 0) {
		a->mods[MOD_HISTORY].state = "failed";
		(void)snprintf(a->mods[MOD_HISTORY].detail, sizeof(a->mods[0].detail), "no thread");
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	for (int i = 0; i < MOD_COUNT; i++) {
		if (i != MOD_HISTORY && strcmp(a->mods[i].state, "running") == 0 &&
		    !a->mods[i].runner) {
			a->mods[i].state = "failed";
			(void)snprintf(a->mods[i].detail, sizeof(a->mods[i].detail), "no thread");
		}
	}
	return 0;
}

static void print_message(cJSON *msg, const char *host_id, uint64_t seq)
{
	char *text = message_finish(msg, host_id, seq);

	if (text)
		printf("%s\n", text);
	cJSON_free(text);
	cJSON_Delete(msg);
}

/* --once: one sample of every enabled module, printed as wire messages. */
static int run_once(struct agent *a)
{
	struct timespec until;
	uint64_t window = 1000;
	uint64_t seq = 1;
	int rc = 0;

	modules_init(a);
	if (a->res && a->cfg.resources.interval_ms < window)
		window = a->cfg.resources.interval_ms;
	/* CPU % and rates are deltas: sample over one short window. */
	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += (time_t)(window / 1000);
	until.tv_nsec += (long)(window % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &until, NULL) == EINTR &&
	       !stop_requested)
		;

	print_message(agent_hello(a), a->id.host_id, seq++);
	if (a->res) {
		struct resources_sample s;

		if (resources_sample(a->res, &s) == 0)
			print_message(message_resources(&s), a->id.host_id, seq++);
		else
			rc = 1;
	}
	if (a->net) {
		struct net_sample *s = malloc(sizeof(*s));

		if (s && network_sample(a->net, s) == 0)
			print_message(message_network(s), a->id.host_id, seq++);
		else
			rc = 1;
		free(s);
	}
	print_message(agent_status(a), a->id.host_id, seq++);
	(void)fflush(stdout);
	modules_fini(a);
	return rc;
}

#define SPOOL_RETRY_MS 10000

/*
 * The on-disk spool behind the outbox; without it records wait in memory (logged once)
 * and it is tried again every SPOOL_RETRY_MS (retry: quiet unless it opens).
 */
static void spool_start(struct agent *a, bool retry)
{
	const struct config_spool *c = &a->cfg.spool;
	struct spool_options opt = {.max_bytes = c->max_size,
				    .fsync_interval_ms = c->fsync_interval_ms};
	struct spool_stats st;
	char dir[4096];

	if (c->dir && *c->dir)
		(void)snprintf(dir, sizeof(dir), "%s", c->dir);
	else
		(void)snprintf(dir, sizeof(dir), "%s/spool", a->cfg.agent.state_dir);
	if (strcmp(c->fsync, "always") == 0)
		opt.fsync = SPOOL_FSYNC_ALWAYS;
	else if (strcmp(c->fsync, "never") == 0)
		opt.fsync = SPOOL_FSYNC_NEVER;
	else
		opt.fsync = SPOOL_FSYNC_INTERVAL;
	a->spool = spool_open(dir, &opt);
	if (!a->spool) {
		if (retry)
			log_debug("the spool '%s' still cannot be opened: %s", dir,
				  strerror(errno));
		else
			log_warn_errno(-errno,
				       "cannot open the spool '%s': records wait in memory only "
				       "(agent.queue_max), lost if the agent stops; tried again "
				       "every %d s",
				       dir, SPOOL_RETRY_MS / 1000);
		a->spool_retry_ms = mono_ms() + SPOOL_RETRY_MS;
		return;
	}
	a->spool_retry_ms = 0;
	spool_stats(a->spool, &st);
	log_info("spool '%s': %llu undelivered records (%llu bytes) to replay", dir,
		 (unsigned long long)st.records, (unsigned long long)st.bytes);
	if (retry)
		log_info("the spool '%s' can be used now: %zu records waiting in memory moved "
			 "into it",
			 dir, outbox_use_spool(a->ob, a->spool));
	else
		outbox_use_spool(a->ob, a->spool);
}

static int run_daemon(struct agent *a)
{
	int rc = 1;

	a->sn = service_notify_new();
	if (!a->sn) {
		log_err("cannot allocate the systemd notifier");
		return 1;
	}

	/* Step 1: the sequence store and the outbox. */
	a->seq = seqstore_open(a->cfg.agent.state_dir);
	if (!a->seq) {
		log_err("cannot allocate the sequence store");
		goto out;
	}
	seqstore_set_floor(a->seq, instance_seq_floor(a->instance));
	a->ob = outbox_new(a->id.host_id, a->seq, a->cfg.agent.queue_max);
	if (!a->ob) {
		log_err("cannot allocate the outbox");
		goto out;
	}
	spool_start(a, false);
	/* Step 2: authentication and transport. */
	a->auth = auth_new(&a->cfg);
	if (!a->auth) {
		log_err("cannot allocate the token client");
		goto out;
	}
	a->tr = transport_new(&a->cfg, a->ob, a->auth, on_connected, a);
	if (!a->tr)
		goto out;
	outbox_set_notify(a->ob, transport_wake, a->tr);
	/* Step 3: the collectors, each on its own thread, and the /metrics endpoint. */
	metrics_start(a);
	modules_init(a);
	history_init(a);
	modules_start(a);
	speedtest_start(a);
	agent_update_metrics(a);
	log_info("srvmon-agent %s started: host_id %s, server %s", SRVMON_VERSION, a->id.host_id,
		 transport_url(a->tr));
	/* Step 4: tell systemd (Type=notify) the programs are attached and the modules run. */
	agent_notify_status(a, "ready");
	/* Step 5: the event loop, until SIGINT/SIGTERM; it pings the watchdog. */
	transport_run(a->tr, &stop_requested, 1000, on_tick, a);
	log_info("stopping");
	service_notify_stopping(a->sn, "stopping: flushing the spool");
	rc = 0;
out:
	modules_fini(a);
	metrics_http_stop(a->metrics_http);
	a->metrics_http = NULL;
	metrics_free(a->metrics);
	a->metrics = NULL;
	if (a->ob)
		outbox_set_notify(a->ob, NULL, NULL);
	transport_free(a->tr);
	auth_free(a->auth);
	outbox_free(a->ob);
	spool_close(a->spool);
	seqstore_close(a->seq);
	if (rc != 0)
		service_notify_stopping(a->sn, "failed to start");
	service_notify_free(a->sn);
	a->sn = NULL;
	return rc;
}

static void usage(FILE *out)
{
	(void)fprintf(
		out,
		"Usage: srvmon-agent [OPTIONS]\n"
		"Samples this server (CPU, RAM, disk, network) and ships the records to a\n"
		"monitoring API over an authenticated WebSocket.\n\n"
		"  -c, --config PATH     configuration file (default " CONFIG_DEFAULT_PATH ")\n"
		"      --check-config    validate the configuration, print it (secrets masked)\n"
		"  history [--user U] [--since 1h] [-n N] [--json]\n"
		"                        recent commands from the local trail\n"
		"  speedtest [--server URL] [--json]\n"
		"                        run one speed test now and print the result\n"
		"  -m, --module NAME     run only this module (resources, network, history,\n"
		"                        speedtest; repeatable), state under STATE_DIR/NAME\n"
		"      --once            sample every enabled module once, print the JSON\n"
		"                        messages on stdout, no server needed\n"
		"      --config-reference  print the configuration key reference (Markdown)\n"
		"  -v, --verbose         debug logging\n"
		"  -V, --version         print the version\n"
		"  -h, --help            this help\n\n"
		"Exit status: 0 ok, 1 runtime failure, 2 usage, 78 configuration error.\n");
}

int main(int argc, char **argv)
{
	enum { OPT_CHECK = 256, OPT_ONCE, OPT_REFERENCE };
	static const struct option opts[] = {
		{"config", required_argument, NULL, 'c'},
		{"module", required_argument, NULL, 'm'},
		{"check-config", no_argument, NULL, OPT_CHECK},
		{"once", no_argument, NULL, OPT_ONCE},
		{"config-reference", no_argument, NULL, OPT_REFERENCE},
		{"verbose", no_argument, NULL, 'v'},
		{"version", no_argument, NULL, 'V'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	const char *config_path = CONFIG_DEFAULT_PATH;
	static struct agent agent;
	struct agent *a = &agent;
	struct sigaction sa;
	bool check = false, once = false, verbose = false;
	enum log_level level;
	char errbuf[1024];
	int rc = 1;
	int opt, r;

	log_init("srvmon-agent");
	if (argc > 1 && strcmp(argv[1], "history") == 0)
		return history_cli_main(argc - 1, argv + 1);
	if (argc > 1 && strcmp(argv[1], "speedtest") == 0)
		return speedtest_cli_main(argc - 1, argv + 1);
	while ((opt = getopt_long(argc, argv, "c:m:vVh", opts, NULL)) != -1) {
		switch (opt) {
		case 'c':
			config_path = optarg;
			break;
		case 'm':
			if (instance_module_add(optarg, &a->instance) < 0) {
				(void)fprintf(
					stderr,
					"srvmon-agent: unknown module '%s' (resources, network, "
					"history, speedtest)\n",
					optarg);
				return 2;
			}
			break;
		case OPT_CHECK:
			check = true;
			break;
		case OPT_ONCE:
			once = true;
			break;
		case OPT_REFERENCE:
			config_print_reference(stdout);
			return 0;
		case 'v':
			verbose = true;
			break;
		case 'V':
			printf("srvmon-agent %s\n", SRVMON_VERSION);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		(void)fprintf(stderr, "srvmon-agent: unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		return 2;
	}

	/* Configuration: all or nothing. */
	r = config_init_defaults(&a->cfg);
	if (r == 0)
		r = config_load(&a->cfg, config_path, !once, errbuf, sizeof(errbuf));
	if (r < 0) {
		(void)fprintf(stderr, "srvmon-agent: %s\n",
			      r == -ENOMEM ? "out of memory" : errbuf);
		return EX_CONFIG_STATUS;
	}
	/* --module: only those modules, whatever the file says, with a state dir of their own. */
	if (a->instance && instance_apply(&a->cfg, a->instance) < 0) {
		(void)fprintf(stderr, "srvmon-agent: out of memory\n");
		config_free(&a->cfg);
		return 1;
	}
	if (log_level_parse(a->cfg.agent.log_level, &level) == 0)
		log_set_level(level);
	if (verbose)
		log_set_level(LOG_LEVEL_DEBUG);
	if (check) {
		config_print(&a->cfg, stdout);
		printf("configuration OK\n");
		rc = 0;
		goto out;
	}

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	(void)signal(SIGPIPE, SIG_IGN);

	/* The password never crosses a network in clear unless the operator says so. */
	if (!once && !a->cfg.server.tls && !a->cfg.server.allow_insecure &&
	    !host_is_loopback(a->cfg.server.server_address)) {
		log_err("%s: refusing to send the password over plain http:// to '%s': use tls = "
			"true (https://), or set server.allow_insecure = true",
			config_path, a->cfg.server.server_address);
		rc = EX_CONFIG_STATUS;
		goto out;
	}
	r = identity_read(&a->cfg, &a->id);
	if (r < 0) {
		log_err_errno(
			r, "no host identity: set agent.host_id in %s or provide /etc/machine-id",
			config_path);
		goto out;
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		log_err("cannot initialise libcurl");
		goto out;
	}
	rc = once ? run_once(a) : run_daemon(a);
	curl_global_cleanup();
out:
	config_free(&a->cfg);
	return rc;
}
