/* Unit tests for auth/dkim_key: key record tags and building the key. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>

#include "auth/dkim_key.h"
#include "core/arena.h"

/* RFC 8463 A.2 (1024-bit SPKI), a 512-bit SPKI, a PKCS#1 RSAPublicKey
 * (stalwart 002) and the RFC 8463 Ed25519 key */
#define RSA1024                                                                                    \
	"MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDkHlOQoBTzWRiGs5V6NpP3idY6Wk08a5qhdR6wy5bdOKb2jLQi" \
	"Y/"                                                                                       \
	"J16JYi0Qvx/byYzCNb3W91y3FutACDfzwQ/BC/e/"                                                 \
	"8uBsCR+yz1Lxj+PL6lHvqMKrM3rG4hstT5QjvHO9PzoxZyVYLz"                                       \
	"BfO2EeC3Ip3G+2kryOTIKT+l/K4w3QIDAQAB"
#define RSA512                                                                                     \
	"MFwwDQYJKoZIhvcNAQEBBQADSwAwSAJBALgSoqXVSEmfcIsOzw7oRuCCOwsmtX/SJnTWxYyj2leFxfS/"         \
	"AVJ+dYfY+"                                                                                \
	"hXqMsT7l+MZvvh/R1WzN4MO/kI/7XsCAwEAAQ=="
#define PKCS1                                                                                      \
	"MIGJAoGBALVI635dLK4cJJAH3Lx6upo3X/"                                                       \
	"Lm1tQz3mezcWTA3BUBnyIsdnRf57aD5BtNmhPrYYDlWlzw3UgnKisIxk"                                 \
	"tkk5+iMQMlFtAS10JB8L3YadXNJY+JBcbeSi5TgJe4WFzNgW95FWDAuSTRXSWZfA/"                        \
	"8xjflbTLDx0euFZOM7C4T0GwL"                                                                \
	"AgMBAAE="
#define ED25519 "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="

struct key_case {
	const char *txt;
	int rc;
	const char *why;
	enum dkim_key_type type;
	bool revoked, email, testing, strict, has_h, h_sha256;
};

static const struct key_case cases[] = {
	{ "v=DKIM1; k=rsa; p=" RSA1024, 0, NULL, DKIM_KEY_RSA, false, true, false, false, false,
	  false },
	{ "p=" RSA1024, 0, NULL, DKIM_KEY_RSA, false, true, false, false, false, false },
	{ "v=DKIM1; k=ed25519; p=" ED25519, 0, NULL, DKIM_KEY_ED25519, false, true, false, false,
	  false, false },
	{ "v=DKIM1; p=", 0, NULL, DKIM_KEY_RSA, true, true, false, false, false, false },
	{ "v=DKIM1; p= ; t=y", 0, NULL, DKIM_KEY_RSA, true, true, true, false, false, false },
	{ "k=rsa; t=y:s:x; s=email; p=" RSA512, 0, NULL, DKIM_KEY_RSA, false, true, true, true,
	  false, false },
	{ "s=*; h=sha1:sha256; p=" RSA512, 0, NULL, DKIM_KEY_RSA, false, true, false, false, true,
	  true },
	{ "s=chat; p=" RSA512, 0, NULL, DKIM_KEY_RSA, false, false, false, false, false, false },
	{ "s=chat:email; p=" RSA512, 0, NULL, DKIM_KEY_RSA, false, true, false, false, false,
	  false },
	{ "h=sha1; p=" RSA512, 0, NULL, DKIM_KEY_RSA, false, true, false, false, true, false },
	{ "h=bad; p=" RSA512, 0, NULL, DKIM_KEY_RSA, false, true, false, false, true, false },
	{ "v=DKIM1; g=*; n=notes%20here; x1 = y; p=" RSA512, 0, NULL, DKIM_KEY_RSA, false, true,
	  false, false, false, false },
	{ .txt = "v=DKIM3; p=" RSA512, .rc = -1, .why = "v= is not DKIM1" },
	{ .txt = "k=rsa; v=DKIM1; p=" RSA512, .rc = -1, .why = "v= is not the first tag" },
	{ .txt = "k=rsa; t; p=" RSA512, .rc = -1, .why = "tag without '='" },
	{ .txt = "k=foobar; p=" RSA512, .rc = -1, .why = "unknown key type k=" },
	{ .txt = "v=DKIM1; k=rsa", .rc = -1, .why = "missing tag p=" },
	{ .txt = "", .rc = -1, .why = "missing tag p=" },
	{ .txt = "p=***", .rc = -1, .why = "bad tag p=" },
	{ .txt = "p=a; p=b", .rc = -1, .why = "duplicate tag" },
};

static void test_cases(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct key_case *c = &cases[i];
		struct arena *a = arena_new();
		struct dkim_key k;
		const char *why = NULL;
		int rc = dkim_key_parse(&k, a, c->txt, strlen(c->txt), &why);

		printf("key %zu: %s -> %s\n", i, c->txt, rc < 0 ? why : "ok");
		assert_int_equal(rc, c->rc);
		if (rc < 0) {
			assert_string_equal(why, c->why);
		} else {
			assert_int_equal(k.type, c->type);
			assert_int_equal(k.revoked, c->revoked);
			assert_int_equal(k.email, c->email);
			assert_int_equal(k.testing, c->testing);
			assert_int_equal(k.strict, c->strict);
			assert_int_equal(k.has_h, c->has_h);
			assert_int_equal(k.h_sha256, c->h_sha256);
		}
		arena_free(a);
	}
}

struct pkey_case {
	const char *txt;
	bool ok;
	unsigned bits;
	int id;
};

static const struct pkey_case pkey_cases[] = {
	{ "p=" RSA1024, true, 1024, EVP_PKEY_RSA },
	{ "p=" RSA512, true, 512, EVP_PKEY_RSA },
	{ "p=" PKCS1, true, 1024, EVP_PKEY_RSA },
	{ "k=ed25519; p=" ED25519, true, 253, EVP_PKEY_ED25519 },
	/* an SPKI-wrapped Ed25519 key is not the raw 32 bytes RFC 8463 wants */
	{ "k=ed25519; p=MCowBQYDK2VwAyEA3SUqa9UbfciWkk7tlcJ9P1VD5pXAasg0JUn/OgjVbKE=", false, 0,
	  0 },
	{ "k=rsa; p=" ED25519, false, 0, 0 },
	{ "k=rsa; p=MCowBQYDK2VwAyEA3SUqa9UbfciWkk7tlcJ9P1VD5pXAasg0JUn/OgjVbKE=", false, 0, 0 },
	{ "k=ed25519; p=" RSA512, false, 0, 0 },
	{ "p=dGVzdA==", false, 0, 0 },
};

static void test_pkey(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(pkey_cases) / sizeof(pkey_cases[0]); i++) {
		const struct pkey_case *c = &pkey_cases[i];
		struct arena *a = arena_new();
		struct dkim_key k;
		const char *why = NULL;
		unsigned bits = 0;
		EVP_PKEY *pk;

		printf("pkey %zu\n", i);
		assert_int_equal(dkim_key_parse(&k, a, c->txt, strlen(c->txt), &why), 0);
		pk = dkim_key_pkey(&k, a, &bits, &why);
		if (!c->ok) {
			assert_null(pk);
			assert_non_null(why);
		} else {
			assert_non_null(pk);
			assert_int_equal(EVP_PKEY_get_base_id(pk), c->id);
			if (c->id == EVP_PKEY_RSA)
				assert_int_equal(bits, c->bits);
		}
		arena_free(a); /* frees the key too */
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cases),
		cmocka_unit_test(test_pkey),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
