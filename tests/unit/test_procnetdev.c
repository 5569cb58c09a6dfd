#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "procnetdev.h"
#include "textfile.h"

#define CAP 1024

static char *fixture(const char *name)
{
	char path[512];
	char *buf = NULL;

	snprintf(path, sizeof(path), "%s/net/%s", FIXTURES_DIR, name);
	assert_int_equal(textfile_read_alloc(path, &buf), 0);
	assert_non_null(buf);
	return buf;
}

static void test_parse_basic(void **state)
{
	struct net_counters c[CAP];
	size_t n = 99;
	size_t bad = 99;
	char *buf = fixture("proc_net_dev");

	(void)state;
	assert_int_equal(procnetdev_parse(buf, c, CAP, &n, &bad), 0);
	assert_int_equal(n, 3);
	assert_int_equal(bad, 0);
	assert_string_equal(c[0].name, "lo");
	assert_int_equal(c[0].rx_bytes, 1234);
	assert_int_equal(c[0].rx_packets, 10);
	assert_string_equal(c[1].name, "eth0");
	assert_true(c[1].rx_bytes == UINT64_MAX);
	assert_int_equal(c[1].rx_packets, 7);
	/* transmit columns start after the 8 receive ones */
	assert_int_equal(c[1].tx_bytes, 987654321);
	assert_int_equal(c[1].tx_packets, 8);
	/* "wlan0:5000" without a blank after the colon */
	assert_string_equal(c[2].name, "wlan0");
	assert_int_equal(c[2].rx_bytes, 5000);
	assert_int_equal(c[2].rx_packets, 50);
	assert_int_equal(c[2].tx_bytes, 6000);
	assert_int_equal(c[2].tx_packets, 60);
	free(buf);
}

static void test_parse_malformed(void **state)
{
	struct net_counters c[CAP];
	size_t n = 0;
	size_t bad = 0;
	char *buf = fixture("proc_net_dev_malformed");

	(void)state;
	assert_int_equal(procnetdev_parse(buf, c, CAP, &n, &bad), 0);
	/* the good lines around the bad ones survive */
	assert_int_equal(n, 2);
	assert_string_equal(c[0].name, "eth0");
	assert_int_equal(c[0].tx_bytes, 200);
	assert_string_equal(c[1].name, "eth6");
	assert_int_equal(c[1].rx_bytes, 300);
	assert_int_equal(c[1].tx_packets, 4);
	assert_int_equal(bad, 6);
	free(buf);
}

static void test_parse_long_list(void **state)
{
	static struct net_counters c[CAP];
	size_t n = 0;
	char *buf = fixture("proc_net_dev_long");

	(void)state;
	assert_int_equal(procnetdev_parse(buf, c, CAP, &n, NULL), 0);
	assert_int_equal(n, 300);
	assert_string_equal(c[299].name, "veth299");
	assert_int_equal(c[299].rx_bytes, 299000);
	assert_int_equal(c[299].tx_bytes, 598000);
	assert_int_equal(c[299].tx_packets, 598);

	/* more interfaces than room: the first ones are kept, the caller is told */
	memset(c, 0, sizeof(c));
	assert_int_equal(procnetdev_parse(buf, c, 64, &n, NULL), -ENOBUFS);
	assert_int_equal(n, 64);
	assert_string_equal(c[63].name, "veth63");
	assert_int_equal(c[64].name[0], '\0');
	free(buf);
}

static void test_parse_no_header(void **state)
{
	struct net_counters c[4];
	size_t n = 0;
	char *buf = fixture("proc_net_dev_noheader");

	(void)state;
	assert_int_equal(procnetdev_parse(buf, c, 4, &n, NULL), -EINVAL);
	assert_int_equal(procnetdev_parse("", c, 4, &n, NULL), -EINVAL);
	/* a header only: no interfaces, not an error */
	assert_int_equal(procnetdev_parse("a|b\nc|d\n", c, 4, &n, NULL), 0);
	assert_int_equal(n, 0);
	free(buf);
}

static void test_read_proc(void **state)
{
	static struct net_counters c[CAP];
	size_t n = 0;
	int lo = 0;

	(void)state;
	assert_int_equal(procnetdev_read(PROCNETDEV_PATH, c, CAP, &n), 0);
	for (size_t i = 0; i < n; i++)
		lo += strcmp(c[i].name, "lo") == 0;
	assert_int_equal(lo, 1);
	assert_int_equal(procnetdev_read(FIXTURES_DIR "/net/does-not-exist", c, CAP, &n), -ENOENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_basic),	cmocka_unit_test(test_parse_malformed),
		cmocka_unit_test(test_parse_long_list), cmocka_unit_test(test_parse_no_header),
		cmocka_unit_test(test_read_proc),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
