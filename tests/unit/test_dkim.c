/* Unit tests for auth/dkim and auth/dkim_sign: sign -> verify round trips
 * for both algorithms and every canonicalisation, tampering, and every
 * result reason the verifier can give; the async driver on a zone. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <event2/event.h>
#include <openssl/evp.h>

#include "auth/dkim.h"
#include "auth/dkim_sign.h"
#include "core/arena.h"
#include "core/buf.h"
#include "core/dns_zone.h"
#include "mime/raw.h"

#define NOW 1700000000

#define RSA512                                                                                     \
	"MFwwDQYJKoZIhvcNAQEBBQADSwAwSAJBALgSoqXVSEmfcIsOzw7oRuCCOwsmtX/SJnTWxYyj2leFxfS/"         \
	"AVJ+dYfY+"                                                                                \
	"hXqMsT7l+MZvvh/R1WzN4MO/kI/7XsCAwEAAQ=="

static const char msg_crlf[] = "From: Joe <joe@example.com>\r\n"
                               "To: Suzie <suzie@example.net>\r\n"
                               "Subject: Is dinner\r\n  ready?\r\n"
                               "Date: Fri, 11 Jul 2003 21:00:37 -0700\r\n"
                               "Message-ID: <1@example.com>\r\n"
                               "X-Unsigned: yes\r\n"
                               "\r\n"
                               "Hi.\r\n"
                               "\r\n"
                               "We lost the game.  Are you hungry yet?  \r\n"
                               "\r\n"
                               "Joe.\r\n\r\n\r\n";

static const char msg_lf[] = "From: joe@example.com\n"
                             "Subject: lf\n"
                             "\n"
                             "body\n\twith tab\n";

static const char msg_nobody[] = "From: joe@example.com\r\nSubject: no body\r\n";

static const char msg_noeol[] = "From: joe@example.com\r\n\r\nno final line break";

/* keys shared by all tests */
static struct arena *keys;
static struct dkim_signer rsa, ed, rsa2;
static const char *rsa_txt, *ed_txt, *rsa2_txt;

/* ---- a tiny DNS: name -> TXT or status -------------------------------- */

struct entry {
	const char *name;
	const char *txt;
	enum dns_status status;
};

static struct entry zone[32];
static size_t nzone;
static size_t asked;

static void zone_reset(void)
{
	nzone = 0;
	asked = 0;
	zone[nzone++] = (struct entry){ "rsa._domainkey.example.com", rsa_txt, DNS_OK };
	zone[nzone++] = (struct entry){ "ed._domainkey.example.com", ed_txt, DNS_OK };
	zone[nzone++] = (struct entry){ "rsa2._domainkey.example.com", rsa2_txt, DNS_OK };
}

static void zone_set(const char *name, const char *txt, enum dns_status st)
{
	size_t i;

	for (i = 0; i < nzone; i++)
		if (strcmp(zone[i].name, name) == 0)
			break;
	if (i == nzone)
		nzone++;
	zone[i] = (struct entry){ name, txt, st };
}

static void answer(struct dkim_verify *v, const char *name)
{
	struct dns_answer ans = { 0 };
	struct dns_rr rr = { 0 };
	size_t i, len;

	asked++;
	ans.qname = name;
	ans.qtype = DNS_T_TXT;
	ans.status = DNS_NXDOMAIN;
	for (i = 0; i < nzone; i++) {
		if (strcmp(zone[i].name, name) != 0)
			continue;
		ans.status = zone[i].status;
		if (zone[i].status == DNS_OK) {
			len = strlen(zone[i].txt);
			rr.type = DNS_T_TXT;
			rr.u.txt.data = (char *)zone[i].txt;
			rr.u.txt.len = len;
			rr.u.txt.nstrings = 1;
			rr.u.txt.string_len = &len;
			ans.count = 1;
			ans.rr = &rr;
		}
	}
	assert_int_equal(dkim_verify_answer(v, name, &ans), 0);
}

/* verify - run the step engine over msg; results in *res */
static size_t verify_opts(struct arena *a, const char *msg, const struct dkim_verify_options *o,
                          const struct dkim_sig_result **res)
{
	struct raw_message *m = arena_alloc(a, sizeof(*m));
	struct dkim_query *const *q;
	struct dkim_verify *v;
	size_t i, n;

	assert_non_null(m);
	assert_int_equal(raw_message_parse(m, a, msg, strlen(msg), NULL, NULL), 0);
	v = dkim_verify_new(a, m, o);
	assert_non_null(v);
	n = dkim_verify_queries(v, &q);
	if (n > 0)
		assert_int_equal(dkim_verify_step(v), DKIM_STEP_NEED_DNS);
	for (i = 0; i < n; i++)
		answer(v, q[i]->name);
	assert_int_equal(dkim_verify_step(v), DKIM_STEP_DONE);
	return dkim_verify_results(v, res);
}

static size_t verify(struct arena *a, const char *msg, int64_t now,
                     const struct dkim_sig_result **res)
{
	struct dkim_verify_options o;

	dkim_verify_options_init(&o, now);
	return verify_opts(a, msg, &o, res);
}

/* sign - the message with the new fields on top (arena string) */
static char *sign(struct arena *a, const char *msg, const struct dkim_signer *s, size_t n,
                  const struct dkim_sign_options *o)
{
	struct raw_message m;
	struct buf out;
	struct sx_err err = { 0 };
	char *r;

	assert_int_equal(raw_message_parse(&m, a, msg, strlen(msg), NULL, NULL), 0);
	buf_init(&out, 1 << 20);
	if (dkim_sign(a, &m, s, n, o, &out, &err) < 0)
		fail_msg("sign: %s", err.msg);
	assert_int_equal(buf_puts(&out, msg), 0);
	r = arena_strdup(a, out.data);
	buf_free(&out);
	return r;
}

static char *sign1(struct arena *a, const char *msg, const struct dkim_signer *s)
{
	struct dkim_sign_options o;

	dkim_sign_options_init(&o);
	o.timestamp = NOW;
	return sign(a, msg, s, 1, &o);
}

/* replace - msg with the first "from" replaced by "to" (arena string) */
static char *replace(struct arena *a, const char *msg, const char *from, const char *to)
{
	const char *p = strstr(msg, from);

	if (p == NULL)
		fail_msg("'%s' not in the message", from);
	return arena_printf(a, "%.*s%s%s", (int)(p - msg), msg, to, p + strlen(from));
}

static void expect(const struct dkim_sig_result *r, enum dkim_result res, enum dkim_reason why)
{
	if (r->result != res || r->reason != why)
		fail_msg("got %s (%s), want %s (%s)", dkim_result_name(r->result), r->why,
		         dkim_result_name(res), dkim_reason_text(why));
}

static struct dkim_signer make_signer(const char *type, unsigned bits, const char *sel,
                                      const char **txt)
{
	struct dkim_signer s;
	struct sx_err err = { 0 };
	EVP_PKEY *pk = dkim_keygen(keys, type, bits, &err);
	char *pem;

	assert_non_null(pk);
	pem = dkim_key_pem(keys, pk);
	assert_non_null(pem);
	assert_int_equal(dkim_signer_from_pem(&s, keys, pem, strlen(pem), "example.com", sel, &err),
	                 0);
	*txt = dkim_dns_record(keys, pk);
	assert_non_null(*txt);
	return s;
}

static int setup(void **state)
{
	(void)state;
	keys = arena_new();
	rsa = make_signer("rsa", 1024, "rsa", &rsa_txt);
	ed = make_signer("ed25519", 0, "ed", &ed_txt);
	rsa2 = make_signer("rsa", 2048, "rsa2", &rsa2_txt);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	keys = arena_free(keys);
	return 0;
}

/* ---- tests ------------------------------------------------------------ */

static void test_round_trips(void **state)
{
	static const char *const msgs[] = { msg_crlf, msg_lf, msg_nobody, msg_noeol };
	static const enum dkim_canon canons[] = { DKIM_CANON_SIMPLE, DKIM_CANON_RELAXED };
	const struct dkim_signer *signers[] = { &rsa, &ed, &rsa2 };
	size_t m, s, h, b, n;

	(void)state;
	zone_reset();
	for (m = 0; m < 4; m++)
		for (s = 0; s < 3; s++)
			for (h = 0; h < 2; h++)
				for (b = 0; b < 2; b++) {
					struct arena *a = arena_new();
					struct dkim_sign_options o;
					const struct dkim_sig_result *r;
					char *signed_msg;

					dkim_sign_options_init(&o);
					o.timestamp = NOW;
					o.hcanon = canons[h];
					o.bcanon = canons[b];
					signed_msg = sign(a, msgs[m], signers[s], 1, &o);
					n = verify(a, signed_msg, NOW, &r);
					assert_int_equal(n, 1);
					if (r[0].result != DKIM_PASS)
						fail_msg(
						    "msg %zu signer %zu c=%zu/%zu: %s (%s)\n%s", m,
						    s, h, b, dkim_result_name(r[0].result),
						    r[0].why, signed_msg);
					assert_string_equal(r[0].d, "example.com");
					assert_string_equal(r[0].a, s == 1 ? "ed25519-sha256"
					                                   : "rsa-sha256");
					arena_free(a);
				}
}

static void test_field_format(void **state)
{
	struct arena *a = arena_new();
	struct dkim_sign_options o;
	static const char prefix[] = "DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; "
	                             "d=example.com;";
	char *out, *line, *eol, *end;
	size_t n = 0;

	(void)state;
	dkim_sign_options_init(&o);
	o.timestamp = NOW;
	o.expire = 3600;
	out = sign(a, msg_crlf, &rsa2, 1, &o);
	assert_true(strncmp(out, prefix, strlen(prefix)) == 0);
	assert_non_null(strstr(out, "t=1700000000;"));
	assert_non_null(strstr(out, "x=1700003600;"));
	/* folded at 78 columns, b= last */
	end = strstr(out, "\r\nFrom:");
	assert_non_null(end);
	for (line = out; line < end; line = eol + 2) {
		eol = strstr(line, "\r\n");
		assert_true(eol - line <= 78);
		n++;
	}
	assert_true(n > 3);
	assert_non_null(strstr(out, "bh="));
	assert_true(strstr(out, " b=") > strstr(out, "bh="));
	/* LF message: LF line breaks in the new field too */
	out = sign1(a, msg_lf, &ed);
	assert_null(strchr(out, '\r'));
	arena_free(a);
}

static void test_tamper(void **state)
{
	struct arena *a = arena_new();
	const struct dkim_sig_result *r;
	const char *ok;
	size_t s;
	const struct dkim_signer *signers[] = { &rsa, &ed };

	(void)state;
	zone_reset();
	for (s = 0; s < 2; s++) {
		ok = sign1(a, msg_crlf, signers[s]);
		verify(a, replace(a, ok, "Subject: Is dinner", "Subject: Is Dinner"), NOW, &r);
		expect(&r[0], DKIM_FAIL, DKIM_R_SIGNATURE);
		verify(a, replace(a, ok, "lost the game", "won the game"), NOW, &r);
		expect(&r[0], DKIM_FAIL, DKIM_R_BODY_HASH);
		/* relaxed: white space changes do not matter */
		verify(a, replace(a, ok, "game.  Are", "game. \tAre"), NOW, &r);
		expect(&r[0], DKIM_PASS, DKIM_R_OK);
		verify(a, replace(a, ok, "Subject: Is dinner", "subject:   Is   dinner"), NOW, &r);
		expect(&r[0], DKIM_PASS, DKIM_R_OK);
		/* over-signing: a second From, or a Cc that was not there */
		verify(a, replace(a, ok, "From: Joe", "From: evil@example.org\r\nFrom: Joe"), NOW,
		       &r);
		expect(&r[0], DKIM_FAIL, DKIM_R_SIGNATURE);
		verify(a, replace(a, ok, "X-Unsigned", "Cc: x@example.org\r\nX-Unsigned"), NOW, &r);
		expect(&r[0], DKIM_FAIL, DKIM_R_SIGNATURE);
		/* unsigned fields may change */
		verify(a, replace(a, ok, "X-Unsigned: yes", "X-Unsigned: no"), NOW, &r);
		expect(&r[0], DKIM_PASS, DKIM_R_OK);
		verify(a, replace(a, ok, "X-Unsigned", "Received: x\r\nX-Unsigned"), NOW, &r);
		expect(&r[0], DKIM_PASS, DKIM_R_OK);
		/* the signature field itself */
		verify(a, replace(a, ok, "d=example.com;", "d=example.com; foo=bar;"), NOW, &r);
		expect(&r[0], DKIM_FAIL, DKIM_R_SIGNATURE);
	}
	arena_free(a);
}

static void test_simple_canon_strict(void **state)
{
	struct arena *a = arena_new();
	struct dkim_sign_options o;
	const struct dkim_sig_result *r;
	const char *ok;

	(void)state;
	zone_reset();
	dkim_sign_options_init(&o);
	o.timestamp = NOW;
	o.hcanon = o.bcanon = DKIM_CANON_SIMPLE;
	ok = sign(a, msg_crlf, &rsa, 1, &o);
	verify(a, replace(a, ok, "game.  Are", "game. \tAre"), NOW, &r);
	expect(&r[0], DKIM_FAIL, DKIM_R_BODY_HASH);
	verify(a, replace(a, ok, "Subject: Is", "Subject:  Is"), NOW, &r);
	expect(&r[0], DKIM_FAIL, DKIM_R_SIGNATURE);
	/* extra empty lines at the end are ignored even in simple */
	verify(a, arena_printf(a, "%s\r\n\r\n", ok), NOW, &r);
	expect(&r[0], DKIM_PASS, DKIM_R_OK);
	/* bare LF taken as CRLF: the same message with LF endings still verifies */
	{
		char *lf = arena_strdup(a, ok), *p, *q;
		for (p = q = lf; *p != '\0'; p++)
			if (!(p[0] == '\r' && p[1] == '\n'))
				*q++ = *p;
		*q = '\0';
		verify(a, lf, NOW, &r);
		expect(&r[0], DKIM_PASS, DKIM_R_OK);
	}
	arena_free(a);
}

static void test_length(void **state)
{
	struct arena *a = arena_new();
	struct dkim_sign_options o;
	const struct dkim_sig_result *r;
	const char *ok;

	(void)state;
	zone_reset();
	dkim_sign_options_init(&o);
	o.timestamp = NOW;
	o.body_length = true;
	ok = sign(a, msg_crlf, &ed, 1, &o);
	assert_non_null(strstr(ok, "l=54;"));
	verify(a, ok, NOW, &r);
	expect(&r[0], DKIM_PASS, DKIM_R_OK);
	assert_true(r[0].has_l);
	assert_int_equal(r[0].l, 54);
	assert_int_equal(r[0].unsigned_tail, 0);
	/* text added after l=: still passes, the tail is reported */
	verify(a, arena_printf(a, "%sClick here!\r\n", ok), NOW, &r);
	expect(&r[0], DKIM_PASS, DKIM_R_OK);
	assert_int_equal(r[0].body_len, 54 + 4 + 13); /* the empty lines now count */
	assert_int_equal(r[0].unsigned_tail, 17);
	/* body cut shorter than l= */
	verify(a, replace(a, ok, "Joe.\r\n", ""), NOW, &r);
	expect(&r[0], DKIM_PERMERROR, DKIM_R_LENGTH);
	/* l=0 signs nothing of the body */
	verify(a, replace(a, ok, "l=54;", "l=0;"), NOW, &r);
	expect(&r[0], DKIM_FAIL, DKIM_R_BODY_HASH); /* bh was of 56 bytes */
	arena_free(a);
}

static void test_dual(void **state)
{
	struct arena *a = arena_new();
	struct dkim_signer two[2] = { rsa2, ed };
	struct dkim_sign_options o;
	const struct dkim_sig_result *r;
	const char *ok;

	(void)state;
	zone_reset();
	dkim_sign_options_init(&o);
	o.timestamp = NOW;
	ok = sign(a, msg_crlf, two, 2, &o);
	assert_int_equal(verify(a, ok, NOW, &r), 2);
	expect(&r[0], DKIM_PASS, DKIM_R_OK);
	expect(&r[1], DKIM_PASS, DKIM_R_OK);
	assert_string_equal(r[0].s, "rsa2");
	assert_string_equal(r[1].s, "ed");
	assert_int_equal(r[0].key_bits, 2048);
	/* one key missing: each signature has its own result */
	zone_set("ed._domainkey.example.com", NULL, DNS_NXDOMAIN);
	assert_int_equal(verify(a, ok, NOW, &r), 2);
	expect(&r[0], DKIM_PASS, DKIM_R_OK);
	expect(&r[1], DKIM_PERMERROR, DKIM_R_NO_KEY);
	arena_free(a);
}

static void test_none_and_many(void **state)
{
	struct arena *a = arena_new();
	const struct dkim_sig_result *r;
	const char *m = msg_crlf;
	int i;

	(void)state;
	zone_reset();
	assert_int_equal(verify(a, msg_crlf, NOW, &r), 0);
	for (i = 0; i < 11; i++)
		m = sign1(a, m, i % 2 ? &ed : &rsa);
	assert_int_equal(verify(a, m, NOW, &r), 11);
	for (i = 0; i < 10; i++)
		expect(&r[i], DKIM_PASS, DKIM_R_OK);
	expect(&r[10], DKIM_NEUTRAL, DKIM_R_TOO_MANY);
	assert_string_equal(r[10].d, "example.com");
	assert_string_equal(r[10].why, "not verified: too many signatures");
	/* the same key for many signatures is looked up once */
	assert_int_equal(asked, 2);
	arena_free(a);
}

struct edit_case {
	const char *from, *to;
	enum dkim_result result;
	enum dkim_reason reason;
};

static const struct edit_case edits[] = {
	{ "v=1;", "v=2;", DKIM_PERMERROR, DKIM_R_VERSION },
	{ "v=1;", "", DKIM_PERMERROR, DKIM_R_VERSION },
	{ "a=rsa-sha256;", "a=rsa-md5;", DKIM_PERMERROR, DKIM_R_ALGORITHM },
	{ "a=rsa-sha256;", "a=rsa-sha1;", DKIM_PERMERROR, DKIM_R_SHA1 },
	{ "c=relaxed/relaxed;", "c=relaxed/foo;", DKIM_PERMERROR, DKIM_R_CANON },
	{ "v=1;", "v=1; q=http;", DKIM_PERMERROR, DKIM_R_QUERY },
	{ "v=1;", "v=1; i=@example.org;", DKIM_PERMERROR, DKIM_R_IDENTITY },
	{ "t=1700000000;", "t=1700000000; x=1;", DKIM_PERMERROR, DKIM_R_TIMESTAMPS },
	{ "bh=", "bh=*", DKIM_PERMERROR, DKIM_R_SYNTAX },
	{ "v=1;", "v=1; v=1;", DKIM_PERMERROR, DKIM_R_SYNTAX },
	{ "d=example.com;", "d=example.com; d=example.com;", DKIM_PERMERROR, DKIM_R_SYNTAX },
	{ "s=rsa;", "s=nokey;", DKIM_PERMERROR, DKIM_R_NO_KEY },
	{ "s=rsa;", "s=nodata;", DKIM_PERMERROR, DKIM_R_NO_KEY },
	{ "s=rsa;", "s=servfail;", DKIM_TEMPERROR, DKIM_R_DNS },
	{ "s=rsa;", "s=timeout;", DKIM_TEMPERROR, DKIM_R_DNS },
	{ "s=rsa;", "s=syntax;", DKIM_PERMERROR, DKIM_R_KEY_SYNTAX },
	{ "s=rsa;", "s=baddata;", DKIM_PERMERROR, DKIM_R_KEY_SYNTAX },
	{ "s=rsa;", "s=empty;", DKIM_PERMERROR, DKIM_R_KEY_SYNTAX },
	{ "s=rsa;", "s=revoked;", DKIM_PERMERROR, DKIM_R_KEY_REVOKED },
	{ "s=rsa;", "s=small;", DKIM_PERMERROR, DKIM_R_KEY_TOO_SMALL },
	{ "s=rsa;", "s=ed;", DKIM_PERMERROR, DKIM_R_KEY_TYPE },
	{ "s=rsa;", "s=hsha1;", DKIM_PERMERROR, DKIM_R_KEY_HASH },
	{ "s=rsa;", "s=chat;", DKIM_PERMERROR, DKIM_R_KEY_SERVICE },
	{ "s=rsa;", "s=rsa2;", DKIM_FAIL, DKIM_R_SIGNATURE }, /* someone else's key */
};

static void test_reasons(void **state)
{
	struct arena *a = arena_new();
	const struct dkim_sig_result *r;
	const char *ok;
	size_t i;

	(void)state;
	zone_reset();
	zone_set("nokey._domainkey.example.com", NULL, DNS_NXDOMAIN);
	zone_set("nodata._domainkey.example.com", NULL, DNS_NODATA);
	zone_set("servfail._domainkey.example.com", NULL, DNS_SERVFAIL);
	zone_set("timeout._domainkey.example.com", NULL, DNS_TIMEOUT);
	zone_set("syntax._domainkey.example.com", "v=DKIM1; k=rsa; p=@@@", DNS_OK);
	zone_set("baddata._domainkey.example.com", "v=DKIM1; k=rsa; p=dGVzdA==", DNS_OK);
	zone_set("empty._domainkey.example.com", "", DNS_OK);
	zone_set("revoked._domainkey.example.com", "v=DKIM1; k=rsa; p=", DNS_OK);
	zone_set("small._domainkey.example.com", "v=DKIM1; p=" RSA512, DNS_OK);
	zone_set("hsha1._domainkey.example.com", arena_printf(a, "h=sha1; %s", rsa_txt + 9),
	         DNS_OK);
	zone_set("chat._domainkey.example.com", arena_printf(a, "s=chat; %s", rsa_txt + 9), DNS_OK);
	ok = sign1(a, msg_crlf, &rsa);
	for (i = 0; i < sizeof(edits) / sizeof(edits[0]); i++) {
		printf("edit %zu: %s -> %s\n", i, edits[i].from, edits[i].to);
		assert_int_equal(verify(a, replace(a, ok, edits[i].from, edits[i].to), NOW, &r), 1);
		expect(&r[0], edits[i].result, edits[i].reason);
	}
	/* the reason text names the tag for syntax errors */
	verify(a, replace(a, ok, "bh=", "bh=*"), NOW, &r);
	assert_string_equal(r[0].why, "bad tag bh=");
	arena_free(a);
}

static void test_from_not_signed(void **state)
{
	struct arena *a = arena_new();
	const struct dkim_sig_result *r;
	const char *m = "DKIM-Signature: v=1; a=rsa-sha256; d=example.com; s=rsa; h=to:subject;"
	                " bh=dGVzdA==; b=dGVzdA==\r\nFrom: a@example.com\r\n\r\nx\r\n";

	(void)state;
	zone_reset();
	verify(a, m, NOW, &r);
	expect(&r[0], DKIM_PERMERROR, DKIM_R_FROM_NOT_SIGNED);
	assert_string_equal(r[0].d, "example.com");
	assert_string_equal(r[0].s, "rsa");
	assert_int_equal(asked, 0); /* no key needed */
	arena_free(a);
}

static void test_time(void **state)
{
	struct arena *a = arena_new();
	struct dkim_sign_options o;
	struct dkim_verify_options vo;
	const struct dkim_sig_result *r;
	const char *ok;

	(void)state;
	zone_reset();
	dkim_sign_options_init(&o);
	o.timestamp = NOW;
	o.expire = 100;
	ok = sign(a, msg_crlf, &ed, 1, &o);
	verify(a, ok, NOW + 100, &r);
	expect(&r[0], DKIM_PASS, DKIM_R_OK);
	verify(a, ok, NOW + 101, &r);
	expect(&r[0], DKIM_PERMERROR, DKIM_R_EXPIRED);
	/* the clock skew allowance: t= up to 300 s ahead is fine */
	verify(a, ok, NOW - 300, &r);
	expect(&r[0], DKIM_PASS, DKIM_R_OK);
	verify(a, ok, NOW - 301, &r);
	expect(&r[0], DKIM_PERMERROR, DKIM_R_FUTURE);
	dkim_verify_options_init(&vo, NOW - 301);
	vo.clock_skew = 1000;
	verify_opts(a, ok, &vo, &r);
	expect(&r[0], DKIM_PASS, DKIM_R_OK);
	arena_free(a);
}

static void test_key_flags(void **state)
{
	struct arena *a = arena_new();
	struct dkim_sign_options o;
	struct dkim_verify_options vo;
	const struct dkim_sig_result *r;
	const char *ok;

	(void)state;
	zone_reset();
	/* t=s: i= must be in d= itself */
	zone_set("rsa._domainkey.example.com", arena_printf(a, "t=s; %s", rsa_txt + 9), DNS_OK);
	dkim_sign_options_init(&o);
	o.timestamp = NOW;
	o.identity = "joe@sub.example.com";
	ok = sign(a, msg_crlf, &rsa, 1, &o);
	verify(a, ok, NOW, &r);
	expect(&r[0], DKIM_PERMERROR, DKIM_R_KEY_STRICT);
	assert_string_equal(r[0].i, "joe@sub.example.com");
	o.identity = "joe;=@example.com"; /* quoted-printable on the way out and back */
	ok = sign(a, msg_crlf, &rsa, 1, &o);
	verify(a, ok, NOW, &r);
	expect(&r[0], DKIM_PASS, DKIM_R_OK);
	assert_string_equal(r[0].i, "joe;=@example.com");
	/* t=y is reported, the result stands */
	zone_set("rsa._domainkey.example.com", arena_printf(a, "t=y; %s", rsa_txt + 9), DNS_OK);
	verify(a, ok, NOW, &r);
	expect(&r[0], DKIM_PASS, DKIM_R_OK);
	assert_true(r[0].testing);
	/* a local minimum above 1024 bits: policy */
	dkim_verify_options_init(&vo, NOW);
	vo.min_rsa_bits = 2048;
	verify_opts(a, ok, &vo, &r);
	expect(&r[0], DKIM_POLICY, DKIM_R_KEY_POLICY);
	arena_free(a);
}

static void test_abort(void **state)
{
	struct arena *a = arena_new();
	struct raw_message m;
	struct dkim_verify *v;
	struct dkim_verify_options o;
	const struct dkim_sig_result *r;
	const char *ok;

	(void)state;
	ok = sign1(a, msg_crlf, &rsa);
	assert_int_equal(raw_message_parse(&m, a, ok, strlen(ok), NULL, NULL), 0);
	dkim_verify_options_init(&o, NOW);
	v = dkim_verify_new(a, &m, &o);
	assert_non_null(v);
	assert_int_equal(dkim_verify_step(v), DKIM_STEP_NEED_DNS);
	assert_int_equal(dkim_verify_results(v, &r), 0);
	dkim_verify_abort(v, "deadline");
	assert_int_equal(dkim_verify_results(v, &r), 1);
	expect(&r[0], DKIM_TEMPERROR, DKIM_R_DNS);
	assert_string_equal(r[0].why, "deadline");
	assert_int_equal(
	    dkim_verify_answer(v, "other._domainkey.example.com", &(struct dns_answer){ 0 }), -1);
	arena_free(a);
}

static void test_signer_errors(void **state)
{
	struct arena *a = arena_new();
	struct dkim_signer s;
	struct sx_err err = { 0 };
	struct raw_message m;
	struct buf out;
	EVP_PKEY *pk;
	char *pem;

	(void)state;
	assert_int_equal(dkim_signer_from_pem(&s, a, "junk", 4, "example.com", "s", &err), -1);
	pk = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)512);
	assert_non_null(pk);
	pem = dkim_key_pem(a, pk);
	EVP_PKEY_free(pk);
	assert_int_equal(dkim_signer_from_pem(&s, a, pem, strlen(pem), "example.com", "s", &err),
	                 -1);
	assert_non_null(strstr(err.msg, "512 bits"));
	pem = dkim_key_pem(a, ed.pkey);
	assert_int_equal(dkim_signer_from_pem(&s, a, pem, strlen(pem), "bad domain", "s", &err),
	                 -1);
	assert_null(dkim_keygen(a, "rsa", 512, &err));
	assert_null(dkim_keygen(a, "dsa", 0, &err));
	/* no From: nothing to sign */
	assert_int_equal(raw_message_parse(&m, a, "To: x\r\n\r\n", 9, NULL, NULL), 0);
	buf_init(&out, 10000);
	assert_int_equal(dkim_sign(a, &m, &rsa, 1, NULL, &out, &err), -1);
	assert_int_equal(raw_message_parse(&m, a, "From: x\r\n\r\n", 11, NULL, NULL), 0);
	{
		struct dkim_sign_options o;
		const char *bad[] = { "to", "sub ject", NULL };

		dkim_sign_options_init(&o);
		o.identity = "joe@example.org"; /* not within d= */
		assert_int_equal(dkim_sign(a, &m, &rsa, 1, &o, &out, &err), -1);
		assert_non_null(strstr(err.msg, "not within"));
		o.identity = NULL;
		o.headers = bad;
		assert_int_equal(dkim_sign(a, &m, &rsa, 1, &o, &out, &err), -1);
		assert_int_equal(out.len, 0);
	}
	buf_free(&out);
	arena_free(a);
}

static void test_dns_record(void **state)
{
	(void)state;
	assert_true(strncmp(rsa_txt, "v=DKIM1; k=rsa; p=MIGf", 22) == 0);
	assert_true(strncmp(ed_txt, "v=DKIM1; k=ed25519; p=", 22) == 0);
	assert_int_equal(strlen(ed_txt), 22 + 44);
}

/* ---- the async driver on an in-memory zone ---------------------------- */

struct async_ctx {
	struct event_base *base;
	struct dkim_verify *v;
	int calls;
};

static void async_done(struct dkim_verify *v, void *arg)
{
	struct async_ctx *c = arg;

	c->v = v;
	c->calls++;
	event_base_loopbreak(c->base);
}

static void test_async(void **state)
{
	struct arena *a = arena_new();
	struct dns_zone *z = dns_zone_new();
	struct event_base *base = event_base_new();
	struct dns *dns;
	struct raw_message m;
	struct dkim_verify_options o;
	struct async_ctx c = { 0 };
	struct dkim_signer two[2] = { rsa, ed };
	struct dkim_sign_options so;
	const struct dkim_sig_result *r;
	const char *strs[1];
	const char *ok;

	(void)state;
	assert_non_null(z);
	assert_non_null(base);
	strs[0] = rsa_txt;
	assert_int_equal(dns_zone_add_txt(z, "rsa._domainkey.example.com", strs, 1), 0);
	strs[0] = ed_txt;
	assert_int_equal(dns_zone_add_txt(z, "ed._domainkey.example.com", strs, 1), 0);
	dns = dns_new_zone(base, z);
	assert_non_null(dns);
	dkim_sign_options_init(&so);
	so.timestamp = NOW;
	ok = sign(a, msg_crlf, two, 2, &so);
	assert_int_equal(raw_message_parse(&m, a, ok, strlen(ok), NULL, NULL), 0);
	dkim_verify_options_init(&o, NOW);
	c.base = base;
	assert_non_null(dkim_verify_start(dns, base, a, &m, &o, async_done, &c));
	assert_int_equal(c.calls, 0); /* never called back before start returns */
	event_base_dispatch(base);
	assert_int_equal(c.calls, 1);
	assert_int_equal(dkim_verify_results(c.v, &r), 2);
	expect(&r[0], DKIM_PASS, DKIM_R_OK);
	expect(&r[1], DKIM_PASS, DKIM_R_OK);

	/* no signature: called back on the next loop turn */
	c.calls = 0;
	assert_int_equal(raw_message_parse(&m, a, msg_crlf, strlen(msg_crlf), NULL, NULL), 0);
	assert_non_null(dkim_verify_start(dns, base, a, &m, &o, async_done, &c));
	assert_int_equal(c.calls, 0);
	event_base_dispatch(base);
	assert_int_equal(c.calls, 1);
	assert_int_equal(dkim_verify_results(c.v, &r), 0);

	/* a key that never answers: the deadline makes it temperror */
	assert_int_equal(dns_zone_add_timeout(z, "ed._domainkey.example.com", 0), 0);
	c.calls = 0;
	o.timeout_ms = 100;
	assert_int_equal(raw_message_parse(&m, a, ok, strlen(ok), NULL, NULL), 0);
	assert_non_null(dkim_verify_start(dns, base, a, &m, &o, async_done, &c));
	event_base_dispatch(base);
	assert_int_equal(c.calls, 1);
	assert_int_equal(dkim_verify_results(c.v, &r), 2);
	expect(&r[0], DKIM_PASS, DKIM_R_OK);
	expect(&r[1], DKIM_TEMPERROR, DKIM_R_DNS);

	/* cancelled: never called back; freeing the arena cancels too */
	c.calls = 0;
	dkim_verify_cancel(dkim_verify_start(dns, base, a, &m, &o, async_done, &c));
	assert_non_null(dkim_verify_start(dns, base, a, &m, &o, async_done, &c));
	arena_free(a);
	event_base_loop(base, EVLOOP_NONBLOCK);
	assert_int_equal(c.calls, 0);
	dns_free(dns);
	dns_zone_free(z);
	event_base_free(base);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trips),     cmocka_unit_test(test_field_format),
		cmocka_unit_test(test_tamper),          cmocka_unit_test(test_simple_canon_strict),
		cmocka_unit_test(test_length),          cmocka_unit_test(test_dual),
		cmocka_unit_test(test_none_and_many),   cmocka_unit_test(test_reasons),
		cmocka_unit_test(test_from_not_signed), cmocka_unit_test(test_time),
		cmocka_unit_test(test_key_flags),       cmocka_unit_test(test_abort),
		cmocka_unit_test(test_signer_errors),   cmocka_unit_test(test_dns_record),
		cmocka_unit_test(test_async),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
