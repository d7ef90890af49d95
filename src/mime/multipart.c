/*
 * multipart - a small MIME walker for report mails (see multipart.h)
 */
#include <string.h>

#include "core/arena.h"
#include "core/str.h"
#include "mime/multipart.h"
#include "mime/raw.h"

struct walk {
	struct arena *a;
	multipart_cb cb;
	void *arg;
	struct sx_err *err;
	size_t parts;
};

size_t multipart_base64(const char *in, size_t len, unsigned char *out)
{
	unsigned acc = 0, bits = 0;
	size_t i, n = 0;

	for (i = 0; i < len; i++) {
		int c = (unsigned char)in[i], v;
		if (c >= 'A' && c <= 'Z')
			v = c - 'A';
		else if (c >= 'a' && c <= 'z')
			v = c - 'a' + 26;
		else if (c >= '0' && c <= '9')
			v = c - '0' + 52;
		else if (c == '+')
			v = 62;
		else if (c == '/')
			v = 63;
		else if (c == '=')
			break;
		else
			continue;
		acc = (acc << 6) | (unsigned)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[n++] = (unsigned char)(acc >> bits);
			acc &= (1u << bits) - 1;
		}
	}
	return n;
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = str_lower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* multipart_qp - decode quoted-printable; returns the length */
static size_t multipart_qp(const char *in, size_t len, unsigned char *out)
{
	size_t i = 0, n = 0;

	while (i < len) {
		if (in[i] != '=') {
			out[n++] = (unsigned char)in[i++];
			continue;
		}
		if (i + 2 < len && hexval(in[i + 1]) >= 0 && hexval(in[i + 2]) >= 0) {
			out[n++] = (unsigned char)(hexval(in[i + 1]) * 16 + hexval(in[i + 2]));
			i += 3;
			continue;
		}
		/* a soft line break: '=' then optional white space, then EOL */
		size_t j = i + 1;
		while (j < len && (in[j] == ' ' || in[j] == '\t'))
			j++;
		if (j < len && in[j] == '\r')
			j++;
		if (j < len && in[j] == '\n') {
			i = j + 1;
			continue;
		}
		out[n++] = '=';
		i++;
	}
	return n;
}

char *multipart_param(struct arena *a, const char *value, size_t len, const char *name)
{
	size_t nlen = strlen(name), i = 0;

	/* skip the main value up to the first ';' outside quotes */
	while (i < len) {
		bool quoted = false;
		for (; i < len && (quoted || value[i] != ';'); i++) {
			if (value[i] == '\\' && quoted && i + 1 < len)
				i++;
			else if (value[i] == '"')
				quoted = !quoted;
		}
		if (i >= len)
			return NULL;
		i++; /* the ';' */
		while (i < len && str_is_space((unsigned char)value[i]))
			i++;
		size_t k = i;
		while (k < len && value[k] != '=' && value[k] != ';' &&
		       !str_is_space((unsigned char)value[k]))
			k++;
		bool ext = k - i == nlen + 1 && value[k - 1] == '*';
		bool match = (k - i == nlen || ext) && str_ncasecmp(value + i, name, nlen) == 0;
		while (k < len && str_is_space((unsigned char)value[k]))
			k++;
		if (k >= len || value[k] != '=') {
			i = k;
			continue;
		}
		k++;
		while (k < len && str_is_space((unsigned char)value[k]))
			k++;
		if (!match) {
			i = k;
			continue;
		}
		char *out = arena_alloc(a, len - k + 1);
		size_t n = 0;
		if (out == NULL)
			return NULL;
		if (k < len && value[k] == '"') {
			for (k++; k < len && value[k] != '"'; k++) {
				if (value[k] == '\\' && k + 1 < len)
					k++;
				if (value[k] != '\r' && value[k] != '\n')
					out[n++] = value[k];
			}
		} else {
			for (; k < len && value[k] != ';' && !str_is_space((unsigned char)value[k]);
			     k++)
				out[n++] = value[k];
		}
		out[n] = '\0';
		if (ext) {
			/* charset'lang'value: keep the value, %XX decoded */
			char *q = strchr(out, '\''), *r = q ? strchr(q + 1, '\'') : NULL;
			if (r != NULL) {
				char *w = out;
				for (r++; *r != '\0'; r++) {
					if (*r == '%' && hexval(r[1]) >= 0 && hexval(r[2]) >= 0) {
						*w++ = (char)(hexval(r[1]) * 16 + hexval(r[2]));
						r += 2;
					} else {
						*w++ = *r;
					}
				}
				*w = '\0';
			}
		}
		return out;
	}
	return NULL;
}

/* field_value - the value of the first field called name, or NULL */
static const char *field_value(const struct raw_message *m, const char *name, size_t *len)
{
	const struct raw_field *f = raw_find_first(m, name, strlen(name));
	const char *v;

	if (f == NULL)
		return NULL;
	raw_field_value(f, &v, len);
	return v;
}

/* media_type - "type/subtype" of a Content-Type value, lower case */
static char *media_type(struct arena *a, const char *v, size_t len)
{
	size_t i = 0, n;

	while (i < len && str_is_space((unsigned char)v[i]))
		i++;
	for (n = i; n < len && v[n] != ';' && !str_is_space((unsigned char)v[n]); n++)
		;
	char *t = arena_strndup(a, v + i, n - i);
	return t ? str_lower_inplace(t) : NULL;
}

/* delimiter - at data[i] (a line start) is "--boundary"; *close when
 * followed by "--"; *next the start of the following line */
static bool delimiter(const char *d, size_t len, size_t i, const char *b, size_t blen, bool *close,
                      size_t *next)
{
	if (len - i < blen + 2 || d[i] != '-' || d[i + 1] != '-' || memcmp(d + i + 2, b, blen) != 0)
		return false;
	i += blen + 2;
	*close = len - i >= 2 && d[i] == '-' && d[i + 1] == '-';
	while (i < len && d[i] != '\n')
		i++;
	*next = i < len ? i + 1 : len;
	return true;
}

static int walk_part(struct walk *w, const char *data, size_t len, unsigned depth);

static int walk_multipart(struct walk *w, const char *body, size_t len, const char *boundary,
                          unsigned depth)
{
	size_t blen = strlen(boundary), i = 0, start = 0, next;
	bool in_part = false, close;
	int rc;

	while (i < len) {
		if (delimiter(body, len, i, boundary, blen, &close, &next)) {
			if (in_part) {
				/* the line break before the delimiter belongs to it */
				size_t end = i;
				if (end > start && body[end - 1] == '\n')
					end--;
				if (end > start && body[end - 1] == '\r')
					end--;
				rc = walk_part(w, body + start, end - start, depth + 1);
				if (rc != 0)
					return rc;
			}
			if (close)
				return 0;
			in_part = true;
			start = next;
			i = next;
			continue;
		}
		const char *nl = memchr(body + i, '\n', len - i);
		i = nl ? (size_t)(nl - body) + 1 : len;
	}
	if (in_part && start < len)
		return walk_part(w, body + start, len - start, depth + 1);
	return 0;
}

static int walk_part(struct walk *w, const char *data, size_t len, unsigned depth)
{
	struct raw_message m;
	struct multipart_leaf leaf = { 0 };
	const char *ct, *cte, *cd, *body;
	size_t ctlen = 0, ctelen = 0, cdlen = 0, blen;

	if (depth > MULTIPART_MAX_DEPTH) {
		sx_err_set(w->err, "MIME parts nested more than %d deep", MULTIPART_MAX_DEPTH);
		return -1;
	}
	if (++w->parts > MULTIPART_MAX_PARTS) {
		sx_err_set(w->err, "more than %d MIME parts", MULTIPART_MAX_PARTS);
		return -1;
	}
	if (raw_message_parse(&m, w->a, data, len, NULL, w->err) < 0)
		return -1;
	body = m.has_body ? m.body : "";
	blen = m.has_body ? m.body_len : 0;
	ct = field_value(&m, "Content-Type", &ctlen);
	leaf.type = ct ? media_type(w->a, ct, ctlen) : "text/plain";
	if (leaf.type == NULL)
		goto nomem;
	if (strncmp(leaf.type, "multipart/", 10) == 0) {
		char *b = multipart_param(w->a, ct, ctlen, "boundary");
		if (b != NULL && b[0] != '\0')
			return walk_multipart(w, body, blen, b, depth);
	}
	if (strcmp(leaf.type, "message/rfc822") == 0)
		return walk_part(w, body, blen, depth + 1);
	cd = field_value(&m, "Content-Disposition", &cdlen);
	if (cd != NULL)
		leaf.filename = multipart_param(w->a, cd, cdlen, "filename");
	if (leaf.filename == NULL && ct != NULL)
		leaf.filename = multipart_param(w->a, ct, ctlen, "name");
	cte = field_value(&m, "Content-Transfer-Encoding", &ctelen);
	while (cte != NULL && ctelen > 0 && str_is_space((unsigned char)*cte)) {
		cte++;
		ctelen--;
	}
	unsigned char *out = arena_alloc(w->a, blen + 3);
	if (out == NULL)
		goto nomem;
	if (cte != NULL && ctelen >= 6 && str_ncasecmp(cte, "base64", 6) == 0)
		leaf.len = multipart_base64(body, blen, out);
	else if (cte != NULL && ctelen >= 16 && str_ncasecmp(cte, "quoted-printable", 16) == 0)
		leaf.len = multipart_qp(body, blen, out);
	else {
		memcpy(out, body, blen);
		leaf.len = blen;
	}
	out[leaf.len] = '\0';
	leaf.data = out;
	leaf.depth = depth;
	return w->cb(&leaf, w->arg);
nomem:
	sx_err_set(w->err, "out of memory");
	return -1;
}

int multipart_walk(struct arena *a, const char *data, size_t len, multipart_cb cb, void *arg,
                   struct sx_err *err)
{
	struct walk w = { .a = a, .cb = cb, .arg = arg, .err = err };

	if (a == NULL || data == NULL || cb == NULL) {
		sx_err_set(err, "multipart: nothing to walk");
		return -1;
	}
	return walk_part(&w, data, len, 0);
}
