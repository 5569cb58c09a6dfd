/* srvmon-server token revoke: every access and refresh token of an account. */
#include "cli.h"

#include "log.h"
#include "db.h"
#include "db_api.h"
#include "password.h"
#include "revoke.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int cmd_token(int argc, char **argv)
{
	char hash[PASSWORD_ENCODED_MAX];
	const char *db_path = NULL;
	const char *account = NULL;
	struct revoke_counts n;
	struct db *db;
	int r;

	r = cli_db_account_opts(argc, argv, "token", &db_path, &account);
	if (r)
		return r;
	if (argc - optind != 1 || strcmp(argv[optind], "revoke") != 0 || !account)
		return cli_usage_error("%s",
				       "token: expected \"token revoke --account NAME --db PATH\"");
	db = cli_open_db(db_path, false);
	if (!db)
		return EXIT_FAILURE;
	/* A misspelt name would otherwise revoke nothing and succeed. */
	r = db_account_hash(db, account, hash, sizeof(hash));
	if (r == 0)
		r = revoke_account(db, account, &n);
	if (r == -ENOENT)
		log_err("token revoke \"%s\": no such account in \"%s\"", account,
			cli_db_label(db_path));
	else if (r < 0)
		log_err("token revoke \"%s\": database \"%s\": %s", account, cli_db_label(db_path),
			db_errmsg(db));
	else
		(void)fprintf(stderr,
			      "revoked %" PRIu64 " access and %" PRIu64
			      " refresh tokens of \"%s\"\n",
			      n.access, n.refresh, account);
	db_close(db);
	return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
