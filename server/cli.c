/* What srvmon-server's subcommands share: usage errors, opening the database and
 * the --db/--account options. */
#include "cli.h"

#include "log.h"
#include "db.h"
#include "store.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

int cli_usage_error(const char *fmt, const char *arg)
{
	(void)fprintf(stderr, "srvmon-server: ");
	(void)fprintf(stderr, fmt, arg);
	(void)fprintf(stderr, "\nTry 'srvmon-server --help'.\n");
	return EXIT_USAGE;
}

const char *cli_db_label(const char *target)
{
	/* One command logs one database: a static buffer will do. */
	static char label[512];

	(void)store_target_safe(target, label, sizeof(label));
	return label;
}

struct db *cli_open_db(const char *path, bool create)
{
	const char *err = NULL;
	struct db *db = db_open(path, create, &err);

	if (!db)
		log_err("database \"%s\": %s", cli_db_label(path), err ? err : "cannot open");
	return db;
}

int cli_db_opts(int argc, char **argv, const char *cmd, const char **ret_db)
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
			return cli_usage_error("%s: bad option", cmd);
		*ret_db = optarg;
	}
	if (!*ret_db)
		return cli_usage_error("%s: --db PATH is required", cmd);
	return 0;
}

int cli_db_account_opts(int argc, char **argv, const char *cmd, const char **ret_db,
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
			return cli_usage_error("%s: bad option", cmd);
	}
	if (!*ret_db)
		return cli_usage_error("%s: --db PATH is required", cmd);
	return 0;
}
