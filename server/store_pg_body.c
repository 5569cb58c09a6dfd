/* Record bodies as PostgreSQL's jsonb accepts them (store_pg_read.h). Ingest checked each body
 * with cJSON, which is more lenient than jsonb: numbers such as 01, +1, .5 or 1., control
 * characters as whitespace or raw inside strings, and \u0000 (jsonb has no NUL). One such body
 * must not fail its batch (the agent would send it again for ever), so it is reprinted. */
#include "store_pg_read.h"

#include "sbuf.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* The strict JSON number at s[*i..len), *i moved past it. */
static bool number_ok(const char *s, size_t len, size_t *i)
{
	size_t j = *i;

	if (j < len && s[j] == '-')
		j++;
	if (j < len && s[j] == '0') {
		j++;
	} else if (j < len && s[j] >= '1' && s[j] <= '9') {
		while (j < len && is_digit(s[j]))
			j++;
	} else {
		return false;
	}
	if (j < len && s[j] == '.') {
		j++;
		if (j >= len || !is_digit(s[j]))
			return false;
		while (j < len && is_digit(s[j]))
			j++;
	}
	if (j < len && (s[j] == 'e' || s[j] == 'E')) {
		j++;
		if (j < len && (s[j] == '+' || s[j] == '-'))
			j++;
		if (j >= len || !is_digit(s[j]))
			return false;
		while (j < len && is_digit(s[j]))
			j++;
	}
	/* "01" or "1.2.3": cJSON reads more of it than the grammar does. */
	if (j < len && (is_digit(s[j]) || strchr("+-.eE", s[j])))
		return false;
	*i = j;
	return true;
}

/* The string at s[*i] (its opening quote), *i moved past its closing quote. */
static bool string_ok(const char *s, size_t len, size_t *i)
{
	size_t j = *i + 1;

	while (j < len) {
		unsigned char c = (unsigned char)s[j];

		if (c == '"') {
			*i = j + 1;
			return true;
		}
		if (c < 0x20)
			return false;
		if (c != '\\') {
			j++;
			continue;
		}
		if (j + 1 >= len)
			return false;
		if (s[j + 1] != 'u') {
			j += 2;
			continue;
		}
		if (j + 6 > len || memcmp(s + j + 2, "0000", 4) == 0)
			return false;
		j += 6;
	}
	return false;
}

/* Lexically strict JSON (the structure was checked by ingest). */
static bool strict_json(const char *s, size_t len)
{
	size_t i = 0;

	while (i < len) {
		char c = s[i];

		if (c == '"') {
			if (!string_ok(s, len, &i))
				return false;
		} else if (c == '-' || is_digit(c)) {
			if (!number_ok(s, len, &i))
				return false;
		} else if (strchr(" \t\n\r{}[]:,", c) && c != '\0') {
			i++;
		} else if (c >= 'a' && c <= 'z') {
			while (i < len && s[i] >= 'a' && s[i] <= 'z')
				i++;
		} else {
			return false;
		}
	}
	return true;
}

int pg_body_add(struct sbuf *out, const char *text, size_t len)
{
	cJSON *root;
	char *printed;
	int r;

	if (strict_json(text, len))
		return sbuf_add(out, text, len);
	root = cJSON_ParseWithLength(text, len);
	if (!root)
		return -EINVAL;
	printed = cJSON_PrintUnformatted(root);
	cJSON_Delete(root);
	if (!printed)
		return -ENOMEM;
	r = sbuf_adds(out, printed);
	cJSON_free(printed);
	return r;
}
