/*
 * spf_record - SPF record selection and parsing (RFC 7208 sections 4.5, 4.6, 5, 6, 12)
 *
 * spf_record_select() picks the one "v=spf1" record among the TXT strings
 * of a name; spf_record_parse() turns it into terms.  Parsing checks the
 * whole record against the ABNF before anything is evaluated, as 4.6
 * requires, and gives a precise reason (term text and what is wrong) for
 * the permerror.  Domain-specs are kept unexpanded: macros are expanded
 * at evaluation time by spf.c.  The parsed record lives in the caller's
 * arena and is read-only afterwards, so the evaluator caches it next to
 * the DNS answer it came from.
 */
#ifndef SMEXOP_AUTH_SPF_RECORD_H
#define SMEXOP_AUTH_SPF_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/net.h"

struct arena;
struct dns_answer;

#define SPF_RECORD_MAX_LEN   4096 /* bytes after joining the TXT strings */
#define SPF_RECORD_MAX_TERMS 512

enum spf_mech {
	SPF_MECH_ALL,
	SPF_MECH_INCLUDE,
	SPF_MECH_A,
	SPF_MECH_MX,
	SPF_MECH_PTR,
	SPF_MECH_IP4,
	SPF_MECH_IP6,
	SPF_MECH_EXISTS,
};

struct spf_term {
	enum spf_mech mech;
	char qual;          /* '+', '-', '~' or '?' */
	const char *text;   /* the term as written (NUL-terminated) */
	const char *domain; /* unexpanded domain-spec, NULL when absent */
	size_t domain_len;
	bool domain_macros; /* the domain-spec holds a macro */
	uint8_t cidr4;      /* prefix lengths; 32 and 128 when absent */
	uint8_t cidr6;
	struct net_addr addr; /* ip4 / ip6 network */
};

struct spf_record {
	size_t nterms; /* mechanisms only, in order */
	struct spf_term *terms;
	const char *redirect; /* unexpanded domain-spec or NULL */
	size_t redirect_len;
	bool redirect_macros;
	const char *exp; /* unexpanded domain-spec or NULL */
	size_t exp_len;
	unsigned dns_terms; /* include a mx ptr exists + redirect: for linting */
	const char *error;  /* NULL when valid; else why it is a permerror */
};

/*
 * spf_record_select - find the SPF record among a TXT answer's records:
 * those whose text starts with "v=spf1" (any case) followed by a space or
 * the end.  Returns how many there are; when exactly one, *text and *len
 * point at it (inside the answer).
 */
size_t spf_record_select(const struct dns_answer *ans, const char **text, size_t *len);

/* spf_record_is_spf - text[0..len) starts an SPF version 1 record */
bool spf_record_is_spf(const char *text, size_t len);

/*
 * spf_record_parse - parse text[0..len) (which may hold NUL bytes).
 * Returns NULL only when memory runs out; a syntax error gives a record
 * with error set (and no terms).
 */
struct spf_record *spf_record_parse(struct arena *a, const char *text, size_t len);

/* spf_mech_name - "all", "include", ... */
const char *spf_mech_name(enum spf_mech m);

#endif
