#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "record_line.h"

#include <cjson/cJSON.h>
#include <string.h>

static void format(const char *json, const char *type, char *buf, size_t size)
{
	cJSON *root = cJSON_Parse(json);

	assert_non_null(root);
	record_line_format(root, type, "3d1219c7c4c5404aaa1f6d2a48adfda4", 42, 0, buf, size);
	cJSON_Delete(root);
}

static void test_exec_line_is_a_pastable_command(void **state)
{
	char buf[512];

	(void)state;
	format("{\"user\":\"alice\",\"tty\":\"pts/3\",\"cwd\":\"/home/alice\",\"ret\":0,"
	       "\"argv\":[\"grep\",\"-r\",\"it's here\",\"a b\",\"\",\"x\\ny\"]}",
	       "exec", buf, sizeof(buf));
	assert_non_null(strstr(buf, " exec seq=42 user=alice tty=pts/3 cwd=/home/alice:"));
	assert_non_null(strstr(buf, ": grep -r 'it'\\''s here' 'a b' '' 'x?y'"));
}

static void test_failed_exec_shows_ret(void **state)
{
	char buf[512];

	(void)state;
	format("{\"user\":\"root\",\"ret\":-2,\"argv\":[\"/nonexistent\"]}", "exec", buf,
	       sizeof(buf));
	assert_non_null(strstr(buf, " user=root ret=-2: /nonexistent"));
}

static void test_speedtest_line(void **state)
{
	char buf[512];

	(void)state;
	format("{\"download_rate\":47820343,\"upload_rate\":46510182,\"latency_ms\":0.4,"
	       "\"duration_ms\":6510}",
	       "speedtest", buf, sizeof(buf));
	assert_non_null(strstr(buf, " down=47.8 Mbit/s up=46.5 Mbit/s latency=0.4ms in 6.5s"));
	format("{\"error\":\"connection refused\"}", "speedtest", buf, sizeof(buf));
	assert_non_null(strstr(buf, " error=connection refused"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exec_line_is_a_pastable_command),
		cmocka_unit_test(test_failed_exec_shows_ret),
		cmocka_unit_test(test_speedtest_line),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
