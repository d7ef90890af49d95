/* test_domaincheck - the SPF lookup-count tree of check-domain (spftree_*)
 * from canned DNS answers: counts per record and per subtree, void
 * lookups, include errors, loops, redirect, macros, depth and size caps;
 * and docs/check-domain.md against domaincheck_codes[] (both ways), and
 * the "area.code" literals of src/report/domaincheck*.c against it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/arena.h"
#include "core/str.h"
#include "report/domaincheck.h"

static const char *source_root = ".";

/* One canned answer: name, type, status and up to 3 TXT strings (one
 * record each); for A, AAAA and MX one record of dummy data. */
struct canned {
	const char *name;
	enum dns_type type;
	enum dns_status status;
	const char *txt[3];
};

#define TXT(n, ...)                                                                                \
	{                                                                                          \
		n, DNS_T_TXT, DNS_OK,                                                              \
		{                                                                                  \
			__VA_ARGS__                                                                \
		}                                                                                  \
	}
#define HAS(n, t)                                                                                  \
	{                                                                                          \
		n, t, DNS_OK,                                                                      \
		{                                                                                  \
			NULL                                                                       \
		}                                                                                  \
	}
#define EMPTY(n, t)                                                                                \
	{                                                                                          \
		n, t, DNS_NODATA,                                                                  \
		{                                                                                  \
			NULL                                                                       \
		}                                                                                  \
	}
#define FAIL(n, t)                                                                                 \
	{                                                                                          \
		n, t, DNS_SERVFAIL,                                                                \
		{                                                                                  \
			NULL                                                                       \
		}                                                                                  \
	}
#define END                                                                                        \
	{                                                                                          \
		NULL, 0, 0,                                                                        \
		{                                                                                  \
			NULL                                                                       \
		}                                                                                  \
	}

struct tree_case {
	const char *label;
	const char *domain;
	struct canned zone[24];
	enum spftree_status root_status;
	unsigned total_terms, total_void;
	/* the status of the first child of the root, when there is one */
	int child_status;
	bool macros;
	const char *format; /* spftree_format() of the root, or NULL */
};

static const struct tree_case tree_cases[] = {
	{ "counts per record and per subtree",
	  "ex.test",
	  { TXT("ex.test", "v=spf1 include:a.test include:b.test -all"),
	    TXT("a.test", "v=spf1 ip4:192.0.2.0/24 include:c.test -all"),
	    TXT("b.test", "v=spf1 mx a -all"), HAS("b.test", DNS_T_MX), HAS("b.test", DNS_T_A),
	    EMPTY("b.test", DNS_T_AAAA), TXT("c.test", "v=spf1 exists:x.test -all"), END },
	  SPFTREE_OK,
	  6,
	  1,
	  SPFTREE_OK,
	  false,
	  "ex.test: 6 lookups (2 here)\n"
	  "  include:a.test: 2 lookups (1 here)\n"
	  "    include:c.test: 1 lookup (1 here), 1 void lookup\n"
	  "  include:b.test: 2 lookups (2 here)" },
	{ "more than 10",
	  "ex.test",
	  { TXT("ex.test", "v=spf1 include:a.test include:b.test a:h1.test a:h2.test -all"),
	    TXT("a.test", "v=spf1 a:h1.test a:h2.test a:h3.test a:h4.test -all"),
	    TXT("b.test", "v=spf1 a:h1.test a:h2.test a:h3.test a:h4.test mx:h1.test -all"),
	    HAS("h1.test", DNS_T_A), HAS("h2.test", DNS_T_A), HAS("h3.test", DNS_T_A),
	    HAS("h4.test", DNS_T_A), HAS("h1.test", DNS_T_MX), END },
	  SPFTREE_OK,
	  13,
	  0,
	  SPFTREE_OK,
	  false,
	  NULL },
	{ "void: a needs both A and AAAA empty",
	  "ex.test",
	  { TXT("ex.test", "v=spf1 a:v4only.test a:none.test mx:nomx.test -all"),
	    HAS("v4only.test", DNS_T_A), EMPTY("v4only.test", DNS_T_AAAA),
	    EMPTY("none.test", DNS_T_A), EMPTY("none.test", DNS_T_AAAA),
	    EMPTY("nomx.test", DNS_T_MX), END },
	  SPFTREE_OK,
	  3,
	  2,
	  -1,
	  false,
	  NULL },
	{ "an include without a record",
	  "ex.test",
	  { TXT("ex.test", "v=spf1 include:gone.test -all"), END },
	  SPFTREE_OK,
	  1,
	  0,
	  SPFTREE_NXDOMAIN,
	  false,
	  "ex.test: 1 lookup (1 here)\n  include:gone.test: nxdomain" },
	{ "an include with no SPF record among its TXT",
	  "ex.test",
	  { TXT("ex.test", "v=spf1 include:other.test -all"),
	    TXT("other.test", "google-site-verification=x"), END },
	  SPFTREE_OK,
	  1,
	  0,
	  SPFTREE_NONE,
	  false,
	  NULL },
	{ "an include whose lookup fails",
	  "ex.test",
	  { TXT("ex.test", "v=spf1 include:broken.test -all"), FAIL("broken.test", DNS_T_TXT),
	    END },
	  SPFTREE_OK,
	  1,
	  0,
	  SPFTREE_DNS,
	  false,
	  NULL },
	{ "a loop back to the root",
	  "ex.test",
	  { TXT("ex.test", "v=spf1 include:a.test -all"),
	    TXT("a.test", "v=spf1 include:ex.test -all"), END },
	  SPFTREE_OK,
	  2,
	  0,
	  SPFTREE_OK,
	  false,
	  "ex.test: 2 lookups (1 here)\n  include:a.test: 1 lookup (1 here)\n"
	  "    include:ex.test: loop" },
	{ "redirect is followed",
	  "ex.test",
	  { TXT("ex.test", "v=spf1 redirect=r.test"), TXT("r.test", "v=spf1 a mx -all"),
	    HAS("r.test", DNS_T_A), HAS("r.test", DNS_T_MX), END },
	  SPFTREE_OK,
	  3,
	  0,
	  SPFTREE_OK,
	  false,
	  "ex.test: 3 lookups (1 here)\n  redirect:r.test: 2 lookups (2 here)" },
	{ "redirect is ignored next to all",
	  "ex.test",
	  { TXT("ex.test", "v=spf1 -all redirect=r.test"), END },
	  SPFTREE_OK,
	  0,
	  0,
	  -1,
	  false,
	  NULL },
	{ "macros are not expanded",
	  "ex.test",
	  { TXT("ex.test", "v=spf1 include:%{d}.x.test exists:%{i}.y.test -all"), END },
	  SPFTREE_OK,
	  2,
	  0,
	  -1,
	  true,
	  NULL },
	{ "two records",
	  "ex.test",
	  { TXT("ex.test", "v=spf1 -all", "v=spf1 +all"), END },
	  SPFTREE_MULTIPLE,
	  0,
	  0,
	  -1,
	  false,
	  NULL },
	{ "syntax error",
	  "ex.test",
	  { TXT("ex.test", "v=spf1 frob:x -all"), END },
	  SPFTREE_SYNTAX,
	  0,
	  0,
	  -1,
	  false,
	  NULL },
	{ "no record",
	  "ex.test",
	  { TXT("ex.test", "hello"), END },
	  SPFTREE_NONE,
	  0,
	  0,
	  -1,
	  false,
	  NULL },
	{ "no domain", "ex.test", { END }, SPFTREE_NXDOMAIN, 0, 0, -1, false, NULL },
	{ "root lookup fails",
	  "ex.test",
	  { FAIL("ex.test", DNS_T_TXT), END },
	  SPFTREE_DNS,
	  0,
	  0,
	  -1,
	  false,
	  NULL },
	{ "names compare without case and trailing dot",
	  "EX.test.",
	  { TXT("ex.test", "v=spf1 include:A.Test. -all"), TXT("a.test", "v=spf1 -all"), END },
	  SPFTREE_OK,
	  1,
	  0,
	  SPFTREE_OK,
	  false,
	  "ex.test: 1 lookup (1 here)\n  include:a.test: 0 lookups (0 here)" },
};

/* canned_answer - build the answer to (name, type) from the zone (NXDOMAIN
 * when the name is absent, NODATA when it has other types only) */
static void canned_answer(const struct canned *zone, const char *name, enum dns_type type,
                          struct dns_answer *ans, struct dns_rr *rr, size_t *lens)
{
	size_t i, k;
	bool name_seen = false;

	memset(ans, 0, sizeof(*ans));
	ans->qname = name;
	ans->canonname = name;
	ans->qtype = type;
	ans->rr = rr;
	ans->status = DNS_NXDOMAIN;
	for (i = 0; zone[i].name != NULL; i++) {
		if (str_casecmp(zone[i].name, name) != 0)
			continue;
		name_seen = true;
		if (zone[i].type != type)
			continue;
		ans->status = zone[i].status;
		if (zone[i].status != DNS_OK)
			return;
		if (type != DNS_T_TXT) {
			rr[0].type = type;
			if (type == DNS_T_MX)
				rr[0].u.mx.host = (char *)"mx.test";
			ans->count = 1;
			return;
		}
		for (k = 0; k < 3 && zone[i].txt[k] != NULL; k++) {
			rr[k].type = DNS_T_TXT;
			rr[k].u.txt.data = (char *)zone[i].txt[k];
			rr[k].u.txt.len = strlen(zone[i].txt[k]);
			lens[k] = rr[k].u.txt.len;
			rr[k].u.txt.nstrings = 1;
			rr[k].u.txt.string_len = &lens[k];
		}
		ans->count = k;
		return;
	}
	if (name_seen)
		ans->status = DNS_NODATA;
}

/* run_tree - answer every query until the tree is done */
static struct spftree *run_tree(struct arena *a, const char *domain, const struct canned *zone)
{
	struct spftree *t = spftree_new(a, domain);
	struct spftree_query *const *list;
	struct dns_answer ans;
	struct dns_rr rr[3];
	size_t lens[3], i, n, rounds = 0;

	assert_non_null(t);
	while (!spftree_done(t)) {
		assert_true(++rounds < 1000);
		n = spftree_queries(t, &list);
		for (i = 0; i < n; i++) {
			if (list[i]->answered)
				continue;
			canned_answer(zone, list[i]->name, list[i]->type, &ans, rr, lens);
			assert_int_equal(spftree_answer(t, list[i]->name, list[i]->type, &ans), 0);
			n = spftree_queries(t, &list);
		}
	}
	return t;
}

static void test_tree_cases(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(tree_cases) / sizeof(tree_cases[0]); i++) {
		const struct tree_case *c = &tree_cases[i];
		struct arena *a = arena_new();
		const struct spftree_node *root;
		char *text;

		print_message("case: %s\n", c->label);
		root = spftree_root(run_tree(a, c->domain, c->zone));
		assert_int_equal(root->status, c->root_status);
		assert_int_equal(root->total_terms, c->total_terms);
		assert_int_equal(root->total_void, c->total_void);
		if (c->child_status >= 0) {
			assert_true(root->nchild > 0);
			assert_int_equal(root->child[0]->status, c->child_status);
		} else {
			assert_int_equal(root->nchild, 0);
		}
		assert_int_equal(root->macros, c->macros);
		if (c->format != NULL) {
			text = spftree_format(a, root);
			assert_non_null(text);
			assert_string_equal(text, c->format);
		}
		arena_free(a);
	}
}

/* A chain of includes deeper than SPFTREE_MAX_DEPTH stops there. */
static void test_tree_depth(void **state)
{
	struct canned zone[SPFTREE_MAX_DEPTH + 4];
	char names[SPFTREE_MAX_DEPTH + 4][32], recs[SPFTREE_MAX_DEPTH + 4][64];
	struct arena *a = arena_new();
	const struct spftree_node *n;
	size_t i, depth = 0;

	(void)state;
	memset(zone, 0, sizeof(zone));
	for (i = 0; i < SPFTREE_MAX_DEPTH + 3; i++) {
		snprintf(names[i], sizeof(names[i]), "d%zu.test", i);
		snprintf(recs[i], sizeof(recs[i]), "v=spf1 include:d%zu.test -all", i + 1);
		zone[i].name = names[i];
		zone[i].type = DNS_T_TXT;
		zone[i].status = DNS_OK;
		zone[i].txt[0] = recs[i];
	}
	n = spftree_root(run_tree(a, "d0.test", zone));
	while (n->nchild > 0) {
		n = n->child[0];
		depth++;
	}
	assert_int_equal(depth, SPFTREE_MAX_DEPTH + 1);
	assert_int_equal(n->status, SPFTREE_TOO_DEEP);
	arena_free(a);
}

/* Many includes stop at SPFTREE_MAX_NODES records. */
static void test_tree_width(void **state)
{
	static char rec[4096];
	struct canned zone[2];
	struct arena *a = arena_new();
	const struct spftree_node *root;
	size_t i, off, too_deep = 0;

	(void)state;
	off = (size_t)snprintf(rec, sizeof(rec), "v=spf1");
	for (i = 0; i < 100; i++)
		off += (size_t)snprintf(rec + off, sizeof(rec) - off, " include:i%zu.test", i);
	snprintf(rec + off, sizeof(rec) - off, " -all");
	memset(zone, 0, sizeof(zone));
	zone[0].name = "ex.test";
	zone[0].type = DNS_T_TXT;
	zone[0].status = DNS_OK;
	zone[0].txt[0] = rec;
	root = spftree_root(run_tree(a, "ex.test", zone));
	assert_int_equal(root->nchild, 100);
	for (i = 0; i < root->nchild; i++)
		too_deep += root->child[i]->status == SPFTREE_TOO_DEEP;
	assert_int_equal(too_deep, 100 - (SPFTREE_MAX_NODES - 1));
	assert_int_equal(root->total_terms, 100);
	arena_free(a);
}

/* An answer nobody asked for is refused. */
static void test_tree_unasked(void **state)
{
	struct arena *a = arena_new();
	struct spftree *t = spftree_new(a, "ex.test");
	struct dns_answer ans;

	(void)state;
	memset(&ans, 0, sizeof(ans));
	ans.status = DNS_NXDOMAIN;
	assert_int_equal(spftree_answer(t, "other.test", DNS_T_TXT, &ans), -1);
	assert_false(spftree_done(t));
	assert_int_equal(spftree_answer(t, "EX.TEST", DNS_T_TXT, &ans), 0);
	assert_true(spftree_done(t));
	assert_int_equal(spftree_root(t)->status, SPFTREE_NXDOMAIN);
	arena_free(a);
}

static void test_names(void **state)
{
	(void)state;
	assert_int_equal(dc_area_parse("SPF"), DC_AREA_SPF);
	assert_int_equal(dc_area_parse("mta-sts"), DC_AREA_MTASTS);
	assert_int_equal(dc_area_parse("mtasts"), DC_AREA_MTASTS);
	assert_int_equal(dc_area_parse("nope"), -1);
	assert_string_equal(dc_area_name(DC_AREA_DMARC), "dmarc");
	assert_string_equal(dc_level_name(DC_WARN), "warn");
}

/* test_docs - docs/check-domain.md has a row "| `code` | level |" for
 * every code, and no row for a code that does not exist */
static void test_docs(void **state)
{
	char path[512], line[2048];
	FILE *f;
	size_t i, rows = 0;
	bool seen[256] = { false };

	(void)state;
	snprintf(path, sizeof(path), "%s/docs/check-domain.md", source_root);
	f = fopen(path, "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f) != NULL) {
		char code[128];
		const char *p = line, *e;
		bool known = false;
		if (strncmp(p, "| `", 3) != 0)
			continue;
		p += 3;
		e = strchr(p, '`');
		if (e == NULL || (size_t)(e - p) >= sizeof(code))
			continue;
		memcpy(code, p, (size_t)(e - p));
		code[e - p] = '\0';
		if (strchr(code, '.') == NULL)
			continue;
		rows++;
		for (i = 0; domaincheck_codes[i] != NULL; i++)
			if (strcmp(domaincheck_codes[i], code) == 0) {
				known = true;
				seen[i] = true;
			}
		if (!known)
			fail_msg("docs/check-domain.md: %s is not a code domaincheck emits", code);
	}
	fclose(f);
	for (i = 0; domaincheck_codes[i] != NULL; i++)
		if (!seen[i])
			fail_msg("docs/check-domain.md: no row for %s", domaincheck_codes[i]);
	assert_true(rows > 0);
	assert_true(i < sizeof(seen));
}

/* test_sources - every "area.code" literal in src/report/domaincheck*.c is
 * in domaincheck_codes[], so no finding escapes the doc */
static void test_sources(void **state)
{
	static const char *const files[] = { "domaincheck.c",        "domaincheck_spf.c",
		                             "domaincheck_dkim.c",   "domaincheck_dmarc.c",
		                             "domaincheck_mtasts.c", "domaincheck_tlsrpt.c",
		                             "domaincheck_dane.c",   NULL };
	static const char *const areas[] = { "mx.",      "ptr.",     "spf.",  "dkim.", "dmarc.",
		                             "mta-sts.", "tls-rpt.", "dane.", NULL };
	char path[512], *text;
	size_t i, k, found = 0;
	long len;
	FILE *f;

	(void)state;
	for (i = 0; files[i] != NULL; i++) {
		snprintf(path, sizeof(path), "%s/src/report/%s", source_root, files[i]);
		f = fopen(path, "rb");
		assert_non_null(f);
		assert_int_equal(fseek(f, 0, SEEK_END), 0);
		len = ftell(f);
		assert_true(len > 0);
		rewind(f);
		text = malloc((size_t)len + 1);
		assert_non_null(text);
		assert_int_equal(fread(text, 1, (size_t)len, f), (size_t)len);
		text[len] = '\0';
		fclose(f);
		for (char *p = strchr(text, '"'); p != NULL; p = strchr(p + 1, '"')) {
			const char *q = p + 1, *e;
			char code[64];
			bool area = false, known = false;
			for (k = 0; areas[k] != NULL; k++)
				if (strncmp(q, areas[k], strlen(areas[k])) == 0)
					area = true;
			if (!area)
				continue;
			e = q + strcspn(q, "\"");
			if (*e != '"' || (size_t)(e - q) >= sizeof(code) ||
			    strspn(q, "abcdefghijklmnopqrstuvwxyz.-") != (size_t)(e - q))
				continue;
			memcpy(code, q, (size_t)(e - q));
			code[e - q] = '\0';
			for (k = 0; domaincheck_codes[k] != NULL; k++)
				if (strcmp(domaincheck_codes[k], code) == 0)
					known = true;
			if (!known)
				fail_msg("%s: \"%s\" is not in domaincheck_codes[]", files[i],
				         code);
			found++;
			p = (char *)e;
		}
		free(text);
	}
	/* the literal list itself holds every code: at least that many */
	for (k = 0; domaincheck_codes[k] != NULL; k++)
		;
	assert_true(found >= k);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tree_cases), cmocka_unit_test(test_tree_depth),
		cmocka_unit_test(test_tree_width), cmocka_unit_test(test_tree_unasked),
		cmocka_unit_test(test_names),      cmocka_unit_test(test_docs),
		cmocka_unit_test(test_sources),
	};

	if (argc > 1)
		source_root = argv[1];
	return cmocka_run_group_tests(tests, NULL, NULL);
}
