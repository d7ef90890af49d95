/*
 * smtp_probe - a blocking SMTP STARTTLS probe for command-line tools
 *
 * SUMMARY
 *	struct smtp_probe_options o = { .host = "mx.example.com", .port = 25,
 *	                                .dns = dns, .base = base };
 *	struct smtp_probe_result r;
 *	if (smtp_probe_run(&o, &r) < 0)
 *		fprintf(stderr, "%s\n", r.error);   e.g.
 *		"mx.example.com[192.0.2.1]:25: STARTTLS not offered"
 *	... r.chain, r.tls_version, r.cipher, r.verify_result, r.transcript ...
 *	smtp_probe_result_free(&r);
 *
 * DESCRIPTION
 *	Connects to host:port (the name resolved through core/dns, A then
 *	AAAA, each address tried in turn until one connects; or the address
 *	given in connect_addr, or host itself when it is an address literal),
 *	reads the banner, sends EHLO, STARTTLS, does the TLS handshake with
 *	SNI and then QUIT over TLS.  Every step waits at most timeout_ms
 *	(poll on a non-blocking socket); replies are read line by line with a
 *	cap on the line length and on the number of lines, so a hostile server
 *	cannot make it hang or grow without bound.
 *
 *	It is used by `smexop tlsa --host`, `smexop mta-sts check` and
 *	`smexop check-domain`; the gateway's own delivery is asynchronous and
 *	lives in transport/outbound.c, not here.
 *
 *	Verification: the handshake always completes whatever the
 *	certificate (SSL_VERIFY_NONE), so the chain can be shown; OpenSSL's
 *	verification still runs and its result is in verify_result.  Without
 *	a tls_setup callback the system trust store (or ca_file) and the host
 *	name (SSL_set1_host) are used: verify_result then says whether the
 *	server passes WebPKI checks for host (what MTA-STS needs).  With a
 *	tls_setup callback, it is called on the SSL after SNI is set and
 *	before the handshake: this is where transport/dane.h's
 *	dane_ssl_prepare() goes; the SSL_CTX the probe creates always has
 *	SSL_CTX_dane_enable() called on it so that works.  keep_ssl leaves the
 *	SSL in the result (after the connection is closed) so the caller can
 *	read the DANE outcome (dane_ssl_outcome) or anything else from it.
 *
 *	The DNSSEC status of the address answer used (addr_sec) is kept:
 *	RFC 7672 2.2.2 wants the host's address records secure before TLSA
 *	records are believed.
 */
#ifndef SMEXOP_SMTP_SMTP_PROBE_H
#define SMEXOP_SMTP_SMTP_PROBE_H

#include <stdbool.h>
#include <stddef.h>

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "core/buf.h"
#include "core/dns.h"
#include "core/net.h"

struct event_base;

#define SMTP_PROBE_DEFAULT_TIMEOUT_MS 30000
#define SMTP_PROBE_REPLY_LINES_MAX    100         /* lines in one multi-line reply */
#define SMTP_PROBE_LINE_MAX           2048        /* octets in one reply line */
#define SMTP_PROBE_TRANSCRIPT_MAX     (64 * 1024) /* the transcript buffer's cap */
#define SMTP_PROBE_ADDRS_MAX          16          /* addresses tried for a name */

/* called on the SSL before the handshake; return 0, or -1 to abort (with
 * a message in err, which is reported as the probe's error) */
typedef int (*smtp_probe_tls_setup)(SSL *ssl, void *arg, char *err, size_t errsize);

struct smtp_probe_options {
	const char *host;               /* MX host name or address literal */
	const char *connect_addr;       /* connect here instead of resolving host; NULL: resolve */
	unsigned port;                  /* 0: 25 */
	const char *helo_name;          /* EHLO argument; NULL: "smexop.invalid" */
	const char *sni;                /* NULL: host when it is a name; "": no SNI */
	unsigned timeout_ms;            /* per step; 0: SMTP_PROBE_DEFAULT_TIMEOUT_MS */
	struct dns *dns;                /* to resolve host names (with base); may be NULL */
	struct event_base *base;        /* the loop dns runs on */
	const char *ca_file;            /* trust store for the default verification; NULL: system */
	smtp_probe_tls_setup tls_setup; /* NULL: WebPKI verification for host */
	void *tls_setup_arg;
	bool keep_ssl; /* leave the SSL in the result (see result.ssl) */
};

/* where the probe stopped */
enum smtp_probe_stage {
	SMTP_PROBE_RESOLVE,   /* the name did not resolve */
	SMTP_PROBE_CONNECT,   /* no address accepted the connection */
	SMTP_PROBE_BANNER,    /* no 220 greeting */
	SMTP_PROBE_EHLO,      /* EHLO refused */
	SMTP_PROBE_STARTTLS,  /* STARTTLS not offered or refused */
	SMTP_PROBE_HANDSHAKE, /* the TLS handshake failed */
	SMTP_PROBE_DONE,      /* the handshake completed */
};

struct smtp_probe_result {
	enum smtp_probe_stage stage;
	char peer[320];                   /* "mx.example.com[192.0.2.1]:25" */
	char addr[NET_ADDR_STRLEN];       /* the address connected to, or "" */
	enum dns_sec addr_sec;            /* DNSSEC status of the address answer
	                                   * (INSECURE for a literal or connect_addr) */
	char banner[SMTP_PROBE_LINE_MAX]; /* first line of the greeting */
	bool starttls_offered;
	char tls_version[16];    /* "TLSv1.3", or "" */
	char cipher[64];         /* "TLS_AES_256_GCM_SHA384", or "" */
	STACK_OF(X509) * chain;  /* the chain as sent, leaf first; owned; NULL before TLS */
	long verify_result;      /* X509_V_OK or an X509_V_ERR_* (after the handshake) */
	const char *verify_text; /* X509_verify_cert_error_string(verify_result) */
	SSL *ssl;                /* with keep_ssl: the SSL after the handshake; owned */
	struct buf transcript;   /* "C: EHLO ...\nS: 250-...\n..." and "-- TLS ..." lines */
	char error[1024];        /* "peer: what went wrong" when smtp_probe_run failed */
};

/* smtp_probe_run - run the probe; 0 when the TLS handshake completed
 * (whatever the verification), -1 otherwise with r->error and r->stage.
 * r is always initialised and must be freed with smtp_probe_result_free. */
int smtp_probe_run(const struct smtp_probe_options *o, struct smtp_probe_result *r);
/* smtp_probe_result_free - free the chain, SSL and transcript */
void smtp_probe_result_free(struct smtp_probe_result *r);

/*
 * smtp_probe_addrs - the addresses of host: the literal itself, or A then
 * AAAA through dns (run on base).  Returns the count (0 when none, with
 * err), up to max; *sec is SECURE only when every answer used was secure,
 * BOGUS when any was bogus.
 */
size_t smtp_probe_addrs(struct dns *dns, struct event_base *base, const char *host,
                        struct net_addr *out, size_t max, enum dns_sec *sec, char *err,
                        size_t errsize);

/* smtp_probe_stage_name - "resolve", "connect", ... "done" */
const char *smtp_probe_stage_name(enum smtp_probe_stage s);

#endif
