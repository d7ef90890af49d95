/*
 * multipart - a small MIME walker: every leaf part of a message, decoded
 *
 * multipart_walk() follows multipart bodies (RFC 2046 boundaries) and
 * message/rfc822 parts down to the leaves and hands each leaf to a
 * callback with its content type, file name (Content-Disposition
 * filename= or Content-Type name=, RFC 2231 charset prefix dropped) and
 * body decoded from base64 or quoted-printable (other encodings as they
 * are).  It is enough for mails that carry a report as an attachment
 * (DMARC aggregate reports, TLS-RPT); the full MIME parser of the
 * pipeline is another matter.
 *
 * Tolerant as mail readers are: a missing close delimiter ends the
 * multipart at the end of the data, garbage in base64 is skipped, a
 * multipart without a boundary is a leaf.  Bounded: at most
 * MULTIPART_MAX_DEPTH levels and MULTIPART_MAX_PARTS parts; decoded
 * bodies are never larger than their encoded form.  Everything is
 * allocated from the caller's arena; data is not modified.
 */
#ifndef SMEXOP_MIME_MULTIPART_H
#define SMEXOP_MIME_MULTIPART_H

#include <stddef.h>

#include "core/err.h"

struct arena;

#define MULTIPART_MAX_DEPTH 16
#define MULTIPART_MAX_PARTS 1000

struct multipart_leaf {
	const char *type;          /* "application/gzip": lower case, no parameters */
	const char *filename;      /* NULL when none is given */
	const unsigned char *data; /* decoded body */
	size_t len;
	unsigned depth; /* 0: the message itself is the leaf */
};

/* return non-zero to stop the walk (multipart_walk returns that value) */
typedef int (*multipart_cb)(const struct multipart_leaf *leaf, void *arg);

/*
 * multipart_walk - call cb for each leaf of the message data[0..len) in
 * order; 0, the callback's non-zero value, or -1 with err (header limits,
 * too deep, too many parts, out of memory)
 */
int multipart_walk(struct arena *a, const char *data, size_t len, multipart_cb cb, void *arg,
                   struct sx_err *err);

/*
 * multipart_param - the value of parameter name in a Content-Type or
 * Content-Disposition value (quotes and quoted pairs removed; name* of
 * RFC 2231 without its charset'lang' prefix); NULL when absent
 */
char *multipart_param(struct arena *a, const char *value, size_t len, const char *name);

/* multipart_base64 - decode base64, skipping anything not in the
 * alphabet; out needs len * 3 / 4 + 3 bytes; returns the length */
size_t multipart_base64(const char *in, size_t len, unsigned char *out);

#endif
