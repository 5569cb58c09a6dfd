#include "speedtest_paths.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>

enum speedtest_names speedtest_names_first(enum speedtest_names known)
{
	return known == SPEEDTEST_NAMES_PHP ? SPEEDTEST_NAMES_PHP : SPEEDTEST_NAMES_PLAIN;
}

enum speedtest_names speedtest_names_other(enum speedtest_names tried)
{
	switch (tried) {
	case SPEEDTEST_NAMES_PLAIN:
		return SPEEDTEST_NAMES_PHP;
	case SPEEDTEST_NAMES_PHP:
		return SPEEDTEST_NAMES_PLAIN;
	default:
		return SPEEDTEST_NAMES_AUTO;
	}
}

const char *speedtest_names_str(enum speedtest_names n)
{
	switch (n) {
	case SPEEDTEST_NAMES_PLAIN:
		return "plain";
	case SPEEDTEST_NAMES_PHP:
		return "php";
	default:
		return "auto";
	}
}

int speedtest_url(char *buf, size_t size, const char *base, enum speedtest_names n,
		  enum speedtest_endpoint e, uint64_t ck_mib)
{
	const char *ext;
	int len;

	if (!buf || size == 0 || !base)
		return -EINVAL;
	if (n == SPEEDTEST_NAMES_PLAIN)
		ext = "";
	else if (n == SPEEDTEST_NAMES_PHP)
		ext = ".php";
	else
		return -EINVAL;
	if (e == SPEEDTEST_GARBAGE)
		len = snprintf(buf, size, "%s/garbage%s?ckSize=%" PRIu64, base, ext, ck_mib);
	else
		len = snprintf(buf, size, "%s/empty%s", base, ext);
	if (len < 0)
		return -EINVAL;
	return (size_t)len < size ? 0 : -ENAMETOOLONG;
}
