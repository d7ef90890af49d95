/*
 * connection - the connection filter (see connection.h)
 *
 * Three iplists and an optional counter behind a vtable.  The in-memory
 * counter is an open-addressing table probed over a short window: a key
 * is only ever stored inside its window, so a lookup looks at that window
 * only, and when the window is full the idle slot seen longest ago is
 * reused.  Rates are counted per fixed minute.
 */
#include "filter/connection.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "core/config.h"
#include "core/str.h"

/* ---- the in-memory counter ------------------------------------------ */

#define CONN_PROBE 16
#define MINUTE_MS  60000

struct slot {
	bool used;
	struct net_addr key;
	unsigned concurrent;
	unsigned count;  /* connections in the minute starting at window */
	uint64_t window; /* start of the current minute */
	uint64_t last;   /* last connection, for eviction */
};

struct conn_tracker {
	struct slot *slots;
	size_t mask;
};

struct conn_tracker *conn_tracker_new(size_t max_keys)
{
	struct conn_tracker *t = calloc(1, sizeof(*t));
	size_t n = 64;

	if (t == NULL)
		return NULL;
	while (n < 2 * max_keys && n < ((size_t)1 << 30))
		n *= 2;
	t->slots = calloc(n, sizeof(*t->slots));
	if (t->slots == NULL) {
		free(t);
		return NULL;
	}
	t->mask = n - 1;
	return t;
}

struct conn_tracker *conn_tracker_free(struct conn_tracker *t)
{
	if (t == NULL)
		return NULL;
	free(t->slots);
	free(t);
	return NULL;
}

static size_t conn_tracker_hash(const struct net_addr *k)
{
	uint64_t h = 1469598103934665603ull;
	size_t i;

	for (i = 0; i < 16; i++) {
		h ^= k->bytes[i];
		h *= 1099511628211ull;
	}
	h ^= (uint64_t)k->family;
	return (size_t)(h ^ (h >> 29));
}

static bool conn_key_eq(const struct net_addr *a, const struct net_addr *b)
{
	return a->family == b->family && memcmp(a->bytes, b->bytes, 16) == 0;
}

/* conn_tracker_find - the slot of key, or with create the slot to use for
 * it (an empty one, else the idle one unused longest); NULL when every
 * slot of the window holds an open connection */
static struct slot *conn_tracker_find(struct conn_tracker *t, const struct net_addr *key,
                                      bool create)
{
	size_t h = conn_tracker_hash(key), i;
	struct slot *empty = NULL, *idle = NULL;

	for (i = 0; i < CONN_PROBE; i++) {
		struct slot *s = &t->slots[(h + i) & t->mask];
		if (!s->used) {
			if (empty == NULL)
				empty = s;
			continue;
		}
		if (conn_key_eq(&s->key, key))
			return s;
		if (s->concurrent == 0 && (idle == NULL || s->last < idle->last))
			idle = s;
	}
	if (!create)
		return NULL;
	return empty != NULL ? empty : idle;
}

static int conn_tracker_opened(void *ctx, const struct net_addr *key, uint64_t now_ms,
                               struct conn_counts *out)
{
	struct conn_tracker *t = ctx;
	struct slot *s = conn_tracker_find(t, key, true);

	if (s == NULL)
		return -1;
	if (!s->used || !conn_key_eq(&s->key, key)) {
		memset(s, 0, sizeof(*s));
		s->used = true;
		s->key = *key;
		s->window = now_ms;
	}
	if (now_ms - s->window >= MINUTE_MS || now_ms < s->window) {
		s->window = now_ms;
		s->count = 0;
	}
	s->concurrent++;
	s->count++;
	s->last = now_ms;
	out->concurrent = s->concurrent;
	out->per_minute = s->count;
	return 0;
}

static void conn_tracker_closed(void *ctx, const struct net_addr *key)
{
	struct slot *s = conn_tracker_find(ctx, key, false);

	if (s != NULL && s->concurrent > 0)
		s->concurrent--;
}

static const struct conn_counter_ops conn_tracker_ops = {
	.opened = conn_tracker_opened,
	.closed = conn_tracker_closed,
};

struct conn_counter conn_tracker_counter(struct conn_tracker *t)
{
	struct conn_counter c = { &conn_tracker_ops, t };

	return c;
}

/* ---- the filter ----------------------------------------------------- */

struct conn_filter {
	struct iplist *allow, *block, *safe;
	bool safe_list;
	unsigned max_concurrent, max_per_minute;
	const struct conn_counter *counter;
};

struct conn_filter *conn_filter_new(void)
{
	struct conn_filter *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return NULL;
	f->allow = iplist_new();
	f->block = iplist_new();
	f->safe = iplist_new();
	if (f->allow == NULL || f->block == NULL || f->safe == NULL)
		return conn_filter_free(f);
	return f;
}

struct conn_filter *conn_filter_free(struct conn_filter *f)
{
	if (f == NULL)
		return NULL;
	iplist_free(f->allow);
	iplist_free(f->block);
	iplist_free(f->safe);
	free(f);
	return NULL;
}

struct iplist *conn_filter_allow(struct conn_filter *f)
{
	return f ? f->allow : NULL;
}

struct iplist *conn_filter_block(struct conn_filter *f)
{
	return f ? f->block : NULL;
}

struct iplist *conn_filter_safe(struct conn_filter *f)
{
	return f ? f->safe : NULL;
}

void conn_filter_set_safe_list(struct conn_filter *f, bool on)
{
	f->safe_list = on;
}

void conn_filter_set_limits(struct conn_filter *f, unsigned max_concurrent, unsigned max_per_minute,
                            const struct conn_counter *counter)
{
	f->max_concurrent = max_concurrent;
	f->max_per_minute = max_per_minute;
	f->counter = counter;
}

int conn_filter_build(struct conn_filter *f)
{
	if (f == NULL)
		return -1;
	return iplist_build(f->allow) < 0 || iplist_build(f->block) < 0 || iplist_build(f->safe) < 0
	           ? -1
	           : 0;
}

/* conn_filter_add_inline - config entries "ADDR[/N] [label]" */
static int conn_filter_add_inline(struct iplist *l, const char *what, const char *const *v,
                                  size_t n, iplist_warn_fn warn, void *warn_arg, struct sx_err *err)
{
	size_t i;

	for (i = 0; i < n; i++) {
		struct sx_err e = { 0 };
		if (iplist_add_line(l, what, 0, v[i], strlen(v[i]), warn, warn_arg, &e) < 0) {
			sx_err_set(err, "%s[%zu]: %s", what, i, e.msg);
			return -1;
		}
	}
	return 0;
}

struct conn_filter *conn_filter_from_config(const struct config_connection_filter *c,
                                            iplist_warn_fn warn, void *warn_arg, struct sx_err *err)
{
	struct conn_filter *f = conn_filter_new();

	if (f == NULL) {
		sx_err_set(err, "out of memory");
		return NULL;
	}
	if (conn_filter_add_inline(f->allow, "connection_filter.ip_allow", c->ip_allow.v,
	                           c->ip_allow.n, warn, warn_arg, err) < 0 ||
	    conn_filter_add_inline(f->block, "connection_filter.ip_block", c->ip_block.v,
	                           c->ip_block.n, warn, warn_arg, err) < 0)
		return conn_filter_free(f);
	if ((c->ip_allow_file != NULL &&
	     iplist_load_file(f->allow, c->ip_allow_file, warn, warn_arg, err) < 0) ||
	    (c->ip_block_file != NULL &&
	     iplist_load_file(f->block, c->ip_block_file, warn, warn_arg, err) < 0) ||
	    (c->safe_list && c->safe_list_file != NULL &&
	     iplist_load_file(f->safe, c->safe_list_file, warn, warn_arg, err) < 0))
		return conn_filter_free(f);
	f->safe_list = c->safe_list;
	f->max_concurrent = (unsigned)c->max_connections_per_ip;
	f->max_per_minute = (unsigned)c->max_connection_rate;
	if (conn_filter_build(f) < 0) {
		sx_err_set(err, "out of memory");
		return conn_filter_free(f);
	}
	return f;
}

/* conn_key - what the limits count: the IPv4 address, or the IPv6 /64 */
static struct net_addr conn_key(const struct net_addr *ip)
{
	struct net_addr k = *ip;

	if (k.family == AF_INET6)
		memset(k.bytes + 8, 0, 8);
	else
		memset(k.bytes + 4, 0, 12);
	return k;
}

void conn_filter_check(const struct conn_filter *f, const struct net_addr *ip, uint64_t now_ms,
                       struct conn_result *out)
{
	char a[NET_ADDR_STRLEN];
	const struct iplist_entry *e;

	memset(out, 0, sizeof(*out));
	if (f == NULL || ip == NULL)
		return;
	net_addr_format(ip, a, sizeof(a));
	if ((e = iplist_lookup(f->allow, ip)) != NULL)
		out->reason = CONN_R_ALLOW_LIST;
	else if (f->safe_list && (e = iplist_lookup(f->safe, ip)) != NULL)
		out->reason = CONN_R_SAFE_LIST;
	if (e != NULL) {
		out->verdict = CONN_ALLOW;
		out->entry = e;
		out->scl = -1;
		out->ipv = "CAL";
		return;
	}
	if ((e = iplist_lookup(f->block, ip)) != NULL) {
		out->verdict = CONN_BLOCK;
		out->reason = CONN_R_BLOCK_LIST;
		out->entry = e;
		snprintf(out->reply, sizeof(out->reply),
		         "550 5.7.1 Service unavailable; Client host [%s] blocked using Customer "
		         "Block list",
		         a);
		return;
	}
	if (f->counter != NULL && (f->max_concurrent > 0 || f->max_per_minute > 0)) {
		struct net_addr k = conn_key(ip);
		struct conn_counts n = { 0, 0 };
		if (f->counter->ops->opened(f->counter->ctx, &k, now_ms, &n) < 0)
			return; /* cannot count: fail open */
		out->counted = true;
		out->concurrent = n.concurrent;
		out->per_minute = n.per_minute;
		if ((f->max_concurrent > 0 && n.concurrent > f->max_concurrent) ||
		    (f->max_per_minute > 0 && n.per_minute > f->max_per_minute)) {
			out->verdict = CONN_TEMPFAIL;
			out->reason = f->max_concurrent > 0 && n.concurrent > f->max_concurrent
			                  ? CONN_R_CONCURRENCY
			                  : CONN_R_RATE;
			snprintf(out->reply, sizeof(out->reply),
			         "421 4.7.0 Too many connections from [%s], try again later", a);
		}
	}
}

void conn_filter_closed(const struct conn_filter *f, const struct net_addr *ip,
                        const struct conn_result *r)
{
	struct net_addr k;

	if (f == NULL || ip == NULL || r == NULL || !r->counted || f->counter == NULL)
		return;
	k = conn_key(ip);
	f->counter->ops->closed(f->counter->ctx, &k);
}

const char *conn_verdict_name(enum conn_verdict v)
{
	switch (v) {
	case CONN_CONTINUE:
		return "continue";
	case CONN_ALLOW:
		return "allow";
	case CONN_BLOCK:
		return "block";
	case CONN_TEMPFAIL:
		return "tempfail";
	}
	return "?";
}

const char *conn_reason_name(enum conn_reason r)
{
	switch (r) {
	case CONN_R_NONE:
		return "none";
	case CONN_R_ALLOW_LIST:
		return "ip_allow";
	case CONN_R_SAFE_LIST:
		return "safe_list";
	case CONN_R_BLOCK_LIST:
		return "ip_block";
	case CONN_R_CONCURRENCY:
		return "max_connections_per_ip";
	case CONN_R_RATE:
		return "max_connection_rate";
	}
	return "?";
}
