#include "json_line.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

/* Appends the escape of code point c (< 0x100) inside a string; returns the new end. */
static char *escape(char *o, unsigned int c)
{
	static const char hex[] = "0123456789abcdef";

	switch (c) {
	case '\n':
		*o++ = '\\';
		*o++ = 'n';
		return o;
	case '\t':
		*o++ = '\\';
		*o++ = 't';
		return o;
	case '\r':
		*o++ = '\\';
		*o++ = 'r';
		return o;
	case '\b':
		*o++ = '\\';
		*o++ = 'b';
		return o;
	case '\f':
		*o++ = '\\';
		*o++ = 'f';
		return o;
	default:
		break;
	}
	*o++ = '\\';
	*o++ = 'u';
	*o++ = '0';
	*o++ = '0';
	*o++ = hex[(c >> 4) & 0xf];
	*o++ = hex[c & 0xf];
	return o;
}

static bool is_control(unsigned char c)
{
	return c < 0x20 || c == 0x7f;
}

char *json_line_escape(const char *in, size_t len)
{
	const unsigned char *s = (const unsigned char *)in;
	bool in_string = false;
	char *out, *o;

	/* At most 6 output bytes per input byte (\u00XX); the C1 pair 2 -> 6. */
	if (len > (SIZE_MAX - 1) / 6) {
		errno = ENOMEM;
		return NULL;
	}
	out = malloc(len * 6 + 1);
	if (!out)
		return NULL;
	o = out;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = s[i];

		if (!in_string) {
			if (c == '"')
				in_string = true;
			if (is_control(c))
				*o++ = ' ';
			else
				*o++ = (char)c;
			continue;
		}
		if (c == '"') {
			in_string = false;
			*o++ = (char)c;
		} else if (c == '\\' && i + 1 < len && !is_control(s[i + 1])) {
			/* An escape stays as it is (its second byte is never a quote that ends). */
			*o++ = (char)c;
			*o++ = (char)s[++i];
		} else if (is_control(c)) {
			o = escape(o, c);
		} else if (c == 0xc2 && i + 1 < len && s[i + 1] >= 0x80 && s[i + 1] <= 0x9f) {
			/* UTF-8 of U+0080..U+009F: C1 controls (0x9b is CSI on some terminals). */
			o = escape(o, s[++i]);
		} else {
			*o++ = (char)c;
		}
	}
	*o = '\0';
	return out;
}
