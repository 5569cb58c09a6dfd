/* The exec record (docs/protocol.md "exec"), printed directly on the hot path. */
#include "exec_message.h"

#include "base64.h"
#include "exec_record.h"
#include "json_out.h"
#include "message_json.h"
#include "sbuf.h"
#include "srvmon_proto.h"
#include "utf8.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

/* ,"name": from a string literal, in one copy. */
#define add_key(b, name) sbuf_add((b), ",\"" name "\":", sizeof(",\"" name "\":") - 1)

#define add_u64(b, name, v) (add_key(b, name) ? -ENOMEM : json_add_u64((b), (v)))

/* An id that is -1 when unset (0xffffffff in the kernel). */
static int64_t id_value(uint32_t v)
{
	return v == 0xffffffffu ? -1 : (int64_t)v;
}
#define add_id(b, name, v) (add_key(b, name) ? -ENOMEM : json_add_i64((b), id_value(v)))

/* A string member from bytes that may not be UTF-8 (repaired with U+FFFD). */
#define add_text(b, name, s, n) (add_key(b, name) ? -ENOMEM : json_add_text((b), (s), (n)))

static int add_b64(struct sbuf *b, const char *s, size_t n)
{
	int r = sbuf_addc(b, '"');

	if (r == 0)
		r = base64_add(b, s, n);
	return r ? r : sbuf_addc(b, '"');
}

/* argv as strings; when one is not UTF-8, argv_b64 carries every argument's exact bytes. */
static int add_argv(struct sbuf *b, const struct exec_event *e)
{
	const char *a;
	size_t off = 0, n;
	bool exact = true;
	size_t i = 0;
	int r;

	r = add_key(b, "argv");
	if (r == 0)
		r = sbuf_addc(b, '[');
	while (r == 0 && exec_event_next_arg(e, &off, &a, &n)) {
		bool valid = utf8_valid(a, n);

		if (i++ > 0)
			r = sbuf_addc(b, ',');
		exact = exact && valid;
		if (r == 0)
			r = valid ? json_add_str(b, a, n) : json_add_repaired(b, a, n);
	}
	if (r == 0)
		r = sbuf_addc(b, ']');
	if (r || exact)
		return r;
	r = add_key(b, "argv_b64");
	if (r == 0)
		r = sbuf_addc(b, '[');
	off = 0;
	i = 0;
	while (r == 0 && exec_event_next_arg(e, &off, &a, &n)) {
		if (i++ > 0)
			r = sbuf_addc(b, ',');
		if (r == 0)
			r = add_b64(b, a, n);
	}
	return r ? r : sbuf_addc(b, ']');
}

int message_exec_json(const struct exec_event *e, struct sbuf *b)
{
	size_t start = b->len;
	int r;

	/* Members in the order message_finish() would print them, host_id and seq last. */
	r = sbuf_adds(b, "{\"type\":\"" SRVMON_TYPE_EXEC "\"");
	r = r ? r : add_u64(b, "ts", e->ts_ms);
	r = r ? r : add_u64(b, "mono_ns", e->mono_ns);
	r = r ? r : add_u64(b, "pid", e->pid);
	r = r ? r : add_u64(b, "ppid", e->ppid);
	r = r ? r : add_u64(b, "tid", e->tid);
	r = r ? r : add_u64(b, "uid", e->uid);
	r = r ? r : add_u64(b, "gid", e->gid);
	r = r ? r : add_u64(b, "euid", e->euid);
	r = r ? r : add_text(b, "user", e->user ? e->user : "", e->user ? strlen(e->user) : 0);
	r = r ? r : add_id(b, "auid", e->auid);
	r = r ? r : add_id(b, "sessionid", e->sessionid);
	r = r ? r : add_text(b, "tty", e->tty, strlen(e->tty));
	r = r ? r : add_text(b, "cwd", e->cwd, strlen(e->cwd));
	r = r ? r : add_text(b, "filename", e->filename, e->filename_len);
	if (r == 0 && !utf8_valid(e->filename, e->filename_len)) {
		r = add_key(b, "filename_b64");
		r = r ? r : add_b64(b, e->filename, e->filename_len);
	}
	r = r ? r : add_text(b, "comm", e->comm, strlen(e->comm));
	r = r ? r : add_u64(b, "cgroup_id", e->cgroup_id);
	r = r ? r : add_text(b, "cgroup", e->cgroup, strlen(e->cgroup));
	r = r ? r : add_text(b, "container_id", e->container_id, strlen(e->container_id));
	r = r ? r : add_argv(b, e);
	r = r ? r : add_key(b, "argv_truncated");
	r = r ? r : sbuf_adds(b, e->argv_truncated ? "true" : "false");
	r = r ? r : add_u64(b, "argv_size", e->argv_total);
	r = r ? r : add_key(b, "ret");
	r = r ? r : json_add_i64(b, e->ret);
	r = r ? r : sbuf_addc(b, '}');
	if (r) {
		b->len = start; /* nothing half-written stays behind */
		if (b->s)
			b->s[start] = '\0';
	}
	return r;
}

cJSON *message_exec(const struct exec_event *e)
{
	struct sbuf b = {0};
	cJSON *msg = NULL;

	if (message_exec_json(e, &b) == 0)
		msg = cJSON_Parse(b.s);
	sbuf_free(&b);
	if (!msg)
		errno = ENOMEM;
	return msg;
}
