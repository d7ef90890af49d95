/*
 * report_util - what the report writers and readers of report/ share:
 * gzip both ways (the inflating side capped against bombs), base64 for
 * mail bodies, the RFC 5322 date, random bytes for identifiers, atomic
 * file output, the time arguments of the report commands and the
 * sniffing state of the readers of received reports
 *
 * DMARC aggregate reports (dmarc_report.c, dmarc_import.c) and TLS-RPT
 * reports (tlsrpt*.c) are the users; everything allocates from the
 * caller's arena.
 */
#ifndef SMEXOP_REPORT_REPORT_UTIL_H
#define SMEXOP_REPORT_REPORT_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

struct arena;
struct buf;

/* report_gzip - data gzip'ed (level 9) into a; NULL on failure */
unsigned char *report_gzip(struct arena *a, const void *data, size_t len, size_t *outlen);

/*
 * report_gunzip - inflate gzip members one after another (trailing bytes
 * that are not another member are ignored: some senders append CRLF)
 * into a, NUL-terminated; at most cap bytes come out ("decompressed data
 * exceeds CAP bytes" beyond, with cap_shown as CAP).  NULL with err.
 */
unsigned char *report_gunzip(struct arena *a, const unsigned char *data, size_t len, size_t cap,
                             size_t cap_shown, size_t *outlen, struct sx_err *err);

/* report_base64 - append p[0..n) in base64, lines of 76 ending in CRLF */
int report_base64(struct buf *b, const unsigned char *p, size_t n);

/* report_date - "Mon, 02 Jan 2006 15:04:05 +0000" for now (UTC) */
void report_date(int64_t now, char *out, size_t size);

/* report_random - n random bytes (getrandom; time and pid without it) */
void report_random(uint8_t *out, size_t n);

/* report_write_file - write data to dir/name atomically (temporary file,
 * fsync, rename), mode 0640; 0 or -1 with err */
int report_write_file(const char *dir, const char *name, const void *data, size_t len,
                      struct sx_err *err);

/* report_time_parse - "1700000000", "2024-01-31", "2024-01-31T12:00:00Z"; 0 or -1 */
int report_time_parse(const char *s, int64_t *out);

/* report_utf8_fix - invalid UTF-8 sequences replaced by U+FFFD, in a;
 * NULL when the input is valid (use it as it is) or memory runs out
 * (*fail set) */
char *report_utf8_fix(struct arena *a, const char *s, size_t len, size_t *outlen, bool *fail);

/*
 * struct report_import - what the readers of received reports
 * (dmarc_import.c, tlsrpt_import.c) keep while they sniff a file and the
 * files within it (gzip, zip, mail parts): the decompression budget, the
 * first error (reported when no report is found) and the reports found,
 * an arena array of elements of esize bytes, at most max of them.
 */
struct report_import {
	struct arena *a;
	size_t max_size;
	size_t used; /* decompressed bytes so far, against max_size */
	struct sx_err first;
	bool have_err;
	void *v;
	size_t n, size, esize, max;
};

/* report_import_error - keep err when it is the first */
void report_import_error(struct report_import *im, const struct sx_err *err);

/* report_import_add - append the element r (esize bytes); past max it is
 * dropped (a file with more is no report file); -1 when memory runs out */
int report_import_add(struct report_import *im, const void *r);

/* report_import_gunzip - report_gunzip within what is left of max_size,
 * counted as used */
unsigned char *report_import_gunzip(struct report_import *im, const unsigned char *data, size_t len,
                                    size_t *outlen, struct sx_err *err);

/* report_import_start - the offset of the first byte that is neither a
 * UTF-8 byte order mark nor white space; len when there is none */
size_t report_import_start(const unsigned char *data, size_t len);

/* report_import_is_mail - the text from start opens with a header field
 * name and a colon on its first line */
bool report_import_is_mail(const unsigned char *data, size_t len, size_t start);

/* report_import_done - 0 when a report was found; else -1 with the first
 * error, or none_found when there was no error */
int report_import_done(const struct report_import *im, const char *none_found, struct sx_err *err);

#endif
