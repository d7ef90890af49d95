/*
 * dkim - the DKIM verification step engine (see dkim.h)
 *
 * dkim_verify_new() does all the work that needs no key: it parses every
 * signature, applies the time and algorithm policy and registers the
 * body hashes and key queries.  Answers are parsed as they arrive; the
 * last step checks each signature against its key: key flags, body hash,
 * then the signature over the header hash.
 */
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "auth/dkim.h"
#include "auth/dkim_canon.h"
#include "auth/dkim_key.h"
#include "auth/dkim_tag.h"
#include "core/arena.h"
#include "core/str.h"
#include "mime/raw.h"

#define DKIM_FIELD "DKIM-Signature"

struct key_slot {
	struct dkim_query q;
	bool done;
	struct dkim_key_state ks;
};

struct sig_state {
	struct dkim_sig_result *res;
	struct dkim_sig sig;
	bool pending; /* parsed and acceptable so far: needs its key */
	size_t slot;
	int bh; /* body hash index */
};

struct dkim_verify {
	struct arena *arena;
	const struct raw_message *msg;
	struct dkim_verify_options opts;
	struct sig_state *sigs;
	struct dkim_sig_result *results;
	size_t nsigs;
	struct key_slot *slots;
	struct dkim_query **queries; /* pointers into slots */
	size_t nslots;
	struct dkim_body_hashes *bh;
	bool body_hashed, body_failed, done;
};

const char *dkim_result_name(enum dkim_result r)
{
	static const char *const names[] = {
		[DKIM_NONE] = "none",           [DKIM_PASS] = "pass",
		[DKIM_FAIL] = "fail",           [DKIM_POLICY] = "policy",
		[DKIM_NEUTRAL] = "neutral",     [DKIM_TEMPERROR] = "temperror",
		[DKIM_PERMERROR] = "permerror",
	};

	if ((size_t)r < sizeof(names) / sizeof(names[0]))
		return names[r];
	return "unknown";
}

void dkim_verify_options_init(struct dkim_verify_options *o, int64_t now)
{
	memset(o, 0, sizeof(*o));
	o->now = now;
	o->clock_skew = DKIM_DEFAULT_CLOCK_SKEW;
	o->max_signatures = DKIM_MAX_SIGNATURES;
	o->min_rsa_bits = DKIM_MIN_RSA_BITS;
	o->timeout_ms = DKIM_DEFAULT_TIMEOUT_MS;
}

static void set_result(struct sig_state *s, enum dkim_result r, enum dkim_reason reason,
                       const char *why)
{
	s->res->result = r;
	s->res->reason = reason;
	s->res->why = why != NULL ? why : dkim_reason_text(reason);
	s->pending = false;
}

/* ---- header hash ------------------------------------------------------ */

struct md_sink_ctx {
	EVP_MD_CTX *md;
	bool failed;
};

static void md_sink(void *ctx, const void *p, size_t n)
{
	struct md_sink_ctx *c = ctx;

	if (EVP_DigestUpdate(c->md, p, n) != 1)
		c->failed = true;
}

int dkim_digest_fields(const struct raw_field *const *fields, size_t n, enum dkim_canon c,
                       const char *sig_field, size_t sig_len, size_t b_start, size_t b_end,
                       uint8_t digest[32])
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	struct md_sink_ctx mc = { md, false };
	unsigned dlen = 0;
	char *copy = NULL;
	size_t i;
	int rc = -1;

	if (md == NULL || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1)
		goto out;
	for (i = 0; i < n; i++)
		dkim_canon_header(c, fields[i]->raw, fields[i]->raw_len - fields[i]->eol_len, true,
		                  md_sink, &mc);
	/* the signature field with b= emptied, no final CRLF */
	if (b_start > b_end || b_end > sig_len)
		goto out;
	copy = malloc(sig_len - (b_end - b_start) + 1);
	if (copy == NULL)
		goto out;
	memcpy(copy, sig_field, b_start);
	memcpy(copy + b_start, sig_field + b_end, sig_len - b_end);
	dkim_canon_header(c, copy, sig_len - (b_end - b_start), false, md_sink, &mc);
	if (!mc.failed && EVP_DigestFinal_ex(md, digest, &dlen) == 1 && dlen == 32)
		rc = 0;
out:
	free(copy);
	EVP_MD_CTX_free(md);
	return rc;
}

int dkim_header_digest(const struct raw_message *msg, const struct dkim_sig *sig,
                       const char *sig_field, size_t sig_len, size_t value_off, uint8_t digest[32])
{
	const struct raw_field **fields = NULL;
	size_t i, j, nth, n = 0;
	int rc;

	if (sig->nh > 0 && (fields = malloc(sig->nh * sizeof(*fields))) == NULL)
		return -1;
	for (i = 0; i < sig->nh; i++) {
		const char *name = sig->h[i];
		size_t nl = strlen(name);
		const struct raw_field *f;

		for (j = 0, nth = 0; j < i; j++)
			if (str_casecmp(sig->h[j], name) == 0)
				nth++;
		f = raw_find_from_bottom(msg, name, nl, nth, NULL);
		if (f != NULL)
			fields[n++] = f;
	}
	rc = dkim_digest_fields(fields, n, sig->hcanon, sig_field, sig_len,
	                        value_off + sig->b_start, value_off + sig->b_end, digest);
	free(fields);
	return rc;
}

int dkim_crypto_verify(struct evp_pkey_st *pkey, enum dkim_alg alg, const uint8_t digest[32],
                       const uint8_t *sig, size_t sig_len)
{
	int rc = -1;

	if (alg == DKIM_ALG_ED25519_SHA256) {
		/* RFC 8463: Ed25519 (pure) over the SHA-256 hash.  libsodium verifies
		 * about twice as fast as OpenSSL 3.0 and refuses non-canonical
		 * signatures and small-order keys, which is what a verifier wants. */
		uint8_t pub[crypto_sign_PUBLICKEYBYTES];
		size_t pub_len = sizeof(pub);

		if (sodium_init() < 0 || EVP_PKEY_get_raw_public_key(pkey, pub, &pub_len) != 1 ||
		    pub_len != sizeof(pub))
			return -1;
		if (sig_len != crypto_sign_BYTES)
			return 0;
		rc = crypto_sign_verify_detached(sig, digest, 32, pub) == 0 ? 1 : 0;
	} else if (alg == DKIM_ALG_RSA_SHA256) {
		EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(pkey, NULL);

		if (ctx != NULL && EVP_PKEY_verify_init(ctx) == 1 &&
		    EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) == 1 &&
		    EVP_PKEY_CTX_set_signature_md(ctx, EVP_sha256()) == 1)
			rc = EVP_PKEY_verify(ctx, sig, sig_len, digest, 32) == 1 ? 1 : 0;
		EVP_PKEY_CTX_free(ctx);
	}
	return rc;
}

/* ---- setup ------------------------------------------------------------ */

/* b_prefix - the first 8 characters of b= (RFC 6008 header.b) */
static const char *b_prefix(struct arena *a, const char *value, const struct dkim_sig *sig)
{
	char out[9];
	size_t i, n = 0;

	for (i = sig->b_start; i < sig->b_end && n < 8; i++)
		if (!dkim_is_fws((unsigned char)value[i]))
			out[n++] = value[i];
	out[n] = '\0';
	return arena_strdup(a, out);
}

/* add_query - the slot for name, shared between signatures */
static int add_query(struct dkim_verify *v, const char *name, size_t *slot)
{
	size_t i;

	for (i = 0; i < v->nslots; i++)
		if (str_casecmp(v->slots[i].q.name, name) == 0) {
			*slot = i;
			return 0;
		}
	v->slots[v->nslots].q.name = name;
	v->queries[v->nslots] = &v->slots[v->nslots].q;
	*slot = v->nslots++;
	return 0;
}

static void setup_sig(struct dkim_verify *v, struct sig_state *s, const struct raw_field *f)
{
	struct arena *a = v->arena;
	const char *value;
	size_t vlen;
	enum dkim_reason reason;
	const char *why;
	char *name;

	raw_field_value(f, &value, &vlen);
	s->res->d = "";
	s->res->s = "";
	if (dkim_sig_parse(&s->sig, a, value, vlen, &reason, &why) < 0) {
		if (s->sig.d != NULL)
			s->res->d = s->sig.d;
		if (s->sig.s != NULL)
			s->res->s = s->sig.s;
		set_result(s, reason == DKIM_R_INTERNAL ? DKIM_TEMPERROR : DKIM_PERMERROR, reason,
		           why);
		return;
	}
	s->res->sig = &s->sig;
	s->res->d = s->sig.d;
	s->res->s = s->sig.s;
	s->res->i = s->sig.i;
	s->res->a = dkim_alg_name(s->sig.alg);
	s->res->b = b_prefix(a, value, &s->sig);
	s->res->has_l = s->sig.has_l;
	s->res->l = s->sig.l;
	if (s->sig.alg == DKIM_ALG_RSA_SHA1) {
		set_result(s, DKIM_PERMERROR, DKIM_R_SHA1, NULL);
		return;
	}
	if (s->sig.has_x && (int64_t)s->sig.x >= 0 && v->opts.now > (int64_t)s->sig.x) {
		set_result(s, DKIM_PERMERROR, DKIM_R_EXPIRED, NULL);
		return;
	}
	if (s->sig.has_t && (s->sig.t > (uint64_t)INT64_MAX ||
	                     (int64_t)s->sig.t > v->opts.now + (int64_t)v->opts.clock_skew)) {
		set_result(s, DKIM_PERMERROR, DKIM_R_FUTURE, NULL);
		return;
	}
	name = arena_printf(a, "%s._domainkey.%s", s->sig.s, s->sig.d);
	s->bh =
	    dkim_body_hashes_add(v->bh, s->sig.bcanon, s->sig.has_l, s->sig.l, DKIM_HASH_SHA256);
	if (name == NULL || s->bh < 0) {
		set_result(s, DKIM_TEMPERROR, DKIM_R_INTERNAL, "out of memory");
		return;
	}
	add_query(v, name, &s->slot);
	s->pending = true;
}

struct dkim_verify *dkim_verify_new(struct arena *a, const struct raw_message *msg,
                                    const struct dkim_verify_options *opts)
{
	struct dkim_verify *v = arena_zalloc(a, sizeof(*v));
	size_t i, n, max;

	if (v == NULL)
		return NULL;
	v->arena = a;
	v->msg = msg;
	if (opts != NULL)
		v->opts = *opts;
	else
		dkim_verify_options_init(&v->opts, 0);
	max = v->opts.max_signatures;
	n = raw_count(msg, DKIM_FIELD, strlen(DKIM_FIELD));
	v->bh = dkim_body_hashes_new(a);
	if (v->bh == NULL)
		return NULL;
	if (n > 0) {
		v->sigs = arena_array(a, n, sizeof(*v->sigs));
		v->results = arena_array(a, n, sizeof(*v->results));
		v->slots = arena_array(a, n < max ? n : max, sizeof(*v->slots));
		v->queries = arena_array(a, n < max ? n : max, sizeof(*v->queries));
		if (v->sigs == NULL || v->results == NULL ||
		    (max > 0 && (v->slots == NULL || v->queries == NULL)))
			return NULL;
	}
	for (i = 0; i < msg->nfields; i++) {
		const struct raw_field *f = &msg->fields[i];
		struct sig_state *s;

		if (!raw_field_is(f, DKIM_FIELD, strlen(DKIM_FIELD)))
			continue;
		s = &v->sigs[v->nsigs];
		s->res = &v->results[v->nsigs++];
		s->res->field = i;
		if (v->nsigs > max) {
			const char *value;
			size_t vlen;
			enum dkim_reason r;
			const char *why;

			/* still show d= and s= where they can be read */
			raw_field_value(f, &value, &vlen);
			dkim_sig_parse(&s->sig, a, value, vlen, &r, &why);
			s->res->d = s->sig.d != NULL ? s->sig.d : "";
			s->res->s = s->sig.s != NULL ? s->sig.s : "";
			set_result(s, DKIM_NEUTRAL, DKIM_R_TOO_MANY, NULL);
			continue;
		}
		setup_sig(v, s, f);
	}
	return v;
}

size_t dkim_verify_queries(struct dkim_verify *v, struct dkim_query *const **list)
{
	*list = v->queries;
	return v->nslots;
}

/* ---- answers ---------------------------------------------------------- */

static void key_error(struct dkim_key_state *k, enum dkim_result r, enum dkim_reason reason,
                      const char *why)
{
	k->result = r;
	k->reason = reason;
	k->why = why;
}

void dkim_key_state_answer(struct dkim_key_state *k, struct arena *a, const struct dns_answer *ans)
{
	const char *first_why = NULL;
	size_t i;

	memset(k, 0, sizeof(*k));
	switch (ans->status) {
	case DNS_OK:
		break;
	case DNS_NXDOMAIN:
	case DNS_NODATA:
		key_error(k, DKIM_PERMERROR, DKIM_R_NO_KEY, NULL);
		return;
	case DNS_BADNAME:
		key_error(k, DKIM_PERMERROR, DKIM_R_NO_KEY, "no key (name cannot be queried)");
		return;
	case DNS_SERVFAIL:
		key_error(k, DKIM_TEMPERROR, DKIM_R_DNS, "key lookup failed (SERVFAIL)");
		return;
	case DNS_TIMEOUT:
		key_error(k, DKIM_TEMPERROR, DKIM_R_DNS, "key lookup timed out");
		return;
	case DNS_NOMEM:
	default:
		key_error(k, DKIM_TEMPERROR, DKIM_R_DNS, "key lookup failed");
		return;
	}
	/* several TXT records: the first that parses (RFC 6376 leaves it open) */
	for (i = 0; i < ans->count; i++) {
		const struct dns_rr *rr = &ans->rr[i];
		const char *why = NULL;

		if (rr->type != DNS_T_TXT)
			continue;
		if (dkim_key_parse(&k->key, a, rr->u.txt.data, rr->u.txt.len, &why) == 0) {
			k->result = DKIM_NONE;
			if (!k->key.revoked) {
				k->pk = dkim_key_pkey(&k->key, a, &k->bits, &why);
				if (k->pk == NULL) {
					key_error(
					    k, DKIM_PERMERROR, DKIM_R_KEY_SYNTAX,
					    arena_printf(a, "key record syntax error (%s)", why));
					return;
				}
			}
			return;
		}
		if (first_why == NULL)
			first_why = why;
	}
	if (first_why == NULL)
		key_error(k, DKIM_PERMERROR, DKIM_R_NO_KEY, NULL);
	else
		key_error(k, DKIM_PERMERROR, DKIM_R_KEY_SYNTAX,
		          arena_printf(a, "key record syntax error (%s)", first_why));
}

enum dkim_reason dkim_key_state_check(const struct dkim_key_state *k, enum dkim_alg alg,
                                      struct arena *a, const char **why)
{
	*why = NULL;
	if (k->key.revoked)
		return DKIM_R_KEY_REVOKED;
	if ((alg == DKIM_ALG_ED25519_SHA256) != (k->key.type == DKIM_KEY_ED25519))
		return DKIM_R_KEY_TYPE;
	if (k->key.has_h && !k->key.h_sha256)
		return DKIM_R_KEY_HASH;
	if (!k->key.email)
		return DKIM_R_KEY_SERVICE;
	if (k->key.type == DKIM_KEY_RSA && k->bits < DKIM_MIN_RSA_BITS) {
		*why = arena_printf(a, "key too small (%u bits)", k->bits);
		return DKIM_R_KEY_TOO_SMALL;
	}
	return DKIM_R_OK;
}

int dkim_verify_answer(struct dkim_verify *v, const char *name, const struct dns_answer *ans)
{
	size_t i;

	for (i = 0; i < v->nslots; i++) {
		struct key_slot *k = &v->slots[i];

		if (k->q.answered || str_casecmp(k->q.name, name) != 0)
			continue;
		k->q.answered = true;
		k->done = true;
		dkim_key_state_answer(&k->ks, v->arena, ans);
		return 0;
	}
	return -1;
}

void dkim_verify_hash_body(struct dkim_verify *v)
{
	const struct raw_message *m = v->msg;

	if (v->body_hashed)
		return;
	v->body_hashed = true;
	if (dkim_body_hashes_feed(v->bh, m->body, m->body_len) < 0 ||
	    dkim_body_hashes_end(v->bh) < 0)
		v->body_failed = true;
}

/* ---- the checks with the key ------------------------------------------ */

static void check_sig(struct dkim_verify *v, struct sig_state *s)
{
	const struct key_slot *k = &v->slots[s->slot];
	const struct dkim_sig *sig = &s->sig;
	const struct raw_field *f = &v->msg->fields[s->res->field];
	const uint8_t *bh;
	size_t bh_len;
	uint64_t clen;
	uint8_t digest[32];
	int ok;

	enum dkim_reason kr;
	const char *why;

	if (k->ks.result != DKIM_NONE) {
		set_result(s, k->ks.result, k->ks.reason, k->ks.why);
		return;
	}
	s->res->testing = k->ks.key.testing;
	s->res->key_bits = k->ks.bits;
	kr = dkim_key_state_check(&k->ks, sig->alg, v->arena, &why);
	if (kr != DKIM_R_OK) {
		set_result(s, DKIM_PERMERROR, kr, why);
		return;
	}
	if (k->ks.key.strict && str_casecmp(sig->i_domain, sig->d) != 0) {
		set_result(s, DKIM_PERMERROR, DKIM_R_KEY_STRICT, NULL);
		return;
	}
	bh = v->body_failed ? NULL : dkim_body_hashes_get(v->bh, s->bh, &bh_len, &clen);
	if (bh == NULL) {
		set_result(s, DKIM_TEMPERROR, DKIM_R_INTERNAL, NULL);
		return;
	}
	s->res->body_len = clen;
	if (sig->has_l) {
		if (sig->l > clen) {
			set_result(s, DKIM_PERMERROR, DKIM_R_LENGTH, NULL);
			return;
		}
		s->res->unsigned_tail = clen - sig->l;
	}
	if (bh_len != sig->bh_len || memcmp(bh, sig->bh, bh_len) != 0) {
		set_result(s, DKIM_FAIL, DKIM_R_BODY_HASH, NULL);
		return;
	}
	if (dkim_header_digest(v->msg, sig, f->raw, f->raw_len - f->eol_len, f->value_off, digest) <
	    0) {
		set_result(s, DKIM_TEMPERROR, DKIM_R_INTERNAL, NULL);
		return;
	}
	ok = dkim_crypto_verify(k->ks.pk, sig->alg, digest, sig->b, sig->b_len);
	if (ok < 0) {
		set_result(s, DKIM_TEMPERROR, DKIM_R_INTERNAL, "crypto library failure");
		return;
	}
	if (ok == 0) {
		set_result(s, DKIM_FAIL, DKIM_R_SIGNATURE, NULL);
		return;
	}
	if (k->ks.key.type == DKIM_KEY_RSA && k->ks.bits < v->opts.min_rsa_bits) {
		set_result(s, DKIM_POLICY, DKIM_R_KEY_POLICY,
		           arena_printf(v->arena, "key smaller than local minimum (%u < %u bits)",
		                        k->ks.bits, v->opts.min_rsa_bits));
		return;
	}
	set_result(s, DKIM_PASS, DKIM_R_OK, NULL);
}

static void finish(struct dkim_verify *v)
{
	size_t i;

	dkim_verify_hash_body(v);
	for (i = 0; i < v->nsigs; i++)
		if (v->sigs[i].pending)
			check_sig(v, &v->sigs[i]);
	v->done = true;
}

enum dkim_step dkim_verify_step(struct dkim_verify *v)
{
	size_t i;

	if (v->done)
		return DKIM_STEP_DONE;
	for (i = 0; i < v->nslots; i++)
		if (!v->slots[i].done)
			return DKIM_STEP_NEED_DNS;
	finish(v);
	return DKIM_STEP_DONE;
}

void dkim_verify_abort(struct dkim_verify *v, const char *why)
{
	size_t i;

	if (v->done)
		return;
	for (i = 0; i < v->nslots; i++) {
		struct key_slot *k = &v->slots[i];

		if (k->done)
			continue;
		k->done = true;
		key_error(&k->ks, DKIM_TEMPERROR, DKIM_R_DNS,
		          why != NULL ? why : "key lookup timed out");
	}
	finish(v);
}

size_t dkim_verify_results(const struct dkim_verify *v, const struct dkim_sig_result **list)
{
	*list = v->done ? v->results : NULL;
	return v->done ? v->nsigs : 0;
}
