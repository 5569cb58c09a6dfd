/* Client frames built in place: header by RFC 6455 section 5.2, payload masked. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "wsframe.h"

#include <stdlib.h>
#include <string.h>

/* Builds a frame of len bytes and reads it back as a server would. */
static void check_frame(size_t len, unsigned int offset)
{
	static const uint8_t key[4] = {0x37, 0xfa, 0x21, 0x3d};
	unsigned char *buf = malloc(WSFRAME_MAX_HEADER + 8 + len);
	unsigned char *payload = buf + WSFRAME_MAX_HEADER + offset;
	unsigned char *want = malloc(len + 1);
	const unsigned char *f;
	size_t hl, plen, pos;

	assert_non_null(buf);
	assert_non_null(want);
	for (size_t i = 0; i < len; i++)
		want[i] = (unsigned char)(i * 131 + 7);
	memcpy(payload, want, len);
	hl = wsframe_client_text(payload, len, key);
	f = payload - hl;
	assert_int_equal(f[0], 0x81);	     /* FIN, text */
	assert_int_equal(f[1] & 0x80, 0x80); /* masked */
	plen = f[1] & 0x7f;
	pos = 2;
	if (plen == 126) {
		plen = (size_t)f[2] << 8 | f[3];
		pos = 4;
		assert_true(plen >= 126);
	} else if (plen == 127) {
		plen = 0;
		for (int i = 0; i < 8; i++)
			plen = plen << 8 | f[2 + i];
		pos = 10;
		assert_true(plen > 0xffff);
	}
	assert_int_equal(plen, len);
	assert_memory_equal(f + pos, key, 4);
	assert_int_equal(hl, pos + 4);
	/* Unmasked a byte at a time, as RFC 6455 section 5.3 writes it. */
	for (size_t i = 0; i < len; i++)
		assert_int_equal(payload[i] ^ key[i % 4], want[i]);
	free(want);
	free(buf);
}

static void test_lengths(void **state)
{
	static const size_t lens[] = {0,   1,	3,    7,     8,	    9,	   125,	   126,
				      127, 200, 4095, 65535, 65536, 70001, 1 << 20};

	(void)state;
	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++)
		for (unsigned int off = 0; off < 8; off += 3)
			check_frame(lens[i], off);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lengths),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
