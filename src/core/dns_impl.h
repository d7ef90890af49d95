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
 * dns_rdata.c decodes wire rdata into struct dns_rr (fuzzed on its own).
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

struct dns {
	struct event_base *base;
	const struct dns_backend_ops *ops;
	void *backend;
	unsigned timeout_ms;
	struct dns_query *queries; /* outstanding, doubly linked */
	unsigned busy;             /* callbacks or ub_process() on the stack */
	bool dying;                /* dns_free() was called while busy */
};

struct dns_query {
	struct dns *dns;
	struct dns_query *prev, *next;
	char name[DNS_TEXT_NAME_MAX]; /* canonical: lower-case, no trailing dot */
	enum dns_type type;
	dns_callback cb;
	void *arg;
	struct arena *arena;    /* the answer lives here until the callback returns */
	struct event *deadline; /* per-lookup timer */
	struct event *deliver;  /* zero-delay delivery of a ready answer */
	struct dns_answer ans;
	bool starting;       /* inside dns_lookup: answers are deferred */
	bool backend_active; /* the backend still owns work for this query */
	int backend_id;      /* unbound async id */
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
 * and ans->qtype may be left unset).  Delivers now, or from the loop when
 * called inside dns_lookup().
 */
void dns_query_answer(struct dns_query *q, const struct dns_answer *ans);

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

#endif
