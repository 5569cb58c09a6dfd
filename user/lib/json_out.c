#include "json_out.h"
#include "utf8.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

/* Bytes that cJSON prints escaped: '"', '\\' and every control character. */
static const bool escaped[256] = {
	[0x00] = 1, [0x01] = 1, [0x02] = 1, [0x03] = 1, [0x04] = 1, [0x05] = 1, [0x06] = 1,
	[0x07] = 1, [0x08] = 1, [0x09] = 1, [0x0a] = 1, [0x0b] = 1, [0x0c] = 1, [0x0d] = 1,
	[0x0e] = 1, [0x0f] = 1, [0x10] = 1, [0x11] = 1, [0x12] = 1, [0x13] = 1, [0x14] = 1,
	[0x15] = 1, [0x16] = 1, [0x17] = 1, [0x18] = 1, [0x19] = 1, [0x1a] = 1, [0x1b] = 1,
	[0x1c] = 1, [0x1d] = 1, [0x1e] = 1, [0x1f] = 1, ['"'] = 1,  ['\\'] = 1,
};

static bool needs_escape(unsigned char c)
{
	return escaped[c];
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
	size_t run = 0, i = 0;
	int r;

	/* Most strings have nothing to escape: quotes and bytes in one copy. */
	while (i < n && !needs_escape((unsigned char)s[i]))
		i++;
	if (i == n) {
		r = sbuf_reserve(b, n + 2);
		if (r)
			return r;
		b->s[b->len] = '"';
		memcpy(b->s + b->len + 1, s, n);
		b->s[b->len + 1 + n] = '"';
		b->len += n + 2;
		b->s[b->len] = '\0';
		return 0;
	}
	r = sbuf_addc(b, '"');
	for (; i < n && r == 0; i++) {
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
	return utf8_valid(s, n) ? json_add_str(b, s, n) : json_add_repaired(b, s, n);
}

int json_add_repaired(struct sbuf *b, const char *s, size_t n)
{
	struct sbuf fixed = {0};
	int r;

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
