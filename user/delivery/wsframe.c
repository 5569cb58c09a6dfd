#include "wsframe.h"

#include <string.h>

#define WS_FIN		0x80u
#define WS_OP_TEXT	0x1u
#define WS_MASKED	0x80u
#define WS_LEN_16	126u
#define WS_LEN_64	127u
#define WS_LEN_7BIT_MAX 125u

static void mask(unsigned char *p, size_t len, const uint8_t key[4])
{
	uint64_t k, w;
	size_t i = 0;

	/* The key repeated over eight bytes; the payload starts at key byte 0. */
	memcpy(&k, key, 4);
	memcpy((unsigned char *)&k + 4, key, 4);
	for (; i + sizeof(w) <= len; i += sizeof(w)) {
		memcpy(&w, p + i, sizeof(w));
		w ^= k;
		memcpy(p + i, &w, sizeof(w));
	}
	for (; i < len; i++)
		p[i] ^= key[i & 3];
}

size_t wsframe_client_text(unsigned char *payload, size_t len, const uint8_t key[4])
{
	unsigned char h[WSFRAME_MAX_HEADER];
	size_t n = 0;

	h[n++] = WS_FIN | WS_OP_TEXT;
	if (len <= WS_LEN_7BIT_MAX) {
		h[n++] = (unsigned char)(WS_MASKED | len);
	} else if (len <= 0xffff) {
		h[n++] = WS_MASKED | WS_LEN_16;
		h[n++] = (unsigned char)(len >> 8);
		h[n++] = (unsigned char)len;
	} else {
		h[n++] = WS_MASKED | WS_LEN_64;
		for (int shift = 56; shift >= 0; shift -= 8)
			h[n++] = (unsigned char)((uint64_t)len >> shift);
	}
	memcpy(h + n, key, 4);
	n += 4;
	mask(payload, len, key);
	memcpy(payload - n, h, n);
	return n;
}
