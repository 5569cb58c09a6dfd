/* The read half's column formatting (store_pg_read.h): the bytes the SQLite engine writes. */
#include "store_pg_read.h"

#include "json_out.h"
#include "sbuf.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Type OIDs of the built-in types (catalog/pg_type.h, fixed since PostgreSQL 7). */
#define OID_INT8    20
#define OID_INT2    21
#define OID_INT4    23
#define OID_FLOAT4  700
#define OID_FLOAT8  701
#define OID_NUMERIC 1700

static int add_double(struct sbuf *out, double v)
{
	char buf[40];
	int n = snprintf(buf, sizeof(buf), "%.15g", v);

	return sbuf_add(out, buf, (size_t)n);
}

/* A decimal integer that fits int64 (no sign other than '-', no fraction). */
static bool parse_int(const char *s, int64_t *ret)
{
	char *end = NULL;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || end == s || *end)
		return false;
	*ret = v;
	return true;
}

/* The text of a float or numeric as a double; false for garbage. */
static bool parse_double(const char *s, double *ret)
{
	char *end = NULL;
	double v = strtod(s, &end);

	if (end == s || *end)
		return false;
	*ret = v;
	return true;
}

/* SQLite's INTEGER affinity: a real that is a whole number within int64 is stored as
 * that integer. */
static int add_numeric(struct sbuf *out, const char *s)
{
	int64_t i;
	double d;

	if (parse_int(s, &i))
		return json_add_i64(out, i);
	if (!parse_double(s, &d))
		return sbuf_adds(out, "null");
	if (d == floor(d) && d > -9223372036854775808.0 && d < 9223372036854775808.0)
		return json_add_i64(out, (int64_t)d);
	return add_double(out, d);
}

int pg_json_col(struct sbuf *out, const PGresult *r, int row, int col)
{
	const char *s;
	double d;

	if (PQgetisnull(r, row, col))
		return sbuf_adds(out, "null");
	s = PQgetvalue(r, row, col);
	switch (PQftype(r, col)) {
	case OID_INT2:
	case OID_INT4:
	case OID_INT8:
		return sbuf_adds(out, s);
	case OID_FLOAT4:
	case OID_FLOAT8:
		return parse_double(s, &d) ? add_double(out, d) : sbuf_adds(out, "null");
	case OID_NUMERIC:
		return add_numeric(out, s);
	default:
		return json_add_text(out, s, (size_t)PQgetlength(r, row, col));
	}
}

int pg_json_member(struct sbuf *out, bool first, const char *name, const PGresult *r, int row,
		   int col)
{
	int ret = first ? 0 : sbuf_addc(out, ',');

	if (ret == 0)
		ret = json_add_str(out, name, strlen(name));
	if (ret == 0)
		ret = sbuf_addc(out, ':');
	if (ret == 0)
		ret = pg_json_col(out, r, row, col);
	return ret;
}

double pg_get_double(const PGresult *r, int row, int col)
{
	double d = 0;

	if (PQgetisnull(r, row, col) || !parse_double(PQgetvalue(r, row, col), &d))
		return 0;
	return d;
}

int64_t pg_get_i64_trunc(const PGresult *r, int row, int col)
{
	const char *s;
	int64_t i;
	double d;

	if (PQgetisnull(r, row, col))
		return 0;
	s = PQgetvalue(r, row, col);
	if (parse_int(s, &i))
		return i;
	if (!parse_double(s, &d) || isnan(d))
		return 0;
	if (d <= -9223372036854775808.0)
		return INT64_MIN;
	if (d >= 9223372036854775808.0)
		return INT64_MAX;
	return (int64_t)d;
}

const char *pg_f64(char buf[32], double v)
{
	if (isnan(v))
		return "NaN";
	if (isinf(v))
		return v > 0 ? "Infinity" : "-Infinity";
	(void)snprintf(buf, 32, "%.17g", v);
	return buf;
}

bool pg_ok(struct db *db, PGresult *r, const char *what)
{
	ExecStatusType st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;

	if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK)
		return true;
	if (r) {
		(void)pg_fail(db, r, what);
		PQclear(r);
	}
	return false;
}
