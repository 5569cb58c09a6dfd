/* Public-key pinning: the base64 SHA-256 of a certificate's SubjectPublicKeyInfo. */
#ifndef SRVMON_TLSPIN_H
#define SRVMON_TLSPIN_H

#include <stdbool.h>
#include <stddef.h>

#include <openssl/x509.h>

#define TLSPIN_B64_LEN 45 /* 44 base64 characters of 32 bytes, and the NUL */

/* The pin of cert into ret (TLSPIN_B64_LEN bytes). 0, -EINVAL or -ENOMEM. */
int tlspin_of_cert(X509 *cert, char ret[TLSPIN_B64_LEN]);
/* Whether the pin computed from the peer equals the configured one (the
 * "sha256//" prefix curl uses is accepted). */
bool tlspin_match(const char *configured, const char *actual);
/* True when host is a loopback address literal or "localhost". */
bool host_is_loopback(const char *host);

#endif
