/*
 * authres - parse and write Authentication-Results values (RFC 8601)
 *
 * The parser is a hand-written recursive-descent reader over the ABNF of
 * RFC 8601 section 2.2, with no recursion in practice: comments nest,
 * but they are skipped with a depth counter.  Errors name what was
 * expected and where, so a human can see what a sender got wrong.
 */
#include <stdlib.h>
#include <string.h>

#include "auth/authres.h"
#include "core/arena.h"
#include "core/buf.h"
#include "core/str.h"

#define COMMENT_DEPTH_MAX 64
#define VERSION_MAX       999999999u

struct parser {
	const char *s;
	size_t len, pos;
	struct arena *a;
	struct sx_err *err;
	unsigned flags;
	bool want_comment;   /* remember the first comment skipped */
	const char *comment; /* its text, without the parentheses */
	size_t comment_len;
	bool oom;
};

static int fail(struct parser *p, const char *what)
{
	if (p->oom)
		sx_err_set(p->err, "out of memory");
	else
		sx_err_set(p->err, "expected %s at %zu", what, p->pos);
	return -1;
}

static bool at_end(const struct parser *p)
{
	return p->pos >= p->len;
}

static int cur(const struct parser *p)
{
	return p->pos < p->len ? (unsigned char)p->s[p->pos] : -1;
}

static bool is_ws(int c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* tspecials of RFC 2045: not allowed in a token */
static bool is_tspecial(int c)
{
	return c != 0 && strchr("()<>@,;:\\\"/[]?=", c) != NULL;
}

static bool is_token_char(int c)
{
	return c > 0x20 && c != 0x7f && !is_tspecial(c);
}

/* atext of RFC 5322 (8-bit bytes allowed, RFC 8616) and the dot */
static bool is_atext_dot(int c)
{
	return str_is_alnum(c) || c >= 0x80 ||
	       (c != 0 && strchr("!#$%&'*+-/=?^_`{|}~.", c) != NULL);
}

/*
 * skip_cfws - skip white space and comments; returns how many bytes were
 * skipped, or -1 on an unterminated or too deeply nested comment
 */
static long skip_cfws(struct parser *p)
{
	size_t start = p->pos;

	while (!at_end(p)) {
		int c = cur(p);
		size_t open, depth = 0;

		if (is_ws(c)) {
			p->pos++;
			continue;
		}
		if (c != '(')
			break;
		open = p->pos;
		for (;;) {
			if (at_end(p)) {
				p->pos = open;
				fail(p, "')' closing this comment");
				return -1;
			}
			c = cur(p);
			if (c == '\\') {
				p->pos += p->pos + 1 < p->len ? 2 : 1;
				continue;
			}
			p->pos++;
			if (c == '(') {
				if (++depth > COMMENT_DEPTH_MAX) {
					fail(p, "less deeply nested comments");
					return -1;
				}
			} else if (c == ')' && --depth == 0) {
				break;
			}
		}
		if (p->want_comment && p->comment == NULL) {
			p->comment = p->s + open + 1;
			p->comment_len = p->pos - open - 2;
		}
	}
	return (long)(p->pos - start);
}

/* keyword - Let-dig [Ldh-str] (RFC 5321); a lower-cased copy, or NULL */
static char *keyword(struct parser *p)
{
	size_t start = p->pos, n;
	char *out;

	if (!str_is_alnum(cur(p)))
		return NULL;
	while (!at_end(p) && (str_is_alnum(cur(p)) || cur(p) == '-'))
		p->pos++;
	/* an Ldh-str ends in a letter or digit: give the hyphens back */
	while (p->s[p->pos - 1] == '-')
		p->pos--;
	n = p->pos - start;
	out = arena_strndup(p->a, p->s + start, n);
	if (out == NULL) {
		p->oom = true;
		return NULL;
	}
	return str_lower_inplace(out);
}

/* digits - 1*DIGIT as a number; -1 when there are none or too many */
static int digits(struct parser *p, int *out)
{
	size_t start = p->pos;
	uint64_t v;

	while (!at_end(p) && str_is_digit(cur(p)))
		p->pos++;
	if (p->pos == start || str_to_u64(p->s + start, p->pos - start, 0, VERSION_MAX, &v) < 0) {
		p->pos = start;
		return -1;
	}
	*out = (int)v;
	return 0;
}

/* quoted - a quoted-string at '"': its content, unescaped and unfolded */
static char *quoted(struct parser *p)
{
	size_t start = p->pos, n = 0;
	char *out;

	p->pos++;
	out = arena_alloc(p->a, p->len - p->pos + 1);
	if (out == NULL) {
		p->oom = true;
		return NULL;
	}
	for (;;) {
		int c;

		if (at_end(p)) {
			p->pos = start;
			fail(p, "'\"' closing this quoted string");
			return NULL;
		}
		c = cur(p);
		p->pos++;
		if (c == '"')
			break;
		if (c == '\\' && !at_end(p))
			c = (unsigned char)p->s[p->pos++];
		else if (c == '\r' || c == '\n')
			continue; /* folding: the WSP after it stays */
		if (c == '\0') {
			/* no header text holds NUL (RFC 5322 qtext, quoted-pair) */
			p->pos--;
			fail(p, "a NUL byte in a quoted string");
			return NULL;
		}
		out[n++] = (char)c;
	}
	out[n] = '\0';
	return out;
}

/* value - token / quoted-string (RFC 2045) */
static char *value(struct parser *p, const char *what)
{
	size_t start = p->pos;
	char *out;

	if (cur(p) == '"')
		return quoted(p);
	while (!at_end(p) && is_token_char(cur(p)))
		p->pos++;
	if (p->pos == start) {
		fail(p, what);
		return NULL;
	}
	out = arena_strndup(p->a, p->s + start, p->pos - start);
	if (out == NULL)
		p->oom = true;
	return out;
}

/* domain - sub-domain *("." sub-domain), labels of letters, digits, '-' and '_' */
static bool domain(struct parser *p)
{
	size_t label = 0, start = p->pos;

	while (!at_end(p)) {
		int c = cur(p);

		if (c == '.') {
			if (label == 0)
				break;
			label = 0;
		} else if (str_is_alnum(c) || c == '-' || c == '_' || c >= 0x80) {
			label++;
		} else {
			break;
		}
		p->pos++;
	}
	if (label == 0 && p->pos > start && p->s[p->pos - 1] == '.')
		p->pos--; /* a final dot ends the value, it is not part of it */
	return p->pos > start && p->s[p->pos - 1] != '.';
}

/*
 * pvalue - value / [[local-part] "@"] domain-name (RFC 8601 2.2): an
 * address form is tried first because its local part may hold '/' and
 * '=', which a token may not
 */
static char *pvalue(struct parser *p)
{
	size_t start = p->pos;
	char *out;

	if (cur(p) == '"') {
		size_t q = p->pos;

		out = quoted(p);
		if (out == NULL || cur(p) != '@')
			return out;
		p->pos++;
		if (!domain(p)) {
			fail(p, "domain name");
			return NULL;
		}
		out = arena_strndup(p->a, p->s + q, p->pos - q);
		if (out == NULL)
			p->oom = true;
		return out;
	}
	while (!at_end(p) && is_atext_dot(cur(p)))
		p->pos++;
	if (cur(p) == '@') {
		p->pos++;
		if (!domain(p)) {
			fail(p, "domain name");
			return NULL;
		}
		out = arena_strndup(p->a, p->s + start, p->pos - start);
		if (out == NULL)
			p->oom = true;
		return out;
	}
	p->pos = start;
	return value(p, "value");
}

static int push_prop(struct parser *p, struct authres_result *r, size_t *cap,
                     struct authres_prop prop)
{
	if (r->nprops == *cap) {
		size_t ncap = *cap == 0 ? 4 : *cap * 2;
		struct authres_prop *n;

		if (r->nprops >= AUTHRES_MAX_PROPS) {
			sx_err_set(p->err, "more than %d properties in one result at %zu",
			           AUTHRES_MAX_PROPS, p->pos);
			return -1;
		}
		if (ncap > AUTHRES_MAX_PROPS)
			ncap = AUTHRES_MAX_PROPS;
		n = arena_array(p->a, ncap, sizeof(*n));
		if (n == NULL) {
			p->oom = true;
			return fail(p, "memory");
		}
		if (r->nprops > 0)
			memcpy(n, r->props, r->nprops * sizeof(*n));
		r->props = n;
		*cap = ncap;
	}
	r->props[r->nprops++] = prop;
	return 0;
}

/* resinfo - after the ';' and its CFWS: methodspec [reasonspec] *propspec */
static int resinfo(struct parser *p, struct authres_result *r, const char *method)
{
	size_t start = p->pos - strlen(method), cap = 0, end;
	long sp;

	memset(r, 0, sizeof(*r));
	r->method = method;
	r->method_version = -1;
	if (skip_cfws(p) < 0)
		return -1;
	if (cur(p) == '/') {
		p->pos++;
		if (skip_cfws(p) < 0)
			return -1;
		if (digits(p, &r->method_version) < 0)
			return fail(p, "method version (digits)");
		if (skip_cfws(p) < 0)
			return -1;
	}
	if (cur(p) != '=')
		return fail(p, "'='");
	p->pos++;
	if (skip_cfws(p) < 0)
		return -1;
	if ((r->result = keyword(p)) == NULL)
		return fail(p, "keyword");
	p->want_comment = true;
	p->comment = NULL;
	sp = skip_cfws(p);
	p->want_comment = false;
	if (sp < 0)
		return -1;
	if (p->comment != NULL) {
		r->comment = arena_strndup(p->a, p->comment, p->comment_len);
		if (r->comment == NULL) {
			p->oom = true;
			return fail(p, "memory");
		}
	}
	while (!at_end(p) && cur(p) != ';') {
		struct authres_prop prop;
		char *k;

		if (sp == 0 || (k = keyword(p)) == NULL)
			return fail(p, "keyword");
		if (skip_cfws(p) < 0)
			return -1;
		if (strcmp(k, "reason") == 0 && cur(p) == '=' && r->reason == NULL &&
		    r->nprops == 0) {
			p->pos++;
			if (skip_cfws(p) < 0)
				return -1;
			if ((r->reason = value(p, "reason value")) == NULL)
				return -1;
			if ((sp = skip_cfws(p)) < 0)
				return -1;
			continue;
		}
		if ((p->flags & AUTHRES_LENIENT) && strcmp(k, "action") == 0 && cur(p) == '=') {
			/* EOP: "dmarc=pass action=none header.from=..." */
			p->pos++;
			if (skip_cfws(p) < 0)
				return -1;
			prop.ptype = "";
			prop.property = k;
			if ((prop.value = value(p, "action value")) == NULL)
				return -1;
			if (push_prop(p, r, &cap, prop) < 0)
				return -1;
			if ((sp = skip_cfws(p)) < 0)
				return -1;
			continue;
		}
		if (cur(p) != '.')
			return fail(p, "'.'");
		p->pos++;
		if (skip_cfws(p) < 0)
			return -1;
		prop.ptype = k;
		if ((prop.property = keyword(p)) == NULL)
			return fail(p, "keyword");
		if (skip_cfws(p) < 0)
			return -1;
		if (cur(p) != '=')
			return fail(p, "'='");
		p->pos++;
		if (skip_cfws(p) < 0)
			return -1;
		if ((prop.value = pvalue(p)) == NULL)
			return -1;
		if (push_prop(p, r, &cap, prop) < 0)
			return -1;
		if ((sp = skip_cfws(p)) < 0)
			return -1;
	}
	end = p->pos;
	while (end > start && is_ws((unsigned char)p->s[end - 1]))
		end--;
	r->raw = p->s + start;
	r->raw_len = end - start;
	return 0;
}

int authres_parse(struct authres *ar, struct arena *a, const char *text, size_t len, unsigned flags,
                  struct sx_err *err)
{
	struct parser p = { .s = text, .len = len, .a = a, .err = err, .flags = flags };
	size_t cap = 0;

	memset(ar, 0, sizeof(*ar));
	ar->version = -1;
	if (len > AUTHRES_MAX_LEN) {
		sx_err_set(err, "longer than %d bytes", AUTHRES_MAX_LEN);
		return -1;
	}
	if (skip_cfws(&p) < 0)
		return -1;
	if ((ar->authserv_id = value(&p, "token")) == NULL)
		return -1;
	if (skip_cfws(&p) < 0)
		return -1;
	if (str_is_digit(cur(&p))) {
		if (digits(&p, &ar->version) < 0)
			return fail(&p, "version (digits)");
		if (skip_cfws(&p) < 0)
			return -1;
	}
	for (;;) {
		struct authres_result *r;
		char *method;
		size_t save;

		if (cur(&p) != ';') {
			if (at_end(&p) && ar->nresults > 0)
				return 0;
			return fail(&p, "';'");
		}
		p.pos++;
		if (skip_cfws(&p) < 0)
			return -1;
		if (at_end(&p) && (flags & AUTHRES_LENIENT) && ar->nresults > 0)
			return 0;
		if ((method = keyword(&p)) == NULL)
			return fail(&p, "keyword");
		if (ar->nresults == 0 && strcmp(method, "none") == 0) {
			save = p.pos;
			if (skip_cfws(&p) < 0)
				return -1;
			if (at_end(&p))
				return 0;
			p.pos = save;
		}
		if (ar->nresults == cap) {
			size_t ncap = cap == 0 ? 4 : cap * 2;
			struct authres_result *n;

			if (ar->nresults >= AUTHRES_MAX_RESULTS) {
				sx_err_set(err, "more than %d results at %zu", AUTHRES_MAX_RESULTS,
				           p.pos);
				return -1;
			}
			if (ncap > AUTHRES_MAX_RESULTS)
				ncap = AUTHRES_MAX_RESULTS;
			n = arena_array(a, ncap, sizeof(*n));
			if (n == NULL) {
				sx_err_set(err, "out of memory");
				return -1;
			}
			if (ar->nresults > 0)
				memcpy(n, ar->results, ar->nresults * sizeof(*n));
			ar->results = n;
			cap = ncap;
		}
		r = &ar->results[ar->nresults];
		if (resinfo(&p, r, method) < 0)
			return -1;
		ar->nresults++;
	}
}

const struct authres_result *authres_find(const struct authres *ar, const char *method,
                                          size_t *from)
{
	size_t i = from != NULL ? *from : 0;

	for (; i < ar->nresults; i++)
		if (str_casecmp(ar->results[i].method, method) == 0) {
			if (from != NULL)
				*from = i + 1;
			return &ar->results[i];
		}
	if (from != NULL)
		*from = ar->nresults;
	return NULL;
}

const char *authres_prop_find(const struct authres_result *r, const char *ptype,
                              const char *property)
{
	size_t i;

	for (i = 0; i < r->nprops; i++)
		if (str_casecmp(r->props[i].ptype, ptype) == 0 &&
		    str_casecmp(r->props[i].property, property) == 0)
			return r->props[i].value;
	return NULL;
}

/* ---- formatting ------------------------------------------------------- */

#define PIECE_CAP 8192
#define TAB_WIDTH 8

static bool is_token(const char *s)
{
	if (*s == '\0')
		return false;
	for (; *s != '\0'; s++)
		if (!is_token_char((unsigned char)*s))
			return false;
	return true;
}

/* is_address - dot-atom-text "@" domain, or "@" domain (RFC 8601 pvalue) */
static bool is_address(const char *s)
{
	const char *at = strrchr(s, '@'), *c;
	struct parser p;

	if (at == NULL)
		return false;
	for (c = s; c < at; c++)
		if (!is_atext_dot((unsigned char)*c) || (*c == '.' && (c == s || c[-1] == '.')))
			return false;
	if (at > s && at[-1] == '.')
		return false;
	memset(&p, 0, sizeof(p));
	p.s = at + 1;
	p.len = strlen(at + 1);
	return domain(&p) && p.pos == p.len;
}

/* put_value - as it is when the grammar allows, else a quoted-string */
static int put_value(struct buf *b, const char *v, bool address_ok)
{
	int rc = 0;

	if (is_token(v) || (address_ok && is_address(v)))
		return buf_puts(b, v);
	rc |= buf_putc(b, '"');
	for (; *v != '\0'; v++) {
		unsigned char c = (unsigned char)*v;

		if (c < 0x20 || c == 0x7f)
			continue;
		if (c == '"' || c == '\\')
			rc |= buf_putc(b, '\\');
		rc |= buf_putc(b, (char)c);
	}
	rc |= buf_putc(b, '"');
	return rc;
}

static int put_comment(struct buf *b, const char *v)
{
	int rc = buf_putc(b, '(');

	for (; *v != '\0'; v++) {
		unsigned char c = (unsigned char)*v;

		if (c < 0x20 || c == 0x7f)
			continue;
		if (c == '(' || c == ')' || c == '\\')
			rc |= buf_putc(b, '\\');
		rc |= buf_putc(b, (char)c);
	}
	return rc | buf_putc(b, ')');
}

struct layout {
	struct buf *out;
	const char *eol;
	size_t col, width;
	int failed;
};

static void emit(struct layout *l, const char *s, size_t n)
{
	l->failed |= buf_append(l->out, s, n);
	l->col += n;
}

static void fold(struct layout *l)
{
	l->failed |= buf_puts(l->out, l->eol);
	l->failed |= buf_putc(l->out, '\t');
	l->col = TAB_WIDTH;
}

/* pieces - the parts of one result, each NUL-terminated, one after another */
static int pieces(struct buf *b, const struct authres_result *r, size_t *count)
{
	size_t i;
	int rc = 0;

	*count = 0;
	rc |= buf_puts(b, r->method);
	if (r->method_version >= 0)
		rc |= buf_printf(b, "/%d", r->method_version);
	rc |= buf_putc(b, '=');
	rc |= buf_puts(b, r->result);
	rc |= buf_putc(b, '\0');
	(*count)++;
	if (r->comment != NULL) {
		rc |= put_comment(b, r->comment);
		rc |= buf_putc(b, '\0');
		(*count)++;
	}
	if (r->reason != NULL) {
		rc |= buf_puts(b, "reason=");
		rc |= put_value(b, r->reason, false);
		rc |= buf_putc(b, '\0');
		(*count)++;
	}
	for (i = 0; i < r->nprops; i++) {
		if (r->props[i].ptype[0] == '\0') /* a bare action= read leniently */
			rc |= buf_printf(b, "%s=", r->props[i].property);
		else
			rc |= buf_printf(b, "%s.%s=", r->props[i].ptype, r->props[i].property);
		rc |= put_value(b, r->props[i].value != NULL ? r->props[i].value : "", true);
		rc |= buf_putc(b, '\0');
		(*count)++;
	}
	return rc;
}

int authres_format(struct buf *out, const struct authres *ar,
                   const struct authres_format_opts *opts)
{
	struct authres_format_opts defaults = { 0 };
	struct layout l;
	struct buf head, *parts;
	size_t *counts, i, j, total;
	int rc = -1;

	if (opts == NULL)
		opts = &defaults;
	l.out = out;
	l.eol = opts->lf ? "\n" : "\r\n";
	l.col = opts->first_col;
	l.width = opts->width > 0 ? opts->width : 78;
	l.failed = 0;
	buf_init(&head, PIECE_CAP);
	parts = ar->nresults > 0 ? calloc(ar->nresults, sizeof(*parts)) : NULL;
	counts = ar->nresults > 0 ? calloc(ar->nresults, sizeof(*counts)) : NULL;
	if (ar->nresults > 0 && (parts == NULL || counts == NULL))
		goto out;
	l.failed |= put_value(&head, ar->authserv_id != NULL ? ar->authserv_id : "", false);
	if (ar->version >= 0)
		l.failed |= buf_printf(&head, " %d", ar->version);
	total = l.col + head.len;
	for (i = 0; i < ar->nresults; i++) {
		buf_init(&parts[i], PIECE_CAP);
		l.failed |= pieces(&parts[i], &ar->results[i], &counts[i]);
		total += 2 + parts[i].len - 1; /* "; " and the NULs become spaces */
	}
	if (l.failed)
		goto out;
	emit(&l, head.data, head.len);
	if (ar->nresults == 0) {
		emit(&l, "; none", 6);
	} else if (total <= l.width) {
		for (i = 0; i < ar->nresults; i++) {
			emit(&l, "; ", 2);
			/* the NULs between the pieces become spaces, the last is dropped */
			for (j = 0; j + 1 < parts[i].len; j++)
				l.failed |= buf_putc(
				    out, parts[i].data[j] == '\0' ? ' ' : parts[i].data[j]);
		}
	} else {
		for (i = 0; i < ar->nresults; i++) {
			const char *s = parts[i].data;

			emit(&l, ";", 1);
			fold(&l);
			for (j = 0; j < counts[i]; j++) {
				size_t n = strlen(s);

				if (j > 0) {
					if (l.col + 1 + n > l.width)
						fold(&l);
					else
						emit(&l, " ", 1);
				}
				emit(&l, s, n);
				s += n + 1;
			}
		}
	}
	rc = l.failed ? -1 : 0;
out:
	for (i = 0; parts != NULL && i < ar->nresults; i++)
		buf_free(&parts[i]);
	free(parts);
	free(counts);
	buf_free(&head);
	return rc;
}

int authres_format_result(struct buf *out, const struct authres_result *r)
{
	struct buf tmp;
	size_t n, i;
	int rc;

	buf_init(&tmp, PIECE_CAP);
	rc = pieces(&tmp, r, &n);
	for (i = 0; rc == 0 && i + 1 < tmp.len; i++)
		rc = buf_putc(out, tmp.data[i] == '\0' ? ' ' : tmp.data[i]);
	buf_free(&tmp);
	return rc < 0 ? -1 : 0;
}
