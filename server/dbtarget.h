/* The --db value (a SQLite path or a postgresql:// URL) as it may be printed. Pure. */
#ifndef SRVMON_SERVER_DBTARGET_H
#define SRVMON_SERVER_DBTARGET_H

#include <stddef.h>

/* Copies target into buf (cut to size - 1 bytes) with the password of a postgresql:// or
 * postgres:// URL replaced by "***": the one in the user info (user:PASSWORD@host) and a
 * password=... parameter of the query string. Anything else is copied as it is. Returns buf. */
char *dbtarget_redact(const char *target, char *buf, size_t size);

#endif
