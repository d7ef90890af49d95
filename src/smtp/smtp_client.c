/*
 * smtp_client - the SMTP/LMTP client session on libevent (see smtp_client.h)
 *
 * The protocol lives in smtp_client_proto.c; this file owns the socket,
 * the bufferevents (a filter bufferevent_openssl after STARTTLS), the
 * timeouts the engine asks for and the owner's callbacks, which it runs
 * from a zero timer so the owner is never re-entered.
 */
#include "smtp/smtp_client.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "core/net.h"

#define SC_CONNECT_TIMEOUT_MS 30000
#define SC_PUMP_BUDGET        (256 * 1024)
#define SC_WRITE_LOWMARK      (64 * 1024)
#define SC_READ_HIGHMARK      (64 * 1024)
#define SC_CLOSE_WAIT_MS      2000

enum sc_state { SC_CONNECTING, SC_RUN, SC_HANDSHAKE, SC_CLOSING, SC_CLOSED };

struct smtp_client {
	struct smtp_client_options o;
	struct smtp_client_cb cb;
	void *arg;
	enum sc_state state;
	struct bufferevent *bev;
	SSL *ssl; /* owned by bev once the filter exists */
	struct smtp_client_proto *p;
	struct event *notify;
	struct event *close_timer;
	/* what the owner is told next, in this order */
	bool pend_msg, pend_ready, pend_closed;
	bool ready_told; /* ready was told for this idle period */
	struct smtp_client_rcpt_result *res;
	size_t nres;
	bool data_sent;
	bool have_why;
	struct smtp_client_reply why;
	bool in_cb, dead;
	bool tls_tried;
	char peer[NET_ADDR_STRLEN + 8];
};

static void sc_check(struct smtp_client *c);

static void ms_tv(unsigned ms, struct timeval *tv)
{
	tv->tv_sec = ms / 1000;
	tv->tv_usec = (ms % 1000) * 1000;
}

static void sc_schedule(struct smtp_client *c)
{
	struct timeval zero = { 0, 0 };

	if (c->notify != NULL)
		event_add(c->notify, &zero);
}

static void sc_really_free(struct smtp_client *c)
{
	if (c->bev != NULL)
		bufferevent_free(c->bev);
	else if (c->ssl != NULL)
		SSL_free(c->ssl);
	if (c->notify != NULL)
		event_free(c->notify);
	if (c->close_timer != NULL)
		event_free(c->close_timer);
	smtp_client_proto_free(c->p);
	free(c->res);
	free(c);
}

struct smtp_client *smtp_client_free(struct smtp_client *c)
{
	if (c == NULL)
		return NULL;
	if (c->in_cb) {
		c->dead = true;
		return NULL;
	}
	sc_really_free(c);
	return NULL;
}

/* sc_drop_connection - close the socket; the owner hears closed */
static void sc_drop_connection(struct smtp_client *c)
{
	if (c->bev != NULL) {
		bufferevent_free(c->bev);
		c->bev = NULL;
		c->ssl = NULL;
	}
	if (c->close_timer != NULL)
		event_del(c->close_timer);
	c->state = SC_CLOSED;
}

static void sc_close_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	sc_drop_connection(arg);
}

/* sc_closing - the engine is done: let the last bytes (QUIT) go, then close */
static void sc_closing(struct smtp_client *c)
{
	struct timeval tv;
	const struct smtp_client_reply *why;

	if (c->state == SC_CLOSING || c->state == SC_CLOSED)
		return;
	why = smtp_client_proto_error(c->p);
	if (why != NULL) {
		c->why = *why;
		c->have_why = true;
	}
	c->pend_closed = true;
	sc_schedule(c);
	if (c->bev == NULL || evbuffer_get_length(bufferevent_get_output(c->bev)) == 0 ||
	    c->state != SC_RUN) {
		sc_drop_connection(c);
		return;
	}
	c->state = SC_CLOSING;
	bufferevent_disable(c->bev, EV_READ);
	bufferevent_setwatermark(c->bev, EV_WRITE, 0, 0);
	ms_tv(SC_CLOSE_WAIT_MS, &tv);
	if (c->close_timer == NULL)
		c->close_timer = event_new(c->o.base, -1, 0, sc_close_timer_cb, c);
	if (c->close_timer == NULL || event_add(c->close_timer, &tv) < 0)
		sc_drop_connection(c);
}

static void sc_notify_cb(evutil_socket_t fd, short what, void *arg)
{
	struct smtp_client *c = arg;

	(void)fd;
	(void)what;
	c->in_cb = true;
	if (c->pend_msg && !c->dead) {
		struct smtp_client_msg_result mr = { c->res, c->nres, c->data_sent };

		c->pend_msg = false;
		if (c->cb.msg_done != NULL)
			c->cb.msg_done(c->arg, c, &mr);
	}
	if (c->pend_closed && !c->dead) {
		c->pend_closed = false;
		c->pend_ready = false;
		if (c->cb.closed != NULL)
			c->cb.closed(c->arg, c, c->have_why ? &c->why : NULL);
	} else if (c->pend_ready && !c->dead) {
		c->pend_ready = false;
		if (smtp_client_idle(c) && c->cb.ready != NULL)
			c->cb.ready(c->arg, c);
	}
	c->in_cb = false;
	if (c->dead)
		sc_really_free(c);
}

/* ---- the engine's operations ---- */

static int sc_write(void *owner, const void *p, size_t n)
{
	struct smtp_client *c = owner;

	if (c->bev == NULL || c->state != SC_RUN)
		return -1;
	return evbuffer_add(bufferevent_get_output(c->bev), p, n);
}

static void sc_msg_done(void *owner, const struct smtp_client_msg_result *res)
{
	struct smtp_client *c = owner;

	free(c->res);
	c->res = NULL;
	c->nres = 0;
	if (res->nrcpts > 0) {
		c->res = calloc(res->nrcpts, sizeof(*c->res));
		if (c->res != NULL) {
			memcpy(c->res, res->rcpts, res->nrcpts * sizeof(*c->res));
			c->nres = res->nrcpts;
		}
	}
	c->data_sent = res->data_sent;
	c->pend_msg = true;
	sc_schedule(c);
}

static void sc_transcript(void *owner, bool sent, const char *line, size_t len)
{
	struct smtp_client *c = owner;

	if (c->o.transcript != NULL)
		c->o.transcript(c->o.transcript_arg, sent, line, len);
}

/* ---- libevent ---- */

static void sc_read_cb(struct bufferevent *bev, void *arg)
{
	struct smtp_client *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	size_t n, used;

	while (c->state == SC_RUN && (n = evbuffer_get_length(in)) > 0) {
		const char *p = (const char *)evbuffer_pullup(in, (ev_ssize_t)n);

		if (p == NULL)
			break;
		used = smtp_client_proto_input(c->p, p, n);
		evbuffer_drain(in, used);
		if (used == 0 || smtp_client_proto_want(c->p) != SMTP_CLIENT_WANT_REPLY)
			break;
	}
	sc_check(c);
}

static void sc_write_cb(struct bufferevent *bev, void *arg)
{
	struct smtp_client *c = arg;

	if (c->state == SC_CLOSING) {
		if (evbuffer_get_length(bufferevent_get_output(bev)) == 0)
			sc_drop_connection(c);
		return;
	}
	if (c->state == SC_RUN && smtp_client_proto_pumping(c->p)) {
		smtp_client_proto_pump(c->p, SC_PUMP_BUDGET);
		sc_check(c);
	}
}

static void sc_ssl_errors(struct smtp_client *c, char *out, size_t outsize)
{
	unsigned long e;
	size_t len = strlen(out);

	while (c->bev != NULL && (e = bufferevent_get_openssl_error(c->bev)) != 0) {
		char s[256];

		ERR_error_string_n(e, s, sizeof(s));
		if (len + 3 < outsize) {
			snprintf(out + len, outsize - len, ": %s", s);
			len = strlen(out);
		}
	}
}

static void sc_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct smtp_client *c = arg;
	char why[512];

	(void)bev;
	if (what & BEV_EVENT_CONNECTED) {
		if (c->state == SC_CONNECTING) {
			c->state = SC_RUN;
			sc_check(c);
			return;
		}
		if (c->state == SC_HANDSHAKE) {
			why[0] = '\0';
			if (c->o.tls_check != NULL &&
			    c->o.tls_check(c->ssl, c->arg, why, sizeof(why)) < 0) {
				c->state = SC_RUN;
				smtp_client_proto_abort(c->p,
				                        why[0] ? why : "TLS verification failed");
				sc_check(c);
				return;
			}
			c->state = SC_RUN;
			smtp_client_proto_tls_done(c->p);
			sc_check(c);
			return;
		}
		return;
	}
	if (c->state == SC_CLOSING) {
		sc_drop_connection(c);
		return;
	}
	if (what & BEV_EVENT_TIMEOUT) {
		snprintf(why, sizeof(why), "%s",
		         c->state == SC_CONNECTING    ? "connection timed out"
		         : c->state == SC_HANDSHAKE   ? "timeout during the TLS handshake"
		         : (what & BEV_EVENT_WRITING) ? "timeout while sending"
		                                      : "timeout waiting for the server's reply");
	} else if (c->state == SC_CONNECTING) {
		int e = EVUTIL_SOCKET_ERROR();
		snprintf(why, sizeof(why), "connect failed: %s",
		         e ? evutil_socket_error_to_string(e) : "connection refused");
	} else if (c->state == SC_HANDSHAKE) {
		snprintf(why, sizeof(why), "TLS handshake failed");
		sc_ssl_errors(c, why, sizeof(why));
	} else if (what & BEV_EVENT_EOF) {
		snprintf(why, sizeof(why), "lost connection with the server");
	} else {
		int e = EVUTIL_SOCKET_ERROR();
		snprintf(why, sizeof(why), "connection error: %s",
		         e ? evutil_socket_error_to_string(e) : "unknown");
		sc_ssl_errors(c, why, sizeof(why));
	}
	c->state = SC_RUN;
	smtp_client_proto_abort(c->p, why);
	/* nothing more can be written: close at once */
	if (c->bev != NULL)
		evbuffer_drain(bufferevent_get_output(c->bev),
		               evbuffer_get_length(bufferevent_get_output(c->bev)));
	sc_check(c);
}

/* sc_starttls - the 220 to STARTTLS came: put TLS on the connection */
static void sc_starttls(struct smtp_client *c)
{
	struct evbuffer *in = bufferevent_get_input(c->bev);
	struct bufferevent *tb;
	struct net_addr na;
	struct timeval tv;

	/* bytes behind the 220 came before TLS: never read them inside it */
	evbuffer_drain(in, evbuffer_get_length(in));
	if (c->o.ssl_ctx == NULL || (c->ssl = SSL_new(c->o.ssl_ctx)) == NULL) {
		smtp_client_proto_abort(c->p, "TLS not available on our side");
		return;
	}
	if (c->o.tls_name != NULL && c->o.tls_name[0] != '\0' &&
	    net_addr_parse(c->o.tls_name, &na) < 0)
		SSL_set_tlsext_host_name(c->ssl, c->o.tls_name);
	if (c->o.tls_prepare != NULL && c->o.tls_prepare(c->ssl, c->arg) < 0) {
		SSL_free(c->ssl);
		c->ssl = NULL;
		smtp_client_proto_abort(c->p, "TLS setup failed");
		return;
	}
	tb = bufferevent_openssl_filter_new(c->o.base, c->bev, c->ssl, BUFFEREVENT_SSL_CONNECTING,
	                                    BEV_OPT_CLOSE_ON_FREE);
	if (tb == NULL) {
		SSL_free(c->ssl);
		c->ssl = NULL;
		smtp_client_proto_abort(c->p, "TLS setup failed");
		return;
	}
	bufferevent_openssl_set_allow_dirty_shutdown(tb, 1);
	c->bev = tb;
	c->tls_tried = true;
	c->state = SC_HANDSHAKE;
	bufferevent_setcb(tb, sc_read_cb, sc_write_cb, sc_event_cb, c);
	bufferevent_setwatermark(tb, EV_READ, 0, SC_READ_HIGHMARK);
	bufferevent_setwatermark(tb, EV_WRITE, SC_WRITE_LOWMARK, 0);
	ms_tv(smtp_client_proto_timeout_ms(c->p), &tv);
	bufferevent_set_timeouts(tb, &tv, &tv);
	bufferevent_enable(tb, EV_READ | EV_WRITE);
}

/* sc_check - act on what the engine wants now */
static void sc_check(struct smtp_client *c)
{
	struct timeval tv;

	if (c->state != SC_RUN)
		return;
	switch (smtp_client_proto_want(c->p)) {
	case SMTP_CLIENT_WANT_REPLY:
		ms_tv(smtp_client_proto_timeout_ms(c->p), &tv);
		if (smtp_client_proto_pumping(c->p))
			bufferevent_set_timeouts(c->bev, NULL, &tv);
		else
			bufferevent_set_timeouts(c->bev, &tv, &tv);
		bufferevent_enable(c->bev, EV_READ | EV_WRITE);
		c->ready_told = false;
		break;
	case SMTP_CLIENT_WANT_TLS:
		sc_starttls(c);
		if (c->state == SC_RUN)
			sc_check(c); /* the setup failed */
		break;
	case SMTP_CLIENT_WANT_MESSAGE:
		/* idle: no timeout here, but an EOF or a 421 is still seen */
		bufferevent_set_timeouts(c->bev, NULL, NULL);
		bufferevent_enable(c->bev, EV_READ | EV_WRITE);
		if (!c->ready_told) {
			c->ready_told = true;
			c->pend_ready = true;
			sc_schedule(c);
		}
		break;
	case SMTP_CLIENT_WANT_CLOSE:
		sc_closing(c);
		break;
	}
}

struct smtp_client *smtp_client_connect(const struct smtp_client_options *opts,
                                        const struct sockaddr *sa, socklen_t salen,
                                        const struct smtp_client_cb *cb, void *arg)
{
	struct smtp_client *c = calloc(1, sizeof(*c));
	struct smtp_client_proto_config pc = { 0 };
	struct smtp_client_proto_ops ops = { sc_write, sc_msg_done, sc_transcript };
	struct timeval tv;

	if (c == NULL)
		return NULL;
	c->o = *opts;
	c->cb = *cb;
	c->arg = arg;
	pc.helo_name = opts->helo_name;
	pc.lmtp = opts->lmtp;
	pc.tls = opts->tls;
	pc.no_chunking = opts->no_chunking;
	pc.no_pipelining = opts->no_pipelining;
	pc.command_timeout_ms = opts->command_timeout_ms;
	pc.data_timeout_ms = opts->data_timeout_ms;
	c->p = smtp_client_proto_new(&pc, &ops, c);
	c->notify = event_new(opts->base, -1, 0, sc_notify_cb, c);
	c->bev = bufferevent_socket_new(opts->base, -1, BEV_OPT_CLOSE_ON_FREE);
	if (c->p == NULL || c->notify == NULL || c->bev == NULL) {
		sc_really_free(c);
		return NULL;
	}
	bufferevent_setcb(c->bev, sc_read_cb, sc_write_cb, sc_event_cb, c);
	bufferevent_setwatermark(c->bev, EV_READ, 0, SC_READ_HIGHMARK);
	bufferevent_setwatermark(c->bev, EV_WRITE, SC_WRITE_LOWMARK, 0);
	ms_tv(opts->connect_timeout_ms ? opts->connect_timeout_ms : SC_CONNECT_TIMEOUT_MS, &tv);
	bufferevent_set_timeouts(c->bev, &tv, &tv);
	c->state = SC_CONNECTING;
	if (bufferevent_socket_connect(c->bev, sa, (int)salen) < 0) {
		/* libevent reports most failures through the event callback;
		 * this one is immediate: tell the owner from the loop all the same */
		smtp_client_proto_abort(c->p, "connect failed");
		c->state = SC_RUN;
		sc_check(c);
	}
	return c;
}

int smtp_client_send(struct smtp_client *c, const struct smtp_client_msg *m)
{
	if (c == NULL || c->state != SC_RUN || !smtp_client_idle(c))
		return -1;
	if (smtp_client_proto_send(c->p, m) < 0)
		return -1;
	c->ready_told = false;
	sc_check(c);
	return 0;
}

void smtp_client_quit(struct smtp_client *c)
{
	if (c == NULL || c->state != SC_RUN)
		return;
	if (smtp_client_idle(c))
		smtp_client_proto_quit(c->p);
	else
		smtp_client_proto_abort(c->p, "session ended by us");
	sc_check(c);
}

void smtp_client_set_owner(struct smtp_client *c, const struct smtp_client_cb *cb, void *arg)
{
	c->cb = *cb;
	c->arg = arg;
}

bool smtp_client_idle(const struct smtp_client *c)
{
	return c != NULL && c->state == SC_RUN &&
	       smtp_client_proto_want(c->p) == SMTP_CLIENT_WANT_MESSAGE;
}

const struct smtp_client_caps *smtp_client_caps(const struct smtp_client *c)
{
	return smtp_client_proto_caps(c->p);
}

const char *smtp_client_greeting(const struct smtp_client *c)
{
	return smtp_client_proto_greeting(c->p);
}

SSL *smtp_client_ssl(const struct smtp_client *c)
{
	return c->ssl;
}

unsigned smtp_client_messages(const struct smtp_client *c)
{
	return smtp_client_proto_messages(c->p);
}

bool smtp_client_tls_tried(const struct smtp_client *c)
{
	return c != NULL && c->tls_tried;
}
