/* libFuzzer target: srvmon-server's validation of agent messages (ingest_parse) and of batch
 * frames (ingest_batch_split, then each element, checked on the batch's tree exactly as its
 * own parse would judge it); a message it would store, printed by query --json
 * (json_line_escape), holds no control character and parses to the same values. */
#include "ingest.h"
#include "json_line.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct ingest_span spans[INGEST_BATCH_MAX];
	struct ingest_msg m, c;
	const char *err = NULL, *cerr = NULL;
	cJSON *tree = NULL;
	size_t n;
	char *buf;

	if (size > INGEST_MAX_MESSAGE)
		return 0;
	/* An exact-size copy, not NUL-terminated: the parser must respect len. */
	buf = malloc(size ? size : 1);
	if (!buf)
		return 0;
	memcpy(buf, data, size);
	if (ingest_parse(buf, size, &m, &err) == 0) {
		char *line = json_line_escape(buf, size);
		char *before, *after;
		cJSON *again;

		if (!m.host_id || !m.host_id[0] || !m.type)
			abort();
		if (line) {
			for (const char *p = line; *p; p++) {
				if ((unsigned char)*p < 0x20 || *p == 0x7f)
					abort();
			}
			/* The same values in the same order (printed: cJSON_Compare looks members
			 * up by name, which a repeated key defeats). */
			again = cJSON_Parse(line);
			if (!again)
				abort();
			before = cJSON_PrintUnformatted(m.obj);
			after = cJSON_PrintUnformatted(again);
			if (before && after && strcmp(before, after) != 0)
				abort();
			free(before);
			free(after);
			cJSON_Delete(again);
			free(line);
		}
		ingest_msg_clear(&m);
	} else if (!err) {
		/* Every rejection but out-of-memory names its reason. */
		abort();
	}
	/* The same bytes as a batch frame: every element span lies inside the buffer. */
	(void)ingest_is_batch(buf, size);
	err = NULL;
	if (ingest_batch_split(buf, size, spans, INGEST_BATCH_MAX, &n, &tree, &err) == 0) {
		for (size_t i = 0; i < n; i++) {
			int want, got;

			if (spans[i].buf < buf || spans[i].buf + spans[i].len > buf + size)
				abort();
			want = ingest_parse(spans[i].buf, spans[i].len, &m, &err);
			got = ingest_check(spans[i].node, spans[i].buf, spans[i].len, &c, &cerr);
			if (want != got || (want == 0 && (m.seq != c.seq || m.ts != c.ts ||
							  strcmp(m.type, c.type) != 0 ||
							  strcmp(m.host_id, c.host_id) != 0)))
				abort();
			if (want == 0)
				ingest_msg_clear(&m);
		}
		cJSON_Delete(tree);
	} else if (!err) {
		abort();
	}
	free(buf);
	return 0;
}
