/*
 * spf_macro - RFC 7208 section 7 macro checking and expansion
 *
 * One scanner serves both the syntax check (no output) and expansion, so
 * the two can never disagree about what is valid.  Expansion writes into
 * a caller buffer and never allocates; see spf_macro.h.
 */
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "auth/spf_macro.h"
#include "core/str.h"

#define PARTS_MAX 1024 /* pieces of one macro value after splitting */

struct out {
	char *p;
	size_t size, len;
	bool over;
};

static void out_put(struct out *o, const char *s, size_t n)
{
	if (o->p == NULL)
		return;
	if (o->over || n >= o->size - o->len) {
		o->over = true;
		return;
	}
	memcpy(o->p + o->len, s, n);
	o->len += n;
}

/* out_put_escaped - URL-encode everything but the RFC 3986 unreserved set */
static void out_put_escaped(struct out *o, const char *s, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t i;
	char esc[3];

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (str_is_alnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
			out_put(o, s + i, 1);
		} else {
			esc[0] = '%';
			esc[1] = hex[c >> 4];
			esc[2] = hex[c & 15];
			out_put(o, esc, 3);
		}
	}
}

void spf_macro_vars_ip(struct spf_macro_vars *v, const struct net_addr *ip)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t k = 0;
	int i;

	net_addr_format(ip, v->c, sizeof(v->c));
	if (ip->family == AF_INET) {
		/* the same text as c: inet_ntop prints IPv4 as a dotted quad */
		memcpy(v->i, v->c, strlen(v->c) + 1);
		v->v = "in-addr";
		return;
	}
	/* 32 dot-separated nibbles; upper-case hex as the OpenSPF suite expects
	 * in explanations (DNS does not care about case) */
	for (i = 0; i < 16; i++) {
		v->i[k++] = hex[ip->bytes[i] >> 4];
		v->i[k++] = '.';
		v->i[k++] = hex[ip->bytes[i] & 15];
		v->i[k++] = i == 15 ? '\0' : '.';
	}
	v->v = "ip6";
}

static bool is_delim(int c)
{
	return c == '.' || c == '-' || c == '+' || c == ',' || c == '/' || c == '_' || c == '=';
}

/* letter_value - the text a macro letter stands for; NULL when invalid */
static const char *letter_value(const struct spf_macro_vars *v, int letter, char *tbuf,
                                size_t tsize)
{
	switch (str_lower(letter)) {
	case 's':
		return v->s ? v->s : "";
	case 'l':
		return v->l ? v->l : "";
	case 'o':
		return v->o ? v->o : "";
	case 'd':
		return v->d ? v->d : "";
	case 'i':
		return v->i;
	case 'p':
		return v->p; /* NULL: the caller must resolve it */
	case 'h':
		return v->h ? v->h : "";
	case 'v':
		return v->v ? v->v : "";
	case 'c':
		return v->c;
	case 'r':
		return v->r && v->r[0] ? v->r : "unknown";
	case 't':
		snprintf(tbuf, tsize, "%lld", (long long)v->t);
		return tbuf;
	}
	return NULL;
}

static bool letter_allowed(int letter, unsigned flags)
{
	switch (str_lower(letter)) {
	case 's':
	case 'l':
	case 'o':
	case 'd':
	case 'i':
	case 'p':
	case 'h':
	case 'v':
		return true;
	case 'c':
	case 'r':
	case 't':
		return (flags & (SPF_MACRO_EXP | SPF_MACRO_ALL)) != 0;
	}
	return false;
}

/*
 * expand_one - apply transformers and delimiters to val and write it:
 * split on the delimiters, optionally reverse, keep the rightmost ndigits
 * parts (0 = all), join with dots.
 */
static int expand_one(struct out *o, const char *val, unsigned long nkeep, bool reverse,
                      const char *delims, size_t ndelims, bool escape)
{
	uint16_t start[PARTS_MAX], end[PARTS_MAX];
	size_t len = strlen(val), nparts = 0, i, k, first;
	size_t begin = 0;

	if (nkeep == 0 && !reverse && ndelims == 0) {
		if (escape)
			out_put_escaped(o, val, len);
		else
			out_put(o, val, len);
		return SPF_MACRO_OK;
	}
	if (len > UINT16_MAX)
		return SPF_MACRO_TOOLONG;
	for (i = 0; i <= len; i++) {
		bool split;
		if (i == len) {
			split = true;
		} else if (ndelims == 0) {
			split = val[i] == '.';
		} else {
			split = memchr(delims, val[i], ndelims) != NULL;
		}
		if (!split)
			continue;
		if (nparts == PARTS_MAX)
			return SPF_MACRO_TOOLONG;
		start[nparts] = (uint16_t)begin;
		end[nparts] = (uint16_t)i;
		nparts++;
		begin = i + 1;
	}
	/* reversed order is parts[n-1] .. parts[0]; keep the rightmost nkeep */
	k = nkeep == 0 || nkeep > nparts ? nparts : nkeep;
	first = nparts - k;
	for (i = 0; i < k; i++) {
		size_t idx = reverse ? k - 1 - i : first + i;
		if (i > 0)
			out_put(o, ".", 1);
		if (escape)
			out_put_escaped(o, val + start[idx], end[idx] - start[idx]);
		else
			out_put(o, val + start[idx], end[idx] - start[idx]);
	}
	return SPF_MACRO_OK;
}

/*
 * scan - the one macro-string scanner.  With v NULL it only checks.
 */
static int scan(const struct spf_macro_vars *v, const char *s, size_t n, unsigned flags,
                struct out *o, size_t *last_end, bool *uses_p, char *why, size_t whylen)
{
	size_t i = 0, lit = 0;
	char tbuf[24];

	if (last_end != NULL)
		*last_end = 0;
	while (i < n) {
		unsigned char c = (unsigned char)s[i];
		if (c != '%') {
			if ((c < 0x21 || c > 0x7e) && !(c == ' ' && (flags & SPF_MACRO_EXP))) {
				snprintf(why, whylen, "character 0x%02x is not allowed here", c);
				return SPF_MACRO_SYNTAX;
			}
			i++;
			continue;
		}
		/* flush the literal text before this macro */
		out_put(o, s + lit, i - lit);
		if (i + 1 >= n) {
			snprintf(why, whylen, "'%%' at the end (write %%%% for a percent sign)");
			return SPF_MACRO_SYNTAX;
		}
		c = (unsigned char)s[i + 1];
		if (c == '%' || c == '_' || c == '-') {
			out_put(o, c == '%' ? "%" : c == '_' ? " " : "%20", c == '-' ? 3 : 1);
			i += 2;
		} else if (c == '{') {
			size_t j = i + 2, ndelims, dstart;
			unsigned long nkeep = 0;
			bool reverse = false, digits = false;
			int letter;

			if (j >= n) {
				snprintf(why, whylen, "unterminated macro '%%{'");
				return SPF_MACRO_SYNTAX;
			}
			letter = (unsigned char)s[j];
			if (!letter_allowed(letter, flags)) {
				if (str_is_alpha(letter) &&
				    strchr("crt", str_lower(letter)) != NULL)
					snprintf(why, whylen,
					         "macro letter '%c' is allowed only in explanation "
					         "text",
					         letter);
				else if (letter >= 0x21 && letter <= 0x7e)
					snprintf(why, whylen, "unknown macro letter '%c'", letter);
				else
					snprintf(why, whylen, "unknown macro letter 0x%02x",
					         (unsigned)letter);
				return SPF_MACRO_SYNTAX;
			}
			if (str_lower(letter) == 'p' && uses_p != NULL)
				*uses_p = true;
			j++;
			while (j < n && str_is_digit(s[j])) {
				digits = true;
				if (nkeep < 1000000)
					nkeep = nkeep * 10 + (unsigned long)(s[j] - '0');
				j++;
			}
			if (digits && nkeep == 0) {
				snprintf(why, whylen,
				         "macro transformer 0 (must keep at least one part)");
				return SPF_MACRO_SYNTAX;
			}
			if (j < n && str_lower(s[j]) == 'r') {
				reverse = true;
				j++;
			}
			dstart = j;
			while (j < n && is_delim(s[j]))
				j++;
			ndelims = j - dstart;
			if (j >= n || s[j] != '}') {
				snprintf(why, whylen, "invalid macro '%.*s' (expected '}')",
				         (int)(j - i + (j < n)), s + i);
				return SPF_MACRO_SYNTAX;
			}
			if (v != NULL) {
				const char *val = letter_value(v, letter, tbuf, sizeof(tbuf));
				int rc;
				if (val == NULL) {
					snprintf(why, whylen,
					         "%%{p} needs the validated client name");
					return SPF_MACRO_NEED_P;
				}
				rc = expand_one(o, val, nkeep, reverse, s + dstart, ndelims,
				                str_is_alpha(letter) && letter < 'a');
				if (rc != SPF_MACRO_OK) {
					snprintf(why, whylen, "macro expansion too long");
					return rc;
				}
			}
			i = j + 1;
		} else {
			if (c >= 0x21 && c <= 0x7e)
				snprintf(why, whylen,
				         "'%%%c' is not a macro (expected %%{, %%%%, %%_ or %%-)",
				         c);
			else
				snprintf(why, whylen,
				         "'%%' followed by 0x%02x is not a macro (expected %%{, "
				         "%%%%, %%_ or %%-)",
				         c);
			return SPF_MACRO_SYNTAX;
		}
		lit = i;
		if (last_end != NULL)
			*last_end = i;
	}
	out_put(o, s + lit, n - lit);
	return SPF_MACRO_OK;
}

int spf_macro_check(const char *s, size_t n, unsigned flags, size_t *last_end, bool *uses_p,
                    char *why, size_t whylen)
{
	struct out o = { 0 };
	char dummy[8];

	if (why == NULL || whylen == 0) {
		why = dummy;
		whylen = sizeof(dummy);
	}
	if (uses_p != NULL)
		*uses_p = false;
	return scan(NULL, s, n, flags, &o, last_end, uses_p, why, whylen) == SPF_MACRO_OK ? 0 : -1;
}

int spf_macro_expand(const struct spf_macro_vars *v, const char *s, size_t n, unsigned flags,
                     char *out, size_t outsize, size_t *outlen, char *why, size_t whylen)
{
	struct out o = { .p = out, .size = outsize };
	char dummy[8];
	int rc;

	if (why == NULL || whylen == 0) {
		why = dummy;
		whylen = sizeof(dummy);
	}
	*outlen = 0;
	if (outsize == 0)
		return SPF_MACRO_TOOLONG;
	out[0] = '\0';
	rc = scan(v, s, n, flags, &o, NULL, NULL, why, whylen);
	if (rc == SPF_MACRO_NEED_P || rc == SPF_MACRO_TOOLONG) {
		/* report a syntax error later in the string first: resolving %{p}
		 * (DNS) for a string that is invalid anyway would be wasted */
		struct out none = { 0 };
		char w2[200];
		if (scan(NULL, s, n, flags, &none, NULL, NULL, w2, sizeof(w2)) != SPF_MACRO_OK) {
			snprintf(why, whylen, "%s", w2);
			return SPF_MACRO_SYNTAX;
		}
	}
	if (rc != SPF_MACRO_OK)
		return rc;
	if (o.over) {
		snprintf(why, whylen, "macro expansion longer than %zu bytes", outsize - 1);
		return SPF_MACRO_TOOLONG;
	}
	if (flags & SPF_MACRO_DOMAIN) {
		size_t cut = 0;
		if (o.len > 0 && out[o.len - 1] == '.')
			o.len--;
		/* RFC 7208 7.3: drop labels from the left until it fits */
		while (o.len - cut > 253) {
			char *dot = memchr(out + cut, '.', o.len - cut);
			if (dot == NULL) {
				cut = o.len;
				break;
			}
			cut = (size_t)(dot - out) + 1;
		}
		if (cut > 0)
			memmove(out, out + cut, o.len - cut);
		o.len -= cut;
	}
	out[o.len] = '\0';
	*outlen = o.len;
	return SPF_MACRO_OK;
}
