#include "retention.h"

#include "db.h"
#include "numparse.h"

#include <errno.h>
#include <string.h>

#define DAY_MS	 (86400ull * 1000)
#define MAX_DAYS (100ull * 366)

int retention_parse(const char *s, uint64_t *ret_ms)
{
	size_t len = strlen(s);
	char days[24];
	uint64_t n;
	int r;

	if (strcmp(s, "0") == 0) {
		*ret_ms = 0;
		return 0;
	}
	if (len >= 2 && len < sizeof(days) && s[len - 1] == 'd') {
		memcpy(days, s, len - 1);
		days[len - 1] = '\0';
		r = parse_u64(days, 1, MAX_DAYS, &n);
		if (r == 0)
			*ret_ms = n * DAY_MS;
		return r;
	}
	return parse_duration_ms(s, 1000, MAX_DAYS * DAY_MS, ret_ms);
}

static int64_t cutoff(uint64_t age_ms, uint64_t wall_ms)
{
	return wall_ms > age_ms ? (int64_t)(wall_ms - age_ms) : 0;
}

int64_t retention_step(struct db *db, uint64_t age_ms, uint64_t rollup_age_ms, uint64_t wall_ms,
		       uint64_t *ret_deleted)
{
	uint64_t rollups = 0;
	int r;

	*ret_deleted = 0;
	if (age_ms) {
		r = db_records_expire(db, cutoff(age_ms, wall_ms), RETENTION_BATCH, ret_deleted);
		if (r < 0)
			return r;
	}
	if (rollup_age_ms) {
		r = db_rollups_expire(db, cutoff(rollup_age_ms, wall_ms), RETENTION_BATCH,
				      &rollups);
		if (r < 0)
			return r;
	}
	return *ret_deleted == RETENTION_BATCH || rollups == RETENTION_BATCH ? RETENTION_BUSY_MS
									     : RETENTION_IDLE_MS;
}
