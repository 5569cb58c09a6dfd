#include "tlspin.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <string.h>
#include <strings.h>

int tlspin_of_cert(X509 *cert, char ret[TLSPIN_B64_LEN])
{
	unsigned char md[SHA256_DIGEST_LENGTH];
	unsigned char *der = NULL;
	int n;

	if (!cert)
		return -EINVAL;
	n = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(cert), &der);
	if (n <= 0)
		return -ENOMEM;
	SHA256(der, (size_t)n, md);
	OPENSSL_free(der);
	EVP_EncodeBlock((unsigned char *)ret, md, SHA256_DIGEST_LENGTH);
	return 0;
}

bool tlspin_match(const char *configured, const char *actual)
{
	if (strncmp(configured, "sha256//", 8) == 0)
		configured += 8;
	return strcmp(configured, actual) == 0;
}

bool host_is_loopback(const char *host)
{
	struct in6_addr a6;
	struct in_addr a4;

	if (strcasecmp(host, "localhost") == 0)
		return true;
	if (inet_pton(AF_INET, host, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	if (inet_pton(AF_INET6, host, &a6) == 1)
		return IN6_IS_ADDR_LOOPBACK(&a6);
	return false;
}
