/*
 * log - structured logging (see log.h)
 */
#include "core/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

static enum log_target log_target = LOG_TARGET_STDERR;
static enum log_level log_level = LOG_LEVEL_INFO;

static const char *const level_names[] = { "debug", "info", "warn", "error" };

void log_setup(enum log_target target, enum log_level level, const char *ident)
{
	log_target = target;
	log_level = level;
	if (target == LOG_TARGET_SYSLOG)
		openlog(ident, LOG_PID | LOG_NDELAY, LOG_MAIL);
}

enum log_level log_get_level(void)
{
	return log_level;
}

int log_level_parse(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++)
		if (strcmp(name, level_names[i]) == 0)
			return (int)i;
	return -1;
}

static void log_vmsg(enum log_level level, const char *fmt, va_list ap)
{
	static const int syslog_prio[] = { LOG_DEBUG, LOG_INFO, LOG_WARNING, LOG_ERR };
	char line[4096], stamp[32];
	struct tm tm;
	time_t now;

	vsnprintf(line, sizeof(line), fmt, ap);
	if (log_target == LOG_TARGET_SYSLOG) {
		syslog(syslog_prio[level], "%s %s", level_names[level], line);
		return;
	}
	now = time(NULL);
	gmtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%SZ", &tm);
	fprintf(stderr, "%s %s %s\n", stamp, level_names[level], line);
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	va_list ap;

	if (level < log_level)
		return;
	va_start(ap, fmt);
	log_vmsg(level, fmt, ap);
	va_end(ap);
}

char *log_quote(char *out, size_t outsize, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0, i;
	int bare = *s != '\0';
	unsigned char c;

	if (outsize == 0)
		return out;
	for (i = 0; s[i] != '\0'; i++) {
		c = (unsigned char)s[i];
		if (c <= ' ' || c >= 0x7f || c == '"' || c == '\\' || c == '=')
			bare = 0;
	}
	if (bare) {
		snprintf(out, outsize, "%s", s);
		return out;
	}
#define PUT(ch)                                                                                    \
	do {                                                                                       \
		if (o + 1 < outsize)                                                               \
			out[o++] = (ch);                                                           \
	} while (0)
	PUT('"');
	for (i = 0; s[i] != '\0'; i++) {
		c = (unsigned char)s[i];
		if (c == '"' || c == '\\') {
			PUT('\\');
			PUT((char)c);
		} else if (c < ' ' || c >= 0x7f) {
			PUT('\\');
			PUT('x');
			PUT(hex[c >> 4]);
			PUT(hex[c & 15]);
		} else {
			PUT((char)c);
		}
	}
	PUT('"');
#undef PUT
	out[o] = '\0';
	return out;
}

void fatal(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(LOG_LEVEL_ERROR, fmt, ap);
	va_end(ap);
	exit(2);
}
