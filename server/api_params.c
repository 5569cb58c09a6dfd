#include "api_params.h"

#include "numparse.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#define MS_MAX ((int64_t)1 << 53)

int api_args_add(struct api_args *args, const char *frag, const char **ret_param,
		 const char **ret_detail)
{
	const char *eq = strchr(frag, '=');
	size_t nlen = eq ? (size_t)(eq - frag) : strlen(frag);
	const char *value = eq ? eq + 1 : "";

	*ret_param = "query";
	if (nlen == 0) {
		*ret_detail = "argument without a name";
		return -EINVAL;
	}
	if (nlen >= API_ARG_NAME_MAX) {
		*ret_detail = "unknown parameter";
		return -EINVAL;
	}
	if (args->n >= API_ARGS_MAX) {
		*ret_detail = "too many parameters";
		return -EINVAL;
	}
	memcpy(args->a[args->n].name, frag, nlen);
	args->a[args->n].name[nlen] = '\0';
	*ret_param = args->a[args->n].name;
	if (api_args_get(args, args->a[args->n].name)) {
		*ret_detail = "given more than once";
		return -EINVAL;
	}
	if (strlen(value) >= API_ARG_VALUE_MAX) {
		*ret_detail = "longer than 511 bytes";
		return -EINVAL;
	}
	memcpy(args->a[args->n].value, value, strlen(value) + 1);
	args->n++;
	return 0;
}

const char *api_args_get(const struct api_args *args, const char *name)
{
	for (size_t i = 0; i < args->n; i++) {
		if (strcmp(args->a[i].name, name) == 0)
			return args->a[i].value;
	}
	return NULL;
}

int api_args_only(const struct api_args *args, const char *const *allowed, const char **ret_param)
{
	for (size_t i = 0; i < args->n; i++) {
		bool ok = false;

		for (const char *const *p = allowed; *p && !ok; p++)
			ok = strcmp(*p, args->a[i].name) == 0;
		if (!ok) {
			*ret_param = args->a[i].name;
			return -EINVAL;
		}
	}
	return 0;
}

int api_parse_ms(const char *s, int64_t *ret)
{
	uint64_t v;
	int r = parse_u64(s, 0, (uint64_t)MS_MAX, &v);

	if (r < 0)
		return -EINVAL;
	*ret = (int64_t)v;
	return 0;
}

static int bad(const char *param, const char *detail, const char **ret_param,
	       const char **ret_detail)
{
	*ret_param = param;
	*ret_detail = detail;
	return -EINVAL;
}

int api_list_range(const char *from, const char *to, int64_t now_ms, int64_t default_span,
		   int64_t *ret_from, int64_t *ret_to, const char **ret_param,
		   const char **ret_detail)
{
	static const char not_ms[] = "not an integer 0..2^53 (Unix ms)";

	*ret_to = now_ms;
	if (to && api_parse_ms(to, ret_to) < 0)
		return bad("to", not_ms, ret_param, ret_detail);
	if (!to && !default_span)
		*ret_to = MS_MAX;
	*ret_from = default_span && *ret_to > default_span ? *ret_to - default_span : 0;
	if (from && api_parse_ms(from, ret_from) < 0)
		return bad("from", not_ms, ret_param, ret_detail);
	if (*ret_from > *ret_to)
		return bad("from", "after to", ret_param, ret_detail);
	return 0;
}

int api_series_range(const char *from, const char *to, const char *step, int64_t now_ms,
		     struct api_range *ret, const char **ret_param, const char **ret_detail)
{
	int64_t span;
	uint64_t v;
	int r;

	r = api_list_range(from, to, now_ms, API_SERIES_DEFAULT_MS, &ret->from, &ret->to, ret_param,
			   ret_detail);
	if (r < 0)
		return r;
	span = ret->to - ret->from;
	if (span > API_SERIES_MAX_RANGE)
		return bad("from", "range over 31 days", ret_param, ret_detail);
	if (step) {
		if (parse_u64(step, 1000, 86400000, &v) < 0)
			return bad("step", "not 1000..86400000 (ms)", ret_param, ret_detail);
		ret->step = (int64_t)v;
	} else {
		/* About 300 buckets, whole seconds. */
		ret->step = (span / 300 + 999) / 1000 * 1000;
		if (ret->step < 1000)
			ret->step = 1000;
	}
	/* A minute or more: whole minutes, read from the per-minute aggregates. */
	if (ret->step >= 60000)
		ret->step = (ret->step + 59999) / 60000 * 60000;
	if (span / ret->step + 1 > API_SERIES_MAX_BUCKETS)
		return bad("step", "too small for the range (at most 2000 buckets)", ret_param,
			   ret_detail);
	return 0;
}

int api_cursor_parse(const char *s, int64_t *ret_ts, int64_t *ret_id)
{
	const char *dot = strchr(s, '.');
	char ts[24];
	uint64_t id;

	if (!dot || (size_t)(dot - s) >= sizeof(ts))
		return -EINVAL;
	memcpy(ts, s, (size_t)(dot - s));
	ts[dot - s] = '\0';
	if (api_parse_ms(ts, ret_ts) < 0 || parse_u64(dot + 1, 1, INT64_MAX, &id) < 0)
		return -EINVAL;
	*ret_id = (int64_t)id;
	return 0;
}

int api_cursor_format(int64_t ts, int64_t id, char *buf, size_t size)
{
	int n = snprintf(buf, size, "%" PRId64 ".%" PRId64, ts, id);

	return n < 0 || (size_t)n >= size ? -ENOSPC : n;
}
