/*
 * smtp_client - one asynchronous SMTP/LMTP client session on libevent:
 * connect, the protocol engine (smtp_client_proto.h), STARTTLS through
 * bufferevent_openssl, the RFC 5321 timeouts; several messages in turn
 *
 * SUMMARY
 *	c = smtp_client_connect(&opts, (struct sockaddr *)&ss, sslen, &cb, arg);
 *	cb.ready(arg, c)           the session is idle: smtp_client_send(c, &msg)
 *	cb.msg_done(arg, c, res)   one result per recipient; ready follows
 *	                           while the session lives
 *	cb.closed(arg, c, why)     the session is over (why: NULL after QUIT)
 *	smtp_client_quit(c);       polite end: QUIT, then closed
 *	c = smtp_client_free(c);   at any time, also inside a callback; no
 *	                           callback runs after it
 *
 * DESCRIPTION
 *	Callbacks run from the event loop, never from inside the call that
 *	caused them, so the owner may send, quit or free from any of them.
 *	ready is called once after the greeting, EHLO and STARTTLS, and again
 *	after each message while the session is alive.  closed is called
 *	exactly once (unless freed first): after QUIT, when the server ended
 *	the session or refused it (why is its reply), on timeouts, connection
 *	and TLS failures (why->code 0 and our text).
 *
 *	TLS: with opts.tls != NO and STARTTLS offered, an SSL is made from
 *	opts.ssl_ctx with SNI opts.tls_name; opts.tls_prepare may set it up
 *	(DANE, host name checks) and opts.tls_check decides after the
 *	handshake whether the session may go on (-1 with a reason: the
 *	session ends and why says so).  The handshake itself never fails on
 *	the certificate; the policy is the owner's.
 *
 *	Between messages the session may stay idle (a connection cache):
 *	a reply or EOF that arrives while idle ends it (closed is called).
 *	While idle there is no timeout here; the owner keeps its own.
 */
#ifndef SMEXOP_SMTP_SMTP_CLIENT_H
#define SMEXOP_SMTP_SMTP_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include "smtp/smtp_client_proto.h"

struct event_base;
typedef struct ssl_st SSL;
typedef struct ssl_ctx_st SSL_CTX;

struct smtp_client;

struct smtp_client_options {
	struct event_base *base;
	const char *helo_name;
	bool lmtp;
	enum smtp_client_tls_mode tls;
	SSL_CTX *ssl_ctx;     /* borrowed; required unless tls is NO */
	const char *tls_name; /* SNI, or NULL */
	/* tls_prepare - set up the SSL before the handshake; -1 ends the session */
	int (*tls_prepare)(SSL *ssl, void *arg);
	/* tls_check - after the handshake; -1 (why filled) ends the session */
	int (*tls_check)(SSL *ssl, void *arg, char *why, size_t whysize);
	unsigned connect_timeout_ms; /* 0: 30 s */
	unsigned command_timeout_ms; /* 0: RFC 5321 values */
	unsigned data_timeout_ms;    /* 0: 10 min */
	bool no_chunking;
	bool no_pipelining;
	/* transcript - every command and reply line (not the data); may be NULL */
	void (*transcript)(void *transcript_arg, bool sent, const char *line, size_t len);
	void *transcript_arg;
};

struct smtp_client_cb {
	void (*ready)(void *arg, struct smtp_client *c);
	void (*msg_done)(void *arg, struct smtp_client *c,
	                 const struct smtp_client_msg_result *res);
	void (*closed)(void *arg, struct smtp_client *c, const struct smtp_client_reply *why);
};

/* smtp_client_connect - start connecting; NULL when out of resources
 * (no callback then).  opts is copied; its strings must outlive c. */
struct smtp_client *smtp_client_connect(const struct smtp_client_options *opts,
                                        const struct sockaddr *sa, socklen_t salen,
                                        const struct smtp_client_cb *cb, void *arg);
struct smtp_client *smtp_client_free(struct smtp_client *c);

/* smtp_client_send - in ready state only; the message (and everything it
 * points to) must stay valid until msg_done.  0, or -1 (not ready). */
int smtp_client_send(struct smtp_client *c, const struct smtp_client_msg *m);
void smtp_client_quit(struct smtp_client *c);
/* smtp_client_set_owner - hand the session to another owner (a connection
 * cache): callbacks pending for the old owner go to the new one */
void smtp_client_set_owner(struct smtp_client *c, const struct smtp_client_cb *cb, void *arg);
bool smtp_client_idle(const struct smtp_client *c);

const struct smtp_client_caps *smtp_client_caps(const struct smtp_client *c);
const char *smtp_client_greeting(const struct smtp_client *c);
/* smtp_client_ssl - the SSL after STARTTLS, or NULL */
SSL *smtp_client_ssl(const struct smtp_client *c);
unsigned smtp_client_messages(const struct smtp_client *c);
/* smtp_client_tls_tried - a TLS handshake was started on this session */
bool smtp_client_tls_tried(const struct smtp_client *c);

#endif
