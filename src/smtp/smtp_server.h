/*
 * smtp_server - the SMTP listeners on libevent: sockets, TLS, PROXY
 * protocol, connection limits and timeouts around smtp_session
 *
 * SUMMARY
 *	struct smtp_server_config sc;
 *	smtp_server_config_init(&sc, cfg);     hostname, listeners from the config
 *	sc.cert_file = ...; sc.key_file = ...;   for STARTTLS and implicit TLS
 *	srv = smtp_server_new(base, &sc, hooks, &err);
 *	...event_base_dispatch(base)...
 *	smtp_server_stop_accepting(srv);         on SIGTERM: close the listeners
 *	smtp_server_shutdown(srv);               421 4.3.2 to every session, close
 *	srv = smtp_server_free(srv);             closes what is left
 *
 * DESCRIPTION
 *	Each listener binds address:port with TLS mode none, starttls or
 *	implicit (OpenSSL 3 through bufferevent_openssl, TLS 1.2 and up)
 *	and optionally expects a PROXY protocol v2 header first
 *	(smtp_proxy.c), read with exact-length reads so that no byte behind
 *	it is consumed.  A starttls listener without a certificate simply
 *	does not offer STARTTLS; an implicit one refuses to start.
 *
 *	Every connection gets one smtp_session; the server feeds it from the
 *	bufferevent's input buffer and stops reading while a hook has not
 *	answered or while more than SMTP_SERVER_OUT_HIGH reply bytes wait
 *	for a peer that does not read (back-pressure, no unbounded queue).
 *	On STARTTLS the plaintext still buffered is discarded before the
 *	TLS filter is put on the socket (CVE-2011-0411).
 *
 * LIMITS
 *	Connections in total and per peer IP (after PROXY, the real peer):
 *	over either, `421 4.7.0 Too many connections` and close (implicit
 *	TLS listeners just close: the peer expects a handshake).  Command
 *	timeout (read timeout, RFC 5321 section 4.5.3.2) and whole-session
 *	timeout from struct smtp_limits; PROXY header and TLS handshake
 *	have their own short timeouts.
 */
#ifndef SMEXOP_SMTP_SMTP_SERVER_H
#define SMEXOP_SMTP_SMTP_SERVER_H

#include <stdbool.h>
#include <stddef.h>

#include "core/err.h"
#include "smtp/smtp_hooks.h"
#include "smtp/smtp_session.h"

struct event_base;
struct smexop_config;

enum smtp_tls_mode { SMTP_TLS_NONE, SMTP_TLS_STARTTLS, SMTP_TLS_IMPLICIT };

struct smtp_listener_config {
	const char *name;    /* for logs and smtp_conn_info.listener; NULL: "address:port" */
	const char *address; /* "0.0.0.0", "::", "127.0.0.1" */
	unsigned port;       /* 0: any free port (tests; see smtp_server_port) */
	enum smtp_tls_mode tls;
	bool proxy_protocol; /* a PROXY v2 header comes first */
};

#define SMTP_SERVER_LISTENERS_MAX 16
#define SMTP_SERVER_CONNS_MAX     1000 /* default total */
#define SMTP_SERVER_CONNS_PER_IP  20   /* default per peer IP */
#define SMTP_SERVER_HANDSHAKE_MS  30000
#define SMTP_SERVER_PROXY_MS      10000
#define SMTP_SERVER_OUT_HIGH      (256 * 1024) /* unread replies before reading stops */
#define SMTP_SERVER_IN_HIGH       (256 * 1024) /* unprocessed input before reading stops */

struct smtp_server_config {
	struct smtp_session_config session; /* hostname, limits, extensions */
	const char *cert_file;              /* PEM chain; NULL: no TLS */
	const char *key_file;               /* PEM private key */
	const char *client_ca_file;         /* CAs of client certificates; NULL: none asked */
	unsigned max_connections;           /* 0: SMTP_SERVER_CONNS_MAX */
	unsigned max_connections_per_ip;    /* 0: SMTP_SERVER_CONNS_PER_IP */
	struct smtp_listener_config listeners[SMTP_SERVER_LISTENERS_MAX];
	size_t nlisteners;
};

/* smtp_server_config_init - defaults; with cfg, its hostname and listeners too */
void smtp_server_config_init(struct smtp_server_config *sc, const struct smexop_config *cfg);

struct smtp_server;

/* smtp_server_new - bind every listener, load the certificate; NULL + err */
struct smtp_server *smtp_server_new(struct event_base *base, const struct smtp_server_config *sc,
                                    const struct smtp_hooks *hooks, struct sx_err *err);
/* smtp_server_port - the port listener i is bound to (after port 0) */
unsigned smtp_server_port(const struct smtp_server *srv, size_t i);
/* smtp_server_sessions - open connections */
unsigned smtp_server_sessions(const struct smtp_server *srv);
/* smtp_server_stop_accepting - close the listening sockets (new clients are
 * refused); open sessions go on; smtp_server_port still answers */
void smtp_server_stop_accepting(struct smtp_server *srv);
/* smtp_server_shutdown - 421 4.3.2 to every session; they close once flushed */
void smtp_server_shutdown(struct smtp_server *srv);
/* smtp_server_free - close listeners and connections (hooks->close for each); NULL */
struct smtp_server *smtp_server_free(struct smtp_server *srv);

#endif
