/*
 * dkim_tag - tag=value lists (RFC 6376 section 3.2) and base64
 */
#include <string.h>

#include "auth/dkim_tag.h"
#include "core/str.h"

static bool valchar(unsigned char c)
{
	return (c >= 0x21 && c <= 0x3a) || (c >= 0x3c && c <= 0x7e) || c >= 0x80;
}

int dkim_tag_parse(struct dkim_tag_list *list, const char *text, size_t len, const char **why)
{
	size_t pos = 0, i;

	list->n = 0;
	while (pos <= len) {
		size_t start, nend, vstart, vend, end;
		const char *semi = pos < len ? memchr(text + pos, ';', len - pos) : NULL;
		struct dkim_tag *t;

		end = semi == NULL ? len : (size_t)(semi - text);
		start = pos;
		while (start < end && dkim_is_fws((unsigned char)text[start]))
			start++;
		if (start == end) { /* empty tag-spec */
			if (semi == NULL)
				break;
			pos = end + 1;
			continue;
		}
		if (!str_is_alpha((unsigned char)text[start])) {
			*why = "bad tag name";
			return -1;
		}
		nend = start + 1;
		while (nend < end && (str_is_alnum((unsigned char)text[nend]) || text[nend] == '_'))
			nend++;
		vstart = nend;
		while (vstart < end && dkim_is_fws((unsigned char)text[vstart]))
			vstart++;
		if (vstart >= end || text[vstart] != '=') {
			*why = vstart < end ? "bad tag name" : "tag without '='";
			return -1;
		}
		vstart++;
		while (vstart < end && dkim_is_fws((unsigned char)text[vstart]))
			vstart++;
		vend = end;
		while (vend > vstart && dkim_is_fws((unsigned char)text[vend - 1]))
			vend--;
		for (i = vstart; i < vend; i++) {
			unsigned char c = (unsigned char)text[i];

			if (!valchar(c) && !dkim_is_fws(c)) {
				*why = "bad character in tag value";
				return -1;
			}
		}
		for (i = 0; i < list->n; i++)
			if (list->tag[i].name_len == nend - start &&
			    memcmp(list->tag[i].name, text + start, nend - start) == 0) {
				*why = "duplicate tag";
				return -1;
			}
		if (list->n >= DKIM_TAG_MAX) {
			*why = "too many tags";
			return -1;
		}
		t = &list->tag[list->n++];
		t->name = text + start;
		t->name_len = nend - start;
		t->value = text + vstart;
		t->value_len = vend - vstart;
		t->value_off = vstart;
		if (semi == NULL)
			break;
		pos = end + 1;
	}
	return 0;
}

const struct dkim_tag *dkim_tag_find(const struct dkim_tag_list *list, const char *name)
{
	size_t i, n = strlen(name);

	for (i = 0; i < list->n; i++)
		if (list->tag[i].name_len == n && memcmp(list->tag[i].name, name, n) == 0)
			return &list->tag[i];
	return NULL;
}

bool dkim_tag_is(const struct dkim_tag *t, const char *s)
{
	size_t n = strlen(s);

	return t->value_len == n && memcmp(t->value, s, n) == 0;
}

static int b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

long dkim_b64_decode(const char *in, size_t len, uint8_t *out)
{
	uint32_t acc = 0;
	size_t i, n = 0, bits = 0, pad = 0;

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)in[i];
		int v;

		if (dkim_is_fws(c))
			continue;
		if (c == '=') {
			pad++;
			continue;
		}
		if (pad > 0) /* data after padding */
			return -1;
		v = b64_value(c);
		if (v < 0)
			return -1;
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[n++] = (uint8_t)(acc >> bits);
			acc &= (1u << bits) - 1;
		}
	}
	/* leftover bits: 0 (complete), 4 (two chars, "=="), 2 (three chars, "=") */
	if (bits == 6 || (bits == 0 && pad != 0) || (bits == 4 && pad != 0 && pad != 2) ||
	    (bits == 2 && pad != 0 && pad != 1) || pad > 2)
		return -1;
	return (long)n;
}

size_t dkim_b64_encode(const uint8_t *in, size_t len, char *out)
{
	static const char tab[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t i, o = 0;

	for (i = 0; i + 2 < len; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];

		out[o++] = tab[v >> 18];
		out[o++] = tab[(v >> 12) & 63];
		out[o++] = tab[(v >> 6) & 63];
		out[o++] = tab[v & 63];
	}
	if (i < len) {
		uint32_t v = (uint32_t)in[i] << 16 | (i + 1 < len ? (uint32_t)in[i + 1] << 8 : 0);

		out[o++] = tab[v >> 18];
		out[o++] = tab[(v >> 12) & 63];
		out[o++] = i + 1 < len ? tab[(v >> 6) & 63] : '=';
		out[o++] = '=';
	}
	out[o] = '\0';
	return o;
}
