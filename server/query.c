#include "query.h"

#include "db.h"
#include "json_line.h"
#include "record_line.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

struct collected {
	char **lines;
	size_t n;
	size_t cap;
	bool json;
};

static int collect_line(const struct db_record *rec, void *ctx)
{
	struct collected *c = ctx;
	char buf[1024];
	char *line;

	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 64;
		char **lines = realloc(c->lines, cap * sizeof(*lines));

		if (!lines)
			return -ENOMEM;
		c->lines = lines;
		c->cap = cap;
	}
	if (c->json) {
		/* One line, and nothing in it a terminal would act on. */
		line = json_line_escape(rec->body, rec->body_len);
	} else {
		cJSON *root = cJSON_ParseWithLength(rec->body, rec->body_len);

		record_line_format(root, rec->type, rec->host_id, rec->seq, rec->received_ms, buf,
				   sizeof(buf));
		cJSON_Delete(root);
		line = strdup(buf);
	}
	if (!line)
		return -ENOMEM;
	c->lines[c->n++] = line;
	return 0;
}

int query_print(struct db *db, const struct query_opts *opts, FILE *out)
{
	struct collected c = {.json = opts->json};
	int r;

	r = db_records_foreach(db, opts->host_id, opts->type, opts->limit, collect_line, &c);
	/* Fetched newest first; printed in time order like a log. */
	for (size_t i = c.n; i > 0; i--) {
		if (r == 0)
			(void)fprintf(out, "%s\n", c.lines[i - 1]);
		free(c.lines[i - 1]);
	}
	free(c.lines);
	if (r == 0 && fflush(out) != 0)
		r = -EIO;
	return r;
}

static int add_u64(cJSON *obj, const char *name, uint64_t v)
{
	char buf[24];

	/* Exact even above 2^53, where cJSON's doubles would round. */
	(void)snprintf(buf, sizeof(buf), "%" PRIu64, v);
	return cJSON_AddRawToObject(obj, name, buf) ? 0 : -ENOMEM;
}

int stats_print(struct db *db, uint64_t now_ms, FILE *out)
{
	struct db_stats st;
	cJSON *root = NULL;
	cJSON *types;
	char *text = NULL;
	int r;

	r = db_stats_read(db, now_ms, &st);
	if (r < 0)
		return r;
	r = -ENOMEM;
	root = cJSON_CreateObject();
	if (!root || add_u64(root, "records", st.records) < 0)
		goto out;
	types = cJSON_AddObjectToObject(root, "records_by_type");
	if (!types)
		goto out;
	for (size_t i = 0; i < st.n_types; i++) {
		if (add_u64(types, st.types[i].type, st.types[i].count) < 0)
			goto out;
	}
	if (add_u64(root, "accounts", st.accounts) < 0 ||
	    add_u64(root, "tokens_issued", st.tokens_issued) < 0 ||
	    add_u64(root, "tokens_active", st.tokens_active) < 0 ||
	    add_u64(root, "token_requests", st.token_requests) < 0 ||
	    add_u64(root, "failed_logins", st.failed_logins) < 0 ||
	    add_u64(root, "refresh_grants", st.refresh_grants) < 0)
		goto out;
	text = cJSON_PrintUnformatted(root);
	if (!text)
		goto out;
	(void)fprintf(out, "%s\n", text);
	r = fflush(out) == 0 ? 0 : -EIO;
out:
	free(text);
	cJSON_Delete(root);
	return r;
}
