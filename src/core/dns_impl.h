/*
 * dns_impl - what the dns layer's own files share, not for other modules
 *
 * dns.c owns struct dns and struct dns_query: the deadline timer, the
 * delivery event and the list of outstanding queries.  A backend
 * (dns_unbound.c, the zone backend in dns.c) only starts and cancels the
 * work and hands the answer back with dns_query_answer(); dns.c makes
 * sure the callback never runs inside dns_lookup() and never after a
 * cancel.
 *
 * dns_name.c converts names between presentation text and wire form;
 * dns_rdata.c decodes wire rdata into struct dns_rr (fuzzed on its own);
 * dns_packet.c reads a whole reply message (libunbound's event mode).
 */
#ifndef SMEXOP_CORE_DNS_IMPL_H
#define SMEXOP_CORE_DNS_IMPL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/dns.h"

struct arena;
struct event;

#define DNS_WIRE_NAME_MAX 255 /* RFC 1035 3.1, with the root label */
/* presentation form with every byte escaped as \DDD: 4 per byte, plus NUL */
#define DNS_TEXT_NAME_MAX (4 * DNS_WIRE_NAME_MAX + 1)

struct dns_backend_ops {
	const char *name;
	/* start the backend work for q; 0, or -1 with why set (answered SERVFAIL) */
	int (*start)(struct dns *dns, struct dns_query *q, const char **why);
	/* stop the backend work for q; the backend must not answer q afterwards */
	void (*cancel)(struct dns *dns, struct dns_query *q);
	/* release the backend (all queries have been cancelled) */
	void (*free)(struct dns *dns);
};

struct dns_cache;
struct dns_cache_entry;

struct dns {
	struct event_base *base;
	const struct dns_backend_ops *ops;
	void *backend;
	unsigned timeout_ms;
	struct dns_query *queries; /* outstanding, doubly linked */
	/* answered queries waiting for their callback, in order, drained by
	 * one shared zero-delay event */
	struct dns_query *ready_head, *ready_tail;
	struct event *ready_ev;
	uint64_t ready_seq;      /* numbers the queued answers */
	struct dns_cache *cache; /* NULL: answers are not cached */
	unsigned busy;           /* callbacks on the stack */
	bool dying;              /* dns_free() was called while busy */
};

struct dns_query {
	struct dns *dns;
	struct dns_query *prev, *next;   /* outstanding */
	struct dns_query *rprev, *rnext; /* on the ready list */
	bool ready;
	uint64_t ready_seq;
	char name[DNS_TEXT_NAME_MAX]; /* canonical: lower-case, no trailing dot */
	enum dns_type type;
	dns_callback cb;
	void *arg;
	struct arena *arena;    /* the answer lives here until the callback returns */
	struct event *deadline; /* per-lookup timer (not for cache hits) */
	struct dns_answer ans;
	struct dns_cache_entry *hit; /* a cached answer being delivered (a reference) */
	uint32_t ttl;                /* set by the backend: how long ans may be cached, 0 not */
	bool backend_active;         /* the backend still owns work for this query */
	int backend_id;              /* unbound async id */
};

/* dns_create - a struct dns for a backend; NULL on allocation failure */
struct dns *dns_create(struct event_base *base, const struct dns_backend_ops *ops, void *backend,
                       unsigned timeout_ms);
/* dns_hold, dns_release - bracket code that may run callbacks, so that a
 * dns_free() from inside a callback is finished only when it is safe */
void dns_hold(struct dns *dns);
void dns_release(struct dns *dns);

/*
 * dns_query_answer - the backend's answer for q (built in q->arena, ans->qname
 * and ans->qtype may be left unset; q->ttl says whether and how long it may
 * be cached).  The callback runs later, from the loop: never inside
 * dns_lookup() nor inside the backend's own call stack.
 */
void dns_query_answer(struct dns_query *q, const struct dns_answer *ans);

/* dns_cache_attach - put an answer cache configured by opts in front of
 * dns's backend (unless opts->cache_off); 0 or -1 on allocation failure */
int dns_cache_attach(struct dns *dns, const struct dns_options *opts);

/*
 * The answer cache (dns_cache.c).  Keys are canonical names (as in
 * dns_query.name) and types; the clock gives monotonic milliseconds.
 */
struct dns_cache_opts {
	size_t max_entries, max_bytes; /* 0: the DNS_CACHE_DEFAULT_* values */
	uint32_t max_ttl, neg_ttl;     /* seconds; 0: defaults */
	uint64_t (*clock)(void *arg);
	void *clock_arg;
};

struct dns_cache_stats {
	uint64_t hits, misses, expired, inserts, evictions;
	size_t entries, bytes;
};

/* dns_cache_new - an empty cache; NULL on allocation failure */
struct dns_cache *dns_cache_new(const struct dns_cache_opts *opts);
/* dns_cache_free - drops every entry (those in use live on); returns NULL */
struct dns_cache *dns_cache_free(struct dns_cache *c);
/*
 * dns_cache_get - the live entry for (name, type) with a reference the
 * caller must drop with dns_cache_entry_unref(), or NULL.  Expired entries
 * are dropped on the way.
 */
struct dns_cache_entry *dns_cache_get(struct dns_cache *c, const char *name, enum dns_type type);
const struct dns_answer *dns_cache_entry_answer(const struct dns_cache_entry *e);
void dns_cache_entry_unref(struct dns_cache_entry *e);
/*
 * dns_cache_put - keep a copy of ans for ttl seconds (capped by max_ttl, or
 * neg_ttl for NXDOMAIN and NODATA), evicting the least recently used
 * entries to stay within the bounds.  Only DNS_OK, DNS_NXDOMAIN and
 * DNS_NODATA with a non-zero TTL are kept: 0 when stored, -1 when not.
 */
int dns_cache_put(struct dns_cache *c, const char *name, enum dns_type type,
                  const struct dns_answer *ans, uint32_t ttl);
void dns_cache_get_stats(const struct dns_cache *c, struct dns_cache_stats *st);
/* dns_cache_stats - the statistics of dns's cache (all zero without one) */
void dns_cache_stats(const struct dns *dns, struct dns_cache_stats *st);

/* dns_zone_backend_new - the zone backend; with owned, dns_free() frees zone */
struct dns *dns_zone_backend_new(struct event_base *base, struct dns_zone *zone, bool owned,
                                 unsigned timeout_ms);

/* dns_unbound_new - set up the libunbound backend on dns; 0 or -1 with err */
int dns_unbound_new(struct dns *dns, const struct dns_options *opts, struct sx_err *err);

/* dns_rr_copy - replace the pointers of rr by copies in a; 0 or -1 */
int dns_rr_copy(struct arena *a, struct dns_rr *rr);

/*
 * dns_name_to_wire - parse presentation text (escapes \X and \DDD, absolute
 * or not) into wire form.  *absolute tells whether it ended in a dot.  The
 * root is "." (wire length 1).  0, or -1 with a static reason in *why.
 */
int dns_name_to_wire(const char *text, size_t len, uint8_t *wire, size_t *wire_len, bool *absolute,
                     const char **why);
/*
 * dns_name_from_wire - the uncompressed wire name at buf[*off..len) as
 * canonical text (lower-case, no trailing dot, special bytes escaped; the
 * root is "").  Advances *off.  Compression pointers are refused.  0 or -1.
 */
int dns_name_from_wire(const uint8_t *buf, size_t len, size_t *off, char *out, size_t outsize);
/* dns_name_canon - text name to canonical text; 0, or -1 with why */
int dns_name_canon(const char *text, char *out, size_t outsize, const char **why);

/*
 * dns_rdata_decode - decode one rdata of type into rr, allocating from
 * arena.  Every read is bounds-checked against len.  0, or -1 with a static
 * reason in *why (malformed data or allocation failure).
 */
int dns_rdata_decode(struct arena *arena, enum dns_type type, uint32_t ttl, const uint8_t *rdata,
                     size_t len, struct dns_rr *rr, const char **why);

/*
 * dns_packet_decode - the answer to (qname, qtype) in the wire-format reply
 * pkt[0..len) (dns_packet.c): the status from the rcode and the answer
 * section, CNAMEs followed from qname (canonname set when one was), the
 * records of qtype at the final owner decoded into arena.  *ttl is how long
 * the answer may be kept: the least TTL over the CNAMEs and the records
 * used; for NXDOMAIN and NODATA min(SOA TTL, SOA minimum) from the
 * authority section, UINT32_MAX when it has no SOA.  An rcode other than
 * NOERROR or NXDOMAIN gives DNS_SERVFAIL.  Returns 0, or -1 with a static
 * reason in *why when the packet is malformed (ans->status is then
 * DNS_SERVFAIL, or DNS_NOMEM).
 */
int dns_packet_decode(struct arena *arena, const uint8_t *pkt, size_t len, const char *qname,
                      enum dns_type qtype, struct dns_answer *ans, uint32_t *ttl, const char **why);

#endif
