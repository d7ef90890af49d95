/*
 * smtp_probe - a blocking SMTP STARTTLS probe for command-line tools
 * (see smtp_probe.h): connect, banner, EHLO, STARTTLS, TLS handshake,
 * every step bounded by a poll timeout and every reply by line caps.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "core/arena.h"
#include "core/str.h"
#include "smtp/smtp_probe.h"

/* the connection while the probe runs */
struct smtp_probe_conn {
	const struct smtp_probe_options *o;
	struct smtp_probe_result *r;
	int fd;
	SSL_CTX *ctx;
	SSL *ssl;
	unsigned timeout_ms;
	char in[4096]; /* bytes read but not yet consumed */
	size_t inlen;
};

/* one reply: the code and the text of its lines (capped) */
struct smtp_probe_reply {
	unsigned code;
	size_t nlines;
	char first[SMTP_PROBE_LINE_MAX]; /* the first line, without CRLF */
	bool starttls;                   /* a line (after the first) says STARTTLS */
	bool bad;                        /* malformed reply */
};

const char *smtp_probe_stage_name(enum smtp_probe_stage s)
{
	switch (s) {
	case SMTP_PROBE_RESOLVE:
		return "resolve";
	case SMTP_PROBE_CONNECT:
		return "connect";
	case SMTP_PROBE_BANNER:
		return "banner";
	case SMTP_PROBE_EHLO:
		return "ehlo";
	case SMTP_PROBE_STARTTLS:
		return "starttls";
	case SMTP_PROBE_HANDSHAKE:
		return "handshake";
	case SMTP_PROBE_DONE:
		return "done";
	}
	return "?";
}

static void smtp_probe_fail(struct smtp_probe_conn *p, enum smtp_probe_stage stage, const char *fmt,
                            ...) __attribute__((format(printf, 3, 4)));

/* smtp_probe_fail - "peer: message" into the result */
static void smtp_probe_fail(struct smtp_probe_conn *p, enum smtp_probe_stage stage, const char *fmt,
                            ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	p->r->stage = stage;
	snprintf(p->r->error, sizeof(p->r->error), "%s: %s", p->r->peer, msg);
}

/* smtp_probe_log - one transcript line; the transcript is capped, a line that
 * does not fit is dropped (the transcript is for humans) */
static void smtp_probe_log(struct smtp_probe_conn *p, const char *prefix, const char *s, size_t n)
{
	size_t i;

	if (buf_puts(&p->r->transcript, prefix) < 0)
		return;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (buf_putc(&p->r->transcript, c < 0x20 || c == 0x7f ? '?' : (char)c) < 0)
			return;
	}
	if (buf_putc(&p->r->transcript, '\n') < 0)
		return;
}

static int64_t smtp_probe_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* smtp_probe_wait - poll fd for events until deadline; 1 ready, 0 timeout, -1 error */
static int smtp_probe_wait(int fd, short events, int64_t deadline)
{
	struct pollfd pfd = { .fd = fd, .events = events };
	int64_t left;
	int n;

	for (;;) {
		left = deadline - smtp_probe_now_ms();
		if (left <= 0)
			return 0;
		n = poll(&pfd, 1, (int)(left > 60000 ? 60000 : left));
		if (n > 0)
			return 1;
		if (n < 0 && errno != EINTR)
			return -1;
	}
}

/* smtp_probe_connect - a non-blocking connect bounded by the timeout */
static int smtp_probe_connect(struct smtp_probe_conn *p, const struct net_addr *a, unsigned port,
                              char *why, size_t whysize)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	int fd, soerr = 0, r;
	socklen_t el = sizeof(soerr);

	memset(&ss, 0, sizeof(ss));
	if (a->family == AF_INET) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)port);
		memcpy(&s4->sin_addr, a->bytes, 4);
		sl = sizeof(*s4);
	} else {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		memcpy(&s6->sin6_addr, a->bytes, 16);
		sl = sizeof(*s6);
	}
	fd = socket(a->family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(why, whysize, "socket: %s", strerror(errno));
		return -1;
	}
	if (connect(fd, (struct sockaddr *)&ss, sl) < 0) {
		if (errno != EINPROGRESS) {
			snprintf(why, whysize, "connect: %s", strerror(errno));
			close(fd);
			return -1;
		}
		r = smtp_probe_wait(fd, POLLOUT, smtp_probe_now_ms() + p->timeout_ms);
		if (r <= 0) {
			snprintf(why, whysize, "connect: %s",
			         r == 0 ? "timed out" : strerror(errno));
			close(fd);
			return -1;
		}
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &el) < 0 || soerr != 0) {
			snprintf(why, whysize, "connect: %s", strerror(soerr ? soerr : errno));
			close(fd);
			return -1;
		}
	}
	return fd;
}

/* smtp_probe_fill - read more bytes into p->in (plain or TLS); 1 read, 0 EOF,
 * -1 error or timeout */
static int smtp_probe_fill(struct smtp_probe_conn *p, int64_t deadline)
{
	ssize_t n;
	int r, e;

	if (p->inlen >= sizeof(p->in))
		return -1;
	for (;;) {
		if (p->ssl != NULL) {
			size_t got = 0;
			r = SSL_read_ex(p->ssl, p->in + p->inlen, sizeof(p->in) - p->inlen, &got);
			if (r == 1) {
				p->inlen += got;
				return 1;
			}
			e = SSL_get_error(p->ssl, r);
			if (e == SSL_ERROR_ZERO_RETURN)
				return 0;
			if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE)
				return -1;
			if (smtp_probe_wait(p->fd, e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT,
			                    deadline) <= 0)
				return -1;
			continue;
		}
		n = recv(p->fd, p->in + p->inlen, sizeof(p->in) - p->inlen, 0);
		if (n > 0) {
			p->inlen += (size_t)n;
			return 1;
		}
		if (n == 0)
			return 0;
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
			return -1;
		if (smtp_probe_wait(p->fd, POLLIN, deadline) <= 0)
			return -1;
	}
}

/* smtp_probe_line - the next line (without CRLF) into line; lines longer than
 * SMTP_PROBE_LINE_MAX are an error.  0, or -1 (timeout, EOF, too long). */
static int smtp_probe_line(struct smtp_probe_conn *p, char *line, size_t linesize, size_t *len,
                           int64_t deadline)
{
	char *nl;
	size_t n;

	for (;;) {
		nl = memchr(p->in, '\n', p->inlen);
		if (nl != NULL) {
			n = (size_t)(nl - p->in);
			if (n > 0 && p->in[n - 1] == '\r')
				n--;
			if (n >= linesize)
				return -1;
			memcpy(line, p->in, n);
			line[n] = '\0';
			*len = n;
			n = (size_t)(nl - p->in) + 1;
			memmove(p->in, p->in + n, p->inlen - n);
			p->inlen -= n;
			return 0;
		}
		if (p->inlen >= linesize || p->inlen >= sizeof(p->in))
			return -1;
		if (smtp_probe_fill(p, deadline) <= 0)
			return -1;
	}
}

/* smtp_probe_reply - read one (multi-line) reply; 0, or -1 with a reason */
static int smtp_probe_reply(struct smtp_probe_conn *p, struct smtp_probe_reply *rep,
                            const char **why)
{
	char line[SMTP_PROBE_LINE_MAX];
	int64_t deadline = smtp_probe_now_ms() + p->timeout_ms;
	uint64_t code;
	size_t len;

	memset(rep, 0, sizeof(*rep));
	for (;;) {
		if (smtp_probe_line(p, line, sizeof(line), &len, deadline) < 0) {
			*why = "no complete reply (timeout, connection closed or line too long)";
			return -1;
		}
		smtp_probe_log(p, "S: ", line, len);
		if (len < 3 || str_to_u64(line, 3, 100, 599, &code) < 0 ||
		    (len > 3 && line[3] != ' ' && line[3] != '-') ||
		    (rep->nlines > 0 && code != rep->code)) {
			*why = "malformed reply";
			rep->bad = true;
			return -1;
		}
		if (rep->nlines == 0) {
			rep->code = (unsigned)code;
			memcpy(rep->first, line, len + 1);
		} else if (len >= 12 && str_case_prefix(line + 4, "STARTTLS") &&
		           (len == 12 || line[12] == ' ')) {
			rep->starttls = true;
		}
		if (++rep->nlines > SMTP_PROBE_REPLY_LINES_MAX) {
			*why = "reply has too many lines";
			return -1;
		}
		if (len == 3 || line[3] == ' ')
			return 0;
	}
}

/* smtp_probe_send - write a command line (plain or TLS) */
static int smtp_probe_send(struct smtp_probe_conn *p, const char *cmd)
{
	char line[600];
	int64_t deadline = smtp_probe_now_ms() + p->timeout_ms;
	size_t n, off = 0;
	ssize_t w;
	int r, e;

	n = (size_t)snprintf(line, sizeof(line), "%s\r\n", cmd);
	if (n >= sizeof(line))
		return -1;
	smtp_probe_log(p, "C: ", cmd, strlen(cmd));
	while (off < n) {
		if (p->ssl != NULL) {
			size_t done = 0;
			r = SSL_write_ex(p->ssl, line + off, n - off, &done);
			if (r == 1) {
				off += done;
				continue;
			}
			e = SSL_get_error(p->ssl, r);
			if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE)
				return -1;
			if (smtp_probe_wait(p->fd, e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT,
			                    deadline) <= 0)
				return -1;
			continue;
		}
		w = send(p->fd, line + off, n - off, MSG_NOSIGNAL);
		if (w > 0) {
			off += (size_t)w;
			continue;
		}
		if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
			return -1;
		if (smtp_probe_wait(p->fd, POLLOUT, deadline) <= 0)
			return -1;
	}
	return 0;
}

/* smtp_probe_ssl_errors - OpenSSL's error queue as one short text */
static void smtp_probe_ssl_errors(char *out, size_t outsize)
{
	unsigned long e;
	size_t off = 0;

	out[0] = '\0';
	while ((e = ERR_get_error()) != 0) {
		char one[256];
		ERR_error_string_n(e, one, sizeof(one));
		if (off < outsize)
			off += (size_t)snprintf(out + off, outsize - off, "%s%s", off ? "; " : "",
			                        one);
	}
}

/* smtp_probe_handshake - STARTTLS's TLS part */
static int smtp_probe_handshake(struct smtp_probe_conn *p)
{
	const struct smtp_probe_options *o = p->o;
	struct smtp_probe_result *r = p->r;
	struct net_addr lit;
	const char *sni = o->sni;
	int64_t deadline = smtp_probe_now_ms() + p->timeout_ms;
	char why[400];
	int rc, e;

	if (sni == NULL)
		sni = net_addr_parse(o->host, &lit) == 0 ? "" : o->host;
	p->ssl = SSL_new(p->ctx);
	if (p->ssl == NULL || SSL_set_fd(p->ssl, p->fd) != 1) {
		smtp_probe_fail(p, SMTP_PROBE_HANDSHAKE, "cannot create the TLS session");
		return -1;
	}
	if (sni[0] != '\0' && SSL_set_tlsext_host_name(p->ssl, sni) != 1) {
		smtp_probe_fail(p, SMTP_PROBE_HANDSHAKE, "bad SNI name %s", sni);
		return -1;
	}
	if (o->tls_setup != NULL) {
		why[0] = '\0';
		if (o->tls_setup(p->ssl, o->tls_setup_arg, why, sizeof(why)) < 0) {
			smtp_probe_fail(p, SMTP_PROBE_HANDSHAKE, "TLS setup failed: %s",
			                why[0] ? why : "?");
			return -1;
		}
	} else if (net_addr_parse(o->host, &lit) < 0) {
		/* WebPKI: the certificate must name the host (no partial wildcards) */
		SSL_set_hostflags(p->ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
		if (SSL_set1_host(p->ssl, o->host) != 1) {
			smtp_probe_fail(p, SMTP_PROBE_HANDSHAKE, "bad host name %s", o->host);
			return -1;
		}
	}
	SSL_set_verify(p->ssl, SSL_VERIFY_NONE, NULL);
	ERR_clear_error();
	for (;;) {
		rc = SSL_connect(p->ssl);
		if (rc == 1)
			break;
		e = SSL_get_error(p->ssl, rc);
		if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
			if (smtp_probe_wait(p->fd, e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT,
			                    deadline) <= 0) {
				smtp_probe_fail(p, SMTP_PROBE_HANDSHAKE, "TLS handshake timed out");
				return -1;
			}
			continue;
		}
		smtp_probe_ssl_errors(why, sizeof(why));
		smtp_probe_fail(p, SMTP_PROBE_HANDSHAKE, "TLS handshake failed: %s",
		                why[0] ? why : "connection closed");
		return -1;
	}
	snprintf(r->tls_version, sizeof(r->tls_version), "%s", SSL_get_version(p->ssl));
	snprintf(r->cipher, sizeof(r->cipher), "%s", SSL_get_cipher_name(p->ssl));
	r->verify_result = SSL_get_verify_result(p->ssl);
	r->verify_text = X509_verify_cert_error_string(r->verify_result);

	STACK_OF(X509) *sent = SSL_get_peer_cert_chain(p->ssl);
	r->chain = sk_X509_new_null();
	if (r->chain != NULL && sent != NULL) {
		for (int i = 0; i < sk_X509_num(sent); i++) {
			X509 *x = sk_X509_value(sent, i);
			if (sk_X509_push(r->chain, x) > 0)
				X509_up_ref(x);
		}
	}
	{
		char msg[200];
		int n = snprintf(msg, sizeof(msg), "%s %s, %d certificate(s), verify: %s",
		                 r->tls_version, r->cipher, r->chain ? sk_X509_num(r->chain) : 0,
		                 r->verify_text);
		smtp_probe_log(p, "-- TLS ", msg, n > 0 ? (size_t)n : 0);
	}
	r->stage = SMTP_PROBE_DONE;
	return 0;
}

/* smtp_probe_session - the SMTP dialogue on a connected socket */
static int smtp_probe_session(struct smtp_probe_conn *p)
{
	const struct smtp_probe_options *o = p->o;
	struct smtp_probe_result *r = p->r;
	struct smtp_probe_reply rep;
	const char *why = "";
	char cmd[300];

	if (smtp_probe_reply(p, &rep, &why) < 0) {
		smtp_probe_fail(p, SMTP_PROBE_BANNER, "banner: %s", why);
		return -1;
	}
	snprintf(r->banner, sizeof(r->banner), "%s", rep.first);
	if (rep.code != 220) {
		smtp_probe_fail(p, SMTP_PROBE_BANNER, "greeting refused: %s", rep.first);
		return -1;
	}
	snprintf(cmd, sizeof(cmd), "EHLO %s", o->helo_name ? o->helo_name : "smexop.invalid");
	if (smtp_probe_send(p, cmd) < 0 || smtp_probe_reply(p, &rep, &why) < 0) {
		smtp_probe_fail(p, SMTP_PROBE_EHLO, "EHLO: %s", why[0] ? why : "cannot send");
		return -1;
	}
	if (rep.code != 250) {
		smtp_probe_fail(p, SMTP_PROBE_EHLO, "EHLO refused: %s", rep.first);
		return -1;
	}
	r->starttls_offered = rep.starttls;
	if (!rep.starttls) {
		smtp_probe_fail(p, SMTP_PROBE_STARTTLS, "STARTTLS not offered");
		(void)smtp_probe_send(p, "QUIT");
		return -1;
	}
	if (smtp_probe_send(p, "STARTTLS") < 0 || smtp_probe_reply(p, &rep, &why) < 0) {
		smtp_probe_fail(p, SMTP_PROBE_STARTTLS, "STARTTLS: %s",
		                why[0] ? why : "cannot send");
		return -1;
	}
	if (rep.code != 220) {
		smtp_probe_fail(p, SMTP_PROBE_STARTTLS, "STARTTLS refused: %s", rep.first);
		return -1;
	}
	if (p->inlen != 0) {
		/* bytes before the handshake would be a plaintext injection */
		smtp_probe_fail(p, SMTP_PROBE_STARTTLS,
		                "data after the STARTTLS reply (injection?)");
		return -1;
	}
	if (smtp_probe_handshake(p) < 0)
		return -1;
	/* be polite; the result does not depend on it */
	if (smtp_probe_send(p, "QUIT") == 0) {
		unsigned saved = p->timeout_ms;
		p->timeout_ms = saved < 2000 ? saved : 2000;
		(void)smtp_probe_reply(p, &rep, &why);
		p->timeout_ms = saved;
	}
	return 0;
}

size_t smtp_probe_addrs(struct dns *dns, struct event_base *base, const char *host,
                        struct net_addr *out, size_t max, enum dns_sec *sec, char *err,
                        size_t errsize)
{
	static const enum dns_type types[2] = { DNS_T_A, DNS_T_AAAA };
	struct dns_answer *ans;
	struct arena *a;
	const char *failed = NULL;
	size_t n = 0, i, t;
	bool all_secure = true, any_bogus = false;

	*sec = DNS_SEC_INSECURE;
	if (max == 0)
		return 0;
	if (net_addr_parse(host, &out[0]) == 0)
		return 1;
	if (dns == NULL || base == NULL) {
		snprintf(err, errsize, "%s: a host name needs a resolver", host);
		return 0;
	}
	a = arena_new();
	if (a == NULL) {
		snprintf(err, errsize, "out of memory");
		return 0;
	}
	for (t = 0; t < 2; t++) {
		ans = dns_resolve_sync(dns, base, a, host, types[t]);
		if (ans == NULL) {
			failed = "lookup failed";
			all_secure = false;
			continue;
		}
		if (ans->sec == DNS_SEC_BOGUS)
			any_bogus = true;
		if (ans->status != DNS_OK && ans->status != DNS_NODATA &&
		    ans->status != DNS_NXDOMAIN)
			failed = dns_status_name(ans->status);
		if (ans->sec != DNS_SEC_SECURE)
			all_secure = false;
		if (ans->status != DNS_OK)
			continue;
		for (i = 0; i < ans->count && n < max; i++) {
			if (ans->rr[i].type == DNS_T_A) {
				out[n].family = AF_INET;
				memset(out[n].bytes, 0, sizeof(out[n].bytes));
				memcpy(out[n].bytes, ans->rr[i].u.a, 4);
				n++;
			} else if (ans->rr[i].type == DNS_T_AAAA) {
				out[n].family = AF_INET6;
				memcpy(out[n].bytes, ans->rr[i].u.aaaa, 16);
				n++;
			}
		}
	}
	arena_free(a);
	*sec = any_bogus ? DNS_SEC_BOGUS : all_secure ? DNS_SEC_SECURE : DNS_SEC_INSECURE;
	if (n == 0)
		snprintf(err, errsize, "%s: no address (%s)", host,
		         any_bogus ? "DNSSEC bogus"
		         : failed  ? failed
		                   : "no A or AAAA record");
	return n;
}

int smtp_probe_run(const struct smtp_probe_options *o, struct smtp_probe_result *r)
{
	struct net_addr addrs[SMTP_PROBE_ADDRS_MAX];
	struct smtp_probe_conn p = { .o = o, .r = r, .fd = -1 };
	unsigned port = o->port ? o->port : 25;
	char why[400] = "", astr[NET_ADDR_STRLEN];
	size_t n, i;
	int rc = -1;

	memset(r, 0, sizeof(*r));
	buf_init(&r->transcript, SMTP_PROBE_TRANSCRIPT_MAX);
	r->stage = SMTP_PROBE_RESOLVE;
	r->addr_sec = DNS_SEC_INSECURE;
	p.timeout_ms = o->timeout_ms ? o->timeout_ms : SMTP_PROBE_DEFAULT_TIMEOUT_MS;
	snprintf(r->peer, sizeof(r->peer), "%s:%u", o->host ? o->host : "?", port);
	if (o->host == NULL || o->host[0] == '\0') {
		smtp_probe_fail(&p, SMTP_PROBE_RESOLVE, "no host");
		return -1;
	}
	if (o->connect_addr != NULL) {
		if (net_addr_parse(o->connect_addr, &addrs[0]) < 0) {
			smtp_probe_fail(&p, SMTP_PROBE_RESOLVE, "not an address: %s",
			                o->connect_addr);
			return -1;
		}
		n = 1;
	} else {
		n = smtp_probe_addrs(o->dns, o->base, o->host, addrs, SMTP_PROBE_ADDRS_MAX,
		                     &r->addr_sec, why, sizeof(why));
		if (n == 0) {
			snprintf(r->error, sizeof(r->error), "%s:%u: %s", o->host, port, why);
			return -1;
		}
	}

	p.ctx = SSL_CTX_new(TLS_client_method());
	if (p.ctx == NULL || SSL_CTX_dane_enable(p.ctx) <= 0) {
		smtp_probe_fail(&p, SMTP_PROBE_RESOLVE, "cannot create the TLS context");
		goto out;
	}
	if (o->tls_setup == NULL) {
		if (o->ca_file != NULL ? SSL_CTX_load_verify_locations(p.ctx, o->ca_file, NULL) != 1
		                       : SSL_CTX_set_default_verify_paths(p.ctx) != 1) {
			smtp_probe_fail(&p, SMTP_PROBE_RESOLVE, "cannot load the trust store %s",
			                o->ca_file ? o->ca_file : "(system)");
			goto out;
		}
	}

	for (i = 0; i < n; i++) {
		net_addr_format(&addrs[i], astr, sizeof(astr));
		snprintf(r->peer, sizeof(r->peer), "%s[%s]:%u", o->host, astr, port);
		p.fd = smtp_probe_connect(&p, &addrs[i], port, why, sizeof(why));
		if (p.fd >= 0)
			break;
		smtp_probe_log(&p, "-- ", r->peer, strlen(r->peer));
		smtp_probe_log(&p, "-- ", why, strlen(why));
	}
	if (p.fd < 0) {
		if (n > 1)
			snprintf(r->peer, sizeof(r->peer), "%s:%u", o->host, port);
		smtp_probe_fail(&p, SMTP_PROBE_CONNECT, "%s%s", why,
		                n > 1 ? " (every address failed)" : "");
		goto out;
	}
	snprintf(r->addr, sizeof(r->addr), "%s", astr);
	r->stage = SMTP_PROBE_BANNER;
	rc = smtp_probe_session(&p);
out:
	if (p.ssl != NULL) {
		if (rc == 0)
			(void)SSL_shutdown(p.ssl);
		if (o->keep_ssl && rc == 0)
			r->ssl = p.ssl;
		else
			SSL_free(p.ssl);
	}
	if (p.fd >= 0)
		close(p.fd);
	SSL_CTX_free(p.ctx); /* the SSL keeps its own reference */
	ERR_clear_error();
	return rc;
}

void smtp_probe_result_free(struct smtp_probe_result *r)
{
	if (r == NULL)
		return;
	if (r->chain != NULL)
		sk_X509_pop_free(r->chain, X509_free);
	r->chain = NULL;
	SSL_free(r->ssl);
	r->ssl = NULL;
	buf_free(&r->transcript);
}
