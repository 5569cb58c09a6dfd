#include "exec_record.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

static void copy_fixed(char *dst, const char *src, size_t src_size)
{
	size_t n = strnlen(src, src_size);

	memcpy(dst, src, n);
	dst[n] = '\0';
}

void exec_container_id(const char *cgroup, char *ret)
{
	const char *p = cgroup;

	ret[0] = '\0';
	while (*p) {
		size_t n = 0;

		while (isxdigit((unsigned char)p[n]) && !isupper((unsigned char)p[n]))
			n++;
		if (n == 64) {
			memcpy(ret, p, 64);
			ret[64] = '\0';
			return;
		}
		p += n ? n : 1;
	}
}

/* Joins the leaf-first components into "/a/b/c". */
static int cwd_text(const char *comp, size_t size, uint32_t depth, bool truncated, char *ret,
		    size_t cap)
{
	const char *starts[SRVMON_EXEC_CWD_DEPTH];
	size_t lens[SRVMON_EXEC_CWD_DEPTH];
	size_t off = 0, o = 0;

	if (depth > SRVMON_EXEC_CWD_DEPTH)
		return -EBADMSG;
	for (uint32_t i = 0; i < depth; i++) {
		const char *nul = memchr(comp + off, '\0', size - off);

		if (off >= size || !nul)
			return -EBADMSG;
		starts[i] = comp + off;
		lens[i] = (size_t)(nul - (comp + off));
		off += lens[i] + 1;
	}
	ret[0] = '\0';
	if (truncated) {
		memcpy(ret, "...", 3);
		o = 3;
	}
	for (uint32_t i = depth; i-- > 0;) {
		if (o + 1 + lens[i] + 1 > cap)
			return -EBADMSG;
		ret[o++] = '/';
		memcpy(ret + o, starts[i], lens[i]);
		o += lens[i];
	}
	if (o == 0)
		ret[o++] = '/';
	ret[o] = '\0';
	return 0;
}

int exec_record_decode(const void *data, size_t size, int64_t real_minus_mono_ns,
		       struct exec_event *ret)
{
	const struct srvmon_exec_rec *r = data;
	const char *body = (const char *)data + sizeof(*r);
	size_t body_len;
	int64_t real_ns;
	int err;

	memset(ret, 0, sizeof(*ret));
	if (size < sizeof(*r) || r->hdr.type != SRVMON_REC_EXEC ||
	    r->hdr.version != SRVMON_EXEC_VERSION)
		return -EPROTO;
	if (r->hdr.size != size)
		return -EBADMSG;
	body_len = size - sizeof(*r);
	if ((uint64_t)r->argv_size + r->filename_size + r->cwd_size != body_len ||
	    r->filename_size == 0 || body[r->argv_size + r->filename_size - 1] != '\0')
		return -EBADMSG;

	real_ns = (int64_t)r->mono_ns + real_minus_mono_ns;
	ret->ts_ms = real_ns > 0 ? (uint64_t)real_ns / 1000000u : 0;
	ret->mono_ns = r->mono_ns;
	ret->cgroup_id = r->cgroup_id;
	ret->pid = r->pid;
	ret->tid = r->tid;
	ret->ppid = r->ppid;
	ret->uid = r->uid;
	ret->gid = r->gid;
	ret->euid = r->euid;
	ret->auid = r->auid;
	ret->sessionid = r->sessionid;
	ret->ret = r->ret;
	ret->flags = r->flags;
	ret->argv_total = r->argv_total;
	ret->argv_truncated = (r->flags & SRVMON_EXEC_F_ARGV_TRUNC) || r->argv_total > r->argv_size;

	/* argv: cut a truncated one at its last complete argument. */
	ret->argv = body;
	ret->argv_len = r->argv_size;
	if (ret->argv_truncated && ret->argv_len > 0 && body[ret->argv_len - 1] != '\0') {
		const char *nul = memrchr(body, '\0', ret->argv_len);

		if (nul)
			ret->argv_len = (size_t)(nul - body) + 1;
		/* else: a single argument longer than the limit, kept partial */
	}
	for (size_t off = 0; off < ret->argv_len;) {
		const char *nul = memchr(body + off, '\0', ret->argv_len - off);

		ret->argc++;
		off = nul ? (size_t)(nul - body) + 1 : ret->argv_len;
	}

	ret->filename = body + r->argv_size;
	ret->filename_len = r->filename_size - 1;
	if (r->flags & SRVMON_EXEC_F_NO_CWD) {
		if (r->cwd_size || r->cwd_depth)
			return -EBADMSG;
		ret->cwd[0] = '\0'; /* not captured (history.cwd = off) */
	} else {
		err = cwd_text(body + r->argv_size + r->filename_size, r->cwd_size, r->cwd_depth,
			       r->flags & SRVMON_EXEC_F_CWD_TRUNC, ret->cwd, sizeof(ret->cwd));
		if (err < 0)
			return err;
	}

	if (r->flags & SRVMON_EXEC_F_TTY_PTS)
		(void)snprintf(ret->tty, sizeof(ret->tty), "pts/%u", r->tty_index);
	else if (r->flags & SRVMON_EXEC_F_HAS_TTY)
		copy_fixed(ret->tty, r->tty, sizeof(r->tty));
	copy_fixed(ret->comm, r->comm, sizeof(r->comm));
	copy_fixed(ret->cgroup, r->cgroup, sizeof(r->cgroup));
	exec_container_id(ret->cgroup, ret->container_id);
	return 0;
}

bool exec_event_next_arg(const struct exec_event *e, size_t *off, const char **ret, size_t *ret_len)
{
	const char *nul;

	if (*off >= e->argv_len)
		return false;
	*ret = e->argv + *off;
	nul = memchr(*ret, '\0', e->argv_len - *off);
	*ret_len = nul ? (size_t)(nul - *ret) : e->argv_len - *off;
	*off += *ret_len + 1;
	return true;
}
