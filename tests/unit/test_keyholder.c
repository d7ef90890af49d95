/*
 * Unit tests for keyholder/: the request and reply codec (a table of
 * good and malformed messages: short, long, bad lengths, unknown version
 * and type, bad names, every truncation), the key table's answers (never
 * a signature for a key it does not hold), and the remote-signer path:
 * auth/'s dkim_sign and arc_seal through keyholder_client over a real
 * socketpair to a key holder thread, whose signatures verify.
 */
#include <errno.h>
#include <event2/event.h>
#include <ftw.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "auth/arc.h"
#include "auth/dkim.h"
#include "auth/dkim_keys.h"
#include "core/arena.h"
#include "core/buf.h"
#include "core/config.h"
#include "core/dns.h"
#include "core/dns_zone.h"
#include "keyholder/keyholder.h"
#include "keyholder/keyholder_client.h"
#include "keyholder/keyholder_keys.h"
#include "keyholder/keyholder_proto.h"
#include "mime/raw.h"

static char tmpdir[] = "/tmp/test_keyholder.XXXXXX";

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int setup(void **state)
{
	(void)state;
	return mkdtemp(tmpdir) == NULL ? -1 : 0;
}

static int teardown(void **state)
{
	(void)state;
	return nftw(tmpdir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* ---- the codec ------------------------------------------------------------ */

/* a SIGN request for example.com / s1 / rsa-sha256, digest 0..31 */
static size_t good_sign(uint8_t *p)
{
	struct keyholder_req q;
	size_t i;

	memset(&q, 0, sizeof(q));
	q.type = KEYHOLDER_SIGN;
	q.id = 0x01020304;
	snprintf(q.domain, sizeof(q.domain), "example.com");
	snprintf(q.selector, sizeof(q.selector), "s1");
	q.alg = DKIM_ALG_RSA_SHA256;
	for (i = 0; i < 32; i++)
		q.digest[i] = (uint8_t)i;
	return keyholder_req_encode(&q, p, KEYHOLDER_MSG_MAX);
}

static void test_req_roundtrip(void **state)
{
	uint8_t p[KEYHOLDER_MSG_MAX];
	struct keyholder_req q, back;
	size_t n;

	(void)state;
	n = good_sign(p);
	/* 1 version, 1 type, 4 id, 1+11 domain, 1+2 selector, 1 alg, 1+32 digest */
	assert_int_equal(n, 55);
	assert_int_equal(p[0], KEYHOLDER_VERSION);
	assert_int_equal(p[1], KEYHOLDER_SIGN);
	assert_int_equal(keyholder_req_decode(p, n, &back), 0);
	assert_int_equal(back.type, KEYHOLDER_SIGN);
	assert_int_equal(back.id, 0x01020304);
	assert_string_equal(back.domain, "example.com");
	assert_string_equal(back.selector, "s1");
	assert_int_equal(back.alg, DKIM_ALG_RSA_SHA256);
	assert_int_equal(back.digest[31], 31);

	memset(&q, 0, sizeof(q));
	q.type = KEYHOLDER_INFO;
	q.id = 7;
	snprintf(q.domain, sizeof(q.domain), "a.example");
	n = keyholder_req_encode(&q, p, sizeof(p));
	assert_int_equal(n, 19);
	assert_int_equal(keyholder_req_decode(p, n, &back), 0);
	assert_int_equal(back.type, KEYHOLDER_INFO);
	assert_string_equal(back.domain, "a.example");
	assert_string_equal(back.selector, "");

	/* what cannot be encoded is not: unknown type, unknown algorithm,
	 * too small a buffer */
	q.type = (enum keyholder_type)9;
	assert_int_equal(keyholder_req_encode(&q, p, sizeof(p)), 0);
	n = good_sign(p);
	assert_int_equal(keyholder_req_decode(p, n, &q), 0);
	q.alg = DKIM_ALG_RSA_SHA1;
	assert_int_equal(keyholder_req_decode(p, n, &back), 0);
	assert_int_equal(keyholder_req_encode(&q, p, sizeof(p)), 55); /* encodes alg 0 */
	assert_int_equal(keyholder_req_decode(p, 55, &back), -1);     /* ... refused */
	n = good_sign(p);
	assert_int_equal(keyholder_req_decode(p, n, &q), 0);
	assert_int_equal(keyholder_req_encode(&q, p, 54), 0);
}

/* one malformed request: the good SIGN request with byte off set to v
 * (off < 0: none), cut to len (0: as is) or extended by extra bytes */
struct bad_req {
	const char *name;
	int off;
	uint8_t v;
	size_t len;
	size_t extra;
};

static void test_req_malformed(void **state)
{
	/* offsets: 0 version, 1 type, 2..5 id, 6 domain length, 7..17 domain,
	 * 18 selector length, 19..20 selector, 21 alg, 22 digest length, 23.. digest */
	static const struct bad_req cases[] = {
		{ "version 0", 0, 0, 0, 0 },
		{ "version 2", 0, 2, 0, 0 },
		{ "type 0", 1, 0, 0, 0 },
		{ "type 3", 1, 3, 0, 0 },
		{ "type 255", 1, 255, 0, 0 },
		{ "domain length 0", 6, 0, 0, 0 },
		{ "domain length 12 (eats the selector length)", 6, 12, 0, 0 },
		{ "domain length 200 (past the end)", 6, 200, 0, 0 },
		{ "domain length 255 (over the cap)", 6, 255, 0, 0 },
		{ "domain with a space", 10, ' ', 0, 0 },
		{ "domain with a NUL", 10, 0, 0, 0 },
		{ "domain with a dot at the end", 17, '.', 0, 0 },
		{ "selector length 0", 18, 0, 0, 0 },
		{ "selector length 64", 18, 64, 0, 0 },
		{ "selector with a slash", 19, '/', 0, 0 },
		{ "algorithm 0", 21, 0, 0, 0 },
		{ "algorithm 3", 21, 3, 0, 0 },
		{ "digest length 31", 22, 31, 0, 0 },
		{ "digest length 33", 22, 33, 0, 0 },
		{ "digest length 0", 22, 0, 0, 0 },
		{ "one byte left over", -1, 0, 0, 1 },
		{ "a whole second message after it", -1, 0, 0, 55 },
		{ "longer than any message", -1, 0, 0, KEYHOLDER_MSG_MAX },
		{ "empty", -1, 0, 0, 0 },
	};
	uint8_t p[2 * KEYHOLDER_MSG_MAX + 64];
	struct keyholder_req q;
	size_t i, n, len;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(p, 'a', sizeof(p));
		n = good_sign(p);
		if (cases[i].off >= 0)
			p[cases[i].off] = cases[i].v;
		len = n + cases[i].extra;
		if (strcmp(cases[i].name, "empty") == 0)
			len = 0;
		if (keyholder_req_decode(p, len, &q) != -1)
			fail_msg("accepted: %s", cases[i].name);
	}
	/* every truncation of a good SIGN and INFO request */
	n = good_sign(p);
	for (len = 0; len < n; len++)
		if (keyholder_req_decode(p, len, &q) != -1)
			fail_msg("accepted a SIGN request cut to %zu of %zu bytes", len, n);
	memset(&q, 0, sizeof(q));
	q.type = KEYHOLDER_INFO;
	snprintf(q.domain, sizeof(q.domain), "example.com");
	n = keyholder_req_encode(&q, p, sizeof(p));
	assert_int_equal(keyholder_req_decode(p, n, &q), 0);
	for (len = 0; len < n; len++)
		if (keyholder_req_decode(p, len, &q) != -1)
			fail_msg("accepted an INFO request cut to %zu of %zu bytes", len, n);
	/* INFO with a selector, an algorithm or a digest length */
	p[n - 3] = 1;
	assert_int_equal(keyholder_req_decode(p, n, &q), -1);
	p[n - 3] = 0;
	p[n - 2] = 1;
	assert_int_equal(keyholder_req_decode(p, n, &q), -1);
	p[n - 2] = 0;
	p[n - 1] = 32;
	assert_int_equal(keyholder_req_decode(p, n, &q), -1);
}

static void test_reply_codec(void **state)
{
	uint8_t p[KEYHOLDER_MSG_MAX];
	struct keyholder_reply r, back;
	size_t n, len;

	(void)state;
	memset(&r, 0, sizeof(r));
	r.type = KEYHOLDER_SIGN;
	r.id = 99;
	r.status = KEYHOLDER_OK;
	r.sig_len = 256;
	memset(r.sig, 0xab, r.sig_len);
	n = keyholder_reply_encode(&r, p, sizeof(p));
	assert_int_equal(n, 7 + 2 + 256);
	assert_int_equal(keyholder_reply_decode(p, n, &back), 0);
	assert_int_equal(back.id, 99);
	assert_int_equal(back.sig_len, 256);
	assert_int_equal(back.sig[255], 0xab);
	for (len = 0; len < n; len++)
		assert_int_equal(keyholder_reply_decode(p, len, &back), -1);
	assert_int_equal(keyholder_reply_decode(p, n + 1, &back), -1);
	p[7] = 0xff; /* signature length 65535+ */
	assert_int_equal(keyholder_reply_decode(p, n, &back), -1);
	p[7] = 0;
	p[8] = 0; /* signature length 0 */
	assert_int_equal(keyholder_reply_decode(p, 9, &back), -1);
	/* a refusal is the header alone */
	r.status = KEYHOLDER_NOKEY;
	n = keyholder_reply_encode(&r, p, sizeof(p));
	assert_int_equal(n, 7);
	assert_int_equal(keyholder_reply_decode(p, n, &back), 0);
	assert_int_equal(back.status, KEYHOLDER_NOKEY);
	p[6] = 9; /* unknown status */
	assert_int_equal(keyholder_reply_decode(p, n, &back), -1);

	memset(&r, 0, sizeof(r));
	r.type = KEYHOLDER_INFO;
	r.status = KEYHOLDER_OK;
	snprintf(r.active, sizeof(r.active), "sel1");
	r.nkeys = 2;
	snprintf(r.keys[0].selector, sizeof(r.keys[0].selector), "sel1");
	r.keys[0].alg = DKIM_ALG_RSA_SHA256;
	r.keys[0].bits = 2048;
	snprintf(r.keys[1].selector, sizeof(r.keys[1].selector), "sel1-ed25519");
	r.keys[1].alg = DKIM_ALG_ED25519_SHA256;
	r.keys[1].bits = 256;
	n = keyholder_reply_encode(&r, p, sizeof(p));
	assert_true(n > 0);
	assert_int_equal(keyholder_reply_decode(p, n, &back), 0);
	assert_string_equal(back.active, "sel1");
	assert_int_equal(back.nkeys, 2);
	assert_string_equal(back.keys[1].selector, "sel1-ed25519");
	assert_int_equal(back.keys[0].bits, 2048);
	for (len = 0; len < n; len++)
		assert_int_equal(keyholder_reply_decode(p, len, &back), -1);
	p[12] = 3; /* three keys */
	assert_int_equal(keyholder_reply_decode(p, n, &back), -1);
	p[12] = 0;
	assert_int_equal(keyholder_reply_decode(p, n, &back), -1);
	r.nkeys = 3;
	assert_int_equal(keyholder_reply_encode(&r, p, sizeof(p)), 0);
}

/* ---- the key table --------------------------------------------------------- */

static struct smexop_config *config_dual(const char *sub)
{
	struct config_diag diag;
	struct smexop_config *cfg;
	char yaml[1024];

	snprintf(yaml, sizeof(yaml),
	         "dkim:\n  signing:\n    - domain: Example.COM\n      key_dir: %s/%s\n"
	         "      algorithm: dual\n      rsa_bits: 1024\n"
	         "    - domain: nokeys.example\n      key_dir: %s/%s\n",
	         tmpdir, sub, tmpdir, sub);
	cfg = config_load_mem("t.yaml", yaml, strlen(yaml), &diag);
	if (cfg == NULL)
		fail_msg("%s", diag.n > 0 ? diag.errors[0].msg : "?");
	return cfg;
}

static void ask(const struct keyholder_keys *k, enum keyholder_type type, const char *domain,
                const char *sel, enum dkim_alg alg, struct keyholder_reply *r)
{
	struct keyholder_req q;

	memset(&q, 0, sizeof(q));
	q.type = type;
	q.id = 5;
	snprintf(q.domain, sizeof(q.domain), "%s", domain);
	snprintf(q.selector, sizeof(q.selector), "%s", sel);
	q.alg = alg;
	keyholder_keys_answer(k, &q, r);
	assert_int_equal(r->id, 5);
}

static void test_keys_answer(void **state)
{
	struct smexop_config *cfg = config_dual("table");
	struct arena *a = arena_new();
	struct keyholder_keys *k;
	struct keyholder_reply r;
	struct sx_err err = { 0 };
	size_t made, failed;

	(void)state;
	assert_int_equal(dkim_keys_init(&cfg->dkim.signing.v[0], a, &made, &err), 0);
	assert_int_equal(made, 4);
	k = keyholder_keys_load(cfg, &failed);
	assert_non_null(k);
	assert_int_equal(keyholder_keys_count(k), 4); /* active and next, RSA and Ed25519 */
	assert_int_equal(failed, 2);                  /* nokeys.example: two selectors */

	ask(k, KEYHOLDER_INFO, "EXAMPLE.com", "", 0, &r);
	assert_int_equal(r.status, KEYHOLDER_OK);
	assert_string_equal(r.active, "selector1");
	assert_int_equal(r.nkeys, 2);
	assert_string_equal(r.keys[0].selector, "selector1");
	assert_int_equal(r.keys[0].alg, DKIM_ALG_RSA_SHA256);
	assert_int_equal(r.keys[0].bits, 1024);
	assert_string_equal(r.keys[1].selector, "selector1-ed25519");
	ask(k, KEYHOLDER_INFO, "example.org", "", 0, &r);
	assert_int_equal(r.status, KEYHOLDER_NOKEY);
	ask(k, KEYHOLDER_INFO, "nokeys.example", "", 0, &r);
	assert_int_equal(r.status, KEYHOLDER_NOTREADY);

	ask(k, KEYHOLDER_SIGN, "example.com", "selector1", DKIM_ALG_RSA_SHA256, &r);
	assert_int_equal(r.status, KEYHOLDER_OK);
	assert_int_equal(r.sig_len, 128);
	ask(k, KEYHOLDER_SIGN, "example.com", "selector1-ed25519", DKIM_ALG_ED25519_SHA256, &r);
	assert_int_equal(r.status, KEYHOLDER_OK);
	assert_int_equal(r.sig_len, 64);
	/* the next keys are held but sign nothing (not published yet) */
	ask(k, KEYHOLDER_SIGN, "example.com", "selector2", DKIM_ALG_RSA_SHA256, &r);
	assert_int_equal(r.status, KEYHOLDER_NOKEY);
	ask(k, KEYHOLDER_SIGN, "example.com", "selector2-ed25519", DKIM_ALG_ED25519_SHA256, &r);
	assert_int_equal(r.status, KEYHOLDER_NOKEY);
	/* never a key it does not hold: wrong algorithm, selector, domain */
	ask(k, KEYHOLDER_SIGN, "example.com", "selector1", DKIM_ALG_ED25519_SHA256, &r);
	assert_int_equal(r.status, KEYHOLDER_NOKEY);
	ask(k, KEYHOLDER_SIGN, "example.com", "selector3", DKIM_ALG_RSA_SHA256, &r);
	assert_int_equal(r.status, KEYHOLDER_NOKEY);
	ask(k, KEYHOLDER_SIGN, "sub.example.com", "selector1", DKIM_ALG_RSA_SHA256, &r);
	assert_int_equal(r.status, KEYHOLDER_NOKEY);
	ask(k, KEYHOLDER_SIGN, "nokeys.example", "selector1", DKIM_ALG_RSA_SHA256, &r);
	assert_int_equal(r.status, KEYHOLDER_NOKEY);
	keyholder_keys_answer(NULL, &(struct keyholder_req){ .type = KEYHOLDER_INFO }, &r);
	assert_int_equal(r.status, KEYHOLDER_NOKEY);

	/* a rotation changes the stamp */
	{
		uint64_t before = keyholder_keys_stamp(cfg);
		struct dkim_keys_state st;

		assert_int_equal(keyholder_keys_stamp(cfg), before);
		assert_int_equal(dkim_keys_rotate(&cfg->dkim.signing.v[0], a, 5, &st, &err), 0);
		assert_true(keyholder_keys_stamp(cfg) != before);
	}
	keyholder_keys_free(k);
	arena_free(a);
	config_free(cfg);
}

/* ---- the remote signer over a socketpair ----------------------------------- */

struct holder {
	const struct keyholder_keys *keys;
	int fd;
	int last; /* keyholder_serve_one's last result */
	unsigned answered;
};

static void *holder_run(void *arg)
{
	struct holder *h = arg;

	while ((h->last = keyholder_serve_one(h->keys, h->fd)) > 0)
		h->answered++;
	return NULL;
}

struct verify_ctx {
	struct event_base *base;
	struct dkim_verify *v;
	enum arc_result arc;
	bool done;
};

static void verify_done(struct dkim_verify *v, void *arg)
{
	struct verify_ctx *c = arg;

	c->v = v;
	c->done = true;
	event_base_loopbreak(c->base);
}

/* verify_pass - passing DKIM signatures of text against zone z */
static size_t verify_pass(struct dns_zone *z, struct arena *a, const char *text, size_t len)
{
	struct event_base *base = event_base_new();
	struct dns *dns = dns_new_zone(base, z);
	struct dkim_verify_options o;
	const struct dkim_sig_result *res;
	struct verify_ctx vc = { 0 };
	struct sx_err err = { 0 };
	struct raw_message m;
	size_t i, n, pass = 0;

	assert_int_equal(raw_message_parse(&m, a, text, len, NULL, &err), 0);
	dkim_verify_options_init(&o, (int64_t)time(NULL));
	vc.base = base;
	assert_non_null(dkim_verify_start(dns, base, a, &m, &o, verify_done, &vc));
	while (!vc.done)
		assert_true(event_base_dispatch(base) >= 0);
	n = dkim_verify_results(vc.v, &res);
	for (i = 0; i < n; i++)
		if (res[i].result == DKIM_PASS)
			pass++;
	dns_free(dns);
	event_base_free(base);
	return pass;
}

static void arc_done(struct arc_verify *v, void *arg)
{
	struct verify_ctx *c = arg;

	c->done = true;
	c->arc = arc_verify_verdict(v)->result;
	event_base_loopbreak(c->base);
}

/* arc_check - the ARC chain result of text against zone z */
static enum arc_result arc_check(struct dns_zone *z, struct arena *a, const char *text)
{
	struct event_base *base = event_base_new();
	struct dns *dns = dns_new_zone(base, z);
	struct verify_ctx vc = { 0 };
	struct sx_err err = { 0 };
	struct raw_message m;

	assert_int_equal(raw_message_parse(&m, a, text, strlen(text), NULL, &err), 0);
	vc.base = base;
	assert_non_null(arc_verify_start(dns, base, a, &m, NULL, arc_done, &vc));
	while (!vc.done)
		assert_true(event_base_dispatch(base) >= 0);
	dns_free(dns);
	event_base_free(base);
	return vc.arc;
}

static void test_remote_sign(void **state)
{
	static const char msg[] = "From: a@example.com\r\nTo: b@example.net\r\nSubject: hi\r\n"
	                          "Date: Mon, 1 Jan 2024 00:00:00 +0000\r\n\r\nhello\r\n";
	struct smexop_config *cfg = config_dual("remote");
	const struct config_dkim_signing *c = &cfg->dkim.signing.v[0];
	struct arena *a = arena_new();
	struct keyholder_keys *k;
	struct keyholder_client kc;
	struct holder h;
	struct dkim_signing sg;
	struct dkim_keys_slot s[DKIM_KEYS_MAX_SLOTS];
	struct sx_err err = { 0 };
	struct raw_message m;
	struct dns_zone *z = dns_zone_new();
	struct buf out;
	pthread_t th;
	int sp[2];
	size_t made, i, n;

	(void)state;
	assert_int_equal(dkim_keys_init(c, a, &made, &err), 0);
	k = keyholder_keys_load(cfg, NULL);
	assert_non_null(k);
	n = dkim_keys_slots(c, "selector1", a, s);
	for (i = 0; i < n; i++) {
		assert_int_equal(dkim_keys_load(&s[i], a, &err), 0);
		assert_int_equal(dns_zone_add_txt(z, s[i].dns_name, &s[i].record, 1), 0);
	}
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sp), 0);
	h = (struct holder){ k, sp[1], 0, 0 };
	assert_int_equal(pthread_create(&th, NULL, holder_run, &h), 0);
	keyholder_client_init(&kc, 2000);

	/* down: no descriptor */
	assert_int_equal(
	    dkim_signing_remote(cfg, "example.com", keyholder_client_remote(&kc), a, &sg, &err),
	    -1);
	assert_non_null(strstr(err.msg, "not running"));
	keyholder_client_set_fd(&kc, sp[0]);
	/* not configured: nothing asked */
	assert_int_equal(
	    dkim_signing_remote(cfg, "example.org", keyholder_client_remote(&kc), a, &sg, &err), 0);
	/* configured, keys unreadable: notready */
	assert_int_equal(
	    dkim_signing_remote(cfg, "nokeys.example", keyholder_client_remote(&kc), a, &sg, &err),
	    -1);
	assert_non_null(strstr(err.msg, "notready"));

	assert_int_equal(
	    dkim_signing_remote(cfg, "Example.com", keyholder_client_remote(&kc), a, &sg, &err), 1);
	assert_int_equal(sg.nsigners, 2);
	assert_null(sg.signers[0].pkey);
	assert_string_equal(sg.selector, "selector1");
	assert_string_equal(sg.signers[1].selector, "selector1-ed25519");
	assert_int_equal(dkim_signer_sig_max(&sg.signers[0]), 128);
	assert_int_equal(dkim_signer_sig_max(&sg.signers[1]), 64);
	assert_int_equal(raw_message_parse(&m, a, msg, sizeof(msg) - 1, NULL, &err), 0);
	sg.opts.timestamp = (int64_t)time(NULL);
	buf_init(&out, 1 << 20);
	assert_int_equal(dkim_sign(a, &m, sg.signers, sg.nsigners, &sg.opts, &out, &err), 0);
	assert_int_equal(buf_append(&out, msg, sizeof(msg) - 1), 0);
	assert_int_equal(verify_pass(z, a, out.data, out.len), 2);

	/* ARC sealing reuses dkim_sign_digest: the seal of a remote signer */
	{
		struct arc_seal_options ao;
		struct arc_sealed sealed;

		memset(&ao, 0, sizeof(ao));
		ao.authserv_id = "mx.example.com";
		ao.cv = ARC_NONE;
		ao.timestamp = (int64_t)time(NULL);
		assert_int_equal(raw_message_parse(&m, a, out.data, out.len, NULL, &err), 0);
		assert_int_equal(arc_seal(a, &m, &sg.signers[0], &ao, &sealed, &err), 0);
		assert_non_null(strstr(sealed.as, "s=selector1"));
		/* ... and the sealed message validates: cv=pass for instance 1 */
		{
			char *text = arena_printf(a, "%s%s%s%.*s", sealed.as, sealed.ams,
			                          sealed.aar, (int)out.len, out.data);

			assert_non_null(text);
			assert_int_equal(arc_check(z, a, text), ARC_PASS);
			/* a changed body breaks it: the check can fail */
			text[strlen(text) - 3] = 'X';
			assert_int_equal(arc_check(z, a, text), ARC_FAIL);
		}
	}

	/* a signer for a key the holder does not have fails, whatever it claims */
	{
		struct dkim_signer bogus;

		assert_int_equal(dkim_signer_remote(&bogus, keyholder_client_remote(&kc),
		                                    DKIM_ALG_RSA_SHA256, 2048, "example.com",
		                                    "selector9", &err),
		                 0);
		out.len = 0;
		assert_int_equal(dkim_sign(a, &m, &bogus, 1, &sg.opts, &out, &err), -1);
		assert_non_null(strstr(err.msg, "signing failed"));
		/* and a claimed size that is smaller than the real signature */
		assert_int_equal(dkim_signer_remote(&bogus, keyholder_client_remote(&kc),
		                                    DKIM_ALG_RSA_SHA256, 1024, "example.com",
		                                    "selector1", &err),
		                 0);
		bogus.bits = 512;
		out.len = 0;
		assert_int_equal(dkim_sign(a, &m, &bogus, 1, &sg.opts, &out, &err), -1);
		assert_int_equal(dkim_signer_remote(&bogus, keyholder_client_remote(&kc),
		                                    DKIM_ALG_RSA_SHA256, 512, "example.com",
		                                    "selector1", &err),
		                 -1);
	}

	/* a stale reply (another id) is skipped; the right one is used */
	{
		struct keyholder_reply stale = { .type = KEYHOLDER_INFO,
			                         .id = 424242,
			                         .status = KEYHOLDER_NOKEY };
		uint8_t p[64];
		size_t len = keyholder_reply_encode(&stale, p, sizeof(p));

		assert_int_equal(send(sp[1], p, len, 0), (ssize_t)len);
		assert_int_equal(dkim_signing_remote(cfg, "example.com",
		                                     keyholder_client_remote(&kc), a, &sg, &err),
		                 1);
	}

	/* a malformed request ends the holder's loop (the process would exit) */
	{
		uint8_t junk[3] = { 1, 1, 0 };
		assert_int_equal(send(sp[0], junk, sizeof(junk), 0), 3);
		pthread_join(th, NULL);
		assert_int_equal(h.last, -1);
		assert_true(h.answered >= 8);
	}
	/* nobody answers: the call times out */
	{
		struct timespec t0, t1;
		long ms;

		kc.timeout_ms = 150;
		clock_gettime(CLOCK_MONOTONIC, &t0);
		assert_int_equal(dkim_signing_remote(cfg, "example.com",
		                                     keyholder_client_remote(&kc), a, &sg, &err),
		                 -1);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
		assert_non_null(strstr(err.msg, "no answer"));
		assert_true(ms >= 140 && ms < 1000);
	}
	/* the holder's end closed: an error at once */
	close(sp[1]);
	assert_int_equal(
	    dkim_signing_remote(cfg, "example.com", keyholder_client_remote(&kc), a, &sg, &err),
	    -1);
	close(sp[0]);
	buf_free(&out);
	dns_zone_free(z);
	keyholder_keys_free(k);
	arena_free(a);
	config_free(cfg);
}

/* keyholder_serve_one on its own: a datagram longer than any message is
 * refused by its real length (MSG_TRUNC), a good one answered, end of file
 * reported */
static void test_serve_one(void **state)
{
	uint8_t big[3 * KEYHOLDER_MSG_MAX], p[KEYHOLDER_MSG_MAX];
	struct keyholder_req q;
	struct keyholder_reply r;
	int sp[2];
	size_t n;

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sp), 0);
	memset(&q, 0, sizeof(q));
	q.type = KEYHOLDER_INFO;
	q.id = 77;
	snprintf(q.domain, sizeof(q.domain), "example.com");
	n = keyholder_req_encode(&q, p, sizeof(p));
	/* a good request with a tail past the buffer: still malformed */
	memset(big, 0, sizeof(big));
	memcpy(big, p, n);
	assert_int_equal(send(sp[0], big, sizeof(big), 0), (ssize_t)sizeof(big));
	assert_int_equal(keyholder_serve_one(NULL, sp[1]), -1);
	assert_int_equal(send(sp[0], p, n, 0), (ssize_t)n);
	assert_int_equal(keyholder_serve_one(NULL, sp[1]), 1);
	n = (size_t)recv(sp[0], p, sizeof(p), 0);
	assert_int_equal(keyholder_reply_decode(p, n, &r), 0);
	assert_int_equal(r.id, 77);
	assert_int_equal(r.status, KEYHOLDER_NOKEY);
	close(sp[0]);
	assert_int_equal(keyholder_serve_one(NULL, sp[1]), 0);
	close(sp[1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_req_roundtrip), cmocka_unit_test(test_req_malformed),
		cmocka_unit_test(test_reply_codec),   cmocka_unit_test(test_keys_answer),
		cmocka_unit_test(test_serve_one),     cmocka_unit_test(test_remote_sign),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
