/*
 * Client-to-server WebSocket frames (RFC 6455 section 5.2) built in place: the header
 * goes into the bytes before the payload, and the payload is masked eight bytes at a
 * time. The transport writes the result with LWS_WRITE_RAW, which libwebsockets sends
 * (and buffers when the socket takes only part of it) like its own frames; its own
 * masking goes a byte at a time, about a tenth of the agent's CPU in an exec storm.
 */
#ifndef SRVMON_WSFRAME_H
#define SRVMON_WSFRAME_H

#include <stddef.h>
#include <stdint.h>

/* Largest header: 2 bytes, 8 of length, 4 of masking key. */
#define WSFRAME_MAX_HEADER 14

/*
 * Makes payload[0..len) one final, masked text frame with the masking key key: masks
 * the payload in place and writes the header into the WSFRAME_MAX_HEADER bytes before
 * it. Returns the header's length; the frame starts that many bytes before payload.
 */
size_t wsframe_client_text(unsigned char *payload, size_t len, const uint8_t key[4]);

#endif
