#include "crc32c.h"

#include <string.h>

#define CRC32C_POLY 0x82f63b78u /* reflected */

static uint32_t crc32c_soft(uint32_t crc, const unsigned char *p, size_t len)
{
	crc = ~crc;
	while (len--) {
		crc ^= *p++;
		for (int k = 0; k < 8; k++)
			crc = (crc >> 1) ^ (CRC32C_POLY & (0u - (crc & 1u)));
	}
	return ~crc;
}

#if defined(__x86_64__)
__attribute__((target("sse4.2"))) static uint32_t crc32c_hw(uint32_t crc, const unsigned char *p,
							    size_t len)
{
	uint64_t c = ~crc;
	uint64_t w;

	for (; len >= sizeof(w); len -= sizeof(w), p += sizeof(w)) {
		memcpy(&w, p, sizeof(w));
		c = __builtin_ia32_crc32di(c, w);
	}
	while (len--)
		c = __builtin_ia32_crc32qi((uint32_t)c, *p++);
	return ~(uint32_t)c;
}

bool crc32c_fast(void)
{
	static int fast = -1;

	if (fast < 0)
		fast = __builtin_cpu_supports("sse4.2") ? 1 : 0;
	return fast == 1;
}

uint32_t crc32c(uint32_t crc, const void *buf, size_t len)
{
	return crc32c_fast() ? crc32c_hw(crc, buf, len) : crc32c_soft(crc, buf, len);
}
#else
bool crc32c_fast(void)
{
	return false;
}

uint32_t crc32c(uint32_t crc, const void *buf, size_t len)
{
	return crc32c_soft(crc, buf, len);
}
#endif
