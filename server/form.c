#include "form.h"

#include <errno.h>
#include <string.h>

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int form_decode(const char *in, size_t len, char *ret, size_t size)
{
	size_t o = 0;

	if (size == 0)
		return -ENOSPC;
	for (size_t i = 0; i < len; i++) {
		char c = in[i];

		if (c == '+') {
			c = ' ';
		} else if (c == '%') {
			int hi, lo;

			if (len - i < 3)
				return -EINVAL;
			hi = hexval(in[i + 1]);
			lo = hexval(in[i + 2]);
			if (hi < 0 || lo < 0)
				return -EINVAL;
			c = (char)(hi << 4 | lo);
			i += 2;
		}
		if (c == '\0')
			return -EINVAL;
		if (o + 1 >= size)
			return -ENOSPC;
		ret[o++] = c;
	}
	ret[o] = '\0';
	return (int)o;
}

int form_get(const char *body, size_t len, const char *name, char *ret, size_t size)
{
	size_t nlen = strlen(name);
	const char *end = body + len;
	const char *p = body;
	const char *val = NULL;
	size_t vlen = 0;

	while (p < end) {
		const char *amp = memchr(p, '&', (size_t)(end - p));
		const char *pair_end = amp ? amp : end;
		const char *eq = memchr(p, '=', (size_t)(pair_end - p));
		const char *key_end = eq ? eq : pair_end;

		/* Field names are compared undecoded: ours are plain ASCII. */
		if ((size_t)(key_end - p) == nlen && memcmp(p, name, nlen) == 0) {
			if (val)
				return -ENOTUNIQ;
			val = eq ? eq + 1 : pair_end;
			vlen = (size_t)(pair_end - val);
		}
		p = pair_end + 1;
	}
	if (!val)
		return -ENOENT;
	return form_decode(val, vlen, ret, size);
}
