/* exec record decoding (user/modules/history/exec_record.c) and its exec message (message_exec). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "exec_record.h"
#include "sbuf.h"
#include "exec_message.h"

struct built {
	size_t size;
	union {
		struct srvmon_exec_rec rec;
		unsigned char bytes[sizeof(struct srvmon_exec_rec) + 8192];
	} u;
};

/* A record as the kernel writes it: header, argv, filename, cwd components leaf first. */
static void build(struct built *b, const char *argv, size_t argv_len, uint32_t argv_total,
		  const char *filename, const char *cwd, size_t cwd_len, uint32_t depth,
		  uint32_t flags)
{
	unsigned char *p;
	size_t flen = strlen(filename) + 1;

	memset(b, 0, sizeof(*b));
	b->u.rec.hdr.type = SRVMON_REC_EXEC;
	b->u.rec.hdr.version = SRVMON_EXEC_VERSION;
	b->u.rec.mono_ns = 5000000000ull;
	b->u.rec.pid = 42;
	b->u.rec.ppid = 1;
	b->u.rec.uid = 1000;
	b->u.rec.auid = 0xffffffffu;
	b->u.rec.sessionid = 0xffffffffu;
	b->u.rec.flags = flags;
	b->u.rec.argv_size = (uint32_t)argv_len;
	b->u.rec.argv_total = argv_total;
	b->u.rec.filename_size = (uint32_t)flen;
	b->u.rec.cwd_size = (uint32_t)cwd_len;
	b->u.rec.cwd_depth = depth;
	b->u.rec.tty_index = 7;
	memcpy(b->u.rec.comm, "true", 5);
	memcpy(b->u.rec.tty, "pts7", 5);
	snprintf(b->u.rec.cgroup, sizeof(b->u.rec.cgroup), "%s",
		 "docker-0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef.scope");
	p = b->u.bytes + sizeof(b->u.rec);
	memcpy(p, argv, argv_len);
	memcpy(p + argv_len, filename, flen);
	memcpy(p + argv_len + flen, cwd, cwd_len);
	b->size = sizeof(b->u.rec) + argv_len + flen + cwd_len;
	b->u.rec.hdr.size = (uint32_t)b->size;
}

static void test_decode_fields(void **state)
{
	static const char argv[] = "ls\0-l\0a b\0";
	static const char cwd[] = "sub\0home\0";
	struct built b;
	struct exec_event e;
	const char *a;
	size_t off = 0, n;

	(void)state;
	build(&b, argv, sizeof(argv) - 1, sizeof(argv) - 1, "/bin/ls", cwd, sizeof(cwd) - 1, 2,
	      SRVMON_EXEC_F_HAS_TTY | SRVMON_EXEC_F_TTY_PTS);
	assert_int_equal(exec_record_decode(b.u.bytes, b.size, 1000000000, &e), 0);
	assert_int_equal(e.ts_ms, 6000);
	assert_int_equal(e.pid, 42);
	assert_int_equal(e.argc, 3);
	assert_false(e.argv_truncated);
	assert_string_equal(e.filename, "/bin/ls");
	assert_string_equal(e.cwd, "/home/sub");
	assert_string_equal(e.tty, "pts/7");
	assert_string_equal(e.comm, "true");
	assert_string_equal(e.container_id,
			    "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef");
	assert_true(exec_event_next_arg(&e, &off, &a, &n));
	assert_int_equal(n, 2);
	assert_memory_equal(a, "ls", 2);
	assert_true(exec_event_next_arg(&e, &off, &a, &n));
	assert_true(exec_event_next_arg(&e, &off, &a, &n));
	assert_int_equal(n, 3);
	assert_memory_equal(a, "a b", 3);
	assert_false(exec_event_next_arg(&e, &off, &a, &n));
}

static void test_decode_tty_and_root(void **state)
{
	struct built b;
	struct exec_event e;

	(void)state;
	/* A console tty keeps the kernel's name; cwd "/" has no component. */
	build(&b, "x", 2, 2, "/x", "", 0, 0, SRVMON_EXEC_F_HAS_TTY);
	assert_int_equal(exec_record_decode(b.u.bytes, b.size, 0, &e), 0);
	assert_string_equal(e.tty, "pts7");
	assert_string_equal(e.cwd, "/");
	/* No tty at all: empty, not the index. */
	build(&b, "x", 2, 2, "/x", "a", 2, 1, SRVMON_EXEC_F_CWD_TRUNC);
	assert_int_equal(exec_record_decode(b.u.bytes, b.size, 0, &e), 0);
	assert_string_equal(e.tty, "");
	assert_string_equal(e.cwd, ".../a");
}

static void test_decode_truncated(void **state)
{
	/* The kernel stopped at argv_max in the middle of "third". */
	static const char argv[] = "one\0second\0thi";
	struct built b;
	struct exec_event e;

	(void)state;
	build(&b, argv, sizeof(argv) - 1, 5000, "/bin/x", "", 0, 0, SRVMON_EXEC_F_ARGV_TRUNC);
	assert_int_equal(exec_record_decode(b.u.bytes, b.size, 0, &e), 0);
	assert_true(e.argv_truncated);
	assert_int_equal(e.argv_total, 5000);
	assert_int_equal(e.argc, 2);
	assert_int_equal(e.argv_len, 11);
	/* One argument longer than the limit: kept partial rather than dropped. */
	build(&b, "aaaa", 4, 100000, "/bin/x", "", 0, 0, SRVMON_EXEC_F_ARGV_TRUNC);
	assert_int_equal(exec_record_decode(b.u.bytes, b.size, 0, &e), 0);
	assert_int_equal(e.argc, 1);
	assert_int_equal(e.argv_len, 4);
}

static void test_decode_malformed(void **state)
{
	struct built b;
	struct exec_event e;

	(void)state;
	build(&b, "x", 2, 2, "/x", "a", 2, 1, 0);
	assert_int_equal(exec_record_decode(b.u.bytes, 4, 0, &e), -EPROTO);
	assert_int_equal(exec_record_decode(b.u.bytes, b.size - 1, 0, &e), -EBADMSG);
	b.u.rec.hdr.version = 99;
	assert_int_equal(exec_record_decode(b.u.bytes, b.size, 0, &e), -EPROTO);
	build(&b, "x", 2, 2, "/x", "a", 2, 1, 0);
	b.u.rec.cwd_depth = 2; /* more components than bytes */
	assert_int_equal(exec_record_decode(b.u.bytes, b.size, 0, &e), -EBADMSG);
	build(&b, "x", 2, 2, "/x", "a", 2, 1, 0);
	b.u.rec.argv_size = 1000; /* sizes do not add up */
	assert_int_equal(exec_record_decode(b.u.bytes, b.size, 0, &e), -EBADMSG);
	build(&b, "x", 2, 2, "/x", "a", 2, 1, 0);
	b.u.bytes[sizeof(b.u.rec) + 2 + 2] = 'y'; /* filename without its NUL */
	assert_int_equal(exec_record_decode(b.u.bytes, b.size, 0, &e), -EBADMSG);
}

static void test_container_id(void **state)
{
	char id[65];
	const char *hex = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
	char buf[200];

	(void)state;
	exec_container_id(hex, id);
	assert_string_equal(id, hex);
	snprintf(buf, sizeof(buf), "cri-containerd-%s.scope", hex);
	exec_container_id(buf, id);
	assert_string_equal(id, hex);
	exec_container_id("session-3.scope", id);
	assert_string_equal(id, "");
	snprintf(buf, sizeof(buf), "%sa", hex); /* 65 digits: not an id */
	exec_container_id(buf, id);
	assert_string_equal(id, "");
}

static void test_message_exec(void **state)
{
	static const char argv[] = "/bin/x\0caf\xc3\xa9\0\xff\0";
	struct built b;
	struct exec_event e;
	struct sbuf sb = {0};
	cJSON *msg, *a;
	char *text;

	(void)state;
	build(&b, argv, sizeof(argv) - 1, sizeof(argv) - 1, "/bin/x", "", 0, 0, 0);
	assert_int_equal(exec_record_decode(b.u.bytes, b.size, 0, &e), 0);
	e.user = "alice";
	e.cgroup_id = 18446744073709551615ull;
	msg = message_exec(&e);
	assert_non_null(msg);
	/* The printed text (the parsed tree holds the integers as doubles). */
	assert_int_equal(message_exec_json(&e, &sb), 0);
	text = sb.s;
	assert_non_null(strstr(text, "\"type\":\"exec\""));
	assert_non_null(strstr(text, "\"cgroup_id\":18446744073709551615"));
	assert_non_null(strstr(text, "\"auid\":-1"));
	assert_non_null(strstr(text, "\"user\":\"alice\""));
	assert_non_null(strstr(text, "\"argv_truncated\":false"));
	a = cJSON_GetObjectItem(msg, "argv");
	assert_int_equal(cJSON_GetArraySize(a), 3);
	assert_string_equal(cJSON_GetArrayItem(a, 1)->valuestring, "caf\xc3\xa9");
	assert_string_equal(cJSON_GetArrayItem(a, 2)->valuestring, "\xef\xbf\xbd");
	a = cJSON_GetObjectItem(msg, "argv_b64");
	assert_non_null(a);
	assert_string_equal(cJSON_GetArrayItem(a, 2)->valuestring, "/w==");
	sbuf_free(&sb);
	cJSON_Delete(msg);
	/* All UTF-8: no argv_b64. */
	build(&b, "ok\0", 3, 3, "/bin/x", "", 0, 0, 0);
	assert_int_equal(exec_record_decode(b.u.bytes, b.size, 0, &e), 0);
	msg = message_exec(&e);
	assert_null(cJSON_GetObjectItem(msg, "argv_b64"));
	assert_string_equal(cJSON_GetObjectItem(msg, "user")->valuestring, "");
	cJSON_Delete(msg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_decode_fields),	 cmocka_unit_test(test_decode_tty_and_root),
		cmocka_unit_test(test_decode_truncated), cmocka_unit_test(test_decode_malformed),
		cmocka_unit_test(test_container_id),	 cmocka_unit_test(test_message_exec),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
