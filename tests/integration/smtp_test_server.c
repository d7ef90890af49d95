/*
 * smtp_test_server - the SMTP server with hooks that accept everything,
 * for tests/integration/test_smtp_server.py
 *
 *   smtp_test_server --dir DIR --ports FILE [--cert PEM --key PEM] [--port N]
 *                    [--max-size N] [--per-ip N] [--timeout-ms N]
 *
 * Three listeners on free loopback ports: plain with STARTTLS, implicit
 * TLS, and plain behind a PROXY v2 header; their ports go to FILE as
 * "starttls implicit proxy".  Each accepted message is written to
 * DIR/N.eml (the bytes data_write got) and DIR/N.env (envelope and
 * parameters, one per line).  Recipients starting with "reject" get
 * 550 5.1.1.  connect and data_end answer from the event loop (a zero
 * timer), the others inside the call, so both paths of the session run.
 * SIGTERM stops it.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/log.h"
#include "core/str.h"
#include "smtp/smtp_server.h"

struct ts {
	struct event_base *base;
	const char *dir;
	unsigned seq;
};

struct ts_conn {
	struct ts *ts;
	struct event *later;
	smtp_done_fn done;
	void *session;
	struct smtp_reply reply;
	char text[64];
	struct buf env;
	FILE *data;
	char path[512];
};

static void ts_later_cb(evutil_socket_t fd, short what, void *arg)
{
	struct ts_conn *c = arg;
	smtp_done_fn done = c->done;

	(void)fd;
	(void)what;
	c->done = NULL;
	if (done != NULL)
		done(c->session, &c->reply);
}

/* ts_answer_later - answer from the event loop, as the gateway does */
static void ts_answer_later(struct ts_conn *c, smtp_done_fn done, void *session)
{
	struct timeval zero = { 0, 0 };

	c->done = done;
	c->session = session;
	evtimer_add(c->later, &zero);
}

static void *ts_connect(void *arg, const struct smtp_conn_info *ci, smtp_done_fn done,
                        void *session)
{
	struct ts_conn *c = calloc(1, sizeof(*c));
	char ip[NET_ADDR_STRLEN];

	if (c == NULL)
		abort();
	c->ts = arg;
	c->later = evtimer_new(c->ts->base, ts_later_cb, c);
	buf_init(&c->env, 1 << 20);
	if (buf_printf(&c->env, "peer %s %u%s\n", net_addr_format(&ci->peer, ip, sizeof(ip)),
	               ci->peer_port, ci->proxied ? " proxied" : "") < 0)
		abort();
	ts_answer_later(c, done, session);
	return c;
}

static void ts_helo(void *h, const char *name, bool esmtp, smtp_done_fn done, void *session)
{
	struct ts_conn *c = h;

	if (buf_printf(&c->env, "helo %s %d\n", name, esmtp) < 0)
		abort();
	done(session, NULL);
}

static void ts_tls(void *h, const struct smtp_tls_info *tls)
{
	struct ts_conn *c = h;

	if (buf_printf(&c->env, "tls %s\n", tls->version) < 0)
		abort();
}

static void ts_mail(void *h, const char *sender, const struct smtp_mail_params *p,
                    smtp_done_fn done, void *session)
{
	struct ts_conn *c = h;

	if (buf_printf(
	        &c->env, "mail <%s> size=%llu 8bit=%d binary=%d smtputf8=%d ret=%s envid=%s\n",
	        sender, (unsigned long long)p->size, p->body_8bitmime, p->body_binarymime,
	        p->smtputf8, p->dsn_ret ? p->dsn_ret : "-", p->dsn_envid ? p->dsn_envid : "-") < 0)
		abort();
	done(session, NULL);
}

static void ts_rcpt(void *h, const char *rcpt, const struct smtp_rcpt_params *p, smtp_done_fn done,
                    void *session)
{
	struct ts_conn *c = h;
	struct smtp_reply no = { 550, "5.1.1", "Recipient address rejected: User unknown", false };

	if (strncmp(rcpt, "reject", 6) == 0) {
		done(session, &no);
		return;
	}
	if (buf_printf(&c->env, "rcpt <%s> notify=%s orcpt=%s\n", rcpt,
	               p->dsn_notify ? p->dsn_notify : "-", p->dsn_orcpt ? p->dsn_orcpt : "-") < 0)
		abort();
	done(session, NULL);
}

static int ts_data_begin(void *h)
{
	struct ts_conn *c = h;

	snprintf(c->path, sizeof(c->path), "%s/%u.eml.tmp", c->ts->dir, ++c->ts->seq);
	c->data = fopen(c->path, "wb");
	return c->data != NULL ? 0 : -1;
}

static int ts_data_write(void *h, const char *buf, size_t len)
{
	struct ts_conn *c = h;

	return c->data != NULL && fwrite(buf, 1, len, c->data) == len ? 0 : -1;
}

static void ts_data_end(void *h, smtp_done_fn done, void *session)
{
	struct ts_conn *c = h;
	char final[512], env[512];
	FILE *f;
	size_t n = strlen(c->path) - 4;

	if (c->data == NULL || fclose(c->data) != 0) {
		c->data = NULL;
		c->reply = (struct smtp_reply){ 451, "4.3.0", "write failed", false };
		ts_answer_later(c, done, session);
		return;
	}
	c->data = NULL;
	snprintf(final, sizeof(final), "%.*s", (int)n, c->path);
	snprintf(env, sizeof(env), "%.*s.env", (int)(n - 4), c->path);
	f = fopen(env, "wb");
	if (f == NULL || fwrite(c->env.data, 1, c->env.len, f) != c->env.len || fclose(f) != 0 ||
	    rename(c->path, final) != 0)
		abort();
	snprintf(c->text, sizeof(c->text), "Ok: queued as %u", c->ts->seq);
	c->reply = (struct smtp_reply){ 250, "2.0.0", c->text, false };
	ts_answer_later(c, done, session);
}

static void ts_reset(void *h)
{
	struct ts_conn *c = h;

	if (c->data != NULL) {
		fclose(c->data);
		c->data = NULL;
		remove(c->path);
	}
	/* keep the connection lines, drop the transaction's */
	{
		char *p = strstr(c->env.data != NULL ? c->env.data : "", "mail <");

		if (p != NULL) {
			c->env.len = (size_t)(p - c->env.data);
			c->env.data[c->env.len] = '\0';
		}
	}
}

static void ts_close(void *h)
{
	struct ts_conn *c = h;

	ts_reset(c);
	event_free(c->later);
	buf_free(&c->env);
	free(c);
}

static void ts_stop_cb(evutil_socket_t sig, short what, void *arg)
{
	(void)sig;
	(void)what;
	event_base_loopexit(arg, NULL);
}

int main(int argc, char **argv)
{
	struct ts ts = { 0 };
	struct smtp_server_config sc;
	struct smtp_hooks hooks = { &ts,         ts_connect, ts_helo,       ts_tls,
		                    ts_mail,     ts_rcpt,    ts_data_begin, ts_data_write,
		                    ts_data_end, ts_reset,   ts_close };
	struct smtp_server *srv;
	struct sx_err err = { 0 };
	const char *ports = NULL;
	struct event *sig;
	uint64_t v, starttls_port = 0;
	FILE *f;
	int i;

	log_setup(LOG_TARGET_STDERR, LOG_LEVEL_INFO, "smtp_test_server");
	smtp_server_config_init(&sc, NULL);
	sc.session.hostname = "mx.test";
	sc.session.limits.message_size_max = 10 * 1024 * 1024;
	for (i = 1; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--dir") == 0)
			ts.dir = argv[i + 1];
		else if (strcmp(argv[i], "--ports") == 0)
			ports = argv[i + 1];
		else if (strcmp(argv[i], "--cert") == 0)
			sc.cert_file = argv[i + 1];
		else if (strcmp(argv[i], "--key") == 0)
			sc.key_file = argv[i + 1];
		else if (strcmp(argv[i], "--max-size") == 0 &&
		         str_to_u64(argv[i + 1], strlen(argv[i + 1]), 1, UINT64_MAX, &v) == 0)
			sc.session.limits.message_size_max = v;
		else if (strcmp(argv[i], "--timeout-ms") == 0 &&
		         str_to_u64(argv[i + 1], strlen(argv[i + 1]), 1, 3600000, &v) == 0)
			sc.session.limits.cmd_timeout_ms = (unsigned)v;
		else if (strcmp(argv[i], "--port") == 0 &&
		         str_to_u64(argv[i + 1], strlen(argv[i + 1]), 1, 65535, &v) == 0)
			starttls_port = v; /* the STARTTLS listener's, instead of a free one */
		else if (strcmp(argv[i], "--per-ip") == 0 &&
		         str_to_u64(argv[i + 1], strlen(argv[i + 1]), 1, 100000, &v) == 0)
			sc.max_connections_per_ip = (unsigned)v;
		else {
			fprintf(stderr, "smtp_test_server: bad option %s\n", argv[i]);
			return 2;
		}
	}
	if (ts.dir == NULL || ports == NULL || sc.cert_file == NULL) {
		fprintf(stderr,
		        "usage: smtp_test_server --dir DIR --ports FILE --cert PEM --key PEM\n");
		return 2;
	}
	sc.listeners[0] =
	    (struct smtp_listener_config){ "starttls", "127.0.0.1", (unsigned)starttls_port,
		                           SMTP_TLS_STARTTLS, false };
	sc.listeners[1] =
	    (struct smtp_listener_config){ "implicit", "127.0.0.1", 0, SMTP_TLS_IMPLICIT, false };
	sc.listeners[2] =
	    (struct smtp_listener_config){ "proxy", "127.0.0.1", 0, SMTP_TLS_NONE, true };
	sc.nlisteners = 3;
	ts.base = event_base_new();
	srv = smtp_server_new(ts.base, &sc, &hooks, &err);
	if (srv == NULL) {
		fprintf(stderr, "smtp_test_server: %s\n", err.msg);
		return 1;
	}
	f = fopen(ports, "w");
	if (f == NULL)
		return 1;
	fprintf(f, "%u %u %u\n", smtp_server_port(srv, 0), smtp_server_port(srv, 1),
	        smtp_server_port(srv, 2));
	fclose(f);
	sig = evsignal_new(ts.base, SIGTERM, ts_stop_cb, ts.base);
	evsignal_add(sig, NULL);
	signal(SIGPIPE, SIG_IGN);
	event_base_dispatch(ts.base);
	smtp_server_shutdown(srv);
	srv = smtp_server_free(srv);
	event_free(sig);
	event_base_free(ts.base);
	return 0;
}
