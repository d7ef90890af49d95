/*
 * spf_record - SPF record selection and the RFC 7208 term parser
 *
 * The parser is a single left-to-right pass over the space-separated
 * terms; each term is classified (modifier when it starts with a name
 * followed by '=', mechanism otherwise) and checked against the ABNF of
 * RFC 7208 section 12, including the macro syntax of every domain-spec
 * and the domain-end rule (a domain-spec ends in a macro or in "." and a
 * valid top label).  See spf_record.h.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "auth/spf_macro.h"
#include "auth/spf_record.h"
#include "core/arena.h"
#include "core/dns.h"
#include "core/str.h"

#define WHY_MAX   200
#define QUOTE_MAX 96 /* quote() output: 80 characters and an ellipsis */

static const char *const mech_names[] = {
	[SPF_MECH_ALL] = "all", [SPF_MECH_INCLUDE] = "include", [SPF_MECH_A] = "a",
	[SPF_MECH_MX] = "mx",   [SPF_MECH_PTR] = "ptr",         [SPF_MECH_IP4] = "ip4",
	[SPF_MECH_IP6] = "ip6", [SPF_MECH_EXISTS] = "exists",
};

const char *spf_mech_name(enum spf_mech m)
{
	return (unsigned)m < sizeof(mech_names) / sizeof(mech_names[0]) ? mech_names[m] : "?";
}

bool spf_record_is_spf(const char *text, size_t len)
{
	return len >= 6 && str_ncasecmp(text, "v=spf1", 6) == 0 && (len == 6 || text[6] == ' ');
}

size_t spf_record_select(const struct dns_answer *ans, const char **text, size_t *len)
{
	size_t i, n = 0;

	*text = NULL;
	*len = 0;
	if (ans == NULL || ans->status != DNS_OK)
		return 0;
	for (i = 0; i < ans->count; i++) {
		const struct dns_rr *rr = &ans->rr[i];
		if (rr->type != DNS_T_TXT || !spf_record_is_spf(rr->u.txt.data, rr->u.txt.len))
			continue;
		if (n++ == 0) {
			*text = rr->u.txt.data;
			*len = rr->u.txt.len;
		}
	}
	if (n != 1) {
		*text = NULL;
		*len = 0;
	}
	return n;
}

/* quote - printable rendering of s[0..n) for messages: \xHH for odd bytes,
 * cut at about 80 characters */
static void quote(char *out, size_t outsize, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0, i;

	for (i = 0; i < n && o + 8 < outsize; i++) {
		unsigned char c = (unsigned char)s[i];
		if (i >= 80) {
			memcpy(out + o, "...", 3);
			o += 3;
			break;
		}
		if (c >= 0x20 && c < 0x7f) {
			out[o++] = (char)c;
		} else {
			out[o++] = '\\';
			out[o++] = 'x';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 15];
		}
	}
	out[o] = '\0';
}

static bool toplabel_ok(const char *s, size_t n)
{
	bool alpha = false, dash = false;
	size_t i;

	if (n == 0 || !str_is_alnum(s[0]) || !str_is_alnum(s[n - 1]))
		return false;
	for (i = 0; i < n; i++) {
		if (str_is_alpha(s[i]))
			alpha = true;
		else if (s[i] == '-')
			dash = true;
		else if (!str_is_digit(s[i]))
			return false;
	}
	return alpha || dash;
}

/*
 * domain_spec_check - domain-spec = macro-string domain-end;
 * domain-end = ( "." toplabel [ "." ] ) / macro-expand
 */
static int domain_spec_check(const char *s, size_t n, bool *macros, char *why, size_t whylen)
{
	size_t last_end, e, k;
	char m[WHY_MAX];

	if (n == 0) {
		snprintf(why, whylen, "empty domain-spec");
		return -1;
	}
	if (spf_macro_check(s, n, 0, &last_end, NULL, m, sizeof(m)) < 0) {
		snprintf(why, whylen, "%s", m);
		return -1;
	}
	*macros = memchr(s, '%', n) != NULL;
	if (last_end == n)
		return 0;
	e = n;
	if (s[e - 1] == '.')
		e--;
	for (k = e; k > last_end && s[k - 1] != '.'; k--)
		;
	if (k == last_end || k == 0 || s[k - 1] != '.') {
		snprintf(why, whylen,
		         "domain must end with a macro or with a dot and a top-level label");
		return -1;
	}
	if (!toplabel_ok(s + k, e - k)) {
		char q[QUOTE_MAX];

		quote(q, sizeof(q), s + k, e - k);
		if (e - k > 0 && str_to_u64(s + k, e - k, 0, UINT64_MAX, &(uint64_t){ 0 }) == 0)
			snprintf(why, whylen,
			         "top-level label '%s' is all digits (an IP address belongs in "
			         "ip4:)",
			         q);
		else
			snprintf(why, whylen, "invalid top-level label '%s'", q);
		return -1;
	}
	return 0;
}

/* cidr_parse - one prefix length s[0..n): digits, no leading zero, <= max */
static int cidr_parse(const char *s, size_t n, unsigned max, uint8_t *out, char *why, size_t whylen)
{
	uint64_t v;

	if (n > 1 && s[0] == '0') {
		snprintf(why, whylen, "prefix length '/%.*s' has a leading zero", (int)n, s);
		return -1;
	}
	if (str_to_u64(s, n, 0, max, &v) < 0) {
		snprintf(why, whylen, "prefix length '/%.*s' is out of range (0-%u)",
		         n > 10 ? 10 : (int)n, s, max);
		return -1;
	}
	*out = (uint8_t)v;
	return 0;
}

/*
 * dual_cidr - strip [ "/" ip4-cidr ] [ "//" ip6-cidr ] from the end of
 * s[0..n); *end receives where the rest ends.
 */
static int dual_cidr(const char *s, size_t n, size_t *end, uint8_t *c4, uint8_t *c6, char *why,
                     size_t whylen)
{
	size_t e = n, d = n;

	while (d > 0 && str_is_digit(s[d - 1]))
		d--;
	if (d < e && d >= 2 && s[d - 1] == '/' && s[d - 2] == '/') {
		if (cidr_parse(s + d, e - d, 128, c6, why, whylen) < 0)
			return -1;
		e = d - 2;
		d = e;
		while (d > 0 && str_is_digit(s[d - 1]))
			d--;
		if (d < e && d >= 1 && s[d - 1] == '/' && !(d >= 2 && s[d - 2] == '/')) {
			if (cidr_parse(s + d, e - d, 32, c4, why, whylen) < 0)
				return -1;
			e = d - 1;
		}
	} else if (d < e && d >= 1 && s[d - 1] == '/') {
		if (cidr_parse(s + d, e - d, 32, c4, why, whylen) < 0)
			return -1;
		e = d - 1;
	}
	*end = e;
	return 0;
}

/* ip4_parse - strict dotted quad of RFC 7208 (no leading zeros) */
static int ip4_parse(const char *s, size_t n, struct net_addr *out)
{
	size_t i = 0;
	int part;

	memset(out, 0, sizeof(*out));
	out->family = AF_INET;
	for (part = 0; part < 4; part++) {
		size_t start = i;
		unsigned v = 0;
		while (i < n && str_is_digit(s[i]) && i - start < 3)
			v = v * 10 + (unsigned)(s[i++] - '0');
		if (i == start || v > 255 || (i - start > 1 && s[start] == '0'))
			return -1;
		out->bytes[part] = (uint8_t)v;
		if (part < 3) {
			if (i >= n || s[i] != '.')
				return -1;
			i++;
		}
	}
	return i == n ? 0 : -1;
}

static const uint8_t v4mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

static int ip6_parse(const char *s, size_t n, struct net_addr *out)
{
	char tmp[NET_ADDR_STRLEN];

	memset(out, 0, sizeof(*out));
	if (n == 0 || n >= sizeof(tmp))
		return -1;
	memcpy(tmp, s, n);
	tmp[n] = '\0';
	/* inet_pton directly: net_addr_parse would turn ::ffff:a.b.c.d into
	 * IPv4 before the prefix length is known */
	if (inet_pton(AF_INET6, tmp, out->bytes) != 1)
		return -1;
	out->family = AF_INET6;
	return 0;
}

static int parse_ip(struct spf_term *t, const char *rest, size_t n, char *why, size_t whylen)
{
	bool v4 = t->mech == SPF_MECH_IP4;
	const char *slash;
	size_t alen;
	char q[QUOTE_MAX];

	if (n == 0 || rest[0] != ':') {
		snprintf(why, whylen, "%s needs ':' and a network", v4 ? "ip4" : "ip6");
		return -1;
	}
	rest++;
	n--;
	slash = memchr(rest, '/', n);
	alen = slash ? (size_t)(slash - rest) : n;
	if ((v4 ? ip4_parse(rest, alen, &t->addr) : ip6_parse(rest, alen, &t->addr)) < 0) {
		quote(q, sizeof(q), rest, alen);
		snprintf(why, whylen, "'%s' is not an %s address", q,
		         v4 ? "IPv4 (dotted quad)" : "IPv6");
		return -1;
	}
	if (slash != NULL) {
		size_t clen = n - alen - 1;
		if (clen > 0 && slash[1] == '/') {
			snprintf(why, whylen, "dual prefix lengths are only for a and mx");
			return -1;
		}
		if (clen == 0 || str_to_u64(slash + 1, clen, 0, UINT64_MAX, &(uint64_t){ 0 }) < 0) {
			quote(q, sizeof(q), slash, clen + 1);
			snprintf(why, whylen, "invalid prefix length '%s'", q);
			return -1;
		}
		if (cidr_parse(slash + 1, clen, v4 ? 32 : 128, v4 ? &t->cidr4 : &t->cidr6, why,
		               whylen) < 0)
			return -1;
	}
	if (!v4 && t->cidr6 >= 96 && memcmp(t->addr.bytes, v4mapped, sizeof(v4mapped)) == 0) {
		/* ::ffff:a.b.c.d/n is an IPv4 network written in IPv6, and "IPv4-mapped
		 * IPv6 addresses MUST be treated as IPv4" (RFC 7208 5): it matches the
		 * IPv4 client a.b.c.d, with prefix n - 96 */
		memmove(t->addr.bytes, t->addr.bytes + 12, 4);
		memset(t->addr.bytes + 4, 0, 12);
		t->addr.family = AF_INET;
		t->cidr4 = (uint8_t)(t->cidr6 - 96);
	}
	return 0;
}

static int parse_mechanism(struct spf_record *rec, struct spf_term *t, const char *s, size_t n,
                           char *why, size_t whylen)
{
	size_t i = 0, j, end;
	const char *rest;
	size_t rlen;
	char q[QUOTE_MAX];

	t->qual = '+';
	t->cidr4 = 32;
	t->cidr6 = 128;
	if (s[0] == '+' || s[0] == '-' || s[0] == '~' || s[0] == '?') {
		t->qual = s[0];
		i = 1;
	}
	for (j = i; j < n && s[j] != ':' && s[j] != '/'; j++)
		;
	for (t->mech = SPF_MECH_ALL; t->mech <= SPF_MECH_EXISTS; t->mech++)
		if (str_case_eq_n(s + i, j - i, mech_names[t->mech], strlen(mech_names[t->mech])))
			break;
	if (t->mech > SPF_MECH_EXISTS) {
		quote(q, sizeof(q), s + i, j - i);
		if (str_case_eq_n(s + i, j - i, "redirect", 8) ||
		    str_case_eq_n(s + i, j - i, "exp", 3))
			snprintf(why, whylen, "'%s' is a modifier: write %s=", q, q);
		else if (j == i)
			snprintf(why, whylen, "missing mechanism name");
		else
			snprintf(why, whylen, "unknown mechanism '%s'", q);
		return -1;
	}
	rest = s + j;
	rlen = n - j;
	switch (t->mech) {
	case SPF_MECH_ALL:
		if (rlen != 0) {
			snprintf(why, whylen, "all takes no argument");
			return -1;
		}
		return 0;
	case SPF_MECH_IP4:
	case SPF_MECH_IP6:
		return parse_ip(t, rest, rlen, why, whylen);
	case SPF_MECH_INCLUDE:
	case SPF_MECH_EXISTS:
		if (rlen == 0 || rest[0] != ':') {
			snprintf(why, whylen, "%s needs ':' and a domain", mech_names[t->mech]);
			return -1;
		}
		t->domain = rest + 1;
		t->domain_len = rlen - 1;
		break;
	case SPF_MECH_PTR:
		if (rlen == 0)
			break;
		if (rest[0] != ':') {
			snprintf(why, whylen, "ptr takes no prefix length");
			return -1;
		}
		t->domain = rest + 1;
		t->domain_len = rlen - 1;
		break;
	case SPF_MECH_A:
	case SPF_MECH_MX:
		if (rlen == 0)
			break;
		if (rest[0] == ':') {
			if (dual_cidr(rest + 1, rlen - 1, &end, &t->cidr4, &t->cidr6, why, whylen) <
			    0)
				return -1;
			t->domain = rest + 1;
			t->domain_len = end;
		} else {
			if (dual_cidr(rest, rlen, &end, &t->cidr4, &t->cidr6, why, whylen) < 0)
				return -1;
			if (end != 0) {
				quote(q, sizeof(q), rest, rlen);
				snprintf(why, whylen, "invalid prefix length '%s'", q);
				return -1;
			}
		}
		break;
	}
	if (t->domain != NULL) {
		char m[WHY_MAX];
		if (domain_spec_check(t->domain, t->domain_len, &t->domain_macros, m, sizeof(m)) <
		    0) {
			snprintf(why, whylen, "%s", m);
			return -1;
		}
	}
	if (t->mech != SPF_MECH_IP4 && t->mech != SPF_MECH_IP6 && t->mech != SPF_MECH_ALL)
		rec->dns_terms++;
	return 0;
}

static int parse_modifier(struct spf_record *rec, const char *s, size_t namelen, size_t n,
                          char *why, size_t whylen)
{
	const char *val = s + namelen + 1;
	size_t vlen = n - namelen - 1;
	bool macros = false;
	char m[WHY_MAX];

	if (str_case_eq_n(s, namelen, "redirect", 8) || str_case_eq_n(s, namelen, "exp", 3)) {
		bool redir = namelen == 8;
		if (redir ? rec->redirect != NULL : rec->exp != NULL) {
			snprintf(why, whylen, "%s= appears more than once",
			         redir ? "redirect" : "exp");
			return -1;
		}
		if (domain_spec_check(val, vlen, &macros, m, sizeof(m)) < 0) {
			snprintf(why, whylen, "%s", m);
			return -1;
		}
		if (redir) {
			rec->redirect = val;
			rec->redirect_len = vlen;
			rec->redirect_macros = macros;
			rec->dns_terms++;
		} else {
			rec->exp = val;
			rec->exp_len = vlen;
		}
		return 0;
	}
	/* unknown-modifier = name "=" macro-string: ignored, but must be valid */
	if (spf_macro_check(val, vlen, SPF_MACRO_ALL, NULL, NULL, m, sizeof(m)) < 0) {
		snprintf(why, whylen, "%s", m);
		return -1;
	}
	return 0;
}

/* modifier_name - length of the modifier name when s is name "=" ..., else 0 */
static size_t modifier_name(const char *s, size_t n)
{
	size_t i = 1;

	if (n == 0 || !str_is_alpha(s[0]))
		return 0;
	while (i < n && (str_is_alnum(s[i]) || s[i] == '-' || s[i] == '_' || s[i] == '.'))
		i++;
	return i < n && s[i] == '=' ? i : 0;
}

static struct spf_record *fail(struct arena *a, struct spf_record *rec, const char *term,
                               size_t tlen, const char *why)
{
	char q[QUOTE_MAX];

	rec->nterms = 0;
	rec->redirect = rec->exp = NULL;
	if (term != NULL) {
		quote(q, sizeof(q), term, tlen);
		rec->error = arena_printf(a, "'%s': %s", q, why);
	} else {
		rec->error = arena_strdup(a, why);
	}
	return rec->error != NULL ? rec : NULL;
}

struct spf_record *spf_record_parse(struct arena *a, const char *text, size_t len)
{
	struct spf_record *rec = arena_zalloc(a, sizeof(*rec));
	char why[WHY_MAX * 2], *copy;
	size_t i, count = 0;

	if (rec == NULL)
		return NULL;
	if (len > SPF_RECORD_MAX_LEN) {
		snprintf(why, sizeof(why), "record is %zu bytes long, more than the %u accepted",
		         len, SPF_RECORD_MAX_LEN);
		return fail(a, rec, NULL, 0, why);
	}
	if (!spf_record_is_spf(text, len))
		return fail(a, rec, NULL, 0, "not an SPF record (does not start with v=spf1)");
	/* count the terms; memchr keeps this pass cheap on long records */
	for (i = 6; i < len;) {
		const char *sp;
		if (text[i] == ' ') {
			i++;
			continue;
		}
		count++;
		sp = memchr(text + i, ' ', len - i);
		i = sp ? (size_t)(sp - text) : len;
	}
	if (count > SPF_RECORD_MAX_TERMS) {
		snprintf(why, sizeof(why), "record has %zu terms, more than the %u accepted", count,
		         SPF_RECORD_MAX_TERMS);
		return fail(a, rec, NULL, 0, why);
	}
	/* one copy: term texts become NUL-terminated slices of it */
	copy = arena_alloc(a, len + 1);
	rec->terms = arena_array(a, count ? count : 1, sizeof(*rec->terms));
	if (copy == NULL || rec->terms == NULL)
		return NULL;
	memcpy(copy, text, len);
	copy[len] = '\0';
	i = 6;
	while (i < len) {
		size_t start, tlen, nl;
		const char *t;

		if (copy[i] == ' ') {
			i++;
			continue;
		}
		start = i;
		{
			const char *sp = memchr(copy + i, ' ', len - i);
			i = sp ? (size_t)(sp - copy) : len;
		}
		t = copy + start;
		tlen = i - start;
		copy[i] = '\0'; /* a space or the final NUL */
		if (i < len)
			i++;
		for (nl = 0; nl < tlen; nl++) {
			unsigned char c = (unsigned char)t[nl];
			if (c < 0x21 || c > 0x7e) {
				snprintf(why, sizeof(why),
				         "byte 0x%02x is not allowed (terms are printable ASCII "
				         "separated by spaces)",
				         c);
				return fail(a, rec, t, tlen, why);
			}
		}
		nl = modifier_name(t, tlen);
		if (nl > 0) {
			if (parse_modifier(rec, t, nl, tlen, why, sizeof(why)) < 0)
				return fail(a, rec, t, tlen, why);
		} else {
			struct spf_term *term = &rec->terms[rec->nterms];
			memset(term, 0, sizeof(*term));
			term->text = t;
			if (parse_mechanism(rec, term, t, tlen, why, sizeof(why)) < 0)
				return fail(a, rec, t, tlen, why);
			rec->nterms++;
		}
	}
	return rec;
}
