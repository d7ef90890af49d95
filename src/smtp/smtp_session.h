/*
 * smtp_session - one SMTP server session as an engine: bytes in, replies
 * out, hook calls in between (RFC 5321, with PIPELINING, SIZE, 8BITMIME,
 * SMTPUTF8, ENHANCEDSTATUSCODES, CHUNKING/BINARYMIME, DSN, STARTTLS)
 *
 * The engine knows no socket, no event loop and no clock: smtp_server.c
 * (libevent) or a test harness drives it.
 *
 *   s = smtp_session_new(&cfg, hooks, &conn_info, &ops, owner);
 *   smtp_session_start(s, NULL);          calls hooks->connect; greeting
 *   loop:
 *     used = smtp_session_input(s, p, n); the owner keeps p[used..n)
 *     switch (smtp_session_want(s)) ...   INPUT / WAIT / TLS / CLOSE
 *   ops.wakeup(owner) is called when an asynchronous hook answer arrived
 *   outside smtp_session_input: the owner feeds the bytes it kept again.
 *   smtp_session_free(s);                 calls hooks->close exactly once
 *
 * Replies are collected while a batch of pipelined commands is processed
 * and written through ops.write when the input runs dry, when a hook
 * must be waited for, or before closing.  While a hook has not answered,
 * smtp_session_input() consumes nothing: the owner should stop reading
 * from the peer (its buffer is the back-pressure).
 *
 * DATA: dot-unstuffed bytes stream to hooks->data_write (never the whole
 * message in memory).  The end of data is <CRLF>.<CRLF> only; any bare
 * LF or bare CR inside DATA is refused: the rest of the data is drained
 * up to <CRLF>.<CRLF> and answered 550 5.5.2 (smtp_reply.c), so `\n.\n`,
 * `\r.\r`, `\n.\r\n` or `\r\n.\n` never end a message and never let
 * bytes after them be read as commands (SMTP smuggling).  The same drain
 * applies to message size (552 5.3.4) and data line length (552 5.5.2).
 *
 * STARTTLS: after the 220 the rest of the input is discarded (CVE-2011-
 * 0411: plaintext pipelined behind STARTTLS must not run inside TLS), the
 * owner does the handshake and calls smtp_session_tls_done(), which
 * resets the session to its state before HELO.
 *
 * Limits (struct smtp_limits) are tighter before a MAIL FROM was
 * accepted: a shorter command line and a cap on commands outside a
 * transaction (NOOP/RSET/VRFY/HELP/HELO flood) -> 421.
 */
#ifndef SMEXOP_SMTP_SMTP_SESSION_H
#define SMEXOP_SMTP_SMTP_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "smtp/smtp_hooks.h"

struct smtp_limits {
	size_t cmd_line_max;          /* octets incl. CRLF, after MAIL (2048) */
	size_t cmd_line_max_pre_mail; /* before a MAIL was accepted (1024; RFC 512) */
	size_t data_line_max;         /* a line in DATA, incl. CRLF (65536; RFC 1000) */
	uint64_t message_size_max;    /* advertised in SIZE (25 MiB) */
	unsigned rcpts_max;           /* per message (100) -> 452 4.5.3 */
	unsigned errors_max;          /* per session (10) -> 421 4.7.0 */
	unsigned cmds_pre_mail_max;   /* commands outside a transaction (50) -> 421 */
	unsigned cmd_timeout_ms;      /* for the owner: RFC 5321 section 4.5.3.2 (5 min) */
	unsigned session_timeout_ms;  /* for the owner: whole session (30 min) */
};

/* the named defaults */
#define SMTP_CMD_LINE_MAX          2048
#define SMTP_CMD_LINE_MAX_PRE_MAIL 1024
#define SMTP_DATA_LINE_MAX         65536
#define SMTP_MESSAGE_SIZE_MAX      (25u * 1024 * 1024)
#define SMTP_RCPTS_MAX             100
#define SMTP_ERRORS_MAX            10
#define SMTP_CMDS_PRE_MAIL_MAX     50
#define SMTP_CMD_TIMEOUT_MS        (5u * 60 * 1000)
#define SMTP_SESSION_TIMEOUT_MS    (30u * 60 * 1000)

void smtp_limits_default(struct smtp_limits *l);

struct smtp_session_config {
	const char *hostname; /* in the greeting and the EHLO reply */
	struct smtp_limits limits;
	bool starttls; /* offer STARTTLS (a certificate is loaded) */
	bool smtputf8; /* offer SMTPUTF8 (default true) */
	bool dsn;      /* offer DSN (default true) */
	bool chunking; /* offer CHUNKING and BINARYMIME (default true) */
};

/* smtp_session_config_default - hostname "localhost", default limits, all on */
void smtp_session_config_default(struct smtp_session_config *cfg);

struct smtp_session_ops {
	/* reply bytes for the peer */
	void (*write)(void *owner, const char *data, size_t len);
	/* an asynchronous hook answer arrived: check want, feed kept input */
	void (*wakeup)(void *owner);
};

enum smtp_session_want {
	SMTP_WANT_INPUT, /* feed bytes */
	SMTP_WANT_WAIT,  /* a hook has not answered: keep the bytes, wait for wakeup */
	SMTP_WANT_TLS,   /* do the TLS handshake, then smtp_session_tls_done */
	SMTP_WANT_CLOSE, /* flush what was written and close */
};

enum smtp_timeout { SMTP_TIMEOUT_COMMAND, SMTP_TIMEOUT_SESSION };

struct smtp_session;

/*
 * smtp_session_new - cfg, hooks and ci are copied except for the strings
 * they point to (hostname, listener, ptr_name), which must outlive the
 * session.  NULL on allocation failure.
 */
struct smtp_session *smtp_session_new(const struct smtp_session_config *cfg,
                                      const struct smtp_hooks *hooks,
                                      const struct smtp_conn_info *ci,
                                      const struct smtp_session_ops *ops, void *owner);
/* smtp_session_start - connect hook, then the greeting; tls for implicit TLS */
void smtp_session_start(struct smtp_session *s, const struct smtp_tls_info *tls);
/* smtp_session_input - process bytes; returns how many were consumed */
size_t smtp_session_input(struct smtp_session *s, const char *data, size_t len);
/* smtp_session_tls_done - the STARTTLS handshake succeeded */
void smtp_session_tls_done(struct smtp_session *s, const struct smtp_tls_info *tls);
/* smtp_session_timeout - answer 421 4.4.2 and close */
void smtp_session_timeout(struct smtp_session *s, enum smtp_timeout what);
/* smtp_session_shutdown - answer 421 4.3.2 and close (server stopping) */
void smtp_session_shutdown(struct smtp_session *s);
enum smtp_session_want smtp_session_want(const struct smtp_session *s);
/* smtp_session_in_data - reading message data (DATA or BDAT) */
bool smtp_session_in_data(const struct smtp_session *s);
/* smtp_session_free - hooks->close (once, if connect was called); returns NULL */
struct smtp_session *smtp_session_free(struct smtp_session *s);

#endif
