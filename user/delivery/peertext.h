/*
 * Text a peer chose (a server's error and close reasons, a token endpoint's answers),
 * made safe to log: control characters escaped, and lines rate-limited per kind.
 */
#ifndef SRVMON_PEERTEXT_H
#define SRVMON_PEERTEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Copies len bytes of in into out (out_len bytes, at least 4) as printable ASCII: '\\',
 * '"', bytes below 0x20, 0x7f and above become \\, \", \n, \r, \t or \xHH, and a text cut
 * to fit ends in "...". A NUL in in is escaped like any other byte. Returns strlen(out). */
size_t peertext_escape(const char *in, size_t len, char *out, size_t out_len);

/* At most burst lines per window_ms for one kind of message. */
struct peertext_policy {
	uint64_t window_ms;
	unsigned burst;
};

struct peertext_limit {
	uint64_t window_start_ms;
	unsigned logged;     /* lines logged in this window */
	uint64_t suppressed; /* lines not logged since the last report */
	bool started;
};

/* A message of this kind came at now_ms: true when it may be logged. Then
 * *ret_suppressed is the number not logged before it (since the last report), which
 * the line should mention; they count as reported. */
bool peertext_allow(struct peertext_limit *l, const struct peertext_policy *p, uint64_t now_ms,
		    uint64_t *ret_suppressed);

/* For a periodic check: true when messages were suppressed in a window that has ended
 * by now_ms; *ret_suppressed tells how many, and they count as reported. The report
 * is the line of a new window: at most burst lines per window, reports included. */
bool peertext_flush(struct peertext_limit *l, const struct peertext_policy *p, uint64_t now_ms,
		    uint64_t *ret_suppressed);

#endif
