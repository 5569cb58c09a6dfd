/* srvmon-server: the reference monitoring API (serve) and its admin commands. */
#include "log.h"
#include "numparse.h"
#include "db.h"
#include "hosts.h"
#include "http.h"
#include "password.h"
#include "pwpool.h"
#include "query.h"
#include "revoke.h"
#include "quota.h"
#include "retention.h"

#include "srvmon_version.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <openssl/crypto.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#define EXIT_USAGE 2

static volatile sig_atomic_t stop_requested;
static struct server *running_server;

static const char usage_text[] =
	"Usage:\n"
	"  srvmon-server serve --db PATH [--listen ADDR] [--port N] [--token-lifetime SECONDS]\n"
	"                      [--refresh-lifetime SECONDS] [--token-rate BURST/PER_MINUTE]\n"
	"                      [--ingest-limit RECORDS/MIB] [--ack-interval MS]\n"
	"                      [--tls-cert PEM --tls-key PEM] [--print-records] [--verbose]\n"
	"                      [--conn-limit TOTAL/PER_ADDR] [--request-timeout SECONDS]\n"
	"                      [--speedtest token|open|off] [--speedtest-streams N]\n"
	"                      [--password-workers THREADS/QUEUE] [--login-rate BURST/PER_MINUTE]\n"
	"                      [--quota RECORDS_PER_S/MIB_PER_DAY] [--retention AGE]\n"
	"  srvmon-server user add NAME --db PATH      (password: one line on stdin)\n"
	"  srvmon-server user del NAME --db PATH      (its tokens are revoked)\n"
	"  srvmon-server token revoke --account NAME --db PATH\n"
	"  srvmon-server host add HOST --account NAME --db PATH\n"
	"  srvmon-server host del HOST --db PATH\n"
	"  srvmon-server host list --db PATH\n"
	"  srvmon-server query --db PATH [--host ID] [--type T] [-n N] [--json]\n"
	"  srvmon-server stats --db PATH\n"
	"  srvmon-server --help | --version\n"
	"\n"
	"serve listens on 127.0.0.1:8080 by default; --port 0 picks a free port.\n"
	"Exit status: 0 success, 1 failure, 2 usage error.\n";

static int usage_error(const char *fmt, const char *arg)
{
	(void)fprintf(stderr, "srvmon-server: ");
	(void)fprintf(stderr, fmt, arg);
	(void)fprintf(stderr, "\nTry 'srvmon-server --help'.\n");
	return EXIT_USAGE;
}

static uint64_t wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

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

static struct db *open_db(const char *path, bool create)
{
	const char *err = NULL;
	struct db *db = db_open(path, create, &err);

	if (!db)
		log_err("database \"%s\": %s", path, err ? err : "cannot open");
	return db;
}

/* "BURST/PER_MINUTE" (POST /token per client address) or "0" (no limit). */
static int parse_rate(const char *s, uint64_t *ret_burst, uint64_t *ret_per_minute)
{
	const char *slash = strchr(s, '/');
	char burst[24];
	int r;

	if (strcmp(s, "0") == 0) {
		*ret_burst = 0;
		*ret_per_minute = 0;
		return 0;
	}
	if (!slash || (size_t)(slash - s) >= sizeof(burst))
		return -EINVAL;
	memcpy(burst, s, (size_t)(slash - s));
	burst[slash - s] = '\0';
	r = parse_u64(burst, 1, 1000000, ret_burst);
	if (r == 0)
		r = parse_u64(slash + 1, 1, 6000000, ret_per_minute);
	return r;
}

/* "RECORDS/MIB": per WebSocket connection, records/s and MiB/s (0 in either: that one is not
 * limited), or "0" (no limit). */
static int parse_ingest_limit(const char *s, uint64_t *ret_records, uint64_t *ret_bytes)
{
	const char *slash = strchr(s, '/');
	char records[24];
	uint64_t mib;
	int r;

	if (strcmp(s, "0") == 0) {
		*ret_records = 0;
		*ret_bytes = 0;
		return 0;
	}
	if (!slash || (size_t)(slash - s) >= sizeof(records))
		return -EINVAL;
	memcpy(records, s, (size_t)(slash - s));
	records[slash - s] = '\0';
	r = parse_u64(records, 0, 10000000, ret_records);
	if (r == 0)
		r = parse_u64(slash + 1, 0, 100000, &mib);
	if (r == 0)
		*ret_bytes = mib * 1024 * 1024;
	return r;
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

/* The options of the abuse limits (docs/server.md, "Limits"). 1 when c was one of them and
 * is set, 0 when c is not one of them, or a usage error's exit status (negated). */
static int limit_option(int c, const char *arg, struct server_opts *opts)
{
	uint64_t a, b;

	switch (c) {
	case 'N':
		if (parse_pair(arg, 1, 1000000, 1, 1000000, &a, &b) < 0 || b > a)
			return -usage_error("--conn-limit: \"%s\" is not TOTAL/PER_ADDR "
					    "(1..1000000, PER_ADDR <= TOTAL)",
					    arg);
		opts->max_conns = (size_t)a;
		opts->max_conns_per_addr = (size_t)b;
		return 1;
	case 'T':
		if (parse_u64(arg, 1, 3600, &a) < 0)
			return -usage_error("--request-timeout: \"%s\" is not 1..3600 seconds",
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
			return -usage_error("--speedtest: \"%s\" is not token, open or off", arg);
		return 1;
	case 'M':
		if (parse_u64(arg, 1, 1024, &a) < 0)
			return -usage_error("--speedtest-streams: \"%s\" is not 1..1024", arg);
		opts->speedtest_per_addr = (size_t)a;
		return 1;
	case 'W':
		if (parse_pair(arg, 1, 64, 1, 100000, &a, &b) < 0 || b < a)
			return -usage_error("--password-workers: \"%s\" is not THREADS/QUEUE "
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
			return -usage_error("--login-rate: \"%s\" is not BURST/PER_MINUTE "
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
			return -usage_error("--quota: \"%s\" is not RECORDS_PER_S/MIB_PER_DAY "
					    "(0..10000000/0..100000000) or 0",
					    arg);
		opts->quota_records_per_s = a;
		opts->quota_bytes_per_day = b * 1024 * 1024;
		return 1;
	case 'P':
		if (retention_parse(arg, &a) < 0)
			return -usage_error("--retention: \"%s\" is not 0 or an age (30d, 12h, "
					    "90m, 3600s; at least 1 s)",
					    arg);
		opts->retention_ms = a;
		return 1;
	default:
		return 0;
	}
}

static int cmd_serve(int argc, char **argv)
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
				   .retention_ms = RETENTION_DEFAULT_MS};
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
				return usage_error("--port: \"%s\" is not a port number", optarg);
			opts.port = (int)v;
			break;
		case 't':
			if (parse_u64(optarg, 1, 10ULL * 365 * 86400, &v) < 0)
				return usage_error(
					"--token-lifetime: \"%s\" is not 1..315360000 seconds",
					optarg);
			opts.token_lifetime_s = v;
			break;
		case 'R':
			if (parse_u64(optarg, 0, 10ULL * 365 * 86400, &v) < 0)
				return usage_error(
					"--refresh-lifetime: \"%s\" is not 0..315360000 seconds",
					optarg);
			opts.refresh_lifetime_s = v;
			break;
		case 'L':
			r = parse_rate(optarg, &opts.token_burst, &opts.token_per_minute);
			if (r < 0)
				return usage_error("--token-rate: \"%s\" is not BURST/PER_MINUTE "
						   "(1..1000000/1..6000000) or 0",
						   optarg);
			break;
		case 'I':
			r = parse_ingest_limit(optarg, &opts.conn_records_per_s,
					       &opts.conn_bytes_per_s);
			if (r < 0)
				return usage_error("--ingest-limit: \"%s\" is not RECORDS/MIB "
						   "(0..10000000/0..100000) or 0",
						   optarg);
			break;
		case 'A':
			if (parse_u64(optarg, 0, 60000, &v) < 0)
				return usage_error(
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
		case 'v':
			log_set_level(LOG_LEVEL_DEBUG);
			break;
		case 'h':
			(void)fputs(usage_text, stdout);
			return EXIT_SUCCESS;
		default:
			return usage_error("%s", "serve: bad option");
		}
	}
	if (!opts.tls_cert != !opts.tls_key)
		return usage_error("%s", "serve: --tls-cert and --tls-key go together");
	if (optind != argc)
		return usage_error("serve: unexpected argument \"%s\"", argv[optind]);
	if (!db_path)
		return usage_error("%s", "serve: --db PATH is required");

	/* Open the database (schema, WAL). */
	db = open_db(db_path, true);
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

/* Reads one line from stdin without echo when it is a terminal. 0 or -errno. */
static int read_password(char *ret, size_t size)
{
	struct termios old, quiet;
	bool tty = isatty(STDIN_FILENO);
	size_t n;
	int r = 0;

	if (tty) {
		if (tcgetattr(STDIN_FILENO, &old) < 0)
			return -errno;
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		quiet.c_lflag |= ECHONL;
		(void)fputs("Password: ", stderr);
		(void)fflush(stderr);
		if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet) < 0)
			return -errno;
	}
	if (!fgets(ret, (int)size, stdin))
		r = ferror(stdin) ? -EIO : -ENODATA;
	if (tty)
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
	if (r < 0)
		return r;
	n = strlen(ret);
	if (n > 0 && ret[n - 1] != '\n' && !feof(stdin))
		return -E2BIG;
	while (n > 0 && (ret[n - 1] == '\n' || ret[n - 1] == '\r'))
		ret[--n] = '\0';
	return n == 0 ? -ENODATA : 0;
}

static bool valid_name(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 128)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-' || c == '@'))
			return false;
	}
	return true;
}

static int db_only_opts(int argc, char **argv, const char *cmd, const char **ret_db)
{
	static const struct option longopts[] = {
		{"db", required_argument, NULL, 'd'},
		{NULL, 0, NULL, 0},
	};

	for (;;) {
		int c = getopt_long(argc, argv, "", longopts, NULL);

		if (c == -1)
			break;
		if (c != 'd')
			return usage_error("%s: bad option", cmd);
		*ret_db = optarg;
	}
	if (!*ret_db)
		return usage_error("%s: --db PATH is required", cmd);
	return 0;
}

/* --db PATH and --account NAME (required when ret_account is non-NULL and need_account). */
static int db_account_opts(int argc, char **argv, const char *cmd, const char **ret_db,
			   const char **ret_account)
{
	static const struct option longopts[] = {
		{"db", required_argument, NULL, 'd'},
		{"account", required_argument, NULL, 'a'},
		{NULL, 0, NULL, 0},
	};

	for (;;) {
		int c = getopt_long(argc, argv, "", longopts, NULL);

		if (c == -1)
			break;
		if (c == 'd')
			*ret_db = optarg;
		else if (c == 'a')
			*ret_account = optarg;
		else
			return usage_error("%s: bad option", cmd);
	}
	if (!*ret_db)
		return usage_error("%s: --db PATH is required", cmd);
	return 0;
}

/* user del NAME: the account and its tokens go; its hosts stay assigned to the name. */
static int user_del(const char *db_path, const char *name)
{
	struct revoke_counts n;
	struct db *db;
	int r;

	db = open_db(db_path, false);
	if (!db)
		return EXIT_FAILURE;
	r = revoke_delete_account(db, name, &n);
	if (r == -ENOENT)
		log_err("user del \"%s\": no such account in \"%s\"", name, db_path);
	else if (r < 0)
		log_err("user del \"%s\": database \"%s\": %s", name, db_path, db_errmsg(db));
	else
		(void)fprintf(stderr,
			      "deleted account \"%s\" (%" PRIu64 " access and %" PRIu64
			      " refresh tokens revoked; its hosts stay assigned to it)\n",
			      name, n.access, n.refresh);
	db_close(db);
	return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}

static int cmd_user(int argc, char **argv)
{
	char password[PASSWORD_MAX_LEN + 2];
	char hash[PASSWORD_ENCODED_MAX];
	const char *db_path = NULL;
	const char *name;
	struct db *db = NULL;
	int ret = EXIT_FAILURE;
	int r;

	r = db_only_opts(argc, argv, "user", &db_path);
	if (r)
		return r;
	if (argc - optind == 2 && strcmp(argv[optind], "del") == 0)
		return user_del(db_path, argv[optind + 1]);
	if (argc - optind != 2 || strcmp(argv[optind], "add") != 0)
		return usage_error("%s", "user: expected \"user add|del NAME --db PATH\"");
	name = argv[optind + 1];
	if (!valid_name(name))
		return usage_error("user add: \"%s\" is not 1..128 of [A-Za-z0-9._@-]", name);

	r = read_password(password, sizeof(password));
	if (r == -E2BIG || (r == 0 && strlen(password) > PASSWORD_MAX_LEN)) {
		log_err("user add \"%s\": password longer than %d bytes", name, PASSWORD_MAX_LEN);
		goto out;
	}
	if (r < 0) {
		log_err_errno(r, "user add \"%s\": no password on stdin", name);
		goto out;
	}
	r = password_hash(password, hash, sizeof(hash));
	if (r < 0) {
		log_err_errno(r, "user add \"%s\": argon2id hashing failed", name);
		goto out;
	}
	db = open_db(db_path, true);
	if (!db)
		goto out;
	r = db_account_add(db, name, hash, wall_ms());
	if (r == -EEXIST) {
		log_err("user add \"%s\": account exists in \"%s\"", name, db_path);
		goto out;
	}
	if (r < 0) {
		log_err("user add \"%s\": database \"%s\": %s", name, db_path, db_errmsg(db));
		goto out;
	}
	(void)fprintf(stderr, "added account \"%s\"\n", name);
	ret = EXIT_SUCCESS;
out:
	OPENSSL_cleanse(password, sizeof(password));
	db_close(db);
	return ret;
}

static int cmd_token(int argc, char **argv)
{
	char hash[PASSWORD_ENCODED_MAX];
	const char *db_path = NULL;
	const char *account = NULL;
	struct revoke_counts n;
	struct db *db;
	int r;

	r = db_account_opts(argc, argv, "token", &db_path, &account);
	if (r)
		return r;
	if (argc - optind != 1 || strcmp(argv[optind], "revoke") != 0 || !account)
		return usage_error("%s",
				   "token: expected \"token revoke --account NAME --db PATH\"");
	db = open_db(db_path, false);
	if (!db)
		return EXIT_FAILURE;
	/* A misspelt name would otherwise revoke nothing and succeed. */
	r = db_account_hash(db, account, hash, sizeof(hash));
	if (r == 0)
		r = revoke_account(db, account, &n);
	if (r == -ENOENT)
		log_err("token revoke \"%s\": no such account in \"%s\"", account, db_path);
	else if (r < 0)
		log_err("token revoke \"%s\": database \"%s\": %s", account, db_path,
			db_errmsg(db));
	else
		(void)fprintf(stderr,
			      "revoked %" PRIu64 " access and %" PRIu64
			      " refresh tokens of \"%s\"\n",
			      n.access, n.refresh, account);
	db_close(db);
	return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}

static int print_host(const struct hosts_row *row, void *ctx)
{
	char line[INGEST_MAX_HOST_ID + GRANT_MAX_USERNAME + 64];

	hosts_format_row(row, line, sizeof(line));
	return fprintf(ctx, "%s\n", line) < 0 ? -EIO : 0;
}

static int cmd_host(int argc, char **argv)
{
	char owner[GRANT_MAX_USERNAME + 1];
	const char *db_path = NULL;
	const char *account = NULL;
	const char *what, *host = NULL;
	struct db *db;
	int r;

	r = db_account_opts(argc, argv, "host", &db_path, &account);
	if (r)
		return r;
	what = optind < argc ? argv[optind] : "";
	if ((strcmp(what, "add") == 0 && argc - optind == 2 && account) ||
	    (strcmp(what, "del") == 0 && argc - optind == 2 && !account))
		host = argv[optind + 1];
	else if (strcmp(what, "list") != 0 || argc - optind != 1 || account)
		return usage_error("%s",
				   "host: expected \"host add HOST --account NAME\", \"host del "
				   "HOST\" or \"host list\", with --db PATH");
	if (host && (host[0] == '\0' || strlen(host) > INGEST_MAX_HOST_ID))
		return usage_error("host: \"%s\" is not 1..255 bytes", host);
	db = open_db(db_path, false);
	if (!db)
		return EXIT_FAILURE;
	if (!host) {
		r = fprintf(stdout, "%s\n", HOSTS_LIST_HEADER) < 0 ? -EIO : 0;
		if (r == 0)
			r = hosts_foreach(db, print_host, stdout);
		if (r == 0 && fflush(stdout) != 0)
			r = -EIO;
		if (r < 0)
			log_err_errno(r, "host list: database \"%s\": %s", db_path, db_errmsg(db));
	} else if (account) {
		r = hosts_add(db, host, account, wall_ms(), owner, sizeof(owner));
		if (r == -EEXIST)
			log_err("host add \"%s\": it belongs to account \"%s\" (host del releases "
				"it)",
				host, owner);
		else if (r == -ENOENT)
			log_err("host add \"%s\": no account \"%s\" in \"%s\"", host, account,
				db_path);
		else if (r < 0)
			log_err("host add \"%s\": database \"%s\": %s", host, db_path,
				db_errmsg(db));
		else
			(void)fprintf(stderr, "host \"%s\" belongs to account \"%s\"\n", host,
				      account);
	} else {
		r = hosts_del(db, host);
		if (r == -ENOENT)
			log_err("host del \"%s\": no such host in \"%s\"", host, db_path);
		else if (r < 0)
			log_err("host del \"%s\": database \"%s\": %s", host, db_path,
				db_errmsg(db));
		else
			(void)fprintf(stderr,
				      "host \"%s\" released: the next account to send it owns it\n",
				      host);
	}
	db_close(db);
	return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}

static int cmd_query(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"db", required_argument, NULL, 'd'},
		{"host", required_argument, NULL, 'H'},
		{"type", required_argument, NULL, 't'},
		{"json", no_argument, NULL, 'j'},
		{NULL, 0, NULL, 0},
	};
	struct query_opts q = {.limit = 20};
	const char *db_path = NULL;
	struct db *db;
	int r;

	for (;;) {
		int c = getopt_long(argc, argv, "n:", longopts, NULL);

		if (c == -1)
			break;
		switch (c) {
		case 'd':
			db_path = optarg;
			break;
		case 'H':
			q.host_id = optarg;
			break;
		case 't':
			q.type = optarg;
			break;
		case 'j':
			q.json = true;
			break;
		case 'n':
			if (parse_u64(optarg, 1, 1000000, &q.limit) < 0)
				return usage_error("-n: \"%s\" is not 1..1000000", optarg);
			break;
		default:
			return usage_error("%s", "query: bad option");
		}
	}
	if (optind != argc)
		return usage_error("query: unexpected argument \"%s\"", argv[optind]);
	if (!db_path)
		return usage_error("%s", "query: --db PATH is required");
	db = open_db(db_path, false);
	if (!db)
		return EXIT_FAILURE;
	r = query_print(db, &q, stdout);
	if (r < 0)
		log_err_errno(r, "query: database \"%s\": %s", db_path, db_errmsg(db));
	db_close(db);
	return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}

static int cmd_stats(int argc, char **argv)
{
	const char *db_path = NULL;
	struct db *db;
	int r;

	r = db_only_opts(argc, argv, "stats", &db_path);
	if (r)
		return r;
	if (optind != argc)
		return usage_error("stats: unexpected argument \"%s\"", argv[optind]);
	db = open_db(db_path, false);
	if (!db)
		return EXIT_FAILURE;
	r = stats_print(db, wall_ms(), stdout);
	if (r < 0)
		log_err_errno(r, "stats: database \"%s\": %s", db_path, db_errmsg(db));
	db_close(db);
	return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*fn)(int argc, char **argv);
	} cmds[] = {
		{"serve", cmd_serve}, {"user", cmd_user},   {"query", cmd_query},
		{"stats", cmd_stats}, {"token", cmd_token}, {"host", cmd_host},
	};

	/* The database and its WAL hold password and token hashes: owner only. */
	umask(077);
	log_init("srvmon-server");
	if (argc < 2)
		return usage_error("%s", "missing command");
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		(void)fputs(usage_text, stdout);
		return EXIT_SUCCESS;
	}
	if (strcmp(argv[1], "--version") == 0) {
		printf("srvmon-server %s\n", SRVMON_VERSION);
		return EXIT_SUCCESS;
	}
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		if (strcmp(argv[1], cmds[i].name) == 0)
			/* Subcommand options start after the command name. */
			return cmds[i].fn(argc - 1, argv + 1);
	}
	return usage_error("unknown command \"%s\"", argv[1]);
}
