#include "alert_rule.h"

#include "json_out.h"
#include "metric.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const kinds[] = {"metric", "offline", "exec"};
static const char *const ops[] = {">", ">=", "<", "<="};

int alert_kind_parse(const char *s, enum alert_kind *ret)
{
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		if (strcmp(s, kinds[i]) == 0) {
			*ret = (enum alert_kind)i;
			return 0;
		}
	}
	return -EINVAL;
}

const char *alert_kind_name(enum alert_kind k)
{
	return (unsigned int)k < 3 ? kinds[k] : "?";
}

int alert_op_parse(const char *s, enum alert_op *ret)
{
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		if (strcmp(s, ops[i]) == 0) {
			*ret = (enum alert_op)i;
			return 0;
		}
	}
	return -EINVAL;
}

const char *alert_op_name(enum alert_op op)
{
	return (unsigned int)op < 4 ? ops[op] : "?";
}

bool alert_op_holds(enum alert_op op, double value, double threshold)
{
	switch (op) {
	case ALERT_GT:
		return value > threshold;
	case ALERT_GE:
		return value >= threshold;
	case ALERT_LT:
		return value < threshold;
	case ALERT_LE:
		return value <= threshold;
	}
	return false;
}

int alert_threshold_parse(const char *s, double *ret)
{
	static const struct {
		const char *suffix;
		double factor;
	} units[] = {
		{"Ki", 1024.0}, {"Mi", 1048576.0}, {"Gi", 1073741824.0}, {"Ti", 1099511627776.0},
		{"k", 1e3},	{"K", 1e3},	   {"M", 1e6},		 {"G", 1e9},
		{"T", 1e12},
	};
	char *end = NULL;
	double v;

	if (!*s || (*s != '-' && *s != '.' && (*s < '0' || *s > '9')))
		return -EINVAL;
	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || !isfinite(v))
		return -EINVAL;
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		size_t n = strlen(units[i].suffix);

		if (strncmp(end, units[i].suffix, n) == 0) {
			v *= units[i].factor;
			end += n;
			break;
		}
	}
	if (*end == 'B')
		end++;
	if (*end)
		return -EINVAL;
	*ret = v;
	return 0;
}

static bool printable(const char *s)
{
	for (; *s; s++) {
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return false;
	}
	return true;
}

int alert_rule_check(struct alert_rule *rule, const char **ret_err)
{
	regex_t re;

	if (rule->for_ms > ALERT_FOR_MAX_MS) {
		*ret_err = "for_ms: over 7 days";
		return -EINVAL;
	}
	switch (rule->kind) {
	case ALERT_METRIC:
		if (!metric_by_name(rule->metric)) {
			*ret_err = "metric: not one of the series metrics";
			return -EINVAL;
		}
		if (!isfinite(rule->threshold)) {
			*ret_err = "threshold: not a number";
			return -EINVAL;
		}
		break;
	case ALERT_OFFLINE:
		if (rule->for_ms < 1000) {
			*ret_err = "for_ms: an offline rule needs at least 1000";
			return -EINVAL;
		}
		break;
	case ALERT_EXEC:
		if (!rule->regex[0]) {
			*ret_err = "regex: required for an exec rule";
			return -EINVAL;
		}
		if (regcomp(&re, rule->regex, REG_EXTENDED | REG_NOSUB) != 0) {
			*ret_err = "regex: not a POSIX extended regular expression";
			return -EINVAL;
		}
		regfree(&re);
		if (!rule->have_for)
			rule->for_ms = ALERT_EXEC_FOR_MS;
		break;
	default:
		*ret_err = "kind: not metric, offline or exec";
		return -EINVAL;
	}
	if (rule->webhook[0] && strncmp(rule->webhook, "http://", 7) != 0 &&
	    strncmp(rule->webhook, "https://", 8) != 0) {
		*ret_err = "webhook: not an http:// or https:// URL";
		return -EINVAL;
	}
	if (rule->email[0] && !alert_email_address_ok(rule->email)) {
		*ret_err = "email: not one address local@domain (printable ASCII, no spaces)";
		return -EINVAL;
	}
	if (!printable(rule->webhook) || !printable(rule->name) || !printable(rule->host_id)) {
		*ret_err = "control characters in name, host_id or webhook";
		return -EINVAL;
	}
	if (!rule->name[0])
		alert_rule_describe(rule, rule->name, sizeof(rule->name));
	return 0;
}

void alert_rule_describe(const struct alert_rule *rule, char *buf, size_t size)
{
	uint64_t s = rule->for_ms / 1000;

	switch (rule->kind) {
	case ALERT_METRIC:
		(void)snprintf(buf, size, "%s %s %.15g for %" PRIu64 " s", rule->metric,
			       alert_op_name(rule->op), rule->threshold, s);
		break;
	case ALERT_OFFLINE:
		(void)snprintf(buf, size, "host offline for %" PRIu64 " s", s);
		break;
	case ALERT_EXEC:
		(void)snprintf(buf, size, "exec matches %.100s", rule->regex);
		break;
	}
}

/* Copies a string member into ret (size bytes); absent or null leaves ret empty. */
static int get_str(const cJSON *root, const char *name, char *ret, size_t size, bool required,
		   const char **ret_err, const char *err_type)
{
	const cJSON *item = cJSON_GetObjectItemCaseSensitive(root, name);

	if (!item || cJSON_IsNull(item)) {
		if (required) {
			*ret_err = err_type;
			return -EINVAL;
		}
		return 0;
	}
	if (!cJSON_IsString(item) || strlen(item->valuestring) >= size) {
		*ret_err = err_type;
		return -EINVAL;
	}
	memcpy(ret, item->valuestring, strlen(item->valuestring) + 1);
	return 0;
}

int alert_rule_from_json(const char *text, size_t len, struct alert_rule *ret, const char **ret_err)
{
	static const char *const known[] = {"name",	 "kind",  "metric", "op",
					    "threshold", "regex", "for_ms", "host_id",
					    "webhook",	 "email", NULL};
	cJSON *root = cJSON_ParseWithLength(text, len);
	const cJSON *item;
	char kind[16] = "";
	char op[4] = "";
	int r = -EINVAL;

	memset(ret, 0, sizeof(*ret));
	if (!root) {
		*ret_err = "not JSON";
		return -EINVAL;
	}
	if (!cJSON_IsObject(root)) {
		*ret_err = "not a JSON object";
		goto out;
	}
	cJSON_ArrayForEach(item, root)
	{
		bool ok = false;

		for (const char *const *k = known; *k && !ok; k++)
			ok = strcmp(*k, item->string) == 0;
		if (!ok) {
			*ret_err = "unknown member (id and created_ms are set by the server)";
			goto out;
		}
	}
	if (get_str(root, "kind", kind, sizeof(kind), true, ret_err,
		    "kind: not metric, offline or exec") < 0 ||
	    alert_kind_parse(kind, &ret->kind) < 0) {
		*ret_err = "kind: not metric, offline or exec";
		goto out;
	}
	if (get_str(root, "name", ret->name, sizeof(ret->name), false, ret_err,
		    "name: not a string of at most 128 bytes") < 0 ||
	    get_str(root, "host_id", ret->host_id, sizeof(ret->host_id), false, ret_err,
		    "host_id: not a string of at most 255 bytes") < 0 ||
	    get_str(root, "webhook", ret->webhook, sizeof(ret->webhook), false, ret_err,
		    "webhook: not a string of at most 1024 bytes") < 0 ||
	    get_str(root, "email", ret->email, sizeof(ret->email), false, ret_err,
		    "email: not a string of at most 254 bytes") < 0 ||
	    get_str(root, "regex", ret->regex, sizeof(ret->regex), ret->kind == ALERT_EXEC, ret_err,
		    "regex: not a string of 1..512 bytes") < 0)
		goto out;
	if (ret->kind == ALERT_METRIC) {
		if (get_str(root, "metric", ret->metric, sizeof(ret->metric), true, ret_err,
			    "metric: not one of the series metrics") < 0)
			goto out;
		if (get_str(root, "op", op, sizeof(op), true, ret_err, "op: not > >= < <=") < 0 ||
		    alert_op_parse(op, &ret->op) < 0) {
			*ret_err = "op: not > >= < <=";
			goto out;
		}
		item = cJSON_GetObjectItemCaseSensitive(root, "threshold");
		if (!cJSON_IsNumber(item)) {
			*ret_err = "threshold: not a number";
			goto out;
		}
		ret->threshold = item->valuedouble;
	}
	item = cJSON_GetObjectItemCaseSensitive(root, "for_ms");
	if (item && !cJSON_IsNull(item)) {
		if (!cJSON_IsNumber(item) || item->valuedouble < 0 ||
		    item->valuedouble > (double)ALERT_FOR_MAX_MS ||
		    item->valuedouble != (double)(uint64_t)item->valuedouble) {
			*ret_err = "for_ms: not an integer 0..604800000";
			goto out;
		}
		ret->for_ms = (uint64_t)item->valuedouble;
		ret->have_for = true;
	}
	r = alert_rule_check(ret, ret_err);
out:
	cJSON_Delete(root);
	return r;
}

static int add_key(struct sbuf *out, const char *key)
{
	int r = json_add_str(out, key, strlen(key));

	return r ? r : sbuf_addc(out, ':');
}

static int add_str_or_null(struct sbuf *out, const char *key, const char *v)
{
	int r = sbuf_addc(out, ',');

	if (r == 0)
		r = add_key(out, key);
	if (r == 0)
		r = v[0] ? json_add_text(out, v, strlen(v)) : sbuf_adds(out, "null");
	return r;
}

int alert_rule_to_json(const struct alert_rule *rule, struct sbuf *out)
{
	char num[40];
	int r;

	r = sbuf_adds(out, "{\"id\":");
	if (r == 0)
		r = json_add_i64(out, rule->id);
	if (r == 0)
		r = add_str_or_null(out, "name", rule->name);
	if (r == 0)
		r = add_str_or_null(out, "kind", alert_kind_name(rule->kind));
	if (r == 0 && rule->kind == ALERT_METRIC) {
		(void)snprintf(num, sizeof(num), "%.15g", rule->threshold);
		r = add_str_or_null(out, "metric", rule->metric);
		if (r == 0)
			r = add_str_or_null(out, "op", alert_op_name(rule->op));
		if (r == 0)
			r = sbuf_adds(out, ",\"threshold\":");
		if (r == 0)
			r = sbuf_adds(out, num);
	}
	if (r == 0 && rule->kind == ALERT_EXEC)
		r = add_str_or_null(out, "regex", rule->regex);
	if (r == 0)
		r = sbuf_adds(out, ",\"for_ms\":");
	if (r == 0)
		r = json_add_u64(out, rule->for_ms);
	if (r == 0)
		r = add_str_or_null(out, "host_id", rule->host_id);
	if (r == 0)
		r = add_str_or_null(out, "webhook", rule->webhook);
	if (r == 0)
		r = add_str_or_null(out, "email", rule->email);
	if (r == 0)
		r = sbuf_adds(out, ",\"created_ms\":");
	if (r == 0)
		r = json_add_u64(out, rule->created_ms);
	if (r == 0)
		r = sbuf_addc(out, '}');
	return r;
}
