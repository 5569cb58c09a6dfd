/* srvmon-agent history: recent commands from the local exec trail, as a table or JSON. */
#ifndef SRVMON_HISTORY_CLI_H
#define SRVMON_HISTORY_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct sbuf;
struct cJSON;

struct history_filter {
	const char *user;  /* NULL: everyone */
	uint64_t since_ms; /* Unix ms; 0: no bound */
	size_t max;	   /* the most recent max records */
};

/* Runs the subcommand; argv[0] is "history". Returns the process exit status. */
int history_cli_main(int argc, char **argv);

/*
 * Prints the records of the trail files (oldest first: path.rotations .. path.1, path)
 * that pass f, as a table or (json) as the stored JSON lines. 0 or -errno.
 */
int history_print(const char *path, unsigned rotations, const struct history_filter *f, bool json,
		  FILE *out);

/* Appends one record's command line, each argument shell-quoted. 0 or -errno. */
int history_command_line(const struct cJSON *rec, struct sbuf *ret);

#endif
