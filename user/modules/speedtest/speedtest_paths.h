/* Pure part of addressing a LibreSpeed server: its endpoint names and the URLs built from
 * them. srvmon-server and LibreSpeed's Go/Rust backends serve {base}/garbage and
 * {base}/empty; the stock PHP backend serves {base}/garbage.php and {base}/empty.php.
 * The test finds out which with its first request (docs/protocol.md, speedtest). */
#ifndef SRVMON_SPEEDTEST_PATHS_H
#define SRVMON_SPEEDTEST_PATHS_H

#include <stddef.h>
#include <stdint.h>

enum speedtest_names {
	SPEEDTEST_NAMES_AUTO,  /* not known yet: plain first, .php after a 404 */
	SPEEDTEST_NAMES_PLAIN, /* /garbage, /empty */
	SPEEDTEST_NAMES_PHP,   /* /garbage.php, /empty.php */
};

enum speedtest_endpoint {
	SPEEDTEST_EMPTY,   /* latency GETs and upload POSTs */
	SPEEDTEST_GARBAGE, /* download, ?ckSize=N MiB */
};

/* The names to try first: a remembered one, else plain. */
enum speedtest_names speedtest_names_first(enum speedtest_names known);

/* The names to try after the first answered 404; AUTO when there is nothing else to try. */
enum speedtest_names speedtest_names_other(enum speedtest_names tried);

/* "plain" or "php". */
const char *speedtest_names_str(enum speedtest_names n);

/* The URL of endpoint e under base (no trailing '/') with names n (PLAIN or PHP);
 * ck_mib is the garbage size. 0, -EINVAL, or -ENAMETOOLONG when it does not fit size. */
int speedtest_url(char *buf, size_t size, const char *base, enum speedtest_names n,
		  enum speedtest_endpoint e, uint64_t ck_mib);

#endif
