/*
 * smtp_parse - SMTP command lines (see smtp_parse.h)
 *
 * Grammar from RFC 5321 section 4.1 (commands, Path, Mailbox), RFC 1870
 * (SIZE), RFC 6152 (8BITMIME), RFC 3030 (BDAT, BINARYMIME), RFC 6531
 * (SMTPUTF8) and RFC 3461 (DSN parameters, xtext).  Hand-written scanners
 * over a (pointer, length) pair: hostile bytes (NUL, controls, broken
 * UTF-8, endless source routes) end in a status, never in a crash, and
 * the work is linear in the line.
 */
#include "smtp/smtp_parse.h"

#include <string.h>
#include <sys/socket.h>

#include "core/net.h"
#include "core/str.h"

/* ---- line reader ---- */

void smtp_line_init(struct smtp_line *l, size_t max)
{
	buf_init(&l->buf, SMTP_LINE_HARD_MAX + 1);
	l->max = max;
	l->ready = false;
	l->skipping = false;
}

void smtp_line_free(struct smtp_line *l)
{
	if (l == NULL)
		return;
	buf_free(&l->buf);
}

void smtp_line_reset(struct smtp_line *l)
{
	buf_clear(&l->buf);
	l->ready = false;
	l->skipping = false;
}

enum smtp_line_status smtp_line_push(struct smtp_line *l, const char *p, size_t n, size_t *used)
{
	size_t max = l->max < 3 ? 3 : (l->max > SMTP_LINE_HARD_MAX ? SMTP_LINE_HARD_MAX : l->max);
	size_t i = 0;

	if (l->ready) {
		buf_clear(&l->buf);
		l->ready = false;
	}
	while (i < n) {
		const char *nl = memchr(p + i, '\n', n - i);
		size_t take = nl != NULL ? (size_t)(nl - (p + i)) : n - i;

		if (l->skipping) {
			i += take;
			if (nl == NULL)
				break;
			i++;
			l->skipping = false;
			buf_clear(&l->buf);
			continue;
		}
		/* room for the content (max - 2) and a CR that may be the line ending */
		if (l->buf.len + take > max - 1) {
			buf_clear(&l->buf);
			if (nl != NULL) {
				i += take + 1;
			} else {
				i = n;
				l->skipping = true;
			}
			*used = i;
			return SMTP_LINE_TOO_LONG;
		}
		if (buf_append(&l->buf, p + i, take) < 0) {
			/* cannot happen below the hard cap; treat as too long */
			buf_clear(&l->buf);
			l->skipping = nl == NULL;
			*used = nl != NULL ? i + take + 1 : n;
			return SMTP_LINE_TOO_LONG;
		}
		i += take;
		if (nl == NULL)
			break;
		i++;
		if (l->buf.len > 0 && l->buf.data[l->buf.len - 1] == '\r')
			l->buf.data[--l->buf.len] = '\0';
		if (l->buf.len > max - 2) {
			buf_clear(&l->buf);
			*used = i;
			return SMTP_LINE_TOO_LONG;
		}
		l->ready = true;
		*used = i;
		return SMTP_LINE_READY;
	}
	*used = i;
	return SMTP_LINE_MORE;
}

/* ---- helpers ---- */

static const struct {
	const char *name;
	enum smtp_verb verb;
} smtp_verbs[] = {
	{ "HELO", SMTP_VERB_HELO }, { "EHLO", SMTP_VERB_EHLO }, { "MAIL", SMTP_VERB_MAIL },
	{ "RCPT", SMTP_VERB_RCPT }, { "DATA", SMTP_VERB_DATA }, { "BDAT", SMTP_VERB_BDAT },
	{ "RSET", SMTP_VERB_RSET }, { "NOOP", SMTP_VERB_NOOP }, { "QUIT", SMTP_VERB_QUIT },
	{ "VRFY", SMTP_VERB_VRFY }, { "HELP", SMTP_VERB_HELP }, { "STARTTLS", SMTP_VERB_STARTTLS },
};

const char *smtp_verb_name(enum smtp_verb v)
{
	size_t i;

	for (i = 0; i < sizeof(smtp_verbs) / sizeof(smtp_verbs[0]); i++)
		if (smtp_verbs[i].verb == v)
			return smtp_verbs[i].name;
	return "UNKNOWN";
}

bool smtp_utf8_valid(const unsigned char *p, size_t n)
{
	size_t i = 0;

	while (i < n) {
		unsigned c = p[i], need, cp, min;

		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			need = 1, cp = c & 0x1f, min = 0x80;
		} else if (c >= 0xe0 && c <= 0xef) {
			need = 2, cp = c & 0x0f, min = 0x800;
		} else if (c >= 0xf0 && c <= 0xf4) {
			need = 3, cp = c & 0x07, min = 0x10000;
		} else {
			return false;
		}
		if (n - i - 1 < need)
			return false;
		for (size_t k = 1; k <= need; k++) {
			if ((p[i + k] & 0xc0) != 0x80)
				return false;
			cp = (cp << 6) | (p[i + k] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		i += need + 1;
	}
	return true;
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

int smtp_xtext_decode(const char *in, size_t n, char *out, size_t outsize)
{
	size_t i, o = 0;

	if (outsize == 0)
		return -1;
	for (i = 0; i < n; i++) {
		int c = (unsigned char)in[i];

		if (c == '+') {
			int hi, lo;

			if (n - i < 3 || (hi = hexval(in[i + 1])) < 0 ||
			    (lo = hexval(in[i + 2])) < 0)
				return -1;
			c = hi * 16 + lo;
			i += 2;
			if (c < 0x20 || c > 0x7e)
				return -1;
		} else if (c < 33 || c > 126 || c == '=') {
			return -1;
		}
		if (o + 1 >= outsize)
			return -1;
		out[o++] = (char)c;
	}
	out[o] = '\0';
	return 0;
}

static bool is_atext(int c)
{
	return str_is_alnum(c) || (c != 0 && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL);
}

/* ---- paths (RFC 5321 section 4.1.2) ---- */

struct scan {
	const char *s;
	size_t n;
	size_t i;
};

static int peek(const struct scan *sc)
{
	return sc->i < sc->n ? (unsigned char)sc->s[sc->i] : -1;
}

/* scan_domain - Domain, U-labels allowed (validated as UTF-8 by the caller) */
static bool scan_domain(struct scan *sc)
{
	size_t start = sc->i;

	for (;;) {
		size_t label = sc->i;
		int c = peek(sc);

		if (c < 0 || !(str_is_alnum(c) || c >= 0x80))
			return false;
		while ((c = peek(sc)) >= 0 && (str_is_alnum(c) || c == '-' || c >= 0x80))
			sc->i++;
		if (sc->s[sc->i - 1] == '-' || sc->i - label > 63)
			return false;
		if (peek(sc) != '.')
			break;
		sc->i++;
	}
	return sc->i - start <= SMTP_DOMAIN_MAX;
}

/* scan_literal - [IPv4] or [IPv6:...]; general literals are refused */
static bool scan_literal(struct scan *sc)
{
	const char *p;
	const char *end;
	struct net_addr a;
	size_t k;

	if (peek(sc) != '[')
		return false;
	p = sc->s + sc->i + 1;
	end = memchr(p, ']', sc->n - sc->i - 1);
	if (end == NULL || end - p > 64 || end == p)
		return false;
	if (end - p > 5 && str_ncasecmp(p, "IPv6:", 5) == 0) {
		for (k = 5; k < (size_t)(end - p); k++)
			if (!(hexval(p[k]) >= 0 || p[k] == ':' || p[k] == '.'))
				return false;
		/* net_addr turns ::ffff:a.b.c.d into IPv4; that is still a valid literal */
		if (net_addr_parse_n(p + 5, (size_t)(end - p) - 5, &a) < 0)
			return false;
	} else {
		for (k = 0; k < (size_t)(end - p); k++)
			if (!(str_is_digit(p[k]) || p[k] == '.'))
				return false;
		if (net_addr_parse_n(p, (size_t)(end - p), &a) < 0 || a.family != AF_INET)
			return false;
	}
	sc->i = (size_t)(end - sc->s) + 1;
	return true;
}

/* scan_local - Dot-string or Quoted-string (UTF-8 allowed, checked later) */
static bool scan_local(struct scan *sc)
{
	int c = peek(sc);

	if (c == '"') {
		sc->i++;
		for (;;) {
			c = peek(sc);
			if (c < 0)
				return false;
			sc->i++;
			if (c == '"')
				return true;
			if (c == '\\') {
				c = peek(sc);
				if (c < 32 || c > 126)
					return false;
				sc->i++;
			} else if (!((c >= 32 && c <= 126) || c >= 0x80)) {
				return false;
			}
		}
	}
	for (;;) {
		size_t atom = sc->i;

		while ((c = peek(sc)) >= 0 && (is_atext(c) || c >= 0x80))
			sc->i++;
		if (sc->i == atom)
			return false;
		if (peek(sc) != '.')
			return true;
		sc->i++;
	}
}

/*
 * parse_path - "<" [A-d-l ":"] Mailbox ">" (or "<>" when null_ok, or
 * "<Postmaster>" when postmaster_ok); the mailbox is copied to cmd->path
 */
static enum smtp_parse_status parse_path(struct scan *sc, bool null_ok, bool postmaster_ok,
                                         struct smtp_cmd *cmd)
{
	size_t start, len;

	if (peek(sc) != '<')
		return SMTP_PARSE_BAD_PATH;
	sc->i++;
	if (peek(sc) == '>') {
		if (!null_ok)
			return SMTP_PARSE_BAD_PATH;
		sc->i++;
		cmd->path[0] = '\0';
		return SMTP_PARSE_OK;
	}
	if (peek(sc) == '@') {
		/* source route (RFC 5321 appendix C): syntax checked, then dropped */
		for (;;) {
			if (peek(sc) != '@')
				return SMTP_PARSE_BAD_PATH;
			sc->i++;
			if (!scan_domain(sc))
				return SMTP_PARSE_BAD_PATH;
			if (peek(sc) == ':')
				break;
			if (peek(sc) != ',')
				return SMTP_PARSE_BAD_PATH;
			sc->i++;
		}
		sc->i++;
	}
	start = sc->i;
	if (!scan_local(sc))
		return SMTP_PARSE_BAD_PATH;
	if (peek(sc) == '>' && postmaster_ok && sc->i - start == 10 &&
	    str_ncasecmp(sc->s + start, "postmaster", 10) == 0) {
		cmd->postmaster = true;
	} else {
		if (peek(sc) != '@')
			return SMTP_PARSE_BAD_PATH;
		sc->i++;
		if (peek(sc) == '[') {
			if (!scan_literal(sc))
				return SMTP_PARSE_BAD_PATH;
		} else if (!scan_domain(sc)) {
			return SMTP_PARSE_BAD_PATH;
		}
	}
	len = sc->i - start;
	if (peek(sc) != '>' || len > SMTP_PATH_MAX)
		return SMTP_PARSE_BAD_PATH;
	sc->i++;
	for (size_t k = 0; k < len; k++)
		if ((unsigned char)sc->s[start + k] >= 0x80)
			cmd->path_utf8 = true;
	if (cmd->path_utf8 && !smtp_utf8_valid((const unsigned char *)sc->s + start, len))
		return SMTP_PARSE_BAD_PATH;
	memcpy(cmd->path, sc->s + start, len);
	cmd->path[len] = '\0';
	return SMTP_PARSE_OK;
}

/* ---- ESMTP parameters ---- */

static bool value_is(const char *v, size_t n, const char *word)
{
	return str_case_eq_n(v, n, word, strlen(word));
}

/* parse_notify - NEVER, or a list of SUCCESS, FAILURE, DELAY without repeats */
static bool parse_notify(const char *v, size_t n, struct smtp_cmd *cmd)
{
	static const char *const words[] = { "SUCCESS", "FAILURE", "DELAY" };
	unsigned seen = 0;
	size_t i = 0, o = 0;

	if (value_is(v, n, "NEVER")) {
		memcpy(cmd->notify, "NEVER", 6);
		return true;
	}
	while (i < n) {
		const char *comma = memchr(v + i, ',', n - i);
		size_t w = comma != NULL ? (size_t)(comma - (v + i)) : n - i;
		size_t k;

		for (k = 0; k < 3; k++)
			if (value_is(v + i, w, words[k]))
				break;
		if (k == 3 || (seen & (1u << k)))
			return false;
		seen |= 1u << k;
		if (o > 0)
			cmd->notify[o++] = ',';
		memcpy(cmd->notify + o, words[k], strlen(words[k]));
		o += strlen(words[k]);
		i += w;
		if (comma != NULL && ++i == n)
			return false; /* trailing comma */
	}
	cmd->notify[o] = '\0';
	return seen != 0;
}

/* parse_orcpt - addr-type ";" xtext, stored decoded as "type;address" */
static bool parse_orcpt(const char *v, size_t n, struct smtp_cmd *cmd)
{
	const char *semi = memchr(v, ';', n);
	size_t tlen;

	if (semi == NULL || semi == v)
		return false;
	tlen = (size_t)(semi - v);
	if (tlen + 1 >= sizeof(cmd->orcpt))
		return false;
	for (size_t k = 0; k < tlen; k++)
		if (!is_atext((unsigned char)v[k]))
			return false;
	memcpy(cmd->orcpt, v, tlen + 1);
	if (semi + 1 == v + n)
		return false;
	return smtp_xtext_decode(semi + 1, n - tlen - 1, cmd->orcpt + tlen + 1,
	                         sizeof(cmd->orcpt) - tlen - 1) == 0;
}

static enum smtp_parse_status parse_params(struct scan *sc, bool mail, unsigned flags,
                                           struct smtp_cmd *cmd)
{
	bool has_body = false, has_ret = false;

	for (;;) {
		size_t kstart, klen, vstart, vlen = 0;
		bool has_value = false;
		const char *k, *v;
		int c;

		while (peek(sc) == ' ')
			sc->i++;
		if (peek(sc) < 0)
			return SMTP_PARSE_OK;
		if (!(flags & SMTP_PARSE_ESMTP))
			return SMTP_PARSE_PARAM_UNKNOWN;
		kstart = sc->i;
		if (!str_is_alnum(peek(sc)))
			return SMTP_PARSE_SYNTAX;
		while ((c = peek(sc)) >= 0 && (str_is_alnum(c) || c == '-'))
			sc->i++;
		klen = sc->i - kstart;
		if (peek(sc) == '=') {
			sc->i++;
			has_value = true;
		}
		vstart = sc->i;
		while ((c = peek(sc)) >= 0 && c != ' ') {
			if (c < 33 || c > 126 || c == '=')
				return has_value ? SMTP_PARSE_PARAM_BAD : SMTP_PARSE_SYNTAX;
			sc->i++;
		}
		vlen = sc->i - vstart;
		if (!has_value && vlen > 0)
			return SMTP_PARSE_SYNTAX;
		if (has_value && vlen == 0)
			return SMTP_PARSE_PARAM_BAD;
		k = sc->s + kstart;
		v = sc->s + vstart;

		if (mail && value_is(k, klen, "SIZE")) {
			if (cmd->has_size || !has_value || vlen > 20 ||
			    str_to_u64(v, vlen, 0, UINT64_MAX, &cmd->size) < 0)
				return SMTP_PARSE_PARAM_BAD;
			cmd->has_size = true;
		} else if (mail && value_is(k, klen, "BODY")) {
			if (has_body || !has_value)
				return SMTP_PARSE_PARAM_BAD;
			has_body = true;
			if (value_is(v, vlen, "7BIT"))
				cmd->body = SMTP_BODY_7BIT;
			else if (value_is(v, vlen, "8BITMIME"))
				cmd->body = SMTP_BODY_8BITMIME;
			else if (value_is(v, vlen, "BINARYMIME") && !(flags & SMTP_PARSE_NO_BINARY))
				cmd->body = SMTP_BODY_BINARYMIME;
			else
				return SMTP_PARSE_PARAM_BAD;
		} else if (mail && value_is(k, klen, "SMTPUTF8") && !(flags & SMTP_PARSE_NO_UTF8)) {
			if (cmd->smtputf8 || has_value)
				return SMTP_PARSE_PARAM_BAD;
			cmd->smtputf8 = true;
		} else if (mail && value_is(k, klen, "RET") && !(flags & SMTP_PARSE_NO_DSN)) {
			if (has_ret || !has_value)
				return SMTP_PARSE_PARAM_BAD;
			has_ret = true;
			if (value_is(v, vlen, "FULL"))
				cmd->ret = SMTP_RET_FULL;
			else if (value_is(v, vlen, "HDRS"))
				cmd->ret = SMTP_RET_HDRS;
			else
				return SMTP_PARSE_PARAM_BAD;
		} else if (mail && value_is(k, klen, "ENVID") && !(flags & SMTP_PARSE_NO_DSN)) {
			if (cmd->has_envid || !has_value ||
			    smtp_xtext_decode(v, vlen, cmd->envid, sizeof(cmd->envid)) < 0)
				return SMTP_PARSE_PARAM_BAD;
			cmd->has_envid = true;
		} else if (!mail && value_is(k, klen, "NOTIFY") && !(flags & SMTP_PARSE_NO_DSN)) {
			if (cmd->has_notify || !has_value || !parse_notify(v, vlen, cmd))
				return SMTP_PARSE_PARAM_BAD;
			cmd->has_notify = true;
		} else if (!mail && value_is(k, klen, "ORCPT") && !(flags & SMTP_PARSE_NO_DSN)) {
			if (cmd->has_orcpt || !has_value || !parse_orcpt(v, vlen, cmd))
				return SMTP_PARSE_PARAM_BAD;
			cmd->has_orcpt = true;
		} else {
			return SMTP_PARSE_PARAM_UNKNOWN;
		}
	}
}

/* ---- commands ---- */

/* trim_end - drop trailing spaces and tabs */
static size_t trim_end(const char *s, size_t n)
{
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	return n;
}

/* parse_helo_name - one token: a domain-ish name or an address literal */
static enum smtp_parse_status parse_helo_name(const char *s, size_t n, unsigned flags,
                                              struct smtp_cmd *cmd)
{
	size_t k;

	if (n == 0 || n > SMTP_DOMAIN_MAX)
		return SMTP_PARSE_BAD_DOMAIN;
	if (s[0] == '[') {
		struct scan sc = { s, n, 0 };

		if (!scan_literal(&sc) || sc.i != n)
			return SMTP_PARSE_BAD_DOMAIN;
	} else {
		/* lenient: real clients send underscores and bare host names */
		for (k = 0; k < n; k++) {
			unsigned char c = (unsigned char)s[k];

			if (c >= 0x80 && !(flags & SMTP_PARSE_NO_UTF8))
				continue;
			if (c <= 32 || c >= 127 || strchr("<>()[]\\,;:@\"", c) != NULL)
				return SMTP_PARSE_BAD_DOMAIN;
		}
		if (!smtp_utf8_valid((const unsigned char *)s, n))
			return SMTP_PARSE_BAD_DOMAIN;
	}
	cmd->arg = s;
	cmd->arg_len = n;
	return SMTP_PARSE_OK;
}

static enum smtp_parse_status parse_mail_rcpt(const char *line, size_t len, size_t at, bool mail,
                                              unsigned flags, struct smtp_cmd *cmd)
{
	const char *kw = mail ? "FROM:" : "TO:";
	size_t kwlen = strlen(kw);
	struct scan sc;
	enum smtp_parse_status st;

	if (at >= len || line[at] != ' ' || len - at - 1 < kwlen ||
	    str_ncasecmp(line + at + 1, kw, kwlen) != 0)
		return SMTP_PARSE_SYNTAX;
	sc.s = line;
	sc.n = len;
	sc.i = at + 1 + kwlen;
	/* "MAIL FROM: <a@b>" is common, if not RFC 5321: allow spaces */
	while (peek(&sc) == ' ')
		sc.i++;
	st = parse_path(&sc, mail, !mail, cmd);
	if (st != SMTP_PARSE_OK)
		return st;
	if (peek(&sc) >= 0 && peek(&sc) != ' ')
		return SMTP_PARSE_BAD_PATH;
	st = parse_params(&sc, mail, flags, cmd);
	if (st != SMTP_PARSE_OK)
		return st;
	if (cmd->path_utf8 && !(mail ? cmd->smtputf8 : (flags & SMTP_PARSE_UTF8_OK) != 0))
		return SMTP_PARSE_UTF8;
	return SMTP_PARSE_OK;
}

enum smtp_parse_status smtp_parse_command(const char *line, size_t len, unsigned flags,
                                          struct smtp_cmd *cmd)
{
	size_t vlen, i, rest, restlen;

	memset(cmd, 0, sizeof(*cmd));
	cmd->verb = SMTP_VERB_UNKNOWN;
	for (vlen = 0; vlen < len && line[vlen] != ' '; vlen++)
		;
	for (i = 0; i < sizeof(smtp_verbs) / sizeof(smtp_verbs[0]); i++)
		if (str_case_eq_n(line, vlen, smtp_verbs[i].name, strlen(smtp_verbs[i].name)))
			cmd->verb = smtp_verbs[i].verb;
	if (cmd->verb == SMTP_VERB_UNKNOWN)
		return SMTP_PARSE_UNKNOWN_VERB;
	/* no controls anywhere (NUL included); 8-bit only where a parser allows it */
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)line[i];

		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return SMTP_PARSE_SYNTAX;
	}
	rest = vlen < len ? vlen + 1 : len;
	restlen = trim_end(line + rest, len - rest);

	switch (cmd->verb) {
	case SMTP_VERB_HELO:
	case SMTP_VERB_EHLO:
		while (restlen > 0 && line[rest] == ' ')
			rest++, restlen--;
		return parse_helo_name(line + rest, restlen, flags, cmd);
	case SMTP_VERB_MAIL:
	case SMTP_VERB_RCPT:
		return parse_mail_rcpt(line, rest + restlen, vlen, cmd->verb == SMTP_VERB_MAIL,
		                       flags, cmd);
	case SMTP_VERB_DATA:
	case SMTP_VERB_RSET:
	case SMTP_VERB_QUIT:
	case SMTP_VERB_STARTTLS:
		return restlen == 0 ? SMTP_PARSE_OK : SMTP_PARSE_NO_ARGS;
	case SMTP_VERB_BDAT: {
		const char *p = line + rest;
		size_t n = 0;

		while (n < restlen && str_is_digit(p[n]))
			n++;
		if (n == 0 || n > 20 || str_to_u64(p, n, 0, UINT64_MAX, &cmd->chunk_size) < 0)
			return SMTP_PARSE_SYNTAX;
		if (n == restlen)
			return SMTP_PARSE_OK;
		if (p[n] != ' ')
			return SMTP_PARSE_SYNTAX;
		while (n < restlen && p[n] == ' ')
			n++;
		if (!str_case_eq_n(p + n, restlen - n, "LAST", 4))
			return SMTP_PARSE_SYNTAX;
		cmd->last = true;
		return SMTP_PARSE_OK;
	}
	case SMTP_VERB_VRFY:
	case SMTP_VERB_NOOP:
	case SMTP_VERB_HELP:
		cmd->arg = line + rest;
		cmd->arg_len = restlen;
		if (cmd->verb == SMTP_VERB_VRFY && restlen == 0)
			return SMTP_PARSE_SYNTAX;
		return SMTP_PARSE_OK;
	case SMTP_VERB_UNKNOWN:
		break;
	}
	return SMTP_PARSE_UNKNOWN_VERB;
}
