/* srvmon-server query: the stored records, newest first, as lines or JSON (query.c). */
#include "cli.h"

#include "log.h"
#include "numparse.h"
#include "db.h"
#include "query.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

int cmd_query(int argc, char **argv)
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
				return cli_usage_error("-n: \"%s\" is not 1..1000000", optarg);
			break;
		default:
			return cli_usage_error("%s", "query: bad option");
		}
	}
	if (optind != argc)
		return cli_usage_error("query: unexpected argument \"%s\"", argv[optind]);
	if (!db_path)
		return cli_usage_error("%s", "query: --db PATH is required");
	db = cli_open_db(db_path, false);
	if (!db)
		return EXIT_FAILURE;
	r = query_print(db, &q, stdout);
	if (r < 0)
		log_err_errno(r, "query: database \"%s\": %s", cli_db_label(db_path),
			      db_errmsg(db));
	db_close(db);
	return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
