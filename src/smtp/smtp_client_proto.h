/*
 * smtp_client_proto - the SMTP/LMTP client protocol as an engine: replies
 * in, commands and message data out; no socket, no event loop, no clock
 *
 * SUMMARY
 *	c = smtp_client_proto_new(&cfg, &ops, owner);
 *	used = smtp_client_proto_input(c, p, n);   the server's bytes
 *	smtp_client_proto_pump(c, budget);         more message data, when the
 *	                                           owner's output has room
 *	switch (smtp_client_proto_want(c)) ...     REPLY / TLS / MESSAGE / CLOSE
 *	smtp_client_proto_send(c, &msg);           in state MESSAGE
 *	smtp_client_proto_tls_done(c);             after the owner's handshake
 *	smtp_client_proto_abort(c, why);           timeout, EOF, socket error
 *	smtp_client_proto_quit(c);
 *	c = smtp_client_proto_free(c);
 *
 * DESCRIPTION
 *	The session: the greeting, EHLO (HELO when EHLO gets a 5xx; LHLO for
 *	LMTP), the capabilities (PIPELINING, SIZE, 8BITMIME, SMTPUTF8, DSN,
 *	CHUNKING, STARTTLS, ENHANCEDSTATUSCODES), STARTTLS and EHLO again,
 *	then any number of messages, each MAIL FROM (SIZE=, BODY=8BITMIME,
 *	SMTPUTF8, RET=, ENVID= when offered), RCPT TO (NOTIFY=, ORCPT= when
 *	DSN is offered), DATA with dot-stuffing or BDAT, RSET after a
 *	transaction that did not end, and QUIT.  With PIPELINING (RFC 2920)
 *	RSET, MAIL, every RCPT and DATA go in one write.  LMTP (RFC 2033)
 *	gets one reply per accepted recipient after the end of data.
 *
 *	Message data: header fields to prepend (each without CRLF), then the
 *	data.  Lines end at LF; a CR before it is part of the line end, so
 *	LF-only input goes out as CRLF and nothing the server could read as
 *	a bare LF or a premature end of data ever leaves (SMTP smuggling).
 *	DATA stuffs a '.' before lines starting with '.'; BDAT (RFC 3030,
 *	used when CHUNKING is offered) sends the same normalised bytes in
 *	one chunk "BDAT <size> LAST" whose size is counted first.
 *
 *	8-bit and UTF-8 (what we do when the server lacks the extension):
 *	a message flagged eightbit whose bytes are all ASCII goes out as 7-bit
 *	without BODY=; a message with 8-bit bytes to a server without
 *	8BITMIME is returned as undeliverable, 554 5.6.3 (RFC 6152 section 3
 *	leaves "convert or return"; we do not convert MIME).  A message
 *	flagged smtputf8 to a server without SMTPUTF8: recipients whose
 *	address is not ASCII fail with 553 5.6.7 (RFC 6531 section 3.4), all
 *	of them when the sender is not ASCII; the others are sent without
 *	the SMTPUTF8 parameter (UTF-8 in header fields alone is sent as
 *	8-bit data, as Postfix does).  A SIZE the server announces that is
 *	smaller than the message fails it with 552 5.3.4 before MAIL.
 *
 *	Results: ops.msg_done gets one reply per recipient: the server's
 *	RCPT reply when it refused, else the reply to the end of data (LMTP:
 *	the recipient's own), else the reply that ended the transaction
 *	(MAIL, DATA), else our own text with code 0 (connection lost,
 *	timeout).  at_rcpt tells the recipient's own reply from one that
 *	ended the whole transaction (the owner may try another host then).
 *
 * TIMEOUTS
 *	smtp_client_proto_timeout_ms() is how long the owner should wait
 *	for the reply the engine waits for: RFC 5321 section 4.5.3.2 (5 min
 *	greeting, EHLO, MAIL, RCPT; 2 min DATA; 3 min per data block; 10 min
 *	end of data) unless the configuration gives other values.
 *
 * LIMITS
 *	Replies through smtp_response.h (line length, lines per reply).
 *	Recipients per message: SMTP_CLIENT_RCPTS_MAX.  A reply nobody asked
 *	for ends the session.
 */
#ifndef SMEXOP_SMTP_SMTP_CLIENT_PROTO_H
#define SMEXOP_SMTP_SMTP_CLIENT_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SMTP_CLIENT_RCPTS_MAX 1000
#define SMTP_CLIENT_TEXT_MAX  512

/* RFC 5321 section 4.5.3.2 */
#define SMTP_CLIENT_TIMEOUT_CMD_MS   (5 * 60 * 1000)
#define SMTP_CLIENT_TIMEOUT_DATA_MS  (2 * 60 * 1000)
#define SMTP_CLIENT_TIMEOUT_BLOCK_MS (3 * 60 * 1000)
#define SMTP_CLIENT_TIMEOUT_END_MS   (10 * 60 * 1000)

enum smtp_client_tls_mode {
	SMTP_CLIENT_TLS_NO,   /* never STARTTLS */
	SMTP_CLIENT_TLS_TRY,  /* STARTTLS when offered */
	SMTP_CLIENT_TLS_MUST, /* STARTTLS or end the session */
};

struct smtp_client_caps {
	bool esmtp; /* EHLO (or LHLO) accepted */
	bool pipelining, eightbitmime, smtputf8, dsn, chunking, starttls, enhanced;
	bool sizeext;  /* SIZE offered: MAIL FROM gets SIZE= */
	uint64_t size; /* its limit, 0: none announced */
};

/* a reply, or our own reason: code 0 (temporary), or a 5xx for what this
 * server cannot take (8BITMIME, SMTPUTF8, SIZE, a bad address): local */
struct smtp_client_reply {
	unsigned code;
	char enhanced[16];
	char text[SMTP_CLIENT_TEXT_MAX];
	bool local; /* our decision, not the server's words */
};

struct smtp_client_rcpt {
	const char *addr;
	const char *notify; /* NOTIFY= value, or NULL / "" */
	const char *orcpt;  /* ORCPT= value (xtext), or NULL / "" */
};

struct smtp_client_msg {
	const char *sender;    /* "" for <> */
	const char *dsn_ret;   /* FULL / HDRS, or NULL / "" */
	const char *dsn_envid; /* xtext, or NULL / "" */
	const struct smtp_client_rcpt *rcpts;
	size_t nrcpts;
	const char *const *prepend; /* header fields without CRLF */
	size_t nprepend;
	const char *data;
	size_t len;
	bool eightbit;
	bool smtputf8;
};

struct smtp_client_rcpt_result {
	struct smtp_client_reply reply;
	bool at_rcpt; /* the recipient's own reply (RCPT, or LMTP after data) */
};

struct smtp_client_msg_result {
	struct smtp_client_rcpt_result *rcpts; /* nrcpts entries */
	size_t nrcpts;
	bool data_sent; /* the end of data was sent (a lost reply may mean a duplicate) */
};

struct smtp_client_proto_config {
	const char *helo_name;
	bool lmtp;
	enum smtp_client_tls_mode tls;
	bool tls_active;  /* the session is already inside TLS (implicit TLS) */
	bool no_chunking; /* never BDAT */
	bool no_pipelining;
	unsigned command_timeout_ms; /* 0: RFC 5321 values */
	unsigned data_timeout_ms;    /* end of data; 0: 10 min */
};

struct smtp_client_proto_ops {
	/* write - queue bytes for the server; -1 ends the session */
	int (*write)(void *owner, const void *p, size_t n);
	/* msg_done - a message ended (every recipient has a result) */
	void (*msg_done)(void *owner, const struct smtp_client_msg_result *res);
	/* transcript - one protocol line (commands and replies, not data); may be NULL */
	void (*transcript)(void *owner, bool sent, const char *line, size_t len);
};

enum smtp_client_want {
	SMTP_CLIENT_WANT_REPLY,   /* waiting for the server */
	SMTP_CLIENT_WANT_TLS,     /* do the TLS handshake, then smtp_client_proto_tls_done */
	SMTP_CLIENT_WANT_MESSAGE, /* idle: send a message, or quit */
	SMTP_CLIENT_WANT_CLOSE,   /* the session is over (smtp_client_proto_error says why) */
};

struct smtp_client_proto;

struct smtp_client_proto *smtp_client_proto_new(const struct smtp_client_proto_config *cfg,
                                                const struct smtp_client_proto_ops *ops,
                                                void *owner);
struct smtp_client_proto *smtp_client_proto_free(struct smtp_client_proto *c);

/* smtp_client_proto_input - consume the server's bytes; returns how many
 * (after a 220 to STARTTLS nothing more: the owner discards the rest) */
size_t smtp_client_proto_input(struct smtp_client_proto *c, const char *p, size_t n);
/* smtp_client_proto_pump - write up to about budget octets of message data */
void smtp_client_proto_pump(struct smtp_client_proto *c, size_t budget);
/* smtp_client_proto_pumping - message data is still to be written */
bool smtp_client_proto_pumping(const struct smtp_client_proto *c);

enum smtp_client_want smtp_client_proto_want(const struct smtp_client_proto *c);
/* smtp_client_proto_timeout_ms - how long to wait for the next reply */
unsigned smtp_client_proto_timeout_ms(const struct smtp_client_proto *c);

/* smtp_client_proto_send - start a message (state MESSAGE only); 0, or -1
 * when the engine is not idle or out of memory (nothing was sent) */
int smtp_client_proto_send(struct smtp_client_proto *c, const struct smtp_client_msg *m);
void smtp_client_proto_tls_done(struct smtp_client_proto *c);
/* smtp_client_proto_abort - the connection is gone or timed out: a message
 * in flight ends with why (code 0); state CLOSE */
void smtp_client_proto_abort(struct smtp_client_proto *c, const char *why);
/* smtp_client_proto_quit - send QUIT (idle only); CLOSE after its reply */
void smtp_client_proto_quit(struct smtp_client_proto *c);

const struct smtp_client_caps *smtp_client_proto_caps(const struct smtp_client_proto *c);
/* smtp_client_proto_error - why the session ended (code 0: ours), or NULL after a QUIT */
const struct smtp_client_reply *smtp_client_proto_error(const struct smtp_client_proto *c);
/* smtp_client_proto_greeting - the greeting reply's text (the server's name first) */
const char *smtp_client_proto_greeting(const struct smtp_client_proto *c);
/* smtp_client_proto_messages - messages ended on this session */
unsigned smtp_client_proto_messages(const struct smtp_client_proto *c);

#endif
