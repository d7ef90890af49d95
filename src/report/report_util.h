/*
 * report_util - what the report writers and readers of report/ share:
 * gzip both ways (the inflating side capped against bombs), base64 for
 * mail bodies, the RFC 5322 date, random bytes for identifiers, atomic
 * file output and the time arguments of the report commands
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

#endif
