#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "defroute.h"
#include "textfile.h"
#include "procnetdev.h"

#define FIX(name) FIXTURES_DIR "/net/" name

static char *fixture(const char *path)
{
	char *buf = NULL;

	assert_int_equal(textfile_read_alloc(path, &buf), 0);
	return buf;
}

static void test_v4(void **state)
{
	struct defroute_set set = {0};
	char *buf = fixture(FIX("route"));

	(void)state;
	assert_int_equal(defroute_parse_v4(buf, &set), 0);
	/* eth0 twice (two metrics) is one entry; 0/8 and the unreachable one are not */
	assert_int_equal(set.n, 2);
	assert_true(defroute_contains(&set, "eth0"));
	assert_true(defroute_contains(&set, "wg0"));
	assert_false(defroute_contains(&set, "eth1"));
	assert_false(defroute_contains(&set, "*"));
	free(buf);
}

static void test_v4_none(void **state)
{
	struct defroute_set set = {0};
	char *buf = fixture(FIX("route_none"));

	(void)state;
	assert_int_equal(defroute_parse_v4(buf, &set), 0);
	assert_int_equal(set.n, 0);
	assert_false(defroute_contains(&set, "eth0"));
	assert_int_equal(defroute_parse_v4("eth0\t00000000\n", &set), -EINVAL);
	free(buf);
}

static void test_v6(void **state)
{
	struct defroute_set set = {0};
	char *buf = fixture(FIX("ipv6_route"));

	(void)state;
	assert_int_equal(defroute_parse_v6(buf, &set), 0);
	/* ::/0 via eth1; ::/64 on eth2 and the "unreachable" ::/0 on lo are not */
	assert_int_equal(set.n, 1);
	assert_true(defroute_contains(&set, "eth1"));
	assert_false(defroute_contains(&set, "lo"));
	assert_false(defroute_contains(&set, "eth2"));
	free(buf);
}

static void test_v6_none(void **state)
{
	struct defroute_set set = {0};
	char *buf = fixture(FIX("ipv6_route_none"));

	(void)state;
	assert_int_equal(defroute_parse_v6(buf, &set), 0);
	assert_int_equal(set.n, 0);
	assert_int_equal(defroute_parse_v6("", &set), 0);
	assert_int_equal(set.n, 0);
	free(buf);
}

static void test_read_both(void **state)
{
	struct defroute_set set = {0};

	(void)state;
	assert_int_equal(defroute_read(FIX("route"), FIX("ipv6_route"), &set), 0);
	assert_int_equal(set.n, 3);
	assert_true(defroute_contains(&set, "eth0"));
	assert_true(defroute_contains(&set, "wg0"));
	assert_true(defroute_contains(&set, "eth1"));
	/* IPv6 disabled: no file, not an error */
	assert_int_equal(defroute_read(FIX("route"), FIX("no-such-file"), &set), 0);
	assert_int_equal(set.n, 2);
	assert_int_equal(defroute_read(FIX("route_none"), FIX("ipv6_route_none"), &set), 0);
	assert_int_equal(set.n, 0);
	/* the real files parse */
	assert_int_equal(defroute_read(NULL, NULL, &set), 0);
}

static void test_set_full(void **state)
{
	struct defroute_set set = {0};
	size_t size = 64 * 1024;
	char *buf = malloc(size);
	size_t len;

	(void)state;
	assert_non_null(buf);
	len = (size_t)snprintf(buf, size,
			       "Iface\tDestination\tGateway\tFlags\tRefCnt\tUse\t"
			       "Metric\tMask\tMTU\tWindow\tIRTT\n");
	for (int i = 0; i < DEFROUTE_MAX + 1; i++)
		len += (size_t)snprintf(
			buf + len, size - len,
			"tun%d\t00000000\t00000000\t0001\t0\t0\t%d\t00000000\t0\t0\t0\n", i, i);
	assert_int_equal(defroute_parse_v4(buf, &set), -ENOBUFS);
	assert_int_equal(set.n, DEFROUTE_MAX);
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_v4),	  cmocka_unit_test(test_v4_none),
		cmocka_unit_test(test_v6),	  cmocka_unit_test(test_v6_none),
		cmocka_unit_test(test_read_both), cmocka_unit_test(test_set_full),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
