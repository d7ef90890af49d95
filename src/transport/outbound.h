/*
 * outbound - deliver one message to one destination over SMTP or LMTP:
 * route (smart hosts or MX), TLS policy (DANE, MTA-STS, connector
 * settings), the SMTP client session, one result per recipient
 *
 * SUMMARY
 *	struct outbound *ob = outbound_new(base, dns, &opts, &err);
 *	outbound_start(ob, &req, done, arg);   (done called exactly once, later)
 *	ob = outbound_free(ob);
 *
 * DESCRIPTION
 *	The queue manager (transport/queue.c) groups the pending recipients
 *	of a spool entry by destination (a connector, or the recipient
 *	domain for direct delivery) and hands each group to outbound_start.
 *	This module knows nothing of the spool: it gets the message bytes,
 *	the envelope and the route, and answers with one outbound_rcpt_result
 *	per recipient and a description of the session (which host, which
 *	TLS, which policy) for the message trace and TLS-RPT.
 *
 *	Route: with smart hosts, those in order (a host name is resolved to
 *	its A and AAAA records); without, the MX records of req.domain in
 *	preference order (equal preferences shuffled), the implicit MX (A/AAAA
 *	of the domain) when there is none, and a permanent failure for a null
 *	MX (RFC 7505, 5.1.10).  A connection failure or a 4xx for the whole
 *	session moves on to the next address; at most opts.max_hosts are
 *	tried per attempt.
 *
 *	TLS: for direct delivery DANE (RFC 7672) decides when the MX host has
 *	usable, DNSSEC-validated TLSA records; otherwise an MTA-STS policy
 *	(RFC 8461) in enforce mode requires a matching MX name and a valid
 *	certificate (deferral text "MX hosts of '<domain>' failed MTA-STS
 *	validation.", 451 4.4.8, as EOP); otherwise the connector's tls mode.
 *
 *	Results: 2xx per recipient = delivered; 5xx = failed permanently; all
 *	else (4xx, timeouts, connection and TLS failures, DNS temporary
 *	failures) = deferred.  A failure before RCPT applies to every
 *	recipient of the request.  What one server lacks (8BITMIME for 8-bit
 *	data: 554 5.6.3, SMTPUTF8 for a UTF-8 address: 553 5.6.7, a SIZE
 *	smaller than the message: 552 5.3.4; see smtp/smtp_client_proto.h)
 *	moves on to the next host first and fails only when no host is left.
 *	A lost reply after the data was sent defers without another host (a
 *	second copy could be made).  The text says "host H[IP]:PORT said: ..."
 *	for a server's reply, and our reason otherwise.
 *
 *	Sessions: opportunistic TLS whose handshake fails retries the same
 *	address in plain text (required, verify, DANE and MTA-STS never do).
 *	After a delivery the session stays open and idle for the next
 *	outbound_start to the same destination (the options' conn_cache_*);
 *	RSET is sent only after a transaction that did not end.  TLS-RPT: one
 *	outcome per TLS session of a direct delivery (policy sts, tlsa or
 *	no-policy-found) into opts.store, unless opts.tlsrpt_off or the
 *	request is a report mail (req.report: RFC 8460 5.3, delivered with
 *	TLS policy failures tolerated, its sessions never counted).
 *
 * THREADS
 *	One struct outbound per event loop.
 */
#ifndef SMEXOP_TRANSPORT_OUTBOUND_H
#define SMEXOP_TRANSPORT_OUTBOUND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

struct event_base;
struct dns;
struct store;

enum outbound_protocol { OUTBOUND_SMTP, OUTBOUND_LMTP };

/* the connector's TLS setting (direct delivery: DANE and MTA-STS come first) */
enum outbound_tls {
	OUTBOUND_TLS_NONE,          /* never STARTTLS */
	OUTBOUND_TLS_OPPORTUNISTIC, /* STARTTLS when offered, no verification */
	OUTBOUND_TLS_REQUIRED,      /* STARTTLS or defer, no verification */
	OUTBOUND_TLS_VERIFY,        /* STARTTLS, certificate valid for the host name */
};

struct outbound_options {
	const char *helo_name; /* our EHLO name */
	const char *ca_file;   /* trust store for verification; NULL: system */
	unsigned connect_timeout_ms;
	unsigned command_timeout_ms; /* per reply; RFC 5321 4.5.3.2 values by default */
	unsigned data_timeout_ms;    /* for the reply to the end of data */
	unsigned max_hosts;          /* addresses tried per attempt; 0: 10 */
	bool dane;                   /* use DANE when the DNS is DNSSEC-validated */
	bool mta_sts;                /* use MTA-STS policies (cached in store) */
	struct store *store;         /* MTA-STS cache and TLS-RPT results; may be NULL */
	unsigned port;               /* direct delivery port; 0: 25 (tests change it) */
	/* the connection cache: after a delivery the session stays open, idle,
	 * for the next outbound_start to the same destination (same smart hosts
	 * or domain, protocol, TLS mode and port), with RSET only when the
	 * previous transaction did not end */
	bool conn_cache_off;
	unsigned conn_cache_idle_ms; /* how long an idle session is kept; 0: 5000 */
	unsigned conn_cache_max;     /* idle sessions kept in all; 0: 32 */
	unsigned conn_reuse_max;     /* messages per session; 0: 100 */
	unsigned conn_reuse_time_ms; /* a session is not reused after this age; 0: 300000 */
	/* the MTA-STS resolver (config mta_sts.*) */
	unsigned mta_sts_port;             /* the policy host's HTTPS port; 0: 443 */
	const char *mta_sts_ca_file;       /* trust store for policy hosts; NULL: ca_file */
	unsigned mta_sts_fetch_timeout_ms; /* 0: MTASTS_DEFAULT_TIMEOUT_MS */
	uint32_t mta_sts_refresh_margin;   /* seconds; 0: MTASTS_DEFAULT_REFRESH_MARGIN */
	bool tlsrpt_off;                   /* record no TLS-RPT outcome (tls_reports.enabled) */
	/* tests and tools */
	bool no_chunking;   /* never BDAT */
	bool no_pipelining; /* one command at a time */
	/* transcript - every SMTP command and reply line (smexop send -v); may be NULL */
	void (*transcript)(void *arg, bool sent, const char *line, size_t len);
	void *transcript_arg;
};

struct outbound_host {
	const char *host; /* name or address literal */
	unsigned port;    /* 0: 25 (LMTP: 24) */
};

struct outbound_rcpt {
	const char *addr;
	const char *notify; /* DSN NOTIFY= value or "" */
	const char *orcpt;  /* DSN ORCPT= value or "" */
};

struct outbound_request {
	const char *domain; /* the destination domain: MX lookup, DANE, MTA-STS, TLS-RPT */
	enum outbound_protocol protocol;
	const struct outbound_host *smart_hosts; /* NULL/0: direct delivery */
	size_t nsmart_hosts;
	enum outbound_tls tls;
	const char *sender;    /* "" for the null reverse-path */
	const char *dsn_ret;   /* "" or FULL/HDRS */
	const char *dsn_envid; /* "" or the ENVID */
	const struct outbound_rcpt *rcpts;
	size_t nrcpts;
	/* the message: header fields to put first (each without CRLF), then data */
	const char *const *prepend;
	size_t nprepend;
	const char *data; /* CRLF line ends, not dot-stuffed */
	size_t len;
	bool eightbit; /* BODY=8BITMIME */
	bool smtputf8;
	const char *trace_id; /* for log lines: the spool id */
	/* a TLS-RPT or DMARC report mail (RFC 8460 5.3): delivered despite TLS
	 * policy failures (direct delivery: no DANE or MTA-STS, opportunistic
	 * TLS with the plain-text retry), and its sessions are not recorded for
	 * TLS-RPT; a connector's own tls setting still applies */
	bool report;
};

enum outbound_status { OUTBOUND_DELIVERED, OUTBOUND_DEFERRED, OUTBOUND_FAILED };

struct outbound_rcpt_result {
	enum outbound_status status;
	unsigned code;     /* the SMTP reply code, or 0 when none was received */
	char enhanced[16]; /* "5.1.1" or "" */
	char text[512];    /* the server's reply or our own reason, one line */
};

struct outbound_result {
	struct outbound_rcpt_result *rcpts; /* req.nrcpts entries */
	char remote_host[256];              /* the host that answered last, or "" */
	char remote_ip[64];
	char tls_version[16]; /* "TLSv1.3", or "" without TLS */
	char tls_cipher[64];
	const char *tls_policy; /* "dane", "mta-sts", "verify", "opportunistic", "none" */
	bool tls_verified;
};

/* done - called once per outbound_start, from the event loop; the result
 * and everything in it is valid only during the call */
typedef void (*outbound_done_cb)(const struct outbound_result *res, void *arg);

struct outbound *outbound_new(struct event_base *base, struct dns *dns,
                              const struct outbound_options *opts, struct sx_err *err);
/* outbound_free - cancel what runs (no callback is called after) and free; returns NULL */
struct outbound *outbound_free(struct outbound *ob);
/* outbound_start - begin a delivery; the request is copied; 0, or -1
 * with err (and no callback) when it cannot even start */
int outbound_start(struct outbound *ob, const struct outbound_request *req, outbound_done_cb done,
                   void *arg, struct sx_err *err);

/* outbound_mtasts_refresh - refetch the cached MTA-STS policies that
 * expire within the refresh margin (mtasts_refresh; call it from a timer,
 * RFC 8461 5.1); the number of fetches started, 0 without MTA-STS */
int outbound_mtasts_refresh(struct outbound *ob);

/* outbound_close_idle - end every cached idle session (QUIT); the loop
 * finishes them, outbound_free may follow at once */
void outbound_close_idle(struct outbound *ob);
/* outbound_idle - idle sessions in the cache */
size_t outbound_idle(const struct outbound *ob);
/* outbound_sessions - sessions not owned by a delivery: idle or closing */
size_t outbound_sessions(const struct outbound *ob);

#endif
