/*
 * arc - ARC chain validation step engine (see arc.h)
 *
 * arc_verify_new() does everything that needs no key: it places the
 * fields by instance, checks structure and cv= values, parses every AMS
 * (dkim_sig with DKIM_SIG_ARC) and AS (dkim_tag), registers the body
 * hashes and the key queries.  The last step checks, in RFC 8617 order,
 * the newest AMS, then each AS from the newest down, then the older AMS
 * for oldest-pass.  A structural failure decides the verdict at once and
 * asks for no key.
 */
#include <string.h>

#include "auth/arc.h"
#include "auth/dkim_canon.h"
#include "auth/dkim_tag.h"
#include "core/arena.h"
#include "core/str.h"
#include "mime/raw.h"

#define AAR_NAME "ARC-Authentication-Results"
#define AMS_NAME "ARC-Message-Signature"
#define AS_NAME  "ARC-Seal"

const char *arc_result_name(enum arc_result r)
{
	switch (r) {
	case ARC_NONE:
		return "none";
	case ARC_PASS:
		return "pass";
	case ARC_FAIL:
		return "fail";
	}
	return "unknown";
}

int arc_result_parse(const char *s, size_t len, enum arc_result *out)
{
	if (len == 4 && memcmp(s, "none", 4) == 0)
		*out = ARC_NONE;
	else if (len == 4 && memcmp(s, "pass", 4) == 0)
		*out = ARC_PASS;
	else if (len == 4 && memcmp(s, "fail", 4) == 0)
		*out = ARC_FAIL;
	else
		return -1;
	return 0;
}

/* ---- collecting the sets ---------------------------------------------- */

static bool fws(int c)
{
	return dkim_is_fws(c);
}

/*
 * aar_instance - the AAR value must open with "i=N;" (RFC 8617 4.1.1:
 * [CFWS] "i" [CFWS] "=" [CFWS] instance [CFWS] ";"); its instance and
 * where the rest starts, or -1
 */
static int aar_instance(const char *v, size_t len, unsigned *inst, size_t *rest)
{
	size_t p = 0, d;
	uint64_t n;

	while (p < len && fws((unsigned char)v[p]))
		p++;
	if (p >= len || v[p] != 'i')
		return -1;
	p++;
	while (p < len && fws((unsigned char)v[p]))
		p++;
	if (p >= len || v[p] != '=')
		return -1;
	p++;
	while (p < len && fws((unsigned char)v[p]))
		p++;
	d = p;
	while (p < len && str_is_digit(v[p]))
		p++;
	if (str_to_u64(v + d, p - d, 1, ARC_MAX_INSTANCE, &n) < 0)
		return -1;
	while (p < len && fws((unsigned char)v[p]))
		p++;
	if (p >= len || v[p] != ';')
		return -1;
	*inst = (unsigned)n;
	*rest = p + 1;
	return 0;
}

/* tag_instance - i= of a tag-list field (AMS, AS); -1 when absent or bad */
static int tag_instance(const struct raw_field *f, unsigned *inst)
{
	struct dkim_tag_list list;
	const struct dkim_tag *t;
	const char *value, *why;
	size_t vlen;
	uint64_t n;

	raw_field_value(f, &value, &vlen);
	if (dkim_tag_parse(&list, value, vlen, &why) < 0)
		return -1;
	t = dkim_tag_find(&list, "i");
	if (t == NULL || str_to_u64(t->value, t->value_len, 1, ARC_MAX_INSTANCE, &n) < 0)
		return -1;
	*inst = (unsigned)n;
	return 0;
}

int arc_collect(const struct raw_message *msg, struct arc_fields sets[ARC_MAX_INSTANCE + 1],
                unsigned *highest, const char **why)
{
	size_t i, count = 0;

	memset(sets, 0, (ARC_MAX_INSTANCE + 1) * sizeof(*sets));
	*highest = 0;
	*why = NULL;
	for (i = 0; i < msg->nfields; i++) {
		static const char *const bad_i[] = {
			"ARC-Authentication-Results without a valid i= (1..50)",
			"ARC-Message-Signature without a valid i= (1..50)",
			"ARC-Seal without a valid i= (1..50)",
		};
		static const char *const dup[] = {
			"two ARC-Authentication-Results with one instance",
			"two ARC-Message-Signature with one instance",
			"two ARC-Seal with one instance",
		};
		const struct raw_field *f = &msg->fields[i], **slot;
		const char *value;
		size_t vlen, rest;
		unsigned inst;
		int rc, kind; /* 0 AAR, 1 AMS, 2 AS */

		if (raw_field_is(f, AAR_NAME, strlen(AAR_NAME))) {
			raw_field_value(f, &value, &vlen);
			rc = aar_instance(value, vlen, &inst, &rest);
			kind = 0;
		} else if (raw_field_is(f, AMS_NAME, strlen(AMS_NAME))) {
			rc = tag_instance(f, &inst);
			kind = 1;
		} else if (raw_field_is(f, AS_NAME, strlen(AS_NAME))) {
			rc = tag_instance(f, &inst);
			kind = 2;
		} else {
			continue;
		}
		if (++count > ARC_MAX_FIELDS) {
			*why = "too many ARC header fields";
			return -1;
		}
		if (rc < 0) {
			if (*why == NULL)
				*why = bad_i[kind];
			continue;
		}
		if (inst > *highest)
			*highest = inst;
		slot = kind == 0 ? &sets[inst].aar : kind == 1 ? &sets[inst].ams : &sets[inst].as;
		if (*slot != NULL) {
			if (*why == NULL)
				*why = dup[kind];
			continue;
		}
		*slot = f;
	}
	return *why != NULL ? -1 : 0;
}

/* ---- the engine ------------------------------------------------------- */

struct key_slot {
	struct dkim_query q;
	bool done;
	struct dkim_key_state ks;
};

struct seal {
	enum dkim_alg alg;
	uint8_t *b;
	size_t b_len;
	char *d, *s;
	size_t b_start, b_end; /* in the field's raw bytes */
	size_t slot;
};

struct set_state {
	struct arc_fields f;
	struct dkim_sig ams;
	bool ams_ok; /* parsed and acceptable: can be checked with its key */
	size_t ams_slot;
	int bh;
	struct seal as;
};

struct arc_verify {
	struct arena *arena;
	const struct raw_message *msg;
	struct arc_verify_options opts;
	struct arc_fields fields[ARC_MAX_INSTANCE + 1];
	struct set_state *sets; /* sets[i] for instance i, 1..n */
	struct arc_set_result *res;
	unsigned n;
	struct key_slot *slots;
	struct dkim_query **queries;
	size_t nslots;
	struct dkim_body_hashes *bh;
	struct arc_verdict verdict;
	bool decided; /* the verdict is known without keys */
	bool body_hashed, body_failed, done;
};

static void decide(struct arc_verify *v, enum arc_result r, unsigned instance, const char *why)
{
	v->verdict.result = r;
	v->verdict.failed_instance = r == ARC_FAIL ? instance : 0;
	v->verdict.reason = why;
	v->decided = true;
}

static size_t add_query(struct arc_verify *v, const char *s, const char *d)
{
	char *name = arena_printf(v->arena, "%s._domainkey.%s", s, d);
	size_t i;

	if (name == NULL)
		return SIZE_MAX;
	for (i = 0; i < v->nslots; i++)
		if (str_casecmp(v->slots[i].q.name, name) == 0)
			return i;
	v->slots[v->nslots].q.name = name;
	v->queries[v->nslots] = &v->slots[v->nslots].q;
	return v->nslots++;
}

/*
 * empty_tag_spec - an empty tag-spec before the last one (";;"): dkim_tag
 * skips those, as DKIM verifiers do, but RFC 6376 3.2 allows only a
 * trailing ";", and the ARC test suite wants such a seal refused
 */
static bool empty_tag_spec(const char *v, size_t len)
{
	size_t i = 0;
	bool spec_has_data = false;

	for (; i < len; i++) {
		if (v[i] == ';') {
			size_t j = i + 1;

			if (!spec_has_data)
				return true;
			while (j < len && fws((unsigned char)v[j]))
				j++;
			if (j == len)
				return false; /* the trailing ";" */
			spec_has_data = false;
		} else if (!fws((unsigned char)v[i])) {
			spec_has_data = true;
		}
	}
	return false;
}

/* parse_seal - an ARC-Seal value (RFC 8617 4.1.3); NULL or the reason */
static const char *parse_seal(struct arc_verify *v, struct seal *s, const struct raw_field *f,
                              enum arc_result *cv)
{
	static const char *const required[] = { "a", "b", "cv", "d", "i", "s" };
	struct dkim_tag_list list;
	const struct dkim_tag *t;
	const char *value, *why;
	size_t vlen, i;
	uint64_t ts;
	long n;

	raw_field_value(f, &value, &vlen);
	if (dkim_tag_parse(&list, value, vlen, &why) < 0)
		return arena_printf(v->arena, "ARC-Seal: %s", why);
	if (empty_tag_spec(value, vlen))
		return "ARC-Seal: empty tag-spec";
	for (i = 0; i < sizeof(required) / sizeof(required[0]); i++)
		if (dkim_tag_find(&list, required[i]) == NULL)
			return arena_printf(v->arena, "ARC-Seal: missing tag %s=", required[i]);
	if (dkim_tag_find(&list, "h") != NULL)
		return "ARC-Seal: h= is not allowed";
	t = dkim_tag_find(&list, "cv");
	if (arc_result_parse(t->value, t->value_len, cv) < 0)
		return "ARC-Seal: bad tag cv=";
	t = dkim_tag_find(&list, "a");
	if (dkim_tag_is(t, "rsa-sha256"))
		s->alg = DKIM_ALG_RSA_SHA256;
	else if (dkim_tag_is(t, "ed25519-sha256"))
		s->alg = DKIM_ALG_ED25519_SHA256;
	else if (dkim_tag_is(t, "rsa-sha1"))
		return "ARC-Seal: rsa-sha1 not allowed";
	else
		return "ARC-Seal: unsupported algorithm";
	t = dkim_tag_find(&list, "d");
	if (dkim_domain_check(t->value, t->value_len) < 0)
		return "ARC-Seal: bad tag d=";
	s->d = arena_strndup(v->arena, t->value, t->value_len);
	t = dkim_tag_find(&list, "s");
	if (dkim_domain_check(t->value, t->value_len) < 0)
		return "ARC-Seal: bad tag s=";
	s->s = arena_strndup(v->arena, t->value, t->value_len);
	if ((t = dkim_tag_find(&list, "t")) != NULL &&
	    str_to_u64(t->value, t->value_len, 0, UINT64_MAX, &ts) < 0)
		return "ARC-Seal: bad tag t=";
	t = dkim_tag_find(&list, "b");
	s->b = arena_alloc(v->arena, t->value_len * 3 / 4 + 4);
	if (s->d == NULL || s->s == NULL || s->b == NULL)
		return "out of memory";
	n = dkim_b64_decode(t->value, t->value_len, s->b);
	if (n <= 0)
		return "ARC-Seal: bad tag b=";
	s->b_len = (size_t)n;
	/* what is emptied before hashing: after "b=" up to ';' or the end */
	s->b_start = t->value_off;
	while (s->b_start > 0 && value[s->b_start - 1] != '=')
		s->b_start--;
	s->b_end = t->value_off + t->value_len;
	while (s->b_end < vlen && value[s->b_end] != ';')
		s->b_end++;
	s->b_start += f->value_off;
	s->b_end += f->value_off;
	return NULL;
}

/* parse_ams - an ARC-Message-Signature; NULL or the reason */
static const char *parse_ams(struct arc_verify *v, struct set_state *st)
{
	const struct raw_field *f = st->f.ams;
	enum dkim_reason reason;
	const char *value, *why;
	size_t vlen, i;

	raw_field_value(f, &value, &vlen);
	if (empty_tag_spec(value, vlen))
		return "ARC-Message-Signature: empty tag-spec";
	if (dkim_sig_parse_flags(&st->ams, v->arena, value, vlen, DKIM_SIG_ARC, &reason, &why) < 0)
		return arena_printf(v->arena, "ARC-Message-Signature: %s",
		                    why != NULL ? why : dkim_reason_text(reason));
	if (st->ams.alg == DKIM_ALG_RSA_SHA1)
		return "ARC-Message-Signature: rsa-sha1 not allowed";
	for (i = 0; i < st->ams.nh; i++)
		if (str_casecmp(st->ams.h[i], AS_NAME) == 0)
			return "ARC-Message-Signature: h= signs ARC-Seal";
	return NULL;
}

/* setup - everything before the keys; false when the verdict is already known */
static bool setup(struct arc_verify *v)
{
	const char *why;
	unsigned i;

	if (arc_collect(v->msg, v->fields, &v->n, &why) < 0) {
		decide(v, ARC_FAIL, 0, why);
		return false;
	}
	if (v->n == 0) {
		decide(v, ARC_NONE, 0, "no ARC sets");
		return false;
	}
	v->verdict.instances = v->n;
	v->sets = arena_array(v->arena, v->n + 1, sizeof(*v->sets));
	v->res = arena_array(v->arena, v->n, sizeof(*v->res));
	v->slots = arena_array(v->arena, 2 * (size_t)v->n, sizeof(*v->slots));
	v->queries = arena_array(v->arena, 2 * (size_t)v->n, sizeof(*v->queries));
	if (v->sets == NULL || v->res == NULL || v->slots == NULL || v->queries == NULL) {
		decide(v, ARC_FAIL, 0, "out of memory");
		v->verdict.temporary = true;
		return false;
	}
	v->verdict.sets = v->res;
	v->verdict.nsets = v->n;
	for (i = 1; i <= v->n; i++) {
		struct set_state *st = &v->sets[i];
		struct arc_set_result *r = &v->res[i - 1];

		st->f = v->fields[i];
		r->instance = i;
		r->ams_d = r->ams_s = r->as_d = r->as_s = "";
		if (st->f.aar != NULL) {
			const char *value;
			size_t vlen, rest;
			unsigned inst;

			raw_field_value(st->f.aar, &value, &vlen);
			if (aar_instance(value, vlen, &inst, &rest) == 0) {
				while (rest < vlen && fws((unsigned char)value[rest]))
					rest++;
				while (vlen > rest && fws((unsigned char)value[vlen - 1]))
					vlen--;
				r->aar = value + rest;
				r->aar_len = vlen - rest;
			}
		}
	}
	/* structure: every instance complete (RFC 8617 5.2 step 3) */
	for (i = 1; i <= v->n; i++) {
		const struct arc_fields *f = &v->sets[i].f;

		if (f->aar == NULL || f->ams == NULL || f->as == NULL) {
			decide(v, ARC_FAIL, i,
			       arena_printf(v->arena, "instance %u lacks its %s", i,
			                    f->aar == NULL   ? AAR_NAME
			                    : f->ams == NULL ? AMS_NAME
			                                     : AS_NAME));
			return false;
		}
	}
	/* the seals, newest first: the newest saying fail ends the chain */
	for (i = v->n; i >= 1; i--) {
		struct set_state *st = &v->sets[i];
		struct arc_set_result *r = &v->res[i - 1];

		why = parse_seal(v, &st->as, st->f.as, &r->cv);
		if (st->as.d != NULL)
			r->as_d = st->as.d;
		if (st->as.s != NULL)
			r->as_s = st->as.s;
		if (why != NULL) {
			r->as = ARC_CHECK_FAIL;
			r->as_why = why;
			decide(v, ARC_FAIL, i, arena_printf(v->arena, "instance %u: %s", i, why));
			return false;
		}
		if (i == v->n && r->cv == ARC_FAIL) {
			decide(v, ARC_FAIL, i,
			       arena_printf(v->arena, "instance %u: the ARC-Seal says cv=fail", i));
			return false;
		}
		if ((i == 1 && r->cv != ARC_NONE) || (i > 1 && r->cv != ARC_PASS)) {
			r->as = ARC_CHECK_FAIL;
			r->as_why = "wrong cv=";
			decide(v, ARC_FAIL, i,
			       arena_printf(v->arena, "instance %u: the ARC-Seal says cv=%s", i,
			                    arc_result_name(r->cv)));
			return false;
		}
	}
	/* the message signatures: the newest must parse; older ones only
	 * serve oldest-pass */
	for (i = v->n; i >= 1; i--) {
		struct set_state *st = &v->sets[i];
		struct arc_set_result *r = &v->res[i - 1];

		why = parse_ams(v, st);
		if (st->ams.d != NULL)
			r->ams_d = st->ams.d;
		if (st->ams.s != NULL)
			r->ams_s = st->ams.s;
		if (why != NULL) {
			r->ams = ARC_CHECK_FAIL;
			r->ams_why = why;
			if (i == v->n) {
				decide(v, ARC_FAIL, i,
				       arena_printf(v->arena, "instance %u: %s", i, why));
				return false;
			}
			continue;
		}
		st->ams_ok = true;
	}
	v->bh = dkim_body_hashes_new(v->arena);
	if (v->bh == NULL) {
		decide(v, ARC_FAIL, 0, "out of memory");
		v->verdict.temporary = true;
		return false;
	}
	for (i = v->n; i >= 1; i--) {
		struct set_state *st = &v->sets[i];

		st->as.slot = add_query(v, st->as.s, st->as.d);
		if (st->as.slot == SIZE_MAX)
			goto oom;
		if (!st->ams_ok)
			continue;
		st->ams_slot = add_query(v, st->ams.s, st->ams.d);
		st->bh = dkim_body_hashes_add(v->bh, st->ams.bcanon, st->ams.has_l, st->ams.l,
		                              DKIM_HASH_SHA256);
		if (st->ams_slot == SIZE_MAX)
			goto oom;
		if (st->bh < 0)
			st->ams_ok = false; /* more distinct body hashes than the table holds */
	}
	return true;
oom:
	decide(v, ARC_FAIL, 0, "out of memory");
	v->verdict.temporary = true;
	return false;
}

struct arc_verify *arc_verify_new(struct arena *a, const struct raw_message *msg,
                                  const struct arc_verify_options *opts)
{
	struct arc_verify *v = arena_zalloc(a, sizeof(*v));

	if (v == NULL)
		return NULL;
	v->arena = a;
	v->msg = msg;
	if (opts != NULL)
		v->opts = *opts;
	if (!setup(v))
		v->nslots = 0; /* decided: no key is needed */
	return v;
}

size_t arc_verify_queries(struct arc_verify *v, struct dkim_query *const **list)
{
	*list = v->queries;
	return v->decided ? 0 : v->nslots;
}

int arc_verify_answer(struct arc_verify *v, const char *name, const struct dns_answer *ans)
{
	size_t i;

	for (i = 0; !v->decided && i < v->nslots; i++) {
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

void arc_verify_hash_body(struct arc_verify *v)
{
	if (v->body_hashed || v->bh == NULL)
		return;
	v->body_hashed = true;
	if (dkim_body_hashes_feed(v->bh, v->msg->body, v->msg->body_len) < 0 ||
	    dkim_body_hashes_end(v->bh) < 0)
		v->body_failed = true;
}

/* ---- the checks with the keys ----------------------------------------- */

/* key_usable - NULL when the key in slot can check a signature made with alg */
static const char *key_usable(struct arc_verify *v, size_t slot, enum dkim_alg alg, bool *temporary)
{
	const struct dkim_key_state *k = &v->slots[slot].ks;
	enum dkim_reason r;
	const char *why;

	*temporary = false;
	if (k->result != DKIM_NONE) {
		*temporary = k->result == DKIM_TEMPERROR;
		return k->why != NULL ? k->why : dkim_reason_text(k->reason);
	}
	r = dkim_key_state_check(k, alg, v->arena, &why);
	if (r != DKIM_R_OK)
		return why != NULL ? why : dkim_reason_text(r);
	return NULL;
}

/* check_ams - NULL when the AMS of instance i validates, else why */
static const char *check_ams(struct arc_verify *v, unsigned i, bool *temporary)
{
	struct set_state *st = &v->sets[i];
	const struct dkim_sig *sig = &st->ams;
	const struct raw_field *f = st->f.ams;
	const uint8_t *bh;
	const char *why;
	size_t bh_len;
	uint64_t clen;
	uint8_t digest[32];
	int ok;

	*temporary = false;
	if (!st->ams_ok)
		return v->res[i - 1].ams_why != NULL ? v->res[i - 1].ams_why : "not checked";
	if ((why = key_usable(v, st->ams_slot, sig->alg, temporary)) != NULL)
		return why;
	bh = v->body_failed ? NULL : dkim_body_hashes_get(v->bh, st->bh, &bh_len, &clen);
	if (bh == NULL) {
		*temporary = true;
		return "internal error (body hash)";
	}
	if (sig->has_l && sig->l > clen)
		return dkim_reason_text(DKIM_R_LENGTH);
	if (bh_len != sig->bh_len || memcmp(bh, sig->bh, bh_len) != 0)
		return dkim_reason_text(DKIM_R_BODY_HASH);
	if (dkim_header_digest(v->msg, sig, f->raw, f->raw_len - f->eol_len, f->value_off, digest) <
	    0) {
		*temporary = true;
		return "internal error (header hash)";
	}
	ok = dkim_crypto_verify(v->slots[st->ams_slot].ks.pk, sig->alg, digest, sig->b, sig->b_len);
	if (ok < 0) {
		*temporary = true;
		return "crypto library failure";
	}
	return ok == 1 ? NULL : dkim_reason_text(DKIM_R_SIGNATURE);
}

/* check_as - NULL when the AS of instance i validates over sets 1..i */
static const char *check_as(struct arc_verify *v, unsigned i, bool *temporary)
{
	const struct raw_field *fields[3 * ARC_MAX_INSTANCE];
	struct seal *s = &v->sets[i].as;
	const struct raw_field *f = v->sets[i].f.as;
	const char *why;
	uint8_t digest[32];
	size_t n = 0;
	unsigned j;
	int ok;

	if ((why = key_usable(v, s->slot, s->alg, temporary)) != NULL)
		return why;
	for (j = 1; j <= i; j++) {
		fields[n++] = v->sets[j].f.aar;
		fields[n++] = v->sets[j].f.ams;
		if (j < i)
			fields[n++] = v->sets[j].f.as;
	}
	if (dkim_digest_fields(fields, n, DKIM_CANON_RELAXED, f->raw, f->raw_len - f->eol_len,
	                       s->b_start, s->b_end, digest) < 0) {
		*temporary = true;
		return "internal error (header hash)";
	}
	ok = dkim_crypto_verify(v->slots[s->slot].ks.pk, s->alg, digest, s->b, s->b_len);
	if (ok < 0) {
		*temporary = true;
		return "crypto library failure";
	}
	return ok == 1 ? NULL : dkim_reason_text(DKIM_R_SIGNATURE);
}

static void finish(struct arc_verify *v)
{
	const char *why;
	bool temp;
	unsigned i;

	v->done = true;
	if (v->decided)
		return;
	arc_verify_hash_body(v);
	/* RFC 8617 5.2 step 4: the newest AMS */
	why = check_ams(v, v->n, &temp);
	v->res[v->n - 1].ams = why == NULL ? ARC_CHECK_PASS : ARC_CHECK_FAIL;
	v->res[v->n - 1].ams_why = why;
	if (why != NULL) {
		decide(v, ARC_FAIL, v->n,
		       arena_printf(v->arena, "instance %u: ARC-Message-Signature: %s", v->n, why));
		v->verdict.temporary = temp;
		return;
	}
	/* step 6: every seal, newest first */
	for (i = v->n; i >= 1; i--) {
		why = check_as(v, i, &temp);
		v->res[i - 1].as = why == NULL ? ARC_CHECK_PASS : ARC_CHECK_FAIL;
		v->res[i - 1].as_why = why;
		if (why != NULL) {
			decide(v, ARC_FAIL, i,
			       arena_printf(v->arena, "instance %u: ARC-Seal: %s", i, why));
			v->verdict.temporary = temp;
			return;
		}
	}
	/* step 5: oldest-pass, walking down while the older AMS validate */
	v->verdict.oldest_pass = v->n;
	for (i = v->n - 1; i >= 1; i--) {
		why = check_ams(v, i, &temp);
		v->res[i - 1].ams = why == NULL ? ARC_CHECK_PASS : ARC_CHECK_FAIL;
		v->res[i - 1].ams_why = why;
		if (why != NULL)
			break;
		v->verdict.oldest_pass = i;
	}
	decide(v, ARC_PASS, 0,
	       arena_printf(v->arena, "%u ARC set%s validated", v->n, v->n == 1 ? "" : "s"));
}

enum arc_step arc_verify_step(struct arc_verify *v)
{
	size_t i;

	if (v->done)
		return ARC_STEP_DONE;
	for (i = 0; !v->decided && i < v->nslots; i++)
		if (!v->slots[i].done)
			return ARC_STEP_NEED_DNS;
	finish(v);
	return ARC_STEP_DONE;
}

void arc_verify_abort(struct arc_verify *v, const char *why)
{
	size_t i;

	if (v->done)
		return;
	for (i = 0; i < v->nslots; i++) {
		struct key_slot *k = &v->slots[i];

		if (k->done)
			continue;
		k->done = true;
		memset(&k->ks, 0, sizeof(k->ks));
		k->ks.result = DKIM_TEMPERROR;
		k->ks.reason = DKIM_R_DNS;
		k->ks.why = why != NULL ? why : "key lookup timed out";
	}
	finish(v);
}

const struct arc_verdict *arc_verify_verdict(const struct arc_verify *v)
{
	return v->done ? &v->verdict : NULL;
}
