/*
 * err - an error value for constructors and parsers (see err.h)
 */
#include "core/err.h"

#include <stdarg.h>
#include <stdio.h>

void sx_err_set(struct sx_err *err, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
}

void sx_err_at(struct sx_err *err, const char *file, unsigned line, unsigned col, const char *fmt,
               ...)
{
	va_list ap;

	if (err == NULL)
		return;
	err->file = file;
	err->line = line;
	err->col = col;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
}

const char *sx_err_format(const struct sx_err *err, char *out, size_t outsize)
{
	if (err->file != NULL && err->line > 0)
		snprintf(out, outsize, "%s:%u:%u: %s", err->file, err->line,
		         err->col ? err->col : 1, err->msg);
	else if (err->file != NULL)
		snprintf(out, outsize, "%s: %s", err->file, err->msg);
	else
		snprintf(out, outsize, "%s", err->msg);
	return out;
}
