/*
 * dns_name - domain names between presentation text and wire form
 *
 * Every name the dns layer hands out or compares is in one canonical
 * text form: labels in lower case (ASCII only), separated by dots, no
 * trailing dot, and the bytes that would change the meaning of the text
 * (. ; \ ( ) @ $ " and anything outside printable ASCII) escaped the way
 * dig prints them (\. or \DDD).  The zone loader, the rdata decoder and
 * dns_lookup() all go through dns_name_to_wire()/dns_name_from_wire(), so
 * "A.Example.COM." from a query and "a.example.com" from a zone file end
 * up as the same string.
 */
#include <string.h>

#include "core/dns.h"
#include "core/dns_impl.h"
#include "core/str.h"

int dns_name_to_wire(const char *text, size_t len, uint8_t *wire, size_t *wire_len, bool *absolute,
                     const char **why)
{
	uint8_t label[DNS_LABEL_MAX];
	size_t llen = 0, wlen = 0, i = 0;
	bool dot_last = false;

	*absolute = false;
	if (len == 0) {
		*why = "empty name";
		return -1;
	}
	if (len == 1 && text[0] == '.') {
		wire[0] = 0;
		*wire_len = 1;
		*absolute = true;
		return 0;
	}
	while (i < len) {
		unsigned char c = (unsigned char)text[i++];
		if (c == '.') {
			if (llen == 0) {
				*why = "empty label in domain name";
				return -1;
			}
			if (wlen + 1 + llen > DNS_WIRE_NAME_MAX - 1) {
				*why = "domain name longer than 255 bytes";
				return -1;
			}
			wire[wlen++] = (uint8_t)llen;
			memcpy(wire + wlen, label, llen);
			wlen += llen;
			llen = 0;
			dot_last = true;
			continue;
		}
		dot_last = false;
		if (c == '\\') {
			if (i >= len) {
				*why = "backslash at the end of a domain name";
				return -1;
			}
			if (str_is_digit((unsigned char)text[i])) {
				unsigned v = 0, k;
				for (k = 0; k < 3; k++) {
					if (i + k >= len ||
					    !str_is_digit((unsigned char)text[i + k])) {
						*why = "bad \\DDD escape in domain name";
						return -1;
					}
					v = v * 10 + (unsigned)(text[i + k] - '0');
				}
				if (v > 255) {
					*why = "bad \\DDD escape in domain name";
					return -1;
				}
				c = (unsigned char)v;
				i += 3;
			} else {
				c = (unsigned char)text[i++];
			}
		}
		if (llen >= DNS_LABEL_MAX) {
			*why = "label longer than 63 bytes";
			return -1;
		}
		label[llen++] = c;
	}
	if (!dot_last) {
		if (wlen + 1 + llen > DNS_WIRE_NAME_MAX - 1) {
			*why = "domain name longer than 255 bytes";
			return -1;
		}
		wire[wlen++] = (uint8_t)llen;
		memcpy(wire + wlen, label, llen);
		wlen += llen;
	}
	wire[wlen++] = 0;
	*wire_len = wlen;
	*absolute = dot_last;
	return 0;
}

/* name_special - bytes that must be escaped in presentation form */
static bool name_special(unsigned char c)
{
	return c == '.' || c == ';' || c == '\\' || c == '(' || c == ')' || c == '@' || c == '$' ||
	       c == '"';
}

int dns_name_from_wire(const uint8_t *buf, size_t len, size_t *off, char *out, size_t outsize)
{
	size_t p = *off, o = 0, wlen = 0;

	if (outsize == 0)
		return -1;
	for (;;) {
		if (p >= len)
			return -1;
		uint8_t n = buf[p++];
		wlen += 1 + (size_t)n;
		if (wlen > DNS_WIRE_NAME_MAX)
			return -1;
		if (n == 0)
			break;
		if (n > DNS_LABEL_MAX)
			return -1; /* a compression pointer or an extended label type */
		if (n > len - p)
			return -1;
		if (o > 0) {
			if (o + 1 >= outsize)
				return -1;
			out[o++] = '.';
		}
		for (uint8_t k = 0; k < n; k++) {
			unsigned char c = (unsigned char)str_lower(buf[p + k]);
			if (c > 0x20 && c < 0x7f && !name_special(c)) {
				if (o + 1 >= outsize)
					return -1;
				out[o++] = (char)c;
			} else if (c > 0x20 && c < 0x7f) {
				if (o + 2 >= outsize)
					return -1;
				out[o++] = '\\';
				out[o++] = (char)c;
			} else {
				if (o + 4 >= outsize)
					return -1;
				out[o++] = '\\';
				out[o++] = (char)('0' + c / 100);
				out[o++] = (char)('0' + c / 10 % 10);
				out[o++] = (char)('0' + c % 10);
			}
		}
		p += n;
	}
	out[o] = '\0';
	*off = p;
	return 0;
}

/*
 * name_canon_plain - the common case of dns_name_canon without the round
 * trip through wire form: printable bytes that need no escape, labels of
 * 1..63, at most 253 bytes.  1 when done, 0 when the name needs the full
 * treatment (escapes, odd bytes, a length or label problem to report).
 */
static int name_canon_plain(const char *text, char *out, size_t outsize)
{
	size_t i = 0, label = 0;

	for (; text[i] != '\0'; i++) {
		unsigned char c = (unsigned char)text[i];
		if (i >= DNS_NAME_MAX + 1 || i + 1 >= outsize)
			return 0;
		if (c == '.') {
			if (label == 0)
				return 0;
			label = 0;
		} else if (c > 0x20 && c < 0x7f && !name_special(c)) {
			if (++label > DNS_LABEL_MAX)
				return 0;
		} else {
			return 0;
		}
		out[i] = (char)str_lower(c);
	}
	if (i == 0 || (label == 0 && i == 1))
		return 0; /* empty, or the root */
	if (label == 0)
		i--; /* the trailing dot */
	if (i > DNS_NAME_MAX)
		return 0;
	out[i] = '\0';
	return 1;
}

int dns_name_canon(const char *text, char *out, size_t outsize, const char **why)
{
	uint8_t wire[DNS_WIRE_NAME_MAX];
	size_t wlen, off = 0;
	bool absolute;

	if (name_canon_plain(text, out, outsize))
		return 0;
	if (dns_name_to_wire(text, strlen(text), wire, &wlen, &absolute, why) < 0)
		return -1;
	if (dns_name_from_wire(wire, wlen, &off, out, outsize) < 0) {
		*why = "domain name too long";
		return -1;
	}
	return 0;
}

int dns_name_check(const char *name)
{
	char out[DNS_TEXT_NAME_MAX];
	const char *why;

	if (name == NULL || dns_name_canon(name, out, sizeof(out), &why) < 0)
		return -1;
	return out[0] == '\0' ? -1 : 0; /* the root is not something we look up */
}
