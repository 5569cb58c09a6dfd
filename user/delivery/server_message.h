/* Messages from the server to the agent (docs/protocol.md): ack, or anything else ignored. */
#ifndef SRVMON_SERVER_MESSAGE_H
#define SRVMON_SERVER_MESSAGE_H

#include <stddef.h>
#include <stdint.h>

enum server_message_type {
	SERVER_MESSAGE_OTHER = 0, /* valid JSON object of another type: ignored */
	SERVER_MESSAGE_ACK,
	SERVER_MESSAGE_ERROR,	/* {"type":"error","error":"..."} */
	SERVER_MESSAGE_WELCOME, /* {"type":"welcome","batch":true,"max_frame":N} */
};

struct server_message {
	enum server_message_type type;
	uint64_t ack_seq;   /* SERVER_MESSAGE_ACK */
	char detail[256];   /* type name (OTHER) or the error text (ERROR) */
	int batch;	    /* WELCOME: the server takes {"type":"batch","records":[...]} */
	uint64_t max_frame; /* WELCOME: largest frame it takes, 0 when not given */
};

/* Parses one text frame. 0, or -EBADMSG when it is not a JSON object with a string
 * "type", or an ack without an exact non-negative integer seq. */
int server_message_parse(const char *buf, size_t len, struct server_message *ret);

#endif
