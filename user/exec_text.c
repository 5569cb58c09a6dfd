#include "exec_text.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int sbuf_reserve(struct sbuf *b, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 64;
		char *p;

		while (cap < b->len + n + 1)
			cap *= 2;
		p = realloc(b->s, cap);
		if (!p)
			return -ENOMEM;
		b->s = p;
		b->cap = cap;
	}
	return 0;
}

int sbuf_add(struct sbuf *b, const char *s, size_t n)
{
	int r = sbuf_reserve(b, n);

	if (r)
		return r;
	memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = '\0';
	return 0;
}

int sbuf_adds(struct sbuf *b, const char *s)
{
	return sbuf_add(b, s, strlen(s));
}

int sbuf_addc(struct sbuf *b, char c)
{
	int r = sbuf_reserve(b, 1);

	if (r)
		return r;
	b->s[b->len++] = c;
	b->s[b->len] = '\0';
	return 0;
}

void sbuf_free(struct sbuf *b)
{
	if (!b)
		return;
	free(b->s);
	b->s = NULL;
	b->len = 0;
	b->cap = 0;
}

/* Length of the well-formed UTF-8 sequence at s[0..n), or 0 if there is none. */
static size_t utf8_seq_len(const unsigned char *s, size_t n)
{
	uint32_t cp;
	size_t len;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		len = 2;
		cp = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		len = 3;
		cp = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		len = 4;
		cp = s[0] & 0x07;
	} else {
		return 0;
	}
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10ffff ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

bool utf8_valid(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;

	while (i < n) {
		size_t l;
		uint64_t w;

		/* Plain ASCII, the common case, eight bytes at a time. */
		if (n - i >= sizeof(w)) {
			memcpy(&w, p + i, sizeof(w));
			if (!(w & 0x8080808080808080ull)) {
				i += sizeof(w);
				continue;
			}
		}
		l = utf8_seq_len(p + i, n - i);

		if (!l)
			return false;
		i += l;
	}
	return true;
}

int utf8_repair(struct sbuf *b, const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;
	int r = 0;

	while (i < n && r == 0) {
		size_t l = utf8_seq_len(p + i, n - i);

		if (l) {
			r = sbuf_add(b, s + i, l);
			i += l;
		} else {
			r = sbuf_adds(b, "\xef\xbf\xbd");
			i++;
		}
	}
	return r;
}

int base64_add(struct sbuf *b, const void *s, size_t n)
{
	static const char tab[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const unsigned char *p = s;
	int r = 0;

	for (size_t i = 0; i < n && r == 0; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16;
		char out[4];

		if (i + 1 < n)
			v |= (uint32_t)p[i + 1] << 8;
		if (i + 2 < n)
			v |= p[i + 2];
		out[0] = tab[(v >> 18) & 63];
		out[1] = tab[(v >> 12) & 63];
		out[2] = '=';
		out[3] = '=';
		if (i + 1 < n)
			out[2] = tab[(v >> 6) & 63];
		if (i + 2 < n)
			out[3] = tab[v & 63];
		r = sbuf_add(b, out, 4);
	}
	return r;
}

static int b64_value(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

int base64_decode_add(struct sbuf *b, const char *s)
{
	size_t n = strlen(s);
	int r = 0;

	if (n % 4)
		return -EINVAL;
	for (size_t i = 0; i < n && r == 0; i += 4) {
		int v[4];
		size_t out = 3;
		char bytes[3];

		for (int j = 0; j < 4; j++) {
			v[j] = b64_value(s[i + j]);
			if (v[j] < 0 && !(s[i + j] == '=' && i + 4 == n && j >= 2))
				return -EINVAL;
		}
		if (v[2] < 0 && v[3] >= 0)
			return -EINVAL;
		if (v[3] < 0)
			out = v[2] < 0 ? 1 : 2;
		bytes[0] = (char)((v[0] << 2) | (v[1] >> 4));
		bytes[1] = (char)(((v[1] & 15) << 4) | ((v[2] < 0 ? 0 : v[2]) >> 2));
		bytes[2] = (char)(((v[2] < 0 ? 0 : v[2]) << 6) | (v[3] < 0 ? 0 : v[3]));
		r = sbuf_add(b, bytes, out);
	}
	return r;
}

static bool shell_safe(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       strchr("@%+=:,./_-", c);
}

int shell_quote_add(struct sbuf *b, const char *s, size_t n)
{
	bool plain = n > 0, ctl = false;
	int r = 0;

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (!shell_safe(c))
			plain = false;
		if (c < 0x20 || c == 0x7f)
			ctl = true;
	}
	if (plain)
		return sbuf_add(b, s, n);
	if (!ctl && utf8_valid(s, n)) {
		r = sbuf_addc(b, '\'');
		for (size_t i = 0; i < n && r == 0; i++) {
			if (s[i] == '\'')
				r = sbuf_adds(b, "'\\''");
			else
				r = sbuf_addc(b, s[i]);
		}
		return r ? r : sbuf_addc(b, '\'');
	}
	r = sbuf_adds(b, "$'");
	for (size_t i = 0; i < n && r == 0;) {
		unsigned char c = (unsigned char)s[i];
		size_t l = utf8_seq_len((const unsigned char *)s + i, n - i);
		char esc[8];

		if (c == '\n') {
			r = sbuf_adds(b, "\\n");
		} else if (c == '\t') {
			r = sbuf_adds(b, "\\t");
		} else if (c == '\\' || c == '\'') {
			esc[0] = '\\';
			esc[1] = (char)c;
			r = sbuf_add(b, esc, 2);
		} else if (c < 0x20 || c == 0x7f || !l) {
			static const char hex[] = "0123456789abcdef";

			esc[0] = '\\';
			esc[1] = 'x';
			esc[2] = hex[c >> 4];
			esc[3] = hex[c & 15];
			r = sbuf_add(b, esc, 4);
		} else {
			r = sbuf_add(b, s + i, l);
			i += l;
			continue;
		}
		i++;
	}
	return r ? r : sbuf_addc(b, '\'');
}
