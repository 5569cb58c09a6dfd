/* The module seam (user/module_set.c): start in order, a failure disables only its module,
 * --once leaves out what declines it, stop in exact reverse; states for hello and status. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "message.h"
#include "metrics.h"
#include "module_set.h"

static bool on_a = true, on_b = true, on_c = true, on_d = false;
static char order[16]; /* starts and stops: "A", "a" */
static size_t n_order;
static int ticks_a;

static void note(char c)
{
	if (n_order + 1 < sizeof(order))
		order[n_order++] = c;
}

static bool *en_a(struct config *cfg)
{
	(void)cfg;
	return &on_a;
}

static bool *en_b(struct config *cfg)
{
	(void)cfg;
	return &on_b;
}

static bool *en_c(struct config *cfg)
{
	(void)cfg;
	return &on_c;
}

static bool *en_d(struct config *cfg)
{
	(void)cfg;
	return &on_d;
}

static uint64_t every_10ms(const struct config *cfg)
{
	(void)cfg;
	return 10;
}

static uint64_t own_thread(const struct config *cfg)
{
	(void)cfg;
	return 0;
}

static int start_a(const struct module_ctx *ctx, bool daemon, void **ret_state,
		   const char **ret_step)
{
	(void)ctx;
	(void)daemon;
	(void)ret_step;
	note('A');
	*ret_state = &ticks_a;
	return 0;
}

static int tick_a(void *state)
{
	__atomic_add_fetch((int *)state, 1, __ATOMIC_RELAXED);
	return 0;
}

static void stop_a(void *state)
{
	assert_ptr_equal(state, &ticks_a);
	note('a');
}

static int host_bytes_a(void *state, uint64_t *ret_rx, uint64_t *ret_tx)
{
	(void)state;
	*ret_rx = 7;
	*ret_tx = 9;
	return 0;
}

static int start_b(const struct module_ctx *ctx, bool daemon, void **ret_state,
		   const char **ret_step)
{
	(void)ctx;
	(void)daemon;
	(void)ret_state;
	note('B');
	*ret_step = "load";
	return -EIO;
}

static void stop_never(void *state)
{
	(void)state;
	fail_msg("stop of a module that did not start");
}

static int state_c;

static int start_c(const struct module_ctx *ctx, bool daemon, void **ret_state,
		   const char **ret_step)
{
	(void)ctx;
	(void)ret_step;
	if (!daemon)
		return -EOPNOTSUPP;
	note('C');
	*ret_state = &state_c;
	return 0;
}

static void stop_c(void *state)
{
	(void)state;
	note('c');
}

static uint64_t lost_c(void *state)
{
	(void)state;
	return 5;
}

static const char *collector_a(void *state)
{
	(void)state;
	return "fake";
}

static const struct module_ops mod_a = {.name = "alpha",
					.enabled = en_a,
					.interval_ms = every_10ms,
					.start = start_a,
					.tick = tick_a,
					.stop = stop_a,
					.collector = collector_a,
					.host_bytes = host_bytes_a};
static const struct module_ops mod_b = {.name = "beta",
					.enabled = en_b,
					.interval_ms = own_thread,
					.start = start_b,
					.stop = stop_never};
static const struct module_ops mod_c = {.name = "gamma",
					.enabled = en_c,
					.interval_ms = own_thread,
					.start = start_c,
					.stop = stop_c,
					.lost = lost_c};
static const struct module_ops mod_d = {.name = "delta",
					.enabled = en_d,
					.interval_ms = own_thread,
					.start = start_b,
					.stop = stop_never};
static const struct module_ops *const table[] = {&mod_a, &mod_b, &mod_c, &mod_d};

static void reset(void)
{
	memset(order, 0, sizeof(order));
	n_order = 0;
	ticks_a = 0;
}

static void test_daemon(void **state)
{
	struct module_set ms = {0};
	struct module_ctx ctx = {0};
	struct config cfg = {0};
	struct status_info st = {0};
	struct hello_info h = {0};
	struct metrics_agent m = {0};
	struct timespec t0, now;
	uint64_t rx = 0, tx = 0;
	char buf[64];

	(void)state;
	reset();
	module_set_start(&ms, table, 4, &ctx, &cfg, true);
	assert_string_equal(order, "ABC");
	/* The periodic module runs on its runner: poll for ticks with a deadline. */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	do {
		struct timespec ms1 = {.tv_nsec = 1000000};

		nanosleep(&ms1, NULL);
		clock_gettime(CLOCK_MONOTONIC, &now);
	} while (__atomic_load_n(&ticks_a, __ATOMIC_RELAXED) < 3 && now.tv_sec - t0.tv_sec < 10);
	assert_true(__atomic_load_n(&ticks_a, __ATOMIC_RELAXED) >= 3);

	module_set_status(&ms, &st);
	assert_int_equal(st.n_modules, 4);
	assert_string_equal(st.modules[0].state, "running");
	assert_string_equal(st.modules[0].detail, "collector fake");
	assert_string_equal(st.modules[1].state, "failed");
	assert_string_equal(st.modules[1].detail, "load: Input/output error");
	assert_string_equal(st.modules[2].state, "running");
	assert_string_equal(st.modules[3].name, "delta");
	assert_string_equal(st.modules[3].state, "disabled");
	module_set_hello(&ms, &h);
	assert_int_equal(h.n_modules, 3); /* failed ones are listed, disabled ones not */
	assert_string_equal(h.modules[1], "beta");
	assert_string_equal(h.collector, "fake");
	module_set_metrics(&ms, &m);
	assert_int_equal(m.n_modules, 4);
	assert_true(m.modules[0].up);
	assert_false(m.modules[1].up);
	assert_int_equal(module_set_lost(&ms), 5);
	assert_int_equal(module_set_host_bytes(&ms, &rx, &tx), 0);
	assert_true(rx == 7 && tx == 9);
	assert_string_equal(module_set_running(&ms, buf, sizeof(buf)), "alpha,gamma");

	module_set_stop(&ms);
	assert_string_equal(order, "ABCca"); /* exact reverse */
	assert_int_equal(module_set_host_bytes(&ms, &rx, &tx), -EINVAL);
}

static void test_once(void **state)
{
	struct module_set ms = {0};
	struct module_ctx ctx = {0};
	struct config cfg = {0};
	struct status_info st = {0};

	(void)state;
	reset();
	module_set_start(&ms, table, 4, &ctx, &cfg, false);
	assert_string_equal(order, "AB"); /* gamma declines --once, silently */
	assert_int_equal(ticks_a, 0);	  /* no runner: --once ticks itself */
	assert_int_equal(module_set_tick(&ms), 0);
	assert_int_equal(ticks_a, 1);
	assert_int_equal(module_set_min_interval(&ms, &cfg, 1000), 10);
	module_set_status(&ms, &st);
	assert_string_equal(st.modules[2].state, "disabled");
	module_set_stop(&ms);
	assert_string_equal(order, "ABa");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_daemon),
		cmocka_unit_test(test_once),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
