/* Unit tests for auth/dmarc_record: a table of records with the status,
 * usability and values expected, URI lists with size limits, the 6.6.3
 * step 5 rule (p= missing or invalid with a valid rua= means p=none),
 * defaults and inheritance (sp from p, np from sp). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "auth/dmarc_record.h"
#include "core/arena.h"

#define N DMARC_POLICY_NONE
#define Q DMARC_POLICY_QUARANTINE
#define R DMARC_POLICY_REJECT

struct rec_case {
	const char *text;
	enum dmarc_record_status status;
	bool usable;
	enum dmarc_policy p, sp, np;
	unsigned pct;
	bool implicit;
};

static const struct rec_case rec_cases[] = {
	{ "v=DMARC1; p=none", DMARC_RECORD_OK, true, N, N, N, 100, false },
	{ "v=DMARC1;p=reject", DMARC_RECORD_OK, true, R, R, R, 100, false },
	{ "  v = DMARC1 ;  p = quarantine ; ", DMARC_RECORD_OK, true, Q, Q, Q, 100, false },
	{ "V=dmarc1; P=Reject; SP=None", DMARC_RECORD_OK, true, R, N, N, 100, false },
	{ "v=DMARC1; p=reject; sp=quarantine; np=none", DMARC_RECORD_OK, true, R, Q, N, 100,
	  false },
	{ "v=DMARC1; p=reject; np=none", DMARC_RECORD_OK, true, R, R, N, 100, false },
	{ "v=DMARC1; p=reject; pct=0", DMARC_RECORD_OK, true, R, R, R, 0, false },
	{ "v=DMARC1; p=reject; pct=25;;", DMARC_RECORD_OK, true, R, R, R, 25, false },
	{ "v=DMARC1; p=reject; foo=bar; x", DMARC_RECORD_OK, true, R, R, R, 100, false },
	/* the first of a repeated tag counts */
	{ "v=DMARC1; p=reject; p=none", DMARC_RECORD_OK, true, R, R, R, 100, false },
	/* bad values of other tags: discarded, record used */
	{ "v=DMARC1; p=reject; pct=500", DMARC_RECORD_BAD_VALUE, true, R, R, R, 100, false },
	{ "v=DMARC1; p=reject; adkim=x; np=bogus", DMARC_RECORD_BAD_VALUE, true, R, R, R, 100,
	  false },
	/* 6.6.3 step 5 */
	{ "v=DMARC1; rua=mailto:a@b.example", DMARC_RECORD_OK, true, N, N, N, 100, true },
	{ "v=DMARC1; p=bogus; rua=mailto:a@b.example", DMARC_RECORD_BAD_VALUE, true, N, N, N, 100,
	  true },
	{ "v=DMARC1; p=reject; sp=bogus; rua=mailto:a@b.example", DMARC_RECORD_BAD_VALUE, true, N,
	  N, N, 100, true },
	{ "v=DMARC1; p=reject; sp=bogus", DMARC_RECORD_BAD_VALUE, false, R, R, R, 100, false },
	{ "v=DMARC1; p=bogus", DMARC_RECORD_BAD_VALUE, false, N, N, N, 100, false },
	{ "v=DMARC1; p=n", DMARC_RECORD_BAD_VALUE, false, N, N, N, 100, false },
	{ "v=DMARC1; pct=100", DMARC_RECORD_NO_P, false, N, N, N, 100, false },
	{ "v=DMARC1; rua=ftp://x.example", DMARC_RECORD_NO_P, false, N, N, N, 100, false },
	{ "v=DMARC1", DMARC_RECORD_NO_P, false, N, N, N, 100, false },
	/* not DMARC records */
	{ "", DMARC_RECORD_EMPTY, false, N, N, N, 100, false },
	{ "   ", DMARC_RECORD_EMPTY, false, N, N, N, 100, false },
	{ "p=reject; v=DMARC1", DMARC_RECORD_BAD_VERSION, false, N, N, N, 100, false },
	{ "v=DMARC2; p=reject", DMARC_RECORD_BAD_VERSION, false, N, N, N, 100, false },
	{ "v=spf1 -all", DMARC_RECORD_BAD_VERSION, false, N, N, N, 100, false },
	{ "v=DMARC1p=reject", DMARC_RECORD_BAD_VERSION, false, N, N, N, 100, false },
	{ "; v=DMARC1; p=reject", DMARC_RECORD_BAD_VERSION, false, N, N, N, 100, false },
};

static void test_records(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(rec_cases) / sizeof(rec_cases[0]); i++) {
		const struct rec_case *c = &rec_cases[i];
		struct arena *a = arena_new();
		struct dmarc_record r;
		int rc = dmarc_record_parse(a, c->text, strlen(c->text), &r);

		if (r.status != c->status || r.usable != c->usable || (rc == 0) != c->usable ||
		    (c->usable && (r.p != c->p || r.sp != c->sp || r.np != c->np ||
		                   r.pct != c->pct || r.p_implicit != c->implicit))) {
			print_error("case %zu [%s]: status %s usable %d p %d sp %d np %d pct %u "
			            "implicit %d\n",
			            i, c->text, dmarc_record_status_name(r.status), r.usable, r.p,
			            r.sp, r.np, r.pct, r.p_implicit);
			fail();
		}
		arena_free(a);
	}
}

static void test_values(void **state)
{
	struct arena *a = arena_new();
	struct dmarc_record r;
	const char *t = "v=DMARC1; p=quarantine; adkim=s; aspf=S; fo=0:d:S; rf=afrf:IODEF; "
	                "ri=3600; psd=y; t=y";

	(void)state;
	assert_int_equal(dmarc_record_parse(a, t, strlen(t), &r), 0);
	assert_int_equal(r.adkim, DMARC_ALIGN_STRICT);
	assert_int_equal(r.aspf, DMARC_ALIGN_STRICT);
	assert_int_equal(r.fo, DMARC_FO_0 | DMARC_FO_D | DMARC_FO_S);
	assert_int_equal(r.rf, DMARC_RF_AFRF | DMARC_RF_IODEF);
	assert_int_equal(r.ri, 3600);
	assert_int_equal(r.psd, DMARC_PSD_Y);
	assert_true(r.t);
	/* defaults */
	t = "v=DMARC1; p=none";
	assert_int_equal(dmarc_record_parse(a, t, strlen(t), &r), 0);
	assert_int_equal(r.adkim, DMARC_ALIGN_RELAXED);
	assert_int_equal(r.aspf, DMARC_ALIGN_RELAXED);
	assert_int_equal(r.fo, DMARC_FO_0);
	assert_int_equal(r.rf, DMARC_RF_AFRF);
	assert_int_equal(r.ri, DMARC_DEFAULT_RI);
	assert_int_equal(r.psd, DMARC_PSD_DEFAULT);
	assert_false(r.t);
	assert_false(r.has_pct);
	assert_int_equal(r.nrua, 0);
	/* bad ri and fo keep the defaults */
	t = "v=DMARC1; p=none; ri=4294967296; fo=00";
	assert_int_equal(dmarc_record_parse(a, t, strlen(t), &r), 0);
	assert_int_equal(r.ri, DMARC_DEFAULT_RI);
	assert_int_equal(r.fo, DMARC_FO_0);
	assert_string_equal(r.bad_tag, "ri");
	arena_free(a);
}

static void test_uris(void **state)
{
	struct arena *a = arena_new();
	struct dmarc_record r;
	const char *t = "v=DMARC1; p=none; rua=mailto:a@x.example!10m, mailto:b%2Bc@y.example ! 2 "
	                "k,ftp://z.example, https://r.example/d!1g,mailto:nodomain, "
	                "mailto:q@x.example?subject=hi; ruf=mailto:f@x.example!5";

	(void)state;
	assert_int_equal(dmarc_record_parse(a, t, strlen(t), &r), 0);
	assert_int_equal(r.nrua, 4);
	assert_string_equal(r.rua[0].scheme, "mailto");
	assert_string_equal(r.rua[0].addr, "a@x.example");
	assert_true(r.rua[0].max_bytes == 10ull << 20);
	assert_string_equal(r.rua[1].addr, "b+c@y.example");
	assert_true(r.rua[1].max_bytes == 2048);
	assert_string_equal(r.rua[2].scheme, "https");
	assert_null(r.rua[2].addr);
	assert_true(r.rua[2].max_bytes == 1ull << 30);
	assert_string_equal(r.rua[3].addr, "q@x.example");
	assert_int_equal(r.nruf, 1);
	assert_true(r.ruf[0].max_bytes == 5);
	/* a bad size drops the URI; a space inside an address too */
	t = "v=DMARC1; p=none; rua=mailto:a@x.example!10x,mailto:a%20b@x.example,mailto:a@x!";
	assert_int_equal(dmarc_record_parse(a, t, strlen(t), &r), 0);
	assert_int_equal(r.nrua, 0);
	/* counted without an arena */
	t = "v=DMARC1; rua=mailto:a@x.example";
	assert_int_equal(dmarc_record_parse(NULL, t, strlen(t), &r), 0);
	assert_int_equal(r.nrua, 1);
	assert_null(r.rua);
	assert_true(r.p_implicit);
	arena_free(a);
}

static void test_is_dmarc(void **state)
{
	(void)state;
	assert_true(dmarc_record_is_dmarc("v=DMARC1; p=none", 16));
	assert_true(dmarc_record_is_dmarc(" v = DMARC1", 11));
	assert_true(dmarc_record_is_dmarc("v=DMARC1", 8));
	assert_false(dmarc_record_is_dmarc("v=DMARC10", 9));
	assert_false(dmarc_record_is_dmarc("v=spf1", 6));
	assert_false(dmarc_record_is_dmarc("", 0));
	assert_false(dmarc_record_is_dmarc(NULL, 0));
	assert_string_equal(dmarc_policy_name(DMARC_POLICY_QUARANTINE), "quarantine");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_records),
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_uris),
		cmocka_unit_test(test_is_dmarc),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
