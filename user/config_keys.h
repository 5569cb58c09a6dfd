/*
 * The configuration key table: every key's section, name, type, bounds, default and doc,
 * in one place. The loader (config.c) reads it for defaults, parsing, printing and the
 * reference of docs/configuration.md. Internal to config.c and config_keys.c.
 */
#ifndef SRVMON_CONFIG_KEYS_H
#define SRVMON_CONFIG_KEYS_H

#include "config.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum key_type {
	KEY_STRING,
	KEY_SECRET,
	KEY_BOOL,
	KEY_DURATION,
	KEY_UINT,
	KEY_PORT,
	KEY_LIST,
	KEY_LOG_LEVEL,
	KEY_ENUM,
};

/* A name an enum key accepts and the value stored (an int-sized enum of config.h). */
struct config_choice {
	const char *name;
	int value;
};

/* Extra validation of a string value or of each list item. */
struct value_rule {
	/* Returns NULL when value is acceptable, else what is wrong with it. */
	const char *(*check)(const char *value);
	const char *doc; /* shown in the Range column of the reference */
};

struct config_key {
	const char *section;
	const char *name;
	enum key_type type;
	size_t offset;			     /* of the field in struct config */
	uint64_t min;			     /* numbers; milliseconds for durations */
	uint64_t max;			     /* numbers; maximum item count for lists */
	const char *def;		     /* default, parsed like a value from the file */
	const struct config_choice *choices; /* KEY_ENUM, KEY_LOG_LEVEL: names and values */
	const struct value_rule *rule;	     /* KEY_STRING, KEY_LIST items */
	const char *doc;
};

/* Room the loader keeps per key (config_keys.c checks the table fits). */
#define CONFIG_KEYS_MAX 128

extern const struct config_key config_keys[];
extern const size_t config_key_count;
/* The reference's Type column, by enum key_type. */
extern const char *const config_key_type_names[];

#define CONFIG_SECRET_MASK "********"

static inline void *config_key_field(const struct config_key *k, const struct config *cfg)
{
	return (char *)cfg + k->offset;
}

static inline bool config_key_is_string(const struct config_key *k)
{
	return k->type == KEY_STRING || k->type == KEY_SECRET;
}

/* Parses value as key k into cfg. Returns 0, -EINVAL/-ERANGE with the problem written, or
 * -ENOMEM. Secret values are never copied into problem. (config_value.c) */
int config_key_set(const struct config_key *k, struct config *cfg, const char *value, char *problem,
		   size_t plen);
/* The value of k in cfg as the file would write it (secrets masked), into buf. */
void config_key_format(const struct config_key *k, const struct config *cfg, char *buf, size_t len);
/* The reference's Range column: bounds, choices or the rule a string must follow. */
void config_key_range(const struct config_key *k, char *buf, size_t len);
/* ms in the largest unit that represents it exactly: 60000 -> "1m". */
void config_format_duration(uint64_t ms, char *buf, size_t len);
void config_strlist_free(struct strlist *l);
/* NULL when v is a host name or IP address literal, else what is wrong with it. */
const char *config_check_host(const char *v);

/*
 * Splits "http[s]://host[:port][/]" (IPv6 hosts in brackets). Any out pointer may be NULL.
 * Returns NULL or the problem; on success *ret_host and *ret_base are allocated (NULL
 * with "out of memory" on allocation failure).
 */
const char *config_url_split(const char *url, bool *ret_tls, char **ret_host, uint64_t *ret_port,
			     char **ret_base);

#endif
