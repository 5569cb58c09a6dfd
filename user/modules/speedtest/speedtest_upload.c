#include "speedtest_upload.h"

#include "numparse.h"

#include <errno.h>
#include <string.h>

uint64_t speedtest_upload_counted(const struct speedtest_upload *u)
{
	if (u->done && u->http_code >= 200 && u->http_code < 300) {
		if (u->reply_valid && u->reply_bytes < u->sent)
			return u->reply_bytes;
		return u->sent;
	}
	if (!u->outq_valid)
		return 0;
	return u->sent > u->outq ? u->sent - u->outq : 0;
}

int speedtest_parse_received(const char *reply, uint64_t *ret)
{
	static const char key[] = "\"received\":";
	const char *p = strstr(reply, key);
	int r;

	if (!p)
		return -ENOENT;
	p += strlen(key);
	while (*p == ' ')
		p++;
	r = parse_u64_prefix(&p, ret);
	if (r < 0)
		return r;
	while (*p == ' ' || *p == '\r' || *p == '\n')
		p++;
	return *p == '}' || *p == ',' ? 0 : -EINVAL;
}
