/*
 * The dashboard's files, embedded in srvmon-server at build time: the build turns web/
 * into a C source (cmake/EmbedWeb.cmake, run by server/CMakeLists.txt) that defines these.
 */
#ifndef SRVMON_SERVER_STATIC_ASSETS_H
#define SRVMON_SERVER_STATIC_ASSETS_H

#include <stddef.h>

struct static_asset {
	const char *name;	 /* as in web/: "app.js" */
	const char *hashed_name; /* "app.<12 hex of its SHA-256>.js", what index.html links */
	const unsigned char *data;
	size_t len;
	const char *etag; /* "\"<12 hex>\"", quotes included */
};

/* index.html, its /ui/ references rewritten to the hashed names. */
extern const struct static_asset static_index;
extern const struct static_asset static_assets[];
extern const size_t static_assets_n;

#endif
