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

/* report_buf_take - b's bytes as a NUL-terminated string in a (*len set),
 * and b freed; NULL when ok is false or memory runs out */
char *report_buf_take(struct arena *a, struct buf *b, bool ok, size_t *len);
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
 * Reading received reports (dmarc_import.c, tlsrpt_import.c): a file is
 * sniffed, not trusted by its name.  report_import_any takes gzip (magic
 * 1f 8b, inflated within the budget) and mail (a header field on the first
 * line: its leaves that the format's leaf() wants are sniffed in turn);
 * the format's sniff() takes its own documents (and archives).  Nesting
 * stops at REPORT_IMPORT_MAX_DEPTH.
 */
#define REPORT_IMPORT_MAX_DEPTH 4

struct multipart_leaf;
struct report_import;

struct report_import_format {
	/* sniff - data[start..len) when it is this format's (start: past a
	 * byte order mark and white space): 1 added, 0 not this format's,
	 * -1 with err */
	int (*sniff)(struct report_import *ri, const unsigned char *data, size_t len, size_t start,
	             unsigned depth, struct sx_err *err);
	/* leaf - a MIME leaf that may hold a report (by type or file name) */
	bool (*leaf)(const struct multipart_leaf *leaf);
	const char *failure_type; /* a leaf type that marks a mail as no report, or NULL */
	const char *failure_msg;  /* the error for such a mail */
	const char *no_report;    /* the error for a mail with nothing attached */
	const char *neither;      /* the error for what is none of these */
};

/* struct report_import - the state of one file's reading: the
 * decompression budget, the first error (reported when no report is
 * found) and the reports found, an arena array of elements of esize
 * bytes, at most max of them */
struct report_import {
	const struct report_import_format *format;
	struct arena *a;
	const char *name; /* the file's name, for the reports' source */
	size_t max_size;
	size_t used; /* decompressed bytes so far, against max_size */
	struct sx_err first;
	bool have_err;
	void *v;
	size_t n, size, esize, max;
};

/* report_import_any - sniff data[0..len) at nesting depth (0 for the file
 * itself); 0, or -1 with the error kept in ri */
int report_import_any(struct report_import *ri, const unsigned char *data, size_t len,
                      unsigned depth);

/* report_import_add - append the element r (esize bytes); past max it is
 * dropped (a file with more is no report file); -1 when memory runs out */
int report_import_add(struct report_import *ri, const void *r);

/* report_import_done - 0 when a report was found; else -1 with the first
 * error, or none_found when there was no error */
int report_import_done(const struct report_import *ri, const char *none_found, struct sx_err *err);

#endif
