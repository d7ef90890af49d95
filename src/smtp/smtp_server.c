/*
 * smtp_server - libevent glue around smtp_session (see smtp_server.h)
 *
 * One struct smtp_conn per accepted socket walks these states:
 *
 *   C_PROXY      reading the PROXY v2 header with exact-length recv()s
 *   C_HANDSHAKE  implicit TLS: handshake before the session starts
 *   C_RUN        the session runs on a socket or TLS bufferevent
 *   C_STARTTLS   STARTTLS answered: TLS filter on the socket, handshake
 *   C_CLOSING    the last replies drain, then the connection is freed
 *
 * Hook answers that arrive later (smtp_session_ops.wakeup) are picked up
 * in a fresh event-loop turn (an activated event), never inside the
 * hook's own call stack: the connection, and with it the hook's handle,
 * may be freed as a result.
 */
#include "smtp/smtp_server.h"

#include <errno.h>
#include <inttypes.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "core/config.h"
#include "core/log.h"
#include "smtp/smtp_proxy.h"
#include "smtp/smtp_reply.h"

#define IP_BUCKETS 1024

enum conn_state { C_PROXY, C_HANDSHAKE, C_RUN, C_STARTTLS, C_CLOSING };

#define CONN_PEER_NAMES_MAX 16  /* client certificate names passed on */
#define CONN_PEER_NAME_LEN  256 /* bytes of one, with the NUL */

struct smtp_listener {
	struct smtp_server *srv;
	struct smtp_listener_config cfg;
	char name[128];
	struct evconnlistener *evl;
	unsigned port;
};

struct ip_count {
	struct ip_count *next;
	struct net_addr addr;
	unsigned n;
};

struct smtp_conn {
	struct smtp_server *srv;
	struct smtp_listener *l;
	struct smtp_conn *prev, *next;
	evutil_socket_t fd; /* owned by bev once there is one */
	enum conn_state state;
	struct event *proxy_ev;
	uint8_t proxy_buf[SMTP_PROXY_MAX];
	size_t proxy_len;
	struct bufferevent *bev;
	struct event *session_timer;
	struct event *wake_ev;
	struct event *close_ev; /* polls until the last bytes left (TLS filter) */
	unsigned close_polls;
	struct smtp_session *s;
	struct smtp_conn_info ci;
	bool ip_counted;
	bool feeding;
	bool peer_eof; /* the peer closed its side: finish what is buffered, then close */
};

struct smtp_server {
	struct event_base *base;
	struct smtp_server_config cfg;
	struct smtp_hooks hooks;
	SSL_CTX *ssl_ctx;
	struct smtp_listener listeners[SMTP_SERVER_LISTENERS_MAX];
	size_t nlisteners;
	struct smtp_conn *conns;
	unsigned nconns;
	struct ip_count *ips[IP_BUCKETS];
	uint64_t next_id;
};

static void conn_check(struct smtp_conn *c);
static void conn_feed(struct smtp_conn *c);
static bool conn_flushed(const struct smtp_conn *c);

/* ---- configuration ---- */

void smtp_server_config_init(struct smtp_server_config *sc, const struct smexop_config *cfg)
{
	size_t i;

	memset(sc, 0, sizeof(*sc));
	smtp_session_config_default(&sc->session);
	sc->max_connections = SMTP_SERVER_CONNS_MAX;
	sc->max_connections_per_ip = SMTP_SERVER_CONNS_PER_IP;
	if (cfg == NULL)
		return;
	if (cfg->server.hostname != NULL)
		sc->session.hostname = cfg->server.hostname;
	if (cfg->limits.max_connections > 0)
		sc->max_connections = (unsigned)cfg->limits.max_connections;
	/* the connection filter answers per-IP limits in EOP's words; ours is the backstop */
	if (cfg->connection_filter.max_connections_per_ip > sc->max_connections_per_ip)
		sc->max_connections_per_ip =
		    (unsigned)cfg->connection_filter.max_connections_per_ip;
	for (i = 0; i < cfg->listeners.n && i < SMTP_SERVER_LISTENERS_MAX; i++) {
		const struct config_listener *cl = &cfg->listeners.v[i];
		struct smtp_listener_config *l = &sc->listeners[sc->nlisteners++];

		l->address = cl->address;
		l->port = (unsigned)cl->port;
		l->tls = cl->tls == CONFIG_TLS_IMPLICIT   ? SMTP_TLS_IMPLICIT
		         : cl->tls == CONFIG_TLS_STARTTLS ? SMTP_TLS_STARTTLS
		                                          : SMTP_TLS_NONE;
		l->proxy_protocol = cl->proxy_protocol;
	}
}

/* ---- per-IP counts ---- */

static unsigned ip_bucket(const struct net_addr *a)
{
	uint64_t h = 14695981039346656037ull ^ (uint64_t)a->family;
	size_t i;

	for (i = 0; i < 16; i++)
		h = (h ^ a->bytes[i]) * 1099511628211ull;
	return (unsigned)(h % IP_BUCKETS);
}

static struct ip_count **ip_find(struct smtp_server *srv, const struct net_addr *a)
{
	struct ip_count **pp = &srv->ips[ip_bucket(a)];

	while (*pp != NULL &&
	       ((*pp)->addr.family != a->family || memcmp((*pp)->addr.bytes, a->bytes, 16) != 0))
		pp = &(*pp)->next;
	return pp;
}

/* ip_take - count one more connection from a; false when over the cap */
static bool ip_take(struct smtp_server *srv, const struct net_addr *a)
{
	struct ip_count **pp = ip_find(srv, a);

	if (*pp == NULL) {
		*pp = calloc(1, sizeof(**pp));
		if (*pp == NULL)
			return false;
		(*pp)->addr = *a;
	}
	if ((*pp)->n >= srv->cfg.max_connections_per_ip)
		return false;
	(*pp)->n++;
	return true;
}

static void ip_release(struct smtp_server *srv, const struct net_addr *a)
{
	struct ip_count **pp = ip_find(srv, a), *e = *pp;

	if (e == NULL)
		return;
	if (e->n > 0)
		e->n--;
	if (e->n == 0) {
		*pp = e->next;
		free(e);
	}
}

/* ---- helpers ---- */

static void addr_from_sockaddr(const struct sockaddr *sa, struct net_addr *a, unsigned *port)
{
	memset(a, 0, sizeof(*a));
	*port = 0;
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;

		a->family = AF_INET;
		memcpy(a->bytes, &in->sin_addr, 4);
		*port = ntohs(in->sin_port);
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;

		*port = ntohs(in6->sin6_port);
		if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) {
			a->family = AF_INET;
			memcpy(a->bytes, in6->sin6_addr.s6_addr + 12, 4);
		} else {
			a->family = AF_INET6;
			memcpy(a->bytes, &in6->sin6_addr, 16);
		}
	}
}

/* refuse_fd - 421 on a fresh socket (no buffering needed) and close it */
static void refuse_fd(evutil_socket_t fd, const struct smtp_listener *l)
{
	if (l->cfg.tls != SMTP_TLS_IMPLICIT) {
		const struct smtp_reply_def *r = smtp_reply_get(SMTP_R_TOO_MANY_CONNECTIONS);
		char line[128];
		int n = snprintf(line, sizeof(line), "%u %s %s\r\n", r->code, r->enhanced, r->text);

		if (n > 0 && send(fd, line, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
			log_debug("smtp event=refuse-send-failed errno=%d", errno);
	}
	evutil_closesocket(fd);
}

static void ms_to_tv(unsigned ms, struct timeval *tv)
{
	tv->tv_sec = ms / 1000;
	tv->tv_usec = (ms % 1000) * 1000;
}

static void log_ssl_errors(const struct smtp_conn *c, const char *what)
{
	unsigned long e;
	char msg[256];

	while ((e = c->bev != NULL ? bufferevent_get_openssl_error(c->bev) : 0) != 0 ||
	       (e = ERR_get_error()) != 0) {
		ERR_error_string_n(e, msg, sizeof(msg));
		log_info("smtp session=%016" PRIx64 " event=tls-error when=%s error=\"%s\"",
		         c->ci.session_id, what, msg);
	}
}

/* ---- connections ---- */

static void conn_free(struct smtp_conn *c)
{
	struct smtp_server *srv = c->srv;

	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		srv->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	srv->nconns--;
	if (c->ip_counted)
		ip_release(srv, &c->ci.peer);
	c->s = smtp_session_free(c->s); /* hooks->close */
	if (c->proxy_ev != NULL)
		event_free(c->proxy_ev);
	if (c->session_timer != NULL)
		event_free(c->session_timer);
	if (c->wake_ev != NULL)
		event_free(c->wake_ev);
	if (c->close_ev != NULL)
		event_free(c->close_ev);
	if (c->bev != NULL)
		bufferevent_free(c->bev); /* closes the socket (and frees the SSL) */
	else if (c->fd >= 0)
		evutil_closesocket(c->fd);
	free(c);
}

static void conn_write(void *owner, const char *data, size_t len)
{
	struct smtp_conn *c = owner;

	if (c->bev != NULL && bufferevent_write(c->bev, data, len) < 0)
		log_warn("smtp session=%016" PRIx64 " event=write-failed", c->ci.session_id);
}

static void conn_wake_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	conn_feed(arg);
}

/* conn_wakeup - a hook answered: continue in a fresh loop turn */
static void conn_wakeup(void *owner)
{
	struct smtp_conn *c = owner;

	if (c->wake_ev != NULL)
		event_active(c->wake_ev, EV_TIMEOUT, 1);
}

/* the names of a client certificate, kept for the hook call */
struct conn_peer_names {
	char buf[CONN_PEER_NAMES_MAX][CONN_PEER_NAME_LEN];
	const char *v[CONN_PEER_NAMES_MAX];
	size_t n;
};

/* conn_peer_name_add - one name, if it is printable and fits */
static void conn_peer_name_add(struct conn_peer_names *pn, const unsigned char *s, int len)
{
	int i;

	if (len <= 0 || len >= CONN_PEER_NAME_LEN || pn->n >= CONN_PEER_NAMES_MAX)
		return;
	for (i = 0; i < len; i++)
		if (s[i] <= ' ' || s[i] >= 0x7f)
			return; /* also a NUL inside the name: never matched */
	memcpy(pn->buf[pn->n], s, (size_t)len);
	pn->buf[pn->n][len] = '\0';
	pn->v[pn->n] = pn->buf[pn->n];
	pn->n++;
}

/* conn_peer_names - subject CN and DNS subjectAltNames of x */
static void conn_peer_names(X509 *x, struct conn_peer_names *pn)
{
	X509_NAME *subj = X509_get_subject_name(x);
	GENERAL_NAMES *sans;
	int i = -1;

	while (subj != NULL && (i = X509_NAME_get_index_by_NID(subj, NID_commonName, i)) >= 0) {
		ASN1_STRING *d = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subj, i));

		if (d != NULL && ASN1_STRING_type(d) != V_ASN1_BMPSTRING &&
		    ASN1_STRING_type(d) != V_ASN1_UNIVERSALSTRING)
			conn_peer_name_add(pn, ASN1_STRING_get0_data(d), ASN1_STRING_length(d));
	}
	sans = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	for (i = 0; sans != NULL && i < sk_GENERAL_NAME_num(sans); i++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(sans, i);

		if (g->type == GEN_DNS)
			conn_peer_name_add(pn, ASN1_STRING_get0_data(g->d.dNSName),
			                   ASN1_STRING_length(g->d.dNSName));
	}
	GENERAL_NAMES_free(sans);
}

static void conn_tls_info(struct smtp_conn *c, struct smtp_tls_info *ti, struct conn_peer_names *pn)
{
	SSL *ssl = bufferevent_openssl_get_ssl(c->bev);
	X509 *peer = ssl != NULL ? SSL_get1_peer_certificate(ssl) : NULL;

	memset(ti, 0, sizeof(*ti));
	pn->n = 0;
	ti->active = true;
	ti->version = ssl != NULL ? SSL_get_version(ssl) : "TLS";
	ti->cipher = ssl != NULL ? SSL_get_cipher_name(ssl) : "";
	if (peer != NULL) {
		ti->peer_verified = SSL_get_verify_result(ssl) == X509_V_OK;
		conn_peer_names(peer, pn);
		ti->peer_subject = pn->n > 0 ? pn->v[0] : NULL;
		/* only a verified certificate's names may choose a connector */
		if (ti->peer_verified) {
			ti->peer_names = pn->v;
			ti->npeer_names = pn->n;
		}
		X509_free(peer);
	}
	log_info("smtp session=%016" PRIx64 " event=tls version=%s cipher=%s peer=%s verified=%d",
	         c->ci.session_id, ti->version, ti->cipher,
	         ti->peer_subject != NULL ? ti->peer_subject : "-", ti->peer_verified);
}

static void conn_read_cb(struct bufferevent *bev, void *arg)
{
	(void)bev;
	conn_feed(arg);
}

static void conn_write_cb(struct bufferevent *bev, void *arg)
{
	struct smtp_conn *c = arg;

	(void)bev;
	if (c->state == C_CLOSING) {
		if (conn_flushed(c))
			conn_free(c);
		return;
	}
	if (c->state == C_RUN)
		conn_feed(c); /* reading may have stopped for back-pressure */
}

static void conn_start_session(struct smtp_conn *c, const struct smtp_tls_info *tls);

static void conn_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct smtp_conn *c = arg;
	struct smtp_tls_info ti;
	struct conn_peer_names pn;
	struct timeval tv;

	(void)bev;
	if (what & BEV_EVENT_CONNECTED) {
		conn_tls_info(c, &ti, &pn);
		if (c->state == C_HANDSHAKE) {
			conn_start_session(c, &ti);
		} else if (c->state == C_STARTTLS) {
			c->state = C_RUN;
			ms_to_tv(c->srv->cfg.session.limits.cmd_timeout_ms, &tv);
			bufferevent_set_timeouts(c->bev, &tv, &tv);
			smtp_session_tls_done(c->s, &ti);
			conn_feed(c);
		}
		return;
	}
	if ((what & BEV_EVENT_TIMEOUT) && (what & BEV_EVENT_READING) && c->state == C_RUN &&
	    c->s != NULL) {
		smtp_session_timeout(c->s, SMTP_TIMEOUT_COMMAND);
		conn_check(c);
		return;
	}
	if ((what & BEV_EVENT_EOF) && c->state == C_RUN && !c->peer_eof) {
		/* pipelined commands may still wait behind a hook: answer them first */
		c->peer_eof = true;
		bufferevent_disable(c->bev, EV_READ);
		conn_feed(c);
		return;
	}
	if (what & BEV_EVENT_ERROR)
		log_ssl_errors(c, c->state == C_RUN ? "session" : "handshake");
	log_debug("smtp session=%016" PRIx64 " event=disconnect what=0x%x", c->ci.session_id,
	          (unsigned)what);
	conn_free(c);
}

static void conn_session_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct smtp_conn *c = arg;

	(void)fd;
	(void)what;
	if (c->s == NULL || c->state != C_RUN) {
		conn_free(c);
		return;
	}
	smtp_session_timeout(c->s, SMTP_TIMEOUT_SESSION);
	conn_check(c);
}

/* conn_flushed - nothing left to send, on the TLS filter nor beneath it */
static bool conn_flushed(const struct smtp_conn *c)
{
	struct bufferevent *under;

	if (c->bev == NULL)
		return true;
	if (evbuffer_get_length(bufferevent_get_output(c->bev)) > 0)
		return false;
	under = bufferevent_get_underlying(c->bev);
	return under == NULL || evbuffer_get_length(bufferevent_get_output(under)) == 0;
}

#define CONN_CLOSE_POLL_MS 20
#define CONN_CLOSE_POLLS   500 /* 10 s for the last replies, then close anyway */

static void conn_close_poll_cb(evutil_socket_t fd, short what, void *arg)
{
	struct smtp_conn *c = arg;

	(void)fd;
	(void)what;
	if (conn_flushed(c) || ++c->close_polls > CONN_CLOSE_POLLS)
		conn_free(c);
}

static void conn_closing(struct smtp_conn *c)
{
	struct timeval tv;

	c->state = C_CLOSING;
	if (conn_flushed(c)) {
		conn_free(c);
		return;
	}
	bufferevent_disable(c->bev, EV_READ);
	bufferevent_enable(c->bev, EV_WRITE);
	/* the write callback sees the filter drain, not the socket beneath: poll */
	if (c->close_ev == NULL)
		c->close_ev = event_new(c->srv->base, -1, EV_PERSIST, conn_close_poll_cb, c);
	ms_to_tv(CONN_CLOSE_POLL_MS, &tv);
	if (c->close_ev == NULL || event_add(c->close_ev, &tv) < 0)
		conn_free(c);
}

/* conn_starttls - drop the plaintext still buffered, put TLS on the socket */
static void conn_starttls(struct smtp_conn *c)
{
	struct evbuffer *in = bufferevent_get_input(c->bev);
	struct bufferevent *tb;
	struct timeval tv;
	SSL *ssl;

	evbuffer_drain(in, evbuffer_get_length(in)); /* CVE-2011-0411 */
	ssl = SSL_new(c->srv->ssl_ctx);
	if (ssl == NULL) {
		conn_free(c);
		return;
	}
	tb = bufferevent_openssl_filter_new(c->srv->base, c->bev, ssl, BUFFEREVENT_SSL_ACCEPTING,
	                                    BEV_OPT_CLOSE_ON_FREE);
	if (tb == NULL) {
		SSL_free(ssl);
		conn_free(c);
		return;
	}
	bufferevent_openssl_set_allow_dirty_shutdown(tb, 1);
	c->bev = tb;
	c->state = C_STARTTLS;
	bufferevent_setcb(tb, conn_read_cb, conn_write_cb, conn_event_cb, c);
	bufferevent_setwatermark(tb, EV_READ, 0, SMTP_SERVER_IN_HIGH);
	ms_to_tv(SMTP_SERVER_HANDSHAKE_MS, &tv);
	bufferevent_set_timeouts(tb, &tv, &tv);
	bufferevent_enable(tb, EV_READ | EV_WRITE);
}

/* conn_check - act on what the session wants now; may free c */
static void conn_check(struct smtp_conn *c)
{
	if (c->state != C_RUN)
		return;
	switch (smtp_session_want(c->s)) {
	case SMTP_WANT_CLOSE:
		conn_closing(c);
		return;
	case SMTP_WANT_TLS:
		conn_starttls(c);
		return;
	case SMTP_WANT_WAIT:
		return;
	case SMTP_WANT_INPUT:
		if (c->peer_eof) {
			if (evbuffer_get_length(bufferevent_get_input(c->bev)) == 0)
				conn_closing(c);
			return;
		}
		if (evbuffer_get_length(bufferevent_get_output(c->bev)) > SMTP_SERVER_OUT_HIGH)
			bufferevent_disable(c->bev, EV_READ); /* the write callback resumes */
		else
			bufferevent_enable(c->bev, EV_READ);
		return;
	}
}

/* conn_feed - hand buffered input to the session, chunk by chunk; may free c */
static void conn_feed(struct smtp_conn *c)
{
	struct evbuffer *in, *out;

	if (c->state != C_RUN || c->feeding)
		return;
	c->feeding = true;
	in = bufferevent_get_input(c->bev);
	out = bufferevent_get_output(c->bev);
	while (smtp_session_want(c->s) == SMTP_WANT_INPUT && evbuffer_get_length(in) > 0 &&
	       evbuffer_get_length(out) <= SMTP_SERVER_OUT_HIGH) {
		struct evbuffer_iovec v;
		size_t used;

		if (evbuffer_peek(in, -1, NULL, &v, 1) < 1 || v.iov_len == 0)
			break;
		used = smtp_session_input(c->s, v.iov_base, v.iov_len);
		evbuffer_drain(in, used);
		if (used == 0)
			break;
	}
	c->feeding = false;
	conn_check(c);
}

static void conn_start_session(struct smtp_conn *c, const struct smtp_tls_info *tls)
{
	static const struct smtp_session_ops ops = { conn_write, conn_wakeup };
	struct smtp_server *srv = c->srv;
	struct smtp_session_config scfg = srv->cfg.session;
	struct timeval tv;

	scfg.starttls = c->l->cfg.tls == SMTP_TLS_STARTTLS && srv->ssl_ctx != NULL;
	c->s = smtp_session_new(&scfg, &srv->hooks, &c->ci, &ops, c);
	c->wake_ev = event_new(srv->base, -1, 0, conn_wake_cb, c);
	c->session_timer = evtimer_new(srv->base, conn_session_timer_cb, c);
	if (c->s == NULL || c->wake_ev == NULL || c->session_timer == NULL) {
		conn_free(c);
		return;
	}
	ms_to_tv(srv->cfg.session.limits.session_timeout_ms, &tv);
	evtimer_add(c->session_timer, &tv);
	bufferevent_setcb(c->bev, conn_read_cb, conn_write_cb, conn_event_cb, c);
	bufferevent_setwatermark(c->bev, EV_READ, 0, SMTP_SERVER_IN_HIGH);
	ms_to_tv(srv->cfg.session.limits.cmd_timeout_ms, &tv);
	bufferevent_set_timeouts(c->bev, &tv, &tv);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	c->state = C_RUN;
	log_info("smtp session=%016" PRIx64 " event=connect listener=%s ip=%s port=%u%s",
	         c->ci.session_id, c->l->name,
	         net_addr_format(&c->ci.peer, (char[NET_ADDR_STRLEN]){ 0 }, NET_ADDR_STRLEN),
	         c->ci.peer_port, c->ci.proxied ? " proxied=1" : "");
	smtp_session_start(c->s, tls);
	conn_check(c);
}

/* conn_admit - the peer is known: per-IP cap, then plain or TLS */
static void conn_admit(struct smtp_conn *c)
{
	struct smtp_server *srv = c->srv;
	struct timeval tv;

	if (!ip_take(srv, &c->ci.peer)) {
		char ip[NET_ADDR_STRLEN];

		log_info("smtp event=refused reason=too-many-connections-per-ip ip=%s",
		         net_addr_format(&c->ci.peer, ip, sizeof(ip)));
		refuse_fd(c->fd, c->l);
		c->fd = -1;
		conn_free(c);
		return;
	}
	c->ip_counted = true;
	if (c->l->cfg.tls == SMTP_TLS_IMPLICIT) {
		SSL *ssl = SSL_new(srv->ssl_ctx);

		if (ssl == NULL) {
			conn_free(c);
			return;
		}
		c->bev = bufferevent_openssl_socket_new(
		    srv->base, c->fd, ssl, BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
		if (c->bev == NULL) {
			SSL_free(ssl);
			conn_free(c);
			return;
		}
		bufferevent_openssl_set_allow_dirty_shutdown(c->bev, 1);
		c->state = C_HANDSHAKE;
		bufferevent_setcb(c->bev, NULL, NULL, conn_event_cb, c);
		ms_to_tv(SMTP_SERVER_HANDSHAKE_MS, &tv);
		bufferevent_set_timeouts(c->bev, &tv, &tv);
		bufferevent_enable(c->bev, EV_READ | EV_WRITE);
		return;
	}
	c->bev = bufferevent_socket_new(srv->base, c->fd, BEV_OPT_CLOSE_ON_FREE);
	if (c->bev == NULL) {
		conn_free(c);
		return;
	}
	conn_start_session(c, NULL);
}

/* conn_proxy_cb - read the PROXY header: 16 octets, then exactly its length */
static void conn_proxy_cb(evutil_socket_t fd, short what, void *arg)
{
	struct smtp_conn *c = arg;
	struct smtp_proxy_result pr;
	size_t need;
	ssize_t n;
	int rc;

	if (what & EV_TIMEOUT) {
		log_info("smtp session=%016" PRIx64 " event=close reason=proxy-timeout",
		         c->ci.session_id);
		conn_free(c);
		return;
	}
	need = c->proxy_len < SMTP_PROXY_FIXED ? SMTP_PROXY_FIXED
	                                       : smtp_proxy_need(c->proxy_buf, c->proxy_len);
	if (need == 0 || need > sizeof(c->proxy_buf) || need <= c->proxy_len)
		goto bad;
	n = recv(fd, c->proxy_buf + c->proxy_len, need - c->proxy_len, 0);
	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
		conn_free(c);
		return;
	}
	if (n < 0)
		return;
	c->proxy_len += (size_t)n;
	if (smtp_proxy_need(c->proxy_buf, c->proxy_len) == 0)
		goto bad;
	rc = smtp_proxy_parse(c->proxy_buf, c->proxy_len, &pr);
	if (rc < 0)
		goto bad;
	if (rc == 0)
		return;
	event_free(c->proxy_ev);
	c->proxy_ev = NULL;
	if (pr.has_addr) {
		c->ci.peer = pr.src;
		c->ci.peer_port = pr.src_port;
		c->ci.local = pr.dst;
		c->ci.local_port = pr.dst_port;
		c->ci.proxied = true;
	}
	conn_admit(c);
	return;
bad:
	log_info("smtp session=%016" PRIx64 " event=close reason=bad-proxy-header",
	         c->ci.session_id);
	conn_free(c);
}

static void server_accept_cb(struct evconnlistener *evl, evutil_socket_t fd, struct sockaddr *sa,
                             int salen, void *arg)
{
	struct smtp_listener *l = arg;
	struct smtp_server *srv = l->srv;
	struct sockaddr_storage local;
	socklen_t llen = sizeof(local);
	struct smtp_conn *c;
	struct timeval tv;

	(void)evl;
	(void)salen;
	if (srv->nconns >= srv->cfg.max_connections) {
		log_info("smtp event=refused reason=too-many-connections total=%u", srv->nconns);
		refuse_fd(fd, l);
		return;
	}
	c = calloc(1, sizeof(*c));
	if (c == NULL) {
		evutil_closesocket(fd);
		return;
	}
	c->srv = srv;
	c->l = l;
	c->fd = fd;
	c->next = srv->conns;
	if (c->next != NULL)
		c->next->prev = c;
	srv->conns = c;
	srv->nconns++;
	c->ci.session_id = srv->next_id++;
	c->ci.listener = l->name;
	addr_from_sockaddr(sa, &c->ci.peer, &c->ci.peer_port);
	if (getsockname(fd, (struct sockaddr *)&local, &llen) == 0)
		addr_from_sockaddr((struct sockaddr *)&local, &c->ci.local, &c->ci.local_port);
	if (l->cfg.proxy_protocol) {
		c->state = C_PROXY;
		c->proxy_ev = event_new(srv->base, fd, EV_READ | EV_PERSIST, conn_proxy_cb, c);
		ms_to_tv(SMTP_SERVER_PROXY_MS, &tv);
		if (c->proxy_ev == NULL || event_add(c->proxy_ev, &tv) < 0)
			conn_free(c);
		return;
	}
	conn_admit(c);
}

static void server_accept_error_cb(struct evconnlistener *evl, void *arg)
{
	struct smtp_listener *l = arg;

	(void)evl;
	log_warn("smtp event=accept-error listener=%s errno=%d", l->name, errno);
}

/* ---- the server ---- */

/* server_verify_any - keep the handshake going whatever the client's
 * certificate is; the result is read afterwards (SSL_get_verify_result) */
static int server_verify_any(int ok, X509_STORE_CTX *ctx)
{
	(void)ok;
	(void)ctx;
	return 1;
}

static int server_tls(struct smtp_server *srv, struct sx_err *err)
{
	const struct smtp_server_config *sc = &srv->cfg;
	char msg[256];

	srv->ssl_ctx = SSL_CTX_new(TLS_server_method());
	if (srv->ssl_ctx == NULL) {
		sx_err_set(err, "cannot create a TLS context");
		return -1;
	}
	SSL_CTX_set_min_proto_version(srv->ssl_ctx, TLS1_2_VERSION);
	SSL_CTX_set_options(srv->ssl_ctx, SSL_OP_NO_RENEGOTIATION |
	                                      SSL_OP_CIPHER_SERVER_PREFERENCE |
	                                      SSL_OP_NO_COMPRESSION);
	SSL_CTX_set_mode(srv->ssl_ctx, SSL_MODE_RELEASE_BUFFERS);
	if (SSL_CTX_use_certificate_chain_file(srv->ssl_ctx, sc->cert_file) != 1 ||
	    SSL_CTX_use_PrivateKey_file(srv->ssl_ctx, sc->key_file, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(srv->ssl_ctx) != 1) {
		ERR_error_string_n(ERR_get_error(), msg, sizeof(msg));
		ERR_clear_error();
		sx_err_set(err, "TLS certificate %s / key %s: %s", sc->cert_file, sc->key_file,
		           msg);
		return -1;
	}
	if (sc->client_ca_file != NULL) {
		STACK_OF(X509_NAME) *cas = SSL_load_client_CA_file(sc->client_ca_file);

		if (cas == NULL ||
		    SSL_CTX_load_verify_locations(srv->ssl_ctx, sc->client_ca_file, NULL) != 1) {
			sk_X509_NAME_pop_free(cas, X509_NAME_free);
			ERR_error_string_n(ERR_get_error(), msg, sizeof(msg));
			ERR_clear_error();
			sx_err_set(err, "TLS client CA file %s: %s", sc->client_ca_file, msg);
			return -1;
		}
		SSL_CTX_set_client_CA_list(srv->ssl_ctx, cas);
		/* ask, never demand: a client without a certificate, or with one
		 * that does not verify, is plain Internet mail (conn_tls_info) */
		SSL_CTX_set_verify(srv->ssl_ctx, SSL_VERIFY_PEER, server_verify_any);
		SSL_CTX_set_verify_depth(srv->ssl_ctx, 8);
	}
	return 0;
}

static int server_listen(struct smtp_server *srv, struct smtp_listener *l, struct sx_err *err)
{
	struct addrinfo hints, *ai = NULL;
	struct sockaddr_storage ss;
	socklen_t sslen = sizeof(ss);
	char port[16];
	evutil_socket_t fd;
	int on = 1, rc;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE;
	snprintf(port, sizeof(port), "%u", l->cfg.port);
	rc = getaddrinfo(l->cfg.address, port, &hints, &ai);
	if (rc != 0 || ai == NULL) {
		sx_err_set(err, "listener %s: not a numeric address: %s", l->name,
		           rc != 0 ? gai_strerror(rc) : "none");
		return -1;
	}
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		freeaddrinfo(ai);
		sx_err_set(err, "listener %s: socket: %s", l->name, strerror(errno));
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
	/* "::" and "0.0.0.0" can both be listed: keep IPv6 sockets IPv6-only */
	if (ai->ai_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on));
	if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || evutil_make_socket_nonblocking(fd) < 0) {
		sx_err_set(err, "listener %s: bind: %s", l->name, strerror(errno));
		freeaddrinfo(ai);
		evutil_closesocket(fd);
		return -1;
	}
	freeaddrinfo(ai);
	l->evl = evconnlistener_new(srv->base, server_accept_cb, l,
	                            LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 128, fd);
	if (l->evl == NULL) {
		sx_err_set(err, "listener %s: listen: %s", l->name, strerror(errno));
		evutil_closesocket(fd);
		return -1;
	}
	evconnlistener_set_error_cb(l->evl, server_accept_error_cb);
	if (getsockname(fd, (struct sockaddr *)&ss, &sslen) == 0) {
		struct net_addr a;

		addr_from_sockaddr((struct sockaddr *)&ss, &a, &l->port);
	}
	log_info("smtp event=listening listener=%s port=%u tls=%s proxy=%d", l->name, l->port,
	         l->cfg.tls == SMTP_TLS_IMPLICIT   ? "implicit"
	         : l->cfg.tls == SMTP_TLS_STARTTLS ? (srv->ssl_ctx ? "starttls" : "none(no-cert)")
	                                           : "none",
	         l->cfg.proxy_protocol);
	return 0;
}

struct smtp_server *smtp_server_new(struct event_base *base, const struct smtp_server_config *sc,
                                    const struct smtp_hooks *hooks, struct sx_err *err)
{
	struct smtp_server *srv;
	size_t i;

	if (sc->nlisteners > SMTP_SERVER_LISTENERS_MAX) {
		sx_err_set(err, "too many listeners (at most %d)", SMTP_SERVER_LISTENERS_MAX);
		return NULL;
	}
	srv = calloc(1, sizeof(*srv));
	if (srv == NULL) {
		sx_err_set(err, "out of memory");
		return NULL;
	}
	srv->base = base;
	srv->cfg = *sc;
	srv->hooks = *hooks;
	if (srv->cfg.max_connections == 0)
		srv->cfg.max_connections = SMTP_SERVER_CONNS_MAX;
	if (srv->cfg.max_connections_per_ip == 0)
		srv->cfg.max_connections_per_ip = SMTP_SERVER_CONNS_PER_IP;
	if (RAND_bytes((unsigned char *)&srv->next_id, sizeof(srv->next_id)) != 1)
		srv->next_id = (uint64_t)getpid() << 32;
	if (sc->cert_file != NULL && sc->key_file != NULL && server_tls(srv, err) < 0)
		return smtp_server_free(srv);
	for (i = 0; i < sc->nlisteners; i++) {
		struct smtp_listener *l = &srv->listeners[i];

		l->srv = srv;
		l->cfg = sc->listeners[i];
		if (l->cfg.address == NULL)
			l->cfg.address = "0.0.0.0";
		if (l->cfg.name != NULL)
			snprintf(l->name, sizeof(l->name), "%s", l->cfg.name);
		else
			snprintf(l->name, sizeof(l->name), "%s%s%s:%u",
			         strchr(l->cfg.address, ':') ? "[" : "", l->cfg.address,
			         strchr(l->cfg.address, ':') ? "]" : "", l->cfg.port);
		srv->nlisteners = i + 1;
		if (l->cfg.tls == SMTP_TLS_IMPLICIT && srv->ssl_ctx == NULL) {
			sx_err_set(err, "listener %s: implicit TLS needs a certificate and key",
			           l->name);
			return smtp_server_free(srv);
		}
		if (l->cfg.tls == SMTP_TLS_STARTTLS && srv->ssl_ctx == NULL)
			log_warn("smtp event=no-starttls listener=%s reason=no-certificate",
			         l->name);
		if (server_listen(srv, l, err) < 0)
			return smtp_server_free(srv);
	}
	return srv;
}

unsigned smtp_server_port(const struct smtp_server *srv, size_t i)
{
	return srv != NULL && i < srv->nlisteners ? srv->listeners[i].port : 0;
}

unsigned smtp_server_sessions(const struct smtp_server *srv)
{
	return srv != NULL ? srv->nconns : 0;
}

void smtp_server_stop_accepting(struct smtp_server *srv)
{
	size_t i;

	if (srv == NULL)
		return;
	/* Closing, not just disabling: a disabled listening socket still lets
	 * the kernel complete handshakes that would then never get a greeting;
	 * closed, new clients are refused at once and try the next MX. */
	for (i = 0; i < srv->nlisteners; i++) {
		if (srv->listeners[i].evl != NULL) {
			evconnlistener_free(srv->listeners[i].evl);
			srv->listeners[i].evl = NULL;
		}
	}
}

void smtp_server_shutdown(struct smtp_server *srv)
{
	struct smtp_conn *c, *next;

	if (srv == NULL)
		return;
	smtp_server_stop_accepting(srv);
	for (c = srv->conns; c != NULL; c = next) {
		next = c->next;
		if (c->state == C_RUN) {
			smtp_session_shutdown(c->s);
			conn_check(c);
		} else if (c->state != C_CLOSING) {
			conn_free(c);
		}
	}
}

struct smtp_server *smtp_server_free(struct smtp_server *srv)
{
	size_t i;

	if (srv == NULL)
		return NULL;
	for (i = 0; i < srv->nlisteners; i++)
		if (srv->listeners[i].evl != NULL)
			evconnlistener_free(srv->listeners[i].evl);
	while (srv->conns != NULL)
		conn_free(srv->conns);
	for (i = 0; i < IP_BUCKETS; i++)
		while (srv->ips[i] != NULL) {
			struct ip_count *e = srv->ips[i];

			srv->ips[i] = e->next;
			free(e);
		}
	SSL_CTX_free(srv->ssl_ctx);
	free(srv);
	return NULL;
}
