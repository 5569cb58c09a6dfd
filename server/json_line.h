/* A stored JSON text as one line a terminal shows as text (query --json). Pure. */
#ifndef SRVMON_SERVER_JSON_LINE_H
#define SRVMON_SERVER_JSON_LINE_H

#include <stddef.h>

/*
 * Copies the JSON text in[0..len) with its control characters escaped: inside strings
 * U+0000..U+001F, U+007F and the C1 controls U+0080..U+009F become \uXXXX (\n, \t, \r, \b,
 * \f their short forms); outside strings (where they can only be whitespace) any of them
 * becomes a space. The result is one line, parses to the same values, and holds no byte a
 * terminal acts on. Returns a malloc'ed NUL-terminated string, or NULL with errno ENOMEM.
 */
char *json_line_escape(const char *in, size_t len);

#endif
