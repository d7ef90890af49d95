/*
 * dkim_key - parse a DKIM key record and build its OpenSSL key
 */
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <string.h>

#include "auth/dkim_key.h"
#include "auth/dkim_tag.h"
#include "core/arena.h"
#include "core/str.h"

/* each_item - call fn on every ':'-separated item of t, trimmed of FWS */
static void each_item(const struct dkim_tag *t, void (*fn)(struct dkim_key *, const char *, size_t),
                      struct dkim_key *key)
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
		fn(key, t->value + s, e - s);
		if (colon == NULL)
			break;
		pos = end + 1;
	}
}

static bool item_is(const char *p, size_t n, const char *s)
{
	return n == strlen(s) && memcmp(p, s, n) == 0;
}

static void h_item(struct dkim_key *key, const char *p, size_t n)
{
	if (item_is(p, n, "sha256"))
		key->h_sha256 = true;
	else if (item_is(p, n, "sha1"))
		key->h_sha1 = true;
}

static void s_item(struct dkim_key *key, const char *p, size_t n)
{
	if (item_is(p, n, "*") || item_is(p, n, "email"))
		key->email = true;
}

static void t_item(struct dkim_key *key, const char *p, size_t n)
{
	if (item_is(p, n, "y"))
		key->testing = true;
	else if (item_is(p, n, "s"))
		key->strict = true;
}

int dkim_key_parse(struct dkim_key *key, struct arena *a, const char *txt, size_t len,
                   const char **why)
{
	struct dkim_tag_list *list;
	const struct dkim_tag *t;
	long n;

	memset(key, 0, sizeof(*key));
	key->email = true;
	list = arena_alloc(a, sizeof(*list));
	if (list == NULL) {
		*why = "out of memory";
		return -1;
	}
	if (dkim_tag_parse(list, txt, len, why) < 0)
		return -1;
	if ((t = dkim_tag_find(list, "v")) != NULL) {
		if (t != &list->tag[0]) {
			*why = "v= is not the first tag";
			return -1;
		}
		if (!dkim_tag_is(t, "DKIM1")) {
			*why = "v= is not DKIM1";
			return -1;
		}
	}
	key->type = DKIM_KEY_RSA;
	if ((t = dkim_tag_find(list, "k")) != NULL) {
		if (dkim_tag_is(t, "ed25519")) {
			key->type = DKIM_KEY_ED25519;
		} else if (!dkim_tag_is(t, "rsa")) {
			*why = "unknown key type k=";
			return -1;
		}
	}
	if ((t = dkim_tag_find(list, "h")) != NULL) {
		key->has_h = true;
		each_item(t, h_item, key);
	}
	if ((t = dkim_tag_find(list, "s")) != NULL) {
		key->email = false;
		each_item(t, s_item, key);
	}
	if ((t = dkim_tag_find(list, "t")) != NULL)
		each_item(t, t_item, key);
	if ((t = dkim_tag_find(list, "p")) == NULL) {
		*why = "missing tag p=";
		return -1;
	}
	key->p = arena_alloc(a, t->value_len * 3 / 4 + 4);
	if (key->p == NULL) {
		*why = "out of memory";
		return -1;
	}
	n = dkim_b64_decode(t->value, t->value_len, key->p);
	if (n < 0) {
		*why = "bad tag p=";
		return -1;
	}
	key->p_len = (size_t)n;
	key->revoked = n == 0;
	return 0;
}

static void pkey_cleanup(void *arg)
{
	EVP_PKEY_free(arg);
}

/* der_next - read one DER tag and definite length at *p (< end): the
 * contents are [*p, *p + *len) after the call; -1 when malformed */
static int der_next(const unsigned char **p, const unsigned char *end, unsigned char tag,
                    size_t *len)
{
	const unsigned char *q = *p;
	size_t n, i, lb;

	if (end - q < 2 || q[0] != tag)
		return -1;
	n = q[1];
	q += 2;
	if (n & 0x80) {
		lb = n & 0x7f;
		if (lb == 0 || lb > 3 || (size_t)(end - q) < lb)
			return -1;
		for (n = 0, i = 0; i < lb; i++)
			n = (n << 8) | q[i];
		q += lb;
	}
	if ((size_t)(end - q) < n)
		return -1;
	*p = q;
	*len = n;
	return 0;
}

/*
 * spki_rsa_inner - the RSAPublicKey inside an rsaEncryption SPKI, or NULL.
 * OpenSSL 3's d2i_PUBKEY goes through its decoder framework and costs
 * about five times more than d2i_PublicKey on the inner key (which was
 * most of a whole verification); anything unusual still takes that path.
 */
static const unsigned char *spki_rsa_inner(const unsigned char *der, size_t der_len,
                                           size_t *inner_len)
{
	static const unsigned char rsa_oid[] = { 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86,
		                                 0xf7, 0x0d, 0x01, 0x01, 0x01 };
	const unsigned char *p = der, *end = der + der_len, *alg;
	size_t n, alg_len;

	if (der_next(&p, end, 0x30, &n) < 0 || p + n != end)
		return NULL;
	if (der_next(&p, end, 0x30, &alg_len) < 0)
		return NULL;
	alg = p;
	p += alg_len;
	if (alg_len < sizeof(rsa_oid) || memcmp(alg, rsa_oid, sizeof(rsa_oid)) != 0)
		return NULL;
	if (der_next(&p, end, 0x03, &n) < 0 || p + n != end || n < 2 || p[0] != 0)
		return NULL;
	*inner_len = n - 1;
	return p + 1;
}

struct evp_pkey_st *dkim_key_pkey(const struct dkim_key *key, struct arena *a, unsigned *bits,
                                  const char **why)
{
	const unsigned char *p = key->p;
	EVP_PKEY *pk = NULL;

	if (key->p_len == 0 || key->p_len > 16384) {
		*why = "bad key size";
		return NULL;
	}
	if (key->type == DKIM_KEY_ED25519) {
		if (key->p_len != 32) {
			*why = "ed25519 key is not 32 bytes";
			return NULL;
		}
		pk = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, key->p, 32);
	} else {
		size_t inner_len = 0;
		const unsigned char *inner = spki_rsa_inner(key->p, key->p_len, &inner_len);

		if (inner != NULL) {
			p = inner;
			pk = d2i_PublicKey(EVP_PKEY_RSA, NULL, &p, (long)inner_len);
			if (pk != NULL && p != inner + inner_len) {
				EVP_PKEY_free(pk);
				pk = NULL;
			}
			p = key->p + key->p_len;
		}
		if (pk == NULL) {
			p = key->p;
			pk = d2i_PUBKEY(NULL, &p, (long)key->p_len);
		}
		if (pk == NULL || p != key->p + key->p_len) {
			/* not an SPKI: try a bare PKCS#1 RSAPublicKey */
			EVP_PKEY_free(pk);
			p = key->p;
			pk = d2i_PublicKey(EVP_PKEY_RSA, NULL, &p, (long)key->p_len);
			if (pk != NULL && p != key->p + key->p_len) {
				EVP_PKEY_free(pk);
				pk = NULL;
			}
		}
		if (pk != NULL && EVP_PKEY_get_base_id(pk) != EVP_PKEY_RSA) {
			EVP_PKEY_free(pk);
			*why = "key data is not an RSA key";
			return NULL;
		}
	}
	if (pk == NULL) {
		*why = "key data does not decode";
		return NULL;
	}
	if (arena_cleanup(a, pkey_cleanup, pk) < 0) {
		EVP_PKEY_free(pk);
		*why = "out of memory";
		return NULL;
	}
	*bits = (unsigned)EVP_PKEY_get_bits(pk);
	return pk;
}
