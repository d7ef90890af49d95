/*
 * log - structured logging: one key=value line per event
 *
 *     2026-11-28T23:50:01Z info spf result=pass ip=192.0.2.1 domain=example.com
 *
 * Lines go to standard error (default) or syslog (mail facility).  The
 * caller writes the event name and its key=value pairs; values that may
 * hold spaces or quotes go through log_quote() into a caller buffer.
 */
#ifndef SMEXOP_CORE_LOG_H
#define SMEXOP_CORE_LOG_H

#include <stddef.h>

enum log_level { LOG_LEVEL_DEBUG, LOG_LEVEL_INFO, LOG_LEVEL_WARN, LOG_LEVEL_ERROR };
enum log_target { LOG_TARGET_STDERR, LOG_TARGET_SYSLOG };

void log_setup(enum log_target target, enum log_level level, const char *ident);
enum log_level log_get_level(void);
/* log_level_parse - "debug", "info", "warn" or "error"; -1 if unknown */
int log_level_parse(const char *name);

void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_debug(...)                                                                             \
	do {                                                                                       \
		if (log_get_level() <= LOG_LEVEL_DEBUG)                                            \
			log_msg(LOG_LEVEL_DEBUG, __VA_ARGS__);                                     \
	} while (0)
#define log_info(...)  log_msg(LOG_LEVEL_INFO, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_LEVEL_WARN, __VA_ARGS__)
#define log_error(...) log_msg(LOG_LEVEL_ERROR, __VA_ARGS__)

/*
 * log_quote - write s into out as a log value: bare when it is safe,
 * otherwise in double quotes with \" \\ and \xNN escapes.  Truncates to
 * outsize (always terminated); returns out.
 */
char *log_quote(char *out, size_t outsize, const char *s);

/* fatal - startup and configuration failures only; never per message */
void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

#endif
