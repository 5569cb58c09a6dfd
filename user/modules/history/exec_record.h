/*
 * Decoding of the exec records of bpf/exec.bpf.c (struct srvmon_exec_rec and the
 * argv, filename and cwd bytes that follow it). Pure: takes the record bytes, checks
 * every size before use, and fills a struct that points into them.
 */
#ifndef SRVMON_EXEC_RECORD_H
#define SRVMON_EXEC_RECORD_H

#include <linux/types.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "srvmon_abi.h"

#define EXEC_CWD_TEXT_MAX (SRVMON_EXEC_CWD_MAX + SRVMON_EXEC_CWD_DEPTH + 8)
#define EXEC_TTY_TEXT_MAX 40
#define EXEC_AUID_UNSET	  0xffffffffu

struct exec_event {
	uint64_t ts_ms;	  /* Unix time in ms */
	uint64_t mono_ns; /* CLOCK_MONOTONIC at the exec */
	uint64_t cgroup_id;
	uint32_t pid, tid, ppid, uid, gid, euid;
	uint32_t auid;	    /* EXEC_AUID_UNSET when unset */
	uint32_t sessionid; /* 0xffffffff when unset */
	int32_t ret;
	uint32_t flags; /* SRVMON_EXEC_F_* */
	bool argv_truncated;
	uint32_t argv_total; /* size of the whole original argv in bytes */
	/* argv: argv_len bytes of NUL-terminated arguments (argc of them); when a single
	 * argument was longer than the limit, the last one is partial and unterminated. */
	const char *argv;
	size_t argv_len;
	size_t argc;
	const char *filename; /* points into the record */
	size_t filename_len;
	char cwd[EXEC_CWD_TEXT_MAX]; /* "..." first when the walk was cut short */
	char tty[EXEC_TTY_TEXT_MAX]; /* "pts/3", "tty1", "" when none */
	char comm[SRVMON_EXEC_COMM_LEN + 1];
	char cgroup[SRVMON_EXEC_CGROUP_LEN + 1];
	char container_id[65]; /* 64 hex digits from the cgroup name, or "" */
	const char *user;      /* name of uid, filled by the caller; NULL: unknown */
};

/*
 * Decodes the record data[0..size). real_minus_mono_ns converts the monotonic time
 * to Unix time. Returns 0, -EPROTO (not an exec record of this version) or -EBADMSG
 * (sizes inconsistent). *ret points into data.
 */
int exec_record_decode(const void *data, size_t size, int64_t real_minus_mono_ns,
		       struct exec_event *ret);

/* Iterates over the arguments: *off starts at 0; returns false after the last one. */
bool exec_event_next_arg(const struct exec_event *e, size_t *off, const char **ret,
			 size_t *ret_len);

/* The container id in a cgroup leaf name ("docker-<64 hex>.scope", "<64 hex>", ...)
 * written to ret (65 bytes); "" when there is none. */
void exec_container_id(const char *cgroup, char *ret);

#endif
