/*
 * smtp_parse - SMTP command lines: a push line reader and a command parser
 *
 * smtp_line_push() takes bytes as they arrive and hands out one command
 * line at a time, without its line ending (CRLF, or a bare LF, which is
 * tolerated in commands but never in message data), saving its state
 * between reads.  A line over the cap is reported once and skipped to its
 * end, so pipelined commands after it stay in step.
 *
 * smtp_parse_command() turns one line into a struct smtp_cmd: the verb,
 * the RFC 5321 path (quoted local parts, address literals, SMTPUTF8 local
 * parts and U-labels when allowed, source routes accepted and dropped)
 * and the ESMTP parameters (SIZE, BODY, SMTPUTF8, RET, ENVID, NOTIFY,
 * ORCPT with xtext decoding), and the BDAT chunk size.  No regex, no
 * allocation: every field has a fixed cap and the result points into
 * the struct or into the line.  The line must stay valid while the
 * result is used.
 */
#ifndef SMEXOP_SMTP_SMTP_PARSE_H
#define SMEXOP_SMTP_SMTP_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"

/* ---- line reader ---- */

struct smtp_line {
	struct buf buf; /* the current line, without its ending */
	size_t max;     /* cap in octets including CRLF (RFC 5321 counts it) */
	bool ready;     /* buf holds a complete line (cleared by the next push) */
	bool skipping;  /* discarding the rest of a line that was too long */
};

enum smtp_line_status {
	SMTP_LINE_MORE,     /* everything consumed, no complete line yet */
	SMTP_LINE_READY,    /* l->buf holds a line */
	SMTP_LINE_TOO_LONG, /* a line passed the cap; the rest of it is skipped */
};

#define SMTP_LINE_HARD_MAX (64 * 1024) /* whatever max says */

void smtp_line_init(struct smtp_line *l, size_t max);
void smtp_line_free(struct smtp_line *l);
/* smtp_line_reset - forget any partial line (STARTTLS) */
void smtp_line_reset(struct smtp_line *l);
/* smtp_line_push - consume bytes from p; *used says how many */
enum smtp_line_status smtp_line_push(struct smtp_line *l, const char *p, size_t n, size_t *used);

/* ---- commands ---- */

enum smtp_verb {
	SMTP_VERB_UNKNOWN,
	SMTP_VERB_HELO,
	SMTP_VERB_EHLO,
	SMTP_VERB_MAIL,
	SMTP_VERB_RCPT,
	SMTP_VERB_DATA,
	SMTP_VERB_BDAT,
	SMTP_VERB_RSET,
	SMTP_VERB_NOOP,
	SMTP_VERB_QUIT,
	SMTP_VERB_VRFY,
	SMTP_VERB_HELP,
	SMTP_VERB_STARTTLS,
};

enum smtp_parse_status {
	SMTP_PARSE_OK,
	SMTP_PARSE_UNKNOWN_VERB,  /* 500 5.5.1 */
	SMTP_PARSE_SYNTAX,        /* 501 5.5.2: no colon, controls, junk */
	SMTP_PARSE_NO_ARGS,       /* 501 5.5.4: an argument where none is allowed */
	SMTP_PARSE_BAD_DOMAIN,    /* 501 5.5.4: HELO/EHLO */
	SMTP_PARSE_BAD_PATH,      /* 501 5.1.7 / 5.1.3 */
	SMTP_PARSE_UTF8,          /* 553 5.6.7: 8-bit address without SMTPUTF8 */
	SMTP_PARSE_PARAM_UNKNOWN, /* 555 5.5.4 */
	SMTP_PARSE_PARAM_BAD,     /* 501 5.5.4 */
};

/* parse flags */
#define SMTP_PARSE_ESMTP     0x01u /* the client said EHLO: parameters allowed */
#define SMTP_PARSE_UTF8_OK   0x02u /* RCPT in a transaction with SMTPUTF8 */
#define SMTP_PARSE_NO_UTF8   0x04u /* this server does not offer SMTPUTF8 */
#define SMTP_PARSE_NO_DSN    0x08u /* this server does not offer DSN */
#define SMTP_PARSE_NO_BINARY 0x10u /* no BINARYMIME (no CHUNKING) */

#define SMTP_PATH_MAX   512 /* mailbox as text; RFC 5321 allows 256 octets */
#define SMTP_DOMAIN_MAX 255
#define SMTP_ENVID_MAX  100 /* RFC 3461 section 4.4, decoded */
#define SMTP_ORCPT_MAX  500 /* RFC 3461 section 4.2, decoded */
#define SMTP_NOTIFY_MAX 32  /* "SUCCESS,FAILURE,DELAY" */

enum smtp_body { SMTP_BODY_NONE, SMTP_BODY_7BIT, SMTP_BODY_8BITMIME, SMTP_BODY_BINARYMIME };
enum smtp_ret { SMTP_RET_NONE, SMTP_RET_FULL, SMTP_RET_HDRS };

struct smtp_cmd {
	enum smtp_verb verb;
	/* HELO/EHLO name, VRFY/HELP/NOOP argument (points into the line) */
	const char *arg;
	size_t arg_len;
	/* MAIL/RCPT: the mailbox without source route, "" for <> (MAIL only) */
	char path[SMTP_PATH_MAX + 1];
	bool path_utf8;  /* 8-bit bytes in the path */
	bool postmaster; /* RCPT TO:<Postmaster> without a domain */
	/* MAIL parameters */
	bool has_size;
	uint64_t size;
	enum smtp_body body;
	bool smtputf8;
	enum smtp_ret ret;
	bool has_envid;
	char envid[SMTP_ENVID_MAX + 1];
	/* RCPT parameters */
	bool has_notify;
	char notify[SMTP_NOTIFY_MAX + 1]; /* upper-cased, as given */
	bool has_orcpt;
	char orcpt[SMTP_ORCPT_MAX + 1]; /* "rfc822;user@example.com", xtext decoded */
	/* BDAT */
	uint64_t chunk_size;
	bool last;
};

/*
 * smtp_parse_command - parse one command line (no line ending) with the
 * SMTP_PARSE_* flags.  cmd->verb is set whenever the verb is known, even
 * when the arguments fail, so the caller can choose its reply.
 */
enum smtp_parse_status smtp_parse_command(const char *line, size_t len, unsigned flags,
                                          struct smtp_cmd *cmd);

/* smtp_verb_name - "MAIL", ... ("UNKNOWN") */
const char *smtp_verb_name(enum smtp_verb v);

/*
 * smtp_xtext_decode - RFC 3461 xtext into out (NUL-terminated); decoded
 * bytes must be printable ASCII.  0 or -1 (bad syntax or over outsize-1).
 */
int smtp_xtext_decode(const char *in, size_t n, char *out, size_t outsize);

/* smtp_utf8_valid - well-formed UTF-8 (no overlongs, surrogates, > U+10FFFF) */
bool smtp_utf8_valid(const unsigned char *p, size_t n);

#endif
