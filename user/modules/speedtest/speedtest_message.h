/* The speedtest record encoder. */
#ifndef SRVMON_SPEEDTEST_MESSAGE_H
#define SRVMON_SPEEDTEST_MESSAGE_H

#include <cjson/cJSON.h>

struct speedtest_result;

/* A new "speedtest" message (without host_id and seq), or NULL on ENOMEM. */
cJSON *message_speedtest(const struct speedtest_result *r);

#endif
