/* The spool's on-disk format: a record's header and checksum, segment file names. */
#include "spool_impl.h"

#include "crc32c.h"

#include <limits.h>
#include <stdio.h>
#include <zlib.h>

uint32_t spool_crc32(uint32_t crc, const void *buf, size_t len)
{
	const unsigned char *p = buf;

	/* zlib's crc32() is the same CRC-32 (IEEE, reflected), computed several bytes at a
	 * time; it takes uInt lengths. */
	while (len > 0) {
		uInt n = len > UINT_MAX ? UINT_MAX : (uInt)len;

		crc = (uint32_t)crc32(crc, p, n);
		p += n;
		len -= n;
	}
	return crc;
}

/* CRC-32 (IEEE) of seq then text: what every record had before CRC-32C. */
static uint32_t record_crc32(uint64_t seq, const char *text, size_t len)
{
	return spool_crc32(spool_crc32(0, &seq, sizeof(seq)), text, len);
}

static uint32_t record_crc32c(uint64_t seq, const char *text, size_t len)
{
	return crc32c(crc32c(0, &seq, sizeof(seq)), text, len);
}

/* The checksum a new record gets: CRC-32C when the CPU computes it, else CRC-32. */
uint32_t spool_record_crc(uint64_t seq, const char *text, size_t len)
{
	return crc32c_fast() ? record_crc32c(seq, text, len) : record_crc32(seq, text, len);
}

/* Either checksum is accepted: the spool may come from an agent that wrote the other. */
bool spool_record_crc_ok(const struct spool_hdr *h, const char *text)
{
	return spool_record_crc(h->seq, text, h->len) == h->crc ||
	       (crc32c_fast() ? record_crc32(h->seq, text, h->len)
			      : record_crc32c(h->seq, text, h->len)) == h->crc;
}

void spool_seg_name(uint64_t first_seq, char *buf, size_t len)
{
	(void)snprintf(buf, len, "%0*llu" SPOOL_NAME_SUFFIX, SPOOL_NAME_DIGITS,
		       (unsigned long long)first_seq);
}
