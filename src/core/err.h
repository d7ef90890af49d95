/*
 * err - an error value for constructors and parsers
 *
 * Functions that can fail on outside input return NULL or -1 and fill a
 * struct sx_err with a message a human can act on.  Where the input is a
 * file, line and column are set too and sx_err_format() prints the
 * `file:line:col: message` form every smexop tool uses.
 */
#ifndef SMEXOP_CORE_ERR_H
#define SMEXOP_CORE_ERR_H

#include <stddef.h>

struct sx_err {
	char msg[512];
	const char *file; /* not owned; NULL when the input is not a file */
	unsigned line;    /* 1-based; 0 when unknown */
	unsigned col;     /* 1-based; 0 when unknown */
};

/* sx_err_set - set the message (file/line/col are left as they are) */
void sx_err_set(struct sx_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* sx_err_at - set position and message */
void sx_err_at(struct sx_err *err, const char *file, unsigned line, unsigned col, const char *fmt,
               ...) __attribute__((format(printf, 5, 6)));
/* sx_err_format - "file:line:col: message", or just the message */
const char *sx_err_format(const struct sx_err *err, char *out, size_t outsize);

#endif
