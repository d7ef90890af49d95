/*
 * smtp_hooks - what the SMTP server asks of the rest of the gateway
 *
 * The server (smtp_server.c, smtp_session.c) speaks RFC 5321 and knows no
 * stage of the protection pipeline.  At each decision point of a session
 * it calls one hook; `smexop serve` wires the hooks to pipeline/, tests
 * wire them to fakes.  Every decision is asynchronous: the hook starts
 * its work (DNS, clamd, store) and answers later, exactly once, through
 * the `done` callback it was given, with the session pointer it was given.
 * A reply with code 0 means "carry on with the server's default reply"
 * (for data_end that is 250 2.0.0 Ok: queued; a NULL reply means the
 * same).  A code outside 2xx/4xx/5xx becomes 451 4.3.0.  A connect reply
 * of 4xx closes the connection; 5xx answers 503 to everything but QUIT
 * (RFC 5321 section 3.1) unless disconnect is set.
 *
 * Message data is streamed: data_begin opens a sink (the spool file, in
 * the gateway), data_write appends as bytes arrive (already
 * dot-unstuffed, line endings as received: CRLF), and data_end asks for
 * the verdict.  The server sends `250` only when data_end answers with
 * a 2xx, which the gateway does only after the message is on disk
 * (fsync'd); any hook failure it cannot classify is a 4xx.
 *
 * Ownership: strings passed to hooks are valid only during the call.
 * The hook handle returned by connect lives until close, which is called
 * exactly once per accepted connection, also after errors and timeouts;
 * after close no `done` may be called (the hook cancels its work).
 */
#ifndef SMEXOP_SMTP_SMTP_HOOKS_H
#define SMEXOP_SMTP_SMTP_HOOKS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/net.h"

/* a reply chosen by a hook; code 0 = the server's default */
struct smtp_reply {
	unsigned code;        /* 250, 451, 550 ... */
	const char *enhanced; /* "5.7.1", or NULL */
	const char *text;     /* one line, no CRLF; the server adds code and enhanced code */
	bool disconnect;      /* close the session after sending this reply (421 style) */
};

struct smtp_conn_info {
	uint64_t session_id;
	struct net_addr peer;
	unsigned peer_port;
	struct net_addr local;
	unsigned local_port;
	const char *listener; /* the listener's name from the config */
	const char *ptr_name; /* forward-confirmed reverse name, or NULL */
	bool proxied;         /* peer came from a PROXY protocol header */
};

struct smtp_tls_info {
	bool active;
	const char *version; /* "TLSv1.3" */
	const char *cipher;
	const char *peer_subject; /* client certificate subject CN, or NULL */
	bool peer_verified;       /* it verified against tls.client_ca_file */
	/* the verified certificate's names: subject CN, then DNS subjectAltNames */
	const char *const *peer_names;
	size_t npeer_names;
};

/* MAIL FROM parameters (RFC 1870, 6152, 6531, 3461) */
struct smtp_mail_params {
	uint64_t size;         /* SIZE=, 0 when absent */
	bool body_8bitmime;    /* BODY=8BITMIME */
	bool body_binarymime;  /* BODY=BINARYMIME (with CHUNKING) */
	bool smtputf8;         /* SMTPUTF8 */
	const char *dsn_ret;   /* RET=FULL|HDRS, or NULL */
	const char *dsn_envid; /* ENVID= (xtext decoded), or NULL */
};

/* RCPT TO parameters (RFC 3461) */
struct smtp_rcpt_params {
	const char *dsn_notify; /* NOTIFY=, or NULL */
	const char *dsn_orcpt;  /* ORCPT= (addr-type;xtext decoded), or NULL */
};

typedef void (*smtp_done_fn)(void *session, const struct smtp_reply *reply);

struct smtp_hooks {
	void *arg; /* passed to connect */

	/* a new connection, before the greeting: connection filter, limits */
	void *(*connect)(void *arg, const struct smtp_conn_info *ci, smtp_done_fn done,
	                 void *session);
	/* HELO/EHLO (may be called again after RSET or STARTTLS) */
	void (*helo)(void *h, const char *name, bool esmtp, smtp_done_fn done, void *session);
	/* STARTTLS completed, or implicit TLS established */
	void (*tls)(void *h, const struct smtp_tls_info *tls);
	/* MAIL FROM; sender is "" for the null reverse-path */
	void (*mail)(void *h, const char *sender, const struct smtp_mail_params *p,
	             smtp_done_fn done, void *session);
	/* RCPT TO: relay rights, accepted domains, edge blocking */
	void (*rcpt)(void *h, const char *rcpt, const struct smtp_rcpt_params *p, smtp_done_fn done,
	             void *session);
	/* DATA or the first BDAT: open the sink; 0, or -1 for a temporary failure */
	int (*data_begin)(void *h);
	/* message bytes as they arrive; 0, or -1 (sink failure: the server will
	 * answer 451 at the end of data) */
	int (*data_write)(void *h, const char *buf, size_t len);
	/* end of data: the verdict; 2xx only once the message is durable */
	void (*data_end)(void *h, smtp_done_fn done, void *session);
	/* drop transaction state: called on RSET, before every MAIL, on
	 * HELO/EHLO/STARTTLS inside a transaction, and after a DATA/BDAT the
	 * server refused (bare LF, size, sink failure); not after data_end */
	void (*reset)(void *h);
	/* the connection is gone; cancel pending work, free h */
	void (*close)(void *h);
};

#endif
