/*
 * dkim_sig - parse and check a DKIM-Signature value (RFC 6376 3.5, 6.1.1)
 */
#include <string.h>

#include "auth/dkim_sig.h"
#include "auth/dkim_tag.h"
#include "core/arena.h"
#include "core/str.h"

static const char *const reason_text[] = {
	[DKIM_R_OK] = "ok",
	[DKIM_R_BODY_HASH] = "body hash mismatch",
	[DKIM_R_SIGNATURE] = "signature mismatch",
	[DKIM_R_SYNTAX] = "bad signature syntax",
	[DKIM_R_VERSION] = "unsupported version",
	[DKIM_R_ALGORITHM] = "unsupported algorithm",
	[DKIM_R_SHA1] = "rsa-sha1 not allowed",
	[DKIM_R_CANON] = "unsupported canonicalization",
	[DKIM_R_QUERY] = "unsupported query method",
	[DKIM_R_IDENTITY] = "i= not within d=",
	[DKIM_R_TIMESTAMPS] = "x= before t=",
	[DKIM_R_FROM_NOT_SIGNED] = "From not signed",
	[DKIM_R_EXPIRED] = "signature expired",
	[DKIM_R_FUTURE] = "signed in the future",
	[DKIM_R_LENGTH] = "l= beyond the body",
	[DKIM_R_NO_KEY] = "no key",
	[DKIM_R_KEY_SYNTAX] = "key record syntax error",
	[DKIM_R_KEY_REVOKED] = "key revoked",
	[DKIM_R_KEY_TOO_SMALL] = "key too small",
	[DKIM_R_KEY_TYPE] = "key type mismatch",
	[DKIM_R_KEY_HASH] = "algorithm not allowed by key h=",
	[DKIM_R_KEY_SERVICE] = "key not for email (s=)",
	[DKIM_R_KEY_STRICT] = "t=s violated",
	[DKIM_R_KEY_POLICY] = "key smaller than local minimum",
	[DKIM_R_DNS] = "DNS error",
	[DKIM_R_TOO_MANY] = "not verified: too many signatures",
	[DKIM_R_INTERNAL] = "internal error",
};

const char *dkim_reason_text(enum dkim_reason r)
{
	if ((size_t)r < sizeof(reason_text) / sizeof(reason_text[0]) && reason_text[r] != NULL)
		return reason_text[r];
	return "unknown";
}

const char *dkim_alg_name(enum dkim_alg alg)
{
	switch (alg) {
	case DKIM_ALG_RSA_SHA256:
		return "rsa-sha256";
	case DKIM_ALG_ED25519_SHA256:
		return "ed25519-sha256";
	case DKIM_ALG_RSA_SHA1:
		return "rsa-sha1";
	}
	return "unknown";
}

const char *dkim_canon_name(enum dkim_canon c)
{
	return c == DKIM_CANON_RELAXED ? "relaxed" : "simple";
}

int dkim_domain_check(const char *s, size_t len)
{
	size_t i, label = 0;

	if (len == 0 || len > 253)
		return -1;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '.') {
			if (label == 0)
				return -1;
			label = 0;
			continue;
		}
		if (!str_is_alnum(c) && c != '-' && c != '_')
			return -1;
		if (++label > 63)
			return -1;
	}
	return label == 0 ? -1 : 0;
}

static int hexval(int c)
{
	if (str_is_digit(c))
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* qp_decode - dkim-quoted-printable (RFC 6376 2.11): =XX escapes, FWS
 * ignored; NULL when malformed or when it decodes to a NUL */
static char *qp_decode(struct arena *a, const struct dkim_tag *t)
{
	char *out = arena_alloc(a, t->value_len + 1);
	size_t i, n = 0;

	if (out == NULL)
		return NULL;
	for (i = 0; i < t->value_len; i++) {
		unsigned char c = (unsigned char)t->value[i];

		if (dkim_is_fws(c))
			continue;
		if (c == '=') {
			int hi, lo;

			if (i + 2 >= t->value_len)
				return NULL;
			hi = hexval((unsigned char)t->value[i + 1]);
			lo = hexval((unsigned char)t->value[i + 2]);
			if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
				return NULL;
			out[n++] = (char)(hi << 4 | lo);
			i += 2;
			continue;
		}
		out[n++] = (char)c;
	}
	out[n] = '\0';
	return out;
}

/* decode_b64 - base64 tag into the arena; -1 when malformed or empty */
static int decode_b64(struct arena *a, const struct dkim_tag *t, uint8_t **out, size_t *len)
{
	long n;

	*out = arena_alloc(a, t->value_len * 3 / 4 + 4);
	if (*out == NULL)
		return -1;
	n = dkim_b64_decode(t->value, t->value_len, *out);
	if (n <= 0)
		return -1;
	*len = (size_t)n;
	return 0;
}

/* in_domain - dom equals d or is a subdomain of it (case-insensitive) */
static bool in_domain(const char *dom, const char *d)
{
	size_t dl = strlen(dom), n = strlen(d);

	if (dl == n)
		return str_casecmp(dom, d) == 0;
	return dl > n && dom[dl - n - 1] == '.' && str_casecmp(dom + dl - n, d) == 0;
}

/* parse_h - split h= on ':' (FWS around names allowed); with skip_empty
 * an empty name is dropped instead of refused (ARC) */
static int parse_h(struct dkim_sig *sig, struct arena *a, const struct dkim_tag *t, bool skip_empty)
{
	size_t pos = 0, n = 0, i, max = 1;

	for (i = 0; i < t->value_len; i++)
		if (t->value[i] == ':')
			max++;
	if (max > DKIM_SIG_MAX_H)
		return -1;
	sig->h = arena_array(a, max, sizeof(*sig->h));
	if (sig->h == NULL)
		return -1;
	while (pos <= t->value_len) {
		const char *colon = memchr(t->value + pos, ':', t->value_len - pos);
		size_t end = colon == NULL ? t->value_len : (size_t)(colon - t->value);
		size_t s = pos, e = end;

		while (s < e && dkim_is_fws((unsigned char)t->value[s]))
			s++;
		while (e > s && dkim_is_fws((unsigned char)t->value[e - 1]))
			e--;
		if (s == e && !skip_empty)
			return -1;
		if (s == e) {
			if (colon == NULL)
				break;
			pos = end + 1;
			continue;
		}
		for (i = s; i < e; i++) {
			unsigned char c = (unsigned char)t->value[i];
			if (c < 0x21 || c > 0x7e)
				return -1;
		}
		sig->h[n] = arena_strndup(a, t->value + s, e - s);
		if (sig->h[n] == NULL)
			return -1;
		n++;
		if (colon == NULL)
			break;
		pos = end + 1;
	}
	sig->nh = n;
	return 0;
}

/* parse_canon - c= value: header[/body] */
static int parse_canon(struct dkim_sig *sig, const struct dkim_tag *t)
{
	const char *v = t->value, *slash = memchr(v, '/', t->value_len);
	size_t hl = slash == NULL ? t->value_len : (size_t)(slash - v);
	enum dkim_canon *out[2] = { &sig->hcanon, &sig->bcanon };
	const char *part[2] = { v, slash == NULL ? NULL : slash + 1 };
	size_t plen[2] = { hl, slash == NULL ? 0 : t->value_len - hl - 1 };
	int i;

	for (i = 0; i < 2; i++) {
		if (part[i] == NULL)
			continue;
		if (plen[i] == 6 && memcmp(part[i], "simple", 6) == 0)
			*out[i] = DKIM_CANON_SIMPLE;
		else if (plen[i] == 7 && memcmp(part[i], "relaxed", 7) == 0)
			*out[i] = DKIM_CANON_RELAXED;
		else
			return -1;
	}
	return 0;
}

/* query_ok - q= lists dns/txt (other methods are ignored, RFC 6376 3.5) */
static bool query_ok(const struct dkim_tag *t)
{
	size_t pos = 0;

	while (pos <= t->value_len) {
		const char *colon = memchr(t->value + pos, ':', t->value_len - pos);
		size_t end = colon == NULL ? t->value_len : (size_t)(colon - t->value);
		size_t s = pos, e = end;

		while (s < e && dkim_is_fws((unsigned char)t->value[s]))
			s++;
		while (e > s && dkim_is_fws((unsigned char)t->value[e - 1]))
			e--;
		if (e - s == 7 && memcmp(t->value + s, "dns/txt", 7) == 0)
			return true;
		if (colon == NULL)
			break;
		pos = end + 1;
	}
	return false;
}

static int number(const struct dkim_tag *t, uint64_t max, uint64_t *out)
{
	return str_to_u64(t->value, t->value_len, 0, max, out);
}

#define FAIL(r, w)                                                                                 \
	do {                                                                                       \
		*reason = (r);                                                                     \
		*why = (w);                                                                        \
		return -1;                                                                         \
	} while (0)

int dkim_sig_parse(struct dkim_sig *sig, struct arena *a, const char *value, size_t len,
                   enum dkim_reason *reason, const char **why)
{
	return dkim_sig_parse_flags(sig, a, value, len, 0, reason, why);
}

int dkim_sig_parse_flags(struct dkim_sig *sig, struct arena *a, const char *value, size_t len,
                         unsigned flags, enum dkim_reason *reason, const char **why)
{
	/* the first is v= for DKIM, i= for ARC */
	static const char *const required[] = { "v", "a", "b", "bh", "d", "h", "s" };
	static const char *const missing[] = {
		"missing tag v=", "missing tag a=", "missing tag b=", "missing tag bh=",
		"missing tag d=", "missing tag h=", "missing tag s="
	};
	bool arc = (flags & DKIM_SIG_ARC) != 0;
	struct dkim_tag_list *list;
	const struct dkim_tag *t;
	const char *err;
	size_t i;
	char *at;
	uint64_t inst;

	memset(sig, 0, sizeof(*sig));
	*reason = DKIM_R_OK;
	*why = NULL;
	list = arena_alloc(a, sizeof(*list));
	if (list == NULL)
		FAIL(DKIM_R_INTERNAL, "out of memory");
	if (dkim_tag_parse(list, value, len, &err) < 0)
		FAIL(DKIM_R_SYNTAX, err);
	/* d= and s= first, so even a broken signature can be reported */
	if ((t = dkim_tag_find(list, "d")) != NULL)
		sig->d = arena_strndup(a, t->value, t->value_len);
	if ((t = dkim_tag_find(list, "s")) != NULL)
		sig->s = arena_strndup(a, t->value, t->value_len);
	if (arc) {
		t = dkim_tag_find(list, "i");
		if (t == NULL)
			FAIL(DKIM_R_SYNTAX, "missing tag i=");
		if (number(t, DKIM_SIG_ARC_MAX_INSTANCE, &inst) < 0 || inst == 0)
			FAIL(DKIM_R_SYNTAX, "bad tag i=");
		sig->instance = (unsigned)inst;
	}
	for (i = arc ? 1 : 0; i < sizeof(required) / sizeof(required[0]); i++)
		if (dkim_tag_find(list, required[i]) == NULL)
			FAIL(i == 0 ? DKIM_R_VERSION : DKIM_R_SYNTAX, missing[i]);
	if (!arc && !dkim_tag_is(dkim_tag_find(list, "v"), "1"))
		FAIL(DKIM_R_VERSION, "unsupported version");

	t = dkim_tag_find(list, "a");
	if (dkim_tag_is(t, "rsa-sha256"))
		sig->alg = DKIM_ALG_RSA_SHA256;
	else if (dkim_tag_is(t, "ed25519-sha256"))
		sig->alg = DKIM_ALG_ED25519_SHA256;
	else if (dkim_tag_is(t, "rsa-sha1"))
		sig->alg = DKIM_ALG_RSA_SHA1;
	else
		FAIL(DKIM_R_ALGORITHM, "unsupported algorithm");

	if (sig->d == NULL || sig->s == NULL)
		FAIL(DKIM_R_INTERNAL, "out of memory");
	if (dkim_domain_check(sig->d, strlen(sig->d)) < 0)
		FAIL(DKIM_R_SYNTAX, "bad tag d=");
	if (dkim_domain_check(sig->s, strlen(sig->s)) < 0)
		FAIL(DKIM_R_SYNTAX, "bad tag s=");

	t = dkim_tag_find(list, "b");
	if (decode_b64(a, t, &sig->b, &sig->b_len) < 0)
		FAIL(DKIM_R_SYNTAX, "bad tag b=");
	/* remember the span to blank: after '=' up to the ';' or the end */
	sig->b_start = t->value_off;
	while (sig->b_start > 0 && value[sig->b_start - 1] != '=')
		sig->b_start--;
	sig->b_end = t->value_off + t->value_len;
	while (sig->b_end < len && value[sig->b_end] != ';')
		sig->b_end++;

	if (decode_b64(a, dkim_tag_find(list, "bh"), &sig->bh, &sig->bh_len) < 0)
		FAIL(DKIM_R_SYNTAX, "bad tag bh=");
	if (parse_h(sig, a, dkim_tag_find(list, "h"), arc) < 0)
		FAIL(DKIM_R_SYNTAX, "bad tag h=");
	for (i = 0; i < sig->nh; i++)
		if (str_casecmp(sig->h[i], "from") == 0)
			break;
	if (i == sig->nh && !arc)
		FAIL(DKIM_R_FROM_NOT_SIGNED, "From not signed");

	sig->hcanon = sig->bcanon = arc ? DKIM_CANON_RELAXED : DKIM_CANON_SIMPLE;
	if ((t = dkim_tag_find(list, "c")) != NULL && parse_canon(sig, t) < 0)
		FAIL(DKIM_R_CANON, "unsupported canonicalization");
	if ((t = dkim_tag_find(list, "q")) != NULL && !query_ok(t))
		FAIL(DKIM_R_QUERY, "unsupported query method");
	if ((t = dkim_tag_find(list, "l")) != NULL) {
		if (number(t, UINT64_MAX, &sig->l) < 0)
			FAIL(DKIM_R_SYNTAX, "bad tag l=");
		sig->has_l = true;
	}
	if ((t = dkim_tag_find(list, "t")) != NULL) {
		if (number(t, UINT64_MAX, &sig->t) < 0)
			FAIL(DKIM_R_SYNTAX, "bad tag t=");
		sig->has_t = true;
	}
	if ((t = dkim_tag_find(list, "x")) != NULL) {
		if (number(t, UINT64_MAX, &sig->x) < 0)
			FAIL(DKIM_R_SYNTAX, "bad tag x=");
		sig->has_x = true;
	}
	if (sig->has_t && sig->has_x && sig->x < sig->t)
		FAIL(DKIM_R_TIMESTAMPS, "x= before t=");
	if (arc)
		return 0;

	if ((t = dkim_tag_find(list, "i")) != NULL) {
		sig->i = qp_decode(a, t);
		if (sig->i == NULL)
			FAIL(DKIM_R_SYNTAX, "bad tag i=");
	} else {
		sig->i = arena_printf(a, "@%s", sig->d);
		if (sig->i == NULL)
			FAIL(DKIM_R_INTERNAL, "out of memory");
	}
	at = strrchr(sig->i, '@');
	if (at == NULL)
		FAIL(DKIM_R_SYNTAX, "bad tag i=");
	sig->i_domain = at + 1;
	if (!in_domain(sig->i_domain, sig->d))
		FAIL(DKIM_R_IDENTITY, "i= not within d=");
	return 0;
}
