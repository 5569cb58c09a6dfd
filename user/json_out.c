#include "json_out.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

/* Bytes that cJSON prints escaped: '"', '\\' and every control character. */
static bool needs_escape(unsigned char c)
{
	return c < 0x20 || c == '"' || c == '\\';
}

static int add_escape(struct sbuf *b, unsigned char c)
{
	static const char hex[] = "0123456789abcdef";
	char e[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 0xf]};

	switch (c) {
	case '"':
		return sbuf_add(b, "\\\"", 2);
	case '\\':
		return sbuf_add(b, "\\\\", 2);
	case '\b':
		return sbuf_add(b, "\\b", 2);
	case '\f':
		return sbuf_add(b, "\\f", 2);
	case '\n':
		return sbuf_add(b, "\\n", 2);
	case '\r':
		return sbuf_add(b, "\\r", 2);
	case '\t':
		return sbuf_add(b, "\\t", 2);
	default:
		return sbuf_add(b, e, sizeof(e));
	}
}

int json_add_str(struct sbuf *b, const char *s, size_t n)
{
	size_t run = 0;
	int r;

	r = sbuf_addc(b, '"');
	for (size_t i = 0; i < n && r == 0; i++) {
		if (!needs_escape((unsigned char)s[i]))
			continue;
		/* The run of plain bytes before it in one copy. */
		r = sbuf_add(b, s + run, i - run);
		if (r == 0)
			r = add_escape(b, (unsigned char)s[i]);
		run = i + 1;
	}
	if (r == 0)
		r = sbuf_add(b, s + run, n - run);
	if (r == 0)
		r = sbuf_addc(b, '"');
	return r;
}

int json_add_text(struct sbuf *b, const char *s, size_t n)
{
	struct sbuf fixed = {0};
	int r;

	if (utf8_valid(s, n))
		return json_add_str(b, s, n);
	r = utf8_repair(&fixed, s, n);
	if (r == 0)
		r = json_add_str(b, fixed.s ? fixed.s : "", fixed.len);
	sbuf_free(&fixed);
	return r;
}

int json_add_u64(struct sbuf *b, uint64_t v)
{
	char buf[20];
	size_t i = sizeof(buf);

	do {
		buf[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	return sbuf_add(b, buf + i, sizeof(buf) - i);
}

int json_add_i64(struct sbuf *b, int64_t v)
{
	int r;

	if (v >= 0)
		return json_add_u64(b, (uint64_t)v);
	r = sbuf_addc(b, '-');
	return r ? r : json_add_u64(b, (uint64_t)0 - (uint64_t)v);
}
