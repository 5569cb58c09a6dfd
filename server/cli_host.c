/* srvmon-server host add|del|list: which account owns a host_id (hosts.c). */
#include "cli.h"

#include "log.h"
#include "monoclock.h"
#include "db.h"
#include "grant.h"
#include "hosts.h"
#include "ingest.h"

#include <errno.h>
#include <getopt.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int print_host(const struct hosts_row *row, void *ctx)
{
	char line[INGEST_MAX_HOST_ID + GRANT_MAX_USERNAME + 64];

	hosts_format_row(row, line, sizeof(line));
	return fprintf(ctx, "%s\n", line) < 0 ? -EIO : 0;
}

int cmd_host(int argc, char **argv)
{
	char owner[GRANT_MAX_USERNAME + 1];
	const char *db_path = NULL;
	const char *account = NULL;
	const char *what, *host = NULL;
	struct db *db;
	int r;

	r = cli_db_account_opts(argc, argv, "host", &db_path, &account);
	if (r)
		return r;
	what = optind < argc ? argv[optind] : "";
	if ((strcmp(what, "add") == 0 && argc - optind == 2 && account) ||
	    (strcmp(what, "del") == 0 && argc - optind == 2 && !account))
		host = argv[optind + 1];
	else if (strcmp(what, "list") != 0 || argc - optind != 1 || account)
		return cli_usage_error(
			"%s", "host: expected \"host add HOST --account NAME\", \"host del "
			      "HOST\" or \"host list\", with --db PATH");
	if (host && (host[0] == '\0' || strlen(host) > INGEST_MAX_HOST_ID))
		return cli_usage_error("host: \"%s\" is not 1..255 bytes", host);
	db = cli_open_db(db_path, false);
	if (!db)
		return EXIT_FAILURE;
	if (!host) {
		r = fprintf(stdout, "%s\n", HOSTS_LIST_HEADER) < 0 ? -EIO : 0;
		if (r == 0)
			r = hosts_foreach(db, print_host, stdout);
		if (r == 0 && fflush(stdout) != 0)
			r = -EIO;
		if (r < 0)
			log_err_errno(r, "host list: database \"%s\": %s", cli_db_label(db_path),
				      db_errmsg(db));
	} else if (account) {
		r = hosts_add(db, host, account, wall_ms(), owner, sizeof(owner));
		if (r == -EEXIST)
			log_err("host add \"%s\": it belongs to account \"%s\" (host del releases "
				"it)",
				host, owner);
		else if (r == -ENOENT)
			log_err("host add \"%s\": no account \"%s\" in \"%s\"", host, account,
				cli_db_label(db_path));
		else if (r < 0)
			log_err("host add \"%s\": database \"%s\": %s", host, cli_db_label(db_path),
				db_errmsg(db));
		else
			(void)fprintf(stderr, "host \"%s\" belongs to account \"%s\"\n", host,
				      account);
	} else {
		r = hosts_del(db, host);
		if (r == -ENOENT)
			log_err("host del \"%s\": no such host in \"%s\"", host,
				cli_db_label(db_path));
		else if (r < 0)
			log_err("host del \"%s\": database \"%s\": %s", host, cli_db_label(db_path),
				db_errmsg(db));
		else
			(void)fprintf(stderr,
				      "host \"%s\" released: the next account to send it owns it\n",
				      host);
	}
	db_close(db);
	return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
