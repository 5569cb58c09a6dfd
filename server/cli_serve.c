/* srvmon-server serve: the options (listen address, tokens, TLS, abuse limits, quota,
 * retention), the database, the server (http.c) and its event loop until SIGINT/SIGTERM. */
#include "cli.h"

#include "log.h"
#include "numparse.h"
#include "db.h"
#include "http.h"
#include "password.h"
#include "pwpool.h"
#include "quota.h"
#include "retention.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t stop_requested;
static struct server *running_server;

static void on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
	/* Only write()s to lws's event pipe so the poll in lws_service() returns now. */
	server_wake(running_server);
}

static int install_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGINT, &sa, NULL) < 0 || sigaction(SIGTERM, &sa, NULL) < 0)
		return -errno;
	sa.sa_handler = SIG_IGN;
	if (sigaction(SIGPIPE, &sa, NULL) < 0)
		return -errno;
	return 0;
}

/* "A/B" with A in [amin, amax] and B in [bmin, bmax]. 0 or -EINVAL / -ERANGE. */
static int parse_pair(const char *s, uint64_t amin, uint64_t amax, uint64_t bmin, uint64_t bmax,
		      uint64_t *ret_a, uint64_t *ret_b)
{
	const char *slash = strchr(s, '/');
	char a[24];
	int r;

	if (!slash || (size_t)(slash - s) >= sizeof(a))
		return -EINVAL;
	memcpy(a, s, (size_t)(slash - s));
	a[slash - s] = '\0';
	r = parse_u64(a, amin, amax, ret_a);
	if (r == 0)
		r = parse_u64(slash + 1, bmin, bmax, ret_b);
	return r;
}

/* "BURST/PER_MINUTE" (POST /token per client address) or "0" (no limit). */
static int parse_rate(const char *s, uint64_t *ret_burst, uint64_t *ret_per_minute)
{
	if (strcmp(s, "0") == 0) {
		*ret_burst = 0;
		*ret_per_minute = 0;
		return 0;
	}
	return parse_pair(s, 1, 1000000, 1, 6000000, ret_burst, ret_per_minute);
}

/* "RECORDS/MIB": per WebSocket connection, records/s and MiB/s (0 in either: that one is not
 * limited), or "0" (no limit). */
static int parse_ingest_limit(const char *s, uint64_t *ret_records, uint64_t *ret_bytes)
{
	uint64_t mib;
	int r;

	if (strcmp(s, "0") == 0) {
		*ret_records = 0;
		*ret_bytes = 0;
		return 0;
	}
	r = parse_pair(s, 0, 10000000, 0, 100000, ret_records, &mib);
	if (r == 0)
		*ret_bytes = mib * 1024 * 1024;
	return r;
}

/* The options of the abuse limits (docs/server.md, "Limits"). 1 when c was one of them and
 * is set, 0 when c is not one of them, or a usage error's exit status (negated). */
static int limit_option(int c, const char *arg, struct server_opts *opts)
{
	uint64_t a, b;

	switch (c) {
	case 'N':
		if (parse_pair(arg, 1, 1000000, 1, 1000000, &a, &b) < 0 || b > a)
			return -cli_usage_error("--conn-limit: \"%s\" is not TOTAL/PER_ADDR "
						"(1..1000000, PER_ADDR <= TOTAL)",
						arg);
		opts->max_conns = (size_t)a;
		opts->max_conns_per_addr = (size_t)b;
		return 1;
	case 'T':
		if (parse_u64(arg, 1, 3600, &a) < 0)
			return -cli_usage_error("--request-timeout: \"%s\" is not 1..3600 seconds",
						arg);
		opts->request_timeout_s = a;
		return 1;
	case 'S':
		if (strcmp(arg, "token") == 0)
			opts->speedtest = SERVER_SPEEDTEST_TOKEN;
		else if (strcmp(arg, "open") == 0)
			opts->speedtest = SERVER_SPEEDTEST_OPEN;
		else if (strcmp(arg, "off") == 0)
			opts->speedtest = SERVER_SPEEDTEST_OFF;
		else
			return -cli_usage_error("--speedtest: \"%s\" is not token, open or off",
						arg);
		return 1;
	case 'M':
		if (parse_u64(arg, 1, 1024, &a) < 0)
			return -cli_usage_error("--speedtest-streams: \"%s\" is not 1..1024", arg);
		opts->speedtest_per_addr = (size_t)a;
		return 1;
	case 'W':
		if (parse_pair(arg, 1, 64, 1, 100000, &a, &b) < 0 || b < a)
			return -cli_usage_error("--password-workers: \"%s\" is not THREADS/QUEUE "
						"(1..64/1..100000, QUEUE >= THREADS)",
						arg);
		opts->pw_threads = (unsigned)a;
		opts->pw_max_jobs = (size_t)b;
		return 1;
	case 'F':
		if (strcmp(arg, "0") == 0) {
			opts->login_fail_burst = 0;
			return 1;
		}
		if (parse_pair(arg, 1, 1000000, 1, 6000000, &a, &b) < 0)
			return -cli_usage_error("--login-rate: \"%s\" is not BURST/PER_MINUTE "
						"(1..1000000/1..6000000) or 0",
						arg);
		opts->login_fail_burst = a;
		opts->login_fail_per_minute = b;
		return 1;
	case 'Q':
		if (strcmp(arg, "0") == 0) {
			opts->quota_records_per_s = 0;
			opts->quota_bytes_per_day = 0;
			return 1;
		}
		if (parse_pair(arg, 0, 10000000, 0, 100000000, &a, &b) < 0)
			return -cli_usage_error("--quota: \"%s\" is not RECORDS_PER_S/MIB_PER_DAY "
						"(0..10000000/0..100000000) or 0",
						arg);
		opts->quota_records_per_s = a;
		opts->quota_bytes_per_day = b * 1024 * 1024;
		return 1;
	case 'P':
		if (retention_parse(arg, &a) < 0)
			return -cli_usage_error("--retention: \"%s\" is not 0 or an age (30d, 12h, "
						"90m, 3600s; at least 1 s)",
						arg);
		opts->retention_ms = a;
		return 1;
	case 'U':
		if (retention_parse(arg, &a) < 0)
			return -cli_usage_error(
				"--rollup-retention: \"%s\" is not 0 or an age (400d)", arg);
		opts->rollup_retention_ms = a;
		return 1;
	default:
		return 0;
	}
}

int cmd_serve(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"db", required_argument, NULL, 'd'},
		{"listen", required_argument, NULL, 'l'},
		{"port", required_argument, NULL, 'p'},
		{"token-lifetime", required_argument, NULL, 't'},
		{"refresh-lifetime", required_argument, NULL, 'R'},
		{"token-rate", required_argument, NULL, 'L'},
		{"ingest-limit", required_argument, NULL, 'I'},
		{"ack-interval", required_argument, NULL, 'A'},
		{"print-records", no_argument, NULL, 'r'},
		{"tls-cert", required_argument, NULL, 'C'},
		{"tls-key", required_argument, NULL, 'K'},
		{"conn-limit", required_argument, NULL, 'N'},
		{"request-timeout", required_argument, NULL, 'T'},
		{"speedtest", required_argument, NULL, 'S'},
		{"speedtest-streams", required_argument, NULL, 'M'},
		{"password-workers", required_argument, NULL, 'W'},
		{"login-rate", required_argument, NULL, 'F'},
		{"quota", required_argument, NULL, 'Q'},
		{"retention", required_argument, NULL, 'P'},
		{"rollup-retention", required_argument, NULL, 'U'},
		{"sendmail", required_argument, NULL, 'E'},
		{"verbose", no_argument, NULL, 'v'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct server_opts opts = {.listen = "127.0.0.1",
				   .port = 8080,
				   .token_lifetime_s = 3600,
				   .refresh_lifetime_s = 30ull * 86400,
				   .token_burst = 20,
				   .token_per_minute = 60,
				   .conn_records_per_s = SERVER_CONN_RECORDS_PER_S,
				   .conn_bytes_per_s =
					   (uint64_t)SERVER_CONN_MIB_PER_S * 1024 * 1024,
				   .ack_interval_ms = SERVER_ACK_INTERVAL_MS,
				   .max_conns = SERVER_MAX_CONNS,
				   .max_conns_per_addr = SERVER_MAX_CONNS_PER_ADDR,
				   .request_timeout_s = SERVER_REQUEST_TIMEOUT_S,
				   .speedtest = SERVER_SPEEDTEST_TOKEN,
				   .speedtest_per_addr = SERVER_SPEEDTEST_PER_ADDR,
				   .pw_threads = PWPOOL_THREADS,
				   .pw_max_jobs = PWPOOL_MAX_JOBS,
				   .login_fail_burst = SERVER_LOGIN_FAIL_BURST,
				   .login_fail_per_minute = SERVER_LOGIN_FAIL_PER_MINUTE,
				   .quota_records_per_s = QUOTA_RECORDS_PER_S,
				   .quota_bytes_per_day = (uint64_t)QUOTA_MIB_PER_DAY * 1024 * 1024,
				   .retention_ms = RETENTION_DEFAULT_MS,
				   .rollup_retention_ms = RETENTION_ROLLUP_DEFAULT_MS};
	const char *db_path = NULL;
	struct server *srv = NULL;
	struct db *db = NULL;
	uint64_t v;
	int ret = EXIT_FAILURE;
	int r;

	for (;;) {
		int c = getopt_long(argc, argv, "h", longopts, NULL);

		if (c == -1)
			break;
		r = limit_option(c, optarg, &opts);
		if (r < 0)
			return -r;
		if (r > 0)
			continue;
		switch (c) {
		case 'd':
			db_path = optarg;
			break;
		case 'l':
			opts.listen = optarg;
			break;
		case 'p':
			if (parse_u64(optarg, 0, 65535, &v) < 0)
				return cli_usage_error("--port: \"%s\" is not a port number",
						       optarg);
			opts.port = (int)v;
			break;
		case 't':
			if (parse_u64(optarg, 1, 10ULL * 365 * 86400, &v) < 0)
				return cli_usage_error(
					"--token-lifetime: \"%s\" is not 1..315360000 seconds",
					optarg);
			opts.token_lifetime_s = v;
			break;
		case 'R':
			if (parse_u64(optarg, 0, 10ULL * 365 * 86400, &v) < 0)
				return cli_usage_error(
					"--refresh-lifetime: \"%s\" is not 0..315360000 seconds",
					optarg);
			opts.refresh_lifetime_s = v;
			break;
		case 'L':
			r = parse_rate(optarg, &opts.token_burst, &opts.token_per_minute);
			if (r < 0)
				return cli_usage_error(
					"--token-rate: \"%s\" is not BURST/PER_MINUTE "
					"(1..1000000/1..6000000) or 0",
					optarg);
			break;
		case 'I':
			r = parse_ingest_limit(optarg, &opts.conn_records_per_s,
					       &opts.conn_bytes_per_s);
			if (r < 0)
				return cli_usage_error("--ingest-limit: \"%s\" is not RECORDS/MIB "
						       "(0..10000000/0..100000) or 0",
						       optarg);
			break;
		case 'A':
			if (parse_u64(optarg, 0, 60000, &v) < 0)
				return cli_usage_error(
					"--ack-interval: \"%s\" is not 0..60000 milliseconds",
					optarg);
			opts.ack_interval_ms = v;
			break;
		case 'r':
			opts.records_out = stdout;
			break;
		case 'C':
			opts.tls_cert = optarg;
			break;
		case 'K':
			opts.tls_key = optarg;
			break;
		case 'E':
			if (access(optarg, X_OK) < 0)
				return cli_usage_error(
					"--sendmail: \"%s\" is not an executable program", optarg);
			opts.sendmail = optarg;
			break;
		case 'v':
			log_set_level(LOG_LEVEL_DEBUG);
			break;
		case 'h':
			return CLI_SHOW_USAGE;
		default:
			return cli_usage_error("%s", "serve: bad option");
		}
	}
	if (!opts.tls_cert != !opts.tls_key)
		return cli_usage_error("%s", "serve: --tls-cert and --tls-key go together");
	if (optind != argc)
		return cli_usage_error("serve: unexpected argument \"%s\"", argv[optind]);
	if (!db_path)
		return cli_usage_error("%s", "serve: --db PATH is required");

	/* Open the database (schema, WAL). */
	db = cli_open_db(db_path, true);
	if (!db)
		goto out;
	opts.db = db;
	/* Precompute the dummy hash so the first unknown-user login costs what later ones do. */
	if (!password_dummy_hash()) {
		log_err("argon2: cannot compute the dummy hash");
		goto out;
	}
	/* Create the listening vhost. */
	srv = server_new(&opts);
	if (!srv) {
		/* lws logged the failing call (bind, listen) just above. */
		log_err("cannot listen on %s port %d", opts.listen, opts.port);
		goto out;
	}
	/* Stop cleanly on SIGINT/SIGTERM. */
	running_server = srv;
	r = install_signals();
	if (r < 0) {
		log_err_errno(r, "sigaction");
		goto out;
	}
	(void)fprintf(stderr,
		      strchr(opts.listen, ':') ? "listening on %s://[%s]:%d\n"
					       : "listening on %s://%s:%d\n",
		      opts.tls_cert ? "https" : "http", opts.listen, server_port(srv));
	(void)fflush(stderr);
	/* Serve until a signal. */
	r = server_run(srv, &stop_requested);
	if (r < 0) {
		log_err_errno(r, "event loop failed");
		goto out;
	}
	log_info("stopping");
	ret = EXIT_SUCCESS;
out:
	running_server = NULL;
	server_free(srv);
	db_close(db);
	return ret;
}
