/* srvmon-server stats: what the database holds, per host and type (query.c). */
#include "cli.h"

#include "log.h"
#include "monoclock.h"
#include "db.h"
#include "query.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

int cmd_stats(int argc, char **argv)
{
	const char *db_path = NULL;
	struct db *db;
	int r;

	r = cli_db_opts(argc, argv, "stats", &db_path);
	if (r)
		return r;
	if (optind != argc)
		return cli_usage_error("stats: unexpected argument \"%s\"", argv[optind]);
	db = cli_open_db(db_path, false);
	if (!db)
		return EXIT_FAILURE;
	r = stats_print(db, wall_ms(), stdout);
	if (r < 0)
		log_err_errno(r, "stats: database \"%s\": %s", cli_db_label(db_path),
			      db_errmsg(db));
	db_close(db);
	return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
