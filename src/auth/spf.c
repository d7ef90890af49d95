/*
 * spf - check_host() of RFC 7208 as a replayable step engine, its
 * asynchronous driver, and the Received-SPF / Authentication-Results
 * formatters (see spf.h)
 *
 * Replay: every step runs check_host() from the top against the answer
 * cache.  A lookup whose answer is missing registers the query and makes
 * the step return "need DNS"; nothing else is remembered between steps
 * except the answers (and the records parsed from them), so the limit
 * counters start from zero in each replay and count exactly what a
 * sequential evaluation would.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "auth/spf.h"
#include "auth/spf_macro.h"
#include "auth/spf_record.h"
#include "core/arena.h"
#include "core/buf.h"
#include "core/stepjob.h"
#include "core/str.h"

#define R_NEED 100 /* internal check_host() result: waiting for DNS */

enum rc {
	RC_NOMATCH,
	RC_MATCH,
	RC_NEED,
	RC_TEMP,
	RC_PERM,
};

struct entry {
	struct spf_query q; /* first: spf_eval_queries() hands out &entry->q */
	uint64_t hash;
	bool counted; /* counts against limits.queries */
	const struct dns_answer *ans;
	int nspf; /* TXT: SPF records in the answer; -1 before selection */
	struct spf_record *rec;
};

struct spf_eval {
	struct arena *a;
	struct spf_limits lim;
	struct net_addr ip;
	struct spf_macro_vars vars;
	const char *domain; /* the domain of the identity, normalized */
	char rev[80];       /* reverse-lookup name of ip */
	enum dns_type atype;
	bool done;
	bool in_exp; /* check_host() is complete; only exp= is left */
	struct spf_outcome out;

	struct entry **ents;
	size_t nents, cap;
	unsigned counted, prefetched;
	struct spf_query **pending;
	size_t npending;
	bool waiting;

	/* replay state, reset by every step */
	unsigned dns_terms, voids;
	const struct spf_term *match_term;
	const struct spf_record *exp_rec;
	const char *exp_domain;
	enum spf_result result;
	const char *explanation;
	/* text buffers last: spf_eval_new() zeroes only what comes before them */
	char problem[400];
	char pbuf[DNS_NAME_MAX + 1];
	char scratch[SPF_MACRO_OUT_MAX];
};

static const struct dns_answer nomem_answer = { .status = DNS_NOMEM, .why = "out of memory" };

void spf_limits_default(struct spf_limits *l)
{
	l->dns_terms = SPF_DEFAULT_DNS_TERMS;
	l->void_lookups = SPF_DEFAULT_VOID;
	l->mx_names = SPF_DEFAULT_MX_NAMES;
	l->ptr_names = SPF_DEFAULT_PTR_NAMES;
	l->queries = SPF_DEFAULT_QUERIES;
	l->depth = SPF_DEFAULT_DEPTH;
	l->timeout_ms = SPF_DEFAULT_TIMEOUT_MS;
	l->prefetch = SPF_DEFAULT_PREFETCH;
}

/* ---------------------------------------------------------------- helpers */

static void problem(struct spf_eval *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* problem - record why evaluation failed; the first (innermost) cause wins */
static void problem(struct spf_eval *e, const char *fmt, ...)
{
	va_list ap;
	size_t i;

	if (e->problem[0] != '\0')
		return;
	va_start(ap, fmt);
	vsnprintf(e->problem, sizeof(e->problem), fmt, ap);
	va_end(ap);
	/* names and record text may carry any byte: keep the message printable */
	for (i = 0; e->problem[i] != '\0'; i++)
		if ((unsigned char)e->problem[i] < 0x20 || (unsigned char)e->problem[i] >= 0x7f)
			e->problem[i] = '?';
}

/* name_ok - a name we can query: 1..253 characters, labels of 1..63 */
static bool name_ok(const char *n)
{
	size_t len = strlen(n), label = 0, i;

	if (len == 0 || len > DNS_NAME_MAX)
		return false;
	for (i = 0; i < len; i++) {
		if (n[i] == '.') {
			if (label == 0)
				return false;
			label = 0;
		} else if (++label > DNS_LABEL_MAX) {
			return false;
		}
	}
	return label > 0;
}

/* name_under - name equals domain or is a subdomain of it */
static bool name_under(const char *name, const char *domain)
{
	size_t n = strlen(name), d = strlen(domain);

	if (n == d)
		return str_casecmp(name, domain) == 0;
	return n > d && name[n - d - 1] == '.' && str_casecmp(name + n - d, domain) == 0;
}

static bool answer_has_addr(const struct dns_answer *ans, const struct net_addr *ip,
                            unsigned prefix)
{
	struct net_addr a;
	size_t i;

	for (i = 0; i < ans->count; i++) {
		const struct dns_rr *rr = &ans->rr[i];
		memset(&a, 0, sizeof(a));
		if (rr->type == DNS_T_A) {
			a.family = AF_INET;
			memcpy(a.bytes, rr->u.a, 4);
		} else if (rr->type == DNS_T_AAAA) {
			a.family = AF_INET6;
			memcpy(a.bytes, rr->u.aaaa, 16);
		} else {
			continue;
		}
		if (net_addr_match(ip, &a, prefix))
			return true;
	}
	return false;
}

static size_t answer_count(const struct dns_answer *ans, enum dns_type type)
{
	size_t i, n = 0;

	if (ans->status != DNS_OK)
		return 0;
	for (i = 0; i < ans->count; i++)
		n += ans->rr[i].type == type;
	return n;
}

static struct entry *find(struct spf_eval *e, const char *name, enum dns_type type, uint64_t h)
{
	size_t i;

	for (i = 0; i < e->nents; i++) {
		struct entry *x = e->ents[i];
		if (x->hash == h && x->q.type == type && str_casecmp(x->q.name, name) == 0)
			return x;
	}
	return NULL;
}

static struct entry *add(struct spf_eval *e, const char *name, enum dns_type type, uint64_t h)
{
	struct entry *x;

	if (e->nents == e->cap)
		return NULL;
	x = arena_zalloc(e->a, sizeof(*x));
	if (x == NULL || (x->q.name = arena_strdup(e->a, name)) == NULL)
		return NULL;
	x->q.type = type;
	x->hash = h;
	x->nspf = -1;
	e->ents[e->nents++] = x;
	return x;
}

/*
 * want - the answer to (name, type): RC_MATCH when it is there, RC_NEED
 * when the query is registered and unanswered, RC_PERM when the query cap
 * is reached, RC_TEMP when memory runs out.
 */
static enum rc want(struct spf_eval *e, const char *name, enum dns_type type, struct entry **out)
{
	uint64_t h = str_case_hash(name, strlen(name)) ^ (uint64_t)type;
	struct entry *x = find(e, name, type, h);

	*out = NULL;
	if (x == NULL || !x->counted) {
		if (e->counted >= e->lim.queries) {
			problem(e, "more than %u DNS queries (looking up %s %s)", e->lim.queries,
			        dns_type_name(type) ? dns_type_name(type) : "?", name);
			return RC_PERM;
		}
		if (x == NULL && (x = add(e, name, type, h)) == NULL) {
			problem(e, "out of memory");
			return RC_TEMP;
		}
		x->counted = true;
		e->counted++;
	}
	x->q.needed = true;
	*out = x;
	if (x->ans == NULL) {
		e->waiting = true;
		return RC_NEED;
	}
	return RC_MATCH;
}

/* prefetch - ask early for the record of a literal include:/redirect= target */
static void prefetch(struct spf_eval *e, const char *spec, size_t len, bool macros)
{
	char name[DNS_NAME_MAX + 2];
	uint64_t h;

	if (macros || e->prefetched >= e->lim.prefetch || len == 0 || len > DNS_NAME_MAX + 1)
		return;
	memcpy(name, spec, len);
	if (name[len - 1] == '.')
		len--;
	name[len] = '\0';
	if (!name_ok(name))
		return;
	h = str_case_hash(name, len) ^ (uint64_t)DNS_T_TXT;
	if (find(e, name, DNS_T_TXT, h) != NULL || e->nents >= e->cap)
		return;
	if (add(e, name, DNS_T_TXT, h) != NULL)
		e->prefetched++;
}

/* record - select and parse the SPF record of a TXT answer, once */
static void record(struct spf_eval *e, struct entry *x)
{
	const char *text;
	size_t len, i;

	if (x->nspf >= 0)
		return;
	x->nspf = (int)spf_record_select(x->ans, &text, &len);
	if (x->nspf != 1)
		return;
	x->rec = spf_record_parse(e->a, text, len);
	if (x->rec == NULL) {
		x->nspf = -1; /* out of memory: try again next step */
		return;
	}
	if (x->rec->error != NULL || e->lim.prefetch == 0)
		return;
	for (i = 0; i < x->rec->nterms; i++) {
		const struct spf_term *t = &x->rec->terms[i];
		if (t->mech == SPF_MECH_INCLUDE)
			prefetch(e, t->domain, t->domain_len, t->domain_macros);
	}
	if (x->rec->redirect != NULL)
		prefetch(e, x->rec->redirect, x->rec->redirect_len, x->rec->redirect_macros);
}

/*
 * resolve_p - the validated name of the client for %{p} (RFC 7208 7.3):
 * PTR names (at most ptr_names) whose addresses include the client;
 * preferring <domain> itself, then a subdomain of it; else "unknown".
 */
static enum rc resolve_p(struct spf_eval *e, const char *domain)
{
	const char *exact = NULL, *sub = NULL, *any = NULL, *pick;
	struct entry *x, *h;
	bool waiting = false;
	size_t i, used = 0;
	enum rc rc;

	rc = want(e, e->rev, DNS_T_PTR, &x);
	if (rc != RC_MATCH)
		return rc;
	for (i = 0; x->ans->status == DNS_OK && i < x->ans->count && used < e->lim.ptr_names; i++) {
		const char *name = x->ans->rr[i].u.name;
		if (x->ans->rr[i].type != DNS_T_PTR)
			continue;
		used++;
		if (!name_ok(name))
			continue;
		rc = want(e, name, e->atype, &h);
		if (rc == RC_NEED) {
			waiting = true;
			continue;
		}
		if (rc != RC_MATCH)
			return rc;
		if (waiting || h->ans->status != DNS_OK || !answer_has_addr(h->ans, &e->ip, 128))
			continue;
		if (exact == NULL && str_casecmp(name, domain) == 0)
			exact = name;
		else if (sub == NULL && name_under(name, domain))
			sub = name;
		else if (any == NULL)
			any = name;
	}
	if (waiting)
		return RC_NEED;
	pick = exact ? exact : sub ? sub : any ? any : "unknown";
	snprintf(e->pbuf, sizeof(e->pbuf), "%s", pick);
	e->vars.p = e->pbuf;
	return RC_MATCH;
}

/*
 * expand - expand a domain-spec (or explanation with SPF_MACRO_EXP) in
 * the context of domain into e->scratch; resolves %{p} when needed.
 */
static enum rc expand(struct spf_eval *e, const char *spec, size_t len, const char *domain,
                      unsigned flags, size_t *outlen)
{
	char why[200];
	int rc;

	e->vars.d = domain;
	e->vars.p = NULL;
	rc = spf_macro_expand(&e->vars, spec, len, flags, e->scratch, sizeof(e->scratch), outlen,
	                      why, sizeof(why));
	if (rc == SPF_MACRO_NEED_P) {
		enum rc prc = resolve_p(e, domain);
		if (prc != RC_MATCH)
			return prc;
		rc = spf_macro_expand(&e->vars, spec, len, flags, e->scratch, sizeof(e->scratch),
		                      outlen, why, sizeof(why));
	}
	e->vars.p = NULL;
	if (rc != SPF_MACRO_OK) {
		problem(e, "'%.*s': %s", len > 100 ? 100 : (int)len, spec, why);
		return RC_PERM;
	}
	return RC_MATCH;
}

/* target - the name a term works on: its domain-spec expanded, or domain */
static enum rc target(struct spf_eval *e, const char *spec, size_t len, const char *domain,
                      char out[DNS_NAME_MAX + 1])
{
	size_t n;
	enum rc rc;

	if (spec == NULL) {
		/* the current domain is a checked name: at most 253 bytes */
		size_t dl = strlen(domain);
		if (dl > DNS_NAME_MAX)
			dl = DNS_NAME_MAX;
		memcpy(out, domain, dl);
		out[dl] = '\0';
		return RC_MATCH;
	}
	rc = expand(e, spec, len, domain, SPF_MACRO_DOMAIN, &n);
	if (rc != RC_MATCH)
		return rc;
	memcpy(out, e->scratch, n + 1); /* n <= 253 after the 7.3 truncation */
	return RC_MATCH;
}

static enum rc count_term(struct spf_eval *e, const struct spf_term *t, const char *redirect)
{
	if (++e->dns_terms <= e->lim.dns_terms)
		return RC_MATCH;
	problem(e,
	        "more than %u DNS-querying terms (include a mx ptr exists redirect); the "
	        "limit was hit at '%s%s'",
	        e->lim.dns_terms, t ? t->text : "redirect=", t ? "" : redirect);
	return RC_PERM;
}

static enum rc void_lookup(struct spf_eval *e, const char *name, enum dns_type type)
{
	if (++e->voids <= e->lim.void_lookups)
		return RC_NOMATCH;
	problem(e, "more than %u void lookups (the last: %s %s)", e->lim.void_lookups,
	        dns_type_name(type), name);
	return RC_PERM;
}

static enum rc dns_error(struct spf_eval *e, const struct entry *x, const char *what)
{
	problem(e, "DNS %s looking up %s %s%s%s", dns_status_name(x->ans->status),
	        dns_type_name(x->q.type), x->q.name, what ? " " : "", what ? what : "");
	return RC_TEMP;
}

/* ----------------------------------------------------------- mechanisms */

static int check_host(struct spf_eval *e, const char *domain, unsigned depth);

static enum rc mech_a(struct spf_eval *e, const struct spf_term *t, const char *name)
{
	struct entry *x;
	enum rc rc = want(e, name, e->atype, &x);

	if (rc != RC_MATCH)
		return rc;
	switch (x->ans->status) {
	case DNS_OK:
		if (answer_count(x->ans, e->atype) == 0)
			return void_lookup(e, name, e->atype);
		return answer_has_addr(x->ans, &e->ip,
		                       e->ip.family == AF_INET ? t->cidr4 : t->cidr6)
		           ? RC_MATCH
		           : RC_NOMATCH;
	case DNS_NXDOMAIN:
	case DNS_NODATA:
		return void_lookup(e, name, e->atype);
	case DNS_BADNAME:
		return RC_NOMATCH;
	default:
		return dns_error(e, x, NULL);
	}
}

/* mx_next - the MX record after rr[last] in (preference, position) order;
 * last SIZE_MAX gives the first.  SIZE_MAX when there is none. */
static size_t mx_next(const struct dns_answer *ans, size_t last)
{
	size_t i, best = SIZE_MAX;
	unsigned lp = last == SIZE_MAX ? 0 : ans->rr[last].u.mx.preference;

	for (i = 0; i < ans->count; i++) {
		unsigned p = ans->rr[i].u.mx.preference;
		if (ans->rr[i].type != DNS_T_MX)
			continue;
		if (last != SIZE_MAX && (p < lp || (p == lp && i <= last)))
			continue;
		if (best == SIZE_MAX || p < ans->rr[best].u.mx.preference)
			best = i;
	}
	return best;
}

static enum rc mech_mx(struct spf_eval *e, const struct spf_term *t, const char *name)
{
	unsigned prefix = e->ip.family == AF_INET ? t->cidr4 : t->cidr6;
	struct entry *x, *h;
	bool waiting = false;
	size_t i, n, k, last;
	enum rc rc = want(e, name, DNS_T_MX, &x);

	if (rc != RC_MATCH)
		return rc;
	switch (x->ans->status) {
	case DNS_OK:
		break;
	case DNS_NXDOMAIN:
	case DNS_NODATA:
		return void_lookup(e, name, DNS_T_MX);
	case DNS_BADNAME:
		return RC_NOMATCH;
	default:
		return dns_error(e, x, NULL);
	}
	n = answer_count(x->ans, DNS_T_MX);
	if (n == 0)
		return void_lookup(e, name, DNS_T_MX);
	/*
	 * RFC 7208 4.6.4: at most mx_names address lookups; exceeding that is a
	 * permerror.  Hosts go in preference order (answer order for ties); the
	 * addresses of the first mx_names are asked for at once, then decided
	 * in that order.
	 */
	for (k = 0, last = SIZE_MAX; k < e->lim.mx_names; k++) {
		const char *host;
		if ((i = mx_next(x->ans, last)) == SIZE_MAX)
			break;
		last = i;
		host = x->ans->rr[i].u.mx.host;
		if (host == NULL || !name_ok(host))
			continue; /* "" is the null MX (RFC 7505) */
		rc = want(e, host, e->atype, &h);
		if (rc == RC_NEED) {
			waiting = true;
			continue;
		}
		if (rc != RC_MATCH)
			return rc;
		if (waiting)
			continue;
		switch (h->ans->status) {
		case DNS_OK:
			if (answer_has_addr(h->ans, &e->ip, prefix))
				return RC_MATCH;
			break;
		case DNS_NXDOMAIN:
		case DNS_NODATA:
		case DNS_BADNAME:
			break;
		default:
			return dns_error(e, h, "(an MX host)");
		}
	}
	if (waiting)
		return RC_NEED;
	if (n > e->lim.mx_names) {
		problem(e, "'%s': %s has %zu MX records and none of the first %u matched", t->text,
		        name, n, e->lim.mx_names);
		return RC_PERM;
	}
	return RC_NOMATCH;
}

static enum rc mech_ptr(struct spf_eval *e, const char *name)
{
	struct entry *x, *h;
	bool waiting = false;
	size_t i, used = 0;
	enum rc rc = want(e, e->rev, DNS_T_PTR, &x);

	if (rc != RC_MATCH)
		return rc;
	switch (x->ans->status) {
	case DNS_OK:
		break;
	case DNS_NXDOMAIN:
	case DNS_NODATA:
		return void_lookup(e, e->rev, DNS_T_PTR);
	default:
		return RC_NOMATCH; /* RFC 7208 5.5: a PTR error is no match */
	}
	for (i = 0; i < x->ans->count && used < e->lim.ptr_names; i++) {
		const char *ptr = x->ans->rr[i].u.name;
		if (x->ans->rr[i].type != DNS_T_PTR)
			continue;
		used++;
		if (!name_ok(ptr) || !name_under(ptr, name))
			continue;
		rc = want(e, ptr, e->atype, &h);
		if (rc == RC_NEED) {
			waiting = true;
			continue;
		}
		if (rc != RC_MATCH)
			return rc;
		/* an error on the address lookup skips that name (5.5) */
		if (!waiting && h->ans->status == DNS_OK && answer_has_addr(h->ans, &e->ip, 128))
			return RC_MATCH;
	}
	return waiting ? RC_NEED : RC_NOMATCH;
}

static enum rc mech_exists(struct spf_eval *e, const char *name)
{
	struct entry *x;
	enum rc rc = want(e, name, DNS_T_A, &x);

	if (rc != RC_MATCH)
		return rc;
	switch (x->ans->status) {
	case DNS_OK:
		if (answer_count(x->ans, DNS_T_A) > 0)
			return RC_MATCH;
		return void_lookup(e, name, DNS_T_A);
	case DNS_NXDOMAIN:
	case DNS_NODATA:
		return void_lookup(e, name, DNS_T_A);
	case DNS_BADNAME:
		return RC_NOMATCH;
	default:
		return dns_error(e, x, NULL);
	}
}

static enum rc mech_include(struct spf_eval *e, const struct spf_term *t, const char *name,
                            unsigned depth)
{
	int r;

	if (!name_ok(name)) {
		problem(e, "'%s': '%s' is not a valid domain name", t->text, name);
		return RC_PERM;
	}
	r = check_host(e, name, depth + 1);
	switch (r) {
	case R_NEED:
		return RC_NEED;
	case SPF_PASS:
		return RC_MATCH;
	case SPF_FAIL:
	case SPF_SOFTFAIL:
	case SPF_NEUTRAL:
		return RC_NOMATCH;
	case SPF_TEMPERROR:
		return RC_TEMP;
	case SPF_NONE:
		problem(e, "'%s': %s has no SPF record", t->text, name);
		return RC_PERM;
	default:
		return RC_PERM;
	}
}

static enum rc eval_term(struct spf_eval *e, const struct spf_term *t, const char *domain,
                         unsigned depth)
{
	char name[DNS_NAME_MAX + 1];
	enum rc rc;

	switch (t->mech) {
	case SPF_MECH_ALL:
		return RC_MATCH;
	case SPF_MECH_IP4:
	case SPF_MECH_IP6:
		return net_addr_match(&e->ip, &t->addr,
		                      t->mech == SPF_MECH_IP4 ? t->cidr4 : t->cidr6)
		           ? RC_MATCH
		           : RC_NOMATCH;
	default:
		break;
	}
	rc = count_term(e, t, NULL);
	if (rc != RC_MATCH)
		return rc;
	rc = target(e, t->domain, t->domain_len, domain, name);
	if (rc != RC_MATCH)
		return rc;
	if (t->mech == SPF_MECH_INCLUDE)
		return mech_include(e, t, name, depth);
	/* a name that cannot be queried (empty or long label after macro
	 * expansion) does not exist: no match (RFC 7208 4.8, 5) */
	if (!name_ok(name))
		return RC_NOMATCH;
	switch (t->mech) {
	case SPF_MECH_A:
		return mech_a(e, t, name);
	case SPF_MECH_MX:
		return mech_mx(e, t, name);
	case SPF_MECH_PTR:
		return mech_ptr(e, name);
	case SPF_MECH_EXISTS:
		return mech_exists(e, name);
	default:
		return RC_PERM;
	}
}

static enum spf_result qual_result(char q)
{
	switch (q) {
	case '-':
		return SPF_FAIL;
	case '~':
		return SPF_SOFTFAIL;
	case '?':
		return SPF_NEUTRAL;
	default:
		return SPF_PASS;
	}
}

/* check_host - RFC 7208 4: an spf_result, or R_NEED */
static int check_host(struct spf_eval *e, const char *domain, unsigned depth)
{
	const struct spf_record *rec;
	char name[DNS_NAME_MAX + 1];
	struct entry *x;
	size_t i;
	enum rc rc;
	int r;

	if (depth > e->lim.depth) {
		problem(e, "include/redirect nested more than %u deep at %s", e->lim.depth, domain);
		return SPF_PERMERROR;
	}
	rc = want(e, domain, DNS_T_TXT, &x);
	if (rc == RC_NEED)
		return R_NEED;
	if (rc != RC_MATCH)
		return rc == RC_PERM ? SPF_PERMERROR : SPF_TEMPERROR;
	domain = x->q.name; /* stable: exp= may need it after this frame */
	switch (x->ans->status) {
	case DNS_OK:
		break;
	case DNS_NXDOMAIN:
	case DNS_NODATA:
	case DNS_BADNAME:
		return SPF_NONE;
	default:
		dns_error(e, x, "(the SPF record)");
		return SPF_TEMPERROR;
	}
	record(e, x);
	if (x->nspf < 0) {
		problem(e, "out of memory");
		return SPF_TEMPERROR;
	}
	if (x->nspf == 0)
		return SPF_NONE;
	if (x->nspf > 1) {
		problem(e, "%s has %d SPF records (there must be one)", domain, x->nspf);
		return SPF_PERMERROR;
	}
	rec = x->rec;
	if (rec->error != NULL) {
		problem(e, "SPF record of %s: %s", domain, rec->error);
		return SPF_PERMERROR;
	}
	for (i = 0; i < rec->nterms; i++) {
		const struct spf_term *t = &rec->terms[i];
		rc = eval_term(e, t, domain, depth);
		switch (rc) {
		case RC_NOMATCH:
			continue;
		case RC_MATCH:
			e->match_term = t;
			e->exp_rec = rec;
			e->exp_domain = domain;
			return qual_result(t->qual);
		case RC_NEED:
			return R_NEED;
		case RC_TEMP:
			e->match_term = t;
			return SPF_TEMPERROR;
		default:
			e->match_term = t;
			return SPF_PERMERROR;
		}
	}
	if (rec->redirect != NULL) {
		rc = count_term(e, NULL, rec->redirect);
		if (rc == RC_MATCH)
			rc = target(e, rec->redirect, rec->redirect_len, domain, name);
		if (rc == RC_NEED)
			return R_NEED;
		if (rc != RC_MATCH)
			return rc == RC_TEMP ? SPF_TEMPERROR : SPF_PERMERROR;
		if (!name_ok(name)) {
			problem(e, "redirect=%s: '%s' is not a valid domain name", rec->redirect,
			        name);
			return SPF_PERMERROR;
		}
		r = check_host(e, name, depth + 1);
		if (r == SPF_NONE) {
			problem(e, "redirect=%s: %s has no SPF record", rec->redirect, name);
			return SPF_PERMERROR;
		}
		return r;
	}
	e->match_term = NULL;
	e->exp_rec = NULL;
	return SPF_NEUTRAL;
}

/* explain - fetch and expand exp= (RFC 7208 6.2); any error: default */
static int explain(struct spf_eval *e)
{
	const struct spf_record *rec = e->exp_rec;
	char saved[sizeof(e->problem)], name[DNS_NAME_MAX + 1];
	const struct dns_rr *rr;
	struct entry *x = NULL;
	size_t n;
	enum rc rc;

	if (rec == NULL || rec->exp == NULL)
		return SPF_FAIL;
	memcpy(saved, e->problem, sizeof(saved));
	rc = target(e, rec->exp, rec->exp_len, e->exp_domain, name);
	if (rc == RC_MATCH && name_ok(name))
		rc = want(e, name, DNS_T_TXT, &x);
	else if (rc == RC_MATCH)
		rc = RC_PERM;
	if (rc == RC_MATCH) {
		if (x->ans->status != DNS_OK || x->ans->count != 1 ||
		    x->ans->rr[0].type != DNS_T_TXT) {
			rc = RC_PERM;
		} else {
			rr = &x->ans->rr[0];
			rc = expand(e, rr->u.txt.data, rr->u.txt.len, e->exp_domain, SPF_MACRO_EXP,
			            &n);
			if (rc == RC_MATCH) {
				e->explanation = arena_strndup(e->a, e->scratch, n);
				if (e->explanation == NULL)
					rc = RC_PERM;
			}
		}
	}
	memcpy(e->problem, saved, sizeof(saved));
	return rc == RC_NEED ? R_NEED : SPF_FAIL;
}

static int run(struct spf_eval *e)
{
	int r = check_host(e, e->domain, 0);

	if (r == R_NEED)
		return r;
	e->result = (enum spf_result)r;
	e->in_exp = true;
	if (r == SPF_NONE)
		problem(e, "no SPF record for %s", e->domain);
	if (r == SPF_FAIL)
		return explain(e);
	return r;
}

/* --------------------------------------------------------------- engine */

static void finish(struct spf_eval *e, enum spf_result r)
{
	struct spf_outcome *o = &e->out;

	o->result = r;
	o->mechanism = e->match_term ? e->match_term->text : "default";
	o->dns_terms = e->dns_terms;
	o->void_lookups = e->voids;
	o->queries = e->counted;
	o->explanation = NULL;
	o->explanation_default = false;
	if (r == SPF_FAIL) {
		o->explanation = e->explanation;
		if (o->explanation == NULL) {
			o->explanation = SPF_DEFAULT_EXPLANATION;
			o->explanation_default = true;
		}
	}
	o->problem = NULL;
	if ((r == SPF_NONE || r == SPF_TEMPERROR || r == SPF_PERMERROR) && e->problem[0])
		o->problem = arena_strdup(e->a, e->problem);
	e->done = true;
	e->npending = 0;
}

struct spf_eval *spf_eval_new(struct arena *a, const struct spf_request *req,
                              const struct spf_limits *limits)
{
	/* the text buffers at the end of the struct are large (SPF_MACRO_OUT_MAX)
	 * and always written before they are read: zero only what comes before */
	struct spf_eval *e = arena_alloc(a, sizeof(*e));
	const char *mf = req->mail_from ? req->mail_from : "";
	const char *helo = req->helo ? req->helo : "";
	const char *local = "postmaster", *dom, *at;
	char ipbuf[NET_ADDR_STRLEN];
	size_t dlen;

	if (e == NULL)
		return NULL;
	memset(e, 0, offsetof(struct spf_eval, problem));
	e->problem[0] = e->pbuf[0] = e->scratch[0] = '\0';
	e->a = a;
	spf_limits_default(&e->lim);
	if (limits != NULL) {
		e->lim = *limits;
		if (e->lim.queries == 0)
			e->lim.queries = SPF_DEFAULT_QUERIES;
		if (e->lim.timeout_ms == 0)
			e->lim.timeout_ms = SPF_DEFAULT_TIMEOUT_MS;
	}
	e->ip = req->ip;
	e->atype = e->ip.family == AF_INET ? DNS_T_A : DNS_T_AAAA;
	if (req->identity == SPF_ID_HELO || mf[0] == '\0') {
		dom = helo;
	} else {
		at = strrchr(mf, '@');
		if (at == NULL) {
			dom = mf;
		} else {
			if (at > mf && (local = arena_strndup(a, mf, (size_t)(at - mf))) == NULL)
				return NULL;
			dom = at + 1;
		}
	}
	dlen = strlen(dom);
	if (dlen > 0 && dom[dlen - 1] == '.')
		dlen--;
	e->domain = arena_strndup(a, dom, dlen);
	e->out.identity = req->identity == SPF_ID_HELO ? "helo" : "mailfrom";
	if (e->domain != NULL) {
		size_t ll = strlen(local), dl = strlen(e->domain);
		char *snd = arena_alloc(a, ll + dl + 2);
		if (snd != NULL) {
			memcpy(snd, local, ll);
			snd[ll] = '@';
			memcpy(snd + ll + 1, e->domain, dl + 1);
		}
		e->out.sender = snd;
	}
	e->out.helo = arena_strdup(a, helo);
	e->out.receiver = req->receiver ? arena_strdup(a, req->receiver) : NULL;
	e->out.client_ip = arena_strdup(a, net_addr_format(&e->ip, ipbuf, sizeof(ipbuf)));
	e->cap = e->lim.queries + e->lim.prefetch;
	e->ents = arena_array(a, e->cap, sizeof(*e->ents));
	e->pending = arena_array(a, e->cap, sizeof(*e->pending));
	if (e->domain == NULL || e->out.sender == NULL || e->out.helo == NULL ||
	    e->out.client_ip == NULL || e->ents == NULL || e->pending == NULL ||
	    (req->receiver && e->out.receiver == NULL))
		return NULL;
	e->out.domain = e->domain;
	e->vars.s = e->out.sender;
	e->vars.l = local;
	e->vars.o = e->domain;
	e->vars.h = helo;
	e->vars.r = req->receiver;
	e->vars.t = req->now ? req->now : (int64_t)time(NULL);
	if (e->ip.family != AF_INET && e->ip.family != AF_INET6) {
		problem(e, "no valid client address");
		finish(e, SPF_PERMERROR);
		return e;
	}
	spf_macro_vars_ip(&e->vars, &e->ip);
	net_addr_reverse(&e->ip, e->ip.family == AF_INET ? "in-addr.arpa" : "ip6.arpa", e->rev,
	                 sizeof(e->rev));
	/* RFC 7208 4.3: a malformed or single-label domain, or an address
	 * literal, gives none without any lookup */
	if (!name_ok(e->domain) || strchr(e->domain, '.') == NULL || e->domain[0] == '[') {
		problem(e, "'%s' is not a fully qualified domain name", e->domain);
		finish(e, SPF_NONE);
	}
	return e;
}

enum spf_step spf_eval_step(struct spf_eval *e)
{
	size_t i;
	int r;

	if (e->done)
		return SPF_STEP_DONE;
	e->dns_terms = e->voids = 0;
	e->match_term = NULL;
	e->exp_rec = NULL;
	e->exp_domain = NULL;
	e->explanation = NULL;
	e->problem[0] = '\0';
	e->waiting = false;
	r = run(e);
	if (r != R_NEED) {
		finish(e, (enum spf_result)r);
		return SPF_STEP_DONE;
	}
	e->npending = 0;
	for (i = 0; i < e->nents; i++)
		if (e->ents[i]->ans == NULL && e->ents[i]->q.needed)
			e->pending[e->npending++] = &e->ents[i]->q;
	if (e->npending == 0) {
		/* cannot happen: a replay waits only on registered queries */
		problem(e, "internal error: waiting without a query");
		finish(e, SPF_TEMPERROR);
		return SPF_STEP_DONE;
	}
	for (i = 0; i < e->nents; i++)
		if (e->ents[i]->ans == NULL && !e->ents[i]->q.needed)
			e->pending[e->npending++] = &e->ents[i]->q;
	return SPF_STEP_NEED_DNS;
}

size_t spf_eval_queries(struct spf_eval *e, struct spf_query *const **list)
{
	*list = e->pending;
	return e->npending;
}

bool spf_eval_waiting(const struct spf_eval *e)
{
	size_t i;

	for (i = 0; i < e->npending; i++)
		if (e->pending[i]->needed && !e->pending[i]->answered)
			return true;
	return false;
}

int spf_eval_answer(struct spf_eval *e, const char *name, enum dns_type type,
                    const struct dns_answer *ans)
{
	uint64_t h = str_case_hash(name, strlen(name)) ^ (uint64_t)type;
	struct entry *x = find(e, name, type, h);

	if (x == NULL)
		return -1;
	if (x->ans != NULL)
		return 0;
	x->q.answered = true;
	x->ans = ans ? dns_answer_dup(e->a, ans) : NULL;
	if (x->ans == NULL) {
		x->ans = &nomem_answer;
		return -1;
	}
	return 0;
}

void spf_eval_abort(struct spf_eval *e, const char *why)
{
	if (e->done)
		return;
	if (e->in_exp) {
		/* only exp= was outstanding: the result stands */
		e->explanation = NULL;
		finish(e, e->result);
		return;
	}
	e->problem[0] = '\0';
	problem(e, "%s", why ? why : "evaluation stopped");
	finish(e, SPF_TEMPERROR);
}

const struct spf_outcome *spf_eval_outcome(const struct spf_eval *e)
{
	return &e->out;
}

/* --------------------------------------------------------- async driver */

/* the engine side of core/stepjob.h */
struct spf_check {
	struct spf_eval *e;
	struct arena *a;
	struct stepjob *job;
	struct spf_query *const *list; /* from the last check_queries() */
	spf_check_cb cb;
	void *arg;
};

/*
 * check_qname - the name in the dns layer's presentation form: SPF names
 * are plain text where a backslash is just a byte, so escape it.
 */
static const char *check_qname(struct arena *a, const char *name)
{
	size_t n = 0, i, k = 0;
	char *out;

	if (strchr(name, '\\') == NULL)
		return name;
	for (i = 0; name[i] != '\0'; i++)
		n += name[i] == '\\' ? 2 : 1;
	out = arena_alloc(a, n + 1);
	if (out == NULL)
		return NULL;
	for (i = 0; name[i] != '\0'; i++) {
		if (name[i] == '\\')
			out[k++] = '\\';
		out[k++] = name[i];
	}
	out[k] = '\0';
	return out;
}

static bool check_step(void *engine)
{
	struct spf_check *c = engine;

	return spf_eval_step(c->e) == SPF_STEP_DONE;
}

static size_t check_queries(void *engine)
{
	struct spf_check *c = engine;

	return spf_eval_queries(c->e, &c->list);
}

static bool check_take(void *engine, size_t i, struct stepjob_query *sq)
{
	struct spf_check *c = engine;
	struct spf_query *q = c->list[i];

	if (q->sent)
		return false;
	q->sent = true;
	sq->name = check_qname(c->a, q->name);
	sq->type = q->type;
	sq->slot = q;
	return true;
}

static bool check_waiting(void *engine)
{
	struct spf_check *c = engine;

	return spf_eval_waiting(c->e);
}

static void check_answer(void *engine, void *slot, const struct dns_answer *ans)
{
	struct spf_check *c = engine;
	struct spf_query *q = slot;

	spf_eval_answer(c->e, q->name, q->type, ans);
}

static void check_abort(void *engine)
{
	struct spf_check *c = engine;

	spf_eval_abort(c->e, "SPF evaluation took too long");
}

static void check_finished(void *engine)
{
	struct spf_check *c = engine;

	c->cb(spf_eval_outcome(c->e), c->arg); /* may free the arena */
}

static const struct stepjob_ops check_ops = {
	.step = check_step,
	.queries = check_queries,
	.take = check_take,
	.waiting = check_waiting,
	.answer = check_answer,
	.abort = check_abort,
	.finished = check_finished,
};

struct spf_check *spf_check_start(struct dns *dns, struct event_base *base, struct arena *a,
                                  const struct spf_request *req, const struct spf_limits *limits,
                                  spf_check_cb cb, void *arg)
{
	struct spf_check *c = arena_zalloc(a, sizeof(*c));

	if (c == NULL)
		return NULL;
	c->a = a;
	c->cb = cb;
	c->arg = arg;
	c->e = spf_eval_new(a, req, limits);
	if (c->e == NULL)
		return NULL;
	c->job = stepjob_start(dns, base, a, c, &check_ops, c->e->lim.timeout_ms, 0);
	return c->job != NULL ? c : NULL;
}

void spf_check_cancel(struct spf_check *c)
{
	if (c != NULL)
		stepjob_cancel(c->job);
}

/* ------------------------------------------------------------ formatting */

static const char *const result_names[] = {
	[SPF_NONE] = "none",           [SPF_NEUTRAL] = "neutral",   [SPF_PASS] = "pass",
	[SPF_FAIL] = "fail",           [SPF_SOFTFAIL] = "softfail", [SPF_TEMPERROR] = "temperror",
	[SPF_PERMERROR] = "permerror",
};

const char *spf_result_name(enum spf_result r)
{
	return (unsigned)r < sizeof(result_names) / sizeof(result_names[0]) ? result_names[r] : "?";
}

int spf_result_parse(const char *s, enum spf_result *out)
{
	size_t i;

	for (i = 0; i < sizeof(result_names) / sizeof(result_names[0]); i++)
		if (str_casecmp(s, result_names[i]) == 0) {
			*out = (enum spf_result)i;
			return 0;
		}
	return -1;
}

static bool is_atext(int c)
{
	return str_is_alnum(c) || (c != 0 && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL);
}

/* put_value - a dot-atom when it is one, else a quoted-string */
static int put_value(struct buf *b, const char *v)
{
	bool atom = v[0] != '\0' && v[0] != '.';
	size_t i, n = strlen(v);
	int rc = 0;

	for (i = 0; i < n && atom; i++)
		if (!(is_atext((unsigned char)v[i]) ||
		      (v[i] == '.' && i + 1 < n && v[i + 1] != '.')))
			atom = false;
	if (atom)
		return buf_append(b, v, n);
	rc |= buf_putc(b, '"');
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)v[i];
		if (c == '"' || c == '\\')
			rc |= buf_putc(b, '\\');
		rc |= buf_putc(b, c < 0x20 || c >= 0x7f ? '?' : (char)c);
	}
	rc |= buf_putc(b, '"');
	return rc;
}

/* put_comment - ctext with ( ) \ quoted, control bytes replaced */
static int put_comment_text(struct buf *b, const char *v)
{
	int rc = 0;

	for (; *v != '\0'; v++) {
		unsigned char c = (unsigned char)*v;
		if (c == '(' || c == ')' || c == '\\')
			rc |= buf_putc(b, '\\');
		rc |= buf_putc(b, c < 0x20 || c >= 0x7f ? '?' : (char)c);
	}
	return rc;
}

char *spf_received_spf(struct arena *a, const struct spf_outcome *o)
{
	const char *recv = o->receiver ? o->receiver : "unknown";
	struct buf b, c;
	char *out = NULL;
	int rc = 0;

	buf_init(&b, 8192);
	buf_init(&c, 4096);
	switch (o->result) {
	case SPF_PASS:
		rc |= buf_printf(&c, "%s: domain of %s designates %s as permitted sender", recv,
		                 o->sender, o->client_ip);
		break;
	case SPF_FAIL:
		rc |= buf_printf(&c, "%s: domain of %s does not designate %s as permitted sender",
		                 recv, o->sender, o->client_ip);
		break;
	case SPF_SOFTFAIL:
		rc |= buf_printf(&c,
		                 "%s: transitioning domain of %s does not designate %s as "
		                 "permitted sender",
		                 recv, o->sender, o->client_ip);
		break;
	case SPF_NEUTRAL:
		rc |= buf_printf(&c, "%s: %s is neither permitted nor denied by domain of %s", recv,
		                 o->client_ip, o->sender);
		break;
	case SPF_NONE:
		rc |= buf_printf(&c, "%s: domain of %s does not designate permitted sender hosts",
		                 recv, o->sender);
		break;
	case SPF_TEMPERROR:
		rc |=
		    buf_printf(&c, "%s: error in processing during lookup of %s", recv, o->sender);
		break;
	case SPF_PERMERROR:
		rc |= buf_printf(&c, "%s: permanent error in processing domain of %s", recv,
		                 o->sender);
		break;
	}
	rc |= buf_printf(&b, "Received-SPF: %s (", spf_result_name(o->result));
	rc |= put_comment_text(&b, c.data ? c.data : "");
	rc |= buf_puts(&b, ") client-ip=");
	rc |= put_value(&b, o->client_ip);
	rc |= buf_puts(&b, "; envelope-from=");
	rc |= put_value(&b, o->sender);
	rc |= buf_puts(&b, "; helo=");
	rc |= put_value(&b, o->helo);
	if (o->receiver != NULL) {
		rc |= buf_puts(&b, "; receiver=");
		rc |= put_value(&b, o->receiver);
	}
	rc |= buf_puts(&b, "; identity=");
	rc |= put_value(&b, o->identity);
	if (o->result != SPF_NONE) {
		rc |= buf_puts(&b, "; mechanism=");
		rc |= put_value(&b, o->mechanism);
	}
	if (o->problem != NULL && (o->result == SPF_PERMERROR || o->result == SPF_TEMPERROR)) {
		rc |= buf_puts(&b, "; problem=");
		rc |= put_value(&b, o->problem);
	}
	rc |= buf_putc(&b, ';');
	if (rc == 0)
		out = arena_strndup(a, b.data, b.len);
	buf_free(&b);
	buf_free(&c);
	return out;
}

char *spf_authres(struct arena *a, const struct spf_outcome *o)
{
	bool helo = strcmp(o->identity, "helo") == 0;
	struct buf b;
	char *out = NULL;
	int rc = 0;

	buf_init(&b, 1024);
	rc |= buf_printf(&b, "spf=%s smtp.%s=", spf_result_name(o->result),
	                 helo ? "helo" : "mailfrom");
	rc |= put_value(&b, o->domain);
	if (rc == 0)
		out = arena_strndup(a, b.data, b.len);
	buf_free(&b);
	return out;
}
