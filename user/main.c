/* srvmon-agent: samples this host and ships the records to a monitoring API. */
#include "auth.h"
#include "config.h"
#include "history_cli.h"
#include "identity.h"
#include "instance.h"
#include "log.h"
#include "monoclock.h"
#include "message.h"
#include "message_json.h"
#include "metrics.h"
#include "metrics_http.h"
#include "module.h"
#include "module_set.h"
#include "outbox.h"
#include "runner.h"
#include "seqstore.h"
#include "service_notify.h"
#include "speedtest_cli.h"
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

struct agent {
	struct config cfg;
	struct host_identity id;
	struct seqstore *seq;
	struct outbox *ob;
	struct spool *spool;
	uint64_t spool_retry_ms; /* next attempt to open a spool that could not be; 0: none */
	struct auth *auth;
	struct transport *tr;
	struct module_sink sink;
	struct module_ctx ctx;
	struct module_set mods;
	uint64_t once_seq; /* --once: the seq printed next */
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

static cJSON *agent_hello(struct agent *a)
{
	struct hello_info h = {.id = &a->id, .agent_version = SRVMON_VERSION};

	module_set_hello(&a->mods, &h);
	return message_hello(&h, wall_ms());
}

static cJSON *agent_status(struct agent *a)
{
	struct status_info s = {0};
	struct outbox_stats st = {0};

	module_set_status(&a->mods, &s);
	if (a->ob)
		outbox_stats(a->ob, &st);
	s.events_lost = st.dropped + module_set_lost(&a->mods); /* + lost by modules */
	s.spool_dropped = st.spool_dropped;
	s.reconnects = a->tr ? transport_reconnects(a->tr) : 0;
	return message_status(&s, wall_ms());
}

/* The agent's own figures for /metrics: losses, spool, reconnects, module states. */
static void agent_update_metrics(struct agent *a)
{
	struct metrics_agent m = {0};
	struct outbox_stats st = {0};

	if (!a->metrics)
		return;
	outbox_stats(a->ob, &st);
	m.events_lost = st.dropped + module_set_lost(&a->mods);
	m.spool_bytes = st.spool_bytes;
	m.reconnects = transport_reconnects(a->tr);
	module_set_metrics(&a->mods, &m);
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
	for (size_t i = 0; i < agent_module_count; i++) {
		if (agent_modules[i]->metrics &&
		    metrics_add_source(a->metrics, agent_modules[i]->metrics) < 0)
			log_warn("metrics: no room for the %s module's figures, left out",
				 agent_modules[i]->name);
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
	char mods[128];
	char line[384];

	module_set_running(&a->mods, mods, sizeof(mods));
	(void)snprintf(line, sizeof(line), "%s%smodules %s; server %s; reconnects %llu",
		       what ? what : "", what ? ": " : "", mods[0] ? mods : "none",
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

	/* The token this connection was opened with, for the modules that talk to this server
	 * themselves (speed tests: srvmon-server's speed-test endpoints want it). */
	if (auth_get_token(a->auth, &token) == 0)
		module_set_token(&a->mods, token);
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

/* The daemon's sink: the outbox. */
static int sink_outbox_submit(void *arg, cJSON *msg)
{
	struct agent *a = arg;

	return outbox_submit(a->ob, msg);
}

static int sink_outbox_submit_text(void *arg, const struct record_text *recs, size_t n)
{
	struct agent *a = arg;

	return outbox_submit_json(a->ob, recs, n);
}

static size_t sink_outbox_backlog(void *arg)
{
	struct agent *a = arg;

	return outbox_pending(a->ob);
}

static void print_message(cJSON *msg, const char *host_id, uint64_t seq);

/* --once's sink: standard output, seqs from 1. Only sampling modules run there. */
static int sink_print_submit(void *arg, cJSON *msg)
{
	struct agent *a = arg;

	if (!msg)
		return -ENOMEM;
	print_message(msg, a->id.host_id, a->once_seq++);
	return 0;
}

static int sink_print_submit_text(void *arg, const struct record_text *recs, size_t n)
{
	(void)arg;
	(void)recs;
	(void)n;
	return -EOPNOTSUPP; /* streams (history) do not run in --once */
}

static size_t sink_print_backlog(void *arg)
{
	(void)arg;
	return 0;
}

/* The modules of the table (user/modules.c), each with the agent's context. */
static void modules_start(struct agent *a, bool daemon)
{
	a->ctx = (struct module_ctx){
		.cfg = &a->cfg,
		.sink = &a->sink,
		.metrics = a->metrics,
		.server_url = a->cfg.base_url,
		.backlog_max = a->cfg.agent.queue_max / 2, /* history: half of the queue at most */
		.host_bytes = module_set_host_bytes,
		.host_bytes_arg = &a->mods,
	};
	module_set_start(&a->mods, agent_modules, agent_module_count, &a->ctx, &a->cfg, daemon);
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
	int rc = 0;

	a->sink = (struct module_sink){.submit = sink_print_submit,
				       .submit_text = sink_print_submit_text,
				       .backlog = sink_print_backlog,
				       .arg = a};
	a->once_seq = 1;
	modules_start(a, false);
	window = module_set_min_interval(&a->mods, &a->cfg, window);
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

	sink_print_submit(a, agent_hello(a));
	if (module_set_tick(&a->mods) < 0)
		rc = 1;
	sink_print_submit(a, agent_status(a));
	(void)fflush(stdout);
	module_set_stop(&a->mods);
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
	if (c->fsync == SPOOL_SYNC_ALWAYS)
		opt.fsync = SPOOL_FSYNC_ALWAYS;
	else if (c->fsync == SPOOL_SYNC_NEVER)
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
	outbox_set_unacked_grace(a->ob, a->cfg.server.unacked_grace_ms);
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
	/* Step 3: the /metrics endpoint, then the modules, each on its own thread. */
	metrics_start(a);
	a->sink = (struct module_sink){.submit = sink_outbox_submit,
				       .submit_text = sink_outbox_submit_text,
				       .backlog = sink_outbox_backlog,
				       .arg = a};
	modules_start(a, true);
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
	module_set_stop(&a->mods); /* in exact reverse: the speed test reads network's counters */
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

/* The module names of the table, "resources, network, ...", into buf. */
static const char *module_names(char *buf, size_t size)
{
	size_t len = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < agent_module_count; i++) {
		int n = snprintf(buf + len, size - len, "%s%s", i ? ", " : "",
				 agent_modules[i]->name);

		if (n < 0 || (size_t)n >= size - len)
			break;
		len += (size_t)n;
	}
	return buf;
}

static void usage(FILE *out)
{
	char names[256];

	(void)fprintf(
		out,
		"Usage: srvmon-agent [OPTIONS]\n"
		"       srvmon-agent [--config PATH] [--verbose] history|speedtest [ARGS]\n"
		"Samples this server (CPU, RAM, disk, network) and ships the records to a\n"
		"monitoring API over an authenticated WebSocket.\n\n"
		"  -c, --config PATH     configuration file (default " CONFIG_DEFAULT_PATH ")\n"
		"      --check-config    validate the configuration, print it (secrets masked)\n"
		"  history [--user U] [--since 1h] [-n N] [--json]\n"
		"                        recent commands from the local trail\n"
		"  speedtest [--server URL] [--json]\n"
		"                        run one speed test now and print the result\n"
		"  -m, --module NAME     run only this module (repeatable), state under\n"
		"                        STATE_DIR/NAME; modules: %s\n"
		"      --once            sample every enabled module once, print the JSON\n"
		"                        messages on stdout, no server needed\n"
		"      --config-reference  print the configuration key reference (Markdown)\n"
		"  -v, --verbose         debug logging\n"
		"  -V, --version         print the version\n"
		"  -h, --help            this help\n\n"
		"Exit status: 0 ok, 1 runtime failure, 2 usage, 78 configuration error.\n",
		module_names(names, sizeof(names)));
}

/* "srvmon-agent [--config PATH] [--verbose] history|speedtest ARGS": the options given
 * before the word apply to the subcommand, as in git or systemctl. Returns the subcommand's
 * exit status, or -ENOENT when argv[0] names none. */
static int subcommand_run(int argc, char **argv, const char *config_path, bool verbose,
			  bool bad_options)
{
	int (*fn)(int, char **);
	char **sub;
	int i, n = 0, rc;

	if (strcmp(argv[0], "history") == 0)
		fn = history_cli_main;
	else if (strcmp(argv[0], "speedtest") == 0)
		fn = speedtest_cli_main;
	else
		return -ENOENT;
	if (bad_options) {
		(void)fprintf(stderr,
			      "srvmon-agent: only --config and --verbose may come before "
			      "'%s'\n",
			      argv[0]);
		return 2;
	}
	if (verbose)
		log_set_level(LOG_LEVEL_DEBUG);
	/* The word, --config PATH from before it, then its own arguments (a later --config
	 * wins, as getopt reads left to right). */
	sub = calloc((size_t)argc + 3, sizeof(*sub));
	if (!sub) {
		(void)fprintf(stderr, "srvmon-agent: out of memory\n");
		return 1;
	}
	sub[n++] = argv[0];
	if (config_path) {
		sub[n++] = (char *)"--config";
		sub[n++] = (char *)config_path;
	}
	for (i = 1; i < argc; i++)
		sub[n++] = argv[i];
	rc = fn(n, sub);
	free(sub);
	return rc;
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
	bool check = false, once = false, verbose = false, config_given = false;
	char errbuf[1024];
	int rc = 1;
	int opt, r;

	log_init("srvmon-agent");
	/* '+': options stop at the first word, so that "--config X history" reaches it. */
	while ((opt = getopt_long(argc, argv, "+c:m:vVh", opts, NULL)) != -1) {
		switch (opt) {
		case 'c':
			config_path = optarg;
			config_given = true;
			break;
		case 'm':
			if (instance_module_add(optarg, &a->instance) < 0) {
				char names[256];

				(void)fprintf(stderr, "srvmon-agent: unknown module '%s' (%s)\n",
					      optarg, module_names(names, sizeof(names)));
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
		r = subcommand_run(argc - optind, argv + optind, config_given ? config_path : NULL,
				   verbose, check || once || a->instance);
		if (r != -ENOENT)
			return r;
		(void)fprintf(stderr, "srvmon-agent: unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		return 2;
	}

	/* Configuration: all or nothing. --once samples with the defaults when the default
	 * file does not exist; a file named by --config must exist. */
	r = config_init_defaults(&a->cfg);
	if (r == 0 && once && !config_given)
		r = config_load_optional(&a->cfg, NULL, errbuf, sizeof(errbuf));
	else if (r == 0)
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
	log_set_level(a->cfg.agent.log_level);
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
