/*
 * dns_cache - the dns layer's in-process answer cache (see dns_impl.h)
 *
 * libunbound keeps its own cache, but asking it still costs a call into
 * its mesh, a packet encoding and our packet decoding.  SPF and DKIM ask
 * the same few names over and over, so dns.c keeps the decoded answers of
 * the libunbound backend here, keyed by (canonical name, type): positive
 * answers for the least TTL of the records used, NXDOMAIN and NODATA for
 * the SOA's negative TTL under a cap, never failures.
 *
 * An entry is one malloc block holding the struct dns_answer and
 * everything it points to, so its size is known exactly and the cache is
 * bounded both in entries and in bytes; eviction is least recently used.
 * Entries are reference counted: an answer being delivered stays valid
 * until its callback has returned even if the cache drops the entry in
 * the meantime (expiry, eviction, dns_free).
 */
#include <stdlib.h>
#include <string.h>

#include "core/dns.h"
#include "core/dns_impl.h"

#define CACHE_BUCKETS_MAX (1u << 20)
#define CACHE_ALIGN       16

struct dns_cache_entry {
	struct dns_cache_entry *hnext;         /* hash chain */
	struct dns_cache_entry *lprev, *lnext; /* LRU list, most recent first */
	uint64_t hash;
	uint64_t expires_ms; /* on the cache clock */
	size_t bytes;
	unsigned refs; /* the cache's own, plus one per delivery in flight */
	bool cached;   /* still reachable from the table */
	enum dns_type type;
	char *name;
	struct dns_answer ans;
};

struct dns_cache {
	struct dns_cache_entry **buckets;
	size_t mask;
	struct dns_cache_entry *lru_head, *lru_tail;
	struct dns_cache_opts opts;
	struct dns_cache_stats stats;
};

/* a bump allocator over an entry's block, or a size counter when base is NULL */
struct cache_bump {
	char *base;
	size_t used;
};

static void *cache_take(struct cache_bump *b, size_t n)
{
	void *p = b->base != NULL ? b->base + b->used : NULL;

	b->used += (n + CACHE_ALIGN - 1) & ~(size_t)(CACHE_ALIGN - 1);
	return p;
}

static char *cache_str(struct cache_bump *b, const char *s)
{
	size_t n = strlen(s) + 1;
	char *p = cache_take(b, n);

	if (p != NULL)
		memcpy(p, s, n);
	return p;
}

static void *cache_mem(struct cache_bump *b, const void *s, size_t n)
{
	void *p = cache_take(b, n);

	if (p != NULL && n > 0)
		memcpy(p, s, n);
	return p;
}

/* cache_rr_copy - rr's pointed-to data into b (sizes only when b has no base) */
static void cache_rr_copy(struct cache_bump *b, struct dns_rr *rr)
{
	switch (rr->type) {
	case DNS_T_NS:
	case DNS_T_CNAME:
	case DNS_T_PTR:
		if (rr->u.name != NULL)
			rr->u.name = cache_str(b, rr->u.name);
		break;
	case DNS_T_MX:
		if (rr->u.mx.host != NULL)
			rr->u.mx.host = cache_str(b, rr->u.mx.host);
		break;
	case DNS_T_TXT:
	case DNS_T_SPF:
		if (rr->u.txt.data != NULL) {
			char *d = cache_take(b, rr->u.txt.len + 1);
			if (d != NULL) {
				memcpy(d, rr->u.txt.data, rr->u.txt.len);
				d[rr->u.txt.len] = '\0';
			}
			rr->u.txt.data = d;
		}
		if (rr->u.txt.string_len != NULL)
			rr->u.txt.string_len =
			    cache_mem(b, rr->u.txt.string_len, rr->u.txt.nstrings * sizeof(size_t));
		break;
	case DNS_T_TLSA:
		if (rr->u.tlsa.data != NULL)
			rr->u.tlsa.data = cache_mem(b, rr->u.tlsa.data, rr->u.tlsa.len + 1);
		break;
	case DNS_T_SOA:
		if (rr->u.soa.mname != NULL)
			rr->u.soa.mname = cache_str(b, rr->u.soa.mname);
		if (rr->u.soa.rname != NULL)
			rr->u.soa.rname = cache_str(b, rr->u.soa.rname);
		break;
	default:
		break;
	}
}

/* cache_flatten - the entry for (name, type, ans) laid out in b from its
 * start (or only measured, when b has no base) */
static void cache_flatten(struct cache_bump *b, const char *name, enum dns_type type,
                          const struct dns_answer *ans)
{
	struct dns_cache_entry *e = cache_take(b, sizeof(*e));
	struct dns_cache_entry dummy;
	struct dns_rr *rr;
	size_t i;

	if (e == NULL)
		e = &dummy;
	memset(e, 0, sizeof(*e));
	e->type = type;
	e->name = cache_str(b, name);
	e->ans.status = ans->status;
	e->ans.sec = ans->sec;
	e->ans.qtype = type;
	e->ans.qname = e->name;
	if (ans->canonname != NULL && strcmp(ans->canonname, name) != 0)
		e->ans.canonname = cache_str(b, ans->canonname);
	else
		e->ans.canonname = e->name;
	if (ans->count == 0 || ans->rr == NULL)
		return;
	rr = cache_take(b, ans->count * sizeof(*rr));
	for (i = 0; i < ans->count; i++) {
		struct dns_rr tmp = ans->rr[i];
		cache_rr_copy(b, &tmp);
		if (rr != NULL)
			rr[i] = tmp;
	}
	e->ans.rr = rr;
	e->ans.count = ans->count;
}

struct dns_cache *dns_cache_new(const struct dns_cache_opts *opts)
{
	struct dns_cache *c = calloc(1, sizeof(*c));
	size_t n = 16;

	if (c == NULL)
		return NULL;
	if (opts != NULL)
		c->opts = *opts;
	if (c->opts.max_entries == 0)
		c->opts.max_entries = DNS_CACHE_DEFAULT_ENTRIES;
	if (c->opts.max_bytes == 0)
		c->opts.max_bytes = DNS_CACHE_DEFAULT_BYTES;
	if (c->opts.max_ttl == 0)
		c->opts.max_ttl = DNS_CACHE_DEFAULT_MAX_TTL;
	if (c->opts.neg_ttl == 0)
		c->opts.neg_ttl = DNS_CACHE_DEFAULT_NEG_TTL;
	while (n < c->opts.max_entries && n < CACHE_BUCKETS_MAX)
		n <<= 1;
	c->buckets = calloc(n, sizeof(*c->buckets));
	if (c->buckets == NULL) {
		free(c);
		return NULL;
	}
	c->mask = n - 1;
	return c;
}

void dns_cache_entry_unref(struct dns_cache_entry *e)
{
	if (e != NULL && --e->refs == 0)
		free(e);
}

/* cache_unlink - take e out of the table and the LRU list, drop the cache's reference */
static void cache_unlink(struct dns_cache *c, struct dns_cache_entry *e)
{
	struct dns_cache_entry **pp = &c->buckets[e->hash & c->mask];

	while (*pp != NULL && *pp != e)
		pp = &(*pp)->hnext;
	if (*pp == e)
		*pp = e->hnext;
	if (e->lprev != NULL)
		e->lprev->lnext = e->lnext;
	else
		c->lru_head = e->lnext;
	if (e->lnext != NULL)
		e->lnext->lprev = e->lprev;
	else
		c->lru_tail = e->lprev;
	e->hnext = e->lprev = e->lnext = NULL;
	e->cached = false;
	c->stats.entries--;
	c->stats.bytes -= e->bytes;
	dns_cache_entry_unref(e);
}

struct dns_cache *dns_cache_free(struct dns_cache *c)
{
	if (c == NULL)
		return NULL;
	while (c->lru_head != NULL)
		cache_unlink(c, c->lru_head);
	free(c->buckets);
	free(c);
	return NULL;
}

/* cache_hash - FNV-1a over the canonical name and the type */
static uint64_t cache_hash(const char *name, enum dns_type type)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (const unsigned char *p = (const unsigned char *)name; *p != '\0'; p++)
		h = (h ^ *p) * 0x100000001b3ull;
	h = (h ^ (uint64_t)type) * 0x100000001b3ull;
	return h ^ h >> 29;
}

static struct dns_cache_entry *cache_find(struct dns_cache *c, const char *name, enum dns_type type,
                                          uint64_t hash)
{
	struct dns_cache_entry *e;

	for (e = c->buckets[hash & c->mask]; e != NULL; e = e->hnext)
		if (e->hash == hash && e->type == type && strcmp(e->name, name) == 0)
			return e;
	return NULL;
}

static uint64_t cache_now(const struct dns_cache *c)
{
	return c->opts.clock != NULL ? c->opts.clock(c->opts.clock_arg) : 0;
}

struct dns_cache_entry *dns_cache_get(struct dns_cache *c, const char *name, enum dns_type type)
{
	uint64_t hash, now;
	struct dns_cache_entry *e;
	uint32_t left;

	if (c == NULL || name == NULL)
		return NULL;
	hash = cache_hash(name, type);
	e = cache_find(c, name, type, hash);
	if (e == NULL) {
		c->stats.misses++;
		return NULL;
	}
	now = cache_now(c);
	if (now >= e->expires_ms) {
		cache_unlink(c, e);
		c->stats.misses++;
		c->stats.expired++;
		return NULL;
	}
	if (c->lru_head != e) { /* to the front */
		e->lprev->lnext = e->lnext;
		if (e->lnext != NULL)
			e->lnext->lprev = e->lprev;
		else
			c->lru_tail = e->lprev;
		e->lprev = NULL;
		e->lnext = c->lru_head;
		c->lru_head->lprev = e;
		c->lru_head = e;
	}
	/* the TTLs a caller sees count down; deliveries of this entry still in
	 * flight see the newer value too, which is only ever a little smaller */
	left = (uint32_t)((e->expires_ms - now + 999) / 1000);
	for (size_t i = 0; i < e->ans.count; i++)
		if (e->ans.rr[i].ttl > left)
			e->ans.rr[i].ttl = left;
	e->refs++;
	c->stats.hits++;
	return e;
}

const struct dns_answer *dns_cache_entry_answer(const struct dns_cache_entry *e)
{
	return e != NULL ? &e->ans : NULL;
}

int dns_cache_put(struct dns_cache *c, const char *name, enum dns_type type,
                  const struct dns_answer *ans, uint32_t ttl)
{
	struct cache_bump b = { NULL, 0 };
	struct dns_cache_entry *e, *old;
	uint64_t hash;

	if (c == NULL || name == NULL || ans == NULL)
		return -1;
	switch (ans->status) {
	case DNS_OK:
		if (ttl > c->opts.max_ttl)
			ttl = c->opts.max_ttl;
		break;
	case DNS_NXDOMAIN:
	case DNS_NODATA:
		if (ttl > c->opts.neg_ttl)
			ttl = c->opts.neg_ttl;
		break;
	default:
		return -1; /* failures are never cached */
	}
	if (ttl == 0 || ans->sec == DNS_SEC_BOGUS)
		return -1;
	cache_flatten(&b, name, type, ans); /* measure */
	if (b.used > c->opts.max_bytes)
		return -1;
	hash = cache_hash(name, type);
	old = cache_find(c, name, type, hash);
	if (old != NULL)
		cache_unlink(c, old);
	while (c->lru_tail != NULL && (c->stats.entries + 1 > c->opts.max_entries ||
	                               c->stats.bytes + b.used > c->opts.max_bytes)) {
		cache_unlink(c, c->lru_tail);
		c->stats.evictions++;
	}
	b.base = malloc(b.used);
	if (b.base == NULL)
		return -1;
	b.used = 0;
	cache_flatten(&b, name, type, ans);
	e = (struct dns_cache_entry *)(void *)b.base;
	e->bytes = b.used;
	e->hash = hash;
	e->expires_ms = cache_now(c) + (uint64_t)ttl * 1000;
	e->refs = 1;
	e->cached = true;
	for (size_t i = 0; i < e->ans.count; i++)
		if (e->ans.rr[i].ttl > ttl)
			e->ans.rr[i].ttl = ttl;
	e->hnext = c->buckets[hash & c->mask];
	c->buckets[hash & c->mask] = e;
	e->lnext = c->lru_head;
	if (c->lru_head != NULL)
		c->lru_head->lprev = e;
	else
		c->lru_tail = e;
	c->lru_head = e;
	c->stats.entries++;
	c->stats.bytes += e->bytes;
	c->stats.inserts++;
	return 0;
}

void dns_cache_get_stats(const struct dns_cache *c, struct dns_cache_stats *st)
{
	if (c == NULL)
		memset(st, 0, sizeof(*st));
	else
		*st = c->stats;
}
