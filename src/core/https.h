/*
 * https - a small asynchronous HTTPS client on libevent, for MTA-STS
 * policy fetches (GET) and TLS-RPT report submission (POST)
 *
 * SUMMARY
 *	struct https_client *c = https_client_new(base, dns, ca_file, &err);
 *	struct https_request rq = { .method = "GET", .host = "mta-sts.example.com",
 *	                            .path = "/.well-known/mta-sts.txt",
 *	                            .max_body = 65536, .timeout_ms = 30000 };
 *	struct https_fetch *f = https_start(c, &rq, done, arg);
 *	... done(&res, arg) is called once, from the loop ...
 *	c = https_client_free(c);
 *
 * DESCRIPTION
 *	The host name is resolved through smexop's own resolver (core/dns.h:
 *	AAAA and A, asked together; an address literal is used as is); each
 *	address is tried in turn until one accepts the TCP connection.  TLS
 *	then runs over that connection with SNI = the host name, and the
 *	certificate is verified against the system store (or the client's CA
 *	file) with SSL_set1_host name checks: a certificate problem is
 *	HTTPS_ERR_CERT with OpenSSL's reason, other handshake failures
 *	HTTPS_ERR_TLS.  A TLS failure does not move on to the next address:
 *	every address serves the same name.
 *
 *	One request per connection (Connection: close), HTTP/1.1.  The
 *	response is read by https_parser (below): Content-Length, chunked or
 *	up to the close; the body is capped (max_body) and the whole header
 *	block too (HTTPS_MAX_HEAD).  Redirects are never followed: a 3xx is
 *	HTTPS_ERR_STATUS like any status outside 200..299, with the Location
 *	in the reason.  One deadline (timeout_ms) covers the whole request,
 *	from the DNS lookups to the last body byte.
 *
 *	The response passed to the callback belongs to the fetch and is valid
 *	only during the callback; the fetch is freed right after it.
 *
 * THREADS
 *	A client belongs to one event loop.  Several fetches may run at once.
 */
#ifndef SMEXOP_CORE_HTTPS_H
#define SMEXOP_CORE_HTTPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/err.h"

struct event_base;
struct dns;

#define HTTPS_MAX_HEAD           (16 * 1024) /* status line and header fields */
#define HTTPS_MAX_CHUNK_LINE     1024        /* a chunk-size line with its extensions */
#define HTTPS_DEFAULT_MAX_BODY   (1024 * 1024)
#define HTTPS_DEFAULT_TIMEOUT_MS 30000
#define HTTPS_MAX_ADDRS          16 /* addresses tried for one name */

enum https_error {
	HTTPS_OK,            /* a 2xx response with its whole body */
	HTTPS_ERR_DNS,       /* the host name has no address (or the lookup failed) */
	HTTPS_ERR_CONNECT,   /* no address accepted the connection */
	HTTPS_ERR_TLS,       /* the TLS handshake failed (protocol, alert) */
	HTTPS_ERR_CERT,      /* the certificate is not valid for the name */
	HTTPS_ERR_HTTP,      /* a malformed or truncated HTTP response */
	HTTPS_ERR_STATUS,    /* a status outside 200..299 (redirects included) */
	HTTPS_ERR_TOO_LARGE, /* the body is larger than max_body */
	HTTPS_ERR_TIMEOUT,   /* the deadline passed */
	HTTPS_ERR_INTERNAL,  /* resource failure on our side */
};

struct https_request {
	const char *method;       /* "GET" (NULL too) or "POST" */
	const char *host;         /* DNS, SNI, Host and the certificate name */
	unsigned port;            /* 0: 443 */
	const char *path;         /* "/..."; NULL: "/" */
	const char *content_type; /* POST: the body's media type */
	const void *body;         /* POST body, or NULL */
	size_t body_len;
	const char *const *headers; /* extra "Name: value" lines, or NULL */
	size_t nheaders;
	size_t max_body;          /* 0: HTTPS_DEFAULT_MAX_BODY */
	unsigned timeout_ms;      /* for everything; 0: HTTPS_DEFAULT_TIMEOUT_MS */
	const char *connect_addr; /* connect here instead of resolving host (tests); NULL */
};

struct https_response {
	enum https_error error;
	char reason[512];         /* human text for every error, "" on success */
	unsigned status;          /* the HTTP status, 0 when none arrived */
	char addr[64];            /* the address connected to, or "" */
	const char *content_type; /* the Content-Type value, or NULL */
	const char *location;     /* the Location value, or NULL */
	const char *body;         /* NUL-terminated (may contain NULs); "" when none */
	size_t body_len;
	long verify_result; /* OpenSSL's X509 verification result (0: ok) */
};

typedef void (*https_done_cb)(const struct https_response *res, void *arg);

struct https_client;
struct https_fetch;

/* https_client_new - a client on base resolving through dns; ca_file NULL:
 * the system trust store.  NULL with err when the trust store cannot load */
struct https_client *https_client_new(struct event_base *base, struct dns *dns, const char *ca_file,
                                      struct sx_err *err);
/* https_client_free - cancel every fetch (no callback) and free; returns NULL */
struct https_client *https_client_free(struct https_client *c);
/* https_start - begin a request; the request is copied.  NULL when it
 * cannot even start (no callback then).  done is never called before
 * https_start has returned. */
struct https_fetch *https_start(struct https_client *c, const struct https_request *rq,
                                https_done_cb done, void *arg);
/* https_cancel - the callback will not run */
void https_cancel(struct https_fetch *f);

/* https_error_name - "ok", "dns", "connect", "tls", "certificate", ... */
const char *https_error_name(enum https_error e);

/* ---- the response parser (push; fuzzed by tests/fuzz/fuzz_https_parse) ---- */

enum https_parse_status {
	HTTPS_PARSE_MORE,      /* give more bytes (or the end of input) */
	HTTPS_PARSE_DONE,      /* the response is complete */
	HTTPS_PARSE_ERROR,     /* malformed: reason in p->error */
	HTTPS_PARSE_TOO_LARGE, /* body above max_body, or head above HTTPS_MAX_HEAD */
};

struct https_parser {
	int state;
	size_t max_body;
	struct buf head; /* the status line and fields */
	struct buf line; /* a chunk-size or trailer line */
	struct buf body;
	size_t trailer; /* trailer bytes so far */
	unsigned status;
	char *content_type; /* into head, after the head is parsed */
	char *location;
	bool chunked, has_length, head_done;
	uint64_t remaining; /* of Content-Length or of the current chunk */
	char error[128];
};

/* https_parser_init - ready for a response; max_body 0: HTTPS_DEFAULT_MAX_BODY */
void https_parser_init(struct https_parser *p, size_t max_body);
void https_parser_free(struct https_parser *p);
/* https_parser_feed - consume data[0..len); bytes after a complete
 * response are ignored */
enum https_parse_status https_parser_feed(struct https_parser *p, const char *data, size_t len);
/* https_parser_eof - the connection closed: DONE when the body ran to the
 * close, ERROR when the response is truncated */
enum https_parse_status https_parser_eof(struct https_parser *p);

#endif
