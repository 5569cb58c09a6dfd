/*
 * CRC-32C (Castagnoli), with the x86 SSE4.2 crc32 instruction when the CPU has it:
 * about ten times faster than the table-driven CRC-32 of zlib on a spool record.
 */
#ifndef SRVMON_CRC32C_H
#define SRVMON_CRC32C_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* True when crc32c() runs on the CPU's instruction (checked once). */
bool crc32c_fast(void);

/* CRC-32C of buf[0..len) continuing from crc (0 to start). Bit-wise when not fast. */
uint32_t crc32c(uint32_t crc, const void *buf, size_t len);

#endif
