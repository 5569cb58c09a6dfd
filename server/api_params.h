/* Query parameters of /api/v1 requests: collected from the URL, checked against what an
 * endpoint accepts, and the time ranges and cursors parsed. Pure (docs/api.md). */
#ifndef SRVMON_SERVER_API_PARAMS_H
#define SRVMON_SERVER_API_PARAMS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define API_ARGS_MAX	  12
#define API_ARG_NAME_MAX  16
#define API_ARG_VALUE_MAX 512

struct api_args {
	size_t n;
	struct {
		char name[API_ARG_NAME_MAX];
		char value[API_ARG_VALUE_MAX];
	} a[API_ARGS_MAX];
};

/* One decoded "name=value" fragment of the query string. 0, or -EINVAL with *ret_param
 * pointing at the name (or "query" when it has none) and *ret_detail the reason: repeated,
 * too long, too many. */
int api_args_add(struct api_args *args, const char *frag, const char **ret_param,
		 const char **ret_detail);
/* The value of name, NULL when absent. */
const char *api_args_get(const struct api_args *args, const char *name);
/* -EINVAL with *ret_param when an argument is not in the NULL-terminated allowed list. */
int api_args_only(const struct api_args *args, const char *const *allowed, const char **ret_param);

/* Unix ms, 0 .. 2^53 (JavaScript's exact integers). 0 or -EINVAL. */
int api_parse_ms(const char *s, int64_t *ret);

#define API_SERIES_MAX_BUCKETS 2000
#define API_SERIES_MAX_RANGE   (31LL * 86400 * 1000)
#define API_SERIES_DEFAULT_MS  (15LL * 60 * 1000)

struct api_range {
	int64_t from, to, step;
};

/*
 * The range of a series request from its from, to and step arguments (NULL: absent) and the
 * time now: defaults, bounds, steps of a minute or more rounded up to whole minutes.
 * 0, or -EINVAL with *ret_param and *ret_detail.
 */
int api_series_range(const char *from, const char *to, const char *step, int64_t now_ms,
		     struct api_range *ret, const char **ret_param, const char **ret_detail);

/* from/to of a list request: to defaults to now, from to to - default_span (0: unbounded).
 * 0 or -EINVAL with *ret_param and *ret_detail. */
int api_list_range(const char *from, const char *to, int64_t now_ms, int64_t default_span,
		   int64_t *ret_from, int64_t *ret_to, const char **ret_param,
		   const char **ret_detail);

/* "ts.id" of GET /api/v1/exec. */
int api_cursor_parse(const char *s, int64_t *ret_ts, int64_t *ret_id);
int api_cursor_format(int64_t ts, int64_t id, char *buf, size_t size);

#endif
