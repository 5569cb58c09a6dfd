/* /proc/meminfo: total and available RAM. */
#ifndef SRVMON_MEMINFO_H
#define SRVMON_MEMINFO_H

#include <stdbool.h>
#include <stdint.h>

struct meminfo {
	bool total_valid;
	uint64_t total; /* MemTotal, bytes */
	bool available_valid;
	uint64_t available; /* MemAvailable (Linux >= 3.14), bytes */
};

/* Parses MemTotal and MemAvailable ("<Key>: <n> kB") from /proc/meminfo text into bytes.
 * Sets the valid flag of each field found. Returns 0 when both were found, -ENOENT when a
 * field is missing (e.g. MemAvailable before 3.14), -EINVAL when its line is malformed
 * or -ERANGE when it overflows; the fields found are still filled in. */
int meminfo_parse(const char *buf, struct meminfo *ret);

#endif
