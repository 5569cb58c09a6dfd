#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "instance.h"

/* The bits are pinned: deployed instances' seq spaces (mask << 56) depend on the order of
 * the module table, so a new module must go last. */
#define INSTANCE_RESOURCES (1u << 0)
#define INSTANCE_NETWORK   (1u << 1)
#define INSTANCE_HISTORY   (1u << 2)
#define INSTANCE_SPEEDTEST (1u << 3)
#define INSTANCE_ALL	   instance_all()

static void test_module_names(void **state)
{
	unsigned int mask = 0;

	(void)state;
	assert_int_equal(instance_module_add("network", &mask), 0);
	assert_int_equal(mask, INSTANCE_NETWORK);
	assert_int_equal(instance_module_add("speedtest", &mask), 0);
	assert_int_equal(mask, INSTANCE_NETWORK | INSTANCE_SPEEDTEST);
	assert_int_equal(instance_module_add("Network", &mask), -EINVAL);
	assert_int_equal(instance_module_add("", &mask), -EINVAL);
	assert_int_equal(mask, INSTANCE_NETWORK | INSTANCE_SPEEDTEST);
}

static void test_names_and_seq_spaces(void **state)
{
	char buf[64];

	(void)state;
	assert_int_equal(instance_name(INSTANCE_HISTORY, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "history");
	assert_int_equal(instance_name(INSTANCE_SPEEDTEST | INSTANCE_RESOURCES, buf, sizeof(buf)),
			 0);
	assert_string_equal(buf, "resources+speedtest");
	assert_int_equal(instance_name(0, buf, sizeof(buf)), -EINVAL);
	assert_int_equal(instance_name(0x10, buf, sizeof(buf)), -EINVAL);
	assert_int_equal(INSTANCE_ALL, 0xfu);
	assert_int_equal(instance_name(INSTANCE_ALL, buf, 8), -ENAMETOOLONG);
	/* The whole agent keeps 0; every module set has its own disjoint 2^56 space. */
	assert_int_equal(instance_seq_floor(0), 0);
	for (unsigned int m = 1; m <= INSTANCE_ALL; m++) {
		assert_true(instance_seq_floor(m) == (uint64_t)m << 56);
		assert_true(instance_seq_floor(m) > instance_seq_floor(m - 1) + (1ULL << 55));
	}
}

static void test_apply_overrides_config(void **state)
{
	struct config cfg;

	(void)state;
	assert_int_equal(config_init_defaults(&cfg), 0);
	cfg.resources.enabled = true;
	cfg.network.enabled = false;
	cfg.history.enabled = true;
	cfg.speedtest.enabled = true;
	free(cfg.spool.dir);
	cfg.spool.dir = strdup("/var/spool/srvmon");
	assert_non_null(cfg.spool.dir);
	assert_int_equal(instance_apply(&cfg, INSTANCE_NETWORK), 0);
	assert_false(cfg.resources.enabled);
	assert_true(cfg.network.enabled);
	assert_false(cfg.history.enabled);
	assert_false(cfg.speedtest.enabled);
	assert_string_equal(cfg.agent.state_dir, "/var/lib/srvmon/network");
	assert_string_equal(cfg.spool.dir, "/var/spool/srvmon/network");
	assert_int_equal(instance_apply(&cfg, 0), -EINVAL);
	config_free(&cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_module_names),
		cmocka_unit_test(test_names_and_seq_spaces),
		cmocka_unit_test(test_apply_overrides_config),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
