/* The series metrics of the read API and the alert rules: which record and field each comes
 * from, its unit (policy as data; store_sqlite_schema.c copies the table into table metric_names).
 */
#ifndef SRVMON_SERVER_METRIC_H
#define SRVMON_SERVER_METRIC_H

#include <stddef.h>

struct metric_def {
	int id;		  /* stored in metrics.metric: never renumber */
	const char *name; /* the record's top-level member */
	const char *type; /* the record type carrying it */
	const char *unit; /* "percent", "bytes", "bits/s" */
};

/* NULL when name is not a metric. */
const struct metric_def *metric_by_name(const char *name);
const struct metric_def *metric_by_id(int id);
size_t metric_count(void);
const struct metric_def *metric_at(size_t i);

#endif
