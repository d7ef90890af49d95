/*
 * dns_unbound - the libunbound backend of the dns layer
 *
 * One ub_ctx per struct dns, in threaded async mode: libunbound resolves
 * in its own thread and signals results on a pipe (ub_fd), which sits in
 * our libevent loop; ub_process() then calls back into
 * unbound_result_cb(), which maps the ub_result onto struct dns_answer
 * (rdata decoded by dns_rdata.c) and hands it to dns.c.
 *
 * Where queries go: to opts.forward_host when set (loopback allowed, so
 * test servers work); else to the nameservers of /etc/resolv.conf when it
 * lists any; else recursively from unbound's built-in root hints.
 * DNSSEC is validated only when opts.trust_anchor names an anchor file.
 *
 * Configuration errors (bad forwarder address, unreadable or broken trust
 * anchor) surface in dns_new(): a first, cancelled query makes libunbound
 * apply its configuration there rather than on the first real lookup.
 * That query also starts libunbound's thread, so a process that forks
 * creates its resolvers after the fork.  With --dns the named server also
 * gets the reverse zones of private and documentation address space,
 * which libunbound would otherwise answer itself.
 */
#include <errno.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unbound.h>
#include <unistd.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/dns.h"
#include "core/dns_impl.h"
#include "core/str.h"

#define UNBOUND_RESOLV_CONF     "/etc/resolv.conf"
#define UNBOUND_RESOLV_CONF_CAP (64 * 1024)
#define UNBOUND_CLASS_IN        1

struct unbound_backend {
	struct ub_ctx *ctx;
	struct event *ev;
};

/* unbound_rcode_name - the rcodes a resolver passes on besides NXDOMAIN */
static const char *unbound_rcode_name(int rcode)
{
	switch (rcode) {
	case 1:
		return "FORMERR";
	case 2:
		return "SERVFAIL";
	case 4:
		return "NOTIMP";
	case 5:
		return "REFUSED";
	default:
		return "error";
	}
}

/* unbound_decode - the answer's records into q's arena; 0 or -1 with why */
static int unbound_decode(struct dns_query *q, const struct ub_result *res, struct dns_answer *ans)
{
	struct dns_rr *rr;
	size_t n = 0, i;
	uint32_t ttl = res->ttl > 0 ? (uint32_t)res->ttl : 0;
	const char *why = NULL;

	while (res->data != NULL && res->data[n] != NULL)
		n++;
	if (n == 0) {
		ans->status = DNS_NODATA;
		return 0;
	}
	rr = arena_array(q->arena, n, sizeof(*rr));
	if (rr == NULL) {
		ans->status = DNS_NOMEM;
		ans->why = "out of memory";
		return -1;
	}
	for (i = 0; i < n; i++) {
		if (res->len == NULL || res->len[i] < 0 ||
		    dns_rdata_decode(q->arena, q->type, ttl, (const uint8_t *)res->data[i],
		                     res->len == NULL ? 0 : (size_t)res->len[i], &rr[i],
		                     &why) < 0) {
			ans->status = DNS_SERVFAIL;
			ans->why = arena_printf(q->arena, "malformed %s record: %s",
			                        dns_type_name(q->type), why ? why : "bad length");
			if (ans->why == NULL)
				ans->why = "malformed record";
			return -1;
		}
	}
	ans->status = DNS_OK;
	ans->rr = rr;
	ans->count = n;
	return 0;
}

/* unbound_result_cb - libunbound's answer for one query (inside ub_process) */
static void unbound_result_cb(void *mydata, int err, struct ub_result *res)
{
	struct dns_query *q = mydata;
	struct dns_answer ans = { 0 };
	char canon[DNS_TEXT_NAME_MAX];
	const char *why;

	if (q == NULL) { /* the configuration probe of unbound_new */
		ub_resolve_free(res);
		return;
	}
	q->backend_active = false;
	ans.sec = DNS_SEC_INSECURE;
	if (err != 0 || res == NULL) {
		ans.status = err == UB_NOMEM ? DNS_NOMEM : DNS_SERVFAIL;
		ans.why = arena_printf(q->arena, "resolver error: %s",
		                       err != 0 ? ub_strerror(err) : "no result");
	} else if (res->bogus) {
		ans.status = DNS_SERVFAIL;
		ans.sec = DNS_SEC_BOGUS;
		ans.why = arena_printf(q->arena, "DNSSEC validation failed: %s",
		                       res->why_bogus ? res->why_bogus : "bogus data");
	} else {
		ans.sec = res->secure ? DNS_SEC_SECURE : DNS_SEC_INSECURE;
		if (res->nxdomain)
			ans.status = DNS_NXDOMAIN;
		else if (res->rcode != 0) {
			ans.status = DNS_SERVFAIL;
			ans.why = arena_printf(q->arena, "server answered %s",
			                       unbound_rcode_name(res->rcode));
		} else if (!res->havedata)
			ans.status = DNS_NODATA;
		else
			(void)unbound_decode(q, res, &ans);
		if (res->canonname != NULL &&
		    dns_name_canon(res->canonname, canon, sizeof(canon), &why) == 0 &&
		    canon[0] != '\0')
			ans.canonname = arena_strdup(q->arena, canon);
	}
	if (ans.status != DNS_OK) {
		ans.count = 0;
		ans.rr = NULL;
	}
	ub_resolve_free(res);
	dns_query_answer(q, &ans);
}

static void unbound_fd_cb(evutil_socket_t fd, short what, void *arg)
{
	struct dns *dns = arg;
	struct unbound_backend *ub = dns->backend;

	(void)fd;
	(void)what;
	dns_hold(dns);
	(void)ub_process(ub->ctx);
	dns_release(dns);
}

static int unbound_start(struct dns *dns, struct dns_query *q, const char **why)
{
	struct unbound_backend *ub = dns->backend;
	int r;

	r = ub_resolve_async(ub->ctx, q->name, (int)q->type, UNBOUND_CLASS_IN, q, unbound_result_cb,
	                     &q->backend_id);
	if (r != 0) {
		*why = ub_strerror(r);
		return -1;
	}
	return 0;
}

static void unbound_cancel(struct dns *dns, struct dns_query *q)
{
	struct unbound_backend *ub = dns->backend;

	(void)ub_cancel(ub->ctx, q->backend_id);
	q->backend_active = false;
}

static void unbound_free(struct dns *dns)
{
	struct unbound_backend *ub = dns->backend;

	if (ub == NULL)
		return;
	if (ub->ev != NULL)
		event_free(ub->ev);
	if (ub->ctx != NULL)
		ub_ctx_delete(ub->ctx);
	free(ub);
	dns->backend = NULL;
}

static const struct dns_backend_ops unbound_ops = {
	.name = "unbound",
	.start = unbound_start,
	.cancel = unbound_cancel,
	.free = unbound_free,
};

/* unbound_resolv_conf_has_servers - resolv.conf names at least one server */
static bool unbound_resolv_conf_has_servers(const char *path)
{
	struct buf b;
	const char *p, *end;
	bool found = false;

	buf_init(&b, UNBOUND_RESOLV_CONF_CAP);
	if (buf_read_file(&b, path) < 0) {
		buf_free(&b);
		return false;
	}
	p = b.data;
	end = b.data + b.len;
	while (p != NULL && p < end) {
		while (p < end && (*p == ' ' || *p == '\t'))
			p++;
		if ((size_t)(end - p) > 10 && memcmp(p, "nameserver", 10) == 0 &&
		    (p[10] == ' ' || p[10] == '\t')) {
			found = true;
			break;
		}
		p = memchr(p, '\n', (size_t)(end - p));
		if (p != NULL)
			p++;
	}
	buf_free(&b);
	return found;
}

/* unbound_probe_cb - never called: the probe is cancelled at once */
static void unbound_probe_cb(void *mydata, int err, struct ub_result *res)
{
	(void)mydata;
	(void)err;
	ub_resolve_free(res);
}

int dns_unbound_new(struct dns *dns, const struct dns_options *opts, struct sx_err *err)
{
	struct unbound_backend *ub;
	char fwd[300];
	int r, id;

	ub = calloc(1, sizeof(*ub));
	if (ub == NULL) {
		sx_err_set(err, "out of memory");
		return -1;
	}
	dns->backend = ub;
	dns->ops = &unbound_ops;
	ub->ctx = ub_ctx_create();
	if (ub->ctx == NULL) {
		sx_err_set(err, "cannot create the libunbound context");
		goto fail;
	}
	if ((r = ub_ctx_async(ub->ctx, 1)) != 0 ||
	    (r = ub_ctx_set_option(ub->ctx, "do-not-query-localhost:", "no")) != 0) {
		sx_err_set(err, "libunbound setup: %s", ub_strerror(r));
		goto fail;
	}
	if (opts->forward_host != NULL) {
		snprintf(fwd, sizeof(fwd), "%s@%u", opts->forward_host,
		         opts->forward_port ? opts->forward_port : 53);
		if ((r = ub_ctx_set_fwd(ub->ctx, fwd)) != 0) {
			sx_err_set(err, "bad DNS server %s (an IP address and port are needed): %s",
			           fwd, ub_strerror(r));
			goto fail;
		}
		/* the named server is authoritative for its view: let the reverse
		 * zones of private and documentation space reach it (test suites
		 * put PTR records at 192.168.x.x and 192.0.2.x) */
		if ((r = ub_ctx_set_option(ub->ctx, "unblock-lan-zones:", "yes")) != 0 ||
		    (r = ub_ctx_set_option(ub->ctx, "insecure-lan-zones:", "yes")) != 0) {
			sx_err_set(err, "libunbound setup: %s", ub_strerror(r));
			goto fail;
		}
	} else if (unbound_resolv_conf_has_servers(UNBOUND_RESOLV_CONF)) {
		if ((r = ub_ctx_resolvconf(ub->ctx, UNBOUND_RESOLV_CONF)) != 0) {
			sx_err_set(err, "cannot use %s: %s", UNBOUND_RESOLV_CONF, ub_strerror(r));
			goto fail;
		}
	}
	if (opts->trust_anchor != NULL) {
		if (access(opts->trust_anchor, R_OK) != 0) {
			sx_err_set(err, "trust anchor %s: %s", opts->trust_anchor, strerror(errno));
			goto fail;
		}
		if ((r = ub_ctx_add_ta_file(ub->ctx, opts->trust_anchor)) != 0) {
			sx_err_set(err, "trust anchor %s: %s", opts->trust_anchor, ub_strerror(r));
			goto fail;
		}
	}
	/* libunbound applies its configuration (and reads the anchor) on the
	 * first resolve: do one now so that errors belong to dns_new */
	r = ub_resolve_async(ub->ctx, "localhost.", 1, UNBOUND_CLASS_IN, NULL, unbound_probe_cb,
	                     &id);
	if (r != 0) {
		if (opts->trust_anchor != NULL)
			sx_err_set(err,
			           "libunbound cannot start: %s (check the trust anchor file %s)",
			           ub_strerror(r), opts->trust_anchor);
		else
			sx_err_set(err, "libunbound cannot start: %s", ub_strerror(r));
		goto fail;
	}
	(void)ub_cancel(ub->ctx, id);
	ub->ev = event_new(dns->base, ub_fd(ub->ctx), EV_READ | EV_PERSIST, unbound_fd_cb, dns);
	if (ub->ev == NULL || event_add(ub->ev, NULL) < 0) {
		sx_err_set(err, "cannot watch the libunbound descriptor");
		goto fail;
	}
	return 0;
fail:
	unbound_free(dns);
	dns->ops = NULL;
	return -1;
}
