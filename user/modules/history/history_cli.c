#include "history_cli.h"

#include "config.h"
#include "base64.h"
#include "sbuf.h"
#include "shell_quote.h"
#include "exec_trail.h"
#include "monoclock.h"
#include "numparse.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define HISTORY_DEFAULT_N 50
#define CWD_COL_MAX	  40

int history_command_line(const struct cJSON *rec, struct sbuf *ret)
{
	const cJSON *argv = cJSON_GetObjectItemCaseSensitive(rec, "argv");
	const cJSON *b64 = cJSON_GetObjectItemCaseSensitive(rec, "argv_b64");
	const cJSON *a;
	int i = 0, r = 0;

	if (!cJSON_IsArray(argv))
		return -EINVAL;
	if (!cJSON_IsArray(b64) || cJSON_GetArraySize(b64) != cJSON_GetArraySize(argv))
		b64 = NULL;
	cJSON_ArrayForEach(a, argv)
	{
		struct sbuf raw = {0};
		const cJSON *exact = b64 ? cJSON_GetArrayItem(b64, i) : NULL;

		if (!cJSON_IsString(a))
			return -EINVAL;
		if (i++ > 0)
			r = sbuf_addc(ret, ' ');
		/* The exact bytes when the argument was not UTF-8. */
		if (r == 0 && cJSON_IsString(exact) &&
		    base64_decode_add(&raw, exact->valuestring) == 0 && raw.s)
			r = shell_quote_add(ret, raw.s, raw.len);
		else if (r == 0)
			r = shell_quote_add(ret, a->valuestring, strlen(a->valuestring));
		sbuf_free(&raw);
		if (r < 0)
			return r;
	}
	return 0;
}

static const char *str_member(const cJSON *rec, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(rec, name);

	return cJSON_IsString(v) ? v->valuestring : "";
}

static double num_member(const cJSON *rec, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(rec, name);

	return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

struct kept {
	cJSON *rec;
	char *line;
};

static void print_table(struct kept *k, size_t n, FILE *out)
{
	int wu = 4, wt = 3, wc = 3;

	for (size_t i = 0; i < n; i++) {
		int lu = (int)strlen(str_member(k[i].rec, "user"));
		int lt = (int)strlen(str_member(k[i].rec, "tty"));
		int lc = (int)strlen(str_member(k[i].rec, "cwd"));

		if (lu > wu)
			wu = lu;
		if (lt > wt)
			wt = lt;
		if (lc > wc)
			wc = lc > CWD_COL_MAX ? CWD_COL_MAX : lc;
	}
	(void)fprintf(out, "%-19s  %-*s  %-*s  %-*s  %s\n", "TIME", wu, "USER", wt, "TTY", wc,
		      "CWD", "COMMAND");
	for (size_t i = 0; i < n; i++) {
		const cJSON *rec = k[i].rec;
		time_t t = (time_t)(num_member(rec, "ts") / 1000);
		const char *user = str_member(rec, "user");
		const char *tty = str_member(rec, "tty");
		struct sbuf cmd = {0};
		char when[32] = "?";
		char uid[24];
		struct tm tm;
		int ret = (int)num_member(rec, "ret");

		if (localtime_r(&t, &tm))
			(void)strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
		if (!*user) {
			(void)snprintf(uid, sizeof(uid), "%.0f", num_member(rec, "uid"));
			user = uid;
		}
		if (history_command_line(rec, &cmd) < 0) {
			sbuf_free(&cmd);
			continue;
		}
		(void)fprintf(out, "%-19s  %-*s  %-*s  %-*s  %s", when, wu, user, wt,
			      *tty ? tty : "-", wc, str_member(rec, "cwd"), cmd.s ? cmd.s : "");
		if (ret < 0)
			(void)fprintf(out, "  # failed: %s", strerror(-ret));
		if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(rec, "argv_truncated")))
			(void)fprintf(out, "  # argv truncated");
		(void)fputc('\n', out);
		sbuf_free(&cmd);
	}
}

static bool keep_record(const cJSON *rec, const struct history_filter *f)
{
	const cJSON *type = cJSON_GetObjectItemCaseSensitive(rec, "type");

	if (!cJSON_IsString(type) || strcmp(type->valuestring, "exec") != 0)
		return false;
	if (f->user && strcmp(str_member(rec, "user"), f->user) != 0) {
		char uid[24];

		(void)snprintf(uid, sizeof(uid), "%.0f", num_member(rec, "uid"));
		if (strcmp(uid, f->user) != 0)
			return false;
	}
	if (f->since_ms && num_member(rec, "ts") < (double)f->since_ms)
		return false;
	return true;
}

int history_print(const char *path, unsigned rotations, const struct history_filter *f, bool json,
		  FILE *out)
{
	size_t max = f->max ? f->max : HISTORY_DEFAULT_N;
	struct kept *ring;
	size_t head = 0, n = 0;
	char *line = NULL;
	size_t cap = 0;
	int found = 0;
	int r = 0;

	ring = calloc(max, sizeof(*ring));
	if (!ring)
		return -ENOMEM;
	for (unsigned i = rotations + 1; i-- > 0;) {
		char name[PATH_MAX];
		ssize_t len;
		FILE *in;

		if (exec_trail_name(path, i, name, sizeof(name)) < 0)
			continue;
		in = fopen(name, "re");
		if (!in)
			continue;
		found++;
		while ((len = getline(&line, &cap, in)) > 0) {
			struct kept *slot;
			cJSON *rec = cJSON_ParseWithLength(line, (size_t)len);

			if (!rec || !keep_record(rec, f)) {
				cJSON_Delete(rec);
				continue;
			}
			/* A ring of the newest max records. */
			slot = &ring[(head + n) % max];
			if (n == max) {
				slot = &ring[head];
				cJSON_Delete(slot->rec);
				free(slot->line);
				head = (head + 1) % max;
				n--;
			}
			slot->rec = rec;
			slot->line = strndup(line, (size_t)len);
			n++;
		}
		(void)fclose(in);
	}
	free(line);
	if (!found) {
		r = -ENOENT;
		goto out;
	}
	/* Unroll the ring into order. */
	{
		struct kept *ordered = calloc(n ? n : 1, sizeof(*ordered));

		if (!ordered) {
			r = -ENOMEM;
			goto out;
		}
		for (size_t i = 0; i < n; i++)
			ordered[i] = ring[(head + i) % max];
		if (json) {
			for (size_t i = 0; i < n; i++)
				(void)fputs(ordered[i].line ? ordered[i].line : "\n", out);
		} else {
			print_table(ordered, n, out);
		}
		free(ordered);
	}
out:
	for (size_t i = 0; i < max; i++) {
		cJSON_Delete(ring[i].rec);
		free(ring[i].line);
	}
	free(ring);
	return r;
}

static void history_usage(FILE *out)
{
	(void)fprintf(
		out,
		"Usage: srvmon-agent history [--user USER] [--since DURATION] [-n N] [--json]\n"
		"                            [--config PATH] [--file TRAIL]\n"
		"Prints the most recent commands run on this server (default 50), from the\n"
		"local trail of exec records (history.trail_path).\n\n"
		"  -u, --user USER       only commands run by USER (name or uid)\n"
		"  -s, --since DURATION  only the last DURATION (30s, 15m, 2h, 7d)\n"
		"  -n N                  the N most recent commands\n"
		"      --json            the stored JSON records, one per line\n"
		"  -c, --config PATH     agent configuration (default " CONFIG_DEFAULT_PATH ")\n"
		"  -f, --file TRAIL      read this trail file instead\n");
}

/* "7d" is accepted on top of parse_duration_ms()'s units. */
static int parse_since(const char *s, uint64_t *ret_ms)
{
	size_t n = strlen(s);

	if (n > 1 && s[n - 1] == 'd') {
		char num[32];
		uint64_t d;

		if (n - 1 >= sizeof(num))
			return -EINVAL;
		memcpy(num, s, n - 1);
		num[n - 1] = '\0';
		if (parse_u64(num, 1, 36500, &d) < 0)
			return -EINVAL;
		*ret_ms = d * 24 * 3600 * 1000;
		return 0;
	}
	return parse_duration_ms(s, 1, UINT64_MAX / 2, ret_ms);
}

int history_cli_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"user", required_argument, NULL, 'u'},
		{"since", required_argument, NULL, 's'},
		{"json", no_argument, NULL, 'j'},
		{"config", required_argument, NULL, 'c'},
		{"file", required_argument, NULL, 'f'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	struct history_filter f = {.max = HISTORY_DEFAULT_N};
	const char *config_path = NULL, *file = NULL;
	struct config cfg;
	bool json = false;
	char errbuf[1024];
	uint64_t v;
	int opt, r, rc = 1;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "u:s:n:c:f:h", opts, NULL)) != -1) {
		switch (opt) {
		case 'u':
			f.user = optarg;
			break;
		case 's':
			if (parse_since(optarg, &v) < 0) {
				(void)fprintf(stderr,
					      "srvmon-agent history: invalid --since '%s'\n",
					      optarg);
				return 2;
			}
			f.since_ms = wall_ms() - v;
			break;
		case 'n':
			if (parse_u64(optarg, 1, 1000000, &v) < 0) {
				(void)fprintf(stderr, "srvmon-agent history: invalid -n '%s'\n",
					      optarg);
				return 2;
			}
			f.max = (size_t)v;
			break;
		case 'j':
			json = true;
			break;
		case 'c':
			config_path = optarg;
			break;
		case 'f':
			file = optarg;
			break;
		case 'h':
			history_usage(stdout);
			return 0;
		default:
			history_usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		(void)fprintf(stderr, "srvmon-agent history: unexpected argument '%s'\n",
			      argv[optind]);
		return 2;
	}
	if (config_init_defaults(&cfg) < 0) {
		(void)fprintf(stderr, "srvmon-agent history: out of memory\n");
		return 1;
	}
	/* The default configuration file is optional here: the defaults name the trail. */
	r = config_load_optional(&cfg, config_path, errbuf, sizeof(errbuf));
	if (r < 0) {
		(void)fprintf(stderr, "srvmon-agent history: %s\n",
			      r == -ENOMEM ? "out of memory" : errbuf);
		return EX_CONFIG_STATUS;
	}
	r = history_print(file ? file : cfg.history.trail_path,
			  file ? 0 : (unsigned)cfg.history.trail_rotations, &f, json, stdout);
	if (r == -ENOENT)
		(void)fprintf(stderr,
			      "srvmon-agent history: no trail at '%s' (history.trail_path)\n",
			      file ? file : cfg.history.trail_path);
	else if (r < 0)
		(void)fprintf(stderr, "srvmon-agent history: %s\n", strerror(-r));
	else
		rc = 0;
	config_free(&cfg);
	return rc;
}
