/* The OpenMetrics / Prometheus text exposition: family metadata and sample lines. */
#include "openmetrics.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int addf(struct sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int addf(struct sbuf *b, const char *fmt, ...)
{
	char line[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(line))
		return -EINVAL;
	return sbuf_add(b, line, (size_t)n);
}

/* OpenMetrics names a counter family without its samples' _total suffix and has UNIT
 * lines; the Prometheus text format (0.0.4) names it with the suffix and has no UNIT. */
int om_family(struct sbuf *b, bool om, const char *name, const char *type, const char *unit,
	      const char *help)
{
	const char *suffix = !om && strcmp(type, "counter") == 0 ? "_total" : "";
	int r = addf(b, "# TYPE %s%s %s\n", name, suffix, type);

	if (r == 0 && unit && om)
		r = addf(b, "# UNIT %s %s\n", name, unit);
	if (r == 0)
		r = addf(b, "# HELP %s%s %s\n", name, suffix, help);
	return r;
}

/* Appends a label value with \, " and newline escaped (OpenMetrics ABNF). */
static int add_label_value(struct sbuf *b, const char *v)
{
	int r = 0;

	for (const char *p = v; *p && r == 0; p++) {
		if (*p == '\\')
			r = sbuf_adds(b, "\\\\");
		else if (*p == '"')
			r = sbuf_adds(b, "\\\"");
		else if (*p == '\n')
			r = sbuf_adds(b, "\\n");
		else
			r = sbuf_addc(b, *p);
	}
	return r;
}

/* name{label="value"} or name, then the value. */
static int sample_start(struct sbuf *b, const char *name, const char *label, const char *value)
{
	int r = sbuf_adds(b, name);

	if (r == 0 && label) {
		r = addf(b, "{%s=\"", label);
		if (r == 0)
			r = add_label_value(b, value);
		if (r == 0)
			r = sbuf_adds(b, "\"}");
	}
	return r;
}

int om_sample_u64(struct sbuf *b, const char *name, const char *label, const char *value,
		  uint64_t v)
{
	int r = sample_start(b, name, label, value);

	return r ? r : addf(b, " %" PRIu64 "\n", v);
}

int om_sample_double(struct sbuf *b, const char *name, const char *label, const char *value,
		     double v)
{
	int r = sample_start(b, name, label, value);

	return r ? r : addf(b, " %.17g\n", v);
}
