/*
 * https - the asynchronous HTTPS client (see https.h): DNS through
 * core/dns, TCP then TLS as a bufferevent_openssl filter (so a refused
 * connection and a failed handshake are told apart), and a bounded push
 * parser for the HTTP/1.1 response
 *
 * Life of a fetch: AAAA and A lookups together -> connect to each
 * address in turn -> TLS handshake with SNI and SSL_set1_host -> write
 * the request -> feed the parser until DONE or the close -> callback ->
 * free.  The deadline timer covers all of it.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "core/dns.h"
#include "core/https.h"
#include "core/net.h"
#include "core/str.h"

/* ==== the response parser ============================================== */

enum {
	P_HEAD,
	P_BODY_LEN,
	P_BODY_CLOSE,
	P_CHUNK_SIZE,
	P_CHUNK_DATA,
	P_CHUNK_CRLF,
	P_TRAILER,
	P_DONE,
	P_ERROR,
};

void https_parser_init(struct https_parser *p, size_t max_body)
{
	memset(p, 0, sizeof(*p));
	p->max_body = max_body > 0 ? max_body : HTTPS_DEFAULT_MAX_BODY;
	buf_init(&p->head, HTTPS_MAX_HEAD);
	buf_init(&p->line, HTTPS_MAX_CHUNK_LINE);
	/* one more than the cap, so "exactly max_body" still fits with its NUL */
	buf_init(&p->body, p->max_body + 1);
	p->state = P_HEAD;
}

void https_parser_free(struct https_parser *p)
{
	if (p == NULL)
		return;
	buf_free(&p->head);
	buf_free(&p->line);
	buf_free(&p->body);
}

static enum https_parse_status parse_fail(struct https_parser *p, const char *why)
{
	snprintf(p->error, sizeof(p->error), "%s", why);
	p->state = P_ERROR;
	return HTTPS_PARSE_ERROR;
}

static enum https_parse_status parse_too_large(struct https_parser *p, const char *why)
{
	snprintf(p->error, sizeof(p->error), "%s", why);
	p->state = P_ERROR;
	return HTTPS_PARSE_TOO_LARGE;
}

static bool is_tchar(int c)
{
	return str_is_alnum(c) || (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

/* trim - strip spaces and tabs around s[0..*n) */
static char *trim(char *s, size_t *n)
{
	while (*n > 0 && (s[0] == ' ' || s[0] == '\t')) {
		s++;
		(*n)--;
	}
	while (*n > 0 && (s[*n - 1] == ' ' || s[*n - 1] == '\t'))
		(*n)--;
	return s;
}

/* head_field - one "name: value" line (s[0..n), NUL-terminated by the caller) */
static enum https_parse_status head_field(struct https_parser *p, char *s, size_t n)
{
	char *colon = memchr(s, ':', n), *v;
	size_t nlen, vlen, i;
	uint64_t len;

	if (s[0] == ' ' || s[0] == '\t')
		return parse_fail(p, "folded header field (obsolete line folding)");
	if (colon == NULL || colon == s)
		return parse_fail(p, "header field without a name and colon");
	nlen = (size_t)(colon - s);
	for (i = 0; i < nlen; i++)
		if (!is_tchar((unsigned char)s[i]))
			return parse_fail(p, "bad character in a header field name");
	vlen = n - nlen - 1;
	v = trim(colon + 1, &vlen);
	v[vlen] = '\0';
	for (i = 0; i < vlen; i++)
		if (v[i] == '\0' || v[i] == '\r' || (unsigned char)v[i] == 0x7f)
			return parse_fail(p, "control character in a header field value");
	if (str_case_eq_n(s, nlen, "Content-Length", 14)) {
		if (str_to_u64(v, vlen, 0, UINT64_MAX / 2, &len) < 0)
			return parse_fail(p, "bad Content-Length");
		if (p->has_length && len != p->remaining)
			return parse_fail(p, "conflicting Content-Length fields");
		p->has_length = true;
		p->remaining = len;
	} else if (str_case_eq_n(s, nlen, "Transfer-Encoding", 17)) {
		/* only "chunked" is ever asked for (no TE, no Accept-Encoding) */
		if (!str_case_eq_n(v, vlen, "chunked", 7))
			return parse_fail(p, "unsupported Transfer-Encoding");
		p->chunked = true;
	} else if (str_case_eq_n(s, nlen, "Content-Type", 12)) {
		if (p->content_type == NULL)
			p->content_type = v;
	} else if (str_case_eq_n(s, nlen, "Location", 8)) {
		if (p->location == NULL)
			p->location = v;
	}
	return HTTPS_PARSE_MORE;
}

/* head_parse - the head is complete in p->head: status line, fields */
static enum https_parse_status head_parse(struct https_parser *p)
{
	char *s = p->head.data, *end = s + p->head.len, *eol;
	enum https_parse_status r;
	uint64_t status;
	size_t n;

	eol = memchr(s, '\n', (size_t)(end - s));
	if (eol == NULL)
		return parse_fail(p, "no status line");
	n = (size_t)(eol - s);
	if (n > 0 && s[n - 1] == '\r')
		n--;
	if (n < 12 || memcmp(s, "HTTP/1.", 7) != 0 || !str_is_digit((unsigned char)s[7]) ||
	    s[8] != ' ' || str_to_u64(s + 9, 3, 100, 999, &status) < 0 || (n > 12 && s[12] != ' '))
		return parse_fail(p, "bad status line");
	p->status = (unsigned)status;
	s = eol + 1;
	while (s < end) {
		eol = memchr(s, '\n', (size_t)(end - s));
		if (eol == NULL)
			break;
		n = (size_t)(eol - s);
		if (n > 0 && s[n - 1] == '\r')
			n--;
		if (n == 0)
			break; /* the empty line */
		s[n] = '\0';
		if (memchr(s, '\0', n) != NULL)
			return parse_fail(p, "NUL in the header");
		r = head_field(p, s, n);
		if (r != HTTPS_PARSE_MORE)
			return r;
		s = eol + 1;
	}
	p->head_done = true;
	if (p->status == 204 || p->status == 304) {
		p->state = P_DONE;
		return HTTPS_PARSE_DONE;
	}
	if (p->chunked) {
		p->has_length = false;
		p->state = P_CHUNK_SIZE;
	} else if (p->has_length) {
		if (p->remaining > p->max_body)
			return parse_too_large(p, "Content-Length above the body limit");
		p->state = p->remaining == 0 ? P_DONE : P_BODY_LEN;
	} else {
		p->state = P_BODY_CLOSE;
	}
	return p->state == P_DONE ? HTTPS_PARSE_DONE : HTTPS_PARSE_MORE;
}

/* head_reset - a 1xx interim response: forget it, read the next head */
static void head_reset(struct https_parser *p)
{
	buf_clear(&p->head);
	p->status = 0;
	p->content_type = p->location = NULL;
	p->chunked = p->has_length = p->head_done = false;
	p->remaining = 0;
	p->state = P_HEAD;
}

static enum https_parse_status body_add(struct https_parser *p, const char *d, size_t n)
{
	if (n > p->max_body - p->body.len || buf_append(&p->body, d, n) < 0)
		return parse_too_large(p, "body above the limit");
	return HTTPS_PARSE_MORE;
}

static int hexval(char c)
{
	if (str_is_digit((unsigned char)c))
		return c - '0';
	c = (char)str_lower((unsigned char)c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* chunk_line - a complete chunk-size line in p->line (without its LF) */
static enum https_parse_status chunk_line(struct https_parser *p)
{
	const char *s = p->line.data;
	size_t n = p->line.len, i = 0;
	uint64_t size = 0;

	if (n > 0 && s[n - 1] == '\r')
		n--;
	for (i = 0; i < n && i < 16 && hexval(s[i]) >= 0; i++)
		size = size * 16 + (uint64_t)hexval(s[i]);
	if (i == 0 || i >= 16 || (i < n && s[i] != ';' && s[i] != ' ' && s[i] != '\t'))
		return parse_fail(p, "bad chunk size");
	buf_clear(&p->line);
	if (size == 0) {
		p->state = P_TRAILER;
		return HTTPS_PARSE_MORE;
	}
	if (size > p->max_body - p->body.len)
		return parse_too_large(p, "chunked body above the limit");
	p->remaining = size;
	p->state = P_CHUNK_DATA;
	return HTTPS_PARSE_MORE;
}

enum https_parse_status https_parser_feed(struct https_parser *p, const char *data, size_t len)
{
	enum https_parse_status r;
	size_t i = 0, n;

	while (i < len) {
		switch (p->state) {
		case P_HEAD:
			if (buf_putc(&p->head, data[i]) < 0)
				return parse_too_large(p, "response header above the limit");
			i++;
			n = p->head.len;
			if (data[i - 1] == '\n' && ((n >= 2 && p->head.data[n - 2] == '\n') ||
			                            (n >= 3 && p->head.data[n - 2] == '\r' &&
			                             p->head.data[n - 3] == '\n'))) {
				r = head_parse(p);
				if (r != HTTPS_PARSE_MORE && r != HTTPS_PARSE_DONE)
					return r;
				if (p->status >= 100 && p->status < 200) {
					if (p->status == 101)
						return parse_fail(
						    p, "unexpected 101 Switching Protocols");
					head_reset(p);
				}
			}
			break;
		case P_BODY_LEN:
		case P_CHUNK_DATA:
			/* Content-Length bytes, or one chunk's */
			n = len - i;
			if (n > p->remaining)
				n = (size_t)p->remaining;
			if ((r = body_add(p, data + i, n)) != HTTPS_PARSE_MORE)
				return r;
			i += n;
			p->remaining -= n;
			if (p->remaining == 0)
				p->state = p->state == P_BODY_LEN ? P_DONE : P_CHUNK_CRLF;
			break;
		case P_BODY_CLOSE:
			if ((r = body_add(p, data + i, len - i)) != HTTPS_PARSE_MORE)
				return r;
			i = len;
			break;
		case P_CHUNK_SIZE:
		case P_TRAILER:
			if (data[i] == '\n') {
				i++;
				if (p->state == P_CHUNK_SIZE) {
					if ((r = chunk_line(p)) != HTTPS_PARSE_MORE)
						return r;
				} else if (p->line.len == 0 ||
				           (p->line.len == 1 && p->line.data[0] == '\r')) {
					p->state = P_DONE;
				} else {
					buf_clear(&p->line);
				}
				break;
			}
			if (p->state == P_TRAILER && ++p->trailer > HTTPS_MAX_HEAD)
				return parse_too_large(p, "chunked trailer above the limit");
			if (buf_putc(&p->line, data[i]) < 0)
				return parse_fail(p, p->state == P_CHUNK_SIZE
				                         ? "chunk-size line too long"
				                         : "trailer line too long");
			i++;
			break;
		case P_CHUNK_CRLF:
			/* CRLF (or a bare LF) after the chunk data */
			if (data[i] == '\r' && p->line.len == 0) {
				if (buf_putc(&p->line, '\r') < 0)
					return parse_fail(p, "internal");
				i++;
				break;
			}
			if (data[i] != '\n')
				return parse_fail(p, "no CRLF after chunk data");
			i++;
			buf_clear(&p->line);
			p->state = P_CHUNK_SIZE;
			break;
		case P_DONE:
			return HTTPS_PARSE_DONE; /* anything after the response is ignored */
		default:
			return parse_fail(p, p->error[0] != '\0' ? p->error : "parser in error");
		}
	}
	if (p->state == P_DONE)
		return HTTPS_PARSE_DONE;
	return HTTPS_PARSE_MORE;
}

enum https_parse_status https_parser_eof(struct https_parser *p)
{
	switch (p->state) {
	case P_DONE:
	case P_BODY_CLOSE:
		p->state = P_DONE;
		return HTTPS_PARSE_DONE;
	case P_HEAD:
		return parse_fail(p, p->head.len == 0 ? "connection closed without a response"
		                                      : "connection closed in the response header");
	case P_ERROR:
		return HTTPS_PARSE_ERROR;
	default:
		return parse_fail(p, "connection closed before the end of the body");
	}
}

/* ==== the client ========================================================= */

struct https_client {
	struct event_base *base;
	struct dns *dns;
	SSL_CTX *ctx;
	struct https_fetch *fetches; /* doubly linked, for cancellation at free */
};

struct https_fetch {
	struct https_client *c;
	struct https_fetch *prev, *next;
	https_done_cb done;
	void *arg;
	/* the request, copied */
	char *method, *host, *path, *content_type, *connect_addr;
	char **headers;
	size_t nheaders;
	char *body;
	size_t body_len;
	unsigned port;
	unsigned timeout_ms;
	bool host_is_addr;
	/* progress */
	struct dns_query *q6, *q4;
	struct net_addr addrs[HTTPS_MAX_ADDRS];
	size_t naddrs, next_addr;
	char dns_why[256];
	char connect_why[256];
	struct event *timer;
	struct event *kick;      /* starts the connection from the loop for literals */
	struct bufferevent *tcp; /* before the handshake starts */
	struct bufferevent *tls; /* owns tcp and the SSL once made */
	SSL *ssl;
	const char *stage;
	struct https_parser parser;
};

const char *https_error_name(enum https_error e)
{
	static const char *const names[] = {
		[HTTPS_OK] = "ok",
		[HTTPS_ERR_DNS] = "dns",
		[HTTPS_ERR_CONNECT] = "connect",
		[HTTPS_ERR_TLS] = "tls",
		[HTTPS_ERR_CERT] = "certificate",
		[HTTPS_ERR_HTTP] = "http",
		[HTTPS_ERR_STATUS] = "status",
		[HTTPS_ERR_TOO_LARGE] = "too-large",
		[HTTPS_ERR_TIMEOUT] = "timeout",
		[HTTPS_ERR_INTERNAL] = "internal",
	};
	if ((unsigned)e >= sizeof(names) / sizeof(names[0]))
		return "unknown";
	return names[e];
}

struct https_client *https_client_new(struct event_base *base, struct dns *dns, const char *ca_file,
                                      struct sx_err *err)
{
	struct https_client *c = calloc(1, sizeof(*c));

	if (c == NULL) {
		sx_err_set(err, "https: out of memory");
		return NULL;
	}
	c->base = base;
	c->dns = dns;
	c->ctx = SSL_CTX_new(TLS_client_method());
	if (c->ctx == NULL) {
		sx_err_set(err, "https: cannot create a TLS context");
		free(c);
		return NULL;
	}
	SSL_CTX_set_min_proto_version(c->ctx, TLS1_2_VERSION);
	SSL_CTX_set_verify(c->ctx, SSL_VERIFY_PEER, NULL);
	if (ca_file != NULL ? SSL_CTX_load_verify_locations(c->ctx, ca_file, NULL) != 1
	                    : SSL_CTX_set_default_verify_paths(c->ctx) != 1) {
		sx_err_set(err, "https: cannot load the trust store %s: %s",
		           ca_file != NULL ? ca_file : "(system)",
		           ERR_reason_error_string(ERR_get_error()));
		ERR_clear_error();
		SSL_CTX_free(c->ctx);
		free(c);
		return NULL;
	}
	return c;
}

static void fetch_free(struct https_fetch *f)
{
	size_t i;

	if (f == NULL)
		return;
	if (f->prev != NULL)
		f->prev->next = f->next;
	else if (f->c->fetches == f)
		f->c->fetches = f->next;
	if (f->next != NULL)
		f->next->prev = f->prev;
	if (f->q6 != NULL)
		dns_cancel(f->q6);
	if (f->q4 != NULL)
		dns_cancel(f->q4);
	if (f->timer != NULL)
		event_free(f->timer);
	if (f->kick != NULL)
		event_free(f->kick);
	if (f->tls != NULL)
		bufferevent_free(f->tls); /* frees tcp and the SSL (CLOSE_ON_FREE) */
	else {
		if (f->tcp != NULL)
			bufferevent_free(f->tcp);
		SSL_free(f->ssl);
	}
	https_parser_free(&f->parser);
	free(f->method);
	free(f->host);
	free(f->path);
	free(f->content_type);
	free(f->connect_addr);
	for (i = 0; i < f->nheaders; i++)
		free(f->headers[i]);
	free(f->headers);
	free(f->body);
	free(f);
}

struct https_client *https_client_free(struct https_client *c)
{
	if (c == NULL)
		return NULL;
	while (c->fetches != NULL)
		fetch_free(c->fetches);
	SSL_CTX_free(c->ctx);
	free(c);
	return NULL;
}

void https_cancel(struct https_fetch *f)
{
	fetch_free(f);
}

/* finish - call back with the outcome and free the fetch */
static void finish(struct https_fetch *f, enum https_error e, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void finish(struct https_fetch *f, enum https_error e, const char *fmt, ...)
{
	struct https_response res;
	struct https_parser *p = &f->parser;
	char addr[NET_ADDR_STRLEN] = "";
	va_list ap;

	memset(&res, 0, sizeof(res));
	res.error = e;
	if (fmt != NULL) {
		va_start(ap, fmt);
		vsnprintf(res.reason, sizeof(res.reason), fmt, ap);
		va_end(ap);
	}
	if (f->next_addr > 0 && f->next_addr <= f->naddrs)
		net_addr_format(&f->addrs[f->next_addr - 1], addr, sizeof(addr));
	snprintf(res.addr, sizeof(res.addr), "%s", addr);
	res.status = p->head_done ? p->status : 0;
	res.content_type = p->content_type;
	res.location = p->location;
	res.body = p->body.data != NULL ? p->body.data : "";
	res.body_len = p->body.len;
	res.verify_result = f->ssl != NULL ? SSL_get_verify_result(f->ssl) : X509_V_OK;
	f->done(&res, f->arg);
	fetch_free(f);
}

static void on_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct https_fetch *f = arg;

	(void)fd;
	(void)what;
	finish(f, HTTPS_ERR_TIMEOUT, "%s:%u: timed out after %u ms (%s)", f->host, f->port,
	       f->timeout_ms, f->stage);
}

/* parsed - the parser finished: classify the response */
static void parsed(struct https_fetch *f, enum https_parse_status r)
{
	struct https_parser *p = &f->parser;

	if (r == HTTPS_PARSE_TOO_LARGE) {
		finish(f, HTTPS_ERR_TOO_LARGE, "https://%s%s: %s (%zu bytes)", f->host, f->path,
		       p->error, p->max_body);
		return;
	}
	if (r == HTTPS_PARSE_ERROR) {
		finish(f, HTTPS_ERR_HTTP, "https://%s%s: malformed response: %s", f->host, f->path,
		       p->error);
		return;
	}
	if (p->status >= 300 && p->status < 400) {
		finish(f, HTTPS_ERR_STATUS, "https://%s%s: HTTP %u, redirect to %s not followed",
		       f->host, f->path, p->status, p->location != NULL ? p->location : "(none)");
		return;
	}
	if (p->status < 200 || p->status >= 300) {
		finish(f, HTTPS_ERR_STATUS, "https://%s%s: HTTP status %u", f->host, f->path,
		       p->status);
		return;
	}
	finish(f, HTTPS_OK, NULL);
}

/* drain - feed what is buffered to the parser; true when the fetch
 * finished (and is freed) */
static bool drain(struct https_fetch *f, struct bufferevent *bev)
{
	struct evbuffer *in = bufferevent_get_input(bev);
	enum https_parse_status r = HTTPS_PARSE_MORE;
	struct evbuffer_iovec v[8];
	size_t used;
	int n, i;

	f->stage = "reading the response";
	while (evbuffer_get_length(in) > 0) {
		n = evbuffer_peek(in, -1, NULL, v, 8);
		if (n > 8)
			n = 8;
		used = 0;
		for (i = 0; i < n && r == HTTPS_PARSE_MORE; i++) {
			r = https_parser_feed(&f->parser, v[i].iov_base, v[i].iov_len);
			used += v[i].iov_len;
		}
		evbuffer_drain(in, used);
		if (r != HTTPS_PARSE_MORE) {
			parsed(f, r);
			return true;
		}
	}
	return false;
}

static void on_read(struct bufferevent *bev, void *arg)
{
	drain(arg, bev);
}

static void send_request(struct https_fetch *f)
{
	struct evbuffer *out = bufferevent_get_output(f->tls);
	char hostport[300];
	int r = 0;
	size_t i;

	if (f->port == 443)
		snprintf(hostport, sizeof(hostport), "%s", f->host);
	else if (strchr(f->host, ':') != NULL)
		snprintf(hostport, sizeof(hostport), "[%s]:%u", f->host, f->port);
	else
		snprintf(hostport, sizeof(hostport), "%s:%u", f->host, f->port);
	r |= evbuffer_add_printf(out,
	                         "%s %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: smexop\r\n"
	                         "Accept: */*\r\nConnection: close\r\n",
	                         f->method, f->path, hostport) < 0;
	for (i = 0; i < f->nheaders; i++)
		r |= evbuffer_add_printf(out, "%s\r\n", f->headers[i]) < 0;
	if (f->body != NULL || strcmp(f->method, "POST") == 0) {
		if (f->content_type != NULL)
			r |= evbuffer_add_printf(out, "Content-Type: %s\r\n", f->content_type) < 0;
		r |= evbuffer_add_printf(out, "Content-Length: %zu\r\n", f->body_len) < 0;
	}
	r |= evbuffer_add(out, "\r\n", 2);
	if (f->body_len > 0)
		r |= evbuffer_add(out, f->body, f->body_len);
	if (r != 0)
		finish(f, HTTPS_ERR_INTERNAL, "https: out of memory writing the request");
}

/* tls_failure - why the handshake failed: certificate, TLS, or the socket */
static void tls_failure(struct https_fetch *f)
{
	long vr = SSL_get_verify_result(f->ssl);
	unsigned long e;
	char ebuf[256] = "";

	if (vr != X509_V_OK) {
		finish(f, HTTPS_ERR_CERT, "%s:%u: certificate invalid: %s", f->host, f->port,
		       X509_verify_cert_error_string(vr));
		return;
	}
	e = bufferevent_get_openssl_error(f->tls);
	if (e != 0) {
		ERR_error_string_n(e, ebuf, sizeof(ebuf));
		finish(f, HTTPS_ERR_TLS, "%s:%u: TLS handshake failed: %s", f->host, f->port,
		       ERR_reason_error_string(e) != NULL ? ERR_reason_error_string(e) : ebuf);
		return;
	}
	finish(f, HTTPS_ERR_TLS, "%s:%u: TLS handshake failed: %s", f->host, f->port,
	       EVUTIL_SOCKET_ERROR() != 0 ? evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR())
	                                  : "connection closed by the server");
}

static void on_tls_event(struct bufferevent *bev, short what, void *arg)
{
	struct https_fetch *f = arg;
	enum https_parse_status r;

	(void)bev;
	if (what & BEV_EVENT_CONNECTED) {
		f->stage = "sending the request";
		send_request(f);
		return;
	}
	if (f->stage != NULL && strcmp(f->stage, "TLS handshake") == 0) {
		tls_failure(f);
		return;
	}
	if (drain(f, f->tls))
		return; /* what was still buffered completed the response */
	/* the close (or an error after the handshake): the data so far decides */
	r = https_parser_eof(&f->parser);
	if (r == HTTPS_PARSE_DONE)
		parsed(f, r);
	else
		finish(f, HTTPS_ERR_HTTP, "https://%s%s: connection failed while reading: %s",
		       f->host, f->path, f->parser.error);
}

static void connect_next(struct https_fetch *f);

static void start_tls(struct https_fetch *f)
{
	SSL *ssl = SSL_new(f->c->ctx);

	if (ssl == NULL) {
		finish(f, HTTPS_ERR_INTERNAL, "https: cannot create an SSL object");
		return;
	}
	if (f->host_is_addr)
		X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), f->host);
	else {
		SSL_set_tlsext_host_name(ssl, f->host);
		SSL_set1_host(ssl, f->host);
		SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
	}
	f->ssl = ssl;
	f->tls = bufferevent_openssl_filter_new(f->c->base, f->tcp, ssl, BUFFEREVENT_SSL_CONNECTING,
	                                        BEV_OPT_CLOSE_ON_FREE);
	if (f->tls == NULL) {
		finish(f, HTTPS_ERR_INTERNAL, "https: cannot create the TLS filter");
		return;
	}
	f->tcp = NULL; /* owned by the filter now */
	bufferevent_openssl_set_allow_dirty_shutdown(f->tls, 1);
	bufferevent_setcb(f->tls, on_read, NULL, on_tls_event, f);
	bufferevent_enable(f->tls, EV_READ | EV_WRITE);
	f->stage = "TLS handshake";
}

static void on_tcp_event(struct bufferevent *bev, short what, void *arg)
{
	struct https_fetch *f = arg;
	int e = EVUTIL_SOCKET_ERROR();
	char addr[NET_ADDR_STRLEN];

	(void)bev;
	if (what & BEV_EVENT_CONNECTED) {
		bufferevent_setcb(f->tcp, NULL, NULL, NULL, NULL);
		start_tls(f);
		return;
	}
	net_addr_format(&f->addrs[f->next_addr - 1], addr, sizeof(addr));
	snprintf(f->connect_why, sizeof(f->connect_why), "%s port %u: %s", addr, f->port,
	         e != 0 ? evutil_socket_error_to_string(e) : "connection failed");
	bufferevent_free(f->tcp);
	f->tcp = NULL;
	connect_next(f);
}

static void connect_next(struct https_fetch *f)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	const struct net_addr *a;
	char addr[NET_ADDR_STRLEN];

	f->stage = "connecting";
	while (f->next_addr < f->naddrs) {
		a = &f->addrs[f->next_addr++];
		memset(&ss, 0, sizeof(ss));
		if (a->family == AF_INET) {
			struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
			s4->sin_family = AF_INET;
			s4->sin_port = htons((uint16_t)f->port);
			memcpy(&s4->sin_addr, a->bytes, 4);
			sl = sizeof(*s4);
		} else {
			struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
			s6->sin6_family = AF_INET6;
			s6->sin6_port = htons((uint16_t)f->port);
			memcpy(&s6->sin6_addr, a->bytes, 16);
			sl = sizeof(*s6);
		}
		f->tcp = bufferevent_socket_new(f->c->base, -1, BEV_OPT_CLOSE_ON_FREE);
		if (f->tcp == NULL) {
			finish(f, HTTPS_ERR_INTERNAL, "https: cannot create a socket buffer");
			return;
		}
		bufferevent_setcb(f->tcp, NULL, NULL, on_tcp_event, f);
		if (bufferevent_socket_connect(f->tcp, (struct sockaddr *)&ss, (int)sl) == 0)
			return; /* on_tcp_event says how it went */
		net_addr_format(a, addr, sizeof(addr));
		snprintf(f->connect_why, sizeof(f->connect_why), "%s port %u: %s", addr, f->port,
		         evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
		bufferevent_free(f->tcp);
		f->tcp = NULL;
	}
	finish(f, HTTPS_ERR_CONNECT, "%s: cannot connect: %s", f->host,
	       f->connect_why[0] != '\0' ? f->connect_why : "no address");
}

static void on_kick(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	connect_next(arg);
}

static void on_dns(const struct dns_answer *ans, void *arg, bool v6)
{
	struct https_fetch *f = arg;
	size_t i, len;

	if (v6)
		f->q6 = NULL;
	else
		f->q4 = NULL;
	for (i = 0; i < ans->count && f->naddrs < HTTPS_MAX_ADDRS; i++) {
		struct net_addr *a = &f->addrs[f->naddrs];
		if (ans->rr[i].type == DNS_T_A && !v6) {
			a->family = AF_INET;
			memcpy(a->bytes, ans->rr[i].u.a, 4);
			f->naddrs++;
		} else if (ans->rr[i].type == DNS_T_AAAA && v6) {
			a->family = AF_INET6;
			memcpy(a->bytes, ans->rr[i].u.aaaa, 16);
			f->naddrs++;
		}
	}
	len = strlen(f->dns_why);
	snprintf(f->dns_why + len, sizeof(f->dns_why) - len, "%s%s %s%s%s", len > 0 ? ", " : "",
	         v6 ? "AAAA" : "A", dns_status_name(ans->status), ans->why != NULL ? ": " : "",
	         ans->why != NULL ? ans->why : "");
	if (f->q6 != NULL || f->q4 != NULL)
		return;
	if (f->naddrs == 0) {
		finish(f, HTTPS_ERR_DNS, "%s: no address (%s)", f->host, f->dns_why);
		return;
	}
	connect_next(f);
}

static void on_dns6(const struct dns_answer *ans, void *arg)
{
	on_dns(ans, arg, true);
}

static void on_dns4(const struct dns_answer *ans, void *arg)
{
	on_dns(ans, arg, false);
}

static char *dup_or_null(const char *s)
{
	return s != NULL ? strdup(s) : NULL;
}

struct https_fetch *https_start(struct https_client *c, const struct https_request *rq,
                                https_done_cb done, void *arg)
{
	struct https_fetch *f;
	struct timeval tv;
	struct net_addr lit;
	size_t i;

	if (c == NULL || rq == NULL || rq->host == NULL || done == NULL)
		return NULL;
	f = calloc(1, sizeof(*f));
	if (f == NULL)
		return NULL;
	f->c = c;
	f->done = done;
	f->arg = arg;
	https_parser_init(&f->parser, rq->max_body);
	f->method = strdup(rq->method != NULL ? rq->method : "GET");
	f->host = strdup(rq->host);
	f->path = strdup(rq->path != NULL ? rq->path : "/");
	f->content_type = dup_or_null(rq->content_type);
	f->connect_addr = dup_or_null(rq->connect_addr);
	f->port = rq->port != 0 ? rq->port : 443;
	f->timeout_ms = rq->timeout_ms != 0 ? rq->timeout_ms : HTTPS_DEFAULT_TIMEOUT_MS;
	f->stage = "resolving";
	/* link first, so fetch_free unlinks correctly on any failure below */
	f->next = c->fetches;
	if (c->fetches != NULL)
		c->fetches->prev = f;
	c->fetches = f;
	if (f->method == NULL || f->host == NULL || f->path == NULL)
		goto fail;
	/* a trailing dot is not part of the certificate name or the Host */
	i = strlen(f->host);
	if (i > 1 && f->host[i - 1] == '.')
		f->host[i - 1] = '\0';
	if (rq->nheaders > 0) {
		f->headers = calloc(rq->nheaders, sizeof(*f->headers));
		if (f->headers == NULL)
			goto fail;
		for (i = 0; i < rq->nheaders; i++) {
			if (strpbrk(rq->headers[i], "\r\n") != NULL)
				goto fail;
			f->headers[i] = strdup(rq->headers[i]);
			if (f->headers[i] == NULL)
				goto fail;
			f->nheaders++;
		}
	}
	if (rq->body != NULL) {
		f->body = malloc(rq->body_len + 1);
		if (f->body == NULL)
			goto fail;
		memcpy(f->body, rq->body, rq->body_len);
		f->body_len = rq->body_len;
	}
	if (strpbrk(f->path, " \r\n") != NULL || strpbrk(f->host, " /\r\n") != NULL)
		goto fail;
	f->timer = evtimer_new(c->base, on_timeout, f);
	if (f->timer == NULL)
		goto fail;
	tv.tv_sec = f->timeout_ms / 1000;
	tv.tv_usec = (f->timeout_ms % 1000) * 1000;
	evtimer_add(f->timer, &tv);
	f->host_is_addr = net_addr_parse(f->host, &lit) == 0;
	if (f->connect_addr != NULL || f->host_is_addr) {
		if (net_addr_parse(f->connect_addr != NULL ? f->connect_addr : f->host, &lit) < 0)
			goto fail;
		f->addrs[0] = lit;
		f->naddrs = 1;
		f->kick = evtimer_new(c->base, on_kick, f);
		if (f->kick == NULL)
			goto fail;
		event_active(f->kick, EV_TIMEOUT, 0);
		return f;
	}
	if (c->dns == NULL)
		goto fail;
	f->q6 = dns_lookup(c->dns, f->host, DNS_T_AAAA, on_dns6, f);
	f->q4 = dns_lookup(c->dns, f->host, DNS_T_A, on_dns4, f);
	if (f->q6 == NULL || f->q4 == NULL)
		goto fail;
	return f;
fail:
	fetch_free(f);
	return NULL;
}
