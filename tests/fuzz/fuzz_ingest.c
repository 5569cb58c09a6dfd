/* libFuzzer target: srvmon-server's validation of agent messages (ingest_parse). */
#include "ingest.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ingest_msg m;
	const char *err = NULL;
	char *buf;

	if (size > INGEST_MAX_MESSAGE)
		return 0;
	/* An exact-size copy, not NUL-terminated: the parser must respect len. */
	buf = malloc(size ? size : 1);
	if (!buf)
		return 0;
	memcpy(buf, data, size);
	if (ingest_parse(buf, size, &m, &err) == 0) {
		if (!m.host_id || !m.host_id[0] || !m.type)
			abort();
		ingest_msg_clear(&m);
	} else if (!err) {
		/* Every rejection but out-of-memory names its reason. */
		abort();
	}
	free(buf);
	return 0;
}
