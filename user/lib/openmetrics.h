/* The OpenMetrics 1.0 / Prometheus 0.0.4 text exposition, onto a growing string. Each
 * module renders its own families with these (modules/<name>/<name>_metrics.c). */
#ifndef SRVMON_OPENMETRICS_H
#define SRVMON_OPENMETRICS_H

#include <stdbool.h>
#include <stdint.h>

#include "sbuf.h"

/* One family's TYPE, UNIT (om only; unit NULL: none) and HELP lines. om: OpenMetrics names
 * a counter family without its samples' _total suffix; the 0.0.4 text format with it.
 * 0, -ENOMEM, or -EINVAL for a line over 511 bytes. */
int om_family(struct sbuf *b, bool om, const char *name, const char *type, const char *unit,
	      const char *help);

/* One sample line, name{label="value"} v, with the label value escaped (label NULL: no
 * label). 0 or -errno as above. */
int om_sample_u64(struct sbuf *b, const char *name, const char *label, const char *value,
		  uint64_t v);
int om_sample_double(struct sbuf *b, const char *name, const char *label, const char *value,
		     double v);

#endif
