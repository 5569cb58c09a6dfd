/* What the spool counts as delivered: acks, records written to a connection and when
 * (settled after the grace on a server that never acks), rewinds on a lost connection, and
 * the records evicted while in flight. */
#include "spool_impl.h"

#include "log.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Remembers seq as written and evicted before its ack; false when out of memory. */
bool spool_gone_add(struct spool *s, uint64_t seq)
{
	struct spool_range *g;
	size_t cap;

	if (s->ngone > 0 && s->gone[s->ngone - 1].hi + 1 == seq) {
		s->gone[s->ngone - 1].hi = seq;
		return true;
	}
	if (s->ngone == s->gone_cap) {
		cap = s->gone_cap ? s->gone_cap * 2 : 16;
		g = realloc(s->gone, cap * sizeof(*g));
		if (!g)
			return false;
		s->gone = g;
		s->gone_cap = cap;
	}
	s->gone[s->ngone++] = (struct spool_range){.lo = seq, .hi = seq};
	return true;
}

/* Records written and evicted before their ack that no ack has covered yet. */
static uint64_t gone_count(const struct spool *s)
{
	uint64_t n = 0;

	for (size_t i = 0; i < s->ngone; i++)
		n += s->gone[i].hi - s->gone[i].lo + 1;
	return n;
}

/* An ack of seq covers every record written before it on this connection. */
static void gone_ack(struct spool *s, uint64_t seq)
{
	size_t i = 0;

	while (i < s->ngone && s->gone[i].hi <= seq)
		i++;
	if (i < s->ngone && s->gone[i].lo <= seq)
		s->gone[i].lo = seq + 1;
	if (i == 0)
		return;
	memmove(s->gone, s->gone + i, (s->ngone - i) * sizeof(*s->gone));
	s->ngone -= i;
}

/* Records up to seq were written at ms. A write in the same ms as the last one extends
 * its mark; so does one that finds no memory for a new mark, which only makes the older
 * records wait for the newer one's grace (resent rather than lost). */
static void mark_add(struct spool *s, uint64_t seq, uint64_t ms)
{
	struct spool_mark *m;
	size_t cap;

	if (s->nmarks > 0 && s->marks[s->nmarks - 1].seq >= seq)
		return;
	if (s->nmarks > 0 && s->marks[s->nmarks - 1].ms >= ms) {
		s->marks[s->nmarks - 1].seq = seq;
		return;
	}
	if (s->nmarks == s->marks_cap) {
		cap = s->marks_cap ? s->marks_cap * 2 : 16;
		m = realloc(s->marks, cap * sizeof(*m));
		if (!m) {
			if (s->nmarks > 0)
				s->marks[s->nmarks - 1] = (struct spool_mark){.seq = seq, .ms = ms};
			return;
		}
		s->marks = m;
		s->marks_cap = cap;
	}
	s->marks[s->nmarks++] = (struct spool_mark){.seq = seq, .ms = ms};
}

/* Forgets the marks an ack of seq covers whole. */
static void marks_ack(struct spool *s, uint64_t seq)
{
	size_t i = 0;

	while (i < s->nmarks && s->marks[i].seq <= seq)
		i++;
	if (i == 0)
		return;
	memmove(s->marks, s->marks + i, (s->nmarks - i) * sizeof(*s->marks));
	s->nmarks -= i;
}

void spool_mark_sent(struct spool *s, uint64_t seq, uint64_t now_ms)
{
	/* Also when the peek was evicted meanwhile: what was written up to seq is settled
	 * with its mark (spool_ack forgives the evicted ones, counted in gone). */
	mark_add(s, seq, now_ms);
	if (!s->peeked || s->peek_seq != seq)
		return; /* evicted meanwhile */
	s->send.off = s->peek_next;
	s->peeked = false;
	s->n_unsent -= s->peek_n < s->n_unsent ? s->peek_n : s->n_unsent;
	s->n_inflight += s->peek_n;
}

void spool_ack(struct spool *s, uint64_t seq)
{
	struct spool_hdr h;

	gone_ack(s, seq);
	marks_ack(s, seq);
	while (spool_pos_before(s, s->dlv, s->send)) {
		spool_normalize(s, &s->dlv);
		if (spool_read_hdr(s, s->dlv, &h) < 0 || h.seq > seq)
			break;
		s->dlv.off += sizeof(h) + h.len;
		s->acked_seq = h.seq;
		if (s->n_inflight)
			s->n_inflight--;
	}
	spool_collect(s);
}

void spool_rewind(struct spool *s)
{
	/* Written but unacked when the connection was lost, and no longer here to resend. */
	s->st.dropped += gone_count(s);
	s->ngone = 0;
	s->nmarks = 0;
	s->send = s->dlv;
	s->n_unsent += s->n_inflight;
	s->n_inflight = 0;
	s->peeked = false;
}

void spool_settle(struct spool *s, uint64_t until_ms)
{
	size_t i = 0;

	while (i < s->nmarks && s->marks[i].ms <= until_ms)
		i++;
	/* Delivered as if acked: the cursor, the acked marker, the evicted ones in gone. */
	if (i > 0)
		spool_ack(s, s->marks[i - 1].seq);
}

void spool_stats(const struct spool *s, struct spool_stats *ret)
{
	*ret = s->st;
	ret->records = s->n_unsent + s->n_inflight;
	ret->unsent = s->n_unsent;
	ret->bytes = s->total_bytes;
}
