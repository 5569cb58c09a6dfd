/* srvmon-server's subcommands (cli_<command>.c, one file each) and what they share: usage
 * errors, opening the database, the --db/--account options. main.c dispatches to them. */
#ifndef SRVMON_SERVER_CLI_H
#define SRVMON_SERVER_CLI_H

#include <stdbool.h>

struct db;

#define EXIT_USAGE 2
/* Returned by a command for --help: main() prints the usage of all commands, exit status 0. */
#define CLI_SHOW_USAGE (-1)

/* Each command: argv[0] is its name. Returns the exit status (0, 1 failure, 2 usage) or
 * CLI_SHOW_USAGE. */
int cmd_serve(int argc, char **argv);
int cmd_user(int argc, char **argv);
int cmd_token(int argc, char **argv);
int cmd_host(int argc, char **argv);
int cmd_alert(int argc, char **argv);
int cmd_query(int argc, char **argv);
int cmd_stats(int argc, char **argv);
int cmd_migrate(int argc, char **argv);

/* Prints "srvmon-server: " fmt (with arg) and the --help hint to stderr; returns EXIT_USAGE. */
int cli_usage_error(const char *fmt, const char *arg);
/* The --db value as logs may show it (a URL's password replaced: store_target_safe()); a
 * static buffer, valid until the next call. */
const char *cli_db_label(const char *target);
/* Opens (create: creating it) the database at path; NULL when it cannot, logged. */
struct db *cli_open_db(const char *path, bool create);
/* --db PATH, required. 0, or the usage error's exit status. */
int cli_db_opts(int argc, char **argv, const char *cmd, const char **ret_db);
/* --db PATH (required) and --account NAME (optional; the caller checks). 0, or the usage
 * error's exit status. */
int cli_db_account_opts(int argc, char **argv, const char *cmd, const char **ret_db,
			const char **ret_account);

#endif
