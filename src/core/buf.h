/*
 * buf - growable byte buffer with a named size cap
 *
 * Every buffer that grows from outside input is created with a cap
 * (BUF_CAP_*); appends beyond it fail with -1 and leave the buffer as it
 * was, so a hostile peer can never make us allocate more than the cap.
 * The contents are always NUL-terminated for convenience (binary safe:
 * the length is authoritative).
 */
#ifndef SMEXOP_CORE_BUF_H
#define SMEXOP_CORE_BUF_H

#include <stdarg.h>
#include <stddef.h>

struct buf {
	char *data;
	size_t len;
	size_t size;
	size_t cap;
};

#define BUF_CAP_LINE       2048               /* one protocol or config line */
#define BUF_CAP_DNS_NAME   1024               /* presentation form with escapes */
#define BUF_CAP_SPF_RECORD 65536              /* concatenated TXT strings */
#define BUF_CAP_FILE       (64 * 1024 * 1024) /* a file read by a CLI tool */

void buf_init(struct buf *b, size_t cap);
void buf_free(struct buf *b);
void buf_clear(struct buf *b);

int buf_append(struct buf *b, const void *p, size_t n) __attribute__((warn_unused_result));
int buf_putc(struct buf *b, char c) __attribute__((warn_unused_result));
int buf_puts(struct buf *b, const char *s) __attribute__((warn_unused_result));
int buf_printf(struct buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3), warn_unused_result));
int buf_vprintf(struct buf *b, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0), warn_unused_result));

/* buf_read_fd - read until EOF; -1 on error or when the cap is reached */
int buf_read_fd(struct buf *b, int fd) __attribute__((warn_unused_result));
/* buf_read_file - read a whole file ("-" is standard input) */
int buf_read_file(struct buf *b, const char *path) __attribute__((warn_unused_result));

#endif
