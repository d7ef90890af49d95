/*
 * domaincheck_spf - the SPF area of check-domain: the lookup-count tree
 * (a step engine without I/O, see domaincheck.h) and the findings
 *
 * Records are selected and parsed by auth/spf_record; whether the
 * gateway's addresses are authorised is asked of auth/spf (check_host
 * with postmaster@DOMAIN), so the answer is the one receivers compute.
 */
#include <string.h>
#include <sys/socket.h>

#include "auth/spf.h"
#include "auth/spf_record.h"
#include "core/arena.h"
#include "core/buf.h"
#include "core/str.h"
#include "report/domaincheck_impl.h"

#define SPF_LINT_LONG 450 /* RFC 7208 3.4: keep the answer within 512 bytes */

/* a void-lookup check: the lookups of one a, mx or exists term */
struct spftree_void {
	struct spftree_node *node;
	unsigned need, got, empty;
};

struct spftree_q {
	struct spftree_query q;    /* first: the public list points here */
	struct spftree_node *node; /* a record lookup, or */
	struct spftree_void *v;    /* a void-lookup check */
};

struct spftree {
	struct arena *a;
	struct spftree_node *root;
	struct spftree_query *list[SPFTREE_MAX_QUERIES];
	size_t nq, nnodes, open;
};

const char *spftree_status_name(enum spftree_status s)
{
	static const char *const names[] = { "pending", "ok",        "none", "nxdomain", "multiple",
		                             "syntax",  "dns-error", "loop", "too-deep" };
	return (unsigned)s < sizeof(names) / sizeof(names[0]) ? names[s] : "?";
}

/* spftree_ask - queue a query; false when the cap is reached */
static bool spftree_ask(struct spftree *t, const char *name, enum dns_type type,
                        struct spftree_node *node, struct spftree_void *v)
{
	struct spftree_q *q;

	if (t->nq >= SPFTREE_MAX_QUERIES)
		return false;
	q = arena_zalloc(t->a, sizeof(*q));
	if (q == NULL)
		return false;
	q->q.name = name;
	q->q.type = type;
	q->node = node;
	q->v = v;
	t->list[t->nq++] = &q->q;
	t->open++;
	return true;
}

/* spftree_name - a domain-spec as a lower-case name without a trailing dot */
static char *spftree_name(struct arena *a, const char *p, size_t n)
{
	char *s;

	if (n > 0 && p[n - 1] == '.')
		n--;
	s = arena_strndup(a, p, n);
	return s ? str_lower_inplace(s) : NULL;
}

static struct spftree_node *spftree_node_new(struct spftree *t, struct spftree_node *parent,
                                             const char *name, const char *via)
{
	struct spftree_node *n = arena_zalloc(t->a, sizeof(*n));
	const struct spftree_node *up;

	if (n == NULL)
		return NULL;
	n->name = name;
	n->via = via;
	n->parent = parent;
	n->depth = parent ? parent->depth + 1 : 0;
	for (up = parent; up != NULL; up = up->parent)
		if (strcmp(up->name, name) == 0) {
			n->status = SPFTREE_LOOP;
			return n;
		}
	if (n->depth > SPFTREE_MAX_DEPTH || t->nnodes >= SPFTREE_MAX_NODES ||
	    !spftree_ask(t, name, DNS_T_TXT, n, NULL)) {
		n->status = SPFTREE_TOO_DEEP;
		return n;
	}
	t->nnodes++;
	return n;
}

struct spftree *spftree_new(struct arena *a, const char *domain)
{
	struct spftree *t = arena_zalloc(a, sizeof(*t));
	char *name;

	if (t == NULL)
		return NULL;
	t->a = a;
	name = spftree_name(a, domain, strlen(domain));
	if (name == NULL)
		return NULL;
	t->root = spftree_node_new(t, NULL, name, NULL);
	return t->root ? t : NULL;
}

size_t spftree_queries(struct spftree *t, struct spftree_query *const **list)
{
	*list = t->list;
	return t->nq;
}

bool spftree_done(const struct spftree *t)
{
	return t->open == 0;
}

const struct spftree_node *spftree_root(const struct spftree *t)
{
	return t->root;
}

static void spftree_add_child(struct spftree *t, struct spftree_node *n, struct spftree_node *ch)
{
	struct spftree_node **v;

	if (ch == NULL)
		return;
	v = arena_array(t->a, n->nchild + 1, sizeof(*v));
	if (v == NULL)
		return;
	if (n->nchild > 0)
		memcpy(v, n->child, n->nchild * sizeof(*v));
	v[n->nchild++] = ch;
	n->child = v;
}

/* spftree_void_check - ask the lookups of one a/mx/exists term */
static void spftree_void_check(struct spftree *t, struct spftree_node *n, const char *name,
                               enum spf_mech m)
{
	struct spftree_void *v = arena_zalloc(t->a, sizeof(*v));

	if (v == NULL)
		return;
	v->node = n;
	if (m == SPF_MECH_MX) {
		v->need = 1;
		spftree_ask(t, name, DNS_T_MX, NULL, v);
	} else if (m == SPF_MECH_EXISTS) {
		v->need = 1;
		spftree_ask(t, name, DNS_T_A, NULL, v);
	} else {
		v->need = 2;
		if (spftree_ask(t, name, DNS_T_A, NULL, v))
			spftree_ask(t, name, DNS_T_AAAA, NULL, v);
		else
			v->need = 1;
	}
}

/* spftree_record - a node's TXT answer: select, parse, expand */
static void spftree_record(struct spftree *t, struct spftree_node *n, const struct dns_answer *ans)
{
	const char *text = NULL;
	struct spf_record *rec;
	bool has_all = false;
	size_t len = 0, i, cnt;

	if (ans == NULL ||
	    (ans->status != DNS_OK && ans->status != DNS_NXDOMAIN && ans->status != DNS_NODATA)) {
		n->status = SPFTREE_DNS;
		n->error = ans ? dns_status_name(ans->status) : "no answer";
		return;
	}
	if (ans->status == DNS_NXDOMAIN) {
		n->status = SPFTREE_NXDOMAIN;
		return;
	}
	cnt = ans->status == DNS_OK ? spf_record_select(ans, &text, &len) : 0;
	if (cnt == 0) {
		n->status = SPFTREE_NONE;
		return;
	}
	if (cnt > 1) {
		n->status = SPFTREE_MULTIPLE;
		return;
	}
	n->record = arena_strndup(t->a, text, len);
	n->record_len = len;
	rec = spf_record_parse(t->a, text, len);
	if (rec == NULL || n->record == NULL) {
		n->status = SPFTREE_DNS;
		n->error = "out of memory";
		return;
	}
	n->rec = rec;
	if (rec->error != NULL) {
		n->status = SPFTREE_SYNTAX;
		n->error = rec->error;
		return;
	}
	n->status = SPFTREE_OK;
	n->own_terms = rec->dns_terms;
	for (i = 0; i < rec->nterms; i++) {
		const struct spf_term *tm = &rec->terms[i];
		const char *target = n->name;

		if (tm->mech == SPF_MECH_ALL)
			has_all = true;
		if (tm->mech != SPF_MECH_INCLUDE && tm->mech != SPF_MECH_A &&
		    tm->mech != SPF_MECH_MX && tm->mech != SPF_MECH_EXISTS)
			continue;
		if (tm->domain_macros) {
			n->macros = true;
			continue;
		}
		if (tm->domain != NULL)
			target = spftree_name(t->a, tm->domain, tm->domain_len);
		if (target == NULL)
			continue;
		if (tm->mech == SPF_MECH_INCLUDE)
			spftree_add_child(t, n, spftree_node_new(t, n, target, "include"));
		else
			spftree_void_check(t, n, target, tm->mech);
	}
	if (rec->redirect != NULL) {
		if (has_all) {
			/* RFC 7208 6.1: redirect is ignored when the record has "all" */
			if (n->own_terms > 0)
				n->own_terms--;
		} else if (rec->redirect_macros) {
			n->macros = true;
		} else {
			const char *target = spftree_name(t->a, rec->redirect, rec->redirect_len);
			if (target != NULL)
				spftree_add_child(t, n, spftree_node_new(t, n, target, "redirect"));
		}
	}
}

/* spftree_total - sum the subtree counts (depth is bounded by the tree) */
static void spftree_total(struct spftree_node *n)
{
	size_t i;

	n->total_terms = n->own_terms;
	n->total_void = n->own_void;
	for (i = 0; i < n->nchild; i++) {
		spftree_total(n->child[i]);
		n->total_terms += n->child[i]->total_terms;
		n->total_void += n->child[i]->total_void;
	}
}

int spftree_answer(struct spftree *t, const char *name, enum dns_type type,
                   const struct dns_answer *ans)
{
	size_t i, nq = t->nq;
	int found = -1;

	for (i = 0; i < nq; i++) {
		struct spftree_q *q = (struct spftree_q *)t->list[i];
		if (q->q.answered || q->q.type != type || str_casecmp(q->q.name, name) != 0)
			continue;
		q->q.answered = true;
		q->q.sent = true;
		t->open--;
		found = 0;
		if (q->node != NULL) {
			spftree_record(t, q->node, ans);
		} else if (q->v != NULL) {
			q->v->got++;
			if (ans != NULL &&
			    (ans->status == DNS_NXDOMAIN || ans->status == DNS_NODATA))
				q->v->empty++;
			if (q->v->got == q->v->need && q->v->empty == q->v->need)
				q->v->node->own_void++;
		}
	}
	if (t->open == 0)
		spftree_total(t->root);
	return found;
}

#define SPFTREE_FORMAT_CAP (64 * 1024)

/* spftree_fmt - one line per node, children indented under it */
static int spftree_fmt(struct buf *b, const struct spftree_node *n)
{
	int r;
	size_t i;

	r = buf_printf(b, "%*s%s%s%s", (int)(n->depth * 2), "", n->via ? n->via : "",
	               n->via ? ":" : "", n->name);
	if (n->status == SPFTREE_OK)
		r |= buf_printf(b, ": %u lookup%s (%u here)%s", n->total_terms,
		                n->total_terms == 1 ? "" : "s", n->own_terms,
		                n->macros ? ", more behind macros" : "");
	else
		r |= buf_printf(b, ": %s%s%s", spftree_status_name(n->status), n->error ? " " : "",
		                n->error ? n->error : "");
	if (n->own_void > 0)
		r |= buf_printf(b, ", %u void lookup%s", n->own_void, n->own_void == 1 ? "" : "s");
	r |= buf_putc(b, '\n');
	for (i = 0; i < n->nchild && r == 0; i++)
		r = spftree_fmt(b, n->child[i]);
	return r;
}

char *spftree_format(struct arena *a, const struct spftree_node *root)
{
	struct buf b;
	char *s = NULL;

	buf_init(&b, SPFTREE_FORMAT_CAP);
	if (spftree_fmt(&b, root) == 0 && b.len > 0)
		s = arena_strndup(a, b.data, b.len - 1);
	buf_free(&b);
	return s;
}

/* ---- the asynchronous driver ---------------------------------------- */

static void dc_spf_send(struct dc_ctx *c);

static void dc_spf_done(struct dc_ctx *c, const struct dns_answer *ans, void *arg)
{
	struct spftree_query *q = arg;

	spftree_answer(c->spf, q->name, q->type, ans);
	dc_spf_send(c);
}

static void dc_spf_send(struct dc_ctx *c)
{
	struct spftree_query *const *list;
	size_t i, n = spftree_queries(c->spf, &list);

	for (i = 0; i < n; i++) {
		if (list[i]->sent || list[i]->answered)
			continue;
		list[i]->sent = true;
		dc_lookup(c, list[i]->name, list[i]->type, dc_spf_done, list[i]);
	}
}

void dc_spf_start(struct dc_ctx *c)
{
	c->spf = spftree_new(c->a, c->domain);
	if (c->spf == NULL) {
		c->nomem = true;
		return;
	}
	dc_spf_send(c);
}

struct dc_spf_gw {
	struct dc_ctx *c;
	struct dc_gwaddr *g;
};

static void dc_spf_gw_done(const struct spf_outcome *o, void *arg)
{
	struct dc_spf_gw *w = arg;

	w->g->spf = o;
	dc_release(w->c);
}

/* dc_spf_gateway - check_host(gateway address, postmaster@domain) */
void dc_spf_gateway(struct dc_ctx *c, struct dc_gwaddr *g)
{
	struct spf_request req;
	struct dc_spf_gw *w = arena_alloc(c->a, sizeof(*w));

	if (w == NULL) {
		c->nomem = true;
		return;
	}
	w->c = c;
	w->g = g;
	memset(&req, 0, sizeof(req));
	req.ip = g->ip;
	req.mail_from = dc_str(c, "postmaster@%s", c->domain);
	req.helo = c->opt->gateway_hostname ? c->opt->gateway_hostname : c->domain;
	req.identity = SPF_ID_MAILFROM;
	if (req.mail_from == NULL)
		return;
	dc_hold(c);
	if (spf_check_start(c->dns, c->base, c->a, &req, NULL, dc_spf_gw_done, w) == NULL) {
		dc_release(c);
		c->nomem = true;
	}
}

/* ---- judging -------------------------------------------------------- */

struct dc_spf_walk {
	bool plus_all, ptr, macros, too_deep;
	const char *plus_all_at, *ptr_at;
};

/* dc_spf_walk - the include/redirect targets that fail, and what every
 * record of the tree holds */
static void dc_spf_walk(struct dc_ctx *c, const struct spftree_node *n, struct dc_spf_walk *w)
{
	const struct spf_record *rec = n->rec;
	size_t i;

	if (n->parent != NULL) {
		switch (n->status) {
		case SPFTREE_OK:
		case SPFTREE_PENDING:
			break;
		case SPFTREE_LOOP:
			dc_add(c, DC_AREA_SPF, DC_ERROR, "spf.include-loop",
			       dc_str(c, "remove the %s:%s term that leads back to %s", n->via,
			              n->name, n->name),
			       "%s:%s leads back to itself: receivers stop with permerror", n->via,
			       n->name);
			break;
		case SPFTREE_TOO_DEEP:
			w->too_deep = true;
			break;
		default:
			dc_add(c, DC_AREA_SPF, DC_ERROR, "spf.include-error",
			       dc_str(c, "remove %s:%s or fix the SPF record of %s", n->via,
			              n->name, n->name),
			       "%s:%s (in the record of %s): %s%s%s, so the whole record gives "
			       "permerror",
			       n->via, n->name, n->parent->name,
			       n->status == SPFTREE_NONE       ? "no SPF record"
			       : n->status == SPFTREE_NXDOMAIN ? "the name does not exist"
			       : n->status == SPFTREE_MULTIPLE ? "several SPF records"
			       : n->status == SPFTREE_SYNTAX   ? "syntax error"
			                                       : "the lookup failed",
			       n->error ? ": " : "", n->error ? n->error : "");
			break;
		}
	}
	if (n->macros)
		w->macros = true;
	if (rec != NULL && n->status == SPFTREE_OK)
		for (i = 0; i < rec->nterms; i++) {
			if (rec->terms[i].mech == SPF_MECH_ALL && rec->terms[i].qual == '+' &&
			    !w->plus_all) {
				w->plus_all = true;
				w->plus_all_at = n->name;
			}
			if (rec->terms[i].mech == SPF_MECH_PTR && !w->ptr) {
				w->ptr = true;
				w->ptr_at = n->name;
			}
		}
	for (i = 0; i < n->nchild; i++)
		dc_spf_walk(c, n->child[i], w);
}

static void dc_spf_gw_finish(struct dc_ctx *c)
{
	size_t i;

	for (i = 0; i < c->ngw; i++) {
		const struct dc_gwaddr *g = &c->gw[i];
		const struct spf_outcome *o = g->spf;
		if (o == NULL)
			continue;
		if (o->result == SPF_PASS)
			dc_add(c, DC_AREA_SPF, DC_OK, "spf.gateway", NULL,
			       "the gateway's address %s is authorised (pass by %s)", g->text,
			       o->mechanism ? o->mechanism : "?");
		else
			dc_add(
			    c, DC_AREA_SPF, DC_ERROR, "spf.gateway-unauthorised",
			    dc_str(c, "add ip%c:%s to the SPF record of %s (before the all term)",
			           g->ip.family == AF_INET ? '4' : '6', g->text, c->domain),
			    "the gateway's address %s is not authorised: mail it sends for %s gets "
			    "SPF %s%s%s",
			    g->text, c->domain, spf_result_name(o->result), o->problem ? " - " : "",
			    o->problem ? o->problem : "");
	}
}

void dc_spf_finish(struct dc_ctx *c)
{
	const struct spftree_node *root;
	struct dc_spf_walk w = { 0 };
	struct dc_finding *f;
	const struct spf_term *all = NULL;
	char *tree;
	size_t i;

	if (!dc_want(c, DC_AREA_SPF) || c->spf == NULL)
		return;
	root = spftree_root(c->spf);
	switch (root->status) {
	case SPFTREE_OK:
		break;
	case SPFTREE_NONE:
	case SPFTREE_NXDOMAIN:
		dc_add(c, DC_AREA_SPF, DC_ERROR, "spf.none",
		       dc_str(c,
		              "publish %s. TXT \"v=spf1 mx -all\" (list every host that sends "
		              "mail for the domain)",
		              c->domain),
		       "%s has no SPF record: receivers cannot tell forged mail from real",
		       c->domain);
		return;
	case SPFTREE_MULTIPLE:
		dc_add(c, DC_AREA_SPF, DC_ERROR, "spf.multiple",
		       "merge the v=spf1 records into one (RFC 7208 4.5)",
		       "%s has several v=spf1 records: receivers give permerror", c->domain);
		return;
	case SPFTREE_SYNTAX:
		dc_add(c, DC_AREA_SPF, DC_ERROR, "spf.syntax", "correct the record's syntax",
		       "the SPF record of %s does not parse (%s): receivers give permerror",
		       c->domain, root->error ? root->error : "?");
		return;
	default:
		dc_add(c, DC_AREA_SPF, DC_ERROR, "spf.dns",
		       "check the domain's name servers, then run this again",
		       "the SPF lookup for %s failed (%s)", c->domain,
		       root->error ? root->error : spftree_status_name(root->status));
		return;
	}
	dc_add(c, DC_AREA_SPF, DC_OK, "spf.ok", NULL, "SPF record: %s", root->record);
	dc_spf_walk(c, root, &w);
	tree = spftree_format(c->a, root);
	if (root->total_terms > SPF_DEFAULT_DNS_TERMS || w.too_deep)
		f = dc_add(c, DC_AREA_SPF, DC_ERROR, "spf.lookups-over",
		           "flatten includes into ip4:/ip6: terms or drop the ones not needed, "
		           "until at most 10 lookups are left",
		           "the record needs %s%u DNS lookups, more than the limit of %u: "
		           "receivers give permerror",
		           w.too_deep ? "at least " : "", root->total_terms, SPF_DEFAULT_DNS_TERMS);
	else if (root->total_terms >= SPF_DEFAULT_DNS_TERMS - 1)
		f = dc_add(c, DC_AREA_SPF, DC_WARN, "spf.lookups-near",
		           "make room before a provider's include grows: flatten an include or "
		           "drop a term",
		           "the record needs %u DNS lookups, close to the limit of %u",
		           root->total_terms, SPF_DEFAULT_DNS_TERMS);
	else
		f = dc_add(c, DC_AREA_SPF, DC_OK, "spf.lookups", NULL,
		           "the record needs %u DNS lookup%s (limit %u)", root->total_terms,
		           root->total_terms == 1 ? "" : "s", SPF_DEFAULT_DNS_TERMS);
	if (f != NULL)
		f->detail = tree;
	if (w.macros)
		dc_add(c, DC_AREA_SPF, DC_OK, "spf.macros", NULL,
		       "some terms use macros: their lookups depend on the sender and are not "
		       "counted");
	if (root->total_void > SPF_DEFAULT_VOID)
		dc_add(c, DC_AREA_SPF, DC_ERROR, "spf.void-over",
		       "remove the a:, mx: and exists: terms whose names do not exist or have no "
		       "records",
		       "%u lookups of the record find nothing (void), more than the limit of %u: "
		       "receivers give permerror",
		       root->total_void, SPF_DEFAULT_VOID);
	else if (root->total_void > 0)
		dc_add(c, DC_AREA_SPF, DC_WARN, "spf.void",
		       "remove the a:, mx: and exists: terms whose names do not exist or have no "
		       "records",
		       "%u lookup%s of the record find%s nothing (void lookups; the limit is %u)",
		       root->total_void, root->total_void == 1 ? "" : "s",
		       root->total_void == 1 ? "s" : "", SPF_DEFAULT_VOID);
	for (i = 0; i < root->rec->nterms; i++)
		if (root->rec->terms[i].mech == SPF_MECH_ALL)
			all = &root->rec->terms[i];
	if (w.plus_all)
		dc_add(c, DC_AREA_SPF, DC_ERROR, "spf.all-pass", "end the record with -all or ~all",
		       "the record of %s has +all: every host in the world may send as %s",
		       w.plus_all_at, c->domain);
	else if (all != NULL && all->qual == '?')
		dc_add(c, DC_AREA_SPF, DC_WARN, "spf.all-neutral",
		       "end the record with -all or ~all",
		       "the record ends with ?all: mail from other hosts is neutral, not failed");
	else if (all == NULL && root->rec->redirect == NULL)
		dc_add(c, DC_AREA_SPF, DC_WARN, "spf.no-all", "end the record with -all or ~all",
		       "the record has no all term and no redirect: other hosts get neutral");
	if (w.ptr)
		dc_add(c, DC_AREA_SPF, DC_WARN, "spf.ptr",
		       "replace ptr with ip4:/ip6: or a: terms (RFC 7208 5.5: do not use ptr)",
		       "the record of %s uses the ptr mechanism, which is slow, unreliable and "
		       "deprecated",
		       w.ptr_at);
	if (root->record_len > SPF_LINT_LONG)
		dc_add(c, DC_AREA_SPF, DC_WARN, "spf.long",
		       "shorten the record (move addresses into an include) so the answer fits "
		       "a 512-byte UDP packet",
		       "the record is %zu bytes long (RFC 7208 3.4 advises under 450)",
		       root->record_len);
	dc_spf_gw_finish(c);
}
