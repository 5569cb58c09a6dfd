/*
 * What srvmon-agent and srvmon-server share about the wire (docs/protocol.md): message
 * type names, close codes and size limits. Plain C preprocessor definitions, so that both
 * sides (and any C peer) take them from here instead of writing them again.
 */
#ifndef SRVMON_PROTO_H
#define SRVMON_PROTO_H

/* The WebSocket subprotocol a server may select. */
#define SRVMON_SUBPROTOCOL "srvmon"

/* Records, agent -> server ("type" of each record). A new module's record type goes here:
 * srvmon-server accepts exactly the types of SRVMON_RECORD_TYPES. */
#define SRVMON_TYPE_HELLO     "hello"
#define SRVMON_TYPE_RESOURCES "resources"
#define SRVMON_TYPE_NETWORK   "network"
#define SRVMON_TYPE_STATUS    "status"
#define SRVMON_TYPE_EXEC      "exec"
#define SRVMON_TYPE_SPEEDTEST "speedtest"
#define SRVMON_RECORD_TYPES                                                                        \
	SRVMON_TYPE_HELLO, SRVMON_TYPE_RESOURCES, SRVMON_TYPE_NETWORK, SRVMON_TYPE_STATUS,         \
		SRVMON_TYPE_EXEC, SRVMON_TYPE_SPEEDTEST

/* Frames around records: agent -> server batch; server -> agent welcome, ack, error. */
#define SRVMON_MSG_BATCH   "batch"
#define SRVMON_MSG_WELCOME "welcome"
#define SRVMON_MSG_ACK	   "ack"
#define SRVMON_MSG_ERROR   "error"

/* The largest message (a record or a batch frame) a server must accept; larger ones are
 * closed with 1009. A welcome's max_frame may lower it for batch frames. */
#define SRVMON_MAX_MESSAGE (1024u * 1024u)
/* The most records in one batch frame. */
#define SRVMON_BATCH_MAX_RECORDS 1000

/* Close codes. */
#define SRVMON_CLOSE_NORMAL	   1000
#define SRVMON_CLOSE_GOING_AWAY	   1001 /* the agent stops (SIGTERM) */
#define SRVMON_CLOSE_POLICY	   1008 /* refused: persistent invalid input, a token */
#define SRVMON_CLOSE_TOO_BIG	   1009
#define SRVMON_CLOSE_TOKEN_EXPIRED 4401 /* token expired or revoked: fetch a new one */

#endif
