/*
 * address - RFC 5322 address-list parser and DMARC's From domains
 * (see address.h)
 *
 * One pass, no token array: address_next() returns the next lexical
 * token (comments and folding white space skipped) and the element state
 * decides what it is.  Words seen before a '<' are a display name and are
 * dropped when the '<' comes; an element without angle brackets is a
 * bare addr-spec.
 */
#include <string.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/orgdomain.h"
#include "core/str.h"
#include "mime/address.h"
#include "mime/raw.h"

/* a local part or domain longer than a header line is not an address */
#define ADDRESS_PART_CAP 1000

enum address_tok {
	ADDRESS_T_END,
	ADDRESS_T_ERROR,
	ADDRESS_T_ATOM,
	ADDRESS_T_QUOTED,
	ADDRESS_T_LITERAL,
	ADDRESS_T_SPECIAL, /* < > : ; @ , . */
};

struct address_lex {
	const char *s;
	size_t len, pos;
	const char *why;
	/* the current token */
	const char *tok;
	size_t tok_len;
	char special;
};

static bool address_is_special(unsigned char c)
{
	return strchr("()<>[]:;@\\,.\"", c) != NULL && c != '\0';
}

/* address_skip_cfws - white space and (nested) comments */
static int address_skip_cfws(struct address_lex *lx)
{
	while (lx->pos < lx->len) {
		unsigned char c = (unsigned char)lx->s[lx->pos];
		unsigned depth;

		if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
			lx->pos++;
			continue;
		}
		if (c != '(')
			return 0;
		depth = 0;
		while (lx->pos < lx->len) {
			c = (unsigned char)lx->s[lx->pos++];
			if (c == '\\') {
				lx->pos++;
			} else if (c == '(') {
				if (++depth > ADDRESS_MAX_NESTING) {
					lx->why = "comments nested too deep";
					return -1;
				}
			} else if (c == ')') {
				if (--depth == 0)
					break;
			}
		}
		if (depth != 0) {
			lx->why = "unterminated comment";
			return -1;
		}
	}
	return 0;
}

/* address_scan_to - a quoted string or domain literal up to close */
static int address_scan_to(struct address_lex *lx, char close, const char *why)
{
	size_t start = lx->pos++;

	while (lx->pos < lx->len) {
		char c = lx->s[lx->pos++];
		if (c == '\\') {
			lx->pos++;
			continue;
		}
		if (close == ']' && c == '[')
			break;
		if (c == close) {
			lx->tok = lx->s + start;
			lx->tok_len = lx->pos - start;
			return 0;
		}
	}
	lx->why = why;
	return -1;
}

static enum address_tok address_next(struct address_lex *lx)
{
	unsigned char c;
	size_t start;

	if (address_skip_cfws(lx) < 0)
		return ADDRESS_T_ERROR;
	if (lx->pos >= lx->len)
		return ADDRESS_T_END;
	c = (unsigned char)lx->s[lx->pos];
	if (c == '"')
		return address_scan_to(lx, '"', "unterminated quoted string") < 0
		           ? ADDRESS_T_ERROR
		           : ADDRESS_T_QUOTED;
	if (c == '[')
		return address_scan_to(lx, ']', "unterminated domain literal") < 0
		           ? ADDRESS_T_ERROR
		           : ADDRESS_T_LITERAL;
	if (c == ')' || c == ']') {
		lx->why = c == ')' ? "unbalanced ')'" : "unbalanced ']'";
		return ADDRESS_T_ERROR;
	}
	if (c != '\\' && address_is_special(c)) {
		lx->pos++;
		lx->special = (char)c;
		return ADDRESS_T_SPECIAL;
	}
	start = lx->pos;
	while (lx->pos < lx->len) {
		c = (unsigned char)lx->s[lx->pos];
		if (c == ' ' || c == '\t' || c == '\r' || c == '\n' ||
		    (c != '\\' && address_is_special(c)))
			break;
		lx->pos++;
	}
	lx->tok = lx->s + start;
	lx->tok_len = lx->pos - start;
	return ADDRESS_T_ATOM;
}

/* The element (one mailbox, or a display name before its '<') being read. */
struct address_elem {
	struct buf local, domain;
	bool any;        /* some token belongs to this element */
	bool at;         /* '@' seen in the current addr-spec */
	bool angle;      /* inside <> */
	bool angle_done; /* the <> is closed */
	bool route;      /* inside a source route "<@a,@b:" */
	bool overflow;   /* local or domain went over the cap */
	bool word;       /* the last thing in the domain was a word, not a dot */
};

static void address_elem_clear(struct address_elem *e)
{
	buf_clear(&e->local);
	buf_clear(&e->domain);
	e->any = e->at = e->angle = e->angle_done = e->route = false;
	e->overflow = e->word = false;
}

/* address_append - a word of the current addr-spec */
static void address_append(struct address_elem *e, const char *p, size_t n, bool quoted)
{
	struct buf *b = e->at ? &e->domain : &e->local;

	if (e->at) {
		/* two words with no dot between: keep the space, no valid domain */
		if (e->word && !(n == 1 && p[0] == '.') && buf_putc(b, ' ') < 0)
			e->overflow = true;
		e->word = !(n == 1 && p[0] == '.' && !quoted);
	}

	/* a quoted string in a domain is kept as written: no valid domain */
	if (quoted && !e->at) {
		size_t i;
		/* drop the quotes and the backslash of each quoted pair */
		for (i = 1; i + 1 < n; i++) {
			if (p[i] == '\\' && i + 2 < n)
				i++;
			if (buf_putc(b, p[i]) < 0)
				e->overflow = true;
		}
		return;
	}
	if (buf_append(b, p, n) < 0)
		e->overflow = true;
}

/* address_emit - end of an element: add its address, if it has one */
static int address_emit(struct arena *a, struct address_elem *e, struct address_list *out,
                        bool in_group, const char **why)
{
	struct address *ad;

	if (!e->any)
		return 0;
	if (e->angle && !e->angle_done) {
		*why = "unterminated angle address";
		return -1;
	}
	if (e->overflow) {
		*why = "address too long";
		return -1;
	}
	if (out->n >= ADDRESS_MAX) {
		*why = "too many addresses";
		return -1;
	}
	if (out->addr == NULL) {
		out->addr = arena_array(a, ADDRESS_MAX, sizeof(*out->addr));
		if (out->addr == NULL) {
			*why = "out of memory";
			return -1;
		}
	}
	ad = &out->addr[out->n];
	ad->in_group = in_group;
	ad->local = arena_strndup(a, e->local.data ? e->local.data : "", e->local.len);
	ad->domain = NULL;
	if (e->at)
		ad->domain = arena_strndup(a, e->domain.data ? e->domain.data : "", e->domain.len);
	if (ad->local == NULL || (e->at && ad->domain == NULL)) {
		*why = "out of memory";
		return -1;
	}
	out->n++;
	return 0;
}

int address_list_parse(struct arena *a, const char *text, size_t len, struct address_list *out,
                       const char **why)
{
	struct address_lex lx = { .s = text, .len = len };
	struct address_elem e;
	bool in_group = false;
	const char *dummy;
	int rc = -1;

	if (why == NULL)
		why = &dummy;
	*why = NULL;
	memset(out, 0, sizeof(*out));
	if (text == NULL)
		len = lx.len = 0;
	buf_init(&e.local, ADDRESS_PART_CAP);
	buf_init(&e.domain, ADDRESS_PART_CAP);
	address_elem_clear(&e);
	for (;;) {
		enum address_tok t = address_next(&lx);

		if (t == ADDRESS_T_ERROR) {
			*why = lx.why;
			goto out;
		}
		if (t == ADDRESS_T_END) {
			if (address_emit(a, &e, out, in_group, why) < 0)
				goto out;
			break;
		}
		if (e.angle_done && !(t == ADDRESS_T_SPECIAL && strchr(",;", lx.special))) {
			*why = "text after an angle address";
			goto out;
		}
		if (t != ADDRESS_T_SPECIAL) {
			e.any = true;
			if (e.route)
				continue;
			address_append(&e, lx.tok, lx.tok_len, t == ADDRESS_T_QUOTED);
			continue;
		}
		switch (lx.special) {
		case '.':
			e.any = true;
			if (!e.route)
				address_append(&e, ".", 1, false);
			break;
		case '@':
			e.any = true;
			if (e.angle && !e.at && e.local.len == 0 && !e.route) {
				e.route = true; /* obs-route: <@relay,@relay:local@domain> */
				break;
			}
			if (e.route)
				break;
			if (e.at) {
				*why = "two '@' in one address";
				goto out;
			}
			e.at = true;
			break;
		case '<':
			if (e.angle) {
				*why = "nested '<'";
				goto out;
			}
			/* what came before was a display name */
			address_elem_clear(&e);
			e.any = e.angle = true;
			break;
		case '>':
			if (!e.angle || e.route) {
				*why = e.route ? "unterminated source route" : "unbalanced '>'";
				goto out;
			}
			e.angle_done = true;
			break;
		case ':':
			if (e.route) {
				e.route = false;
				break;
			}
			if (e.angle || e.at || in_group) {
				*why = "misplaced ':'";
				goto out;
			}
			/* a group: the words before it were its name */
			address_elem_clear(&e);
			in_group = true;
			out->groups++;
			break;
		case ',':
			if (e.route)
				break;
			if (e.angle && !e.angle_done) {
				*why = "',' inside an angle address";
				goto out;
			}
			if (address_emit(a, &e, out, in_group, why) < 0)
				goto out;
			address_elem_clear(&e);
			break;
		case ';':
			if (!in_group || (e.angle && !e.angle_done)) {
				*why = "misplaced ';'";
				goto out;
			}
			if (address_emit(a, &e, out, in_group, why) < 0)
				goto out;
			address_elem_clear(&e);
			in_group = false;
			break;
		default:
			*why = "unexpected character";
			goto out;
		}
	}
	rc = 0;
out:
	buf_free(&e.local);
	buf_free(&e.domain);
	if (rc < 0)
		out->n = 0;
	return rc;
}

/* address_domain_ok - a host name DMARC can look up: LDH labels (and '_') */
static bool address_domain_ok(const char *d)
{
	for (; *d != '\0'; d++)
		if (!str_is_alnum(*d) && *d != '-' && *d != '.' && *d != '_')
			return false;
	return true;
}

enum address_from_status address_from_value(struct arena *a, const char *value, size_t len,
                                            struct address_from *out)
{
	struct address_list l;
	const char *why = NULL;
	size_t i, j;

	memset(out, 0, sizeof(*out));
	if (address_list_parse(a, value, len, &l, &why) < 0) {
		out->why = why != NULL ? why : "unparsable";
		out->status = why != NULL && strcmp(why, "out of memory") == 0
		                  ? ADDRESS_FROM_NOMEM
		                  : ADDRESS_FROM_SYNTAX;
		return out->status;
	}
	out->naddresses = l.n;
	if (l.n == 0) {
		out->why = "no address in From";
		return out->status = ADDRESS_FROM_EMPTY;
	}
	out->domains = arena_array(a, l.n, sizeof(*out->domains));
	if (out->domains == NULL) {
		out->why = "out of memory";
		return out->status = ADDRESS_FROM_NOMEM;
	}
	for (i = 0; i < l.n; i++) {
		char norm[ORGDOMAIN_BUF];
		const char *d = l.addr[i].domain;

		if (d == NULL || *d == '\0') {
			out->why = "an address in From has no domain";
			out->ndomains = 0;
			return out->status = ADDRESS_FROM_NO_DOMAIN;
		}
		if (*d == '[' || orgdomain_normalise(d, strlen(d), norm, sizeof(norm)) < 0 ||
		    !address_domain_ok(norm)) {
			out->why = *d == '[' ? "the From domain is an address literal"
			                     : "the From domain is not a valid domain name";
			out->ndomains = 0;
			return out->status = ADDRESS_FROM_NO_DOMAIN;
		}
		for (j = 0; j < out->ndomains; j++)
			if (strcmp(out->domains[j], norm) == 0)
				break;
		if (j < out->ndomains)
			continue;
		out->domains[out->ndomains] = arena_strdup(a, norm);
		if (out->domains[out->ndomains] == NULL) {
			out->why = "out of memory";
			out->ndomains = 0;
			return out->status = ADDRESS_FROM_NOMEM;
		}
		out->ndomains++;
	}
	return out->status = ADDRESS_FROM_OK;
}

enum address_from_status address_from_domains(struct arena *a, const struct raw_message *m,
                                              struct address_from *out)
{
	const struct raw_field *f;
	const char *v;
	size_t n;

	memset(out, 0, sizeof(*out));
	n = raw_count(m, "From", 4);
	if (n == 0) {
		out->why = "no From field";
		return out->status = ADDRESS_FROM_MISSING;
	}
	if (n > 1) {
		out->why = "more than one From field";
		return out->status = ADDRESS_FROM_REPEATED;
	}
	f = raw_find_first(m, "From", 4);
	raw_field_value(f, &v, &n);
	return address_from_value(a, v, n, out);
}

const char *address_from_status_name(enum address_from_status s)
{
	switch (s) {
	case ADDRESS_FROM_OK:
		return "ok";
	case ADDRESS_FROM_MISSING:
		return "missing";
	case ADDRESS_FROM_REPEATED:
		return "repeated";
	case ADDRESS_FROM_SYNTAX:
		return "syntax";
	case ADDRESS_FROM_EMPTY:
		return "empty";
	case ADDRESS_FROM_NO_DOMAIN:
		return "no-domain";
	case ADDRESS_FROM_NOMEM:
		return "nomem";
	}
	return "unknown";
}
