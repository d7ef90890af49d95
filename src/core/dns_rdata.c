/*
 * dns_rdata - decode wire-format rdata into struct dns_rr
 *
 * The rdata comes from the network (through libunbound's ub_result), so
 * it is hostile input: every read is checked against the rdata length,
 * names must be uncompressed (unbound expands them for the types we
 * decode) and must end exactly where the record says, and nothing is
 * sized from a count the data declares.  A record that does not fit its
 * type is refused with a reason; the caller turns it into SERVFAIL.
 */
#include <string.h>

#include "core/arena.h"
#include "core/dns.h"
#include "core/dns_impl.h"

/* rdata_name - one name at rdata[*off..len) into an arena string */
static int rdata_name(struct arena *arena, const uint8_t *rdata, size_t len, size_t *off,
                      char **out, const char **why)
{
	char text[DNS_TEXT_NAME_MAX];

	if (dns_name_from_wire(rdata, len, off, text, sizeof(text)) < 0) {
		*why = "malformed domain name in rdata";
		return -1;
	}
	*out = arena_strdup(arena, text);
	if (*out == NULL) {
		*why = "out of memory";
		return -1;
	}
	return 0;
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)((unsigned)p[0] << 8 | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* rdata_txt - character-strings until the end of the rdata */
static int rdata_txt(struct arena *arena, const uint8_t *rdata, size_t len, struct dns_txt *txt,
                     const char **why)
{
	size_t off = 0, n = 0, dlen = 0, i;

	/* count first: the array is sized by what is really there */
	while (off < len) {
		size_t sl = rdata[off];
		if (sl > len - off - 1) {
			*why = "TXT character-string runs past the rdata";
			return -1;
		}
		off += 1 + sl;
		dlen += sl;
		n++;
	}
	txt->nstrings = n;
	txt->len = dlen;
	txt->data = arena_alloc(arena, dlen + 1);
	txt->string_len = n ? arena_array(arena, n, sizeof(size_t)) : NULL;
	if (txt->data == NULL || (n && txt->string_len == NULL)) {
		*why = "out of memory";
		return -1;
	}
	off = 0;
	dlen = 0;
	for (i = 0; i < n; i++) {
		size_t sl = rdata[off];
		memcpy(txt->data + dlen, rdata + off + 1, sl);
		txt->string_len[i] = sl;
		dlen += sl;
		off += 1 + sl;
	}
	txt->data[dlen] = '\0';
	return 0;
}

int dns_rdata_decode(struct arena *arena, enum dns_type type, uint32_t ttl, const uint8_t *rdata,
                     size_t len, struct dns_rr *rr, const char **why)
{
	size_t off = 0;

	memset(rr, 0, sizeof(*rr));
	rr->type = type;
	rr->ttl = ttl;
	if (rdata == NULL && len > 0) {
		*why = "missing rdata";
		return -1;
	}
	switch (type) {
	case DNS_T_A:
		if (len != 4) {
			*why = "A rdata is not 4 bytes";
			return -1;
		}
		memcpy(rr->u.a, rdata, 4);
		return 0;
	case DNS_T_AAAA:
		if (len != 16) {
			*why = "AAAA rdata is not 16 bytes";
			return -1;
		}
		memcpy(rr->u.aaaa, rdata, 16);
		return 0;
	case DNS_T_NS:
	case DNS_T_CNAME:
	case DNS_T_PTR:
		if (rdata_name(arena, rdata, len, &off, &rr->u.name, why) < 0)
			return -1;
		break;
	case DNS_T_MX:
		if (len < 3) {
			*why = "MX rdata too short";
			return -1;
		}
		rr->u.mx.preference = get16(rdata);
		off = 2;
		if (rdata_name(arena, rdata, len, &off, &rr->u.mx.host, why) < 0)
			return -1;
		break;
	case DNS_T_TXT:
	case DNS_T_SPF:
		return rdata_txt(arena, rdata, len, &rr->u.txt, why);
	case DNS_T_TLSA:
		if (len < 3) {
			*why = "TLSA rdata too short";
			return -1;
		}
		rr->u.tlsa.usage = rdata[0];
		rr->u.tlsa.selector = rdata[1];
		rr->u.tlsa.mtype = rdata[2];
		rr->u.tlsa.len = len - 3;
		/* one spare byte so that an empty association is not a NULL pointer */
		rr->u.tlsa.data = arena_alloc(arena, len - 3 + 1);
		if (rr->u.tlsa.data == NULL) {
			*why = "out of memory";
			return -1;
		}
		memcpy(rr->u.tlsa.data, rdata + 3, len - 3);
		return 0;
	case DNS_T_SOA:
		if (rdata_name(arena, rdata, len, &off, &rr->u.soa.mname, why) < 0 ||
		    rdata_name(arena, rdata, len, &off, &rr->u.soa.rname, why) < 0)
			return -1;
		if (len - off != 20) {
			*why = "SOA rdata has the wrong length";
			return -1;
		}
		rr->u.soa.serial = get32(rdata + off);
		rr->u.soa.refresh = get32(rdata + off + 4);
		rr->u.soa.retry = get32(rdata + off + 8);
		rr->u.soa.expire = get32(rdata + off + 12);
		rr->u.soa.minimum = get32(rdata + off + 16);
		return 0;
	default:
		*why = "unsupported record type";
		return -1;
	}
	if (off != len) {
		*why = "trailing bytes after the domain name in rdata";
		return -1;
	}
	return 0;
}
