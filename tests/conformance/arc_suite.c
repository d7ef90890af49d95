/*
 * arc_suite - run ARC validation and sealing over the public suites in
 * shared/conformance (README sections 2 and 3c); argv[1] is that
 * directory.
 *
 *   arc-validation  arc-draft-validation-tests.yml: every test with an
 *                   expected cv must give it; the 3 tests upstream left
 *                   without one are run and reported as informational.
 *   arc-signing     arc-draft-sign-tests.yml: the AAR, AMS and AS made for
 *                   the next instance must equal the expected ones.  The
 *                   expected values are written folded in YAML, with
 *                   stray trailing blanks; they are compared after
 *                   unfolding: a line break after ';' is the separating
 *                   space, any other line break (inside b=) is nothing,
 *                   trailing blanks go.  Our values are compared
 *                   unfolded.  The cv comes from the arc= result of the
 *                   message's Authentication-Results, as the suite's
 *                   README intends; an expected empty set means no seal.
 *                   Each sealed message must then validate as pass (or,
 *                   after cv=fail, as fail).  A test passes when all of
 *                   its checks do.
 *   arc-stalwart    stalwart-mail-auth/arc/00[1-2].txt: the chain must
 *                   pass and at least one DKIM signature must pass.
 *
 * Messages use LF and are converted to CRLF.  Keys are served from
 * dns_zone (no event loop).  Output: `name: N passed, N failed` per
 * suite; exit 1 on any failure.
 */
#include <libfyaml.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/arc.h"
#include "auth/authres.h"
#include "auth/dkim.h"
#include "auth/dkim_sign.h"
#include "core/arena.h"
#include "core/buf.h"
#include "core/dns_zone.h"
#include "core/str.h"
#include "mime/raw.h"

/* the DKIM signatures of arc/002.txt date from 2023-01-19: verify them at
 * a time after every t= of the files (Stalwart does not check t=) */
#define STALWART_TIME 1700000000

static bool verbose;

struct suite {
	const char *name;
	unsigned passed, failed, info;
};

static void check(struct suite *s, bool ok, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void check(struct suite *s, bool ok, const char *fmt, ...)
{
	va_list ap;

	if (ok && !verbose) {
		s->passed++;
		return;
	}
	if (ok)
		s->passed++;
	else
		s->failed++;
	fprintf(stderr, "%s %s: ", ok ? "ok" : "FAIL", s->name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static const char *scalar(struct fy_node *map, const char *key)
{
	struct fy_node *n = fy_node_mapping_lookup_by_string(map, key, FY_NT);

	return n != NULL && fy_node_is_scalar(n) ? fy_node_get_scalar0(n) : NULL;
}

/* add_txt - one TXT record, split into 255-byte strings; YAML folding
 * may have left line breaks in the value: they are dropped */
static int add_txt(struct dns_zone *z, const char *owner, const char *txt)
{
	const char *strs[64];
	char chunk[64][256], clean[8192];
	size_t len = 0, n = 0, off, i;

	for (i = 0; txt[i] != '\0' && len + 1 < sizeof(clean); i++)
		if (txt[i] != '\n' && txt[i] != '\r')
			clean[len++] = txt[i];
	clean[len] = '\0';
	for (off = 0; off < len || n == 0; off += 255) {
		size_t l = len - off > 255 ? 255 : len - off;

		if (n >= 64)
			return -1;
		memcpy(chunk[n], clean + off, l);
		chunk[n][l] = '\0';
		strs[n] = chunk[n];
		n++;
		if (len == 0)
			break;
	}
	return dns_zone_add_txt(z, owner, strs, n);
}

static struct dns_zone *zone_from(struct fy_node *records)
{
	struct dns_zone *z = dns_zone_new();
	struct fy_node_pair *p;
	void *it = NULL;

	while (z != NULL && (p = fy_node_mapping_iterate(records, &it)) != NULL)
		add_txt(z, fy_node_get_scalar0(fy_node_pair_key(p)),
		        fy_node_get_scalar0(fy_node_pair_value(p)));
	return z;
}

/* to_crlf - a copy with every bare LF made CRLF (arena) */
static char *to_crlf(struct arena *a, const char *s, size_t len, size_t *out_len)
{
	char *out = arena_alloc(a, len * 2 + 1);
	size_t i, n = 0;

	if (out == NULL)
		return NULL;
	for (i = 0; i < len; i++) {
		if (s[i] == '\n' && (i == 0 || s[i - 1] != '\r'))
			out[n++] = '\r';
		out[n++] = s[i];
	}
	out[n] = '\0';
	*out_len = n;
	return out;
}

static void answer_all(struct arena *a, const struct dns_zone *z, struct dkim_query *const *q,
                       size_t n, int (*feed)(void *, const char *, const struct dns_answer *),
                       void *v)
{
	size_t i;

	for (i = 0; i < n; i++) {
		struct dns_answer ans;

		memset(&ans, 0, sizeof(ans));
		if (dns_zone_answer(z, a, q[i]->name, DNS_T_TXT, &ans) < 0) {
			memset(&ans, 0, sizeof(ans));
			ans.status = DNS_TIMEOUT;
		}
		feed(v, q[i]->name, &ans);
	}
}

static int feed_arc(void *v, const char *name, const struct dns_answer *ans)
{
	return arc_verify_answer(v, name, ans);
}

static int feed_dkim(void *v, const char *name, const struct dns_answer *ans)
{
	return dkim_verify_answer(v, name, ans);
}

/* validate - the ARC verdict for msg (NULL on an internal failure) */
static const struct arc_verdict *validate(struct arena *a, const struct dns_zone *z,
                                          const struct raw_message *m)
{
	struct arc_verify *v = arc_verify_new(a, m, NULL);
	struct dkim_query *const *q;
	size_t n;

	if (v == NULL)
		return NULL;
	n = arc_verify_queries(v, &q);
	answer_all(a, z, q, n, feed_arc, v);
	if (arc_verify_step(v) != ARC_STEP_DONE)
		return NULL;
	return arc_verify_verdict(v);
}

static const struct arc_verdict *validate_text(struct arena *a, const struct dns_zone *z,
                                               const char *msg, size_t len)
{
	struct raw_message *m = arena_alloc(a, sizeof(*m));
	struct sx_err err = { 0 };

	if (m == NULL || raw_message_parse(m, a, msg, len, NULL, &err) < 0)
		return NULL;
	return validate(a, z, m);
}

/* ---- validation suite ------------------------------------------------- */

/* overridden - the suite repeats a test name (as_fields_b_head_case): as
 * in most YAML loaders, the last one counts */
static bool overridden(struct fy_node *map, struct fy_node_pair *p)
{
	const char *name = fy_node_get_scalar0(fy_node_pair_key(p));
	struct fy_node_pair *q;
	void *it = NULL;
	bool after = false;

	while ((q = fy_node_mapping_iterate(map, &it)) != NULL) {
		if (q == p)
			after = true;
		else if (after && strcmp(fy_node_get_scalar0(fy_node_pair_key(q)), name) == 0)
			return true;
	}
	return false;
}

static void suite_validation(struct suite *s, const char *dir)
{
	char path[1024];
	struct fy_document *doc;
	struct fy_parser *fyp;
	struct fy_parse_cfg cfg = { .flags = FYPCF_QUIET | FYPCF_ALLOW_DUPLICATE_KEYS };

	snprintf(path, sizeof(path), "%s/arc-test-suite/arc-draft-validation-tests.yml", dir);
	fyp = fy_parser_create(&cfg);
	if (fyp == NULL || fy_parser_set_input_file(fyp, path) < 0) {
		check(s, false, "cannot load %s", path);
		fy_parser_destroy(fyp);
		return;
	}
	while ((doc = fy_parse_load_document(fyp)) != NULL) {
		struct fy_node *root = fy_document_root(doc);
		struct fy_node *tests = fy_node_mapping_lookup_by_string(root, "tests", FY_NT);
		struct dns_zone *z =
		    zone_from(fy_node_mapping_lookup_by_string(root, "txt-records", FY_NT));
		struct fy_node_pair *p;
		void *it = NULL;

		while ((p = fy_node_mapping_iterate(tests, &it)) != NULL) {
			struct arena *a;
			const char *name = fy_node_get_scalar0(fy_node_pair_key(p));
			struct fy_node *t = fy_node_pair_value(p);
			const char *msg = scalar(t, "message"), *cv = scalar(t, "cv");

			if (overridden(tests, p))
				continue;
			a = arena_new();
			/* libfyaml (0.7.12) reads cv_empty's empty block scalar as holding
			 * the next key: "message: |", an empty line, "cv: None" */
			if (cv == NULL && msg != NULL) {
				const char *k = msg + strspn(msg, "\n");

				if (strncmp(k, "cv:", 3) == 0) {
					cv = arena_strndup(
					    a, k + 3 + strspn(k + 3, " "),
					    strcspn(k + 3 + strspn(k + 3, " "), " \n"));
					msg = arena_strndup(a, msg, (size_t)(k - msg));
				}
			}
			const struct arc_verdict *vd;
			size_t len;
			char *crlf = msg != NULL ? to_crlf(a, msg, strlen(msg), &len) : NULL;

			vd = crlf != NULL ? validate_text(a, z, crlf, len) : NULL;
			if (vd == NULL) {
				check(s, false, "%s: internal failure", name);
			} else if (cv == NULL || *cv == '\0') {
				s->info++;
				fprintf(stderr, "info %s: %s: %s (%s); no expectation upstream\n",
				        s->name, name, arc_result_name(vd->result), vd->reason);
			} else {
				check(s, str_casecmp(cv, arc_result_name(vd->result)) == 0,
				      "%s: %s (%s), want %s", name, arc_result_name(vd->result),
				      vd->reason, cv);
			}
			arena_free(a);
		}
		dns_zone_free(z);
		fy_parse_document_destroy(fyp, doc);
	}
	fy_parser_destroy(fyp);
}

/* ---- signing suite ---------------------------------------------------- */

/* norm_expected - unfold an expected value as the YAML writes it */
static char *norm_expected(struct arena *a, const char *s)
{
	size_t len = strlen(s), i, n = 0;
	char *out = arena_alloc(a, len + 1);

	if (out == NULL)
		return NULL;
	for (i = 0; i < len;) {
		if (s[i] == ' ' || s[i] == '\t' || s[i] == '\r' || s[i] == '\n') {
			bool nl = false;
			size_t j = i;

			while (j < len &&
			       (s[j] == ' ' || s[j] == '\t' || s[j] == '\r' || s[j] == '\n'))
				nl |= s[j++] == '\n';
			if (j < len && n > 0 && (!nl || out[n - 1] == ';'))
				out[n++] = ' ';
			i = j;
			continue;
		}
		out[n++] = s[i++];
	}
	out[n] = '\0';
	return out;
}

static void suite_signing(struct suite *all, const char *dir)
{
	char path[1024];
	struct fy_document *doc;
	struct fy_parser *fyp;
	struct fy_parse_cfg cfg = { .flags = FYPCF_QUIET | FYPCF_ALLOW_DUPLICATE_KEYS };

	snprintf(path, sizeof(path), "%s/arc-test-suite/arc-draft-sign-tests.yml", dir);
	fyp = fy_parser_create(&cfg);
	if (fyp == NULL || fy_parser_set_input_file(fyp, path) < 0) {
		check(all, false, "cannot load %s", path);
		fy_parser_destroy(fyp);
		return;
	}
	while ((doc = fy_parse_load_document(fyp)) != NULL) {
		struct fy_node *root = fy_document_root(doc);
		struct fy_node *tests = fy_node_mapping_lookup_by_string(root, "tests", FY_NT);
		struct dns_zone *z =
		    zone_from(fy_node_mapping_lookup_by_string(root, "txt-records", FY_NT));
		const char *pem = scalar(root, "privatekey"), *domain = scalar(root, "domain");
		const char *sel = scalar(root, "sel");
		struct fy_node_pair *p;
		void *it = NULL;

		while ((p = fy_node_mapping_iterate(tests, &it)) != NULL) {
			/* every check of one test counts in one, the test in all */
			struct suite one = { all->name, 0, 0, 0 }, *s = &one;
			struct arena *a = arena_new();
			const char *name = fy_node_get_scalar0(fy_node_pair_key(p));
			struct fy_node *t = fy_node_pair_value(p);
			const char *msg = scalar(t, "message"), *ts = scalar(t, "t");
			const char *hdrs = scalar(t, "sig-headers"), *srv = scalar(t, "srv-id");
			const char *want_as = norm_expected(a, scalar(t, "AS"));
			const char *want_ams = norm_expected(a, scalar(t, "AMS"));
			const char *want_aar = norm_expected(a, scalar(t, "AAR"));
			struct dkim_signer signer;
			struct arc_seal_options o;
			struct arc_sealed out;
			struct raw_message m;
			struct authres ar;
			struct sx_err err = { 0 };
			const struct authres_result *arc_r;
			const char *hv[64];
			char *hcopy = arena_strdup(a, hdrs != NULL ? hdrs : "from"), *h;
			size_t len, nh = 0;
			uint64_t tv = 0;
			char *crlf = to_crlf(a, msg, strlen(msg), &len);
			int rc;

			for (h = hcopy; h != NULL && nh + 1 < 64;) {
				char *colon = strchr(h, ':');

				if (colon != NULL)
					*colon = '\0';
				hv[nh++] = h;
				h = colon != NULL ? colon + 1 : NULL;
			}
			hv[nh] = NULL;
			if (crlf == NULL || raw_message_parse(&m, a, crlf, len, NULL, &err) < 0 ||
			    dkim_signer_from_pem(&signer, a, pem, strlen(pem), domain, sel, &err) <
			        0 ||
			    ts == NULL || str_to_u64(ts, strlen(ts), 0, INT64_MAX, &tv) < 0 ||
			    arc_collect_results(a, &m, srv, &ar) < 0) {
				check(s, false, "%s: setup failed: %s", name, err.msg);
				all->failed++;
				arena_free(a);
				continue;
			}
			memset(&o, 0, sizeof(o));
			o.authserv_id = srv;
			o.results = &ar;
			o.headers = hv;
			o.timestamp = (int64_t)tv;
			o.cv = ARC_NONE;
			if ((arc_r = authres_find(&ar, "arc", NULL)) != NULL &&
			    arc_result_parse(arc_r->result, strlen(arc_r->result), &o.cv) < 0)
				o.cv = ARC_FAIL;
			rc = arc_seal(a, &m, &signer, &o, &out, &err);
			if (*want_as == '\0') {
				check(s, rc == 1, "%s: sealed (rc %d: %s), want no new set", name,
				      rc, err.msg);
			} else if (rc != 0) {
				check(s, false, "%s: not sealed (rc %d): %s", name, rc, err.msg);
			} else {
				struct buf b;
				const struct arc_verdict *vd;

				check(s, strcmp(out.aar_value, want_aar) == 0,
				      "%s: AAR\n  got  %s\n  want %s", name, out.aar_value,
				      want_aar);
				check(s, strcmp(out.ams_value, want_ams) == 0,
				      "%s: AMS\n  got  %s\n  want %s", name, out.ams_value,
				      want_ams);
				check(s, strcmp(out.as_value, want_as) == 0,
				      "%s: AS\n  got  %s\n  want %s", name, out.as_value, want_as);
				/* and what we sealed validates */
				buf_init(&b, BUF_CAP_FILE);
				if (buf_puts(&b, out.as) < 0 || buf_puts(&b, out.ams) < 0 ||
				    buf_puts(&b, out.aar) < 0 || buf_append(&b, crlf, len) < 0) {
					check(s, false, "%s: out of memory", name);
				} else {
					vd = validate_text(a, z, b.data, b.len);
					check(s,
					      vd != NULL &&
					          vd->result ==
					              (o.cv == ARC_FAIL ? ARC_FAIL : ARC_PASS),
					      "%s: the sealed message validates as %s (%s)", name,
					      vd != NULL ? arc_result_name(vd->result) : "-",
					      vd != NULL ? vd->reason : "");
				}
				buf_free(&b);
			}
			if (one.failed > 0)
				all->failed++;
			else
				all->passed++;
			arena_free(a);
		}
		dns_zone_free(z);
		fy_parse_document_destroy(fyp, doc);
	}
	fy_parser_destroy(fyp);
}

/* ---- stalwart --------------------------------------------------------- */

static void suite_stalwart(struct suite *s, const char *dir)
{
	int i;

	for (i = 1; i <= 2; i++) {
		struct arena *a = arena_new();
		struct dns_zone *z = dns_zone_new();
		struct buf file;
		char path[1024], *line, *end, *msg;
		size_t mlen, nd, j;
		struct raw_message m;
		struct sx_err err = { 0 };
		const struct arc_verdict *vd;
		const struct dkim_sig_result *dr;
		struct dkim_verify_options o;
		struct dkim_verify *dv;
		struct dkim_query *const *q;
		bool dkim_pass = false;

		snprintf(path, sizeof(path), "%s/stalwart-mail-auth/arc/%03d.txt", dir, i);
		buf_init(&file, BUF_CAP_FILE);
		if (buf_read_file(&file, path) < 0) {
			check(s, false, "cannot read %s", path);
			goto next;
		}
		/* "<fqdn> <TXT>" lines, a blank line, then the message */
		for (line = file.data; *line != '\0' && *line != '\n'; line = end + 1) {
			char *sp;

			end = strchr(line, '\n');
			if (end == NULL)
				break;
			*end = '\0';
			sp = strchr(line, ' ');
			if (sp != NULL) {
				*sp = '\0';
				add_txt(z, line, sp + 1);
			}
		}
		if (*line == '\n')
			line++;
		msg = to_crlf(a, line, file.len - (size_t)(line - file.data), &mlen);
		if (msg == NULL || raw_message_parse(&m, a, msg, mlen, NULL, &err) < 0) {
			check(s, false, "%03d.txt: cannot parse", i);
			goto next;
		}
		vd = validate(a, z, &m);
		dkim_verify_options_init(&o, STALWART_TIME);
		dv = dkim_verify_new(a, &m, &o);
		if (dv != NULL) {
			size_t nq = dkim_verify_queries(dv, &q);

			answer_all(a, z, q, nq, feed_dkim, dv);
			if (dkim_verify_step(dv) == DKIM_STEP_DONE) {
				nd = dkim_verify_results(dv, &dr);
				for (j = 0; j < nd; j++)
					dkim_pass |= dr[j].result == DKIM_PASS;
			}
		}
		check(s, vd != NULL && vd->result == ARC_PASS && dkim_pass,
		      "%03d.txt: arc=%s (%s), a DKIM signature passes: %s", i,
		      vd != NULL ? arc_result_name(vd->result) : "-", vd != NULL ? vd->reason : "",
		      dkim_pass ? "yes" : "no");
	next:
		buf_free(&file);
		dns_zone_free(z);
		arena_free(a);
	}
}

int main(int argc, char **argv)
{
	struct suite val = { "arc-validation", 0, 0, 0 }, sign = { "arc-signing", 0, 0, 0 };
	struct suite st = { "arc-stalwart", 0, 0, 0 };

	if (argc < 2) {
		fprintf(stderr, "usage: arc_suite CONFORMANCE-DIR [-v]\n");
		return 2;
	}
	verbose = argc > 2 && strcmp(argv[2], "-v") == 0;
	suite_validation(&val, argv[1]);
	suite_signing(&sign, argv[1]);
	suite_stalwart(&st, argv[1]);
	printf("%s: %u passed, %u failed, %u informational\n", val.name, val.passed, val.failed,
	       val.info);
	printf("%s: %u passed, %u failed\n", sign.name, sign.passed, sign.failed);
	printf("%s: %u passed, %u failed\n", st.name, st.passed, st.failed);
	return val.failed + sign.failed + st.failed > 0 ? 1 : 0;
}
