/*
 * smtp_reply - the catalogue of replies the SMTP server makes itself
 *
 * One table maps a symbolic id to the reply code, the enhanced status
 * code (RFC 3463, registry of RFC 5248) and the text, kept word for word
 * because admins search for them.  smtp_session.c answers only through
 * this table (or with a hook's reply); docs/smtp-replies.md is generated
 * from it (smtp_reply_doc) and a unit test keeps the two equal.
 */
#ifndef SMEXOP_SMTP_SMTP_REPLY_H
#define SMEXOP_SMTP_SMTP_REPLY_H

#include <stdbool.h>

#include "core/buf.h"

enum smtp_reply_id {
	SMTP_R_GREETING,  /* 220 <host> ESMTP (text follows the host name) */
	SMTP_R_OK,        /* RSET, NOOP */
	SMTP_R_SENDER_OK, /* MAIL */
	SMTP_R_RCPT_OK,   /* RCPT */
	SMTP_R_QUEUED,    /* end of data */
	SMTP_R_CHUNK_OK,  /* BDAT without LAST */
	SMTP_R_DATA_GO,   /* 354 */
	SMTP_R_BYE,       /* QUIT */
	SMTP_R_HELP,      /* HELP */
	SMTP_R_VRFY,      /* VRFY: never confirms a mailbox */
	SMTP_R_TLS_GO,    /* STARTTLS accepted */
	SMTP_R_TLS_NOT_AVAIL,
	SMTP_R_TLS_ACTIVE,
	SMTP_R_UNKNOWN_CMD,
	SMTP_R_SYNTAX,  /* syntax error in the arguments */
	SMTP_R_NO_ARGS, /* RSET, DATA, QUIT, STARTTLS take none */
	SMTP_R_BAD_HELO,
	SMTP_R_BAD_SENDER,
	SMTP_R_BAD_RCPT,
	SMTP_R_UTF8_NOT_ALLOWED,
	SMTP_R_PARAM_UNKNOWN,
	SMTP_R_PARAM_BAD,
	SMTP_R_LINE_TOO_LONG,
	SMTP_R_BAD_SEQUENCE,
	SMTP_R_NEED_HELO,
	SMTP_R_NEED_MAIL,
	SMTP_R_NESTED_MAIL,
	SMTP_R_NO_RCPT,
	SMTP_R_DATA_BDAT_MIX,
	SMTP_R_BINARYMIME_DATA,
	SMTP_R_TOO_MANY_RCPTS,
	SMTP_R_MSG_TOO_BIG,
	SMTP_R_DATA_LINE_TOO_LONG,
	SMTP_R_BARE_LF_CR,
	SMTP_R_TEMP_FAILURE, /* sink failure, bad hook answer: anything unclassified */
	SMTP_R_TIMEOUT,
	SMTP_R_SESSION_TIMEOUT,
	SMTP_R_TOO_MANY_ERRORS,
	SMTP_R_TOO_MANY_COMMANDS,
	SMTP_R_TOO_MANY_CONNECTIONS,
	SMTP_R_SHUTDOWN,
	SMTP_R_TLS_REQUIRED,        /* an inbound connector requires TLS */
	SMTP_R_RELAY_DENIED,        /* the envelope stage: not our domain, no relay rights */
	SMTP_R_BAD_OUTBOUND_SENDER, /* the outbound stage: a restricted sender */
	SMTP_R_COUNT
};

struct smtp_reply_def {
	enum smtp_reply_id id;
	const char *name;     /* "SMTP_R_BAD_SEQUENCE" */
	unsigned code;        /* 503 */
	const char *enhanced; /* "5.5.1", or NULL (220, 354) */
	const char *text;
	const char *when; /* for the documentation */
};

/* smtp_reply_get - the table entry for id (never NULL for a valid id) */
const struct smtp_reply_def *smtp_reply_get(enum smtp_reply_id id);

/* smtp_reply_format - append "CODE ENH TEXT\r\n"; 0 or -1 (buffer cap) */
int smtp_reply_format(struct buf *out, enum smtp_reply_id id) __attribute__((warn_unused_result));

/*
 * smtp_reply_format_line - append one reply line from parts; enhanced may
 * be NULL; more selects the "CODE-" continuation form.  Control
 * characters in text become spaces (a hook's text can never inject a
 * second reply).  0 or -1.
 */
int smtp_reply_format_line(struct buf *out, unsigned code, const char *enhanced, const char *text,
                           bool more) __attribute__((warn_unused_result));

/* smtp_reply_enhanced_ok - "c.sss.ddd" (RFC 3463) with class c matching code */
bool smtp_reply_enhanced_ok(const char *enhanced, unsigned code);

/* smtp_reply_doc - the catalogue as Markdown (docs/smtp-replies.md) */
int smtp_reply_doc(struct buf *out) __attribute__((warn_unused_result));

#endif
