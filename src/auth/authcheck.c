/*
 * authcheck - the combined authentication check (see authcheck.h)
 *
 * The driver holds one slot per engine; each engine's callback fills its
 * slot and calls advance(), which starts DMARC once SPF (MAIL FROM) and
 * DKIM are in and finishes once every slot is filled.  The PTR lookup is
 * done here: one PTR query, then one A or AAAA query per name, all sent
 * together.
 */
#include <event2/event.h>
#include <string.h>
#include <sys/socket.h>

#include "auth/authcheck.h"
#include "auth/authres.h"
#include "core/arena.h"
#include "core/buf.h"
#include "core/str.h"
#include "mime/raw.h"

#define AUTHCHECK_AR_CAP (256 * 1024) /* one formatted Authentication-Results field */

void authcheck_options_init(struct authcheck_options *o, int64_t now)
{
	memset(o, 0, sizeof(*o));
	o->now = now;
	o->dmarc_sample = -1;
}

const char *authcheck_ptr_status_name(enum authcheck_ptr_status s)
{
	switch (s) {
	case AUTHCHECK_PTR_PASS:
		return "pass";
	case AUTHCHECK_PTR_TEMPERROR:
		return "temperror";
	case AUTHCHECK_PTR_FAIL:
		break;
	}
	return "fail";
}

/* ------------------------------------------------------------ the driver */

struct ptr_name {
	struct authcheck *c;
	const char *name;
	struct dns_query *q; /* NULL once answered or cancelled */
	enum dns_status status;
	bool confirmed;
};

struct authcheck {
	struct dns *dns;
	struct event_base *base;
	struct arena *a;
	const struct authcheck_input *in;
	authcheck_cb cb;
	void *arg;
	struct authcheck_result r;
	struct spf_request spf_req, helo_req;
	struct spf_check *spf_job, *helo_job;
	struct dkim_verify_job *dkim_job;
	struct arc_verify_job *arc_job;
	struct dmarc_check *dmarc_job;
	struct dmarc_request dmarc_req;
	struct dns_query *ptr_q;
	struct ptr_name *names;
	size_t nnames, names_out;
	bool spf_done, helo_done, dkim_done, arc_done, ptr_done, dmarc_done;
	bool dmarc_started;
	bool over;
};

static void stop(struct authcheck *c)
{
	size_t i;

	c->over = true;
	spf_check_cancel(c->spf_job);
	spf_check_cancel(c->helo_job);
	dkim_verify_cancel(c->dkim_job);
	arc_verify_cancel(c->arc_job);
	dmarc_check_cancel(c->dmarc_job);
	if (c->ptr_q != NULL)
		dns_cancel(c->ptr_q);
	c->ptr_q = NULL;
	for (i = 0; i < c->nnames; i++)
		if (c->names[i].q != NULL) {
			dns_cancel(c->names[i].q);
			c->names[i].q = NULL;
		}
}

static void cleanup(void *arg)
{
	struct authcheck *c = arg;

	if (!c->over)
		stop(c);
}

static void on_dmarc(const struct dmarc_outcome *o, void *arg);

/* dmarc_start - DMARC needs the SPF and DKIM results; 0 or -1 */
static int dmarc_start(struct authcheck *c)
{
	struct dmarc_dkim *dk = NULL;
	size_t i, n = c->r.ndkim < DMARC_MAX_DKIM ? c->r.ndkim : DMARC_MAX_DKIM;
	const struct authcheck_options *opts = c->in->opts;

	c->dmarc_started = true;
	if (c->r.from.status != ADDRESS_FROM_OK) {
		c->dmarc_done = true;
		return 0;
	}
	if (n > 0 && (dk = arena_array(c->a, n, sizeof(*dk))) == NULL)
		return -1;
	for (i = 0; i < n; i++) {
		dk[i].domain = c->r.dkim[i].d;
		dk[i].result = c->r.dkim[i].result;
	}
	c->dmarc_req.from_domains = c->r.from.domains;
	c->dmarc_req.nfrom = c->r.from.ndomains;
	c->dmarc_req.spf_domain = dmarc_spf_domain(c->in->mail_from, c->in->helo);
	c->dmarc_req.spf = c->r.spf->result;
	c->dmarc_req.dkim = dk;
	c->dmarc_req.ndkim = n;
	c->dmarc_req.sample = opts->dmarc_sample;
	c->dmarc_req.psl = opts->psl;
	c->dmarc_req.timeout_ms = opts->timeout_ms;
	c->dmarc_job = dmarc_check_start(c->dns, c->base, c->a, &c->dmarc_req, on_dmarc, c);
	return c->dmarc_job != NULL ? 0 : -1;
}

/* sealers - the sealers of a passing chain, with what their AAR said */
static int sealers(struct arena *a, const struct authcheck_result *r, struct compauth_input *in)
{
	struct compauth_sealer *s;
	size_t i;

	if (r->arc == NULL || r->arc->result != ARC_PASS || r->arc->nsets == 0)
		return 0;
	if ((s = arena_array(a, r->arc->nsets, sizeof(*s))) == NULL)
		return -1;
	for (i = 0; i < r->arc->nsets; i++) {
		const struct arc_set_result *set = &r->arc->sets[i];
		const struct authres_result *res;
		struct authres ar;
		struct sx_err err;
		size_t from = 0;

		s[i].domain = set->as_d;
		s[i].instance = set->instance;
		if (set->aar == NULL || in->from_domain == NULL ||
		    authres_parse(&ar, a, set->aar, set->aar_len, AUTHRES_LENIENT, &err) < 0)
			continue;
		while ((res = authres_find(&ar, "dmarc", &from)) != NULL) {
			const char *hf = authres_prop_find(res, "header", "from");

			if (strcmp(res->result, "pass") == 0 && hf != NULL &&
			    str_casecmp(hf, in->from_domain) == 0)
				s[i].aar_dmarc_pass = true;
		}
	}
	in->sealers = s;
	in->nsealers = r->arc->nsets;
	return 0;
}

int authcheck_compauth_input(struct arena *a, const struct authcheck_result *r,
                             const struct authcheck_options *opts, const struct net_addr *ip,
                             struct compauth_input *in)
{
	struct dmarc_dkim *dk = NULL;
	const struct dmarc_outcome *d = r->dmarc;
	size_t i;

	memset(in, 0, sizeof(*in));
	if (ip != NULL) {
		in->ip = *ip;
		in->has_ip = true;
	}
	if (d != NULL)
		in->from_domain = d->from_domain;
	if (r->spf != NULL) {
		in->spf = r->spf->result;
		in->spf_domain = r->spf->domain;
	}
	if (r->spf_helo != NULL) {
		in->spf_helo = r->spf_helo->result;
		in->helo_domain = r->spf_helo->domain;
	}
	if (r->ndkim > 0 && (dk = arena_array(a, r->ndkim, sizeof(*dk))) == NULL)
		return -1;
	for (i = 0; i < r->ndkim; i++) {
		dk[i].domain = r->dkim[i].d;
		dk[i].result = r->dkim[i].result;
	}
	in->dkim = dk;
	in->ndkim = r->ndkim;
	if (d != NULL) {
		in->dmarc.result = d->result;
		in->dmarc.has_record = d->record != NULL && d->rec.usable;
		in->dmarc.policy = d->policy;
		in->dmarc.disposition = d->disposition;
		in->dmarc.sampled_out = d->sampled_out;
	} else {
		in->dmarc.result = DMARC_RESULT_PERMERROR;
	}
	in->ptr_name = r->ptr.status == AUTHCHECK_PTR_PASS ? r->ptr.name : NULL;
	in->arc = r->arc != NULL ? r->arc->result : ARC_NONE;
	if (sealers(a, r, in) < 0)
		return -1;
	if (opts != NULL) {
		in->accepted_domains = opts->accepted_domains;
		in->naccepted = opts->naccepted;
		in->allow = opts->spoof_allow;
		in->nallow = opts->nallow;
		in->block = opts->spoof_block;
		in->nblock = opts->nblock;
		in->trusted_sealers = opts->trusted_arc_sealers;
		in->ntrusted = opts->ntrusted;
		in->bypass = opts->bypass;
		in->dmarc_no_reject = opts->dmarc_no_reject;
		in->psl = opts->psl;
	}
	return 0;
}

/* advance - start DMARC when it can, finish when everything is in */
static void advance(struct authcheck *c)
{
	struct compauth_input ci;

	if (c->over)
		return;
	if (!c->dmarc_started && c->spf_done && c->dkim_done && dmarc_start(c) < 0) {
		/* out of memory: DMARC cannot run; report it as a temporary failure */
		c->dmarc_done = true;
		c->r.dmarc = NULL;
		c->r.from.status = ADDRESS_FROM_NOMEM;
		c->r.from.why = "out of memory";
	}
	if (!(c->spf_done && c->helo_done && c->dkim_done && c->arc_done && c->ptr_done &&
	      c->dmarc_done))
		return;
	if (authcheck_compauth_input(c->a, &c->r, c->in->opts, &c->in->ip, &ci) < 0) {
		/* without memory nothing is decided: not checked */
		memset(&c->r.compauth, 0, sizeof(c->r.compauth));
		c->r.compauth.reason = COMPAUTH_R_TEMPERROR;
		c->r.compauth.why = "not checked: out of memory";
		c->r.compauth.dmarc = "temperror";
		c->r.compauth.action = "temperror";
	} else {
		compauth_eval(&ci, &c->r.compauth);
	}
	stop(c);
	c->cb(&c->r, c->arg); /* may free the arena: c is gone after this */
}

static void on_spf(const struct spf_outcome *o, void *arg)
{
	struct authcheck *c = arg;

	c->spf_job = NULL;
	c->r.spf = o;
	c->spf_done = true;
	advance(c);
}

static void on_helo(const struct spf_outcome *o, void *arg)
{
	struct authcheck *c = arg;

	c->helo_job = NULL;
	c->r.spf_helo = o;
	c->helo_done = true;
	advance(c);
}

static void on_dkim(struct dkim_verify *v, void *arg)
{
	struct authcheck *c = arg;

	c->dkim_job = NULL;
	c->r.ndkim = dkim_verify_results(v, &c->r.dkim);
	c->dkim_done = true;
	advance(c);
}

static void on_arc(struct arc_verify *v, void *arg)
{
	struct authcheck *c = arg;

	c->arc_job = NULL;
	c->r.arc = arc_verify_verdict(v);
	c->arc_done = true;
	advance(c);
}

static void on_dmarc(const struct dmarc_outcome *o, void *arg)
{
	struct authcheck *c = arg;

	c->dmarc_job = NULL;
	c->r.dmarc = o;
	c->dmarc_done = true;
	advance(c);
}

static bool temporary(enum dns_status s)
{
	return s == DNS_SERVFAIL || s == DNS_TIMEOUT || s == DNS_NOMEM;
}

/* ptr_settle - after the last address answer: the first confirmed name in
 * PTR order wins */
static void ptr_settle(struct authcheck *c)
{
	bool failed = false;
	size_t i;

	for (i = 0; i < c->nnames; i++) {
		if (c->names[i].confirmed) {
			c->r.ptr.status = AUTHCHECK_PTR_PASS;
			c->r.ptr.name = c->names[i].name;
			c->r.ptr.why = NULL;
			break;
		}
		failed |= temporary(c->names[i].status);
	}
	if (i == c->nnames) {
		c->r.ptr.status = failed ? AUTHCHECK_PTR_TEMPERROR : AUTHCHECK_PTR_FAIL;
		c->r.ptr.why = failed ? "a forward lookup of a PTR name failed"
		                      : "no PTR name resolves back to the IP";
	}
	c->ptr_done = true;
	advance(c);
}

static void on_addr(const struct dns_answer *ans, void *arg)
{
	struct ptr_name *pn = arg;
	struct authcheck *c = pn->c;
	const struct net_addr *ip = &c->in->ip;
	size_t i;

	pn->q = NULL;
	pn->status = ans->status;
	for (i = 0; ans->status == DNS_OK && i < ans->count; i++) {
		const struct dns_rr *rr = &ans->rr[i];

		if (rr->type == DNS_T_A && ip->family == AF_INET &&
		    memcmp(rr->u.a, ip->bytes, 4) == 0)
			pn->confirmed = true;
		if (rr->type == DNS_T_AAAA && ip->family == AF_INET6 &&
		    memcmp(rr->u.aaaa, ip->bytes, 16) == 0)
			pn->confirmed = true;
	}
	if (--c->names_out == 0)
		ptr_settle(c);
}

static void on_ptr(const struct dns_answer *ans, void *arg)
{
	struct authcheck *c = arg;
	enum dns_type t = c->in->ip.family == AF_INET6 ? DNS_T_AAAA : DNS_T_A;
	size_t i, n = 0;

	c->ptr_q = NULL;
	if (ans->status != DNS_OK) {
		c->r.ptr.status =
		    temporary(ans->status) ? AUTHCHECK_PTR_TEMPERROR : AUTHCHECK_PTR_FAIL;
		c->r.ptr.why = temporary(ans->status) ? "the PTR lookup failed" : "no PTR record";
		c->ptr_done = true;
		advance(c);
		return;
	}
	c->names = arena_array(c->a, AUTHCHECK_PTR_NAMES, sizeof(*c->names));
	if (c->names == NULL)
		goto nomem;
	for (i = 0; i < ans->count && n < AUTHCHECK_PTR_NAMES; i++) {
		if (ans->rr[i].type != DNS_T_PTR || ans->rr[i].u.name == NULL ||
		    dns_name_check(ans->rr[i].u.name) < 0)
			continue;
		c->names[n].c = c;
		c->names[n].name = arena_strdup(c->a, ans->rr[i].u.name);
		if (c->names[n].name == NULL)
			goto nomem;
		n++;
	}
	c->nnames = n;
	if (n == 0) {
		c->r.ptr.status = AUTHCHECK_PTR_FAIL;
		c->r.ptr.why = "no usable PTR name";
		c->ptr_done = true;
		advance(c);
		return;
	}
	/* count them all first: an answer cannot arrive before we return */
	c->names_out = n;
	for (i = 0; i < n; i++) {
		c->names[i].q = dns_lookup(c->dns, c->names[i].name, t, on_addr, &c->names[i]);
		if (c->names[i].q == NULL) {
			c->names[i].status = DNS_NOMEM;
			c->names_out--;
		}
	}
	if (c->names_out == 0)
		ptr_settle(c);
	return;
nomem:
	c->nnames = 0;
	c->r.ptr.status = AUTHCHECK_PTR_TEMPERROR;
	c->r.ptr.why = "out of memory";
	c->ptr_done = true;
	advance(c);
}

struct authcheck *authcheck_start(struct dns *dns, struct event_base *base, struct arena *arena,
                                  const struct authcheck_input *in, authcheck_cb cb, void *arg)
{
	struct authcheck *c = arena_zalloc(arena, sizeof(*c));
	const struct authcheck_options *opts = in->opts;
	struct dkim_verify_options dopts;
	struct arc_verify_options aopts = { 0 };
	struct spf_limits lim;
	char ipbuf[NET_ADDR_STRLEN], rev[128];

	if (c == NULL || opts == NULL)
		return NULL;
	c->dns = dns;
	c->base = base;
	c->a = arena;
	c->in = in;
	c->cb = cb;
	c->arg = arg;
	c->r.client_ip = arena_strdup(arena, net_addr_format(&in->ip, ipbuf, sizeof(ipbuf)));
	if (c->r.client_ip == NULL || arena_cleanup(arena, cleanup, c) < 0)
		return NULL;
	address_from_domains(arena, in->msg, &c->r.from);
	if (c->r.from.status == ADDRESS_FROM_NOMEM)
		return NULL;

	if (opts->spf_limits != NULL)
		lim = *opts->spf_limits;
	else
		spf_limits_default(&lim);
	if (opts->timeout_ms > 0)
		lim.timeout_ms = opts->timeout_ms;
	c->spf_req.ip = in->ip;
	c->spf_req.mail_from = in->mail_from;
	c->spf_req.helo = in->helo;
	c->spf_req.receiver = opts->authserv_id;
	c->spf_req.identity = SPF_ID_MAILFROM;
	c->spf_req.now = opts->now;
	c->spf_job = spf_check_start(dns, base, arena, &c->spf_req, &lim, on_spf, c);
	if (c->spf_job == NULL)
		goto fail;
	if (in->helo != NULL && *in->helo != '\0') {
		c->helo_req = c->spf_req;
		c->helo_req.identity = SPF_ID_HELO;
		c->helo_job = spf_check_start(dns, base, arena, &c->helo_req, &lim, on_helo, c);
		if (c->helo_job == NULL)
			goto fail;
	} else {
		c->helo_done = true;
	}

	dkim_verify_options_init(&dopts, opts->now);
	if (opts->dkim_max_signatures > 0)
		dopts.max_signatures = opts->dkim_max_signatures;
	if (opts->timeout_ms > 0)
		dopts.timeout_ms = opts->timeout_ms;
	c->dkim_job = dkim_verify_start(dns, base, arena, in->msg, &dopts, on_dkim, c);
	if (c->dkim_job == NULL)
		goto fail;
	aopts.timeout_ms = opts->timeout_ms;
	c->arc_job = arc_verify_start(dns, base, arena, in->msg, &aopts, on_arc, c);
	if (c->arc_job == NULL)
		goto fail;

	if (net_addr_reverse(&in->ip, in->ip.family == AF_INET6 ? "ip6.arpa" : "in-addr.arpa", rev,
	                     sizeof(rev)) == NULL)
		goto fail;
	c->ptr_q = dns_lookup(dns, rev, DNS_T_PTR, on_ptr, c);
	if (c->ptr_q == NULL)
		goto fail;
	return c;
fail:
	stop(c);
	return NULL;
}

void authcheck_cancel(struct authcheck *c)
{
	if (c != NULL && !c->over)
		stop(c);
}

/* ------------------------------------------------------------ the header */

struct props {
	struct authres_prop p[8];
	size_t n;
};

static void prop(struct props *ps, const char *ptype, const char *property, const char *value)
{
	if (value == NULL || ps->n >= sizeof(ps->p) / sizeof(ps->p[0]))
		return;
	ps->p[ps->n].ptype = ptype;
	ps->p[ps->n].property = property;
	ps->p[ps->n].value = value;
	ps->n++;
}

/* result - append one result (at most max), copying the properties; 0 or -1 */
static int result(struct authres *ar, size_t max, struct arena *a, const char *method,
                  const char *res, const char *comment, const char *reason, const struct props *ps)
{
	struct authres_result *r = &ar->results[ar->nresults];

	if (ar->nresults >= max)
		return -1;
	memset(r, 0, sizeof(*r));
	r->method = method;
	r->method_version = -1;
	r->result = res;
	r->comment = comment;
	r->reason = reason;
	if (ps != NULL && ps->n > 0) {
		r->props = arena_memdup(a, ps->p, ps->n * sizeof(ps->p[0]));
		if (r->props == NULL)
			return -1;
		r->nprops = ps->n;
	}
	ar->nresults++;
	return 0;
}

/* dkim_comment - EOP's words for a pass, else our reason */
static const char *dkim_comment(const struct dkim_sig_result *d)
{
	if (d->result == DKIM_PASS)
		return "signature was verified";
	return d->why;
}

static const char *arc_comment(struct arena *a, const struct arc_verdict *v)
{
	if (v->result == ARC_PASS)
		return arena_printf(a, "i=%u", v->instances);
	return v->result == ARC_FAIL ? v->reason : NULL;
}

int authcheck_authres(struct arena *a, const struct authcheck_result *r, const char *authserv_id,
                      struct authres *out)
{
	size_t ndkim = r->ndkim < AUTHCHECK_AR_MAX_DKIM ? r->ndkim : AUTHCHECK_AR_MAX_DKIM;
	size_t max = 7 + ndkim, i;
	struct props ps = { .n = 0 };
	int rc = 0;

	memset(out, 0, sizeof(*out));
	out->authserv_id = authserv_id;
	out->version = -1;
	if ((out->results = arena_array(a, max, sizeof(*out->results))) == NULL)
		return -1;

	if (r->spf != NULL) {
		ps.n = 0;
		prop(&ps, "smtp", "mailfrom", r->spf->domain);
		rc |= result(out, max, a, "spf", spf_result_name(r->spf->result),
		             arena_printf(a, "sender IP is %s", r->client_ip), NULL, &ps);
	}
	if (r->spf_helo != NULL) {
		ps.n = 0;
		prop(&ps, "smtp", "helo", r->spf_helo->domain);
		rc |= result(out, max, a, "spf", spf_result_name(r->spf_helo->result), NULL, NULL,
		             &ps);
	}
	if (r->ndkim == 0)
		rc |= result(out, max, a, "dkim", "none", "message not signed", NULL, NULL);
	for (i = 0; i < ndkim; i++) {
		const struct dkim_sig_result *d = &r->dkim[i];

		ps.n = 0;
		prop(&ps, "header", "d", d->d != NULL && *d->d ? d->d : NULL);
		prop(&ps, "header", "s", d->s != NULL && *d->s ? d->s : NULL);
		prop(&ps, "header", "i", d->i);
		prop(&ps, "header", "b", d->b != NULL && *d->b ? d->b : NULL);
		rc |= result(out, max, a, "dkim", dkim_result_name(d->result), dkim_comment(d),
		             NULL, &ps);
	}

	ps.n = 0;
	if (r->dmarc != NULL) {
		const struct dmarc_outcome *d = r->dmarc;
		const char *comment = NULL;

		if (d->record != NULL && d->rec.usable)
			comment = arena_printf(a, "p=%s sp=%s dis=%s", dmarc_policy_name(d->rec.p),
			                       dmarc_policy_name(d->rec.sp),
			                       dmarc_policy_name(d->disposition));
		prop(&ps, "header", "from", d->from_domain);
		if (d->record != NULL && d->rec.usable)
			prop(&ps, "policy", "dmarc", dmarc_policy_name(d->disposition));
		prop(&ps, "policy", "action", r->compauth.action);
		rc |= result(out, max, a, "dmarc", r->compauth.dmarc, comment, NULL, &ps);
	} else {
		prop(&ps, "policy", "action", r->compauth.action);
		rc |= result(out, max, a, "dmarc", r->compauth.dmarc,
		             arena_printf(a, "From: %s", r->from.why ? r->from.why : "unusable"),
		             NULL, &ps);
	}

	if (r->arc != NULL) {
		ps.n = 0;
		if (r->arc->result != ARC_NONE)
			prop(&ps, "smtp", "remote-ip", r->client_ip);
		if (r->arc->result == ARC_PASS && r->arc->oldest_pass > 0)
			prop(&ps, "header", "oldest-pass",
			     arena_printf(a, "%u", r->arc->oldest_pass));
		rc |= result(out, max, a, "arc", arc_result_name(r->arc->result),
		             arc_comment(a, r->arc), NULL, &ps);
	}

	ps.n = 0;
	prop(&ps, "policy", "iprev", r->client_ip);
	rc |= result(out, max, a, "iprev", authcheck_ptr_status_name(r->ptr.status),
	             r->ptr.status == AUTHCHECK_PTR_PASS ? r->ptr.name : r->ptr.why, NULL, &ps);

	rc |= result(out, max, a, "compauth", compauth_result_name(r->compauth.result), NULL,
	             arena_printf(a, "%03u", r->compauth.reason), NULL);
	return rc < 0 ? -1 : 0;
}

char *authcheck_header(struct arena *a, const struct authcheck_result *r, const char *authserv_id,
                       bool lf)
{
	static const char name[] = "Authentication-Results: ";
	struct authres_format_opts fo = { .first_col = sizeof(name) - 1, .lf = lf };
	struct authres ar;
	struct buf b;
	char *out = NULL;

	if (authcheck_authres(a, r, authserv_id, &ar) < 0)
		return NULL;
	buf_init(&b, AUTHCHECK_AR_CAP);
	if (buf_puts(&b, name) == 0 && authres_format(&b, &ar, &fo) == 0 &&
	    buf_puts(&b, lf ? "\n" : "\r\n") == 0)
		out = arena_strndup(a, b.data, b.len);
	buf_free(&b);
	return out;
}

/* ------------------------------------------------------------ stripping */

/* first_token - the authserv-id of a value the parser refused: skip
 * white space and comments, then a quoted string or a run of token bytes */
static bool first_token_is(const char *v, size_t len, const char *id)
{
	size_t i = 0, start, depth = 0;

	while (i < len) {
		unsigned char ch = (unsigned char)v[i];

		if (depth > 0) {
			if (ch == '\\')
				i++;
			else if (ch == '(')
				depth++;
			else if (ch == ')')
				depth--;
			i++;
		} else if (ch == '(') {
			depth = 1;
			i++;
		} else if (str_is_space(ch)) {
			i++;
		} else {
			break;
		}
	}
	if (i >= len)
		return false;
	if (v[i] == '"') {
		/* a quoted id: compare it unescaped, byte by byte */
		size_t k = 0, idlen = strlen(id);

		for (i++; i < len && v[i] != '"'; i++) {
			if (v[i] == '\\' && i + 1 < len)
				i++;
			if (k >= idlen ||
			    str_lower((unsigned char)v[i]) != str_lower((unsigned char)id[k]))
				return false;
			k++;
		}
		return i < len && k == idlen;
	}
	start = i;
	while (i < len && v[i] != ';' && v[i] != '(' && !str_is_space((unsigned char)v[i]))
		i++;
	return str_case_eq_n(v + start, i - start, id, strlen(id));
}

static bool field_is_ours(struct arena *a, const struct raw_field *f, const char *id)
{
	struct authres ar;
	struct sx_err err;
	const char *v;
	size_t len;

	raw_field_value(f, &v, &len);
	if (authres_parse(&ar, a, v, len, AUTHRES_LENIENT, &err) == 0)
		return ar.authserv_id != NULL && str_casecmp(ar.authserv_id, id) == 0;
	return first_token_is(v, len, id);
}

int authcheck_strip_ours(struct arena *a, const struct raw_message *msg, const char *authserv_id,
                         struct authcheck_range **ranges, size_t *n)
{
	static const char name[] = "Authentication-Results";
	struct authcheck_range *out = NULL;
	size_t i, cnt = raw_count(msg, name, sizeof(name) - 1), k = 0;

	*ranges = NULL;
	*n = 0;
	if (cnt == 0 || authserv_id == NULL || *authserv_id == '\0')
		return 0;
	if ((out = arena_array(a, cnt, sizeof(*out))) == NULL)
		return -1;
	for (i = 0; i < msg->nfields; i++) {
		const struct raw_field *f = &msg->fields[i];

		if (!raw_field_is(f, name, sizeof(name) - 1) || !field_is_ours(a, f, authserv_id))
			continue;
		if (k > 0 && out[k - 1].offset + out[k - 1].len == f->offset) {
			out[k - 1].len += f->raw_len;
		} else {
			out[k].offset = f->offset;
			out[k].len = f->raw_len;
			k++;
		}
	}
	*ranges = k > 0 ? out : NULL;
	*n = k;
	return 0;
}
