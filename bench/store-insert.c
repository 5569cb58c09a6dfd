/* Batched record inserts through the storage interface (store.h), the way ingest stores
 * them: db_begin(), db_record_insert(..., NULL) per record, db_commit() per transaction.
 * Prints records/s. With --pg it starts a private PostgreSQL 15 (tests/unit/pg_fixture.c,
 * fsync on) and uses it; otherwise TARGET is a SQLite path (WAL, synchronous=FULL).
 *
 * Usage: store-insert (--pg | --db PATH) [--records N] [--per-tx N] [--hosts N] [--type T]
 * By default the records are of a type no derived table reads ("bench"): this measures the
 * records path of each engine (insert, dedup index, commit). --type resources, network,
 * status or exec stores records the read API's tables are derived from (SQLite's triggers,
 * PostgreSQL's pg_api_apply()): the difference is what those tables cost at ingest. */
#include "monoclock.h"
#include "numparse.h"
#include "pg_fixture.h"
#include "store.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int usage(void)
{
	(void)fprintf(stderr, "usage: store-insert (--pg | --db PATH) [--records N] [--per-tx N]"
			      " [--hosts N] [--type bench|resources|network|status|exec]\n");
	return 2;
}

/* An agent's record of each type, as the read API's tables see it (argv, figures). */
static const struct {
	const char *type;
	const char *body;
} typed[] = {
	{"resources",
	 "{\"type\":\"resources\",\"ts\":0,\"cpu_percent\":12.5,\"ram_total\":16777216000,"
	 "\"ram_available\":8388608000,\"disk_total\":512110190592,"
	 "\"disk_available\":256055095296,\"load\":[0.52,0.61,0.58]}"},
	{"network", "{\"type\":\"network\",\"ts\":0,\"interval_ms\":1000,\"upload_rate\":120000,"
		    "\"download_rate\":300000,\"rx_peak_rate\":900000,\"tx_peak_rate\":200000}"},
	{"status",
	 "{\"type\":\"status\",\"ts\":0,\"modules\":{\"history\":{\"state\":\"running\"}}}"},
	{"exec", "{\"type\":\"exec\",\"ts\":0,\"pid\":4242,\"uid\":1000,\"user\":\"alice\","
		 "\"argv\":[\"git\",\"status\",\"--short\"],\"cwd\":\"/home/alice/src\","
		 "\"tty\":\"pts/1\"}"},
};

static int insert_all(struct db *db, uint64_t records, uint64_t per_tx, uint64_t hosts,
		      const char *type)
{
	/* A status record's size (~300 bytes). */
	static const char bench_body[] =
		"{\"type\":\"bench\",\"ts\":0,\"cpu\":{\"user\":12.5,\"system\":"
		"3.25,\"iowait\":0.5},"
		"\"mem\":{\"total\":16777216000,\"available\":8388608000},"
		"\"load\":[0.52,0.61,0.58],"
		"\"disk\":{\"total\":512110190592,\"available\":256055095296},"
		"\"net\":{\"rx\":1234567,"
		"\"tx\":7654321},\"procs\":312,\"uptime\":86400,\"note\":"
		"\"padding to a typical size\"}";
	const char *body = bench_body;
	size_t body_len = sizeof(bench_body) - 1;
	int64_t now = (int64_t)wall_ms();
	char host[32];
	uint64_t i;
	int r = 0;

	for (i = 0; i < sizeof(typed) / sizeof(typed[0]); i++) {
		if (strcmp(typed[i].type, type) == 0) {
			body = typed[i].body;
			body_len = strlen(body);
		}
	}
	for (i = 0; i < records && r == 0; i++) {
		uint64_t h = i % hosts;
		struct db_record rec = {
			.host_id = host,
			.seq = i / hosts + 1,
			.type = type,
			.ts = now + (int64_t)(i / hosts) * 1000,
			.received_ms = (uint64_t)now,
			.account = "bench",
			.body = body,
			.body_len = body_len,
		};

		(void)snprintf(host, sizeof(host), "bench-host-%04" PRIu64, h);
		if (i % per_tx == 0)
			r = db_begin(db);
		if (r == 0)
			r = db_record_insert(db, &rec, NULL);
		if (r == 0 && (i % per_tx == per_tx - 1 || i == records - 1))
			r = db_commit(db);
	}
	if (r < 0)
		(void)fprintf(stderr, "store-insert: record %" PRIu64 ": %s\n", i, db_errmsg(db));
	return r;
}

int main(int argc, char **argv)
{
	uint64_t records = 200000, per_tx = 500, hosts = 500;
	struct pg_fixture pg = {.reaper = -1, .reaper_fd = -1};
	const char *target = NULL, *err = NULL, *type = "bench";
	bool use_pg = false;
	uint64_t start, ms;
	struct db *db;
	int i, r;

	for (i = 1; i < argc; i++) {
		uint64_t *num = NULL;

		if (strcmp(argv[i], "--pg") == 0)
			use_pg = true;
		else if (strcmp(argv[i], "--db") == 0 && i + 1 < argc)
			target = argv[++i];
		else if (strcmp(argv[i], "--records") == 0)
			num = &records;
		else if (strcmp(argv[i], "--per-tx") == 0)
			num = &per_tx;
		else if (strcmp(argv[i], "--hosts") == 0)
			num = &hosts;
		else if (strcmp(argv[i], "--type") == 0 && i + 1 < argc)
			type = argv[++i];
		else
			return usage();
		if (num && (i + 1 >= argc || parse_u64(argv[++i], 1, UINT64_MAX / 2, num) < 0))
			return usage();
	}
	if (use_pg == !!target)
		return usage();
	if (use_pg) {
		r = pg_fixture_start(&pg, true);
		if (r < 0) {
			(void)fprintf(stderr, "store-insert: starting PostgreSQL: %s\n",
				      strerror(-r));
			return 1;
		}
		target = pg.url;
	}
	db = db_open(target, true, &err);
	if (!db) {
		(void)fprintf(stderr, "store-insert: %s\n", err ? err : "cannot open");
		pg_fixture_destroy(&pg);
		return 1;
	}
	start = mono_ms();
	r = insert_all(db, records, per_tx, hosts, type);
	ms = mono_ms() - start;
	db_close(db);
	pg_fixture_destroy(&pg);
	if (r < 0)
		return 1;
	(void)printf("%s: %" PRIu64 " %s records in transactions of %" PRIu64 " (%" PRIu64
		     " hosts): %.3f s, %.0f records/s\n",
		     use_pg ? "postgresql" : "sqlite", records, type, per_tx, hosts,
		     (double)ms / 1000, ms ? (double)records * 1000 / (double)ms : 0.0);
	return 0;
}
