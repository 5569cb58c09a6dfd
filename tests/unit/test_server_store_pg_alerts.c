/* The PostgreSQL engine's alert operations (store_pg_alerts.c): rules, states, the hosts and
 * execs an evaluation reads give the same answers on SQLite and on a private PostgreSQL for
 * the records of pg_api_fixture.h, rule ids included (the largest is used again after a
 * delete, as SQLite's rowid is). Skipped (exit 77) when built without libpq or without
 * postgresql-15 installed. */
#ifdef SRVMON_WITH_POSTGRESQL
#include "pg_api_fixture.h"

#include "alert_rule.h"
#include "metric.h"

static int rule_text(const struct alert_rule *rule, int64_t exec_cursor, void *ctx)
{
	(void)exec_cursor;
	return alert_rule_to_json(rule, ctx) < 0 || sbuf_addc(ctx, '\n') < 0 ? -ENOMEM : 0;
}

static int rule_cursor(const struct alert_rule *rule, int64_t exec_cursor, void *ctx)
{
	char line[64];

	(void)snprintf(line, sizeof(line), "%" PRId64 ":%" PRId64 "\n", rule->id, exec_cursor);
	return sbuf_adds(ctx, line);
}

/* The lines of out in byte order: hosts are numbered in a batch's host_id order on PostgreSQL
 * (store_pg_apply.c: the lock order), in arrival order on SQLite. */
static int cmp_line(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int sorted_lines(struct sbuf *out)
{
	char *lines[64], *copy = strdup(out->s), *nl;
	size_t n = 0;

	assert_non_null(copy);
	for (char *l = copy; *l && n < 64; l = nl + 1) {
		nl = strchr(l, '\n');
		assert_non_null(nl);
		*nl = '\0';
		lines[n++] = l;
	}
	qsort(lines, n, sizeof(lines[0]), cmp_line);
	out->len = 0;
	out->s[0] = '\0';
	for (size_t i = 0; i < n; i++)
		assert_int_equal(sbuf_adds(out, lines[i]) || sbuf_addc(out, '\n'), 0);
	free(copy);
	return 0;
}

static int state_text(struct db *db, int64_t rule, int64_t host, struct sbuf *out)
{
	struct alert_state s;
	char line[160];

	assert_int_equal(db_alert_state_get(db, rule, host, &s), 0);
	(void)snprintf(line, sizeof(line), "%d %d %" PRId64 " %" PRId64 " %" PRId64 " %.17g\n",
		       s.state, s.have_since, s.since_ms, s.fired_ms, s.resolved_ms, s.value);
	return sbuf_adds(out, line);
}

/* The same operation on both engines; ids must agree. */
static void both_add(struct env *e, const struct alert_rule *rule, int64_t want_id)
{
	int64_t a = 0, b = 0;

	assert_int_equal(db_alert_add(e->sq, rule, (uint64_t)NOW, &a), 0);
	assert_int_equal(db_alert_add(e->pg, rule, (uint64_t)NOW, &b), 0);
	assert_int_equal(a, want_id);
	assert_int_equal(b, want_id);
}

static void both_state(struct env *e, int64_t rule, const char *host, const struct alert_state *s,
		       uint64_t now)
{
	assert_int_equal(db_alert_state_put(e->sq, rule, key(e->sq, host), s, now), 0);
	assert_int_equal(db_alert_state_put(e->pg, rule, key(e->pg, host), s, now), 0);
}

static void test_alerts(void **state)
{
	struct env *e = *state;
	struct alert_rule cpu = {.kind = ALERT_METRIC,
				 .op = ALERT_GT,
				 .threshold = 10.5,
				 .for_ms = 60000,
				 .have_for = true};
	struct alert_rule off = {.kind = ALERT_OFFLINE, .for_ms = 120000, .have_for = true};
	struct alert_rule ex = {.kind = ALERT_EXEC, .have_for = true};
	struct alert_state firing = {.state = ALERT_STATE_FIRING,
				     .have_since = true,
				     .since_ms = T0 + 1000,
				     .fired_ms = T0 + 61000,
				     .value = 12.25};
	struct alert_state resolved = {.state = ALERT_STATE_RESOLVED,
				       .have_since = false,
				       .fired_ms = T0 + 1000,
				       .resolved_ms = T0 + 2000,
				       .value = 1.0 / 3};
	struct alert_state ok = {.state = ALERT_STATE_OK, .have_since = true, .since_ms = 5};
	struct alert_rule got;

	(void)snprintf(cpu.name, sizeof(cpu.name), "cpu high");
	(void)snprintf(cpu.metric, sizeof(cpu.metric), "cpu_percent");
	(void)snprintf(cpu.webhook, sizeof(cpu.webhook), "http://127.0.0.1:9/hook");
	(void)snprintf(cpu.email, sizeof(cpu.email), "ops@example.org");
	(void)snprintf(off.name, sizeof(off.name), "b offline");
	(void)snprintf(off.host_id, sizeof(off.host_id), HOSTB);
	(void)snprintf(ex.name, sizeof(ex.name), "cron \"jobs\"");
	(void)snprintf(ex.regex, sizeof(ex.regex), "^cron-job .*[0-9]$");
	both_add(e, &cpu, 1);
	both_add(e, &off, 2);
	both_add(e, &ex, 3);
	SAME(db_alert_rules_json(e->sq, &a_), db_alert_rules_json(e->pg, &b_), "rules");
	cpu.id = 1;
	cpu.threshold = 1e-3;
	cpu.op = ALERT_LT;
	assert_int_equal(db_alert_update(e->sq, &cpu), 0);
	assert_int_equal(db_alert_update(e->pg, &cpu), 0);
	cpu.id = 99;
	assert_int_equal(db_alert_update(e->sq, &cpu), -ENOENT);
	assert_int_equal(db_alert_update(e->pg, &cpu), -ENOENT);
	SAME(db_alert_foreach(e->sq, rule_text, &a_), db_alert_foreach(e->pg, rule_text, &b_),
	     "rules after an update");
	assert_int_equal(db_alert_get(e->pg, 99, &got), -ENOENT);
	SAME((db_alert_get(e->sq, 1, &got), alert_rule_to_json(&got, &a_)),
	     (db_alert_get(e->pg, 1, &got), alert_rule_to_json(&got, &b_)), "rule 1");
	/* Exec cursors are record ids: set alike, then read back. */
	for (int64_t id = 1; id <= 3; id++) {
		assert_int_equal(db_alert_set_cursor(e->sq, id, 40 + id), 0);
		assert_int_equal(db_alert_set_cursor(e->pg, id, 40 + id), 0);
	}
	SAME(db_alert_foreach(e->sq, rule_cursor, &a_), db_alert_foreach(e->pg, rule_cursor, &b_),
	     "exec cursors");
	both_state(e, 1, HOSTA, &firing, (uint64_t)T0 + 61000);
	both_state(e, 1, HOSTB, &firing, (uint64_t)T0 + 61000);
	both_state(e, 2, HOSTB, &resolved, (uint64_t)T0 + 2000);
	both_state(e, 3, HOSTA, &ok, (uint64_t)T0 + 7000);
	both_state(e, 1, HOSTB, &resolved, (uint64_t)T0 + 2000);
	SAME(db_alert_states_json(e->sq, &a_), db_alert_states_json(e->pg, &b_), "states");
	SAME((state_text(e->sq, 1, key(e->sq, HOSTA), &a_),
	      state_text(e->sq, 3, key(e->sq, HOSTA), &a_),
	      state_text(e->sq, 2, key(e->sq, HOSTA), &a_)),
	     (state_text(e->pg, 1, key(e->pg, HOSTA), &b_),
	      state_text(e->pg, 3, key(e->pg, HOSTA), &b_),
	      state_text(e->pg, 2, key(e->pg, HOSTA), &b_)),
	     "state get");
	SAME(db_alert_firing(e->sq, 1, host_text, &a_), db_alert_firing(e->pg, 1, host_text, &b_),
	     "firing");
	SAME((db_alert_hosts(e->sq, NULL, NULL, host_text, &a_), sorted_lines(&a_)),
	     (db_alert_hosts(e->pg, NULL, NULL, host_text, &b_), sorted_lines(&b_)), "alert hosts");
	for (size_t m = 0; m < metric_count(); m++) {
		SAME((db_alert_hosts(e->sq, metric_at(m)->name, NULL, host_text, &a_),
		      sorted_lines(&a_)),
		     (db_alert_hosts(e->pg, metric_at(m)->name, NULL, host_text, &b_),
		      sorted_lines(&b_)),
		     metric_at(m)->name);
		SAME(db_alert_hosts(e->sq, metric_at(m)->name, HOSTB, host_text, &a_),
		     db_alert_hosts(e->pg, metric_at(m)->name, HOSTB, host_text, &b_),
		     metric_at(m)->name);
	}
	SAME(execs_after(e->sq, 4, &a_), execs_after(e->pg, 4, &b_), "execs after");
	/* A deleted rule takes its states; the largest id is used again, as SQLite does. */
	assert_int_equal(db_alert_del(e->sq, 3), 0);
	assert_int_equal(db_alert_del(e->pg, 3), 0);
	assert_int_equal(db_alert_del(e->pg, 3), -ENOENT);
	assert_int_equal(db_alert_del(e->sq, 1), 0);
	assert_int_equal(db_alert_del(e->pg, 1), 0);
	SAME(db_alert_states_json(e->sq, &a_), db_alert_states_json(e->pg, &b_), "states after");
	both_add(e, &ex, 3);
	SAME(db_alert_rules_json(e->sq, &a_), db_alert_rules_json(e->pg, &b_), "rules at the end");
}

int main(void)
{
	const struct CMUnitTest tests[] = {cmocka_unit_test(test_alerts)};
	const char *why = NULL;

	if (!pg_fixture_available(&why)) {
		(void)printf("SKIP: test_server_store_pg_alerts: %s\n", why);
		return 77;
	}
	return cmocka_run_group_tests_name("sqlite and postgresql", tests, setup, teardown);
}

#else

#include <stdio.h>

int main(void)
{
	(void)printf("SKIP: test_server_store_pg_alerts: srvmon-server was built without libpq "
		     "(libpq-dev missing): no PostgreSQL engine to test\n");
	return 77;
}

#endif
