/* srvmon-server alert add|set|list|del: alert rules from the command line (docs/server.md). */
#include "cli.h"

#include "alert_rule.h"
#include "db.h"
#include "db_alerts.h"
#include "sbuf.h"
#include "log.h"
#include "monoclock.h"
#include "numparse.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char alert_usage[] =
	"Usage:\n"
	"  srvmon-server alert add --db PATH RULE [--name NAME] [--for DURATION] [--host HOST_ID]\n"
	"                          [--webhook URL] [--email ADDRESS]\n"
	"     RULE: --metric METRIC --op '>'|'>='|'<'|'<=' --threshold N[k|M|G|Ki|Mi|Gi][B]\n"
	"         | --offline          (no record from the host for --for, at least 1s)\n"
	"         | --exec REGEX       (an exec whose argv joined with spaces matches; resolved\n"
	"                               after --for, default 5m, without another match)\n"
	"  srvmon-server alert set ID --db PATH [the options of add: they replace the rule's]\n"
	"  srvmon-server alert list --db PATH\n"
	"  srvmon-server alert del ID --db PATH\n"
	"METRIC: cpu_percent ram_available ram_total disk_available disk_total upload_rate\n"
	"        download_rate rx_peak_rate tx_peak_rate. DURATION: 500ms, 90s, 5m, 1h.\n";

static int usage(const char *fmt, const char *arg)
{
	(void)fprintf(stderr, "srvmon-server: alert: ");
	(void)fprintf(stderr, fmt, arg);
	(void)fprintf(stderr, "\nTry 'srvmon-server alert --help'.\n");
	return EXIT_USAGE;
}

static int copy_opt(char *dst, size_t size, const char *v, const char *opt)
{
	if (strlen(v) >= size)
		return usage("%s: too long", opt);
	memcpy(dst, v, strlen(v) + 1);
	return 0;
}

/* Applies the rule options to *rule (add: a zeroed rule; set: the stored one). */
static int parse_rule_opts(int argc, char **argv, struct alert_rule *rule, const char **ret_db)
{
	static const struct option longopts[] = {
		{"db", required_argument, NULL, 'd'},
		{"name", required_argument, NULL, 'n'},
		{"metric", required_argument, NULL, 'm'},
		{"op", required_argument, NULL, 'o'},
		{"threshold", required_argument, NULL, 't'},
		{"offline", no_argument, NULL, 'O'},
		{"exec", required_argument, NULL, 'e'},
		{"for", required_argument, NULL, 'f'},
		{"host", required_argument, NULL, 'H'},
		{"webhook", required_argument, NULL, 'w'},
		{"email", required_argument, NULL, 'E'},
		{NULL, 0, NULL, 0},
	};
	int r = 0;

	for (;;) {
		int c = getopt_long(argc, argv, "", longopts, NULL);

		if (c == -1)
			break;
		switch (c) {
		case 'd':
			*ret_db = optarg;
			break;
		case 'n':
			r = copy_opt(rule->name, sizeof(rule->name), optarg, "--name");
			break;
		case 'm':
			rule->kind = ALERT_METRIC;
			r = copy_opt(rule->metric, sizeof(rule->metric), optarg, "--metric");
			break;
		case 'o':
			if (alert_op_parse(optarg, &rule->op) < 0)
				r = usage("--op \"%s\" is not >, >=, < or <=", optarg);
			break;
		case 't':
			if (alert_threshold_parse(optarg, &rule->threshold) < 0)
				r = usage(
					"--threshold \"%s\" is not a number with an optional unit",
					optarg);
			break;
		case 'O':
			rule->kind = ALERT_OFFLINE;
			break;
		case 'e':
			rule->kind = ALERT_EXEC;
			r = copy_opt(rule->regex, sizeof(rule->regex), optarg, "--exec");
			break;
		case 'f':
			if (parse_duration_ms(optarg, 0, ALERT_FOR_MAX_MS, &rule->for_ms) < 0)
				r = usage("--for \"%s\" is not a duration of at most 7 days",
					  optarg);
			rule->have_for = true;
			break;
		case 'H':
			r = copy_opt(rule->host_id, sizeof(rule->host_id), optarg, "--host");
			break;
		case 'w':
			r = copy_opt(rule->webhook, sizeof(rule->webhook), optarg, "--webhook");
			break;
		case 'E':
			r = copy_opt(rule->email, sizeof(rule->email), optarg, "--email");
			break;
		default:
			r = usage("%s", "bad option");
			break;
		}
		if (r)
			return r;
	}
	if (!*ret_db)
		return usage("%s", "--db PATH is required");
	return 0;
}

static int print_rule(const struct alert_rule *rule, int64_t exec_cursor, void *ctx)
{
	struct sbuf b = {0};
	int r;

	(void)exec_cursor;
	(void)ctx;
	r = alert_rule_to_json(rule, &b);
	if (r == 0)
		(void)printf("%s\n", b.s);
	sbuf_free(&b);
	return r;
}

static int parse_id(const char *s, int64_t *ret)
{
	uint64_t v;

	if (parse_u64(s, 1, INT64_MAX, &v) < 0)
		return -EINVAL;
	*ret = (int64_t)v;
	return 0;
}

int cmd_alert(int argc, char **argv)
{
	struct alert_rule rule;
	const char *db_path = NULL;
	const char *verb = argc > 1 ? argv[1] : "";
	const char *err = NULL;
	struct db *db = NULL;
	int ret = EXIT_FAILURE;
	int64_t id = 0;
	int r;

	if (strcmp(verb, "--help") == 0 || strcmp(verb, "-h") == 0) {
		(void)fputs(alert_usage, stdout);
		return EXIT_SUCCESS;
	}
	memset(&rule, 0, sizeof(rule));
	rule.kind = (enum alert_kind) - 1;
	if (strcmp(verb, "add") != 0 && strcmp(verb, "set") != 0 && strcmp(verb, "list") != 0 &&
	    strcmp(verb, "del") != 0)
		return usage("\"%s\": expected add, set, list or del", verb);
	argc--;
	argv++;
	/* set ID and del ID: the ID comes first. */
	if (strcmp(verb, "set") == 0 || strcmp(verb, "del") == 0) {
		if (argc < 2 || parse_id(argv[1], &id) < 0)
			return usage("%s: expected a rule id", verb);
		argc--;
		argv++;
	}
	optind = 1;
	if (strcmp(verb, "set") == 0) {
		/* The stored rule first: the options replace its fields. */
		struct alert_rule probe;

		memset(&probe, 0, sizeof(probe));
		r = parse_rule_opts(argc, argv, &probe, &db_path);
		if (r)
			return r;
		db = cli_open_db(db_path, false);
		if (!db)
			return EXIT_FAILURE;
		r = db_alert_get(db, id, &rule);
		if (r < 0) {
			log_err("alert set %" PRId64 ": %s", id,
				r == -ENOENT ? "no such rule" : db_errmsg(db));
			goto out;
		}
		rule.name[0] = '\0'; /* renamed after what it becomes, unless --name */
		optind = 1;
		r = parse_rule_opts(argc, argv, &rule, &db_path);
		if (r) {
			ret = r;
			goto out;
		}
	} else {
		r = parse_rule_opts(argc, argv, &rule, &db_path);
		if (r)
			return r;
		if (optind != argc)
			return usage("unexpected argument \"%s\"", argv[optind]);
		db = cli_open_db(db_path, false);
		if (!db)
			return EXIT_FAILURE;
	}
	if (strcmp(verb, "list") == 0) {
		r = db_alert_foreach(db, print_rule, NULL);
		if (r < 0)
			log_err("alert list: database \"%s\": %s", cli_db_label(db_path),
				db_errmsg(db));
		ret = r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
		goto out;
	}
	if (strcmp(verb, "del") == 0) {
		r = db_alert_del(db, id);
		if (r < 0)
			log_err("alert del %" PRId64 ": %s", id,
				r == -ENOENT ? "no such rule" : db_errmsg(db));
		else
			(void)fprintf(stderr, "deleted alert rule %" PRId64 "\n", id);
		ret = r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
		goto out;
	}
	if ((int)rule.kind < 0) {
		ret = usage("%s", "add: one of --metric, --offline or --exec is required");
		goto out;
	}
	if (alert_rule_check(&rule, &err) < 0) {
		ret = usage("%s", err);
		goto out;
	}
	if (strcmp(verb, "add") == 0) {
		r = db_alert_add(db, &rule, wall_ms(), &id);
	} else {
		rule.id = id;
		r = db_alert_update(db, &rule);
	}
	if (r < 0) {
		log_err("alert %s: database \"%s\": %s", verb, cli_db_label(db_path),
			db_errmsg(db));
		goto out;
	}
	if (db_alert_get(db, id, &rule) == 0)
		(void)print_rule(&rule, 0, NULL);
	ret = EXIT_SUCCESS;
out:
	db_close(db);
	return ret;
}
