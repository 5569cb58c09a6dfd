#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "backoff.h"

static void test_ceiling_doubles_then_caps(void **state)
{
	const struct backoff_policy p = {.base_ms = 1000, .floor_ms = 100, .cap_ms = 60000};

	(void)state;
	assert_int_equal(backoff_ceiling(&p, 0), 1000);
	assert_int_equal(backoff_ceiling(&p, 1), 2000);
	assert_int_equal(backoff_ceiling(&p, 5), 32000);
	assert_int_equal(backoff_ceiling(&p, 6), 60000);
	assert_int_equal(backoff_ceiling(&p, 63), 60000);
	assert_int_equal(backoff_ceiling(&p, 1000), 60000);
}

static void test_delays_within_bounds_and_jittered(void **state)
{
	const struct backoff_policy p = {.base_ms = 1000, .floor_ms = 100, .cap_ms = 8000};
	struct backoff b;
	uint64_t min = UINT64_MAX, max = 0;

	(void)state;
	for (uint64_t seed = 1; seed < 200; seed++) {
		backoff_init(&b, &p, seed);
		for (unsigned i = 0; i < 12; i++) {
			uint64_t c = backoff_ceiling(&p, i);
			uint64_t d = backoff_next(&b);

			assert_true(d >= p.floor_ms);
			assert_true(d <= c);
			if (i == 11) {
				min = d < min ? d : min;
				max = d > max ? d : max;
			}
		}
	}
	/* Full jitter: capped delays spread over most of [floor, cap]. */
	assert_true(min < 2000);
	assert_true(max > 6000);
}

static void test_reset_starts_over(void **state)
{
	const struct backoff_policy p = {.base_ms = 1000, .floor_ms = 500, .cap_ms = 60000};
	struct backoff b;

	(void)state;
	backoff_init(&b, &p, 42);
	for (int i = 0; i < 10; i++)
		backoff_next(&b);
	backoff_reset(&b);
	assert_true(backoff_next(&b) <= 1000);
}

static void test_floor_above_cap_is_respected(void **state)
{
	const struct backoff_policy p = {.base_ms = 10, .floor_ms = 50, .cap_ms = 20};
	struct backoff b;

	(void)state;
	backoff_init(&b, &p, 7);
	assert_int_equal(backoff_next(&b), 50);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ceiling_doubles_then_caps),
		cmocka_unit_test(test_delays_within_bounds_and_jittered),
		cmocka_unit_test(test_reset_starts_over),
		cmocka_unit_test(test_floor_above_cap_is_respected),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
