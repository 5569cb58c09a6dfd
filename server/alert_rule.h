/* Alert rules: parsing (CLI arguments, the JSON of POST /api/v1/alerts), validation and
 * their JSON form (docs/api.md, "Alerts"). Pure. */
#ifndef SRVMON_SERVER_ALERT_RULE_H
#define SRVMON_SERVER_ALERT_RULE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "alert_email.h"

struct sbuf;

enum alert_kind {
	ALERT_METRIC,
	ALERT_OFFLINE,
	ALERT_EXEC,
};

enum alert_op {
	ALERT_GT,
	ALERT_GE,
	ALERT_LT,
	ALERT_LE,
};

#define ALERT_NAME_MAX	  128
#define ALERT_REGEX_MAX	  512
#define ALERT_HOST_MAX	  255
#define ALERT_WEBHOOK_MAX 1024
#define ALERT_FOR_MAX_MS  (7ULL * 86400 * 1000)
#define ALERT_EXEC_FOR_MS (5ULL * 60 * 1000)

struct alert_rule {
	int64_t id; /* 0 until stored */
	char name[ALERT_NAME_MAX + 1];
	enum alert_kind kind;
	char metric[32];
	enum alert_op op;
	double threshold;
	char regex[ALERT_REGEX_MAX + 1];
	uint64_t for_ms;
	bool have_for;
	char host_id[ALERT_HOST_MAX + 1];    /* "": every host */
	char webhook[ALERT_WEBHOOK_MAX + 1]; /* "": none */
	char email[ALERT_EMAIL_MAX + 1];     /* "": none; alert_email_address_ok() */
	uint64_t created_ms;
};

int alert_kind_parse(const char *s, enum alert_kind *ret);
const char *alert_kind_name(enum alert_kind k);
int alert_op_parse(const char *s, enum alert_op *ret);
const char *alert_op_name(enum alert_op op);
bool alert_op_holds(enum alert_op op, double value, double threshold);
/* A number with an optional unit: k M G T (x1000), Ki Mi Gi Ti (x1024), then an optional B
 * ("5GiB", "90", "100M", "2.5"). 0 or -EINVAL. */
int alert_threshold_parse(const char *s, double *ret);

/* Completes and validates a rule (defaults: for_ms of exec rules, the name). 0, or -EINVAL
 * with *ret_err a reason naming the field. */
int alert_rule_check(struct alert_rule *rule, const char **ret_err);
/* The rule from the JSON of POST /api/v1/alerts, checked. 0, -EINVAL (*ret_err), -ENOMEM. */
int alert_rule_from_json(const char *text, size_t len, struct alert_rule *ret,
			 const char **ret_err);
/* Appends the rule's JSON object. 0 or -ENOMEM. */
int alert_rule_to_json(const struct alert_rule *rule, struct sbuf *out);
/* "cpu_percent > 90 for 300 s" and the like. */
void alert_rule_describe(const struct alert_rule *rule, char *buf, size_t size);

#endif
