#include "base64.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

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
