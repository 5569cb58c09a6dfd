/* A private PostgreSQL 15 for a test: initdb in a fresh temporary directory, the server
 * listening on a Unix socket in it only (listen_addresses ''), stopped and removed at the
 * end, also when the test dies (a reaper process watches it). As root the server runs as
 * user postgres (runuser); otherwise as the current user. */
#ifndef SRVMON_TESTS_PG_FIXTURE_H
#define SRVMON_TESTS_PG_FIXTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define PG_FIXTURE_BIN "/usr/lib/postgresql/15/bin"

struct pg_fixture {
	char dir[64];  /* the temporary directory: data/, the socket, server.log */
	char data[96]; /* the data directory */
	char url[192]; /* postgresql:///srvmon?host=DIR&port=PORT&user=... */
	int port;      /* names the socket file only (no TCP) */
	pid_t reaper;  /* stops and removes the server should this process die */
	int reaper_fd; /* its pipe: closed when this process ends */
	bool running;
	bool durable; /* fsync on (benchmarks); tests run with fsync off */
};

/* Whether the PostgreSQL 15 server binaries are installed; *ret_why says what is missing. */
bool pg_fixture_available(const char **ret_why);
/* initdb, start, CREATE DATABASE srvmon; durable: fsync on, as a production server runs
 * (tests pass false: their data need not survive a power failure). 0 or a negative errno
 * (logged to stderr). */
int pg_fixture_start(struct pg_fixture *f, bool durable);
/* Another database on the server (createdb): a test case's own. 0 or -EIO. */
int pg_fixture_createdb(struct pg_fixture *f, const char *name);
/* The URL of database name on the server. */
void pg_fixture_url(const struct pg_fixture *f, const char *name, char *buf, size_t size);
/* pg_ctl stop -m fast (the data stays: pg_fixture_restart starts it again). 0 or -errno. */
int pg_fixture_stop(struct pg_fixture *f);
int pg_fixture_restart(struct pg_fixture *f);
/* Stops the server, removes the directory, ends the reaper. Accepts a fixture never started. */
void pg_fixture_destroy(struct pg_fixture *f);

#endif
