#include "shell_quote.h"

#include "utf8.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

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
