/*
 * received - the Received trace field as real MTAs write it (see received.h)
 *
 * Two passes over the value: find the last ';' outside comments and
 * quoted strings (the date follows it), then walk the part before it as
 * tokens, words and comments.  A keyword word opens a clause, the next
 * word is its value, and comments after it are read in the light of that
 * clause (the from clause's comments name the client, the by clause's the
 * software).  Every comment is also searched for TLS and envelope facts,
 * whatever clause it follows.
 */
#include <string.h>

#include "core/arena.h"
#include "core/net.h"
#include "core/str.h"
#include "mime/received.h"

enum tok_kind {
	TOK_WORD,
	TOK_COMMENT,
};

struct tok {
	enum tok_kind kind;
	const char *s; /* a comment: the text inside the outer parentheses */
	size_t n;
};

enum clause {
	CL_NONE,
	CL_FROM,
	CL_BY,
	CL_VIA,
	CL_WITH,
	CL_ID,
	CL_FOR,
};

struct state {
	struct received *r;
	struct arena *a;
	enum clause cl;
	bool want_value;    /* the clause's value is the next word */
	bool commented;     /* a comment came after the clause value */
	unsigned words;     /* extra words joined to the clause value */
	unsigned from_cmts; /* comments seen after the from value */
	bool helo_in_cmt;   /* a from comment named the HELO */
	bool tls_word;      /* the previous word was Exim's "tls" */
	bool ip_from_name;  /* r->ip came from "from [literal]" */
	bool ip_in_cmt;     /* a from comment gave the address */
	bool oom;
};

/* find_date_semicolon - the last ';' outside comments and quoted strings,
 * or the last ';' at all when the parentheses do not balance; NULL if none */
static const char *find_date_semicolon(const char *s, const char *end)
{
	const char *p, *last = NULL, *any = NULL;
	int depth = 0;
	bool quoted = false;

	for (p = s; p < end; p++) {
		if (*p == '\\' && (depth > 0 || quoted) && p + 1 < end) {
			p++;
		} else if (quoted) {
			if (*p == '"')
				quoted = false;
		} else if (*p == '(') {
			depth++;
		} else if (*p == ')') {
			if (depth > 0)
				depth--;
		} else if (*p == '"' && depth == 0) {
			quoted = true;
		}
		if (*p == ';') {
			any = p;
			if (depth == 0 && !quoted)
				last = p;
		}
	}
	return depth == 0 && !quoted ? last : any;
}

/* next_tok - the next word or comment in [*pp, end); false at the end */
static bool next_tok(const char **pp, const char *end, struct tok *t)
{
	const char *p = *pp;

	while (p < end && (str_is_space((unsigned char)*p) || *p == ')'))
		p++;
	if (p == end)
		return false;
	if (*p == '(') {
		int depth = 0;
		const char *start = p + 1;

		while (p < end) {
			char c = *p++;

			if (c == '\\' && p < end) {
				p++;
			} else if (c == '(') {
				if (++depth > RECEIVED_MAX_NESTING) {
					p = end; /* too deep: the rest is this comment */
					break;
				}
			} else if (c == ')' && --depth == 0) {
				break;
			}
		}
		t->kind = TOK_COMMENT;
		t->s = start;
		t->n = (size_t)(p - start) - (depth == 0 ? 1 : 0);
		*pp = p;
		return true;
	}
	t->kind = TOK_WORD;
	t->s = p;
	while (p < end && !str_is_space((unsigned char)*p) && *p != '(') {
		char close = *p == '[' ? ']' : *p == '<' ? '>' : *p == '"' ? '"' : 0;

		p++;
		if (close != 0) {
			while (p < end && *p != close) {
				if (close == '"' && *p == '\\' && p + 1 < end)
					p++;
				p++;
			}
			if (p < end)
				p++;
		}
	}
	t->n = (size_t)(p - t->s);
	*pp = p;
	return true;
}

/* dup - an arena copy of s[0..n) with runs of white space as one space */
static const char *dup(struct state *st, const char *s, size_t n)
{
	char *out, *o;
	size_t i;
	bool sp = false;

	while (n > 0 && str_is_space((unsigned char)*s)) {
		s++;
		n--;
	}
	while (n > 0 && str_is_space((unsigned char)s[n - 1]))
		n--;
	out = arena_alloc(st->a, n + 1);
	if (out == NULL) {
		st->oom = true;
		return NULL;
	}
	for (o = out, i = 0; i < n; i++) {
		if (str_is_space((unsigned char)s[i])) {
			sp = true;
			continue;
		}
		if (sp)
			*o++ = ' ';
		sp = false;
		*o++ = s[i];
	}
	*o = '\0';
	return out;
}

/* strip_tail - s[0..n) without the trailing characters in set */
static size_t strip_tail(const char *s, size_t n, const char *set)
{
	while (n > 0 && strchr(set, s[n - 1]) != NULL)
		n--;
	return n;
}

/* address_literal - the address in "[1.2.3.4]", "[IPv6:...]", "user@[..]"
 * or a bare address; true with *start,*len when it parses */
static bool address_literal(const char *s, size_t n, bool bare_ok, const char **start, size_t *len)
{
	const char *lb = memchr(s, '[', n);
	struct net_addr addr;

	if (lb != NULL) {
		const char *rb = memchr(lb, ']', n - (size_t)(lb - s));

		if (rb == NULL)
			return false;
		s = lb + 1;
		n = (size_t)(rb - s);
		if (n > 5 && str_ncasecmp(s, "IPv6:", 5) == 0) {
			s += 5;
			n -= 5;
		}
	} else if (!bare_ok) {
		return false;
	}
	if (n == 0 || n > 64 || net_addr_parse_n(s, n, &addr) < 0)
		return false;
	*start = s;
	*len = n;
	return true;
}

static bool word_is(const char *s, size_t n, const char *w)
{
	return str_case_eq_n(s, n, w, strlen(w));
}

/* protocol_flags - RFC 3848 protocol names: S for TLS, A for AUTH */
static void protocol_flags(struct received *r, const char *w)
{
	size_t n = strlen(w);
	static const char *const bases[] = { "esmtp", "smtp", "lmtp", "utf8smtp", "utf8lmtp" };
	size_t i, bl;

	if (str_casecmp(w, "https") == 0) {
		r->tls = true;
		return;
	}

	for (i = 0; i < sizeof(bases) / sizeof(bases[0]); i++) {
		bl = strlen(bases[i]);
		if (n < bl || str_ncasecmp(w, bases[i], bl) != 0)
			continue;
		const char *rest = w + bl;

		if (str_casecmp(rest, "s") == 0 || str_casecmp(rest, "sa") == 0)
			r->tls = true;
		if (str_casecmp(rest, "a") == 0 || str_casecmp(rest, "sa") == 0)
			r->authenticated = true;
	}
}

/* looks_tls_version - "TLSv1.3", "TLS1_2", "TLS1.3", "SSLv3", "TLSv1/SSLv3" */
static bool looks_tls_version(const char *s, size_t n)
{
	return n >= 4 && n <= 32 &&
	       (str_ncasecmp(s, "TLS", 3) == 0 || str_ncasecmp(s, "SSL", 3) == 0);
}

/*
 * comment_facts - TLS, authentication and envelope facts in any comment.
 * Returns true when the comment is one of these and so names no host.
 */
static bool comment_facts(struct state *st, const char *s, size_t n)
{
	struct received *r = st->r;
	const char *p = s, *end = s + n, *w, *prev = NULL;
	size_t wn, prevn = 0, count = 0;
	bool facts = false;

	while (p < end) {
		while (p < end && (str_is_space((unsigned char)*p) || *p == ','))
			p++;
		w = p;
		while (p < end && !str_is_space((unsigned char)*p) && *p != ',')
			p++;
		wn = (size_t)(p - w);
		if (wn == 0)
			break;
		count++;
		if (wn > 8 && str_ncasecmp(w, "version=", 8) == 0) {
			if (r->tls_version == NULL && looks_tls_version(w + 8, wn - 8))
				r->tls_version = dup(st, w + 8, wn - 8);
			r->tls = facts = true;
		} else if (wn > 7 && str_ncasecmp(w, "cipher=", 7) == 0) {
			if (r->tls_cipher == NULL)
				r->tls_cipher = dup(st, w + 7, wn - 7);
			r->tls = facts = true;
		} else if (prev != NULL && word_is(prev, prevn, "using") &&
		           looks_tls_version(w, wn)) {
			/* Postfix: "using TLSv1.3 with cipher C" */
			if (r->tls_version == NULL)
				r->tls_version = dup(st, w, wn);
			r->tls = facts = true;
		} else if (prev != NULL && word_is(prev, prevn, "cipher") &&
		           r->tls_cipher == NULL && r->tls) {
			r->tls_cipher = dup(st, w, wn);
		} else if (count == 1 && p == end &&
		           looks_tls_version(w, memchr(w, ':', wn) != NULL
		                                    ? (size_t)((const char *)memchr(w, ':', wn) - w)
		                                    : wn)) {
			/* Exim: "(TLS1.3)" or "(TLSv1.2:ECDHE-RSA-AES256-GCM-SHA384:256)" */
			const char *colon = memchr(w, ':', wn);

			if (r->tls_version == NULL)
				r->tls_version =
				    dup(st, w, colon != NULL ? (size_t)(colon - w) : wn);
			if (colon != NULL && r->tls_cipher == NULL) {
				const char *c2 = colon + 1;
				const char *c3 = memchr(c2, ':', (size_t)(w + wn - c2));

				r->tls_cipher = dup(
				    st, c2, c3 != NULL ? (size_t)(c3 - c2) : (size_t)(w + wn - c2));
			}
			r->tls = facts = true;
		} else if (prev != NULL &&
		           (word_is(prev, prevn, "envelope-from") ||
		            word_is(prev, prevn, "envelope-sender")) &&
		           r->envelope_from == NULL) {
			size_t k = strip_tail(w, wn, ">");

			if (k > 0 && *w == '<')
				r->envelope_from = dup(st, w + 1, k - 1);
			else
				r->envelope_from = dup(st, w, k);
			facts = true;
		} else if (count == 1 &&
		           (word_is(w, wn, "authenticated") ||
		            (wn > 14 && str_ncasecmp(w, "authenticated:", 14) == 0))) {
			r->authenticated = facts = true;
		} else if (count == 1 &&
		           (word_is(w, wn, "envelope-from") || word_is(w, wn, "envelope-sender") ||
		            word_is(w, wn, "using") || word_is(w, wn, "no"))) {
			facts = true; /* "(No client certificate requested)" too */
		}
		prev = w;
		prevn = wn;
	}
	if (n >= 25 && memmem(s, n, "Transport Security", 18) != NULL)
		r->tls = facts = true; /* Gmail: "(Google Transport Security)" */
	return facts;
}

/* from_comment - a comment after the from value: HELO, address, reverse name */
static void from_comment(struct state *st, const char *s, size_t n)
{
	struct received *r = st->r;
	const char *p = s, *end = s + n, *w, *lit;
	size_t wn, litn;
	bool first = st->from_cmts++ == 0, helo_next = false;

	while (p < end) {
		while (p < end && str_is_space((unsigned char)*p))
			p++;
		w = p;
		while (p < end && !str_is_space((unsigned char)*p))
			p++;
		wn = (size_t)(p - w);
		if (wn == 0)
			break;
		if (helo_next) {
			helo_next = false;
			if (r->helo == NULL)
				r->helo = dup(st, w, wn);
			st->helo_in_cmt = true;
		} else if (word_is(w, wn, "helo") || word_is(w, wn, "ehlo")) {
			helo_next = true; /* qmail: "(HELO name)" */
		} else if (wn > 5 &&
		           (str_ncasecmp(w, "helo=", 5) == 0 || str_ncasecmp(w, "ehlo=", 5) == 0)) {
			if (r->helo == NULL)
				r->helo = dup(st, w + 5, wn - 5);
			st->helo_in_cmt = true;
		} else if (address_literal(w, wn, true, &lit, &litn)) {
			/* the address the receiver saw beats one the client named */
			if (r->ip == NULL || st->ip_from_name) {
				r->ip = dup(st, lit, litn);
				st->ip_from_name = false;
				st->ip_in_cmt = true;
			}
		} else if (first && r->rdns == NULL && memchr(w, '=', wn) == NULL &&
		           memchr(w, '[', wn) == NULL) {
			/* the first name in the first comment: drop "IDENT:user@" and
			 * "user@", and the root dot Gmail writes */
			const char *at = memchr(w, '@', wn);

			if (at != NULL) {
				wn -= (size_t)(at + 1 - w);
				w = at + 1;
			}
			wn = strip_tail(w, wn, ".");
			if (wn > 0)
				r->rdns = dup(st, w, wn);
		}
		first = false;
	}
}

/* set_value - the word after a keyword */
static void set_value(struct state *st, const char *w, size_t n)
{
	struct received *r = st->r;
	const char *lit;
	size_t litn;

	switch (st->cl) {
	case CL_FROM:
		r->from = dup(st, w, n);
		if (address_literal(w, n, false, &lit, &litn)) {
			r->ip = dup(st, lit, litn);
			st->ip_from_name = true;
		}
		break;
	case CL_BY:
		r->by = dup(st, w, n);
		if (address_literal(w, n, true, &lit, &litn))
			r->by_ip = dup(st, lit, litn);
		break;
	case CL_VIA:
		r->via = dup(st, w, n);
		break;
	case CL_WITH:
		r->with = dup(st, w, n);
		if (r->with != NULL)
			protocol_flags(r, r->with);
		break;
	case CL_ID:
		r->id = dup(st, w, n);
		break;
	case CL_FOR:
		if (n >= 2 && w[0] == '<' && w[n - 1] == '>')
			r->for_rcpt = dup(st, w + 1, n - 2);
		else
			r->for_rcpt = dup(st, w, n);
		break;
	case CL_NONE:
		break;
	}
}

/* join_word - an extra word of a multi-word value ("Microsoft SMTP Server") */
static void join_word(struct state *st, const char **field, const char *w, size_t n)
{
	const char *old = *field;
	size_t ol;
	char *s;

	if (old == NULL || st->words >= RECEIVED_MAX_WORDS)
		return;
	st->words++;
	ol = strlen(old);
	s = arena_alloc(st->a, ol + 1 + n + 1);
	if (s == NULL) {
		st->oom = true;
		return;
	}
	memcpy(s, old, ol);
	s[ol] = ' ';
	memcpy(s + ol + 1, w, n);
	s[ol + 1 + n] = '\0';
	*field = s;
}

static enum clause keyword(const char *w, size_t n)
{
	if (word_is(w, n, "from"))
		return CL_FROM;
	if (word_is(w, n, "by"))
		return CL_BY;
	if (word_is(w, n, "via"))
		return CL_VIA;
	if (word_is(w, n, "with"))
		return CL_WITH;
	if (word_is(w, n, "id"))
		return CL_ID;
	if (word_is(w, n, "for"))
		return CL_FOR;
	return CL_NONE;
}

/* word_tok - a word: a keyword, a clause value, or an extra word */
static void word_tok(struct state *st, const char *w, size_t n)
{
	struct received *r = st->r;
	enum clause k = keyword(w, n);
	const char *lit;
	size_t litn;

	if (st->tls_word) {
		/* Exim: "with esmtps (TLS1.3) tls TLS_AES_256_GCM_SHA384" */
		st->tls_word = false;
		if (r->tls_cipher == NULL)
			r->tls_cipher = dup(st, w, n);
		r->tls = true;
		return;
	}
	if (st->want_value && k == CL_NONE) {
		st->want_value = false;
		set_value(st, w, n);
		return;
	}
	if (k != CL_NONE) {
		st->cl = k;
		st->want_value = true;
		st->commented = false;
		st->words = 0;
		return;
	}
	if (word_is(w, n, "tls") && st->cl == CL_WITH) {
		st->tls_word = true;
		return;
	}
	if (st->cl == CL_FROM && address_literal(w, n, false, &lit, &litn)) {
		/* fetchmail: "from host [1.2.3.4]" */
		if (r->ip == NULL)
			r->ip = dup(st, lit, litn);
		return;
	}
	if (st->commented)
		return;
	if (st->cl == CL_WITH) {
		join_word(st, &r->with, w, n);
	} else if (st->cl == CL_VIA) {
		join_word(st, &r->via, w, n);
	}
}

/* comment_tok - a comment, read in the light of the current clause */
static void comment_tok(struct state *st, const char *s, size_t n)
{
	struct received *r = st->r;
	const char *lit;
	size_t litn;
	bool facts = comment_facts(st, s, n);

	st->commented = true;
	if (st->want_value)
		return; /* "from (comment) name": the comment belongs to nothing */
	if (st->cl == CL_FROM && !facts) {
		from_comment(st, s, n);
	} else if (st->cl == CL_BY && !facts) {
		if (address_literal(s, n, true, &lit, &litn)) {
			if (r->by_ip == NULL)
				r->by_ip = dup(st, lit, litn);
		} else if (r->by_software == NULL) {
			r->by_software = dup(st, s, n);
		}
	}
}

int received_parse(struct received *r, struct arena *a, const char *value, size_t len)
{
	struct state st;
	const char *end, *semi, *p;
	struct tok t;

	if (r == NULL)
		return -1;
	memset(r, 0, sizeof(*r));
	if (value == NULL || len > RECEIVED_MAX_LEN)
		return -1;
	memset(&st, 0, sizeof(st));
	st.r = r;
	st.a = a;
	end = value + len;
	semi = find_date_semicolon(value, end);
	if (semi != NULL) {
		r->date_text = dup(&st, semi + 1, (size_t)(end - semi - 1));
		if (r->date_text != NULL &&
		    date_parse(r->date_text, strlen(r->date_text), &r->date) == 0)
			r->has_date = true;
		end = semi;
	}
	p = value;
	while (!st.oom && next_tok(&p, end, &t)) {
		if (t.kind == TOK_WORD)
			word_tok(&st, t.s, t.n);
		else
			comment_tok(&st, t.s, t.n);
	}
	if (st.oom)
		return -1;
	/* qmail and Exim put the HELO in a comment: the name after "from" is
	 * then the reverse name; otherwise it is the HELO */
	if (r->from != NULL && r->from[0] != '[') {
		if (st.helo_in_cmt) {
			if (r->rdns == NULL)
				r->rdns = r->from;
		} else if (r->helo == NULL) {
			r->helo = r->from;
		}
	} else if (r->from != NULL && st.ip_in_cmt && !st.helo_in_cmt && r->helo == NULL) {
		/* "from [192.168.1.20] (rdns [198.51.100.7])": the literal is the
		 * HELO (Postfix, Gmail); alone ("from [1.2.3.4]", Exim) it is the
		 * address */
		r->helo = r->from;
	}
	return 0;
}
