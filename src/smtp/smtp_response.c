/*
 * smtp_response - the SMTP client's reply parser (see smtp_response.h)
 *
 * Strict where a mistake could desynchronise the session (the code, its
 * digits, the same code on every line, the separator), lenient where
 * servers differ harmlessly (bare LF, "250" without text, 8-bit text).
 */
#include "smtp/smtp_response.h"

#include <string.h>

#include "core/str.h"

void smtp_response_init(struct smtp_response *r)
{
	memset(r, 0, sizeof(*r));
	buf_init(&r->lines, SMTP_RESPONSE_LINES_BYTES);
}

void smtp_response_reset(struct smtp_response *r)
{
	r->code = 0;
	r->enhanced[0] = '\0';
	r->text[0] = '\0';
	r->nlines = 0;
	r->done = false;
	r->error = NULL;
	buf_clear(&r->lines);
}

void smtp_response_free(struct smtp_response *r)
{
	if (r == NULL)
		return;
	buf_free(&r->lines);
	memset(r, 0, sizeof(*r));
}

static int smtp_response_fail(struct smtp_response *r, const char *why)
{
	r->error = why;
	return -1;
}

/* smtp_response_enhanced_len - length of a "c.sss.ddd" prefix of class c, followed
 * by a space or the end, in t[0..n); 0 when there is none */
static size_t smtp_response_enhanced_len(const char *t, size_t n, unsigned code)
{
	size_t i = 0, part, k;

	if (n < 5 || (unsigned)(t[0] - '0') != code / 100 || t[1] != '.')
		return 0;
	i = 2;
	for (part = 0; part < 2; part++) {
		for (k = 0; i < n && str_is_digit(t[i]) && k < 4; i++, k++)
			;
		if (k < 1 || k > 3)
			return 0;
		if (part == 0) {
			if (i >= n || t[i] != '.')
				return 0;
			i++;
		}
	}
	if (i < n && t[i] != ' ')
		return 0;
	return i;
}

/* smtp_response_add_text - append t[0..n) to r->text (a space between lines), sanitised */
static void smtp_response_add_text(struct smtp_response *r, const char *t, size_t n)
{
	size_t len = strlen(r->text), i;

	if (len > 0 && n > 0 && len + 1 < sizeof(r->text))
		r->text[len++] = ' ';
	for (i = 0; i < n && len + 1 < sizeof(r->text); i++) {
		unsigned char c = (unsigned char)t[i];
		r->text[len++] = (c < 0x20 || c == 0x7f) ? ' ' : (char)c;
	}
	r->text[len] = '\0';
}

int smtp_response_line(struct smtp_response *r, const char *line, size_t len)
{
	unsigned code;
	bool last;
	const char *t;
	size_t tn, el;

	if (r->done)
		return smtp_response_fail(r, "reply already complete");
	if (len + 2 > SMTP_RESPONSE_LINE_MAX)
		return smtp_response_fail(r, "reply line too long");
	if (len < 3 || line[0] < '2' || line[0] > '5' || !str_is_digit(line[1]) ||
	    !str_is_digit(line[2]))
		return smtp_response_fail(r, "malformed reply code");
	code = (unsigned)(line[0] - '0') * 100 + (unsigned)(line[1] - '0') * 10 +
	       (unsigned)(line[2] - '0');
	if (len == 3) {
		last = true;
	} else if (line[3] == ' ') {
		last = true;
	} else if (line[3] == '-') {
		last = false;
	} else {
		return smtp_response_fail(r, "malformed reply separator");
	}
	if (r->nlines > 0 && code != r->code)
		return smtp_response_fail(r, "reply code changes inside a multi-line reply");
	if (r->nlines + 1 > SMTP_RESPONSE_LINES_MAX)
		return smtp_response_fail(r, "too many lines in one reply");
	r->code = code;
	t = len > 4 ? line + 4 : "";
	tn = len > 4 ? len - 4 : 0;
	/* the enhanced code: taken from the first line, removed where repeated */
	el = smtp_response_enhanced_len(t, tn, code);
	if (el > 0 && el < sizeof(r->enhanced) &&
	    (r->nlines == 0 || (strlen(r->enhanced) == el && memcmp(r->enhanced, t, el) == 0))) {
		if (r->nlines == 0) {
			memcpy(r->enhanced, t, el);
			r->enhanced[el] = '\0';
		}
		t += el;
		tn -= el;
		while (tn > 0 && *t == ' ') {
			t++;
			tn--;
		}
	}
	smtp_response_add_text(r, t, tn);
	/* the EHLO keywords need the line as the server wrote it (after the code) */
	if (buf_append(&r->lines, len > 4 ? line + 4 : "", len > 4 ? len - 4 : 0) < 0 ||
	    buf_putc(&r->lines, '\n') < 0)
		return smtp_response_fail(r, "reply too large");
	r->nlines++;
	if (last)
		r->done = true;
	return last ? 1 : 0;
}

int smtp_response_input(struct smtp_response *r, const char *p, size_t n, size_t *used)
{
	size_t off = 0;
	int rc;

	*used = 0;
	while (off < n) {
		const char *start = p + off;
		const char *nl = memchr(start, '\n', n - off);
		size_t len;

		if (nl == NULL) {
			if (n - off + 1 > SMTP_RESPONSE_LINE_MAX)
				return smtp_response_fail(r, "reply line too long");
			return 0;
		}
		len = (size_t)(nl - start);
		off += len + 1;
		if (len > 0 && start[len - 1] == '\r')
			len--;
		rc = smtp_response_line(r, start, len);
		*used = off;
		if (rc != 0)
			return rc;
	}
	return 0;
}

bool smtp_response_keyword(const struct smtp_response *r, const char *kw, const char **params,
                           size_t *plen)
{
	const char *p = r->lines.data, *end = r->lines.data + r->lines.len;
	size_t kl = strlen(kw);
	unsigned i;

	if (p == NULL)
		return false;
	/* the first line is the greeting of EHLO (the server's name): skip it */
	for (i = 0; p < end; i++) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = nl != NULL ? (size_t)(nl - p) : (size_t)(end - p);

		if (i > 0 && len >= kl && str_ncasecmp(p, kw, kl) == 0 &&
		    (len == kl || p[kl] == ' ')) {
			const char *q = p + kl;
			while (q < p + len && *q == ' ')
				q++;
			*params = q;
			*plen = (size_t)(p + len - q);
			return true;
		}
		p += len + 1;
	}
	return false;
}
