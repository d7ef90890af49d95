/*
 * outbound - delivery of one message to one destination over SMTP or LMTP
 * (see outbound.h): the route (smart hosts, MX, implicit MX, null MX),
 * the TLS policy of each host, the SMTP client sessions (smtp/smtp_client.h),
 * one result per recipient, and a cache of idle sessions per destination
 *
 * A job walks the route: hosts in order, each host's addresses (AAAA,
 * then A) in order, at most opts.max_hosts connections.  A recipient is
 * final when a server gave it a 2xx or a 5xx, or a 4xx of its own (RCPT,
 * LMTP after data), or when the data went out and the reply was lost (a
 * second host could make a duplicate).  Everything else (connection and
 * TLS failures, a refused greeting, MAIL or DATA refused with a 4xx)
 * leaves it pending for the next address; when the route is exhausted a
 * pending recipient takes the last reason: a 5xx fails it, anything else
 * defers it.
 *
 * The cache: when a job ends with its session alive and idle, the session
 * waits (opts.conn_cache_idle_ms) under the job's destination key; the
 * next outbound_start with the same key sends on it at once, without DNS
 * or a handshake.  A cached session that turns out dead before the data
 * went out is forgotten and the job routes as usual.
 */
#include "transport/outbound.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/dns.h"
#include "core/log.h"
#include "core/net.h"
#include "core/str.h"
#include "report/tlsrpt.h"
#include "smtp/smtp_client.h"
#include "transport/dane.h"
#include "transport/mtasts.h"

#define OB_MAX_HOSTS_DEFAULT  10
#define OB_MX_MAX             32 /* MX records kept from one answer */
#define OB_HOST_ADDRS         16 /* addresses kept per host */
#define OB_CACHE_IDLE_MS      5000
#define OB_CACHE_MAX          32
#define OB_REUSE_MAX          100
#define OB_REUSE_TIME_MS      300000
#define OB_CONNECT_TIMEOUT_MS 30000

struct ob_host {
	char *name; /* MX host, smart host, or the domain (implicit MX) */
	unsigned port;
	uint16_t pref;
	bool literal; /* an address literal: no lookup */
	bool resolved;
	int inflight;
	struct dns_query *q[2];
	struct net_addr addrs[OB_HOST_ADDRS];
	size_t naddr;
	enum dns_status st[2]; /* AAAA, A */
	enum dns_sec sec[2];
	const char *canon; /* the address answer's name after CNAMEs */
	bool via_mx;
	/* DANE (RFC 7672) for this host, decided before its first address */
	bool policy_done;
	bool sts_unlisted; /* MTA-STS testing: not in the policy (reported already) */
	struct dane_lookup *dl;
	const struct dane_policy *dane; /* NULL: DANE was not looked at */
};

/* what decides TLS for the current connection */
enum ob_pol { POL_CONNECTOR, POL_DANE, POL_DANE_ENCRYPT, POL_STS };

/* a session nobody works on: idle in the cache, or closing */
struct ob_conn {
	struct outbound *ob;
	struct ob_conn *prev, *next;
	struct smtp_client *sc;
	struct event *timer;
	char *key;     /* NULL: closing, not reusable */
	uint64_t born; /* monotonic ms */
	char host[256], ip[64], tls_version[16], tls_cipher[64];
	const char *tls_policy;
	bool tls_verified;
	bool linked; /* in ob->conns */
};

struct ob_job {
	struct outbound *ob;
	struct ob_job *prev, *next;
	struct arena *a;
	struct outbound_request req;
	outbound_done_cb done;
	void *arg;
	char *key;
	struct outbound_rcpt_result *res;
	bool *final;
	/* this attempt's message: the recipients still pending */
	struct smtp_client_rcpt *crcpts;
	size_t *cmap, ncrcpts;
	struct smtp_client_msg msg;
	/* the route */
	struct ob_host *hosts;
	size_t nhosts, host_i, addr_i;
	unsigned tried;
	struct dns_query *mxq;
	bool route_started;
	bool route_failed; /* a DNS answer decided every recipient */
	/* the session */
	struct smtp_client *sc;
	uint64_t sc_born;
	bool sent; /* the message went to the current session */
	bool from_cache;
	bool plain_retry; /* opportunistic TLS failed: this address again, without TLS */
	struct ob_host *cur;
	struct net_addr cur_addr;
	enum smtp_client_tls_mode cur_tls;
	bool cur_verify;
	enum ob_pol cur_pol;
	bool tlsrpt_done; /* this connection's TLS outcome is recorded */
	/* direct delivery: the MX answer's DNSSEC status and the MTA-STS policy */
	bool direct;
	enum dns_sec mx_sec;
	struct mtasts_job *stsq;
	bool sts_pending;
	enum mtasts_mode sts_mode; /* NONE when no policy applies */
	const char **sts_mx;
	size_t sts_nmx;
	const char **sts_lines; /* the policy as lines, for TLS-RPT */
	size_t sts_nlines;
	bool sts_failed;
	enum mtasts_failure sts_failure;
	char where[360]; /* "mx.example.com[192.0.2.1]:25" */
	struct outbound_result out;
	struct event *finish_ev;
};

struct outbound {
	struct event_base *base;
	struct dns *dns;
	struct outbound_options o;
	char helo[256];
	char *ca_file;
	SSL_CTX *ssl_ctx;
	struct mtasts *sts;
	struct ob_job *jobs;
	struct ob_conn *conns;
	size_t nidle;
};

static void job_next(struct ob_job *j);
static void job_finish(struct ob_job *j);
static const struct smtp_client_cb job_cb;
static const struct smtp_client_cb conn_cb;

static uint64_t ob_now_ms(struct outbound *ob)
{
	struct timeval tv;

	if (event_base_gettimeofday_cached(ob->base, &tv) < 0)
		return 0;
	return (uint64_t)tv.tv_sec * 1000 + (uint64_t)tv.tv_usec / 1000;
}

static void ob_text(char *out, size_t outsize, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void ob_text(char *out, size_t outsize, const char *fmt, ...)
{
	va_list ap;
	size_t i;

	va_start(ap, fmt);
	vsnprintf(out, outsize, fmt, ap);
	va_end(ap);
	for (i = 0; out[i] != '\0'; i++)
		if ((unsigned char)out[i] < 0x20 || out[i] == 0x7f)
			out[i] = ' ';
}

static const char *ob_tls_name(enum outbound_tls t)
{
	switch (t) {
	case OUTBOUND_TLS_NONE:
		return "none";
	case OUTBOUND_TLS_OPPORTUNISTIC:
		return "opportunistic";
	case OUTBOUND_TLS_REQUIRED:
		return "required";
	case OUTBOUND_TLS_VERIFY:
		return "verify";
	}
	return "none";
}

/* ---- the session pool: idle and closing sessions ---- */

static void conn_unlink(struct ob_conn *k)
{
	struct outbound *ob = k->ob;

	/* conn_take unlinks a session its job then frees: once only, or the
	 * head of the list (and every other idle session) would be lost */
	if (!k->linked)
		return;
	k->linked = false;
	if (k->prev != NULL)
		k->prev->next = k->next;
	else
		ob->conns = k->next;
	if (k->next != NULL)
		k->next->prev = k->prev;
	if (k->key != NULL && ob->nidle > 0)
		ob->nidle--;
	k->prev = k->next = NULL;
}

static void conn_free(struct ob_conn *k)
{
	conn_unlink(k);
	smtp_client_free(k->sc);
	if (k->timer != NULL)
		event_free(k->timer);
	free(k->key);
	free(k);
}

/* conn_retire - the session is of no more use: QUIT, and free it when closed */
static void conn_retire(struct ob_conn *k)
{
	if (k->key != NULL) {
		free(k->key);
		k->key = NULL;
		if (k->ob->nidle > 0)
			k->ob->nidle--;
	}
	if (k->timer != NULL)
		event_del(k->timer);
	if (smtp_client_idle(k->sc))
		smtp_client_quit(k->sc);
	else
		conn_free(k);
}

static void conn_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	conn_retire(arg);
}

static void conn_ready(void *arg, struct smtp_client *c)
{
	(void)arg;
	(void)c;
}

static void conn_msg_done(void *arg, struct smtp_client *c, const struct smtp_client_msg_result *r)
{
	(void)arg;
	(void)c;
	(void)r;
}

static void conn_closed(void *arg, struct smtp_client *c, const struct smtp_client_reply *why)
{
	(void)c;
	(void)why;
	conn_free(arg);
}

static const struct smtp_client_cb conn_cb = { conn_ready, conn_msg_done, conn_closed };

/* conn_adopt - take a session from a job: into the cache (key) or to close (NULL) */
static void conn_adopt(struct outbound *ob, struct smtp_client *sc, const char *key,
                       const struct ob_job *j)
{
	struct ob_conn *k = calloc(1, sizeof(*k));
	struct timeval tv;
	unsigned idle = ob->o.conn_cache_idle_ms ? ob->o.conn_cache_idle_ms : OB_CACHE_IDLE_MS;

	if (k == NULL) {
		smtp_client_free(sc);
		return;
	}
	k->ob = ob;
	k->sc = sc;
	k->born = j != NULL ? j->sc_born : 0;
	if (j != NULL) {
		snprintf(k->host, sizeof(k->host), "%s", j->out.remote_host);
		snprintf(k->ip, sizeof(k->ip), "%s", j->out.remote_ip);
		snprintf(k->tls_version, sizeof(k->tls_version), "%s", j->out.tls_version);
		snprintf(k->tls_cipher, sizeof(k->tls_cipher), "%s", j->out.tls_cipher);
		k->tls_policy = j->out.tls_policy;
		k->tls_verified = j->out.tls_verified;
	}
	k->next = ob->conns;
	if (ob->conns != NULL)
		ob->conns->prev = k;
	ob->conns = k;
	k->linked = true;
	smtp_client_set_owner(sc, &conn_cb, k);
	if (key == NULL) {
		conn_retire(k);
		return;
	}
	k->key = strdup(key);
	k->timer = evtimer_new(ob->base, conn_timer_cb, k);
	tv.tv_sec = idle / 1000;
	tv.tv_usec = (idle % 1000) * 1000;
	if (k->key == NULL || k->timer == NULL || evtimer_add(k->timer, &tv) < 0) {
		conn_retire(k);
		return;
	}
	ob->nidle++;
	/* too many idle sessions: the oldest goes (the list is newest first) */
	if (ob->nidle > (ob->o.conn_cache_max ? ob->o.conn_cache_max : OB_CACHE_MAX)) {
		struct ob_conn *old = NULL, *p;

		for (p = ob->conns; p != NULL; p = p->next)
			if (p->key != NULL)
				old = p;
		if (old != NULL)
			conn_retire(old);
	}
}

/* conn_take - an idle session for key, taken out of the cache; NULL if none */
static struct ob_conn *conn_take(struct outbound *ob, const char *key)
{
	struct ob_conn *k;

	for (k = ob->conns; k != NULL; k = k->next)
		if (k->key != NULL && strcmp(k->key, key) == 0 && smtp_client_idle(k->sc)) {
			conn_unlink(k);
			return k;
		}
	return NULL;
}

/* ---- results ---- */

static enum outbound_status ob_status(unsigned code)
{
	if (code >= 200 && code < 300)
		return OUTBOUND_DELIVERED;
	if (code >= 500 && code < 600)
		return OUTBOUND_FAILED;
	return OUTBOUND_DEFERRED;
}

/* job_set - recipient i gets a result (final or the latest reason) */
static void job_set(struct ob_job *j, size_t i, unsigned code, const char *enh, const char *text,
                    bool final)
{
	struct outbound_rcpt_result *r = &j->res[i];

	r->code = code;
	snprintf(r->enhanced, sizeof(r->enhanced), "%s", enh ? enh : "");
	ob_text(r->text, sizeof(r->text), "%s", text);
	r->status = ob_status(code);
	if (final)
		j->final[i] = true;
}

/* job_set_reply - recipient i gets a server reply or our reason for this host */
static void job_set_reply(struct ob_job *j, size_t i, const struct smtp_client_reply *rep,
                          bool final)
{
	char text[sizeof(j->res[0].text)];
	const char *enh = rep->enhanced;

	if (rep->code != 0 && !rep->local) {
		ob_text(text, sizeof(text), "host %s said: %u%s%s %s", j->where, rep->code,
		        rep->enhanced[0] ? " " : "", rep->enhanced, rep->text);
	} else if (rep->code != 0) {
		ob_text(text, sizeof(text), "delivery to %s: %s", j->where, rep->text);
	} else {
		ob_text(text, sizeof(text), "%s: %s", j->where, rep->text);
		if (enh[0] == '\0')
			enh = "4.4.2";
	}
	job_set(j, i, rep->code, enh, text, final);
}

/* job_fail_all - every pending recipient ends with this reason now */
static void job_fail_all(struct ob_job *j, unsigned code, const char *enh, const char *text)
{
	size_t i;

	for (i = 0; i < j->req.nrcpts; i++)
		if (!j->final[i])
			job_set(j, i, code, enh, text, true);
}

static bool job_pending(const struct ob_job *j)
{
	size_t i;

	for (i = 0; i < j->req.nrcpts; i++)
		if (!j->final[i])
			return true;
	return false;
}

/* ---- the job ---- */

static void job_unlink(struct ob_job *j)
{
	struct outbound *ob = j->ob;

	if (j->prev != NULL)
		j->prev->next = j->next;
	else if (ob->jobs == j)
		ob->jobs = j->next;
	if (j->next != NULL)
		j->next->prev = j->prev;
	j->prev = j->next = NULL;
}

static void job_cancel_dns(struct ob_job *j)
{
	size_t i;

	if (j->mxq != NULL)
		dns_cancel(j->mxq);
	j->mxq = NULL;
	if (j->stsq != NULL)
		mtasts_cancel(j->stsq);
	j->stsq = NULL;
	for (i = 0; i < j->nhosts; i++) {
		dane_lookup_cancel(j->hosts[i].dl);
		j->hosts[i].dl = NULL;
		if (j->hosts[i].q[0] != NULL)
			dns_cancel(j->hosts[i].q[0]);
		if (j->hosts[i].q[1] != NULL)
			dns_cancel(j->hosts[i].q[1]);
		j->hosts[i].q[0] = j->hosts[i].q[1] = NULL;
	}
}

static void job_free(struct ob_job *j)
{
	if (j == NULL)
		return;
	job_unlink(j);
	job_cancel_dns(j);
	smtp_client_free(j->sc);
	if (j->finish_ev != NULL)
		event_free(j->finish_ev);
	arena_free(j->a);
	free(j);
}

/* job_drop_session - the current session is of no more use to this job */
static void job_drop_session(struct ob_job *j)
{
	if (j->sc != NULL) {
		conn_adopt(j->ob, j->sc, NULL, j);
		j->sc = NULL;
	}
}

static void job_finish_cb(evutil_socket_t fd, short what, void *arg)
{
	struct ob_job *j = arg;
	struct outbound *ob = j->ob;
	size_t i;
	unsigned reuse_max = ob->o.conn_reuse_max ? ob->o.conn_reuse_max : OB_REUSE_MAX;
	unsigned reuse_ms = ob->o.conn_reuse_time_ms ? ob->o.conn_reuse_time_ms : OB_REUSE_TIME_MS;
	char q[600];

	(void)fd;
	(void)what;
	job_cancel_dns(j);
	for (i = 0; i < j->req.nrcpts; i++) {
		if (!j->final[i] && j->res[i].text[0] == '\0')
			job_set(j, i, 0, "4.4.0", "no route to the destination", true);
		j->final[i] = true;
		log_info("outbound event=%s id=%s rcpt=%s relay=%s tls=%s code=%u text=%s",
		         j->res[i].status == OUTBOUND_DELIVERED ? "delivered"
		         : j->res[i].status == OUTBOUND_FAILED  ? "failed"
		                                                : "deferred",
		         j->req.trace_id ? j->req.trace_id : "-", j->req.rcpts[i].addr,
		         j->where[0] ? j->where : "none",
		         j->out.tls_version[0] ? j->out.tls_version : "none", j->res[i].code,
		         log_quote(q, sizeof(q), j->res[i].text));
	}
	/* a healthy session waits for the next message to this destination */
	if (j->sc != NULL) {
		if (!ob->o.conn_cache_off && smtp_client_idle(j->sc) &&
		    smtp_client_messages(j->sc) < reuse_max &&
		    ob_now_ms(ob) - j->sc_born < reuse_ms)
			conn_adopt(ob, j->sc, j->key, j);
		else
			conn_adopt(ob, j->sc, NULL, j);
		j->sc = NULL;
	}
	j->out.rcpts = j->res;
	j->done(&j->out, j->arg);
	job_free(j);
}

/* job_finish - call back from the loop (never from outbound_start itself) */
static void job_finish(struct ob_job *j)
{
	struct timeval zero = { 0, 0 };

	job_cancel_dns(j);
	if (j->finish_ev == NULL)
		j->finish_ev = evtimer_new(j->ob->base, job_finish_cb, j);
	if (j->finish_ev == NULL || evtimer_add(j->finish_ev, &zero) < 0)
		job_finish_cb(-1, 0, j); /* out of resources: at once, better than never */
}

/* ---- TLS-RPT ---- */

static enum tlsrpt_result ob_dane_result(enum dane_failure f)
{
	switch (f) {
	case DANE_FAIL_TLSA_INVALID:
		return TLSRPT_TLSA_INVALID;
	case DANE_FAIL_DNSSEC_INVALID:
		return TLSRPT_DNSSEC_INVALID;
	case DANE_FAIL_DANE_REQUIRED:
		return TLSRPT_DANE_REQUIRED;
	case DANE_FAIL_STARTTLS_NOT_SUPPORTED:
		return TLSRPT_STARTTLS_NOT_SUPPORTED;
	case DANE_FAIL_CERT_HOST_MISMATCH:
		return TLSRPT_CERTIFICATE_HOST_MISMATCH;
	case DANE_FAIL_CERT_EXPIRED:
		return TLSRPT_CERTIFICATE_EXPIRED;
	case DANE_FAIL_CERT_NOT_TRUSTED:
		return TLSRPT_CERTIFICATE_NOT_TRUSTED;
	default:
		return TLSRPT_VALIDATION_FAILURE;
	}
}

static enum tlsrpt_result ob_x509_result(long v)
{
	switch (v) {
	case X509_V_ERR_HOSTNAME_MISMATCH:
		return TLSRPT_CERTIFICATE_HOST_MISMATCH;
	case X509_V_ERR_CERT_HAS_EXPIRED:
	case X509_V_ERR_CERT_NOT_YET_VALID:
		return TLSRPT_CERTIFICATE_EXPIRED;
	case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
	case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
	case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
	case X509_V_ERR_CERT_UNTRUSTED:
		return TLSRPT_CERTIFICATE_NOT_TRUSTED;
	default:
		return TLSRPT_VALIDATION_FAILURE;
	}
}

/* job_tlsrpt - count one TLS session attempt to host h for the recipient
 * domain's TLS-RPT report (direct delivery with a store only) */
static void job_tlsrpt(struct ob_job *j, const struct ob_host *h, bool dane_applies,
                       enum tlsrpt_result result, const char *why)
{
	struct outbound *ob = j->ob;
	struct tlsrpt_outcome o = { 0 };
	struct sx_err err = { 0 };
	const char *tlsa_lines[DANE_TLSA_RRSET_MAX];
	const char *mx1[1];
	struct buf b;
	size_t i, n = 0;
	char ip[NET_ADDR_STRLEN] = "";

	/* RFC 8460 5.3: a report mail's own session is not reported */
	if (ob->o.store == NULL || ob->o.tlsrpt_off || j->req.report || !j->direct || h == NULL)
		return;
	o.policy_domain = j->req.domain;
	o.result = result;
	o.receiving_mx_hostname = h->name;
	if (j->cur == h && j->cur_addr.family != 0)
		o.receiving_ip = net_addr_format(&j->cur_addr, ip, sizeof(ip));
	o.failure_reason_code = why;
	buf_init(&b, 2 * DANE_TLSA_DATA_MAX + 64);
	if (dane_applies && h->dane != NULL) {
		o.policy_type = TLSRPT_POLICY_TLSA;
		for (i = 0; i < h->dane->nrecords && n < DANE_TLSA_RRSET_MAX; i++) {
			buf_clear(&b);
			if (dane_tlsa_format(&h->dane->records[i], &b) < 0 ||
			    (tlsa_lines[n] = arena_strdup(j->a, b.data)) == NULL)
				break;
			n++;
		}
		o.policy_strings = tlsa_lines;
		o.npolicy_strings = n;
		mx1[0] = h->name;
		o.mx_hosts = mx1;
		o.nmx_hosts = 1;
	} else if (j->sts_mode != MTASTS_MODE_NONE || j->sts_failed) {
		o.policy_type = TLSRPT_POLICY_STS;
		o.policy_strings = j->sts_lines;
		o.npolicy_strings = j->sts_nlines;
		o.mx_hosts = j->sts_mx;
		o.nmx_hosts = j->sts_nmx;
	} else {
		o.policy_type = TLSRPT_POLICY_NONE;
	}
	if (tlsrpt_record(ob->o.store, &o, (int64_t)time(NULL), &err) < 0)
		log_warn("outbound event=tlsrpt-error domain=%s error=\"%s\"", j->req.domain,
		         err.msg);
	buf_free(&b);
}

/* ---- TLS ---- */

/* job_sts_testing - an MTA-STS policy in testing mode applies: check as
 * enforce would, report to TLS-RPT, deliver all the same (RFC 8461 5) */
static bool job_sts_testing(const struct ob_job *j)
{
	return j->direct && j->sts_mode == MTASTS_MODE_TESTING && j->cur_pol == POL_CONNECTOR;
}

static int job_tls_prepare(SSL *ssl, void *arg)
{
	struct ob_job *j = arg;
	char err[256];

	if (j->cur_pol == POL_DANE) {
		if (dane_ssl_prepare(ssl, j->cur->dane, err, sizeof(err)) < 0) {
			log_warn("outbound event=dane-error host=%s error=\"%s\"", j->cur->name,
			         err);
			return -1;
		}
		return 0;
	}
	if ((j->cur_verify || j->cur_pol == POL_STS || job_sts_testing(j)) && j->cur != NULL &&
	    !j->cur->literal) {
		/* the name we looked up: the MX host or the smart host */
		if (SSL_set1_host(ssl, j->cur->name) != 1)
			return -1;
		SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
	}
	return 0;
}

static int job_tls_check(SSL *ssl, void *arg, char *why, size_t whysize)
{
	struct ob_job *j = arg;
	long v;

	snprintf(j->out.tls_version, sizeof(j->out.tls_version), "%s", SSL_get_version(ssl));
	snprintf(j->out.tls_cipher, sizeof(j->out.tls_cipher), "%s", SSL_get_cipher_name(ssl));
	j->out.tls_verified = false;
	j->tlsrpt_done = true;
	if (j->cur_pol == POL_DANE) {
		struct dane_outcome o;

		if (dane_ssl_outcome(ssl, &o) < 0 || !o.authenticated) {
			snprintf(why, whysize, "DANE authentication of %s failed: %s", j->cur->name,
			         o.why[0] ? o.why : "no DANE state");
			job_tlsrpt(j, j->cur, true, ob_dane_result(o.failure), o.why);
			return -1;
		}
		j->out.tls_verified = true;
		job_tlsrpt(j, j->cur, true, TLSRPT_SUCCESS, NULL);
		return 0;
	}
	if (j->cur_pol == POL_DANE_ENCRYPT) {
		/* a secure TLSA RRset without a usable record: TLS, unauthenticated */
		job_tlsrpt(j, j->cur, true, TLSRPT_TLSA_INVALID, "no usable TLSA record");
		return 0;
	}
	if (!j->cur_verify && j->cur_pol != POL_STS) {
		if (job_sts_testing(j) && j->cur != NULL && !j->cur->literal) {
			if (j->cur->sts_unlisted)
				return 0; /* its failure is counted already */
			v = SSL_get_verify_result(ssl);
			if (SSL_get0_peer_certificate(ssl) == NULL)
				v = X509_V_ERR_UNSPECIFIED;
			if (v != X509_V_OK)
				log_info("outbound event=mta-sts-testing domain=%s host=%s "
				         "would-fail=\"%s\"",
				         j->req.domain, j->cur->name,
				         X509_verify_cert_error_string(v));
			job_tlsrpt(j, j->cur, false,
			           v == X509_V_OK ? TLSRPT_SUCCESS : ob_x509_result(v),
			           v == X509_V_OK ? NULL : X509_verify_cert_error_string(v));
			return 0;
		}
		job_tlsrpt(j, j->cur, false, TLSRPT_SUCCESS, NULL);
		return 0;
	}
	v = SSL_get_verify_result(ssl);
	if (SSL_get0_peer_certificate(ssl) == NULL)
		v = X509_V_ERR_UNSPECIFIED;
	if (j->cur == NULL || j->cur->literal) {
		snprintf(why, whysize, "cannot verify a certificate for an address literal");
		return -1;
	}
	if (v != X509_V_OK) {
		snprintf(why, whysize, "certificate verification failed for %s: %s", j->cur->name,
		         X509_verify_cert_error_string(v));
		job_tlsrpt(j, j->cur, false, ob_x509_result(v), X509_verify_cert_error_string(v));
		return -1;
	}
	if (j->cur_pol == POL_STS && SSL_version(ssl) < TLS1_2_VERSION) {
		snprintf(why, whysize, "MTA-STS requires TLS 1.2 or later, %s has %s", j->cur->name,
		         SSL_get_version(ssl));
		job_tlsrpt(j, j->cur, false, TLSRPT_VALIDATION_FAILURE, why);
		return -1;
	}
	j->out.tls_verified = true;
	job_tlsrpt(j, j->cur, false, TLSRPT_SUCCESS, NULL);
	return 0;
}

/* ---- the route ---- */

static void job_transcript(void *arg, bool sent, const char *line, size_t len)
{
	struct outbound *ob = arg;

	if (ob->o.transcript != NULL)
		ob->o.transcript(ob->o.transcript_arg, sent, line, len);
}

/* job_connect - a session to the current host's address addr */
static void job_connect(struct ob_job *j, const struct net_addr *addr)
{
	struct outbound *ob = j->ob;
	struct smtp_client_options so = { 0 };
	struct sockaddr_storage ss;
	socklen_t sl;
	char ip[NET_ADDR_STRLEN];
	unsigned port = j->cur->port;

	memset(&ss, 0, sizeof(ss));
	if (addr->family == AF_INET6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		memcpy(&s6->sin6_addr, addr->bytes, 16);
		sl = sizeof(*s6);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)port);
		memcpy(&s4->sin_addr, addr->bytes, 4);
		sl = sizeof(*s4);
	}
	net_addr_format(addr, ip, sizeof(ip));
	j->cur_addr = *addr;
	snprintf(j->where, sizeof(j->where), "%s[%s]:%u", j->cur->name, ip, port);
	snprintf(j->out.remote_host, sizeof(j->out.remote_host), "%s", j->cur->name);
	snprintf(j->out.remote_ip, sizeof(j->out.remote_ip), "%s", ip);
	j->out.tls_version[0] = j->out.tls_cipher[0] = '\0';
	j->out.tls_verified = false;

	/* DANE, then MTA-STS in enforce mode, then the connector's TLS setting */
	j->tlsrpt_done = false;
	j->cur_pol = POL_CONNECTOR;
	if (j->cur->dane != NULL && j->cur->dane->status == DANE_REQUIRED)
		j->cur_pol = POL_DANE;
	else if (j->cur->dane != NULL && j->cur->dane->status == DANE_ENCRYPT)
		j->cur_pol = POL_DANE_ENCRYPT;
	else if (j->direct && j->sts_mode == MTASTS_MODE_ENFORCE)
		j->cur_pol = POL_STS;
	switch (j->req.tls) {
	case OUTBOUND_TLS_NONE:
		j->cur_tls = SMTP_CLIENT_TLS_NO;
		break;
	case OUTBOUND_TLS_OPPORTUNISTIC:
		j->cur_tls = j->plain_retry ? SMTP_CLIENT_TLS_NO : SMTP_CLIENT_TLS_TRY;
		break;
	case OUTBOUND_TLS_REQUIRED:
	case OUTBOUND_TLS_VERIFY:
		j->cur_tls = SMTP_CLIENT_TLS_MUST;
		break;
	}
	j->cur_verify = j->req.tls == OUTBOUND_TLS_VERIFY;
	j->out.tls_policy = ob_tls_name(j->req.tls);
	if (j->cur_pol != POL_CONNECTOR) {
		j->cur_tls = SMTP_CLIENT_TLS_MUST;
		j->cur_verify = false; /* the policy's own checks */
		j->out.tls_policy = j->cur_pol == POL_STS ? "mta-sts" : "dane";
	}

	so.base = ob->base;
	so.helo_name = ob->helo;
	so.lmtp = j->req.protocol == OUTBOUND_LMTP;
	so.tls = j->cur_tls;
	so.ssl_ctx = ob->ssl_ctx;
	so.tls_name = j->cur->literal ? NULL : j->cur->name;
	so.tls_prepare = job_tls_prepare;
	so.tls_check = job_tls_check;
	so.connect_timeout_ms =
	    ob->o.connect_timeout_ms ? ob->o.connect_timeout_ms : OB_CONNECT_TIMEOUT_MS;
	so.command_timeout_ms = ob->o.command_timeout_ms;
	so.data_timeout_ms = ob->o.data_timeout_ms;
	so.no_chunking = ob->o.no_chunking;
	so.no_pipelining = ob->o.no_pipelining;
	so.transcript = ob->o.transcript != NULL ? job_transcript : NULL;
	so.transcript_arg = ob;
	j->sent = false;
	j->tried++;
	j->sc_born = ob_now_ms(ob);
	log_debug("outbound event=connect id=%s relay=%s tls=%s",
	          j->req.trace_id ? j->req.trace_id : "-", j->where, ob_tls_name(j->req.tls));
	j->sc = smtp_client_connect(&so, (struct sockaddr *)&ss, sl, &job_cb, j);
	if (j->sc == NULL) {
		job_fail_all(j, 0, "4.3.0", "out of resources for a connection");
		job_finish(j);
	}
}

static void host_answer(struct ob_job *j, struct ob_host *h, int which,
                        const struct dns_answer *ans)
{
	size_t i;

	h->q[which] = NULL;
	h->st[which] = ans->status;
	h->sec[which] = ans->sec;
	if (ans->canonname != NULL && h->canon == NULL && ans->status == DNS_OK)
		h->canon = arena_strdup(j->a, ans->canonname);
	for (i = 0; ans->status == DNS_OK && i < ans->count && h->naddr < OB_HOST_ADDRS; i++) {
		const struct dns_rr *rr = &ans->rr[i];
		struct net_addr *a = &h->addrs[h->naddr];

		if (rr->type == DNS_T_AAAA && which == 0) {
			a->family = AF_INET6;
			memcpy(a->bytes, rr->u.aaaa, 16);
			h->naddr++;
		} else if (rr->type == DNS_T_A && which == 1) {
			memset(a, 0, sizeof(*a));
			a->family = AF_INET;
			memcpy(a->bytes, rr->u.a, 4);
			h->naddr++;
		}
	}
	if (--h->inflight > 0)
		return;
	h->resolved = true;
	job_next(j);
}

static void host_aaaa_cb(const struct dns_answer *ans, void *arg)
{
	struct ob_job *j = arg;

	host_answer(j, &j->hosts[j->host_i], 0, ans);
}

static void host_a_cb(const struct dns_answer *ans, void *arg)
{
	struct ob_job *j = arg;

	host_answer(j, &j->hosts[j->host_i], 1, ans);
}

/* host_note_dns - a host without addresses: remember why for the results */
static void host_note_dns(struct ob_job *j, struct ob_host *h)
{
	char text[400];
	bool temp = false;
	size_t i;
	int k;

	for (k = 0; k < 2; k++)
		if (h->st[k] != DNS_OK && h->st[k] != DNS_NXDOMAIN && h->st[k] != DNS_NODATA)
			temp = true;
	ob_text(text, sizeof(text), "%s: %s", h->name,
	        temp ? "address lookup failed (temporary DNS failure)"
	             : "host has no address (A or AAAA)");
	for (i = 0; i < j->req.nrcpts; i++)
		if (!j->final[i])
			job_set(j, i, 0, temp ? "4.4.3" : "4.4.4", text, false);
}

static void host_dane_cb(const struct dane_policy *p, void *arg)
{
	struct ob_job *j = arg;
	struct ob_host *h = &j->hosts[j->host_i];

	h->dl = NULL;
	h->dane = p;
	h->policy_done = true;
	log_info("outbound event=dane id=%s host=%s status=%s%s%s",
	         j->req.trace_id ? j->req.trace_id : "-", h->name, dane_status_name(p->status),
	         p->why ? " why=" : "", p->why ? p->why : "");
	job_next(j);
}

/* host_dane_start - look up the host's TLSA records when DANE can apply
 * (RFC 7672 2.2: a DNSSEC-secure MX RRset, or for the implicit MX secure
 * address records); true when a lookup runs */
static bool host_dane_start(struct ob_job *j, struct ob_host *h)
{
	struct dane_input in = { 0 };
	enum dns_sec asec;

	if (!j->direct || !j->ob->o.dane || h->literal || j->req.report)
		return false;
	if (h->sec[0] == DNS_SEC_BOGUS || h->sec[1] == DNS_SEC_BOGUS)
		asec = DNS_SEC_BOGUS;
	else if (h->sec[0] == DNS_SEC_SECURE && h->sec[1] == DNS_SEC_SECURE)
		asec = DNS_SEC_SECURE;
	else
		asec = DNS_SEC_INSECURE;
	if (h->via_mx ? j->mx_sec != DNS_SEC_SECURE : asec != DNS_SEC_SECURE)
		return false;
	in.host = h->name;
	in.port = h->port;
	in.via_mx = h->via_mx;
	in.mx_sec = j->mx_sec;
	in.addr_sec = asec;
	in.addr_canon = h->canon;
	h->dl = dane_lookup(j->ob->dns, j->ob->base, j->a, &in, 0, host_dane_cb, j);
	return h->dl != NULL;
}

/* host_skip - true when a policy forbids this host: DANE unusable, or an MX
 * that MTA-STS in enforce mode does not list; the recipients say why */
static bool host_skip(struct ob_job *j, struct ob_host *h)
{
	char text[512];
	size_t i;

	if (h->dane != NULL && h->dane->status == DANE_UNUSABLE) {
		ob_text(text, sizeof(text), "%s: DANE: %s", h->name,
		        h->dane->why ? h->dane->why : dane_failure_name(h->dane->failure));
		for (i = 0; i < j->req.nrcpts; i++)
			if (!j->final[i])
				job_set(j, i, 0, "4.7.5", text, false);
		job_tlsrpt(j, h, true, ob_dane_result(h->dane->failure), h->dane->why);
		return true;
	}
	if ((h->dane == NULL || h->dane->status == DANE_NONE) && j->direct &&
	    j->sts_mode != MTASTS_MODE_NONE) {
		bool match = false;

		for (i = 0; i < j->sts_nmx && !match; i++)
			match = mtasts_pattern_match(j->sts_mx[i], h->name);
		if (!match && j->sts_mode == MTASTS_MODE_TESTING && !h->sts_unlisted) {
			/* testing: what enforce would refuse is reported, not enforced */
			h->sts_unlisted = true;
			log_info("outbound event=mta-sts-testing domain=%s host=%s "
			         "would-fail=mx-mismatch",
			         j->req.domain, h->name);
			job_tlsrpt(j, h, false, TLSRPT_VALIDATION_FAILURE,
			           "MX host not listed in the MTA-STS policy");
		}
		if (!match && j->sts_mode == MTASTS_MODE_ENFORCE) {
			mtasts_defer_text(j->req.domain, text, sizeof(text));
			for (i = 0; i < j->req.nrcpts; i++)
				if (!j->final[i])
					job_set(j, i, MTASTS_DEFER_CODE, MTASTS_DEFER_ENHANCED,
					        text, false);
			log_info("outbound event=mta-sts-skip domain=%s host=%s reason=mx-mismatch",
			         j->req.domain, h->name);
			job_tlsrpt(j, h, false, TLSRPT_VALIDATION_FAILURE,
			           "MX host not listed in the MTA-STS policy");
			return true;
		}
	}
	return false;
}

/* job_next - the next address to try, or the end of the route */
static void job_next(struct ob_job *j)
{
	unsigned max = j->ob->o.max_hosts ? j->ob->o.max_hosts : OB_MAX_HOSTS_DEFAULT;

	for (;;) {
		struct ob_host *h;

		if (!job_pending(j) || j->host_i >= j->nhosts || j->tried >= max) {
			job_finish(j);
			return;
		}
		h = &j->hosts[j->host_i];
		if (!h->resolved) {
			if (h->inflight > 0)
				return;
			h->inflight = 2;
			h->q[0] = dns_lookup(j->ob->dns, h->name, DNS_T_AAAA, host_aaaa_cb, j);
			h->q[1] = dns_lookup(j->ob->dns, h->name, DNS_T_A, host_a_cb, j);
			if (h->q[0] == NULL || h->q[1] == NULL) {
				job_fail_all(j, 0, "4.3.0", "out of resources for a DNS lookup");
				job_finish(j);
			}
			return;
		}
		if (j->addr_i >= h->naddr) {
			if (h->naddr == 0)
				host_note_dns(j, h);
			j->host_i++;
			j->addr_i = 0;
			continue;
		}
		/* the host's TLS policy before its first address */
		if (!h->policy_done) {
			if (host_dane_start(j, h))
				return;
			h->policy_done = true;
		}
		if (h->dl != NULL || j->sts_pending)
			return;
		if (j->addr_i == 0 && host_skip(j, h)) {
			j->host_i++;
			continue;
		}
		j->cur = h;
		job_connect(j, &h->addrs[j->addr_i++]);
		return;
	}
}

/* host_literal - "[192.0.2.1]", "[IPv6:2001:db8::1]" or a bare address; 0 when it is one */
static int host_literal(const char *s, struct net_addr *out)
{
	size_t n = strlen(s);

	if (n >= 2 && s[0] == '[' && s[n - 1] == ']') {
		s++;
		n -= 2;
		if (n > 5 && str_ncasecmp(s, "IPv6:", 5) == 0) {
			s += 5;
			n -= 5;
		}
	}
	return net_addr_parse_n(s, n, out);
}

/* job_add_host - a host of the route; a literal needs no lookup */
static int job_add_host(struct ob_job *j, const char *name, unsigned port, uint16_t pref)
{
	struct ob_host *h = &j->hosts[j->nhosts];
	struct net_addr a;
	size_t n = strlen(name);

	memset(h, 0, sizeof(*h));
	/* "[host]" (Postfix style: no MX lookup) is the host itself */
	if (n >= 2 && name[0] == '[' && name[n - 1] == ']' && host_literal(name, &a) < 0)
		h->name = arena_strndup(j->a, name + 1, n - 2);
	else
		h->name = arena_strdup(j->a, name);
	if (h->name == NULL)
		return -1;
	if (h->name[0] != '\0' && h->name[strlen(h->name) - 1] == '.')
		h->name[strlen(h->name) - 1] = '\0';
	h->port = port;
	h->pref = pref;
	if (host_literal(name, &a) == 0) {
		h->literal = true;
		h->resolved = true;
		h->addrs[0] = a;
		h->naddr = 1;
	}
	j->nhosts++;
	return 0;
}

static unsigned job_port(const struct ob_job *j, unsigned port)
{
	if (port != 0)
		return port;
	if (j->req.protocol == OUTBOUND_LMTP)
		return 24;
	return j->ob->o.port ? j->ob->o.port : 25;
}

static void job_mx_cb(const struct dns_answer *ans, void *arg)
{
	struct ob_job *j = arg;
	char text[400];
	size_t i, k, n = 0;

	j->mxq = NULL;
	j->mx_sec = ans->sec;
	if (ans->status == DNS_NODATA) {
		/* RFC 5321 5.1: no MX, the domain itself is the implicit MX */
		j->hosts = arena_array(j->a, 1, sizeof(*j->hosts));
		if (j->hosts == NULL || job_add_host(j, j->req.domain, job_port(j, 0), 0) < 0) {
			job_fail_all(j, 0, "4.3.0", "out of memory");
			job_finish(j);
			return;
		}
		job_next(j);
		return;
	}
	if (ans->status == DNS_NXDOMAIN) {
		ob_text(text, sizeof(text),
		        "Host or domain name not found: %s (MX lookup: NXDOMAIN)", j->req.domain);
		job_fail_all(j, 550, "5.4.4", text);
		job_finish(j);
		return;
	}
	if (ans->status != DNS_OK) {
		ob_text(text, sizeof(text), "MX lookup for %s failed: %s%s%s", j->req.domain,
		        dns_status_name(ans->status), ans->why ? ": " : "",
		        ans->why ? ans->why : "");
		job_fail_all(j, 0, "4.4.3", text);
		job_finish(j);
		return;
	}
	for (i = 0; i < ans->count; i++)
		if (ans->rr[i].type == DNS_T_MX)
			n++;
	/* RFC 7505: a single MX with the root as host, the domain takes no mail */
	for (i = 0; i < ans->count; i++)
		if (ans->rr[i].type == DNS_T_MX && ans->rr[i].u.mx.host[0] == '\0') {
			ob_text(text, sizeof(text),
			        "Domain %s does not accept mail (null MX, RFC 7505)",
			        j->req.domain);
			job_fail_all(j, 556, "5.1.10", text);
			job_finish(j);
			return;
		}
	if (n > OB_MX_MAX)
		n = OB_MX_MAX;
	j->hosts = arena_array(j->a, n ? n : 1, sizeof(*j->hosts));
	if (j->hosts == NULL) {
		job_fail_all(j, 0, "4.3.0", "out of memory");
		job_finish(j);
		return;
	}
	for (i = 0; i < ans->count && j->nhosts < n; i++)
		if (ans->rr[i].type == DNS_T_MX &&
		    job_add_host(j, ans->rr[i].u.mx.host, job_port(j, 0),
		                 ans->rr[i].u.mx.preference) < 0) {
			job_fail_all(j, 0, "4.3.0", "out of memory");
			job_finish(j);
			return;
		}
	/* preference order; equal preferences in random order (RFC 5321 5.1) */
	for (i = 0; i < j->nhosts; i++) {
		uint32_t r = 0;
		(void)RAND_bytes((unsigned char *)&r, sizeof(r));
		j->hosts[i].port = r; /* a shuffle key for now */
	}
	for (i = 1; i < j->nhosts; i++)
		for (k = i; k > 0; k--) {
			struct ob_host *a = &j->hosts[k - 1], *b = &j->hosts[k], t;
			if (a->pref < b->pref || (a->pref == b->pref && a->port <= b->port))
				break;
			t = *a;
			*a = *b;
			*b = t;
		}
	for (i = 0; i < j->nhosts; i++) {
		j->hosts[i].port = job_port(j, 0);
		j->hosts[i].via_mx = true;
	}
	job_next(j);
}

/* job_sts_cb - the recipient domain's MTA-STS policy (RFC 8461), kept in the job */
static void job_sts_cb(const struct mtasts_result *r, void *arg)
{
	struct ob_job *j = arg;
	size_t i, n = 0;
	const char *p;

	j->stsq = NULL;
	j->sts_pending = false;
	if (r->status == MTASTS_FAILED) {
		j->sts_failed = true;
		j->sts_failure = r->failure;
		log_info("outbound event=mta-sts domain=%s status=failed failure=%s", j->req.domain,
		         mtasts_failure_name(r->failure) ? mtasts_failure_name(r->failure) : "-");
	} else if (r->status == MTASTS_POLICY && r->policy != NULL) {
		j->sts_mode = r->policy->mode;
		j->sts_mx = arena_array(j->a, r->policy->nmx ? r->policy->nmx : 1, sizeof(char *));
		for (i = 0; j->sts_mx != NULL && i < r->policy->nmx; i++)
			if ((j->sts_mx[j->sts_nmx] = arena_strdup(j->a, r->policy->mx[i])) != NULL)
				j->sts_nmx++;
		/* the policy's lines for TLS-RPT's policy-string */
		for (p = r->policy_text; p != NULL && *p != '\0'; p++)
			if (*p == '\n')
				n++;
		j->sts_lines = arena_array(j->a, n + 1, sizeof(char *));
		for (p = r->policy_text; j->sts_lines != NULL && p != NULL && *p != '\0';) {
			const char *nl = strchr(p, '\n');
			size_t len = nl != NULL ? (size_t)(nl - p) : strlen(p);

			while (len > 0 && (p[len - 1] == '\r' || p[len - 1] == ' '))
				len--;
			if (len > 0 && j->sts_nlines <= n &&
			    (j->sts_lines[j->sts_nlines] = arena_strndup(j->a, p, len)) != NULL)
				j->sts_nlines++;
			p = nl != NULL ? nl + 1 : p + strlen(p);
		}
		log_info("outbound event=mta-sts domain=%s mode=%s mx=%zu", j->req.domain,
		         mtasts_mode_name(j->sts_mode), j->sts_nmx);
	}
	if (j->nhosts > 0)
		job_next(j);
}

/* job_route - work out the hosts: smart hosts, a domain literal, or MX */
static void job_route(struct ob_job *j)
{
	size_t i;
	struct net_addr a;

	j->route_started = true;
	if (j->req.nsmart_hosts > 0) {
		j->hosts = arena_array(j->a, j->req.nsmart_hosts, sizeof(*j->hosts));
		for (i = 0; j->hosts != NULL && i < j->req.nsmart_hosts; i++)
			if (job_add_host(j, j->req.smart_hosts[i].host,
			                 job_port(j, j->req.smart_hosts[i].port), 0) < 0)
				break;
		if (j->hosts == NULL || i < j->req.nsmart_hosts) {
			job_fail_all(j, 0, "4.3.0", "out of memory");
			job_finish(j);
			return;
		}
		job_next(j);
		return;
	}
	if (host_literal(j->req.domain, &a) == 0) {
		j->hosts = arena_array(j->a, 1, sizeof(*j->hosts));
		if (j->hosts == NULL || job_add_host(j, j->req.domain, job_port(j, 0), 0) < 0) {
			job_fail_all(j, 0, "4.3.0", "out of memory");
			job_finish(j);
			return;
		}
		job_next(j);
		return;
	}
	j->direct = true;
	/* a report mail goes despite the domain's MTA-STS policy (RFC 8460 5.3) */
	if (j->ob->sts != NULL && !j->req.report && !j->sts_pending &&
	    j->sts_mode == MTASTS_MODE_NONE && !j->sts_failed) {
		j->sts_pending = true;
		j->stsq = mtasts_lookup(j->ob->sts, j->req.domain, job_sts_cb, j);
		if (j->stsq == NULL)
			j->sts_pending = false; /* out of resources: deliver as without a policy */
	}
	j->mxq = dns_lookup(j->ob->dns, j->req.domain, DNS_T_MX, job_mx_cb, j);
	if (j->mxq == NULL) {
		job_fail_all(j, 0, "4.3.0", "out of resources for a DNS lookup");
		job_finish(j);
	}
}

/* ---- the session's callbacks ---- */

static int job_send(struct ob_job *j)
{
	size_t i;

	j->ncrcpts = 0;
	for (i = 0; i < j->req.nrcpts; i++)
		if (!j->final[i]) {
			j->crcpts[j->ncrcpts].addr = j->req.rcpts[i].addr;
			j->crcpts[j->ncrcpts].notify = j->req.rcpts[i].notify;
			j->crcpts[j->ncrcpts].orcpt = j->req.rcpts[i].orcpt;
			j->cmap[j->ncrcpts++] = i;
		}
	j->msg.rcpts = j->crcpts;
	j->msg.nrcpts = j->ncrcpts;
	j->sent = true;
	return smtp_client_send(j->sc, &j->msg);
}

static void job_ready(void *arg, struct smtp_client *c)
{
	struct ob_job *j = arg;

	(void)c;
	if (j->sent)
		return;
	if (j->ncrcpts == 0 && !job_pending(j)) {
		job_finish(j);
		return;
	}
	if (job_send(j) < 0) {
		job_drop_session(j);
		job_next(j);
	}
}

static void job_msg_done(void *arg, struct smtp_client *c, const struct smtp_client_msg_result *r)
{
	struct ob_job *j = arg;
	size_t k;
	bool again = false, stale = j->from_cache;

	(void)c;
	for (k = 0; k < r->nrcpts && k < j->ncrcpts; k++) {
		const struct smtp_client_rcpt_result *rr = &r->rcpts[k];
		size_t i = j->cmap[k];
		unsigned code = rr->reply.code;
		/* what this server lacks (8BITMIME, SMTPUTF8, SIZE) another MX may have:
		 * our own 5xx is final only when the route is exhausted */
		bool final = (code >= 200 && code < 300) || (code >= 500 && !rr->reply.local) ||
		             rr->at_rcpt || (r->data_sent && code == 0);

		if (code != 0 || r->data_sent)
			stale = false;
		job_set_reply(j, i, &rr->reply, final);
		if (!final)
			again = true;
	}
	j->ncrcpts = 0;
	if (stale) {
		/* a cached session that had died: route as if it never was */
		j->from_cache = false;
		job_drop_session(j);
		job_route(j);
		return;
	}
	j->from_cache = false;
	if (again) {
		job_drop_session(j);
		job_next(j);
		return;
	}
	job_finish(j);
}

static void job_closed(void *arg, struct smtp_client *c, const struct smtp_client_reply *why)
{
	struct ob_job *j = arg;
	struct smtp_client_reply none;
	bool tls_failed = smtp_client_tls_tried(c) && !j->sent;
	size_t i;

	smtp_client_free(c);
	j->sc = NULL;
	if (why == NULL) {
		memset(&none, 0, sizeof(none));
		snprintf(none.text, sizeof(none.text), "session closed");
		why = &none;
	}
	if (j->from_cache) {
		j->from_cache = false;
		job_route(j);
		return;
	}
	if (!job_pending(j)) {
		job_finish(j);
		return;
	}
	if (!j->tlsrpt_done && !j->sent && j->cur != NULL && why->code == 0) {
		bool notls = strcmp(why->enhanced, "4.7.4") == 0;

		if (notls || tls_failed) {
			j->tlsrpt_done = true;
			job_tlsrpt(
			    j, j->cur, j->cur_pol == POL_DANE || j->cur_pol == POL_DANE_ENCRYPT,
			    notls ? TLSRPT_STARTTLS_NOT_SUPPORTED : TLSRPT_VALIDATION_FAILURE,
			    why->text);
		}
	}
	for (i = 0; i < j->req.nrcpts; i++)
		if (!j->final[i])
			job_set_reply(j, i, why, false);
	if (j->cur_pol == POL_STS && !j->sent &&
	    (tls_failed || (why->code == 0 && strcmp(why->enhanced, "4.7.4") == 0))) {
		/* RFC 8461 5: never plain text; EOP's words for the deferral */
		char text[256];
		char q[600];

		log_info("outbound event=mta-sts-fail domain=%s relay=%s why=%s", j->req.domain,
		         j->where, log_quote(q, sizeof(q), why->text));
		mtasts_defer_text(j->req.domain, text, sizeof(text));
		for (i = 0; i < j->req.nrcpts; i++)
			if (!j->final[i])
				job_set(j, i, MTASTS_DEFER_CODE, MTASTS_DEFER_ENHANCED, text,
				        false);
	}
	/* opportunistic TLS that failed in the handshake: the same address in plain text */
	if (tls_failed && j->req.tls == OUTBOUND_TLS_OPPORTUNISTIC && !j->plain_retry &&
	    why->code == 0 && j->cur_pol == POL_CONNECTOR) {
		unsigned max = j->ob->o.max_hosts ? j->ob->o.max_hosts : OB_MAX_HOSTS_DEFAULT;
		if (j->tried < max) {
			j->plain_retry = true;
			job_connect(j, &j->cur_addr);
			return;
		}
	}
	j->plain_retry = false;
	job_next(j);
}

static const struct smtp_client_cb job_cb = { job_ready, job_msg_done, job_closed };

/* ---- the interface ---- */

struct outbound *outbound_new(struct event_base *base, struct dns *dns,
                              const struct outbound_options *opts, struct sx_err *err)
{
	struct outbound *ob = calloc(1, sizeof(*ob));

	if (ob == NULL) {
		sx_err_set(err, "out of memory");
		return NULL;
	}
	ob->base = base;
	ob->dns = dns;
	ob->o = *opts;
	snprintf(ob->helo, sizeof(ob->helo), "%s",
	         opts->helo_name && opts->helo_name[0] ? opts->helo_name : "localhost");
	ob->o.helo_name = ob->helo;
	if (opts->ca_file != NULL && (ob->ca_file = strdup(opts->ca_file)) == NULL) {
		free(ob);
		sx_err_set(err, "out of memory");
		return NULL;
	}
	ob->o.ca_file = ob->ca_file;
	ob->ssl_ctx = SSL_CTX_new(TLS_client_method());
	if (ob->ssl_ctx == NULL) {
		sx_err_set(err, "cannot create the TLS context");
		return outbound_free(ob);
	}
	/* the handshake never fails on the certificate: the policy decides after it */
	SSL_CTX_set_verify(ob->ssl_ctx, SSL_VERIFY_NONE, NULL);
	SSL_CTX_set_options(ob->ssl_ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
	if (ob->ca_file != NULL) {
		if (SSL_CTX_load_verify_locations(ob->ssl_ctx, ob->ca_file, NULL) != 1) {
			sx_err_set(err, "cannot load the CA file %s", ob->ca_file);
			return outbound_free(ob);
		}
	} else if (SSL_CTX_set_default_verify_paths(ob->ssl_ctx) != 1) {
		sx_err_set(err, "cannot load the system trust store");
		return outbound_free(ob);
	}
	(void)SSL_CTX_dane_enable(ob->ssl_ctx);
	if (opts->mta_sts) {
		struct mtasts_options mo = { 0 };

		mo.base = base;
		mo.dns = dns;
		mo.store = opts->store;
		mo.ca_file = opts->mta_sts_ca_file != NULL ? opts->mta_sts_ca_file : ob->ca_file;
		mo.port = opts->mta_sts_port;
		mo.fetch_timeout_ms = opts->mta_sts_fetch_timeout_ms;
		mo.refresh_margin = opts->mta_sts_refresh_margin;
		ob->sts = mtasts_new(&mo, err);
		if (ob->sts == NULL)
			return outbound_free(ob);
	}
	return ob;
}

struct outbound *outbound_free(struct outbound *ob)
{
	if (ob == NULL)
		return NULL;
	while (ob->jobs != NULL)
		job_free(ob->jobs);
	while (ob->conns != NULL)
		conn_free(ob->conns);
	ob->sts = mtasts_free(ob->sts);
	SSL_CTX_free(ob->ssl_ctx);
	free(ob->ca_file);
	free(ob);
	return NULL;
}

int outbound_mtasts_refresh(struct outbound *ob)
{
	return ob != NULL && ob->sts != NULL ? mtasts_refresh(ob->sts) : 0;
}

void outbound_close_idle(struct outbound *ob)
{
	struct ob_conn *k, *next;

	if (ob == NULL)
		return;
	for (k = ob->conns; k != NULL; k = next) {
		next = k->next;
		if (k->key != NULL)
			conn_retire(k);
	}
}

size_t outbound_idle(const struct outbound *ob)
{
	return ob != NULL ? ob->nidle : 0;
}

size_t outbound_sessions(const struct outbound *ob)
{
	const struct ob_conn *k;
	size_t n = 0;

	for (k = ob != NULL ? ob->conns : NULL; k != NULL; k = k->next)
		n++;
	return n;
}

/* job_copy - the request into the job's arena */
static int job_copy(struct ob_job *j, const struct outbound_request *req)
{
	struct arena *a = j->a;
	struct outbound_request *r = &j->req;
	struct outbound_host *sh = NULL;
	struct outbound_rcpt *rc;
	const char **pre = NULL;
	size_t i;

#define DUP(s) ((s) != NULL ? arena_strdup(a, (s)) : arena_strdup(a, ""))
	*r = *req;
	r->domain = DUP(req->domain);
	r->sender = DUP(req->sender);
	r->dsn_ret = DUP(req->dsn_ret);
	r->dsn_envid = DUP(req->dsn_envid);
	r->trace_id = DUP(req->trace_id);
	if (r->domain == NULL || r->sender == NULL || r->dsn_ret == NULL || r->dsn_envid == NULL ||
	    r->trace_id == NULL)
		return -1;
	if (req->nsmart_hosts > 0) {
		sh = arena_array(a, req->nsmart_hosts, sizeof(*sh));
		if (sh == NULL)
			return -1;
		for (i = 0; i < req->nsmart_hosts; i++) {
			sh[i].port = req->smart_hosts[i].port;
			if ((sh[i].host = DUP(req->smart_hosts[i].host)) == NULL)
				return -1;
		}
	}
	r->smart_hosts = sh;
	rc = arena_array(a, req->nrcpts, sizeof(*rc));
	if (rc == NULL)
		return -1;
	for (i = 0; i < req->nrcpts; i++) {
		rc[i].addr = DUP(req->rcpts[i].addr);
		rc[i].notify = DUP(req->rcpts[i].notify);
		rc[i].orcpt = DUP(req->rcpts[i].orcpt);
		if (rc[i].addr == NULL || rc[i].notify == NULL || rc[i].orcpt == NULL)
			return -1;
	}
	r->rcpts = rc;
	if (req->nprepend > 0) {
		pre = arena_array(a, req->nprepend, sizeof(*pre));
		if (pre == NULL)
			return -1;
		for (i = 0; i < req->nprepend; i++)
			if ((pre[i] = DUP(req->prepend[i])) == NULL)
				return -1;
	}
	r->prepend = pre;
	r->data = req->len > 0 ? arena_memdup(a, req->data, req->len) : "";
	if (r->data == NULL)
		return -1;
#undef DUP
	return 0;
}

/* job_key - the destination of the connection cache */
static char *job_key(struct ob_job *j)
{
	struct buf b;
	size_t i;
	char *key;

	buf_init(&b, 8192);
	if (buf_printf(&b, "%s|%s|%u|", j->req.protocol == OUTBOUND_LMTP ? "lmtp" : "smtp",
	               ob_tls_name(j->req.tls), j->ob->o.port) < 0)
		goto fail;
	if (j->req.nsmart_hosts == 0 && buf_printf(&b, "mx:%s", j->req.domain) < 0)
		goto fail;
	/* a report mail's session skipped the domain's TLS policy: never reused
	 * for other mail */
	if (j->req.report && j->req.nsmart_hosts == 0 && buf_printf(&b, "|report") < 0)
		goto fail;
	for (i = 0; i < j->req.nsmart_hosts; i++)
		if (buf_printf(&b, "%s:%u,", j->req.smart_hosts[i].host,
		               j->req.smart_hosts[i].port) < 0)
			goto fail;
	for (i = 0; b.data[i] != '\0'; i++)
		b.data[i] = (char)str_lower((unsigned char)b.data[i]);
	key = arena_strdup(j->a, b.data);
	buf_free(&b);
	return key;
fail:
	buf_free(&b);
	return NULL;
}

int outbound_start(struct outbound *ob, const struct outbound_request *req, outbound_done_cb done,
                   void *arg, struct sx_err *err)
{
	struct ob_job *j;
	struct ob_conn *k;
	size_t i;

	if (req->nrcpts == 0 || req->nrcpts > SMTP_CLIENT_RCPTS_MAX || req->domain == NULL ||
	    done == NULL) {
		sx_err_set(err, "outbound: a request needs a domain and 1 to %d recipients",
		           SMTP_CLIENT_RCPTS_MAX);
		return -1;
	}
	j = calloc(1, sizeof(*j));
	if (j == NULL || (j->a = arena_new()) == NULL) {
		free(j);
		sx_err_set(err, "out of memory");
		return -1;
	}
	j->ob = ob;
	j->done = done;
	j->arg = arg;
	j->res = arena_array(j->a, req->nrcpts, sizeof(*j->res));
	j->final = arena_array(j->a, req->nrcpts, sizeof(*j->final));
	j->crcpts = arena_array(j->a, req->nrcpts, sizeof(*j->crcpts));
	j->cmap = arena_array(j->a, req->nrcpts, sizeof(*j->cmap));
	if (j->res == NULL || j->final == NULL || j->crcpts == NULL || j->cmap == NULL ||
	    job_copy(j, req) < 0 || (j->key = job_key(j)) == NULL) {
		arena_free(j->a);
		free(j);
		sx_err_set(err, "out of memory");
		return -1;
	}
	for (i = 0; i < req->nrcpts; i++)
		j->res[i].status = OUTBOUND_DEFERRED;
	j->out.tls_policy = ob_tls_name(req->tls);
	j->msg.sender = j->req.sender;
	j->msg.dsn_ret = j->req.dsn_ret;
	j->msg.dsn_envid = j->req.dsn_envid;
	j->msg.prepend = j->req.prepend;
	j->msg.nprepend = j->req.nprepend;
	j->msg.data = j->req.data;
	j->msg.len = j->req.len;
	j->msg.eightbit = j->req.eightbit;
	j->msg.smtputf8 = j->req.smtputf8;
	j->next = ob->jobs;
	if (ob->jobs != NULL)
		ob->jobs->prev = j;
	ob->jobs = j;

	k = ob->o.conn_cache_off ? NULL : conn_take(ob, j->key);
	if (k != NULL) {
		/* a cached session: the route and the TLS it had stay valid */
		j->sc = k->sc;
		k->sc = NULL;
		j->sc_born = k->born;
		j->from_cache = true;
		snprintf(j->out.remote_host, sizeof(j->out.remote_host), "%s", k->host);
		snprintf(j->out.remote_ip, sizeof(j->out.remote_ip), "%s", k->ip);
		snprintf(j->out.tls_version, sizeof(j->out.tls_version), "%s", k->tls_version);
		snprintf(j->out.tls_cipher, sizeof(j->out.tls_cipher), "%s", k->tls_cipher);
		j->out.tls_policy = k->tls_policy;
		j->out.tls_verified = k->tls_verified;
		snprintf(j->where, sizeof(j->where), "%s[%s]", k->host, k->ip);
		conn_free(k);
		smtp_client_set_owner(j->sc, &job_cb, j);
		if (job_send(j) < 0) {
			j->from_cache = false;
			job_drop_session(j);
			job_route(j);
		}
		return 0;
	}
	job_route(j);
	return 0;
}
