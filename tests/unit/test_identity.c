#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>
#include <cmocka.h>

#include "config.h"
#include "textfile.h"
#include "identity.h"
#include "procstat.h"

static char buf[8192];

static const char *fixture(const char *name)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/proc/%s", FIXTURES_DIR, name);
	assert_int_equal(textfile_read(path, buf, sizeof(buf), NULL), 0);
	return buf;
}

static void test_os_release(void **state)
{
	char os[256];
	char small[5];

	(void)state;
	assert_int_equal(identity_parse_os_release(fixture("os-release"), os, sizeof(os)), 0);
	assert_string_equal(os, "Debian GNU/Linux 12 (bookworm)");
	assert_int_equal(identity_parse_os_release(fixture("os-release_escaped"), os, sizeof(os)),
			 0);
	assert_string_equal(os, "Test \"OS\" $1");
	assert_int_equal(identity_parse_os_release(fixture("os-release_unquoted"), os, sizeof(os)),
			 0);
	assert_string_equal(os, "Alpine");
	assert_int_equal(identity_parse_os_release(fixture("os-release_none"), os, sizeof(os)),
			 -ENOENT);
	assert_int_equal(identity_parse_os_release("", os, sizeof(os)), -ENOENT);
	assert_int_equal(identity_parse_os_release("PRETTY_NAME='single'\n", os, sizeof(os)), 0);
	assert_string_equal(os, "single");
	/* Truncated, never overflowed. */
	assert_int_equal(
		identity_parse_os_release("PRETTY_NAME=\"abcdefgh\"", small, sizeof(small)), 0);
	assert_string_equal(small, "abcd");
}

static void test_configured_host_id(void **state)
{
	struct config cfg = {0};
	struct host_identity id;
	struct utsname uts;

	(void)state;
	cfg.agent.host_id = "web-01";
	assert_int_equal(identity_read(&cfg, &id), 0);
	assert_string_equal(id.host_id, "web-01");

	assert_int_equal(uname(&uts), 0);
	assert_string_equal(id.hostname, uts.nodename);
	assert_string_equal(id.kernel, uts.release);
	assert_true(id.os[0] != '\0');
	assert_int_equal(strlen(id.boot_id), 36);
	assert_null(strchr(id.boot_id, '\n'));
}

static void test_machine_id(void **state)
{
	struct config cfg = {0};
	struct host_identity id;
	char expect[64];
	size_t len = 0;

	(void)state;
	if (textfile_read("/etc/machine-id", expect, sizeof(expect), &len) < 0 || len < 32)
		skip();
	expect[32] = '\0';

	cfg.agent.host_id = "";
	assert_int_equal(identity_read(&cfg, &id), 0);
	assert_string_equal(id.host_id, expect);
	assert_int_equal(identity_read(NULL, &id), 0);
	assert_string_equal(id.host_id, expect);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_os_release),
		cmocka_unit_test(test_configured_host_id),
		cmocka_unit_test(test_machine_id),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
