/*
 * dnsbl - reputation block: local list and DNSBL zones (see dnsbl.h)
 *
 * The step engine is simple because DNSBL queries do not depend on each
 * other: one A query per zone, all asked in the first step; the outcome
 * is computed once every query has an answer (or the deadline aborts the
 * rest).  The driver below has the shape of auth/spf.c's.
 */
#include "filter/dnsbl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/config.h"
#include "core/log.h"
#include "core/stepjob.h"
#include "core/str.h"

/* ---- policy --------------------------------------------------------- */

struct dnsbl_policy {
	struct arena *arena;
	struct iplist *block;
	struct dnsbl_zone zones[DNSBL_MAX_ZONES];
	size_t nzones;
	unsigned threshold;
	unsigned timeout_ms;
};

struct dnsbl_policy *dnsbl_policy_new(void)
{
	struct dnsbl_policy *p = calloc(1, sizeof(*p));

	if (p == NULL)
		return NULL;
	p->arena = arena_new();
	p->block = iplist_new();
	if (p->arena == NULL || p->block == NULL)
		return dnsbl_policy_free(p);
	p->threshold = DNSBL_DEFAULT_THRESHOLD;
	p->timeout_ms = DNSBL_DEFAULT_TIMEOUT_MS;
	return p;
}

struct dnsbl_policy *dnsbl_policy_free(struct dnsbl_policy *p)
{
	if (p == NULL)
		return NULL;
	iplist_free(p->block);
	arena_free(p->arena);
	free(p);
	return NULL;
}

struct iplist *dnsbl_policy_block(struct dnsbl_policy *p)
{
	return p ? p->block : NULL;
}

void dnsbl_policy_set_threshold(struct dnsbl_policy *p, unsigned threshold)
{
	p->threshold = threshold > 0 ? threshold : 1;
}

void dnsbl_policy_set_timeout(struct dnsbl_policy *p, unsigned timeout_ms)
{
	p->timeout_ms = timeout_ms > 0 ? timeout_ms : DNSBL_DEFAULT_TIMEOUT_MS;
}

size_t dnsbl_policy_zones(const struct dnsbl_policy *p, const struct dnsbl_zone **zones)
{
	*zones = p->zones;
	return p->nzones;
}

/* dnsbl_code_parse - "A[-B][ meaning]" */
static int dnsbl_code_parse(struct arena *a, const char *s, struct dnsbl_code *c)
{
	size_t n = strcspn(s, " \t"), alen;
	const char *dash = memchr(s, '-', n);
	struct net_addr lo, hi;
	const char *m;

	alen = dash ? (size_t)(dash - s) : n;
	if (net_addr_parse_n(s, alen, &lo) < 0 || lo.family != AF_INET)
		return -1;
	hi = lo;
	if (dash != NULL &&
	    (net_addr_parse_n(dash + 1, n - alen - 1, &hi) < 0 || hi.family != AF_INET))
		return -1;
	if (memcmp(lo.bytes, hi.bytes, 4) > 0)
		return -1;
	memcpy(c->lo, lo.bytes, 4);
	memcpy(c->hi, hi.bytes, 4);
	c->meaning = NULL;
	for (m = s + n; *m == ' ' || *m == '\t'; m++)
		;
	if (*m != '\0') {
		c->meaning = arena_strdup(a, m);
		if (c->meaning == NULL)
			return -1;
	}
	return 0;
}

int dnsbl_policy_add_zone(struct dnsbl_policy *p, const char *zone, const char *const *codes,
                          size_t ncodes, unsigned weight, struct sx_err *err)
{
	struct dnsbl_zone *z;
	size_t i, n;
	char *name;

	if (p->nzones >= DNSBL_MAX_ZONES) {
		sx_err_set(err, "more than %d DNSBL zones", DNSBL_MAX_ZONES);
		return -1;
	}
	if (ncodes > DNSBL_MAX_CODES) {
		sx_err_set(err, "%s: more than %d codes", zone, DNSBL_MAX_CODES);
		return -1;
	}
	n = strlen(zone);
	while (n > 0 && zone[n - 1] == '.')
		n--;
	name = arena_strndup(p->arena, zone, n);
	if (name == NULL || dns_name_check(name) < 0 || n == 0 || n > 180) {
		sx_err_set(err, "'%.80s' is not a DNSBL zone name", zone);
		return -1;
	}
	str_lower_inplace(name);
	z = &p->zones[p->nzones];
	memset(z, 0, sizeof(*z));
	z->zone = name;
	z->weight = weight;
	if (ncodes > 0) {
		z->codes = arena_array(p->arena, ncodes, sizeof(*z->codes));
		if (z->codes == NULL) {
			sx_err_set(err, "out of memory");
			return -1;
		}
	}
	for (i = 0; i < ncodes; i++)
		if (dnsbl_code_parse(p->arena, codes[i], &z->codes[i]) < 0) {
			sx_err_set(err,
			           "%s: code '%.60s' is not \"127.0.0.N[-127.0.0.M] [meaning]\"",
			           name, codes[i]);
			return -1;
		}
	z->ncodes = ncodes;
	p->nzones++;
	return 0;
}

struct dnsbl_policy *dnsbl_policy_from_config(const struct config_reputation *c,
                                              iplist_warn_fn warn, void *warn_arg,
                                              struct sx_err *err)
{
	struct dnsbl_policy *p = dnsbl_policy_new();
	size_t i;

	if (p == NULL) {
		sx_err_set(err, "out of memory");
		return NULL;
	}
	if (c->block_file != NULL &&
	    iplist_load_file(p->block, c->block_file, warn, warn_arg, err) < 0)
		return dnsbl_policy_free(p);
	for (i = 0; i < c->dnsbl.n; i++) {
		const struct config_dnsbl *d = &c->dnsbl.v[i];
		if (dnsbl_policy_add_zone(p, d->zone, d->codes.v, d->codes.n, (unsigned)d->weight,
		                          err) < 0)
			return dnsbl_policy_free(p);
	}
	dnsbl_policy_set_threshold(p, (unsigned)c->threshold);
	dnsbl_policy_set_timeout(p, (unsigned)c->timeout_ms);
	return p;
}

/* ---- the step engine ------------------------------------------------ */

struct dnsbl_eval {
	struct arena *a;
	const struct dnsbl_policy *p;
	struct net_addr ip;
	struct dnsbl_query *q;        /* one per zone */
	struct dnsbl_query **pending; /* the unanswered ones, for _queries */
	struct dnsbl_outcome out;
	bool done;
};

struct dnsbl_eval *dnsbl_eval_new(struct arena *a, const struct dnsbl_policy *p,
                                  const struct net_addr *ip)
{
	struct dnsbl_eval *e = arena_zalloc(a, sizeof(*e));
	char addr[NET_ADDR_STRLEN], rev[80];
	size_t i;

	if (e == NULL)
		return NULL;
	e->a = a;
	e->p = p;
	e->ip = *ip;
	e->out.client_ip = arena_strdup(a, net_addr_format(ip, addr, sizeof(addr)));
	e->out.threshold = p->threshold;
	e->out.nzones = p->nzones;
	e->out.zones = arena_array(a, p->nzones + 1, sizeof(*e->out.zones));
	e->q = arena_array(a, p->nzones + 1, sizeof(*e->q));
	e->pending = arena_array(a, p->nzones + 1, sizeof(*e->pending));
	if (e->out.client_ip == NULL || e->out.zones == NULL || e->q == NULL || e->pending == NULL)
		return NULL;
	e->out.local = iplist_lookup(p->block, ip);
	net_addr_reverse(ip, NULL, rev, sizeof(rev));
	for (i = 0; i < p->nzones; i++) {
		struct dnsbl_zone_result *r = &e->out.zones[i];
		r->zone = p->zones[i].zone;
		r->qname = arena_printf(a, "%s.%s", rev, p->zones[i].zone);
		if (r->qname == NULL)
			return NULL;
		e->q[i].name = r->qname;
		e->q[i].type = DNS_T_A;
		if (e->out.local != NULL) {
			/* the local list decided: no query */
			r->status = DNSBL_SKIPPED;
			e->q[i].answered = true;
		}
	}
	return e;
}

static bool dnsbl_code_match(const struct dnsbl_code *c, const uint8_t *a)
{
	return memcmp(a, c->lo, 4) >= 0 && memcmp(a, c->hi, 4) <= 0;
}

/* dnsbl_append - "x" or "list,x" into *dst */
static void dnsbl_append(struct arena *a, const char **dst, const char *x)
{
	const char *s = *dst == NULL ? arena_strdup(a, x) : arena_printf(a, "%s,%s", *dst, x);

	if (s != NULL)
		*dst = s;
}

/* dnsbl_classify - turn the answer of zone i into its result */
static void dnsbl_classify(struct dnsbl_eval *e, size_t i, const struct dns_answer *ans)
{
	const struct dnsbl_zone *z = &e->p->zones[i];
	struct dnsbl_zone_result *r = &e->out.zones[i];
	const char *errors = NULL, *ignored = NULL;
	size_t k, j;

	switch (ans->status) {
	case DNS_OK:
		break;
	case DNS_NXDOMAIN:
	case DNS_NODATA:
		r->status = DNSBL_NOT_LISTED;
		return;
	case DNS_TIMEOUT:
		r->status = DNSBL_TIMEOUT;
		r->problem = "no answer in time";
		return;
	default:
		r->status = DNSBL_ERROR;
		r->problem =
		    arena_printf(e->a, "lookup failed: %s%s%s", dns_status_name(ans->status),
		                 ans->why ? ": " : "", ans->why ? ans->why : "");
		return;
	}
	r->status = DNSBL_NOT_LISTED;
	for (k = 0; k < ans->count; k++) {
		const uint8_t *a4;
		char txt[16];
		if (ans->rr[k].type != DNS_T_A)
			continue;
		a4 = ans->rr[k].u.a;
		snprintf(txt, sizeof(txt), "%u.%u.%u.%u", a4[0], a4[1], a4[2], a4[3]);
		if (a4[0] != 127 || (a4[1] == 255 && a4[2] == 255)) {
			dnsbl_append(e->a, &errors, txt);
			continue;
		}
		if (z->ncodes == 0) {
			dnsbl_append(e->a, &r->codes, txt);
			continue;
		}
		for (j = 0; j < z->ncodes; j++)
			if (dnsbl_code_match(&z->codes[j], a4))
				break;
		if (j == z->ncodes) {
			dnsbl_append(e->a, &ignored, txt);
			continue;
		}
		dnsbl_append(e->a, &r->codes, txt);
		if (z->codes[j].meaning != NULL &&
		    (r->meaning == NULL || strstr(r->meaning, z->codes[j].meaning) == NULL))
			dnsbl_append(e->a, &r->meaning, z->codes[j].meaning);
	}
	if (r->codes != NULL) {
		r->status = DNSBL_LISTED;
		r->weight = z->weight;
	} else if (errors != NULL) {
		r->status = DNSBL_ERROR;
		r->problem = arena_printf(e->a,
		                          "error answer %s (query refused, public resolver, over "
		                          "quota or a dead zone): not a listing",
		                          errors);
	} else if (ignored != NULL) {
		r->problem =
		    arena_printf(e->a, "answer %s is not one of the configured codes", ignored);
	}
}

static void dnsbl_finish(struct dnsbl_eval *e)
{
	size_t i;

	if (e->done)
		return;
	e->done = true;
	for (i = 0; i < e->out.nzones; i++) {
		const struct dnsbl_zone_result *r = &e->out.zones[i];
		if (r->status == DNSBL_LISTED) {
			e->out.nlisted++;
			e->out.total_weight += r->weight;
		}
		if (r->status == DNSBL_ERROR || r->status == DNSBL_TIMEOUT) {
			char q[300];
			log_warn("dnsbl ip=%s zone=%s status=%s problem=%s", e->out.client_ip,
			         r->zone, dnsbl_status_name(r->status),
			         log_quote(q, sizeof(q), r->problem ? r->problem : ""));
		}
	}
	e->out.blocked =
	    e->out.local != NULL || (e->out.nlisted > 0 && e->out.total_weight >= e->out.threshold);
	if (e->out.blocked)
		e->out.reply = arena_printf(
		    e->a, "550 5.7.606 Access denied, banned sending IP [%s]", e->out.client_ip);
	if (e->out.blocked && e->out.reply == NULL)
		e->out.reply = "550 5.7.606 Access denied, banned sending IP";
}

enum dnsbl_step dnsbl_eval_step(struct dnsbl_eval *e)
{
	size_t i;

	if (e->done)
		return DNSBL_STEP_DONE;
	for (i = 0; i < e->out.nzones; i++)
		if (!e->q[i].answered)
			return DNSBL_STEP_NEED_DNS;
	dnsbl_finish(e);
	return DNSBL_STEP_DONE;
}

size_t dnsbl_eval_queries(struct dnsbl_eval *e, struct dnsbl_query *const **list)
{
	size_t i, n = 0;

	for (i = 0; i < e->out.nzones; i++)
		if (!e->q[i].answered)
			e->pending[n++] = &e->q[i];
	*list = e->pending;
	return n;
}

int dnsbl_eval_answer(struct dnsbl_eval *e, const char *name, enum dns_type type,
                      const struct dns_answer *ans)
{
	size_t i;

	if (e->done)
		return -1;
	for (i = 0; i < e->out.nzones; i++) {
		if (e->q[i].answered || e->q[i].type != type ||
		    str_casecmp(e->q[i].name, name) != 0)
			continue;
		e->q[i].answered = true;
		dnsbl_classify(e, i, ans);
		return 0;
	}
	return -1;
}

void dnsbl_eval_abort(struct dnsbl_eval *e, const char *why)
{
	size_t i;

	if (e->done)
		return;
	for (i = 0; i < e->out.nzones; i++) {
		if (e->q[i].answered)
			continue;
		e->q[i].answered = true;
		e->out.zones[i].status = DNSBL_TIMEOUT;
		e->out.zones[i].problem = why ? why : "no answer in time";
	}
	dnsbl_finish(e);
}

const struct dnsbl_outcome *dnsbl_eval_outcome(const struct dnsbl_eval *e)
{
	return &e->out;
}

/* ---- the asynchronous driver ---------------------------------------- */

/* the engine side of core/stepjob.h */
struct dnsbl_check {
	struct dnsbl_eval *e;
	struct stepjob *job;
	struct dnsbl_query *const *list; /* from the last dnsbl_check_queries() */
	dnsbl_check_cb cb;
	void *arg;
};

static bool dnsbl_check_step(void *engine)
{
	struct dnsbl_check *c = engine;

	return dnsbl_eval_step(c->e) == DNSBL_STEP_DONE;
}

static size_t dnsbl_check_queries(void *engine)
{
	struct dnsbl_check *c = engine;

	return dnsbl_eval_queries(c->e, &c->list);
}

static bool dnsbl_check_take(void *engine, size_t i, struct stepjob_query *sq)
{
	struct dnsbl_check *c = engine;
	struct dnsbl_query *q = c->list[i];

	if (q->sent)
		return false;
	q->sent = true;
	sq->name = q->name;
	sq->type = q->type;
	sq->slot = q;
	return true;
}

/* dnsbl_check_waiting - every answer counts: step again after each one */
static bool dnsbl_check_waiting(void *engine)
{
	return !dnsbl_check_step(engine);
}

static void dnsbl_check_answer(void *engine, void *slot, const struct dns_answer *ans)
{
	struct dnsbl_check *c = engine;
	struct dnsbl_query *q = slot;

	dnsbl_eval_answer(c->e, q->name, q->type, ans);
}

static void dnsbl_check_abort(void *engine)
{
	struct dnsbl_check *c = engine;

	dnsbl_eval_abort(c->e, "DNSBL queries took too long");
}

static void dnsbl_check_finished(void *engine)
{
	struct dnsbl_check *c = engine;

	c->cb(dnsbl_eval_outcome(c->e), c->arg); /* may free the arena */
}

static const struct stepjob_ops dnsbl_check_ops = {
	.step = dnsbl_check_step,
	.queries = dnsbl_check_queries,
	.take = dnsbl_check_take,
	.waiting = dnsbl_check_waiting,
	.answer = dnsbl_check_answer,
	.abort = dnsbl_check_abort,
	.finished = dnsbl_check_finished,
};

struct dnsbl_check *dnsbl_check_start(struct dns *dns, struct event_base *base, struct arena *a,
                                      const struct dnsbl_policy *p, const struct net_addr *ip,
                                      dnsbl_check_cb cb, void *arg)
{
	struct dnsbl_check *c = arena_zalloc(a, sizeof(*c));

	if (c == NULL)
		return NULL;
	c->cb = cb;
	c->arg = arg;
	c->e = dnsbl_eval_new(a, p, ip);
	if (c->e == NULL)
		return NULL;
	c->job = stepjob_start(dns, base, a, c, &dnsbl_check_ops, p->timeout_ms, 0);
	return c->job != NULL ? c : NULL;
}

void dnsbl_check_cancel(struct dnsbl_check *c)
{
	if (c != NULL)
		stepjob_cancel(c->job);
}

const char *dnsbl_status_name(enum dnsbl_status s)
{
	switch (s) {
	case DNSBL_NOT_LISTED:
		return "not_listed";
	case DNSBL_LISTED:
		return "listed";
	case DNSBL_ERROR:
		return "error";
	case DNSBL_TIMEOUT:
		return "timeout";
	case DNSBL_SKIPPED:
		return "skipped";
	}
	return "?";
}
