/* srvmon-server: the reference monitoring API (serve) and its admin commands. main() reads the
 * command name and dispatches by the table below; each command lives in cli_<name>.c. */
#include "cli.h"

#include "log.h"

#include "srvmon_version.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* The commands, in the order of the usage text: name, function, usage lines. A new command is
 * one row. */
static const struct command {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *usage;
} commands[] = {
	{"serve", cmd_serve,
	 "  srvmon-server serve --db PATH [--listen ADDR] [--port N] [--token-lifetime SECONDS]\n"
	 "                      [--refresh-lifetime SECONDS] [--token-rate BURST/PER_MINUTE]\n"
	 "                      [--ingest-limit RECORDS/MIB] [--ack-interval MS]\n"
	 "                      [--tls-cert PEM --tls-key PEM] [--print-records] [--verbose]\n"
	 "                      [--conn-limit TOTAL/PER_ADDR] [--request-timeout SECONDS]\n"
	 "                      [--speedtest token|open|off] [--speedtest-streams N]\n"
	 "                      [--password-workers THREADS/QUEUE] [--login-rate "
	 "BURST/PER_MINUTE]\n"
	 "                      [--quota RECORDS_PER_S/MIB_PER_DAY] [--retention AGE]\n"
	 "                      [--rollup-retention AGE] [--sendmail PATH]\n"},
	{"user", cmd_user,
	 "  srvmon-server user add NAME [--role agent|viewer|admin] --db PATH\n"
	 "                                             (password: one line on stdin)\n"
	 "  srvmon-server user del NAME --db PATH      (its tokens are revoked)\n"},
	{"token", cmd_token, "  srvmon-server token revoke --account NAME --db PATH\n"},
	{"host", cmd_host,
	 "  srvmon-server host add HOST --account NAME --db PATH\n"
	 "  srvmon-server host del HOST --db PATH\n"
	 "  srvmon-server host list --db PATH\n"},
	{"alert", cmd_alert,
	 "  srvmon-server alert add|set|list|del ... --db PATH  (srvmon-server alert --help)\n"},
	{"query", cmd_query,
	 "  srvmon-server query --db PATH [--host ID] [--type T] [-n N] [--json]\n"},
	{"stats", cmd_stats, "  srvmon-server stats --db PATH\n"},
	{"migrate", cmd_migrate,
	 "  srvmon-server migrate --from sqlite:PATH --to postgresql://... [--batch N]\n"},
};

static void print_usage(void)
{
	(void)fputs("Usage:\n", stdout);
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		(void)fputs(commands[i].usage, stdout);
	(void)fputs("  srvmon-server --help | --version\n"
		    "\n"
		    "serve listens on 127.0.0.1:8080 by default; --port 0 picks a free port.\n"
		    "Exit status: 0 success, 1 failure, 2 usage error.\n",
		    stdout);
}

int main(int argc, char **argv)
{
	/* The database and its WAL hold password and token hashes: owner only. */
	umask(077);
	log_init("srvmon-server");
	if (argc < 2)
		return cli_usage_error("%s", "missing command");
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		print_usage();
		return EXIT_SUCCESS;
	}
	if (strcmp(argv[1], "--version") == 0) {
		printf("srvmon-server %s\n", SRVMON_VERSION);
		return EXIT_SUCCESS;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		int r;

		if (strcmp(argv[1], commands[i].name) != 0)
			continue;
		/* Subcommand options start after the command name. */
		r = commands[i].fn(argc - 1, argv + 1);
		if (r == CLI_SHOW_USAGE) {
			print_usage();
			return EXIT_SUCCESS;
		}
		return r;
	}
	return cli_usage_error("unknown command \"%s\"", argv[1]);
}
