/*
 * dns_packet - decode a wire-format DNS reply into struct dns_answer
 *
 * libunbound's event mode (dns_unbound.c) hands over the reply message
 * itself rather than a ub_result, so the dns layer reads the packet: the
 * header's rcode, the question (it must be ours), the answer section with
 * the CNAME chain followed from the query name to the final owner, and the
 * authority section's SOA for how long a negative answer may be cached.
 * Names may be compressed anywhere, rdata names included; they are
 * expanded here and the rdata handed to dns_rdata.c uncompressed.
 *
 * The packet is outside input: every read is checked against its length,
 * a compression pointer chain is bounded in hops and in name length, the
 * CNAME chain is bounded, and the only allocation is the record array,
 * sized by the records really present.
 */
#include <string.h>

#include "core/arena.h"
#include "core/dns.h"
#include "core/dns_impl.h"
#include "core/str.h"

#define PACKET_HEADER_LEN 12
#define PACKET_CLASS_IN   1
#define PACKET_RCODE_NX   3
/* a pointer chain longer than this cannot be a sane name (128 labels at most) */
#define PACKET_PTR_HOPS_MAX 128
/* CNAME hops followed from the query name; unbound itself stops near 11 */
#define PACKET_CHAIN_MAX 16

struct packet_rr {
	size_t owner_off; /* offset of the owner name */
	uint16_t type, class;
	uint32_t ttl;
	size_t rdata_off, rdlen;
	size_t next; /* offset after the record */
};

static uint16_t pkt16(const uint8_t *p)
{
	return (uint16_t)((unsigned)p[0] << 8 | p[1]);
}

static uint32_t pkt32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/*
 * packet_name - the possibly compressed name at pkt[*off] as uncompressed,
 * lower-cased wire form in out[DNS_WIRE_NAME_MAX]; *off moves past the name
 * as it is stored at *off (up to and including the first pointer).  0 or -1.
 */
static int packet_name(const uint8_t *pkt, size_t len, size_t *off, uint8_t *out, size_t *out_len)
{
	size_t p = *off, o = 0, end = 0;
	unsigned hops = 0;
	bool jumped = false;

	for (;;) {
		if (p >= len)
			return -1;
		uint8_t n = pkt[p];
		if ((n & 0xc0) == 0xc0) {
			if (len - p < 2 || ++hops > PACKET_PTR_HOPS_MAX)
				return -1;
			if (!jumped) {
				end = p + 2;
				jumped = true;
			}
			p = (size_t)(n & 0x3f) << 8 | pkt[p + 1];
			continue;
		}
		if (n > DNS_LABEL_MAX)
			return -1; /* extended label types (0x40, 0x80) are obsolete */
		if (o + 1 + n > DNS_WIRE_NAME_MAX || n > len - p - 1)
			return -1;
		out[o++] = n;
		p++;
		if (n == 0)
			break;
		for (uint8_t k = 0; k < n; k++)
			out[o++] = (uint8_t)str_lower(pkt[p + k]);
		p += n;
	}
	*off = jumped ? end : p;
	*out_len = o;
	return 0;
}

/* packet_skip_name - move *off past the name stored there without expanding it */
static int packet_skip_name(const uint8_t *pkt, size_t len, size_t *off)
{
	size_t p = *off, total = 0;

	for (;;) {
		if (p >= len)
			return -1;
		uint8_t n = pkt[p];
		if ((n & 0xc0) == 0xc0) {
			if (len - p < 2)
				return -1;
			*off = p + 2;
			return 0;
		}
		if (n > DNS_LABEL_MAX || n > len - p - 1)
			return -1;
		total += 1 + (size_t)n;
		if (total > DNS_WIRE_NAME_MAX)
			return -1;
		p += 1 + (size_t)n;
		if (n == 0) {
			*off = p;
			return 0;
		}
	}
}

/* packet_rr_read - the record header at *off; 0 or -1 when it runs past the packet */
static int packet_rr_read(const uint8_t *pkt, size_t len, size_t off, struct packet_rr *rr)
{
	rr->owner_off = off;
	if (packet_skip_name(pkt, len, &off) < 0 || len - off < 10)
		return -1;
	rr->type = pkt16(pkt + off);
	rr->class = pkt16(pkt + off + 2);
	rr->ttl = pkt32(pkt + off + 4);
	if (rr->ttl & 0x80000000u)
		rr->ttl = 0; /* RFC 2181 8: a TTL with the top bit set means zero */
	rr->rdlen = pkt16(pkt + off + 8);
	rr->rdata_off = off + 10;
	if (rr->rdlen > len - rr->rdata_off)
		return -1;
	rr->next = rr->rdata_off + rr->rdlen;
	return 0;
}

/* packet_owner_is - 1 when the record's owner is the wire name want, 0 when
 * it is another name, -1 when it is malformed */
static int packet_owner_is(const uint8_t *pkt, size_t len, const struct packet_rr *rr,
                           const uint8_t *want, size_t want_len)
{
	uint8_t name[DNS_WIRE_NAME_MAX];
	size_t off = rr->owner_off, n;

	if (packet_name(pkt, len, &off, name, &n) < 0)
		return -1;
	return n == want_len && memcmp(name, want, n) == 0;
}

/*
 * packet_rdata_name - expand the name at rdata offset *off (inside the
 * record) into out at *o; the name's stored form must stay inside the rdata
 */
static int packet_rdata_name(const uint8_t *pkt, size_t len, const struct packet_rr *rr,
                             size_t *off, uint8_t *out, size_t *o)
{
	size_t n;

	if (packet_name(pkt, len, off, out + *o, &n) < 0 || *off > rr->next)
		return -1;
	*o += n;
	return 0;
}

/*
 * packet_rr_decode - one record of the answer into r; names in the rdata
 * are expanded first so that dns_rdata_decode sees plain wire form
 */
static int packet_rr_decode(struct arena *arena, const uint8_t *pkt, size_t len,
                            const struct packet_rr *rr, uint32_t ttl, struct dns_rr *r,
                            const char **why)
{
	uint8_t buf[2 + 2 * DNS_WIRE_NAME_MAX + 20];
	size_t off = rr->rdata_off, o = 0;

	switch (rr->type) {
	case DNS_T_NS:
	case DNS_T_CNAME:
	case DNS_T_PTR:
		if (packet_rdata_name(pkt, len, rr, &off, buf, &o) < 0)
			goto bad;
		break;
	case DNS_T_MX:
		if (rr->rdlen < 3)
			goto bad;
		memcpy(buf, pkt + off, 2);
		o = 2;
		off += 2;
		if (packet_rdata_name(pkt, len, rr, &off, buf, &o) < 0)
			goto bad;
		break;
	case DNS_T_SOA:
		if (packet_rdata_name(pkt, len, rr, &off, buf, &o) < 0 ||
		    packet_rdata_name(pkt, len, rr, &off, buf, &o) < 0 || rr->next - off != 20)
			goto bad;
		memcpy(buf + o, pkt + off, 20);
		o += 20;
		off += 20;
		break;
	default:
		return dns_rdata_decode(arena, (enum dns_type)rr->type, ttl, pkt + rr->rdata_off,
		                        rr->rdlen, r, why);
	}
	if (off != rr->next) {
		*why = "trailing bytes after the domain name in rdata";
		return -1;
	}
	return dns_rdata_decode(arena, (enum dns_type)rr->type, ttl, buf, o, r, why);
bad:
	*why = "malformed domain name in rdata";
	return -1;
}

static const char *packet_rcode_why(unsigned rcode)
{
	switch (rcode) {
	case 1:
		return "server answered FORMERR";
	case 2:
		return "server answered SERVFAIL";
	case 4:
		return "server answered NOTIMP";
	case 5:
		return "server answered REFUSED";
	default:
		return "server answered an error";
	}
}

/* packet_negative_ttl - min(SOA TTL, SOA minimum) from the authority section */
static uint32_t packet_negative_ttl(const uint8_t *pkt, size_t len, size_t off, unsigned nscount)
{
	struct packet_rr rr;
	uint32_t ttl = UINT32_MAX;

	for (unsigned i = 0; i < nscount; i++) {
		if (packet_rr_read(pkt, len, off, &rr) < 0)
			break;
		if (rr.type == DNS_T_SOA && rr.class == PACKET_CLASS_IN && rr.rdlen >= 22) {
			uint32_t min = pkt32(pkt + rr.next - 4);
			if (min & 0x80000000u)
				min = 0;
			if (rr.ttl < ttl)
				ttl = rr.ttl;
			if (min < ttl)
				ttl = min;
		}
		off = rr.next;
	}
	return ttl;
}

int dns_packet_decode(struct arena *arena, const uint8_t *pkt, size_t len, const char *qname,
                      enum dns_type qtype, struct dns_answer *ans, uint32_t *ttl, const char **why)
{
	uint8_t want[DNS_WIRE_NAME_MAX], name[DNS_WIRE_NAME_MAX];
	size_t want_len, name_len, off, an_off, i, n = 0;
	unsigned rcode, qdcount, ancount, nscount, hops;
	uint32_t chain_ttl = UINT32_MAX, set_ttl = UINT32_MAX;
	struct packet_rr rr;
	bool absolute, followed = false;
	char text[DNS_TEXT_NAME_MAX];

	*ttl = 0;
	memset(ans, 0, sizeof(*ans));
	ans->sec = DNS_SEC_INSECURE;
	ans->status = DNS_SERVFAIL;
	if (pkt == NULL || len < PACKET_HEADER_LEN) {
		*why = "reply shorter than a DNS header";
		return -1;
	}
	if (qname == NULL ||
	    dns_name_to_wire(qname, strlen(qname), want, &want_len, &absolute, why) < 0) {
		*why = "bad query name";
		return -1;
	}
	for (i = 0; i < want_len; i++) /* labels are lower-cased with their lengths: harmless */
		want[i] = (uint8_t)str_lower(want[i]);
	rcode = pkt[3] & 0x0f;
	qdcount = pkt16(pkt + 4);
	ancount = pkt16(pkt + 6);
	nscount = pkt16(pkt + 8);
	off = PACKET_HEADER_LEN;
	if (qdcount != 1) {
		*why = "reply without exactly one question";
		return -1;
	}
	if (packet_name(pkt, len, &off, name, &name_len) < 0 || len - off < 4) {
		*why = "malformed question in reply";
		return -1;
	}
	if (name_len != want_len || memcmp(name, want, want_len) != 0 ||
	    pkt16(pkt + off) != (uint16_t)qtype || pkt16(pkt + off + 2) != PACKET_CLASS_IN) {
		*why = "reply to another question";
		return -1;
	}
	off += 4;
	an_off = off;
	if (rcode != 0 && rcode != PACKET_RCODE_NX) {
		ans->why = packet_rcode_why(rcode);
		return 0;
	}

	/* follow the chain: each pass looks for records of qtype at the
	 * current owner, else for its CNAME */
	for (hops = 0;; hops++) {
		bool cname = false;
		off = an_off;
		n = 0;
		set_ttl = UINT32_MAX;
		for (i = 0; i < ancount; i++) {
			if (packet_rr_read(pkt, len, off, &rr) < 0) {
				*why = "answer section runs past the reply";
				return -1;
			}
			off = rr.next;
			if (rr.class != PACKET_CLASS_IN ||
			    (rr.type != (uint16_t)qtype && rr.type != DNS_T_CNAME))
				continue;
			int is = packet_owner_is(pkt, len, &rr, want, want_len);
			if (is < 0) {
				*why = "malformed owner name in reply";
				return -1;
			}
			if (is == 0)
				continue;
			if (rr.type == (uint16_t)qtype) {
				n++;
				if (rr.ttl < set_ttl)
					set_ttl = rr.ttl;
			} else if (!cname) {
				size_t roff = rr.rdata_off;
				if (packet_name(pkt, len, &roff, name, &name_len) < 0 ||
				    roff != rr.next) {
					*why = "malformed CNAME in reply";
					return -1;
				}
				cname = true;
				if (rr.ttl < chain_ttl)
					chain_ttl = rr.ttl;
			}
		}
		if (n > 0 || !cname)
			break;
		if (hops + 1 >= PACKET_CHAIN_MAX) {
			*why = "CNAME chain too long";
			return -1;
		}
		memcpy(want, name, name_len);
		want_len = name_len;
		followed = true;
	}
	if (followed) {
		size_t toff = 0;
		if (dns_name_from_wire(want, want_len, &toff, text, sizeof(text)) < 0 ||
		    (ans->canonname = arena_strdup(arena, text)) == NULL) {
			*why = "out of memory";
			return -1;
		}
	}
	if (n == 0) {
		ans->status = rcode == PACKET_RCODE_NX ? DNS_NXDOMAIN : DNS_NODATA;
		/* the authority section follows the whole answer section */
		off = an_off;
		for (i = 0; i < ancount; i++) {
			if (packet_rr_read(pkt, len, off, &rr) < 0)
				break;
			off = rr.next;
		}
		*ttl = packet_negative_ttl(pkt, len, off, nscount);
		if (chain_ttl < *ttl)
			*ttl = chain_ttl;
		return 0;
	}
	if (rcode == PACKET_RCODE_NX) {
		*why = "NXDOMAIN reply with an answer";
		return -1;
	}
	ans->rr = arena_array(arena, n, sizeof(*ans->rr));
	if (ans->rr == NULL) {
		ans->status = DNS_NOMEM;
		*why = "out of memory";
		return -1;
	}
	off = an_off;
	for (i = 0; i < ancount && ans->count < n; i++) {
		(void)packet_rr_read(pkt, len, off, &rr); /* read fine in the pass above */
		off = rr.next;
		if (rr.class != PACKET_CLASS_IN || rr.type != (uint16_t)qtype ||
		    packet_owner_is(pkt, len, &rr, want, want_len) != 1)
			continue;
		if (packet_rr_decode(arena, pkt, len, &rr, set_ttl, &ans->rr[ans->count], why) <
		    0) {
			ans->rr = NULL;
			ans->count = 0;
			return -1;
		}
		ans->count++;
	}
	ans->status = DNS_OK;
	*ttl = set_ttl < chain_ttl ? set_ttl : chain_ttl;
	return 0;
}
