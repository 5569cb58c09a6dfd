/* libFuzzer target: the agent's parser of server -> agent frames (server_message_parse). */
#include "server_message.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct server_message m;
	/* An exact-size copy, not NUL-terminated: the parser must respect len. */
	char *buf = malloc(size ? size : 1);

	if (!buf)
		return 0;
	memcpy(buf, data, size);
	if (server_message_parse(buf, size, &m) == 0 &&
	    memchr(m.detail, '\0', sizeof(m.detail)) == NULL)
		abort();
	free(buf);
	return 0;
}
