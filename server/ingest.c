#include "ingest.h"

#include "numparse.h"
#include "srvmon_proto.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

static const char *const known_types[] = {SRVMON_RECORD_TYPES};

static bool is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static size_t skip_ws(const char *buf, size_t len, size_t i)
{
	while (i < len && is_ws(buf[i]))
		i++;
	return i;
}

/* i is at the opening quote; returns the index after the closing quote. */
static size_t skip_string(const char *buf, size_t len, size_t i, bool *ret_escaped)
{
	bool escaped = false;

	for (i++; i < len; i++) {
		if (buf[i] == '\\') {
			escaped = true;
			i++;
			continue;
		}
		if (buf[i] == '"')
			break;
	}
	if (ret_escaped)
		*ret_escaped = escaped;
	return i < len ? i + 1 : len;
}

/* Skips one JSON value starting at i; returns the index after it. */
static size_t skip_value(const char *buf, size_t len, size_t i)
{
	int depth = 0;

	if (i < len && buf[i] == '"')
		return skip_string(buf, len, i, NULL);
	while (i < len) {
		char c = buf[i];

		if (c == '"') {
			i = skip_string(buf, len, i, NULL);
			continue;
		}
		if (c == '{' || c == '[') {
			depth++;
		} else if (c == '}' || c == ']') {
			if (depth == 0)
				break;
			depth--;
			if (depth == 0)
				return i + 1;
		} else if (depth == 0 && (c == ',' || is_ws(c))) {
			break;
		}
		i++;
	}
	return i;
}

int ingest_raw_member(const char *buf, size_t len, const char *name, const char **ret_val,
		      size_t *ret_len)
{
	size_t nlen = strlen(name);
	size_t i = skip_ws(buf, len, 0);

	if (i >= len || buf[i] != '{')
		return -ENOENT;
	i++;
	for (;;) {
		size_t key, key_end, val;
		bool escaped;

		i = skip_ws(buf, len, i);
		if (i >= len || buf[i] != '"')
			return -ENOENT;
		key = i + 1;
		i = skip_string(buf, len, i, &escaped);
		key_end = i - 1;
		i = skip_ws(buf, len, i);
		if (i >= len || buf[i] != ':')
			return -ENOENT;
		val = skip_ws(buf, len, i + 1);
		i = skip_value(buf, len, val);
		if (!escaped && key_end - key == nlen && memcmp(buf + key, name, nlen) == 0) {
			*ret_val = buf + val;
			*ret_len = i - val;
			return 0;
		}
		i = skip_ws(buf, len, i);
		if (i >= len || buf[i] != ',')
			return -ENOENT;
		i++;
	}
}

/* Parses the raw JSON integer text: optional '-' (when allowed), digits, no fraction or
 * exponent, no leading zeros. */
static int parse_raw_int(const char *s, size_t len, bool allow_negative, bool *ret_negative,
			 uint64_t *ret)
{
	char digits[24];
	bool neg = false;

	if (len > 0 && s[0] == '-') {
		if (!allow_negative)
			return -ERANGE;
		neg = true;
		s++;
		len--;
	}
	if (len == 0 || len >= sizeof(digits))
		return -ERANGE;
	if (len > 1 && s[0] == '0')
		return -EINVAL;
	memcpy(digits, s, len);
	digits[len] = '\0';
	*ret_negative = neg;
	return parse_u64(digits, 0, UINT64_MAX, ret);
}

static int member_u64(const char *buf, size_t len, const cJSON *root, const char *name,
		      uint64_t *ret)
{
	const cJSON *item = cJSON_GetObjectItemCaseSensitive(root, name);
	const char *raw;
	size_t rlen;
	bool neg;

	if (!cJSON_IsNumber(item))
		return -EINVAL;
	if (ingest_raw_member(buf, len, name, &raw, &rlen) < 0)
		return -EINVAL;
	return parse_raw_int(raw, rlen, false, &neg, ret);
}

static int member_i64(const char *buf, size_t len, const cJSON *root, const char *name,
		      int64_t *ret)
{
	const cJSON *item = cJSON_GetObjectItemCaseSensitive(root, name);
	const char *raw;
	size_t rlen;
	uint64_t v;
	bool neg;
	int r;

	if (!cJSON_IsNumber(item))
		return -EINVAL;
	if (ingest_raw_member(buf, len, name, &raw, &rlen) < 0)
		return -EINVAL;
	r = parse_raw_int(raw, rlen, true, &neg, &v);
	if (r < 0)
		return r;
	if (neg) {
		if (v > (uint64_t)INT64_MAX + 1)
			return -ERANGE;
		*ret = v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)v;
	} else {
		if (v > INT64_MAX)
			return -ERANGE;
		*ret = (int64_t)v;
	}
	return 0;
}

/*
 * The checks every frame passes: size, no NUL, one JSON value and nothing after it, an
 * object. Returns the parsed tree, or NULL with *ret_err set.
 */
static cJSON *parse_object(const char *buf, size_t len, const char **ret_err)
{
	const char *end = NULL;
	cJSON *root;

	if (len > INGEST_MAX_MESSAGE) {
		*ret_err = "message too large";
		return NULL;
	}
	if (memchr(buf, '\0', len)) {
		*ret_err = "invalid JSON: NUL byte";
		return NULL;
	}
	root = cJSON_ParseWithLengthOpts(buf, len, &end, false);
	if (!root) {
		*ret_err = "invalid JSON";
		return NULL;
	}
	if (skip_ws(buf, len, end ? (size_t)(end - buf) : len) != len) {
		*ret_err = "invalid JSON: trailing data";
		cJSON_Delete(root);
		return NULL;
	}
	if (!cJSON_IsObject(root)) {
		*ret_err = "message is not a JSON object";
		cJSON_Delete(root);
		return NULL;
	}
	return root;
}

int ingest_parse(const char *buf, size_t len, struct ingest_msg *ret, const char **ret_err)
{
	cJSON *root;
	int r;

	memset(ret, 0, sizeof(*ret));
	root = parse_object(buf, len, ret_err);
	if (!root)
		return -EINVAL;
	r = ingest_check(root, buf, len, ret, ret_err);
	if (r < 0) {
		cJSON_Delete(root);
		return r;
	}
	ret->root = root;
	return 0;
}

int ingest_check(const cJSON *root, const char *buf, size_t len, struct ingest_msg *ret,
		 const char **ret_err)
{
	const cJSON *item;
	size_t i;

	memset(ret, 0, sizeof(*ret));
	if (!cJSON_IsObject(root)) {
		*ret_err = "message is not a JSON object";
		return -EINVAL;
	}
	item = cJSON_GetObjectItemCaseSensitive(root, "type");
	if (!cJSON_IsString(item)) {
		*ret_err = "type missing or not a string";
		goto fail;
	}
	for (i = 0; i < sizeof(known_types) / sizeof(known_types[0]); i++) {
		if (strcmp(item->valuestring, known_types[i]) == 0)
			ret->type = known_types[i];
	}
	if (!ret->type) {
		*ret_err = "unknown type";
		goto fail;
	}
	item = cJSON_GetObjectItemCaseSensitive(root, "host_id");
	if (!cJSON_IsString(item) || item->valuestring[0] == '\0' ||
	    strlen(item->valuestring) > INGEST_MAX_HOST_ID) {
		*ret_err = "host_id missing, empty or too long";
		goto fail;
	}
	ret->host_id = item->valuestring;
	if (member_u64(buf, len, root, "seq", &ret->seq) < 0) {
		*ret_err = "seq missing or not an integer in [0, 2^64-1]";
		goto fail;
	}
	if (member_i64(buf, len, root, "ts", &ret->ts) < 0) {
		*ret_err = "ts missing or not a 64-bit integer";
		goto fail;
	}
	ret->obj = root;
	return 0;
fail:
	memset(ret, 0, sizeof(*ret));
	return -EINVAL;
}

void ingest_msg_clear(struct ingest_msg *m)
{
	if (!m)
		return;
	cJSON_Delete(m->root);
	memset(m, 0, sizeof(*m));
}

bool ingest_is_batch(const char *buf, size_t len)
{
	static const char want[] = "\"batch\"";
	const char *v;
	size_t vlen;

	if (ingest_raw_member(buf, len, "type", &v, &vlen) < 0)
		return false;
	return vlen == sizeof(want) - 1 && memcmp(v, want, vlen) == 0;
}

/* Walks the raw array text at buf[i] == '[' and fills the element spans. 0 or -EINVAL. */
static int split_array(const char *buf, size_t len, size_t i, struct ingest_span *ret_spans,
		       size_t cap, size_t *ret_n)
{
	size_t n = 0;

	i = skip_ws(buf, len, i + 1);
	if (i < len && buf[i] == ']') {
		*ret_n = 0;
		return 0;
	}
	for (;;) {
		size_t start = i;

		i = skip_value(buf, len, i);
		if (i == start || n >= cap)
			return -EINVAL;
		ret_spans[n].buf = buf + start;
		ret_spans[n].len = i - start;
		n++;
		i = skip_ws(buf, len, i);
		if (i >= len)
			return -EINVAL;
		if (buf[i] == ']')
			break;
		if (buf[i] != ',')
			return -EINVAL;
		i = skip_ws(buf, len, i + 1);
	}
	*ret_n = n;
	return 0;
}

int ingest_batch_split(const char *buf, size_t len, struct ingest_span *ret_spans, size_t cap,
		       size_t *ret_n, cJSON **ret_root, const char **ret_err)
{
	const cJSON *item, *el;
	const char *raw;
	size_t rlen, n = 0;
	cJSON *root;
	int r = -EINVAL;

	*ret_n = 0;
	*ret_root = NULL;
	root = parse_object(buf, len, ret_err);
	if (!root)
		return -EINVAL;
	item = cJSON_GetObjectItemCaseSensitive(root, "type");
	if (!cJSON_IsString(item) || strcmp(item->valuestring, "batch") != 0) {
		*ret_err = "type missing or not \"batch\"";
		goto out;
	}
	item = cJSON_GetObjectItemCaseSensitive(root, "records");
	if (!cJSON_IsArray(item) || !item->child) {
		*ret_err = "records missing, not an array or empty";
		goto out;
	}
	if ((size_t)cJSON_GetArraySize(item) > cap) {
		*ret_err = "batch over the record limit";
		goto out;
	}
	/* The elements' raw text is what is stored: find it in the (now known valid) JSON. */
	if (ingest_raw_member(buf, len, "records", &raw, &rlen) < 0 ||
	    split_array(buf, len, (size_t)(raw - buf), ret_spans, cap, &n) < 0 ||
	    n != (size_t)cJSON_GetArraySize(item)) {
		*ret_err = "records member could not be split";
		goto out;
	}
	/* The nodes in the same order as the raw elements. */
	el = item->child;
	for (size_t i = 0; i < n; i++, el = el->next)
		ret_spans[i].node = el;
	*ret_n = n;
	*ret_root = root;
	return 0;
out:
	cJSON_Delete(root);
	return r;
}

int ingest_format_welcome(size_t max_frame, char *buf, size_t size)
{
	int n = snprintf(buf, size, "{\"type\":\"welcome\",\"batch\":true,\"max_frame\":%zu}",
			 max_frame);

	if (n < 0 || (size_t)n >= size)
		return -ENOSPC;
	return n;
}

int ingest_format_ack(uint64_t seq, char *buf, size_t size)
{
	int n = snprintf(buf, size, "{\"type\":\"ack\",\"seq\":%" PRIu64 "}", seq);

	if (n < 0 || (size_t)n >= size)
		return -ENOSPC;
	return n;
}

int ingest_format_error(const char *err, char *buf, size_t size)
{
	cJSON *o = cJSON_CreateObject();
	int r = -ENOMEM;

	if (!o)
		return -ENOMEM;
	if (!cJSON_AddStringToObject(o, "type", "error") ||
	    !cJSON_AddStringToObject(o, "error", err))
		goto out;
	r = cJSON_PrintPreallocated(o, buf, (int)size, false) ? (int)strlen(buf) : -ENOSPC;
out:
	cJSON_Delete(o);
	return r;
}
