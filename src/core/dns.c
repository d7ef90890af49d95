/*
 * dns - the common part of the dns layer (see dns.h)
 *
 * A struct dns is a small vtable over one backend (libunbound in
 * dns_unbound.c, the in-memory zone in dns_zone.c) plus what every lookup
 * needs whatever answers it: the canonical query name, a per-lookup
 * arena for the answer, the deadline timer and the zero-delay delivery
 * event.  Every answer goes through dns_query_answer(), which defers it
 * to the loop when it comes while dns_lookup() is still on the stack, so
 * a callback never runs before dns_lookup() has returned.
 *
 * Lifetime: a query is unlinked before its callback runs and freed right
 * after it, so a callback may start new lookups, cancel other ones, or
 * even call dns_free() (finished once the callback has returned).
 */
#include <event2/event.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/dns.h"
#include "core/dns_impl.h"
#include "core/dns_zone.h"
#include "core/str.h"

static void dns_ready_cb(evutil_socket_t fd, short what, void *arg);

struct dns *dns_create(struct event_base *base, const struct dns_backend_ops *ops, void *backend,
                       unsigned timeout_ms)
{
	struct dns *dns = calloc(1, sizeof(*dns));

	if (dns == NULL)
		return NULL;
	dns->base = base;
	dns->ops = ops;
	dns->backend = backend;
	dns->timeout_ms = timeout_ms ? timeout_ms : DNS_DEFAULT_TIMEOUT_MS;
	dns->ready_ev = event_new(base, -1, 0, dns_ready_cb, dns);
	if (dns->ready_ev == NULL) {
		free(dns);
		return NULL;
	}
	return dns;
}

/* dns_cache_clock - libevent's monotonic timer in milliseconds */
static uint64_t dns_cache_clock(void *arg)
{
	struct timeval tv;

	if (event_gettime_monotonic(arg, &tv) < 0)
		return 0;
	return (uint64_t)tv.tv_sec * 1000 + (uint64_t)tv.tv_usec / 1000;
}

int dns_cache_attach(struct dns *dns, const struct dns_options *opts)
{
	struct dns_cache_opts co = { 0 };

	if (opts->cache_off)
		return 0;
	co.max_entries = opts->cache_max_entries;
	co.max_bytes = opts->cache_max_bytes;
	co.max_ttl = opts->cache_max_ttl;
	co.neg_ttl = opts->cache_neg_ttl;
	co.clock = opts->cache_clock != NULL ? opts->cache_clock : dns_cache_clock;
	co.clock_arg = opts->cache_clock != NULL ? opts->cache_clock_arg : dns->base;
	dns->cache = dns_cache_new(&co);
	return dns->cache != NULL ? 0 : -1;
}

void dns_cache_stats(const struct dns *dns, struct dns_cache_stats *st)
{
	dns_cache_get_stats(dns != NULL ? dns->cache : NULL, st);
}

struct dns *dns_new(struct event_base *base, const struct dns_options *opts, struct sx_err *err)
{
	struct dns *dns;

	if (base == NULL || opts == NULL) {
		sx_err_set(err, "dns_new: no event loop or options");
		return NULL;
	}
	if (opts->zone_file != NULL) {
		struct dns_zone *zone = dns_zone_new();
		if (zone == NULL) {
			sx_err_set(err, "out of memory");
			return NULL;
		}
		if (dns_zone_load_file(zone, opts->zone_file, err) < 0) {
			dns_zone_free(zone);
			return NULL;
		}
		dns = dns_zone_backend_new(base, zone, true, opts->timeout_ms);
		if (dns == NULL) {
			dns_zone_free(zone);
			sx_err_set(err, "out of memory");
		}
		return dns;
	}
	dns = dns_create(base, NULL, NULL, opts->timeout_ms);
	if (dns == NULL) {
		sx_err_set(err, "out of memory");
		return NULL;
	}
	if (dns_unbound_new(dns, opts, err) < 0) {
		event_free(dns->ready_ev);
		free(dns);
		return NULL;
	}
	if (dns_cache_attach(dns, opts) < 0) {
		sx_err_set(err, "out of memory");
		return dns_free(dns);
	}
	return dns;
}

struct dns *dns_new_zone(struct event_base *base, struct dns_zone *zone)
{
	if (base == NULL || zone == NULL)
		return NULL;
	return dns_zone_backend_new(base, zone, false, 0);
}

static void dns_destroy(struct dns *dns)
{
	if (dns->ops != NULL && dns->ops->free != NULL)
		dns->ops->free(dns);
	dns_cache_free(dns->cache);
	event_free(dns->ready_ev);
	free(dns);
}

void dns_hold(struct dns *dns)
{
	dns->busy++;
}

void dns_release(struct dns *dns)
{
	if (--dns->busy == 0 && dns->dying)
		dns_destroy(dns);
}

struct dns *dns_free(struct dns *dns)
{
	if (dns == NULL)
		return NULL;
	while (dns->queries != NULL)
		dns_cancel(dns->queries);
	if (dns->busy > 0)
		dns->dying = true;
	else
		dns_destroy(dns);
	return NULL;
}

static void query_unlink(struct dns_query *q)
{
	struct dns *dns = q->dns;

	if (q->prev != NULL)
		q->prev->next = q->next;
	else if (dns->queries == q)
		dns->queries = q->next;
	if (q->next != NULL)
		q->next->prev = q->prev;
	q->prev = q->next = NULL;
}

/* ready_push - queue q for its callback; the first one wakes the drain */
static void ready_push(struct dns_query *q)
{
	struct dns *dns = q->dns;

	q->ready = true;
	q->ready_seq = ++dns->ready_seq;
	q->rnext = NULL;
	q->rprev = dns->ready_tail;
	if (dns->ready_tail != NULL)
		dns->ready_tail->rnext = q;
	else
		dns->ready_head = q;
	dns->ready_tail = q;
	if (q->rprev == NULL)
		event_active(dns->ready_ev, EV_TIMEOUT, 0);
}

static void ready_remove(struct dns_query *q)
{
	struct dns *dns = q->dns;

	if (!q->ready)
		return;
	if (q->rprev != NULL)
		q->rprev->rnext = q->rnext;
	else
		dns->ready_head = q->rnext;
	if (q->rnext != NULL)
		q->rnext->rprev = q->rprev;
	else
		dns->ready_tail = q->rprev;
	q->rprev = q->rnext = NULL;
	q->ready = false;
}

static void query_free(struct dns_query *q)
{
	if (q->deadline != NULL)
		event_free(q->deadline);
	dns_cache_entry_unref(q->hit);
	arena_free(q->arena);
	free(q);
}

/* query_deliver - run the callback once and forget the query */
static void query_deliver(struct dns_query *q)
{
	struct dns *dns = q->dns;

	ready_remove(q);
	query_unlink(q);
	dns_hold(dns);
	q->cb(&q->ans, q->arg);
	dns_release(dns);
	query_free(q);
}

/*
 * dns_ready_cb - deliver the answers queued so far; those queued by the
 * callbacks meanwhile wait for the next round, so the loop keeps turning
 */
static void dns_ready_cb(evutil_socket_t fd, short what, void *arg)
{
	struct dns *dns = arg;
	uint64_t last = dns->ready_seq;
	struct dns_query *q;

	(void)fd;
	(void)what;
	dns_hold(dns);
	while (!dns->dying && (q = dns->ready_head) != NULL && q->ready_seq <= last)
		query_deliver(q);
	if (!dns->dying && dns->ready_head != NULL)
		event_active(dns->ready_ev, EV_TIMEOUT, 0);
	dns_release(dns);
}

void dns_query_answer(struct dns_query *q, const struct dns_answer *ans)
{
	q->ans = *ans;
	q->ans.qtype = q->type;
	if (q->ans.qname == NULL)
		q->ans.qname = q->name;
	if (q->ans.canonname == NULL)
		q->ans.canonname = q->ans.qname;
	if (q->ans.count == 0)
		q->ans.rr = NULL;
	if (q->deadline != NULL)
		event_del(q->deadline);
	if (q->ttl > 0 && q->dns->cache != NULL)
		(void)dns_cache_put(q->dns->cache, q->name, q->type, &q->ans, q->ttl);
	ready_push(q);
}

static void query_deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	struct dns_query *q = arg;
	struct dns_answer ans = { 0 };

	(void)fd;
	(void)what;
	if (q->backend_active && q->dns->ops->cancel != NULL)
		q->dns->ops->cancel(q->dns, q);
	q->backend_active = false;
	ans.status = DNS_TIMEOUT;
	ans.sec = DNS_SEC_INSECURE;
	ans.why = "no answer before the deadline";
	q->ttl = 0;
	dns_query_answer(q, &ans);
}

/* query_cached - answer q from the cache when it can; true when it did */
static bool query_cached(struct dns_query *q)
{
	struct dns_cache_entry *e = dns_cache_get(q->dns->cache, q->name, q->type);

	if (e == NULL)
		return false;
	q->hit = e;
	q->ans = *dns_cache_entry_answer(e);
	q->ans.qname = q->name;
	ready_push(q);
	return true;
}

struct dns_query *dns_lookup(struct dns *dns, const char *name, enum dns_type type, dns_callback cb,
                             void *arg)
{
	struct dns_query *q;
	struct dns_answer ans = { 0 };
	const char *why = NULL;
	struct timeval tv;
	bool bad;

	if (dns == NULL || cb == NULL || dns->dying)
		return NULL;
	q = calloc(1, sizeof(*q));
	if (q == NULL)
		return NULL;
	q->dns = dns;
	q->type = type;
	q->cb = cb;
	q->arg = arg;
	bad = name == NULL || dns_name_canon(name, q->name, sizeof(q->name), &why) < 0 ||
	      q->name[0] == '\0';
	if (!bad && dns_type_name(type) != NULL && dns->cache != NULL && query_cached(q))
		goto linked;
	q->arena = arena_new();
	q->deadline = evtimer_new(dns->base, query_deadline_cb, q);
	if (q->arena == NULL || q->deadline == NULL) {
		query_free(q);
		return NULL;
	}
	ans.sec = DNS_SEC_INSECURE;
	if (bad) {
		ans.status = DNS_BADNAME;
		ans.why = why != NULL ? why : "the root name cannot be queried";
		ans.qname = name != NULL ? arena_strdup(q->arena, name) : "";
		if (ans.qname == NULL)
			ans.qname = "";
		dns_query_answer(q, &ans);
	} else if (dns_type_name(type) == NULL) {
		ans.status = DNS_SERVFAIL;
		ans.why = "unsupported query type";
		dns_query_answer(q, &ans);
	} else {
		tv.tv_sec = dns->timeout_ms / 1000;
		tv.tv_usec = (long)(dns->timeout_ms % 1000) * 1000;
		evtimer_add(q->deadline, &tv);
		q->backend_active = true;
		if (dns->ops->start(dns, q, &why) < 0) {
			q->backend_active = false;
			ans.status = DNS_SERVFAIL;
			ans.why = why;
			q->ttl = 0;
			dns_query_answer(q, &ans);
		}
	}
linked:
	q->next = dns->queries;
	if (q->next != NULL)
		q->next->prev = q;
	dns->queries = q;
	return q;
}

void dns_cancel(struct dns_query *q)
{
	if (q == NULL)
		return;
	if (q->backend_active && q->dns->ops->cancel != NULL)
		q->dns->ops->cancel(q->dns, q);
	ready_remove(q);
	query_unlink(q);
	query_free(q);
}

int dns_rr_copy(struct arena *a, struct dns_rr *rr)
{
	switch (rr->type) {
	case DNS_T_NS:
	case DNS_T_CNAME:
	case DNS_T_PTR:
		if (rr->u.name != NULL && (rr->u.name = arena_strdup(a, rr->u.name)) == NULL)
			return -1;
		return 0;
	case DNS_T_MX:
		if (rr->u.mx.host != NULL &&
		    (rr->u.mx.host = arena_strdup(a, rr->u.mx.host)) == NULL)
			return -1;
		return 0;
	case DNS_T_TXT:
	case DNS_T_SPF:
		if (rr->u.txt.data != NULL) {
			char *d = arena_alloc(a, rr->u.txt.len + 1);
			if (d == NULL)
				return -1;
			memcpy(d, rr->u.txt.data, rr->u.txt.len);
			d[rr->u.txt.len] = '\0';
			rr->u.txt.data = d;
		}
		if (rr->u.txt.string_len != NULL && rr->u.txt.nstrings > 0) {
			rr->u.txt.string_len = arena_memdup(a, rr->u.txt.string_len,
			                                    rr->u.txt.nstrings * sizeof(size_t));
			if (rr->u.txt.string_len == NULL)
				return -1;
		}
		return 0;
	case DNS_T_TLSA:
		if (rr->u.tlsa.data != NULL) {
			uint8_t *d = arena_alloc(a, rr->u.tlsa.len + 1);
			if (d == NULL)
				return -1;
			memcpy(d, rr->u.tlsa.data, rr->u.tlsa.len);
			rr->u.tlsa.data = d;
		}
		return 0;
	case DNS_T_SOA:
		if (rr->u.soa.mname != NULL &&
		    (rr->u.soa.mname = arena_strdup(a, rr->u.soa.mname)) == NULL)
			return -1;
		if (rr->u.soa.rname != NULL &&
		    (rr->u.soa.rname = arena_strdup(a, rr->u.soa.rname)) == NULL)
			return -1;
		return 0;
	default:
		return 0;
	}
}

struct dns_answer *dns_answer_dup(struct arena *a, const struct dns_answer *ans)
{
	struct dns_answer *d;
	size_t i;

	if (a == NULL || ans == NULL)
		return NULL;
	d = arena_alloc(a, sizeof(*d));
	if (d == NULL)
		return NULL;
	*d = *ans;
	d->rr = NULL;
	if (ans->qname != NULL && (d->qname = arena_strdup(a, ans->qname)) == NULL)
		return NULL;
	if (ans->canonname == ans->qname)
		d->canonname = d->qname;
	else if (ans->canonname != NULL && (d->canonname = arena_strdup(a, ans->canonname)) == NULL)
		return NULL;
	if (ans->why != NULL && (d->why = arena_strdup(a, ans->why)) == NULL)
		return NULL;
	if (ans->count > 0 && ans->rr != NULL) {
		d->rr = arena_array(a, ans->count, sizeof(*d->rr));
		if (d->rr == NULL)
			return NULL;
		for (i = 0; i < ans->count; i++) {
			d->rr[i] = ans->rr[i];
			if (dns_rr_copy(a, &d->rr[i]) < 0)
				return NULL;
		}
	} else {
		d->count = 0;
	}
	return d;
}

static const struct {
	enum dns_type type;
	const char *name;
} dns_types[] = {
	{ DNS_T_A, "A" },       { DNS_T_NS, "NS" },     { DNS_T_CNAME, "CNAME" },
	{ DNS_T_SOA, "SOA" },   { DNS_T_PTR, "PTR" },   { DNS_T_MX, "MX" },
	{ DNS_T_TXT, "TXT" },   { DNS_T_AAAA, "AAAA" }, { DNS_T_SPF, "SPF" },
	{ DNS_T_TLSA, "TLSA" },
};

const char *dns_type_name(enum dns_type type)
{
	size_t i;

	for (i = 0; i < sizeof(dns_types) / sizeof(dns_types[0]); i++)
		if (dns_types[i].type == type)
			return dns_types[i].name;
	return NULL;
}

int dns_type_parse(const char *name, size_t len)
{
	size_t i;

	if (name == NULL)
		return 0;
	for (i = 0; i < sizeof(dns_types) / sizeof(dns_types[0]); i++)
		if (strlen(dns_types[i].name) == len &&
		    str_case_eq_n(name, len, dns_types[i].name, len))
			return (int)dns_types[i].type;
	return 0;
}

const char *dns_status_name(enum dns_status status)
{
	switch (status) {
	case DNS_OK:
		return "ok";
	case DNS_NXDOMAIN:
		return "nxdomain";
	case DNS_NODATA:
		return "nodata";
	case DNS_SERVFAIL:
		return "servfail";
	case DNS_TIMEOUT:
		return "timeout";
	case DNS_BADNAME:
		return "badname";
	case DNS_NOMEM:
		return "nomem";
	}
	return "unknown";
}

const char *dns_sec_name(enum dns_sec sec)
{
	switch (sec) {
	case DNS_SEC_INSECURE:
		return "insecure";
	case DNS_SEC_SECURE:
		return "secure";
	case DNS_SEC_BOGUS:
		return "bogus";
	}
	return "unknown";
}

struct sync_state {
	struct arena *arena;
	struct dns_answer *ans;
	bool done;
};

static void resolve_sync_cb(const struct dns_answer *ans, void *arg)
{
	struct sync_state *st = arg;

	st->ans = dns_answer_dup(st->arena, ans);
	st->done = true;
}

struct dns_answer *dns_resolve_sync(struct dns *dns, struct event_base *base, struct arena *arena,
                                    const char *name, enum dns_type type)
{
	struct sync_state st = { arena, NULL, false };
	struct dns_query *q;

	if (dns == NULL || base == NULL || arena == NULL)
		return NULL;
	q = dns_lookup(dns, name, type, resolve_sync_cb, &st);
	if (q == NULL)
		return NULL;
	while (!st.done) {
		/* the deadline timer is always pending, so the loop cannot run dry
		 * before the answer; if it does anyway, give up rather than spin */
		if (event_base_loop(base, EVLOOP_ONCE) != 0 && !st.done) {
			dns_cancel(q);
			return NULL;
		}
	}
	return st.ans;
}
