/*
 * dns_unbound - the libunbound backend of the dns layer
 *
 * One ub_ctx per struct dns, in libunbound's event mode: the context
 * runs on our own libevent base (ub_ctx_create_event), so there is no
 * resolver thread and no pipe, and an answer libunbound has cached costs
 * a function call.  The reply comes back as a wire-format message, which
 * dns_packet.c decodes (dns_rdata.c for the rdata) into struct
 * dns_answer, along with how long it may be cached; dns.c delivers it
 * from the loop, never inside libunbound's own call stack.
 *
 * Where queries go: to opts.forward_host when set (loopback allowed, so
 * test servers work); else to the nameservers of /etc/resolv.conf when it
 * lists any; else recursively from unbound's built-in root hints.
 * DNSSEC is validated only when opts.trust_anchor names an anchor file.
 *
 * Configuration errors (bad forwarder address, unreadable or broken trust
 * anchor) surface in dns_new(): a first query, for localhost (answered
 * from libunbound's local data), makes libunbound apply its configuration
 * there rather than on the first real lookup.
 * The context's sockets and timers live in the caller's event_base, so a
 * process that forks creates its resolvers after the fork.  With --dns the named server also
 * gets the reverse zones of private and documentation address space,
 * which libunbound would otherwise answer itself.
 */
#include <errno.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unbound-event.h>
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

/* the sec argument of libunbound's event callback */
#define UNBOUND_SEC_BOGUS      1
#define UNBOUND_SEC_SECURE     2
#define UNBOUND_RCODE_NXDOMAIN 3

struct unbound_backend {
	struct ub_ctx *ctx;
};

/* unbound_event_cb - libunbound's reply for one query, from our own loop
 * (or from inside ub_resolve_event when it answers from its cache) */
static void unbound_event_cb(void *mydata, int rcode, void *packet, int packet_len, int sec,
                             char *why_bogus, int was_ratelimited)
{
	struct dns_query *q = mydata;
	struct dns_answer ans = { 0 };
	const char *why = NULL;
	uint32_t ttl = 0;

	(void)was_ratelimited;
	if (q == NULL) /* the configuration probe of dns_unbound_new */
		return;
	q->backend_active = false;
	if (sec == UNBOUND_SEC_BOGUS) {
		ans.status = DNS_SERVFAIL;
		ans.sec = DNS_SEC_BOGUS;
		ans.why = arena_printf(q->arena, "DNSSEC validation failed: %s",
		                       why_bogus != NULL ? why_bogus : "bogus data");
		if (ans.why == NULL)
			ans.why = "DNSSEC validation failed";
	} else if (rcode != 0) {
		/* with an error rcode the buffer holds no usable reply */
		ans.sec = DNS_SEC_INSECURE;
		ans.status = rcode == UNBOUND_RCODE_NXDOMAIN ? DNS_NXDOMAIN : DNS_SERVFAIL;
		if (ans.status == DNS_SERVFAIL)
			ans.why = "the resolver could not get an answer (SERVFAIL)";
	} else if (packet_len < 0 || dns_packet_decode(q->arena, packet, (size_t)packet_len,
	                                               q->name, q->type, &ans, &ttl, &why) < 0) {
		ans.why = arena_printf(q->arena, "malformed reply: %s", why != NULL ? why : "?");
		if (ans.why == NULL)
			ans.why = "malformed reply";
		ans.count = 0;
		ans.rr = NULL;
		ttl = 0;
	} else {
		ans.sec = sec == UNBOUND_SEC_SECURE ? DNS_SEC_SECURE : DNS_SEC_INSECURE;
	}
	q->ttl = ans.status == DNS_OK || ans.status == DNS_NXDOMAIN || ans.status == DNS_NODATA
	             ? ttl
	             : 0;
	dns_query_answer(q, &ans);
}

static int unbound_start(struct dns *dns, struct dns_query *q, const char **why)
{
	struct unbound_backend *ub = dns->backend;
	int r;

	r = ub_resolve_event(ub->ctx, q->name, (int)q->type, UNBOUND_CLASS_IN, q, unbound_event_cb,
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
	ub->ctx = ub_ctx_create_event(dns->base);
	if (ub->ctx == NULL) {
		sx_err_set(err, "cannot create the libunbound context");
		goto fail;
	}
	if ((r = ub_ctx_set_option(ub->ctx, "do-not-query-localhost:", "no")) != 0) {
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
	/* without an anchor the validator cannot prove anything: leave it out
	 * of the module stack, which saves it looking at every answer */
	if (opts->trust_anchor == NULL &&
	    (r = ub_ctx_set_option(ub->ctx, "module-config:", "iterator")) != 0) {
		sx_err_set(err, "libunbound setup: %s", ub_strerror(r));
		goto fail;
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
	r = ub_resolve_event(ub->ctx, "localhost.", 1, UNBOUND_CLASS_IN, NULL, unbound_event_cb,
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
	if (id != 0) /* localhost is answered at once, but should it ever not be */
		(void)ub_cancel(ub->ctx, id);
	return 0;
fail:
	unbound_free(dns);
	dns->ops = NULL;
	return -1;
}
