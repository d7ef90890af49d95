/*
 * dns_zone - in-memory DNS data: an RFC 1035 master-file loader and the
 * answering logic of the --dns-zone backend
 *
 * The loader reads $ORIGIN, $TTL, comments, relative and absolute names,
 * "@", blank owners (same as the previous record), parentheses across
 * lines, quoted multi-string TXT with \" and \DDD escapes, optional TTL
 * and class fields in either order, and the types A, AAAA, NS, CNAME,
 * SOA, PTR, MX, TXT, SPF and TLSA.  Errors are `file:line:col: message`.
 *
 * Lookups are case-insensitive and follow CNAME chains inside the zone
 * (at most 8 links; a loop or a longer chain is SERVFAIL).  A name that
 * exists with other types, or that has names below it (an empty
 * non-terminal), answers NODATA; anything else is NXDOMAIN.  The zone has
 * no apex: every ancestor of an owner name down to two labels exists
 * (with "a.b.example.com" loaded, "example.com" is NODATA, "com" is
 * NXDOMAIN).  "*.label" owners are RFC 4592 wildcards.  $INCLUDE is
 * refused; the first error stops a load (records before it stay).
 *
 * Tests may mark a name (and optionally one type) as timing out, to play
 * a server that never answers: dns_zone_add_timeout().  The zone backend
 * answers such a query DNS_TIMEOUT at once instead of waiting for the
 * lookup deadline (simulated time, so test suites run fast).
 */
#ifndef SMEXOP_CORE_DNS_ZONE_H
#define SMEXOP_CORE_DNS_ZONE_H

#include "core/dns.h"
#include "core/err.h"

struct arena;
struct dns_zone;

struct dns_zone *dns_zone_new(void);
struct dns_zone *dns_zone_free(struct dns_zone *z);

/* dns_zone_load_file - add the records of a master file; 0 or -1 with err */
int dns_zone_load_file(struct dns_zone *z, const char *path, struct sx_err *err);
/* dns_zone_load_text - the same from memory; name is used in errors */
int dns_zone_load_text(struct dns_zone *z, const char *name, const char *text, size_t len,
                       const char *origin, struct sx_err *err);

/* dns_zone_add - add one record (owner without trailing dot); 0 or -1 */
int dns_zone_add(struct dns_zone *z, const char *owner, const struct dns_rr *rr);
/* dns_zone_add_txt - convenience: one TXT record of one or more strings */
int dns_zone_add_txt(struct dns_zone *z, const char *owner, const char *const *strings,
                     size_t nstrings);
/* dns_zone_add_timeout - queries for owner (of type, or of any type when
 * type is 0) are never answered */
int dns_zone_add_timeout(struct dns_zone *z, const char *owner, enum dns_type type);
/* dns_zone_add_failure - the same for any failure a server can give:
 * DNS_TIMEOUT or DNS_SERVFAIL; -1 for other statuses */
int dns_zone_add_failure(struct dns_zone *z, const char *owner, enum dns_type type,
                         enum dns_status status);

/*
 * dns_zone_answer - answer a query from the zone into *ans, allocating
 * from arena.  Returns 0, or -1 when the query must time out.
 */
int dns_zone_answer(const struct dns_zone *z, struct arena *arena, const char *qname,
                    enum dns_type qtype, struct dns_answer *ans);

#endif
