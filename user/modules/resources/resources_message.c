/* The resources record (docs/protocol.md "resources"). */
#include "resources_message.h"

#include "message_json.h"
#include "resources.h"
#include "srvmon_proto.h"

#include <errno.h>
#include <math.h>
#include <string.h>

static int add_disk(cJSON *disks, const struct disk_usage *d)
{
	cJSON *o = cJSON_CreateObject();
	char errbuf[128];

	if (!o || !cJSON_AddItemToArray(disks, o)) {
		cJSON_Delete(o);
		return -ENOMEM;
	}
	if (message_add_fixed_string(o, "mount", d->mount, sizeof(d->mount)) < 0)
		return -ENOMEM;
	if (d->err)
		return message_add_string(o, "error", strerror_r(-d->err, errbuf, sizeof(errbuf)));
	if (message_add_u64(o, "total", d->total) < 0 ||
	    message_add_u64(o, "available", d->available) < 0)
		return -ENOMEM;
	return 0;
}

cJSON *message_resources(const struct resources_sample *s)
{
	cJSON *disks;
	cJSON *msg;

	if (s->n_disks > RESOURCES_MAX_DISKS) {
		errno = EINVAL;
		return NULL;
	}
	msg = message_new(SRVMON_TYPE_RESOURCES, s->ts_ms);
	if (!msg)
		goto err;
	if (s->cpu_valid) {
		double pct = round(s->cpu_percent * 100.0) / 100.0;

		if (!cJSON_AddNumberToObject(msg, "cpu_percent", pct))
			goto err;
	}
	if (s->ram_valid && (message_add_u64(msg, "ram_total", s->ram_total) < 0 ||
			     message_add_u64(msg, "ram_available", s->ram_available) < 0))
		goto err;
	/* The summary figures are those of the first configured mount. */
	if (s->n_disks > 0 && s->disks[0].err == 0 &&
	    (message_add_u64(msg, "disk_total", s->disks[0].total) < 0 ||
	     message_add_u64(msg, "disk_available", s->disks[0].available) < 0))
		goto err;
	disks = cJSON_AddArrayToObject(msg, "disks");
	if (!disks)
		goto err;
	for (size_t i = 0; i < s->n_disks; i++) {
		if (add_disk(disks, &s->disks[i]) < 0)
			goto err;
	}
	return msg;

err:
	cJSON_Delete(msg);
	errno = ENOMEM;
	return NULL;
}
