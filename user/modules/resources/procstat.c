#include "procstat.h"

#include "numparse.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#define CPU_COLUMNS_MIN 4
#define CPU_COLUMNS_MAX 10

static const char *find_line(const char *buf, const char *prefix)
{
	size_t len = strlen(prefix);
	const char *p = buf;

	while (*p) {
		const char *nl;

		if (strncmp(p, prefix, len) == 0)
			return p;
		nl = strchr(p, '\n');
		if (!nl)
			break;
		p = nl + 1;
	}
	return NULL;
}

int cpu_stat_parse(const char *buf, struct cpu_times *ret)
{
	uint64_t col[CPU_COLUMNS_MAX] = {0};
	unsigned int n = 0;
	const char *p;

	p = find_line(buf, "cpu ");
	if (!p)
		return -ENOENT;
	p += strlen("cpu ");
	for (;;) {
		int r;

		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '\n' || *p == '\0')
			break;
		/* Columns a newer kernel may add are ignored. */
		if (n == CPU_COLUMNS_MAX) {
			uint64_t ignored;

			r = parse_u64_prefix(&p, &ignored);
		} else {
			r = parse_u64_prefix(&p, &col[n]);
			n++;
		}
		if (r < 0)
			return -EINVAL;
		if (*p != ' ' && *p != '\t' && *p != '\n' && *p != '\0')
			return -EINVAL;
	}
	if (n < CPU_COLUMNS_MIN)
		return -EINVAL;

	ret->user = col[0];
	ret->nice = col[1];
	ret->system = col[2];
	ret->idle = col[3];
	ret->iowait = col[4];
	ret->irq = col[5];
	ret->softirq = col[6];
	ret->steal = col[7];
	ret->guest = col[8];
	ret->guest_nice = col[9];
	ret->n_columns = n;
	return 0;
}

uint64_t cpu_times_total(const struct cpu_times *t)
{
	/* guest and guest_nice are already included in user and nice: not added. */
	return t->user + t->nice + t->system + t->idle + t->iowait + t->irq + t->softirq + t->steal;
}

uint64_t cpu_times_idle(const struct cpu_times *t)
{
	return t->idle + t->iowait;
}

int cpu_percent(const struct cpu_times *prev, const struct cpu_times *cur, double *ret)
{
	uint64_t total0 = cpu_times_total(prev);
	uint64_t total1 = cpu_times_total(cur);
	uint64_t busy0 = total0 - cpu_times_idle(prev);
	uint64_t busy1 = total1 - cpu_times_idle(cur);
	double pct;

	if (total1 <= total0 || busy1 < busy0)
		return -EINVAL;
	/* iowait alone may step back on some kernels, which can make Δbusy exceed Δtotal. */
	pct = 100.0 * (double)(busy1 - busy0) / (double)(total1 - total0);
	if (pct > 100.0)
		pct = 100.0;
	*ret = pct;
	return 0;
}
