/*
 * arc_sign - make the ARC set of the next instance (RFC 8617 5.1)
 *
 * The three fields are built unfolded, in the canonical form of the ARC
 * test suite, and hashed as they are: the AMS over the message with the
 * new AAR on top (so h= may name ARC-Authentication-Results), the AS over
 * the sets in instance order.  Hashing and signing are DKIM's
 * (dkim_header_digest, dkim_digest_fields, dkim_sign_digest).  Folding
 * comes last and only replaces the space of a "; " separator by a line
 * break and a space, which relaxed canonicalisation reads as the same.
 */
#include <openssl/evp.h>
#include <string.h>

#include "auth/arc.h"
#include "auth/authres.h"
#include "auth/dkim_canon.h"
#include "auth/dkim_sign.h"
#include "auth/dkim_tag.h"
#include "core/arena.h"
#include "core/buf.h"
#include "core/str.h"
#include "mime/raw.h"

#define AAR_NAME "ARC-Authentication-Results"
#define AMS_NAME "ARC-Message-Signature"
#define AS_NAME  "ARC-Seal"

#define FIELD_CAP       (256 * 1024)
#define FOLD_COLUMNS    78
#define MERGED_MAX      256 /* results gathered from several AR fields */
#define HEADER_LIST_MAX DKIM_SIG_MAX_H

int arc_collect_results(struct arena *a, const struct raw_message *msg, const char *authserv_id,
                        struct authres *out)
{
	size_t i, cap = 0;

	memset(out, 0, sizeof(*out));
	out->authserv_id = authserv_id;
	out->version = -1;
	for (i = 0; i < msg->nfields; i++) {
		const struct raw_field *f = &msg->fields[i];
		struct authres ar;
		struct sx_err err;
		const char *value;
		size_t vlen, j;

		if (!raw_field_is(f, "Authentication-Results", 22))
			continue;
		raw_field_value(f, &value, &vlen);
		if (authres_parse(&ar, a, value, vlen, AUTHRES_LENIENT, &err) < 0 ||
		    str_casecmp(ar.authserv_id, authserv_id) != 0)
			continue;
		for (j = 0; j < ar.nresults; j++) {
			if (out->nresults == cap) {
				size_t ncap = cap == 0 ? 8 : cap * 2;
				struct authres_result *n;

				if (out->nresults >= MERGED_MAX)
					return -1;
				n = arena_array(a, ncap, sizeof(*n));
				if (n == NULL)
					return -1;
				if (out->nresults > 0)
					memcpy(n, out->results, out->nresults * sizeof(*n));
				out->results = n;
				cap = ncap;
			}
			out->results[out->nresults++] = ar.results[j];
		}
	}
	return 0;
}

/* put_collapsed - s[0..n) with every run of FWS made one SP */
static int put_collapsed(struct buf *b, const char *s, size_t n)
{
	size_t i;
	int rc = 0;

	for (i = 0; i < n; i++) {
		if (dkim_is_fws((unsigned char)s[i])) {
			while (i + 1 < n && dkim_is_fws((unsigned char)s[i + 1]))
				i++;
			rc |= buf_putc(b, ' ');
			continue;
		}
		rc |= buf_putc(b, s[i]);
	}
	return rc;
}

/* authserv_ok - an authserv-id we can write bare: a token (RFC 2045) */
static bool authserv_ok(const char *s)
{
	if (*s == '\0')
		return false;
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;
		if (c <= 0x20 || c == 0x7f || strchr("()<>@,;:\\\"/[]?=", c) != NULL)
			return false;
	}
	return true;
}

static char *aar_value(struct arena *a, unsigned inst, const struct arc_seal_options *o)
{
	struct buf b;
	char *out = NULL;
	size_t i;
	int rc;

	buf_init(&b, FIELD_CAP);
	rc = buf_printf(&b, "i=%u; %s", inst, o->authserv_id);
	if (o->results == NULL || o->results->nresults == 0)
		rc |= buf_puts(&b, "; none");
	for (i = 0; o->results != NULL && i < o->results->nresults; i++) {
		const struct authres_result *r = &o->results->results[i];

		rc |= buf_puts(&b, "; ");
		if (r->raw != NULL)
			rc |= put_collapsed(&b, r->raw, r->raw_len);
		else
			rc |= authres_format_result(&b, r);
	}
	if (rc == 0)
		out = arena_strndup(a, b.data, b.len);
	buf_free(&b);
	return out;
}

/* header_list - h= names: the caller's list, or each default name present */
static char **header_list(struct arena *a, const struct raw_message *msg,
                          const struct arc_seal_options *o, size_t *nh, struct sx_err *err)
{
	const char *const *names = o->headers != NULL ? o->headers : dkim_sign_default_headers;
	char **h = arena_array(a, HEADER_LIST_MAX, sizeof(*h));
	bool from = false;
	size_t i, k, count;

	*nh = 0;
	if (h == NULL) {
		sx_err_set(err, "out of memory");
		return NULL;
	}
	for (i = 0; names[i] != NULL; i++) {
		const char *n = names[i];
		size_t j;

		for (j = 0; n[j] != '\0'; j++)
			if ((unsigned char)n[j] < 33 || (unsigned char)n[j] > 126 || n[j] == ':')
				break;
		if (j == 0 || n[j] != '\0') {
			sx_err_set(err, "bad header name in the list: \"%s\"", n);
			return NULL;
		}
		if (str_casecmp(n, AS_NAME) == 0) {
			sx_err_set(err, "the ARC-Message-Signature must not sign ARC-Seal");
			return NULL;
		}
		from |= str_casecmp(n, "from") == 0;
		count = o->headers != NULL ? 1 : raw_count(msg, n, strlen(n));
		if (o->headers == NULL && str_casecmp(n, "from") == 0 && count == 0)
			count = 1;
		for (k = 0; k < count; k++) {
			if (*nh >= HEADER_LIST_MAX) {
				sx_err_set(err, "too many header fields to sign");
				return NULL;
			}
			h[*nh] = str_lower_inplace(arena_strdup(a, n));
			if (h[*nh] == NULL) {
				sx_err_set(err, "out of memory");
				return NULL;
			}
			(*nh)++;
		}
	}
	if (!from) {
		sx_err_set(err, "the header list must include From");
		return NULL;
	}
	return h;
}

/* field_of - a raw_field over "Name: value" (no line break) */
static void field_of(struct raw_field *f, const char *text, size_t name_len)
{
	memset(f, 0, sizeof(*f));
	f->name = text;
	f->name_len = name_len;
	f->raw = text;
	f->raw_len = strlen(text);
	f->value_off = name_len + 1;
}

/* sign_b - sign digest, put the signature at text's "b=" (at b_off) */
static char *sign_b(struct arena *a, const struct dkim_signer *signer, const uint8_t digest[32],
                    const char *text, size_t b_off, struct sx_err *err)
{
	size_t sig_len = dkim_signer_sig_max(signer), len = strlen(text);
	uint8_t *sig = arena_alloc(a, sig_len + 1);
	char *b64 = arena_alloc(a, 4 * ((sig_len + 2) / 3) + 1), *out;
	size_t bl;

	if (sig == NULL || b64 == NULL || dkim_sign_digest(signer, digest, sig, &sig_len) < 0) {
		sx_err_set(err, "signing failed");
		return NULL;
	}
	bl = dkim_b64_encode(sig, sig_len, b64);
	out = arena_alloc(a, len + bl + 1);
	if (out == NULL) {
		sx_err_set(err, "out of memory");
		return NULL;
	}
	memcpy(out, text, b_off);
	memcpy(out + b_off, b64, bl);
	memcpy(out + b_off + bl, text + b_off, len - b_off + 1);
	return out;
}

/* fold - "Name: value" folded at "; " separators, with a final line break */
static char *fold(struct arena *a, const char *field, bool crlf)
{
	const char *eol = crlf ? "\r\n" : "\n";
	size_t len = strlen(field), col = 0, i = 0;
	struct buf b;
	char *out = NULL;
	int rc = 0;

	buf_init(&b, FIELD_CAP);
	while (i < len) {
		/* the next piece: up to and including the next "; " separator's ';' */
		const char *sep = strstr(field + i, "; ");
		size_t end = sep != NULL ? (size_t)(sep - field) + 1 : len;

		if (i > 0) {
			if (col + 1 + (end - i) > FOLD_COLUMNS) {
				rc |= buf_puts(&b, eol);
				col = 0;
			}
			rc |= buf_putc(&b, ' ');
			col++;
		}
		rc |= buf_append(&b, field + i, end - i);
		col += end - i;
		i = sep != NULL ? end + 1 : len;
	}
	rc |= buf_puts(&b, eol);
	if (rc == 0)
		out = arena_strndup(a, b.data, b.len);
	buf_free(&b);
	return out;
}

/* newest_cv_fail - the AS of instance n says cv=fail */
static bool newest_cv_fail(const struct arc_fields *f)
{
	struct dkim_tag_list list;
	const struct dkim_tag *t;
	const char *value, *why;
	size_t vlen;

	if (f->as == NULL)
		return false;
	raw_field_value(f->as, &value, &vlen);
	if (dkim_tag_parse(&list, value, vlen, &why) < 0)
		return false;
	t = dkim_tag_find(&list, "cv");
	return t != NULL && dkim_tag_is(t, "fail");
}

int arc_seal(struct arena *a, const struct raw_message *msg, const struct dkim_signer *signer,
             const struct arc_seal_options *o, struct arc_sealed *out, struct sx_err *err)
{
	struct arc_fields sets[ARC_MAX_INSTANCE + 1];
	const struct raw_field *fields[3 * ARC_MAX_INSTANCE + 2];
	struct raw_field aar_f, ams_f;
	struct raw_message m2;
	struct dkim_body_hashes *bhs;
	struct dkim_sig sig;
	const uint8_t *bh;
	const char *why, *alg = dkim_alg_name(signer->alg);
	char *aar, *ams, *as, *d, *s, *h, *t, bh64[128];
	size_t nh, bh_len, n = 0, b_off, i;
	uint64_t blen;
	unsigned highest, inst, j;
	uint8_t digest[32];
	int idx, broken;
	char **hl;

	memset(out, 0, sizeof(*out));
	if (o->authserv_id == NULL || !authserv_ok(o->authserv_id)) {
		sx_err_set(err, "bad authserv-id");
		return -1;
	}
	if (signer->alg == DKIM_ALG_RSA_SHA1) {
		sx_err_set(err, "rsa-sha1 is not allowed");
		return -1;
	}
	broken = arc_collect(msg, sets, &highest, &why);
	if (highest > 0 && newest_cv_fail(&sets[highest])) {
		sx_err_set(err, "the newest ARC-Seal (i=%u) says cv=fail: no new set", highest);
		return 1;
	}
	if (highest >= ARC_MAX_INSTANCE) {
		sx_err_set(err, "the chain already has %d sets", ARC_MAX_INSTANCE);
		return 1;
	}
	if (highest == 0 && broken == 0 && o->cv != ARC_NONE) {
		sx_err_set(err, "cv=%s on a message without ARC sets", arc_result_name(o->cv));
		return -1;
	}
	if (highest > 0 && o->cv == ARC_NONE) {
		sx_err_set(err, "cv=none on a message with ARC sets");
		return -1;
	}
	for (j = 1; broken == 0 && j <= highest; j++)
		if (sets[j].aar == NULL || sets[j].ams == NULL || sets[j].as == NULL)
			broken = 1;
	if (broken && o->cv != ARC_FAIL) {
		sx_err_set(err, "the ARC chain is broken: seal with cv=fail");
		return -1;
	}
	inst = highest + 1;
	d = str_lower_inplace(arena_strdup(a, signer->domain));
	s = str_lower_inplace(arena_strdup(a, signer->selector));
	hl = header_list(a, msg, o, &nh, err);
	if (hl == NULL)
		return -1;
	h = arena_strdup(a, "");
	for (i = 0; h != NULL && i < nh; i++)
		h = arena_printf(a, "%s%s%s", h, i > 0 ? ":" : "", hl[i]);
	t = o->timestamp >= 0 ? arena_printf(a, "; t=%lld", (long long)o->timestamp)
	                      : arena_strdup(a, "");
	out->aar_value = aar_value(a, inst, o);
	if (d == NULL || s == NULL || h == NULL || t == NULL || out->aar_value == NULL) {
		sx_err_set(err, "out of memory or field too long");
		return -1;
	}

	/* the message as the AMS sees it: the new AAR on top */
	aar = arena_printf(a, "%s: %s", AAR_NAME, out->aar_value);
	m2 = *msg;
	m2.fields = arena_array(a, msg->nfields + 1, sizeof(*m2.fields));
	if (aar == NULL || m2.fields == NULL) {
		sx_err_set(err, "out of memory");
		return -1;
	}
	field_of(&aar_f, aar, strlen(AAR_NAME));
	m2.fields[0] = aar_f;
	if (msg->nfields > 0)
		memcpy(m2.fields + 1, msg->fields, msg->nfields * sizeof(*m2.fields));
	m2.nfields = msg->nfields + 1;

	/* AMS: a b bh c d h i s t */
	bhs = dkim_body_hashes_new(a);
	idx = bhs == NULL
	          ? -1
	          : dkim_body_hashes_add(bhs, DKIM_CANON_RELAXED, false, 0, DKIM_HASH_SHA256);
	if (idx < 0 || dkim_body_hashes_feed(bhs, msg->body, msg->body_len) < 0 ||
	    dkim_body_hashes_end(bhs) < 0 ||
	    (bh = dkim_body_hashes_get(bhs, idx, &bh_len, &blen)) == NULL) {
		sx_err_set(err, "hashing the body failed");
		return -1;
	}
	dkim_b64_encode(bh, bh_len, bh64);
	ams = arena_printf(a, "%s: a=%s; b=; bh=%s; c=relaxed/relaxed; d=%s; h=%s; i=%u; s=%s%s",
	                   AMS_NAME, alg, bh64, d, h, inst, s, t);
	if (ams == NULL) {
		sx_err_set(err, "out of memory");
		return -1;
	}
	memset(&sig, 0, sizeof(sig));
	sig.hcanon = DKIM_CANON_RELAXED;
	sig.h = hl;
	sig.nh = nh;
	b_off = (size_t)(strstr(ams, " b=;") - ams) + 3;
	sig.b_start = sig.b_end = b_off;
	if (dkim_header_digest(&m2, &sig, ams, strlen(ams), 0, digest) < 0) {
		sx_err_set(err, "hashing the header failed");
		return -1;
	}
	if ((ams = sign_b(a, signer, digest, ams, b_off, err)) == NULL)
		return -1;
	field_of(&ams_f, ams, strlen(AMS_NAME));

	/* AS: a b cv d i s t, over the sets in instance order (only its own
	 * after cv=fail, RFC 8617 5.1.2) */
	as = arena_printf(a, "%s: a=%s; b=; cv=%s; d=%s; i=%u; s=%s%s", AS_NAME, alg,
	                  arc_result_name(o->cv), d, inst, s, t);
	if (as == NULL) {
		sx_err_set(err, "out of memory");
		return -1;
	}
	for (j = 1; o->cv != ARC_FAIL && j <= highest; j++) {
		fields[n++] = sets[j].aar;
		fields[n++] = sets[j].ams;
		fields[n++] = sets[j].as;
	}
	fields[n++] = &aar_f;
	fields[n++] = &ams_f;
	b_off = (size_t)(strstr(as, " b=;") - as) + 3;
	if (dkim_digest_fields(fields, n, DKIM_CANON_RELAXED, as, strlen(as), b_off, b_off,
	                       digest) < 0) {
		sx_err_set(err, "hashing the seal failed");
		return -1;
	}
	if ((as = sign_b(a, signer, digest, as, b_off, err)) == NULL)
		return -1;

	out->instance = inst;
	out->ams_value = ams + strlen(AMS_NAME) + 2;
	out->as_value = as + strlen(AS_NAME) + 2;
	out->aar = fold(a, aar, msg->crlf || msg->nfields == 0);
	out->ams = fold(a, ams, msg->crlf || msg->nfields == 0);
	out->as = fold(a, as, msg->crlf || msg->nfields == 0);
	if (out->aar == NULL || out->ams == NULL || out->as == NULL) {
		sx_err_set(err, "out of memory");
		return -1;
	}
	return 0;
}
