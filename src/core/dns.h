/*
 * dns - asynchronous DNS lookups for every engine
 *
 * One interface, two backends:
 *   - libunbound (recursive, or forwarding to --dns HOST:PORT), with its
 *     descriptor in the libevent loop and DNSSEC validation when a trust
 *     anchor is configured;
 *   - an in-memory zone (--dns-zone FILE, see dns_zone.h) that answers
 *     from local data, for offline use, demos and tests.
 *
 * A lookup never calls its callback before dns_lookup() has returned:
 * both backends deliver answers from the event loop, so callers can
 * start several lookups and then wait for them.
 *
 * NXDOMAIN, NODATA, SERVFAIL and timeout are kept apart because the
 * protocols treat them differently (SPF void lookups, DKIM temperror,
 * DANE bogus).  Every lookup has a deadline (dns_options.timeout_ms);
 * when it passes, the query is cancelled and answered DNS_TIMEOUT.
 *
 * The answer passed to the callback belongs to the dns layer and is valid
 * only during the callback: dns_answer_dup() copies it into an arena.
 *
 * The libunbound backend has a bounded in-process answer cache in front
 * of it (dns_options.cache_*): answers, NXDOMAIN and NODATA are kept for
 * their TTL, failures never; a cached answer is still delivered from the
 * loop, with its TTLs counted down.
 */
#ifndef SMEXOP_CORE_DNS_H
#define SMEXOP_CORE_DNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

struct arena;
struct event_base;

enum dns_type {
	DNS_T_A = 1,
	DNS_T_NS = 2,
	DNS_T_CNAME = 5,
	DNS_T_SOA = 6,
	DNS_T_PTR = 12,
	DNS_T_MX = 15,
	DNS_T_TXT = 16,
	DNS_T_AAAA = 28,
	DNS_T_SPF = 99,
	DNS_T_TLSA = 52,
};

enum dns_status {
	DNS_OK,       /* at least one record of the asked type */
	DNS_NXDOMAIN, /* the name does not exist */
	DNS_NODATA,   /* the name exists, no record of this type */
	DNS_SERVFAIL, /* server failure, refused, or DNSSEC bogus */
	DNS_TIMEOUT,  /* no answer before the deadline */
	DNS_BADNAME,  /* the name cannot be queried (too long, empty label) */
	DNS_NOMEM,    /* resource failure on our side */
};

enum dns_sec {
	DNS_SEC_INSECURE, /* no validation, or provably unsigned */
	DNS_SEC_SECURE,   /* validated by DNSSEC */
	DNS_SEC_BOGUS,    /* signed but failed validation */
};

struct dns_txt {
	size_t len; /* length of data: the strings concatenated */
	char *data; /* NUL-terminated (may contain NUL bytes) */
	size_t nstrings;
	size_t *string_len; /* length of each character-string */
};

struct dns_mx {
	uint16_t preference;
	char *host; /* without the trailing dot, lower-case; "" is the root (null MX) */
};

struct dns_tlsa {
	uint8_t usage, selector, mtype;
	size_t len;
	uint8_t *data;
};

struct dns_soa {
	char *mname, *rname; /* no trailing dot, lower-case */
	uint32_t serial, refresh, retry, expire, minimum;
};

struct dns_rr {
	enum dns_type type;
	uint32_t ttl;
	union {
		uint8_t a[4];
		uint8_t aaaa[16];
		char *name; /* PTR, CNAME, NS: no trailing dot, lower-case */
		struct dns_mx mx;
		struct dns_txt txt;
		struct dns_tlsa tlsa;
		struct dns_soa soa;
	} u;
};

struct dns_answer {
	enum dns_status status;
	enum dns_sec sec;
	enum dns_type qtype;
	const char *qname;
	const char *canonname; /* after CNAMEs; equals qname when none */
	size_t count;
	struct dns_rr *rr;
	const char *why; /* human text for failures and bogus data, or NULL */
};

typedef void (*dns_callback)(const struct dns_answer *answer, void *arg);

struct dns_options {
	const char *forward_host; /* NULL: recursive from the system resolvers */
	unsigned forward_port;
	const char *zone_file;    /* non-NULL: in-memory zone backend only */
	const char *trust_anchor; /* DNSSEC trust anchor file, or NULL */
	unsigned timeout_ms;      /* per lookup; 0 means DNS_DEFAULT_TIMEOUT_MS */
	/* the answer cache in front of libunbound (the zone backend has none);
	 * every field 0 gives the defaults below */
	bool cache_off;           /* no answer cache */
	size_t cache_max_entries; /* 0: DNS_CACHE_DEFAULT_ENTRIES */
	size_t cache_max_bytes;   /* 0: DNS_CACHE_DEFAULT_BYTES */
	uint32_t cache_max_ttl;   /* seconds; 0: DNS_CACHE_DEFAULT_MAX_TTL */
	uint32_t cache_neg_ttl;   /* cap for NXDOMAIN/NODATA; 0: DNS_CACHE_DEFAULT_NEG_TTL */
	/* monotonic milliseconds for the cache; NULL: libevent's monotonic timer */
	uint64_t (*cache_clock)(void *arg);
	void *cache_clock_arg;
};

#define DNS_CACHE_DEFAULT_ENTRIES 10000
#define DNS_CACHE_DEFAULT_BYTES   (16 * 1024 * 1024)
#define DNS_CACHE_DEFAULT_MAX_TTL 86400
#define DNS_CACHE_DEFAULT_NEG_TTL 300

#define DNS_DEFAULT_TIMEOUT_MS 5000
#define DNS_NAME_MAX           253 /* presentation form, no trailing dot */
#define DNS_LABEL_MAX          63

struct dns;
struct dns_query;
struct dns_zone;

/* dns_new - create a resolver on the loop; NULL and err on failure */
struct dns *dns_new(struct event_base *base, const struct dns_options *opts, struct sx_err *err);
/* dns_new_zone - a resolver answering from zone (borrowed, must outlive it) */
struct dns *dns_new_zone(struct event_base *base, struct dns_zone *zone);
/* dns_free - cancels outstanding queries without calling back; returns NULL */
struct dns *dns_free(struct dns *dns);

/*
 * dns_lookup - start a lookup.  The callback runs exactly once unless the
 * query is cancelled.  Returns NULL only on resource failure (nothing
 * will be called back).  A name that cannot be queried is answered
 * DNS_BADNAME through the callback.
 */
struct dns_query *dns_lookup(struct dns *dns, const char *name, enum dns_type type, dns_callback cb,
                             void *arg);
/* dns_cancel - the callback will not run */
void dns_cancel(struct dns_query *q);

/* dns_answer_dup - deep copy into an arena; NULL on allocation failure */
struct dns_answer *dns_answer_dup(struct arena *a, const struct dns_answer *ans);

/* dns_type_name - "A", "MX", ...; NULL for a type this layer does not know */
const char *dns_type_name(enum dns_type type);
/* dns_type_parse - the type named name[0..len) (any case), or 0 */
int dns_type_parse(const char *name, size_t len);
const char *dns_status_name(enum dns_status status);
const char *dns_sec_name(enum dns_sec sec);
/* dns_name_check - 0 when name is a queryable domain name (labels 1..63,
 * total <= 253, a trailing dot allowed), -1 otherwise */
int dns_name_check(const char *name);

/*
 * dns_resolve_sync - run the loop until one answer arrives; for tools and
 * tests.  The answer is copied into arena.
 */
struct dns_answer *dns_resolve_sync(struct dns *dns, struct event_base *base, struct arena *arena,
                                    const char *name, enum dns_type type);

#endif
