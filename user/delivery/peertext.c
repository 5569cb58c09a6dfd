#include "peertext.h"

#include <string.h>

/* The escape of c into esc (room for 4): its length. */
static size_t escape_one(unsigned char c, char *esc)
{
	static const char hex[] = "0123456789abcdef";

	if (c == '\\' || c == '"') {
		esc[0] = '\\';
		esc[1] = (char)c;
		return 2;
	}
	if (c == '\n' || c == '\r' || c == '\t') {
		static const char letter[] = {['\n'] = 'n', ['\r'] = 'r', ['\t'] = 't'};

		esc[0] = '\\';
		esc[1] = letter[c];
		return 2;
	}
	if (c < 0x20 || c >= 0x7f) {
		esc[0] = '\\';
		esc[1] = 'x';
		esc[2] = hex[c >> 4];
		esc[3] = hex[c & 15];
		return 4;
	}
	esc[0] = (char)c;
	return 1;
}

size_t peertext_escape(const char *in, size_t len, char *out, size_t out_len)
{
	size_t total = 0, room, o = 0;
	char esc[4];

	if (out_len < 4) {
		if (out_len > 0)
			out[0] = '\0';
		return 0;
	}
	for (size_t i = 0; i < len && total < out_len; i++)
		total += escape_one((unsigned char)in[i], esc);
	/* All of it, or as much as leaves room for "..." (escapes never cut in half). */
	room = total < out_len ? out_len - 1 : out_len - 4;
	for (size_t i = 0; i < len; i++) {
		size_t n = escape_one((unsigned char)in[i], esc);

		if (o + n > room)
			break;
		memcpy(out + o, esc, n);
		o += n;
	}
	if (total >= out_len) {
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o] = '\0';
	return o;
}

static void new_window(struct peertext_limit *l, uint64_t now_ms)
{
	l->started = true;
	l->window_start_ms = now_ms;
	l->logged = 0;
}

bool peertext_allow(struct peertext_limit *l, const struct peertext_policy *p, uint64_t now_ms,
		    uint64_t *ret_suppressed)
{
	if (!l->started || now_ms - l->window_start_ms >= p->window_ms)
		new_window(l, now_ms);
	if (l->logged >= p->burst) {
		l->suppressed++;
		return false;
	}
	l->logged++;
	*ret_suppressed = l->suppressed;
	l->suppressed = 0;
	return true;
}

bool peertext_flush(struct peertext_limit *l, const struct peertext_policy *p, uint64_t now_ms,
		    uint64_t *ret_suppressed)
{
	if (!l->started || l->suppressed == 0 || now_ms - l->window_start_ms < p->window_ms)
		return false;
	*ret_suppressed = l->suppressed;
	l->suppressed = 0;
	new_window(l, now_ms);
	l->logged = p->burst; /* the report is this window's line */
	return true;
}
