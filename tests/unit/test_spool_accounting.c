/* The spool's delivery accounting (spool_accounting.c): settling what a server that never
 * acks has had its grace to process, evictions of records in flight, and a model check that
 * every appended record is delivered or counted as dropped, exactly. */
#include "spool_fixture.h"

/* Peeks record seq, checks its text is the one appended, and marks it sent. */
static void send_expect(struct spool *s, uint64_t seq, size_t pad)
{
	char buf[4096], want[4096];
	uint64_t got = 0;
	size_t need = 0;
	int n, w;

	w = snprintf(want, sizeof(want), "{\"seq\":%llu,\"pad\":\"%*s\"}", (unsigned long long)seq,
		     (int)pad, "");
	n = spool_peek(s, buf, sizeof(buf), &need, &got);
	assert_int_equal(got, seq);
	assert_int_equal(n, w);
	assert_memory_equal(buf, want, (size_t)w);
	spool_mark_sent(s, seq, clock_ms);
}

/* A server that never acks: written records are delivered once settled (written at or
 * before the settle time), and the others are written again after a rewind, identical,
 * in order; the acked marker follows what was settled. */
static void test_settle_grace(void **state)
{
	struct spool *s = open_spool(1 << 20);
	struct spool_stats st;

	(void)state;
	append_n(s, 1, 20, 10);
	for (uint64_t q = 1; q <= 15; q++) {
		clock_ms = 1000 * ((q + 4) / 5); /* 1..5 at 1000, 6..10 at 2000, 11..15 at 3000 */
		send_expect(s, q, 10);
	}
	spool_settle(s, 999); /* nothing written that early */
	spool_stats(s, &st);
	assert_int_equal(st.records, 20);
	spool_settle(s, 1000);
	spool_stats(s, &st);
	assert_int_equal(st.records, 15);
	assert_int_equal(st.unsent, 5);
	spool_settle(s, 2999);
	spool_stats(s, &st);
	assert_int_equal(st.records, 10);
	/* The connection ends before 11..15 had their grace: all of them again, then 16.. */
	spool_rewind(s);
	spool_settle(s, 10000); /* no longer written: nothing to settle */
	spool_stats(s, &st);
	assert_int_equal(st.records, 10);
	assert_int_equal(st.unsent, 10);
	for (uint64_t q = 11; q <= 20; q++)
		send_expect(s, q, 10);
	spool_stats(s, &st);
	assert_int_equal(st.dropped, 0);
	/* After a restart the settled ones are not replayed. */
	spool_close(s);
	s = open_spool(1 << 20);
	spool_stats(s, &st);
	assert_int_equal(st.recovered, 10);
	send_expect(s, 11, 10);
	/* An ack (the server acks after all) forgets the marks it covers. */
	spool_ack(s, 11);
	spool_settle(s, UINT64_MAX);
	spool_stats(s, &st);
	assert_int_equal(st.records, 9);
	spool_close(s);
	clock_ms = 1000;
}

/* Written records evicted before their grace passed: delivered when settled after all,
 * dropped when the connection ends first; counted exactly either way. */
static void test_settle_evicted(void **state)
{
	struct spool *s = open_spool(16384); /* segments of 4 KiB */
	struct spool_stats st;
	uint64_t q, first;

	(void)state;
	append_n(s, 1, 20, 100); /* ~2.5 KiB */
	clock_ms = 1000;
	for (q = 1; q <= 10; q++)
		send_expect(s, q, 100);
	clock_ms = 2000;
	for (q = 11; q <= 20; q++)
		send_expect(s, q, 100);
	append_n(s, 21, 200, 100); /* evicts the first segments, 1..20 among them */
	spool_stats(s, &st);
	first = 200 - st.records + 1;
	assert_true(first > 20);
	assert_int_equal(st.dropped, first - 1 - 20); /* the unsent evicted ones, at once */
	spool_settle(s, 1500);			      /* 1..10 had their grace: delivered */
	spool_rewind(s);			      /* 11..20 did not: lost with the segment */
	spool_stats(s, &st);
	assert_int_equal(st.dropped, first - 1 - 10);
	assert_int_equal(send_one(s), first);
	spool_close(s);
	clock_ms = 1000;
}

/*
 * Model check of the delivery accounting: random appends (evicting from a 16 KiB
 * spool), batch peeks (sometimes with appends between the peek and the write, as when
 * another thread appends while the transport writes), cumulative acks and lost
 * connections. The model server receives a written frame only when an ack covers it;
 * frames written but unacked when the connection drops are lost. At the end every
 * appended record is either at the server or counted as dropped, exactly.
 *
 * The same against a server that never acks: a clock advances 0..9 ms an operation; the
 * server has processed every frame written at least MODEL_GRACE ms ago (the assumption
 * the grace stands for), the agent settles what was written that long ago at random
 * moments and when the connection drops, then rewinds; frames more recent than that
 * are lost with the connection (or, in the second run, arrived all the same).
 */
#define MODEL_SEQS  20000
#define MODEL_GRACE 50

struct model {
	struct spool *s;
	uint64_t next_seq;
	uint64_t wire[MODEL_SEQS];    /* written on this connection, not yet acked */
	uint64_t wire_ms[MODEL_SEQS]; /* when each was written */
	size_t nwire;
	uint64_t now;
	bool noack; /* the server never acks: records are settled after MODEL_GRACE */
	unsigned char have[MODEL_SEQS + 1]; /* at the server */
	unsigned int rng;
	bool arrives; /* frames unacked at a lost connection arrived all the same */
};

static unsigned int model_rand(struct model *m)
{
	m->rng = m->rng * 1103515245u + 12345u;
	return (m->rng >> 16) & 0x7fff;
}

static void model_append(struct model *m, size_t n)
{
	char text[512];

	for (size_t i = 0; i < n && m->next_seq <= MODEL_SEQS; i++) {
		int len = snprintf(text, sizeof(text), "{\"seq\":%llu,\"pad\":\"%*s\"}",
				   (unsigned long long)m->next_seq, (int)(model_rand(m) % 300), "");

		assert_int_equal(spool_append(m->s, m->next_seq, text, (size_t)len), 0);
		m->next_seq++;
	}
}

/* One frame: peek up to max_n, maybe append (evicting) meanwhile, write, mark sent. */
static void model_send(struct model *m, size_t max_n)
{
	static char buf[65536];
	size_t need = 0, n = 0;
	uint64_t seq = 0;
	const char *p;
	int r;

	r = spool_peek_many(m->s, buf, sizeof(buf) - 1, max_n, &need, &seq, &n);
	assert_true(r >= 0);
	if (n == 0)
		return;
	buf[r] = '\0';
	if (model_rand(m) % 4 == 0)
		model_append(m, 1 + model_rand(m) % 20);
	for (p = strstr(buf, "\"seq\":"); p; p = strstr(p + 1, "\"seq\":")) {
		assert_true(m->nwire < MODEL_SEQS);
		m->wire_ms[m->nwire] = m->now;
		m->wire[m->nwire++] = strtoull(p + 6, NULL, 10);
	}
	assert_int_equal(m->wire[m->nwire - 1], seq);
	spool_mark_sent(m->s, seq, m->now);
}

/* The server receives the first k frames' records still on the wire and acks the last. */
static void model_ack(struct model *m)
{
	size_t k;

	if (m->nwire == 0)
		return;
	k = 1 + model_rand(m) % m->nwire;
	for (size_t i = 0; i < k; i++)
		m->have[m->wire[i]] = 1;
	spool_ack(m->s, m->wire[k - 1]);
	memmove(m->wire, m->wire + k, (m->nwire - k) * sizeof(m->wire[0]));
	m->nwire -= k;
}

/* A server that never acks has processed what was written MODEL_GRACE ago; the agent
 * settles exactly that. */
static void model_settle(struct model *m)
{
	size_t k = 0;

	if (m->now < MODEL_GRACE)
		return;
	while (k < m->nwire && m->wire_ms[k] + MODEL_GRACE <= m->now)
		m->have[m->wire[k++]] = 1;
	memmove(m->wire, m->wire + k, (m->nwire - k) * sizeof(m->wire[0]));
	memmove(m->wire_ms, m->wire_ms + k, (m->nwire - k) * sizeof(m->wire_ms[0]));
	m->nwire -= k;
	spool_settle(m->s, m->now - MODEL_GRACE);
}

/* One run, checked at its end. */
static void model_run(unsigned int seed, bool arrives, bool noack)
{
	static struct model m;
	struct spool_stats st;
	uint64_t missing = 0;

	memset(&m, 0, sizeof(m));
	m.s = open_spool(16384);
	m.next_seq = 1;
	m.rng = seed;
	m.arrives = arrives;
	m.noack = noack;
	while (m.next_seq <= MODEL_SEQS) {
		unsigned int op = model_rand(&m) % 100;

		m.now += model_rand(&m) % 10;
		if (op < 40)
			model_append(&m, 1 + model_rand(&m) % 30);
		else if (op < 75)
			model_send(&m, 1 + model_rand(&m) % 40);
		else if (op < 97 && noack)
			model_settle(&m);
		else if (op < 97)
			model_ack(&m);
		else {
			/* Connection lost: what was not acked (or settled) arrived or not, as the
			 * run says. */
			if (noack)
				model_settle(&m);
			for (size_t i = 0; i < m.nwire && m.arrives; i++)
				m.have[m.wire[i]] = 1;
			m.nwire = 0;
			spool_rewind(m.s);
		}
	}
	/* The server returns for good: everything left is delivered. */
	m.nwire = 0;
	spool_rewind(m.s);
	for (;;) {
		model_send(&m, 1000);
		if (m.nwire == 0)
			break;
		if (noack) { /* the connection stays up for the grace */
			m.now += MODEL_GRACE;
			model_settle(&m);
			assert_int_equal(m.nwire, 0);
			continue;
		}
		for (size_t i = 0; i < m.nwire; i++) /* all of it acked at once */
			m.have[m.wire[i]] = 1;
		spool_ack(m.s, m.wire[m.nwire - 1]);
		m.nwire = 0;
	}
	for (uint64_t q = 1; q <= MODEL_SEQS; q++)
		missing += !m.have[q];
	spool_stats(m.s, &st);
	assert_int_equal(st.records, 0);
	assert_true(missing > 0); /* the model did evict undelivered records */
	if (arrives) /* a record whose ack was lost with the connection may be counted */
		assert_true(st.dropped + st.failed >= missing);
	else
		assert_int_equal(st.dropped + st.failed, missing);
	spool_close(m.s);
	teardown(NULL);
	setup(NULL);
}

static void test_model_accounting(void **state)
{
	(void)state;
	for (unsigned int seed = 1; seed <= 4; seed++) {
		model_run(seed, false, false);
		model_run(seed, true, false);
	}
}

static void test_model_accounting_noack(void **state)
{
	(void)state;
	/* Two seeds: each segment completed costs an fdatasync, which is what takes time. */
	for (unsigned int seed = 1; seed <= 2; seed++) {
		model_run(seed, false, true);
		model_run(seed, true, true);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_settle_grace, setup, teardown),
		cmocka_unit_test_setup_teardown(test_settle_evicted, setup, teardown),
		cmocka_unit_test_setup_teardown(test_model_accounting, setup, teardown),
		cmocka_unit_test_setup_teardown(test_model_accounting_noack, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
