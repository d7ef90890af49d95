/*
 * smtp_response - parse the replies an SMTP or LMTP server sends to our
 * client (RFC 5321 section 4.2, enhanced status codes RFC 2034/3463)
 *
 * SUMMARY
 *	struct smtp_response r;
 *	smtp_response_init(&r);
 *	rc = smtp_response_input(&r, p, n, &used);   1 done, 0 more, -1 error
 *	... r.code, r.enhanced, r.text, the lines in r.lines ...
 *	smtp_response_reset(&r);   before the next reply
 *	smtp_response_free(&r);
 *
 * DESCRIPTION
 *	A push parser: bytes come in as the peer sends them, complete lines
 *	are consumed, an unfinished line is left to the caller (used says how
 *	far it got).  A reply is one or more lines "CODE-text" ended by one
 *	"CODE text" (or "CODE" alone); every line must carry the same code.
 *	Lines end in CRLF; a bare LF is accepted as well, since servers that
 *	send one are common and nothing is smuggled by reading it.
 *
 *	When the first line's text starts with an enhanced status code of the
 *	reply's class ("250 2.1.5 Ok"), it goes into r.enhanced and is taken
 *	off the text of every line that repeats it.  r.text joins the lines'
 *	texts with a space, control characters turned into spaces, truncated
 *	to SMTP_RESPONSE_TEXT_MAX - 1; r.lines keeps each line's text
 *	(after the code and separator) ended by '\n', for EHLO keywords.
 *
 * LIMITS
 *	A line longer than SMTP_RESPONSE_LINE_MAX octets (RFC 5321 asks for
 *	512; we allow more) or more than SMTP_RESPONSE_LINES_MAX lines in one
 *	reply is an error: a hostile server cannot make us buffer or loop
 *	without end.  r.lines is capped at SMTP_RESPONSE_LINES_BYTES.
 */
#ifndef SMEXOP_SMTP_SMTP_RESPONSE_H
#define SMEXOP_SMTP_SMTP_RESPONSE_H

#include <stdbool.h>
#include <stddef.h>

#include "core/buf.h"

#define SMTP_RESPONSE_LINE_MAX    4096 /* octets of one line, CRLF included */
#define SMTP_RESPONSE_LINES_MAX   100  /* lines in one reply */
#define SMTP_RESPONSE_LINES_BYTES (SMTP_RESPONSE_LINE_MAX * 4)
#define SMTP_RESPONSE_TEXT_MAX    512

struct smtp_response {
	unsigned code;     /* 200..599 once a line was read */
	char enhanced[16]; /* "2.1.5" or "" */
	char text[SMTP_RESPONSE_TEXT_MAX];
	unsigned nlines;
	struct buf lines; /* each line's text, '\n'-terminated */
	bool done;
	const char *error; /* why smtp_response_input returned -1 */
};

void smtp_response_init(struct smtp_response *r);
/* smtp_response_reset - forget the reply, ready for the next one */
void smtp_response_reset(struct smtp_response *r);
void smtp_response_free(struct smtp_response *r);

/*
 * smtp_response_input - consume complete lines of p[0..n); *used is how
 * many octets were consumed.  1 when a whole reply was read (the bytes
 * after it are not consumed), 0 when more lines are needed, -1 on a
 * malformed reply (r->error says why; the session cannot go on).
 */
int smtp_response_input(struct smtp_response *r, const char *p, size_t n, size_t *used);

/* smtp_response_line - feed one line without its line end; 1, 0 or -1 as above */
int smtp_response_line(struct smtp_response *r, const char *line, size_t len);

/*
 * smtp_response_keyword - the EHLO line whose first word is kw (any case),
 * giving its parameters (after the keyword and spaces, up to the newline)
 * in params and plen; true when found.
 */
bool smtp_response_keyword(const struct smtp_response *r, const char *kw, const char **params,
                           size_t *plen);

#endif
