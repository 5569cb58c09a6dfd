#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "identity.h"
#include "message.h"
#include "message_json.h"
#include "network_message.h"
#include "resources_message.h"
#include "monoclock.h"
#include "network.h"
#include "resources.h"

/* Finishes msg, parses the text back and checks the common fields. */
static cJSON *roundtrip(cJSON *msg, const char *type, uint64_t ts, char **ret_text)
{
	char *text;
	cJSON *back;
	char want[64];

	assert_non_null(msg);
	text = message_finish(msg, "host-abc", 42);
	assert_non_null(text);
	cJSON_Delete(msg);
	back = cJSON_Parse(text);
	assert_non_null(back);
	assert_string_equal(cJSON_GetObjectItemCaseSensitive(back, "type")->valuestring, type);
	assert_string_equal(cJSON_GetObjectItemCaseSensitive(back, "host_id")->valuestring,
			    "host-abc");
	assert_true(cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(back, "seq")));
	assert_int_equal(cJSON_GetObjectItemCaseSensitive(back, "seq")->valuedouble, 42);
	/* ts as an exact integer in the text. */
	snprintf(want, sizeof(want), "\"ts\":%llu,", (unsigned long long)ts);
	assert_non_null(strstr(text, want));
	*ret_text = text;
	return back;
}

static double num(const cJSON *o, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

	assert_non_null(v);
	assert_true(cJSON_IsNumber(v));
	return v->valuedouble;
}

static const char *str(const cJSON *o, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

	assert_non_null(v);
	assert_true(cJSON_IsString(v));
	return v->valuestring;
}

static void test_u64_exact(void **state)
{
	cJSON *msg;
	char *text;

	(void)state;
	msg = cJSON_CreateObject();
	assert_int_equal(message_add_u64(msg, "big", 18446744073709551615ULL), 0);
	assert_int_equal(message_add_u64(msg, "zero", 0), 0);
	text = message_finish(msg, "h", (1ULL << 53) + 1);
	assert_non_null(text);
	assert_string_equal(text, "{\"big\":18446744073709551615,\"zero\":0,\"host_id\":\"h\","
				  "\"seq\":9007199254740993}");
	cJSON_free(text);

	/* Finishing again replaces host_id and seq rather than adding second copies. */
	text = message_finish(msg, "h2", 18446744073709551615ULL);
	assert_non_null(text);
	assert_string_equal(text, "{\"big\":18446744073709551615,\"zero\":0,\"host_id\":\"h2\","
				  "\"seq\":18446744073709551615}");
	cJSON_free(text);
	assert_null(message_finish(msg, NULL, 1));
	assert_int_equal(errno, EINVAL);
	cJSON_Delete(msg);
}

static void test_hello(void **state)
{
	struct host_identity id = {0};
	struct hello_info h = {0};
	const cJSON *mods;
	cJSON *back;
	char *text;

	(void)state;
	snprintf(id.host_id, sizeof(id.host_id), "should-not-be-in-body");
	snprintf(id.hostname, sizeof(id.hostname), "web-01");
	snprintf(id.kernel, sizeof(id.kernel), "6.1.0-18-amd64");
	snprintf(id.os, sizeof(id.os), "Debian GNU/Linux 12 (bookworm)");
	snprintf(id.boot_id, sizeof(id.boot_id), "3218336d-deea-444a-b74c-5ca0f0fa0476");
	h.id = &id;
	h.agent_version = "0.1.0";
	h.n_modules = 2;
	h.modules[0] = "resources";
	h.modules[1] = "network";
	h.collector = "bpf";

	back = roundtrip(message_hello(&h, 1700000000123ULL), "hello", 1700000000123ULL, &text);
	assert_string_equal(str(back, "agent_version"), "0.1.0");
	assert_string_equal(str(back, "hostname"), "web-01");
	assert_string_equal(str(back, "kernel"), "6.1.0-18-amd64");
	assert_string_equal(str(back, "os"), "Debian GNU/Linux 12 (bookworm)");
	assert_string_equal(str(back, "boot_id"), "3218336d-deea-444a-b74c-5ca0f0fa0476");
	assert_string_equal(str(back, "collector"), "bpf");
	mods = cJSON_GetObjectItemCaseSensitive(back, "modules");
	assert_true(cJSON_IsArray(mods));
	assert_int_equal(cJSON_GetArraySize(mods), 2);
	assert_string_equal(cJSON_GetArrayItem(mods, 0)->valuestring, "resources");
	assert_string_equal(cJSON_GetArrayItem(mods, 1)->valuestring, "network");
	assert_string_equal(str(back, "host_id"), "host-abc");
	cJSON_Delete(back);
	cJSON_free(text);

	/* No network module: collector is null. */
	h.n_modules = 1;
	h.collector = NULL;
	back = roundtrip(message_hello(&h, 5), "hello", 5, &text);
	assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(back, "collector")));
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(back, "modules")), 1);
	cJSON_Delete(back);
	cJSON_free(text);

	h.n_modules = 9;
	assert_null(message_hello(&h, 5));
	assert_int_equal(errno, EINVAL);
}

static void test_resources(void **state)
{
	struct resources_sample s = {0};
	const cJSON *disks;
	const cJSON *d;
	cJSON *back;
	char *text;

	(void)state;
	s.ts_ms = 1700000000999ULL;
	s.cpu_valid = true;
	s.cpu_percent = 12.3456;
	s.ram_valid = true;
	s.ram_total = 25275506688ULL;
	s.ram_available = (1ULL << 53) + 1;
	s.n_disks = 2;
	snprintf(s.disks[0].mount, sizeof(s.disks[0].mount), "/");
	s.disks[0].total = 18446744073709551615ULL;
	s.disks[0].available = 9007199254740993ULL;
	snprintf(s.disks[1].mount, sizeof(s.disks[1].mount), "/mnt/nfs");
	s.disks[1].err = -ETIMEDOUT;

	back = roundtrip(message_resources(&s), "resources", s.ts_ms, &text);
	assert_float_equal(num(back, "cpu_percent"), 12.35, 1e-9);
	assert_non_null(strstr(text, "\"cpu_percent\":12.35,"));
	assert_non_null(strstr(text, "\"ram_total\":25275506688,"));
	assert_non_null(strstr(text, "\"ram_available\":9007199254740993,"));
	assert_non_null(strstr(text, "\"disk_total\":18446744073709551615,"));
	assert_non_null(strstr(text, "\"disk_available\":9007199254740993,"));
	disks = cJSON_GetObjectItemCaseSensitive(back, "disks");
	assert_int_equal(cJSON_GetArraySize(disks), 2);
	d = cJSON_GetArrayItem(disks, 0);
	assert_string_equal(str(d, "mount"), "/");
	assert_null(cJSON_GetObjectItemCaseSensitive(d, "error"));
	assert_non_null(strstr(text, "{\"mount\":\"/\",\"total\":18446744073709551615,"
				     "\"available\":9007199254740993}"));
	d = cJSON_GetArrayItem(disks, 1);
	assert_string_equal(str(d, "mount"), "/mnt/nfs");
	assert_string_equal(str(d, "error"), strerror(ETIMEDOUT));
	assert_null(cJSON_GetObjectItemCaseSensitive(d, "total"));
	cJSON_Delete(back);
	cJSON_free(text);

	/* Missing figures are omitted; the summary disk is disks[0] only. */
	s.cpu_valid = false;
	s.ram_valid = false;
	s.disks[0].err = -ENOENT;
	s.disks[1].err = 0;
	s.disks[1].total = 100;
	back = roundtrip(message_resources(&s), "resources", s.ts_ms, &text);
	assert_null(cJSON_GetObjectItemCaseSensitive(back, "cpu_percent"));
	assert_null(cJSON_GetObjectItemCaseSensitive(back, "ram_total"));
	assert_null(cJSON_GetObjectItemCaseSensitive(back, "ram_available"));
	assert_null(cJSON_GetObjectItemCaseSensitive(back, "disk_total"));
	assert_null(cJSON_GetObjectItemCaseSensitive(back, "disk_available"));
	disks = cJSON_GetObjectItemCaseSensitive(back, "disks");
	assert_string_equal(str(cJSON_GetArrayItem(disks, 0), "error"), strerror(ENOENT));
	assert_float_equal(num(cJSON_GetArrayItem(disks, 1), "total"), 100, 0);
	cJSON_Delete(back);
	cJSON_free(text);

	/* No disks at all: an empty array. */
	s.n_disks = 0;
	back = roundtrip(message_resources(&s), "resources", s.ts_ms, &text);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(back, "disks")), 0);
	cJSON_Delete(back);
	cJSON_free(text);
}

static void test_network(void **state)
{
	static struct net_sample s;
	const cJSON *ifaces;
	const cJSON *i0;
	cJSON *back;
	char *text;

	(void)state;
	memset(&s, 0, sizeof(s));
	s.ts_ms = 1700000001000ULL;
	s.interval_ms = 1003;
	s.upload_rate = 1234.5;
	s.download_rate = 99.4;
	s.n_ifaces = 2;
	/* A full-length name without its NUL. */
	memcpy(s.ifaces[0].name, "eth0-very-long-n", IF_NAMESIZE);
	s.ifaces[0].rx_bytes = 18446744073709551615ULL;
	s.ifaces[0].tx_bytes = 9007199254740993ULL;
	s.ifaces[0].rx_packets = 10;
	s.ifaces[0].tx_packets = 20;
	s.ifaces[0].rx_rate = 99.4;
	s.ifaces[0].tx_rate = 1234.5;
	s.ifaces[0].in_total = true;
	snprintf(s.ifaces[1].name, IF_NAMESIZE, "lo");
	s.ifaces[1].rx_rate = -5; /* never negative on the wire */
	s.ifaces[1].in_total = false;

	back = roundtrip(message_network(&s), "network", s.ts_ms, &text);
	assert_non_null(strstr(text, "\"upload_rate\":1235,"));
	assert_non_null(strstr(text, "\"download_rate\":99,"));
	assert_non_null(strstr(text, "\"interval_ms\":1003,"));
	ifaces = cJSON_GetObjectItemCaseSensitive(back, "interfaces");
	assert_int_equal(cJSON_GetArraySize(ifaces), 2);
	i0 = cJSON_GetArrayItem(ifaces, 0);
	assert_string_equal(str(i0, "name"), "eth0-very-long-n");
	assert_non_null(strstr(text, "\"rx_bytes\":18446744073709551615,"));
	assert_non_null(strstr(text, "\"tx_bytes\":9007199254740993,"));
	assert_float_equal(num(i0, "rx_packets"), 10, 0);
	assert_float_equal(num(i0, "tx_packets"), 20, 0);
	assert_float_equal(num(i0, "rx_rate"), 99, 0);
	assert_float_equal(num(i0, "tx_rate"), 1235, 0);
	assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(i0, "in_total")));
	assert_string_equal(str(cJSON_GetArrayItem(ifaces, 1), "name"), "lo");
	assert_float_equal(num(cJSON_GetArrayItem(ifaces, 1), "rx_rate"), 0, 0);
	assert_true(cJSON_IsFalse(
		cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(ifaces, 1), "in_total")));
	cJSON_Delete(back);
	cJSON_free(text);
}

static void test_status(void **state)
{
	struct status_info s = {0};
	const cJSON *mods;
	const cJSON *m;
	cJSON *back;
	char *text;

	(void)state;
	s.n_modules = 2;
	s.modules[0] = (struct module_state){.name = "resources", .state = "running"};
	s.modules[1] = (struct module_state){
		.name = "network", .state = "failed", .detail = "BPF load failed"};
	s.events_lost = 18446744073709551615ULL;
	s.reconnects = 3;

	back = roundtrip(message_status(&s, 77), "status", 77, &text);
	mods = cJSON_GetObjectItemCaseSensitive(back, "modules");
	assert_true(cJSON_IsObject(mods));
	m = cJSON_GetObjectItemCaseSensitive(mods, "resources");
	assert_string_equal(str(m, "state"), "running");
	assert_null(cJSON_GetObjectItemCaseSensitive(m, "detail"));
	m = cJSON_GetObjectItemCaseSensitive(mods, "network");
	assert_string_equal(str(m, "state"), "failed");
	assert_string_equal(str(m, "detail"), "BPF load failed");
	assert_non_null(strstr(text, "\"events_lost\":18446744073709551615,"));
	assert_float_equal(num(back, "reconnects"), 3, 0);
	cJSON_Delete(back);
	cJSON_free(text);
}

static void test_now(void **state)
{
	struct timespec before;
	struct timespec after;
	uint64_t ms;

	(void)state;
	clock_gettime(CLOCK_REALTIME, &before);
	ms = wall_ms();
	clock_gettime(CLOCK_REALTIME, &after);
	assert_true(ms >= (uint64_t)before.tv_sec * 1000 + (uint64_t)before.tv_nsec / 1000000);
	assert_true(ms <= (uint64_t)after.tv_sec * 1000 + (uint64_t)after.tv_nsec / 1000000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_u64_exact), cmocka_unit_test(test_hello),
		cmocka_unit_test(test_resources), cmocka_unit_test(test_network),
		cmocka_unit_test(test_status),	  cmocka_unit_test(test_now),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
