/* The network record encoder. */
#ifndef SRVMON_NETWORK_MESSAGE_H
#define SRVMON_NETWORK_MESSAGE_H

#include <cjson/cJSON.h>

struct net_sample;

/* A new "network" message (without host_id and seq), or NULL on ENOMEM. */
cJSON *message_network(const struct net_sample *s);

#endif
