#include "log.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static enum log_level log_level = LOG_LEVEL_INFO;
static bool log_journal;
static const char *log_program = "srvmon";
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

void log_set_level(enum log_level level)
{
	log_level = level;
}

enum log_level log_get_level(void)
{
	return log_level;
}

int log_level_parse(const char *name, enum log_level *ret)
{
	static const struct {
		const char *name;
		enum log_level level;
	} names[] = {
		{"error", LOG_LEVEL_ERR},
		{"warning", LOG_LEVEL_WARN},
		{"info", LOG_LEVEL_INFO},
		{"debug", LOG_LEVEL_DEBUG},
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strcmp(name, names[i].name) == 0) {
			*ret = names[i].level;
			return 0;
		}
	}
	return -EINVAL;
}

void log_set_journal(bool on)
{
	log_journal = on;
}

/* A child forked while another thread logs (user/lib/bpf_loader.c) must not inherit the
 * lock held: fork waits for the log line in progress and the child starts unlocked. */
static void log_lock_take(void)
{
	pthread_mutex_lock(&log_lock);
}

static void log_lock_give(void)
{
	pthread_mutex_unlock(&log_lock);
}

static void log_atfork_register(void)
{
	(void)pthread_atfork(log_lock_take, log_lock_give, log_lock_give);
}

void log_init(const char *program)
{
	static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

	(void)pthread_once(&atfork_once, log_atfork_register);
	log_program = program;
	/* systemd sets JOURNAL_STREAM when stderr is connected to journald. */
	log_journal = getenv("JOURNAL_STREAM") != NULL;
}

void log_write(enum log_level level, int errnum, const char *fmt, ...)
{
	static const char *const names[] = {
		[LOG_LEVEL_ERR] = "error",
		[LOG_LEVEL_WARN] = "warning",
		[LOG_LEVEL_INFO] = "info",
		[LOG_LEVEL_DEBUG] = "debug",
	};
	char msg[1024];
	char errbuf[160];
	char strbuf[128];
	va_list ap;

	if (level > log_level)
		return;

	va_start(ap, fmt);
	(void)vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* One message, one line: a control character (a newline inside text that came from
	 * elsewhere) could otherwise start a line of its own, "<0>" prefix and all. Text from
	 * a server is escaped before it gets here (user/delivery/peertext.c); this is the backstop.
	 */
	for (char *p = msg; *p; p++) {
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	}

	errbuf[0] = '\0';
	if (errnum != 0) {
		int e = errnum < 0 ? -errnum : errnum;
		/* GNU strerror_r returns the message pointer. */
		const char *s = strerror_r(e, strbuf, sizeof(strbuf));
		(void)snprintf(errbuf, sizeof(errbuf), ": %s", s);
	}

	pthread_mutex_lock(&log_lock);
	if (log_journal) {
		(void)fprintf(stderr, "<%d>%s%s\n", (int)level, msg, errbuf);
	} else {
		struct timespec ts;
		struct tm tm;
		char when[32];

		clock_gettime(CLOCK_REALTIME, &ts);
		localtime_r(&ts.tv_sec, &tm);
		(void)strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
		(void)fprintf(stderr, "%s.%03ld %s %s: %s%s\n", when, ts.tv_nsec / 1000000L,
			      log_program, names[level], msg, errbuf);
	}
	pthread_mutex_unlock(&log_lock);
}
