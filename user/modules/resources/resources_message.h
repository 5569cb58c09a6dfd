/* The resources record encoder. */
#ifndef SRVMON_RESOURCES_MESSAGE_H
#define SRVMON_RESOURCES_MESSAGE_H

#include <cjson/cJSON.h>

struct resources_sample;

/* A new "resources" message (without host_id and seq), or NULL on ENOMEM. */
cJSON *message_resources(const struct resources_sample *s);

#endif
