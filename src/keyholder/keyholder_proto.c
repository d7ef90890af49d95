/*
 * keyholder_proto - encode and decode the key holder's messages
 *
 * A reader walks the message with a position and fails, for good, on the
 * first field that does not fit what is left; the decoders end with
 * kh_end(), which fails when bytes are left over.  Writers fail the same
 * way on a short output buffer.  Nothing here allocates.
 */
#include <string.h>

#include "keyholder/keyholder_proto.h"

struct kh_rd {
	const uint8_t *p;
	size_t len, pos;
	int bad;
};

struct kh_wr {
	uint8_t *p;
	size_t size, pos;
	int bad;
};

static uint8_t kh_u8(struct kh_rd *r)
{
	if (r->bad || r->len - r->pos < 1) {
		r->bad = 1;
		return 0;
	}
	return r->p[r->pos++];
}

static uint16_t kh_u16(struct kh_rd *r)
{
	uint16_t hi = kh_u8(r);

	return (uint16_t)(hi << 8 | kh_u8(r));
}

static uint32_t kh_u32(struct kh_rd *r)
{
	uint32_t hi = kh_u16(r);

	return hi << 16 | kh_u16(r);
}

/* kh_bytes - n bytes into out (n already checked against its cap) */
static void kh_bytes(struct kh_rd *r, void *out, size_t n)
{
	if (r->bad || r->len - r->pos < n) {
		r->bad = 1;
		return;
	}
	memcpy(out, r->p + r->pos, n);
	r->pos += n;
}

/* kh_name - a u8 length (min..max) and that many bytes, NUL-terminated in
 * out; when not empty it must be a DNS name (dkim_domain_check: no NUL,
 * no space, no empty label) */
static void kh_name(struct kh_rd *r, char *out, size_t min, size_t max)
{
	size_t n = kh_u8(r);

	if (r->bad || n < min || n > max) {
		r->bad = 1;
		return;
	}
	kh_bytes(r, out, n);
	if (r->bad)
		return;
	out[n] = '\0';
	if (n > 0 && dkim_domain_check(out, n) < 0)
		r->bad = 1;
}

/* kh_end - the whole message was read, and nothing failed */
static int kh_end(const struct kh_rd *r)
{
	return r->bad || r->pos != r->len ? -1 : 0;
}

static void kh_put8(struct kh_wr *w, unsigned v)
{
	if (w->bad || w->size - w->pos < 1) {
		w->bad = 1;
		return;
	}
	w->p[w->pos++] = (uint8_t)v;
}

static void kh_put16(struct kh_wr *w, unsigned v)
{
	kh_put8(w, (v >> 8) & 0xff);
	kh_put8(w, v & 0xff);
}

static void kh_put32(struct kh_wr *w, uint32_t v)
{
	kh_put16(w, (v >> 16) & 0xffff);
	kh_put16(w, v & 0xffff);
}

static void kh_putbytes(struct kh_wr *w, const void *p, size_t n)
{
	if (w->bad || w->size - w->pos < n) {
		w->bad = 1;
		return;
	}
	memcpy(w->p + w->pos, p, n);
	w->pos += n;
}

static void kh_putname(struct kh_wr *w, const char *s, size_t max)
{
	size_t n = strnlen(s, max + 1);

	if (n > max) {
		w->bad = 1;
		return;
	}
	kh_put8(w, (unsigned)n);
	kh_putbytes(w, s, n);
}

/* the wire values of the algorithms: 0 is "none" */
static unsigned kh_alg_wire(enum dkim_alg a)
{
	return a == DKIM_ALG_RSA_SHA256 ? 1 : a == DKIM_ALG_ED25519_SHA256 ? 2 : 0;
}

static int kh_alg_from_wire(unsigned v, enum dkim_alg *a)
{
	if (v == 1)
		*a = DKIM_ALG_RSA_SHA256;
	else if (v == 2)
		*a = DKIM_ALG_ED25519_SHA256;
	else
		return -1;
	return 0;
}

static size_t kh_done(const struct kh_wr *w)
{
	return w->bad ? 0 : w->pos;
}

size_t keyholder_req_encode(const struct keyholder_req *q, uint8_t *out, size_t size)
{
	struct kh_wr w = { out, size, 0, 0 };

	kh_put8(&w, KEYHOLDER_VERSION);
	kh_put8(&w, (unsigned)q->type);
	kh_put32(&w, q->id);
	kh_putname(&w, q->domain, KEYHOLDER_DOMAIN_MAX);
	if (q->type == KEYHOLDER_SIGN) {
		kh_putname(&w, q->selector, KEYHOLDER_SEL_MAX);
		kh_put8(&w, kh_alg_wire(q->alg));
		kh_put8(&w, 32);
		kh_putbytes(&w, q->digest, 32);
	} else if (q->type == KEYHOLDER_INFO) {
		kh_put8(&w, 0);
		kh_put8(&w, 0);
		kh_put8(&w, 0);
	} else {
		return 0;
	}
	return kh_done(&w);
}

int keyholder_req_decode(const uint8_t *p, size_t len, struct keyholder_req *q)
{
	struct kh_rd r = { p, len, 0, 0 };
	unsigned v, type, alg, dlen;

	memset(q, 0, sizeof(*q));
	if (len > KEYHOLDER_MSG_MAX)
		return -1;
	v = kh_u8(&r);
	type = kh_u8(&r);
	if (r.bad || v != KEYHOLDER_VERSION || (type != KEYHOLDER_SIGN && type != KEYHOLDER_INFO))
		return -1;
	q->type = (enum keyholder_type)type;
	q->id = kh_u32(&r);
	kh_name(&r, q->domain, 1, KEYHOLDER_DOMAIN_MAX);
	if (type == KEYHOLDER_SIGN) {
		kh_name(&r, q->selector, 1, KEYHOLDER_SEL_MAX);
		alg = kh_u8(&r);
		dlen = kh_u8(&r);
		if (r.bad || kh_alg_from_wire(alg, &q->alg) < 0 || dlen != 32)
			return -1;
		kh_bytes(&r, q->digest, 32);
	} else {
		kh_name(&r, q->selector, 0, 0);
		if (kh_u8(&r) != 0 || kh_u8(&r) != 0)
			return -1;
	}
	return kh_end(&r);
}

size_t keyholder_reply_encode(const struct keyholder_reply *r, uint8_t *out, size_t size)
{
	struct kh_wr w = { out, size, 0, 0 };
	size_t i;

	kh_put8(&w, KEYHOLDER_VERSION);
	kh_put8(&w, (unsigned)r->type);
	kh_put32(&w, r->id);
	kh_put8(&w, (unsigned)r->status);
	if (r->status != KEYHOLDER_OK)
		return kh_done(&w);
	if (r->type == KEYHOLDER_SIGN) {
		if (r->sig_len == 0 || r->sig_len > KEYHOLDER_SIG_MAX)
			return 0;
		kh_put16(&w, (unsigned)r->sig_len);
		kh_putbytes(&w, r->sig, r->sig_len);
	} else if (r->type == KEYHOLDER_INFO) {
		if (r->nkeys == 0 || r->nkeys > KEYHOLDER_INFO_KEYS)
			return 0;
		kh_putname(&w, r->active, KEYHOLDER_SEL_MAX);
		kh_put8(&w, (unsigned)r->nkeys);
		for (i = 0; i < r->nkeys; i++) {
			kh_putname(&w, r->keys[i].selector, KEYHOLDER_SEL_MAX);
			kh_put8(&w, kh_alg_wire(r->keys[i].alg));
			kh_put16(&w, r->keys[i].bits > 0xffff ? 0 : r->keys[i].bits);
		}
	} else {
		return 0;
	}
	return kh_done(&w);
}

int keyholder_reply_decode(const uint8_t *p, size_t len, struct keyholder_reply *r)
{
	struct kh_rd rd = { p, len, 0, 0 };
	unsigned v, type, status, alg;
	size_t i;

	memset(r, 0, sizeof(*r));
	if (len > KEYHOLDER_MSG_MAX)
		return -1;
	v = kh_u8(&rd);
	type = kh_u8(&rd);
	if (rd.bad || v != KEYHOLDER_VERSION || (type != KEYHOLDER_SIGN && type != KEYHOLDER_INFO))
		return -1;
	r->type = (enum keyholder_type)type;
	r->id = kh_u32(&rd);
	status = kh_u8(&rd);
	if (rd.bad || status > KEYHOLDER_NOTREADY)
		return -1;
	r->status = (enum keyholder_status)status;
	if (status != KEYHOLDER_OK)
		return kh_end(&rd);
	if (type == KEYHOLDER_SIGN) {
		r->sig_len = kh_u16(&rd);
		if (rd.bad || r->sig_len == 0 || r->sig_len > KEYHOLDER_SIG_MAX)
			return -1;
		kh_bytes(&rd, r->sig, r->sig_len);
	} else {
		kh_name(&rd, r->active, 1, KEYHOLDER_SEL_MAX);
		r->nkeys = kh_u8(&rd);
		if (rd.bad || r->nkeys == 0 || r->nkeys > KEYHOLDER_INFO_KEYS)
			return -1;
		for (i = 0; i < r->nkeys; i++) {
			kh_name(&rd, r->keys[i].selector, 1, KEYHOLDER_SEL_MAX);
			alg = kh_u8(&rd);
			r->keys[i].bits = kh_u16(&rd);
			if (rd.bad || kh_alg_from_wire(alg, &r->keys[i].alg) < 0)
				return -1;
		}
	}
	return kh_end(&rd);
}

const char *keyholder_status_name(enum keyholder_status s)
{
	switch (s) {
	case KEYHOLDER_OK:
		return "ok";
	case KEYHOLDER_NOKEY:
		return "nokey";
	case KEYHOLDER_FAILED:
		return "failed";
	case KEYHOLDER_NOTREADY:
		return "notready";
	}
	return "?";
}
