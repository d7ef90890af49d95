/*
 * spf_macro - the SPF macro language of RFC 7208 section 7
 *
 * Domain-specs and explanation strings may carry macros: %{s} %{l} %{o}
 * %{d} %{i} %{p} %{h} %{v} everywhere, %{c} %{r} %{t} in explanation text
 * only, with transformers (%{d2}, %{ir}), delimiters (%{l-}) and URL
 * escaping for upper-case letters (%{L}), plus the escapes %% %_ %-.
 *
 * spf_macro_check() validates syntax (the record parser calls it once per
 * term); spf_macro_expand() expands into a caller buffer without
 * allocating.  %{p} needs DNS: the expander reports SPF_MACRO_NEED_P when
 * vars->p is NULL, and the evaluator resolves the validated name and
 * expands again.  Nothing here touches the network.
 */
#ifndef SMEXOP_AUTH_SPF_MACRO_H
#define SMEXOP_AUTH_SPF_MACRO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/net.h"

/* flags for check and expand */
#define SPF_MACRO_EXP    1u /* explanation text: c r t allowed, SP allowed */
#define SPF_MACRO_ALL    2u /* any macro letter (values of unknown modifiers) */
#define SPF_MACRO_DOMAIN 4u /* a name to query: drop one trailing dot, §7.3 truncation */

/* longest expansion we produce; longer is an error, never a truncation */
#define SPF_MACRO_OUT_MAX 8192

enum spf_macro_rc {
	SPF_MACRO_OK = 0,
	SPF_MACRO_SYNTAX = -1,  /* invalid macro syntax (permerror) */
	SPF_MACRO_TOOLONG = -2, /* the expansion exceeds the output buffer */
	SPF_MACRO_NEED_P = -3,  /* %{p} used and vars->p not yet known */
};

/*
 * The values macros expand to.  spf_macro_vars_ip() fills i, c and v from
 * the client address; the others point at caller strings.
 */
struct spf_macro_vars {
	const char *s; /* <sender>: local@domain */
	const char *l; /* local-part of <sender> */
	const char *o; /* domain of <sender> */
	const char *d; /* the current <domain> */
	const char *h; /* HELO/EHLO domain */
	const char *r; /* receiving host ("unknown" when not set) */
	const char *p; /* validated name of the client, or NULL: not resolved yet */
	int64_t t;     /* current time in seconds */
	char i[72];    /* dotted address, IPv6 as 32 nibbles */
	char c[NET_ADDR_STRLEN];
	const char *v; /* "in-addr" or "ip6" */
};

/* spf_macro_vars_ip - fill i, c and v from the client address */
void spf_macro_vars_ip(struct spf_macro_vars *v, const struct net_addr *ip);

/*
 * spf_macro_check - validate s[0..n) as a macro-string (or, with
 * SPF_MACRO_EXP, an explain-string).  0 or -1 with a reason in why.
 * *last_end (may be NULL) receives the offset just after the last
 * macro-expand, 0 when there is none: the record parser needs it for the
 * domain-end rule.  *uses_p (may be NULL) is set when %{p} occurs.
 */
int spf_macro_check(const char *s, size_t n, unsigned flags, size_t *last_end, bool *uses_p,
                    char *why, size_t whylen);

/*
 * spf_macro_expand - expand s[0..n) into out (NUL-terminated, *outlen
 * bytes).  Returns an spf_macro_rc; why explains errors.  With
 * SPF_MACRO_DOMAIN the result is ready to query: one trailing dot
 * removed, and labels cut from the left until it fits 253 characters.
 */
int spf_macro_expand(const struct spf_macro_vars *v, const char *s, size_t n, unsigned flags,
                     char *out, size_t outsize, size_t *outlen, char *why, size_t whylen);

#endif
