/* Logging: levels, printf checking, journald priority prefixes; one message is one line
 * (control characters in it are printed as "?"). */
#ifndef SRVMON_LOG_H
#define SRVMON_LOG_H

#include <stdbool.h>

enum log_level {
	LOG_LEVEL_ERR = 3,
	LOG_LEVEL_WARN = 4,
	LOG_LEVEL_INFO = 6,
	LOG_LEVEL_DEBUG = 7,
};

/* Sets the most verbose level printed (default LOG_LEVEL_INFO). */
void log_set_level(enum log_level level);
enum log_level log_get_level(void);
/* Returns 0 and sets *ret for "error", "warning", "info", "debug"; -EINVAL otherwise. */
int log_level_parse(const char *name, enum log_level *ret);
/* Prefix lines with <N> (sd-daemon priority) instead of a time stamp; auto-detected
 * from $JOURNAL_STREAM by log_init(). */
void log_set_journal(bool on);
void log_init(const char *program);

void log_write(enum log_level level, int errnum, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#define log_err(...)  log_write(LOG_LEVEL_ERR, 0, __VA_ARGS__)
#define log_warn(...) log_write(LOG_LEVEL_WARN, 0, __VA_ARGS__)
#define log_info(...) log_write(LOG_LEVEL_INFO, 0, __VA_ARGS__)
#define log_debug(...)                                                                             \
	do {                                                                                       \
		if (log_get_level() >= LOG_LEVEL_DEBUG)                                            \
			log_write(LOG_LEVEL_DEBUG, 0, __VA_ARGS__);                                \
	} while (0)
/* The _errno variants append ": <strerror(err)>"; err may be negative. */
#define log_err_errno(err, ...)	 log_write(LOG_LEVEL_ERR, (err), __VA_ARGS__)
#define log_warn_errno(err, ...) log_write(LOG_LEVEL_WARN, (err), __VA_ARGS__)

#endif
