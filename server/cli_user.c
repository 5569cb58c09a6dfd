/* srvmon-server user add|del: an account (its password read from stdin, argon2id-hashed, and
 * its role), or its removal with its tokens. */
#include "cli.h"

#include "log.h"
#include "monoclock.h"
#include "db.h"
#include "db_api.h"
#include "password.h"
#include "revoke.h"
#include "role.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

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

/* user del NAME: the account and its tokens go; its hosts stay assigned to the name. */
static int user_del(const char *db_path, const char *name)
{
	struct revoke_counts n;
	struct db *db;
	int r;

	db = cli_open_db(db_path, false);
	if (!db)
		return EXIT_FAILURE;
	r = revoke_delete_account(db, name, &n);
	if (r == -ENOENT)
		log_err("user del \"%s\": no such account in \"%s\"", name, cli_db_label(db_path));
	else if (r < 0)
		log_err("user del \"%s\": database \"%s\": %s", name, cli_db_label(db_path),
			db_errmsg(db));
	else
		(void)fprintf(stderr,
			      "deleted account \"%s\" (%" PRIu64 " access and %" PRIu64
			      " refresh tokens revoked; its hosts stay assigned to it)\n",
			      name, n.access, n.refresh);
	db_close(db);
	return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}

int cmd_user(int argc, char **argv)
{
	char password[PASSWORD_MAX_LEN + 2];
	char hash[PASSWORD_ENCODED_MAX];
	static const struct option longopts[] = {
		{"db", required_argument, NULL, 'd'},
		{"role", required_argument, NULL, 'r'},
		{NULL, 0, NULL, 0},
	};
	enum role role = ROLE_AGENT;
	const char *db_path = NULL;
	const char *name;
	struct db *db = NULL;
	int ret = EXIT_FAILURE;
	int r;

	for (;;) {
		int c = getopt_long(argc, argv, "", longopts, NULL);

		if (c == -1)
			break;
		if (c == 'd')
			db_path = optarg;
		else if (c == 'r' && role_parse(optarg, &role) < 0)
			return cli_usage_error(
				"user add: --role \"%s\" is not agent, viewer or admin", optarg);
		else if (c != 'r')
			return cli_usage_error("%s", "user: bad option");
	}
	if (!db_path)
		return cli_usage_error("%s", "user: --db PATH is required");
	if (argc - optind == 2 && strcmp(argv[optind], "del") == 0 && role == ROLE_AGENT)
		return user_del(db_path, argv[optind + 1]);
	if (argc - optind != 2 || strcmp(argv[optind], "add") != 0)
		return cli_usage_error("%s",
				       "user: expected \"user add NAME [--role R] --db PATH\" or"
				       " \"user del NAME --db PATH\"");
	name = argv[optind + 1];
	if (!valid_name(name))
		return cli_usage_error("user add: \"%s\" is not 1..128 of [A-Za-z0-9._@-]", name);

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
	db = cli_open_db(db_path, true);
	if (!db)
		goto out;
	/* The account and its role in one transaction. */
	r = db_begin(db);
	if (r == 0)
		r = db_account_add(db, name, hash, wall_ms());
	if (r == 0)
		r = db_account_set_role(db, name, role);
	/* On failure db_close() rolls the transaction back. */
	if (r == 0)
		r = db_commit(db);
	if (r == -EEXIST) {
		log_err("user add \"%s\": account exists in \"%s\"", name, cli_db_label(db_path));
		goto out;
	}
	if (r < 0) {
		log_err("user add \"%s\": database \"%s\": %s", name, cli_db_label(db_path),
			db_errmsg(db));
		goto out;
	}
	(void)fprintf(stderr, "added account \"%s\" (role %s)\n", name, role_name(role));
	ret = EXIT_SUCCESS;
out:
	OPENSSL_cleanse(password, sizeof(password));
	db_close(db);
	return ret;
}
