/*
 * dmarc - DMARC evaluation: step engine and async driver (see dmarc.h)
 *
 * The step engine replays the whole evaluation on every step against the
 * answers it has; a replay never changes what an earlier one decided, so
 * the queries it asks for only ever grow.  Names are normalised once, in
 * dmarc_eval_new(); answers are reduced on arrival to what DMARC needs
 * (status, the DMARC record and how many there were, whether any record
 * of the type exists) and the record is parsed then, once.
 */
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

#include "auth/dmarc.h"
#include "core/arena.h"
#include "core/orgdomain.h"
#include "core/stepjob.h"
#include "core/str.h"

/* per From domain: _dmarc at the domain, at its org domain, A, AAAA, MX */
#define DMARC_MAX_QUERIES (DMARC_MAX_FROM_DOMAINS * 5)
#define DMARC_NAME_BUF    (ORGDOMAIN_BUF + 8)

struct dmarc_ent {
	struct dmarc_query q;
	enum dns_status status;
	size_t ndmarc;      /* TXT: records starting with v=DMARC1 */
	const char *record; /* TXT: the first of them */
	struct dmarc_record rec;
	bool rec_ok; /* rec parsed and usable */
	size_t count;
};

struct dmarc_dom {
	const char *raw;  /* as given */
	const char *name; /* normalised; NULL when not a domain name */
	const char *org;  /* organisational domain, or name itself */
	bool sub;         /* name is below its organisational domain */
};

struct dmarc_adom {
	const char *name, *org; /* normalised; NULL when unusable */
	enum dkim_result result;
};

enum dmarc_class {
	DMARC_CLASS_FOUND,
	DMARC_CLASS_NONE,
	DMARC_CLASS_MULTI,
	DMARC_CLASS_TEMP,
};

struct dmarc_eval {
	struct arena *a;
	const struct orgdomain *psl;
	struct dmarc_dom dom[DMARC_MAX_FROM_DOMAINS];
	size_t ndom;
	bool too_many_from;
	struct dmarc_adom spf; /* name NULL: no SPF pass to align */
	struct dmarc_adom *dkim;
	size_t ndkim;
	unsigned sample;
	struct dmarc_ent ent[DMARC_MAX_QUERIES];
	size_t nent;
	struct dmarc_query *list[DMARC_MAX_QUERIES];
	bool waiting;
	bool done;
	const char *abort_why;
	struct dmarc_outcome out;
	struct dmarc_outcome per[DMARC_MAX_FROM_DOMAINS];
};

/* dmarc_norm - normalised name and org domain of s into the arena */
static int dmarc_norm(struct dmarc_eval *e, const char *s, const char **name, const char **org,
                      bool *sub)
{
	char n[ORGDOMAIN_BUF], o[ORGDOMAIN_BUF];
	bool has_org;

	*name = *org = NULL;
	if (sub != NULL)
		*sub = false;
	if (s == NULL || orgdomain_normalise(s, strlen(s), n, sizeof(n)) < 0)
		return 0;
	has_org = orgdomain_registrable(e->psl, n, o, sizeof(o)) == 0;
	*name = arena_strdup(e->a, n);
	*org = has_org ? arena_strdup(e->a, o) : *name;
	if (*name == NULL || *org == NULL)
		return -1;
	if (sub != NULL)
		*sub = has_org && strcmp(n, o) != 0;
	return 0;
}

struct dmarc_eval *dmarc_eval_new(struct arena *a, const struct dmarc_request *req)
{
	struct dmarc_eval *e = arena_zalloc(a, sizeof(*e));
	size_t i;

	if (e == NULL)
		return NULL;
	e->a = a;
	e->psl = req->psl != NULL ? req->psl : orgdomain_default();
	if (e->psl == NULL)
		return NULL;
	if (req->nfrom > DMARC_MAX_FROM_DOMAINS)
		e->too_many_from = true;
	for (i = 0; i < req->nfrom && i < DMARC_MAX_FROM_DOMAINS; i++) {
		struct dmarc_dom *d = &e->dom[e->ndom++];
		d->raw = arena_strdup(a, req->from_domains[i] ? req->from_domains[i] : "");
		if (d->raw == NULL || dmarc_norm(e, d->raw, &d->name, &d->org, &d->sub) < 0)
			return NULL;
	}
	if (req->spf == SPF_PASS &&
	    dmarc_norm(e, req->spf_domain, &e->spf.name, &e->spf.org, NULL) < 0)
		return NULL;
	if (req->ndkim > 0) {
		size_t n = req->ndkim < DMARC_MAX_DKIM ? req->ndkim : DMARC_MAX_DKIM;
		e->dkim = arena_array(a, n, sizeof(*e->dkim));
		if (e->dkim == NULL)
			return NULL;
		for (i = 0; i < n; i++) {
			e->dkim[i].result = req->dkim[i].result;
			if (req->dkim[i].result == DKIM_PASS &&
			    dmarc_norm(e, req->dkim[i].domain, &e->dkim[i].name, &e->dkim[i].org,
			               NULL) < 0)
				return NULL;
		}
		e->ndkim = n;
	}
	if (req->sample >= 0) {
		e->sample = (unsigned)req->sample % 100;
	} else {
		unsigned r = 0;
		/* without randomness the policy applies in full */
		if (getrandom(&r, sizeof(r), 0) != (ssize_t)sizeof(r))
			r = 0;
		e->sample = r % 100;
	}
	return e;
}

/* dmarc_want - the entry of (name, type), added when new; marks waiting */
static struct dmarc_ent *dmarc_want(struct dmarc_eval *e, const char *name, enum dns_type type,
                                    bool needed)
{
	struct dmarc_ent *t;
	size_t i;

	for (i = 0; i < e->nent; i++) {
		t = &e->ent[i];
		if (t->q.type == type && str_casecmp(t->q.name, name) == 0)
			goto found;
	}
	if (e->nent >= DMARC_MAX_QUERIES)
		return NULL; /* cannot happen: the caps above bound the queries */
	t = &e->ent[e->nent];
	memset(t, 0, sizeof(*t));
	t->q.name = arena_strdup(e->a, name);
	if (t->q.name == NULL)
		return NULL;
	t->q.type = type;
	e->nent++;
found:
	if (needed)
		t->q.needed = true;
	if (t->q.needed && !t->q.answered)
		e->waiting = true;
	return t;
}

static enum dmarc_class dmarc_classify(const struct dmarc_ent *t)
{
	switch (t->status) {
	case DNS_OK:
		if (t->ndmarc > 1)
			return DMARC_CLASS_MULTI;
		return t->ndmarc == 1 ? DMARC_CLASS_FOUND : DMARC_CLASS_NONE;
	case DNS_NXDOMAIN:
	case DNS_NODATA:
	case DNS_BADNAME:
		return DMARC_CLASS_NONE;
	default:
		return DMARC_CLASS_TEMP;
	}
}

static enum dmarc_policy dmarc_lower(enum dmarc_policy p)
{
	return p == DMARC_POLICY_REJECT ? DMARC_POLICY_QUARANTINE : DMARC_POLICY_NONE;
}

static bool dmarc_align_pair(const struct dmarc_dom *d, const struct dmarc_adom *x,
                             enum dmarc_align mode)
{
	if (x->name == NULL)
		return false;
	if (mode == DMARC_ALIGN_STRICT)
		return strcmp(d->name, x->name) == 0;
	return strcmp(d->org, x->org) == 0;
}

/* dmarc_exists - the np= test; -1 while answers are missing */
static int dmarc_exists(struct dmarc_eval *e, const char *name, bool *failed)
{
	static const enum dns_type types[] = { DNS_T_A, DNS_T_AAAA, DNS_T_MX };
	struct dmarc_ent *t[3];
	bool exists = false;
	size_t i;

	*failed = false;
	for (i = 0; i < 3; i++) {
		t[i] = dmarc_want(e, name, types[i], true);
		if (t[i] == NULL)
			return 1;
	}
	for (i = 0; i < 3; i++)
		if (!t[i]->q.answered)
			return -1;
	for (i = 0; i < 3; i++) {
		if (t[i]->status == DNS_OK)
			exists = true;
		else if (t[i]->status != DNS_NXDOMAIN && t[i]->status != DNS_NODATA)
			*failed = true;
	}
	return exists || *failed ? 1 : 0;
}

/* dmarc_domain - evaluate one From domain into o; false while waiting */
static bool dmarc_domain(struct dmarc_eval *e, const struct dmarc_dom *d, struct dmarc_outcome *o)
{
	char name[DMARC_NAME_BUF], oname[DMARC_NAME_BUF];
	struct dmarc_ent *own, *org = NULL, *src;
	enum dmarc_class c;
	const char *why, *aspf, *adkim;
	size_t i;

	memset(o, 0, sizeof(*o));
	o->sample = e->sample;
	o->from_domain = d->name != NULL ? d->name : d->raw;
	o->org_domain = d->org;
	if (d->name == NULL) {
		o->result = DMARC_RESULT_PERMERROR;
		o->reason = "the From domain is not a valid domain name";
		return true;
	}
	snprintf(name, sizeof(name), "_dmarc.%s", d->name);
	own = dmarc_want(e, name, DNS_T_TXT, true);
	if (d->sub) {
		snprintf(oname, sizeof(oname), "_dmarc.%s", d->org);
		org = dmarc_want(e, oname, DNS_T_TXT, false); /* asked ahead */
	}
	if (own == NULL || (d->sub && org == NULL)) {
		o->result = DMARC_RESULT_TEMPERROR;
		o->reason = "out of memory";
		return true;
	}
	if (!own->q.answered)
		return false;
	src = own;
	c = dmarc_classify(own);
	if (c == DMARC_CLASS_NONE && d->sub) {
		org = dmarc_want(e, oname, DNS_T_TXT, true);
		if (!org->q.answered)
			return false;
		src = org;
		c = dmarc_classify(org);
	}
	switch (c) {
	case DMARC_CLASS_TEMP:
		o->result = DMARC_RESULT_TEMPERROR;
		o->reason = arena_printf(
		    e->a, "DNS %s looking up %s%s%s", dns_status_name(src->status), src->q.name,
		    e->abort_why ? ": " : "", e->abort_why ? e->abort_why : "");
		return true;
	case DMARC_CLASS_MULTI:
		o->result = DMARC_RESULT_PERMERROR;
		o->reason = arena_printf(e->a, "%zu DMARC records at %s: none applies", src->ndmarc,
		                         src->q.name);
		return true;
	case DMARC_CLASS_NONE:
		o->result = DMARC_RESULT_NONE;
		o->reason = d->sub ? arena_printf(e->a, "no DMARC record at %s nor %s", name, oname)
		                   : arena_printf(e->a, "no DMARC record at %s", name);
		return true;
	case DMARC_CLASS_FOUND:
		break;
	}
	o->record_domain = src == own ? d->name : d->org;
	o->record = src->record;
	o->rec = src->rec;
	if (!src->rec_ok) {
		o->result = DMARC_RESULT_NONE;
		o->reason = arena_printf(e->a, "unusable DMARC record at %s (%s%s%s): not applied",
		                         src->q.name, dmarc_record_status_name(src->rec.status),
		                         src->rec.bad_tag ? " " : "",
		                         src->rec.bad_tag ? src->rec.bad_tag : "");
		return true;
	}
	/* alignment */
	o->spf_aligned = dmarc_align_pair(d, &e->spf, o->rec.aspf);
	for (i = 0; i < e->ndkim; i++)
		if (e->dkim[i].result == DKIM_PASS &&
		    dmarc_align_pair(d, &e->dkim[i], o->rec.adkim)) {
			o->dkim_aligned = true;
			o->dkim_domain = e->dkim[i].name;
			break;
		}
	/* the policy for this domain */
	if (src == own) {
		o->policy = o->rec.p;
		o->policy_tag = "p";
	} else {
		o->policy = o->rec.sp;
		o->policy_tag = o->rec.has_sp ? "sp" : "p";
	}
	aspf = o->rec.aspf == DMARC_ALIGN_STRICT ? "s" : "r";
	adkim = o->rec.adkim == DMARC_ALIGN_STRICT ? "s" : "r";
	if (o->spf_aligned || o->dkim_aligned) {
		o->result = DMARC_RESULT_PASS;
		o->disposition = DMARC_POLICY_NONE;
		if (o->spf_aligned && o->dkim_aligned)
			o->reason = arena_printf(
			    e->a, "SPF (%s, aspf=%s) and DKIM (d=%s, adkim=%s) aligned",
			    e->spf.name, aspf, o->dkim_domain, adkim);
		else if (o->spf_aligned)
			o->reason =
			    arena_printf(e->a, "SPF pass aligned: %s (aspf=%s)", e->spf.name, aspf);
		else
			o->reason = arena_printf(e->a, "DKIM pass aligned: d=%s (adkim=%s)",
			                         o->dkim_domain, adkim);
		return true;
	}
	if (src != own && o->rec.has_np) {
		bool failed;
		int rc = dmarc_exists(e, d->name, &failed);
		if (rc < 0)
			return false;
		if (rc == 0) {
			o->nonexistent = true;
			o->policy = o->rec.np;
			o->policy_tag = "np";
		}
	}
	o->result = DMARC_RESULT_FAIL;
	o->disposition = o->policy;
	why = "";
	if (o->rec.t) {
		o->sampled_out = true;
		why = "t=y (testing)";
	} else if (o->sample >= o->rec.pct) {
		o->sampled_out = true;
		why = arena_printf(e->a, "sampled out (pct=%u, sample %u)", o->rec.pct, o->sample);
	}
	if (o->sampled_out)
		o->disposition = dmarc_lower(o->policy);
	o->reason = arena_printf(
	    e->a, "no aligned SPF (aspf=%s%s%s) or DKIM (adkim=%s) pass for %s; %s=%s%s%s%s%s",
	    aspf, e->spf.name ? ", spf " : "", e->spf.name ? e->spf.name : "", adkim, d->name,
	    o->policy_tag, dmarc_policy_name(o->policy),
	    o->nonexistent ? " (non-existent domain)" : "", o->sampled_out ? ", " : "", why,
	    o->sampled_out ? arena_printf(e->a, ": %s applied", dmarc_policy_name(o->disposition))
	                   : "");
	if (o->reason == NULL)
		o->reason = "fail";
	return true;
}

/* dmarc_rank - order of results on a disposition tie: worse is higher */
static int dmarc_rank(enum dmarc_result r)
{
	switch (r) {
	case DMARC_RESULT_PASS:
		return 0;
	case DMARC_RESULT_NONE:
		return 1;
	case DMARC_RESULT_PERMERROR:
		return 2;
	case DMARC_RESULT_TEMPERROR:
		return 3;
	case DMARC_RESULT_FAIL:
		return 4;
	}
	return 0;
}

enum dmarc_step dmarc_eval_step(struct dmarc_eval *e)
{
	size_t i, best = 0;
	bool all = true;

	if (e->done)
		return DMARC_STEP_DONE;
	e->waiting = false;
	memset(&e->out, 0, sizeof(e->out));
	if (e->ndom == 0 || e->too_many_from) {
		e->out.result = DMARC_RESULT_PERMERROR;
		e->out.from_domain = "";
		e->out.reason = e->ndom == 0 ? "no From domain" : "too many From domains";
		e->out.sample = e->sample;
		e->done = true;
		return DMARC_STEP_DONE;
	}
	for (i = 0; i < e->ndom; i++)
		if (!dmarc_domain(e, &e->dom[i], &e->per[i]))
			all = false;
	if (!all && e->waiting)
		return DMARC_STEP_NEED_DNS;
	for (i = 1; i < e->ndom; i++) {
		const struct dmarc_outcome *b = &e->per[best], *x = &e->per[i];
		if (x->disposition > b->disposition ||
		    (x->disposition == b->disposition &&
		     dmarc_rank(x->result) > dmarc_rank(b->result)))
			best = i;
	}
	e->out = e->per[best];
	if (e->ndom > 1) {
		e->out.per_domain = e->per;
		e->out.nper_domain = e->ndom;
	}
	e->done = true;
	return DMARC_STEP_DONE;
}

size_t dmarc_eval_queries(struct dmarc_eval *e, struct dmarc_query *const **list)
{
	size_t i, n = 0, pass;

	/* unanswered needed ones first, then the rest */
	for (pass = 0; pass < 3; pass++)
		for (i = 0; i < e->nent; i++) {
			struct dmarc_query *q = &e->ent[i].q;
			size_t which = !q->answered && q->needed ? 0 : !q->answered ? 1 : 2;
			if (which == pass)
				e->list[n++] = q;
		}
	*list = e->list;
	return n;
}

bool dmarc_eval_waiting(const struct dmarc_eval *e)
{
	size_t i;

	for (i = 0; i < e->nent; i++)
		if (e->ent[i].q.needed && !e->ent[i].q.answered)
			return true;
	return false;
}

int dmarc_eval_answer(struct dmarc_eval *e, const char *name, enum dns_type type,
                      const struct dns_answer *ans)
{
	struct dmarc_ent *t = NULL;
	size_t i;

	for (i = 0; i < e->nent; i++)
		if (e->ent[i].q.type == type && str_casecmp(e->ent[i].q.name, name) == 0) {
			t = &e->ent[i];
			break;
		}
	if (t == NULL || t->q.answered)
		return -1;
	t->q.answered = true;
	t->status = ans != NULL ? ans->status : DNS_SERVFAIL;
	if (t->status != DNS_OK)
		return 0;
	for (i = 0; i < ans->count; i++) {
		const struct dns_rr *rr = &ans->rr[i];
		if (rr->type != type)
			continue;
		t->count++;
		if (type != DNS_T_TXT || !dmarc_record_is_dmarc(rr->u.txt.data, rr->u.txt.len))
			continue;
		if (t->ndmarc++ > 0)
			continue;
		t->record = arena_strndup(e->a, rr->u.txt.data, rr->u.txt.len);
		if (t->record == NULL) {
			t->status = DNS_NOMEM;
			return -1;
		}
		t->rec_ok = dmarc_record_parse(e->a, rr->u.txt.data, rr->u.txt.len, &t->rec) == 0;
	}
	if (t->count == 0)
		t->status = DNS_NODATA;
	return 0;
}

void dmarc_eval_abort(struct dmarc_eval *e, const char *why)
{
	size_t i;

	e->abort_why = why != NULL ? why : "evaluation stopped";
	for (i = 0; i < e->nent; i++)
		if (!e->ent[i].q.answered) {
			e->ent[i].q.answered = true;
			e->ent[i].status = DNS_TIMEOUT;
		}
	/* with every query answered, the step finishes; a query it adds now
	 * (a later stage of discovery) is answered timed out in turn */
	while (dmarc_eval_step(e) != DMARC_STEP_DONE)
		for (i = 0; i < e->nent; i++)
			if (!e->ent[i].q.answered) {
				e->ent[i].q.answered = true;
				e->ent[i].status = DNS_TIMEOUT;
			}
}

const struct dmarc_outcome *dmarc_eval_outcome(const struct dmarc_eval *e)
{
	return &e->out;
}

/* ---------------------------------------------------------- helpers */

/* dmarc_trim_dots - s without leading and trailing dots, into out */
static const char *dmarc_trim_dots(const char *s, char *out, size_t outsize)
{
	size_t n;

	while (*s == '.')
		s++;
	n = strlen(s);
	while (n > 0 && s[n - 1] == '.')
		n--;
	if (n >= outsize)
		return NULL;
	memcpy(out, s, n);
	out[n] = '\0';
	return out;
}

bool dmarc_aligned(const struct orgdomain *psl, const char *from, const char *auth,
                   enum dmarc_align mode)
{
	char f[1024], x[1024], nf[ORGDOMAIN_BUF], nx[ORGDOMAIN_BUF];

	if (from == NULL || auth == NULL)
		return false;
	if (psl == NULL)
		psl = orgdomain_default();
	if (dmarc_trim_dots(from, f, sizeof(f)) == NULL ||
	    dmarc_trim_dots(auth, x, sizeof(x)) == NULL ||
	    orgdomain_normalise(f, strlen(f), nf, sizeof(nf)) < 0 ||
	    orgdomain_normalise(x, strlen(x), nx, sizeof(nx)) < 0)
		return false;
	if (mode == DMARC_ALIGN_STRICT)
		return strcmp(nf, nx) == 0;
	return orgdomain_same(psl, nf, nx);
}

const char *dmarc_spf_domain(const char *mail_from, const char *helo)
{
	const char *at;

	if (mail_from != NULL && (at = strrchr(mail_from, '@')) != NULL && at[1] != '\0')
		return at + 1;
	return helo;
}

static const char *const dmarc_result_names[] = {
	[DMARC_RESULT_NONE] = "none",           [DMARC_RESULT_PASS] = "pass",
	[DMARC_RESULT_FAIL] = "fail",           [DMARC_RESULT_TEMPERROR] = "temperror",
	[DMARC_RESULT_PERMERROR] = "permerror",
};

const char *dmarc_result_name(enum dmarc_result r)
{
	if ((size_t)r < sizeof(dmarc_result_names) / sizeof(dmarc_result_names[0]))
		return dmarc_result_names[r];
	return "unknown";
}

int dmarc_result_parse(const char *s, enum dmarc_result *out)
{
	size_t i;

	for (i = 0; s != NULL && i < sizeof(dmarc_result_names) / sizeof(dmarc_result_names[0]);
	     i++)
		if (str_casecmp(s, dmarc_result_names[i]) == 0) {
			*out = (enum dmarc_result)i;
			return 0;
		}
	return -1;
}

char *dmarc_authres(struct arena *a, const struct dmarc_outcome *o)
{
	if (o->record == NULL || !o->rec.usable)
		return arena_printf(a, "dmarc=%s header.from=%s", dmarc_result_name(o->result),
		                    o->from_domain);
	return arena_printf(a, "dmarc=%s (p=%s sp=%s dis=%s) header.from=%s",
	                    dmarc_result_name(o->result), dmarc_policy_name(o->rec.p),
	                    dmarc_policy_name(o->rec.sp), dmarc_policy_name(o->disposition),
	                    o->from_domain);
}

/* ---------------------------------------------------------- async driver */

/* the engine side of core/stepjob.h */
struct dmarc_check {
	struct dmarc_eval *e;
	struct stepjob *job;
	struct dmarc_query *const *list; /* from the last dmarc_check_queries() */
	dmarc_check_cb cb;
	void *arg;
};

static bool dmarc_check_step(void *engine)
{
	struct dmarc_check *c = engine;

	return dmarc_eval_step(c->e) == DMARC_STEP_DONE;
}

static size_t dmarc_check_queries(void *engine)
{
	struct dmarc_check *c = engine;

	return dmarc_eval_queries(c->e, &c->list);
}

static bool dmarc_check_take(void *engine, size_t i, struct stepjob_query *sq)
{
	struct dmarc_check *c = engine;
	struct dmarc_query *q = c->list[i];

	if (q->sent || q->answered)
		return false;
	q->sent = true;
	sq->name = q->name;
	sq->type = q->type;
	sq->slot = q;
	return true;
}

static bool dmarc_check_waiting(void *engine)
{
	struct dmarc_check *c = engine;

	return dmarc_eval_waiting(c->e);
}

static void dmarc_check_answer(void *engine, void *slot, const struct dns_answer *ans)
{
	struct dmarc_check *c = engine;
	struct dmarc_query *q = slot;

	dmarc_eval_answer(c->e, q->name, q->type, ans);
}

static void dmarc_check_abort(void *engine)
{
	struct dmarc_check *c = engine;

	dmarc_eval_abort(c->e, "DMARC evaluation took too long");
}

static void dmarc_check_finished(void *engine)
{
	struct dmarc_check *c = engine;

	c->cb(dmarc_eval_outcome(c->e), c->arg); /* may free the arena */
}

static const struct stepjob_ops dmarc_check_ops = {
	.step = dmarc_check_step,
	.queries = dmarc_check_queries,
	.take = dmarc_check_take,
	.waiting = dmarc_check_waiting,
	.answer = dmarc_check_answer,
	.abort = dmarc_check_abort,
	.finished = dmarc_check_finished,
};

struct dmarc_check *dmarc_check_start(struct dns *dns, struct event_base *base, struct arena *a,
                                      const struct dmarc_request *req, dmarc_check_cb cb, void *arg)
{
	struct dmarc_check *c = arena_zalloc(a, sizeof(*c));
	unsigned ms = req->timeout_ms > 0 ? req->timeout_ms : DMARC_DEFAULT_TIMEOUT_MS;

	if (c == NULL)
		return NULL;
	c->cb = cb;
	c->arg = arg;
	c->e = dmarc_eval_new(a, req);
	if (c->e == NULL)
		return NULL;
	c->job = stepjob_start(dns, base, a, c, &dmarc_check_ops, ms, 0);
	return c->job != NULL ? c : NULL;
}

void dmarc_check_cancel(struct dmarc_check *c)
{
	if (c != NULL)
		stepjob_cancel(c->job);
}
