/*
 * dmarc_suite - the DMARC record and alignment cases of
 * shared/conformance/dmarc-records/dmarc-record-cases.yml (README 4a)
 * against auth/dmarc_record and dmarc_aligned(); argv[1] is the
 * conformance folder.  The Public Suffix List is the one in
 * publicsuffix/ next to it.
 *
 *   record_status_cases  the parse status (ok, empty, bad_version,
 *                        bad_value, no_required_p) and the effective p=
 *   parsed_record_cases  every field after defaults
 *   tag_value_cases      each value alone in an otherwise valid record:
 *                        valid when the record parses with status ok
 *                        (for rua/ruf: when the URI is kept)
 *   alignment_cases      dmarc_aligned(from, auth, mode)
 *
 * The expectations are three implementations' choices, not RFC text.
 * Where smexop chooses otherwise the case is listed in deviations[] with
 * the reason; such a case is counted as a deviation, not a failure (and a
 * listed deviation that starts passing is reported so the list is kept
 * honest).  Output: `dmarc-records: N passed, N failed, N deviations`;
 * exit 1 on any failure.
 */
#include <libfyaml.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/dmarc.h"
#include "auth/dmarc_record.h"
#include "core/arena.h"
#include "core/orgdomain.h"
#include "core/str.h"

struct deviation {
	const char *section;
	const char *key; /* the record, or "tag=value" */
	const char *why;
	bool seen;
};

static struct deviation deviations[] = {
	{ "record_status_cases", "v=DMARC1; p=n;",
	  "OpenDMARC accepts a prefix of 'none'; RFC 7489 6.3 and DMARCbis allow only the "
	  "three keywords, so p=n is an invalid p= (and without rua= the record is unusable)",
	  false },
	{ "parsed_record_cases",
	  "v=DMARC1; p=reject; ri = 3600; aspf=r; adkim =r; "
	  "rua=mailto:dmarc-feedback@example.com!10 K , mailto:user%20@example.com ! 2G;"
	  "ignore_me= true; fo=s; rf = AfrF; ",
	  "mail-auth drops '%20' from the address; we decode it (RFC 3986) and the result "
	  "'user @example.com' is not an address, so that URI is dropped (the other one is kept)",
	  false },
};

struct tally {
	unsigned passed, failed, deviated;
};

static struct deviation *find_deviation(const char *section, const char *key)
{
	size_t i;

	for (i = 0; i < sizeof(deviations) / sizeof(deviations[0]); i++)
		if (strcmp(deviations[i].section, section) == 0 &&
		    strcmp(deviations[i].key, key) == 0)
			return &deviations[i];
	return NULL;
}

static void result(struct tally *t, const char *section, const char *key, bool ok, const char *fmt,
                   ...) __attribute__((format(printf, 5, 6)));

static void result(struct tally *t, const char *section, const char *key, bool ok, const char *fmt,
                   ...)
{
	struct deviation *d = find_deviation(section, key);
	va_list ap;

	if (d != NULL)
		d->seen = true;
	if (ok) {
		t->passed++;
		if (d != NULL)
			printf("NOTE %s [%s]: listed as a deviation but passes\n", section, key);
		return;
	}
	if (d != NULL) {
		t->deviated++;
		printf("DEVIATION %s [%s]: %s\n", section, key, d->why);
		return;
	}
	t->failed++;
	printf("FAIL %s [%s]: ", section, key);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

static const char *scalar(struct fy_node *n, const char *path)
{
	struct fy_node *v = path != NULL ? fy_node_by_path(n, path, FY_NT, 0) : n;
	static char buf[4][1024];
	static unsigned k;
	const char *s;
	size_t len;

	if (v == NULL || !fy_node_is_scalar(v))
		return NULL;
	s = fy_node_get_scalar(v, &len);
	if (s == NULL || len >= sizeof(buf[0]))
		return NULL;
	k = (k + 1) % 4;
	memcpy(buf[k], s, len);
	buf[k][len] = '\0';
	return buf[k];
}

static void record_status(struct tally *t, struct fy_node *list)
{
	struct fy_node *item;
	void *it = NULL;

	while ((item = fy_node_sequence_iterate(list, &it)) != NULL) {
		const char *rec = scalar(item, "/record");
		const char *want = scalar(item, "/status");
		const char *eff = scalar(item, "/effective/p");
		struct dmarc_record r;
		char key[1024];
		bool ok;

		if (rec == NULL || want == NULL) {
			result(t, "record_status_cases", "?", false, "malformed case");
			continue;
		}
		snprintf(key, sizeof(key), "%s", rec);
		dmarc_record_parse(NULL, key, strlen(key), &r);
		ok = strcmp(dmarc_record_status_name(r.status), want) == 0;
		if (ok && eff != NULL)
			ok = r.usable && strcmp(dmarc_policy_name(r.p), eff) == 0;
		result(t, "record_status_cases", key, ok, "status %s (want %s), usable %d, p=%s",
		       dmarc_record_status_name(r.status), want, r.usable, dmarc_policy_name(r.p));
	}
}

static unsigned fo_bits(const char *s)
{
	unsigned r = 0;

	for (; *s != '\0'; s++)
		r |= *s == '0'   ? DMARC_FO_0
		     : *s == '1' ? DMARC_FO_1
		     : *s == 'd' ? DMARC_FO_D
		     : *s == 's' ? DMARC_FO_S
		                 : 0;
	return r;
}

/* uris_match - the expected [{addr, max_bytes}] list against ours */
static bool uris_match(struct fy_node *want, const struct dmarc_uri *u, size_t n, char *why,
                       size_t whysize)
{
	struct fy_node *item;
	void *it = NULL;
	size_t i = 0;

	while ((item = fy_node_sequence_iterate(want, &it)) != NULL) {
		const char *addr = scalar(item, "/addr"), *max = scalar(item, "/max_bytes");
		char got[64];
		if (i >= n) {
			snprintf(why, whysize, "URI %zu (%s) missing", i, addr ? addr : "?");
			return false;
		}
		snprintf(got, sizeof(got), "%llu", (unsigned long long)u[i].max_bytes);
		if (addr == NULL || max == NULL || u[i].addr == NULL ||
		    strcmp(addr, u[i].addr) != 0 || strcmp(max, got) != 0) {
			snprintf(why, whysize, "URI %zu: %s!%s, want %s!%s", i,
			         u[i].addr ? u[i].addr : "(none)", got, addr ? addr : "?",
			         max ? max : "?");
			return false;
		}
		i++;
	}
	if (i != n) {
		snprintf(why, whysize, "%zu URIs, want %zu", n, i);
		return false;
	}
	return true;
}

static void parsed_records(struct tally *t, struct arena *a, struct fy_node *list)
{
	struct fy_node *item;
	void *it = NULL;

	while ((item = fy_node_sequence_iterate(list, &it)) != NULL) {
		char key[1024], why[512] = "";
		const char *rec = scalar(item, "/record");
		struct fy_node *e = fy_node_by_path(item, "/expect", FY_NT, 0);
		struct dmarc_record r;
		const char *psd, *tv;
		bool ok = true;

		if (rec == NULL || e == NULL) {
			result(t, "parsed_record_cases", "?", false, "malformed case");
			continue;
		}
		snprintf(key, sizeof(key), "%s", rec);
		if (dmarc_record_parse(a, key, strlen(key), &r) < 0) {
			result(t, "parsed_record_cases", key, false, "unusable: %s",
			       dmarc_record_status_name(r.status));
			continue;
		}
#define CHECK(name, got)                                                                           \
	do {                                                                                       \
		const char *w_ = scalar(e, "/" name);                                              \
		if (ok && (w_ == NULL || str_casecmp(w_, got) != 0)) {                             \
			ok = false;                                                                \
			snprintf(why, sizeof(why), "%s=%s, want %s", name, got, w_ ? w_ : "?");    \
		}                                                                                  \
	} while (0)
		CHECK("v", "DMARC1");
		CHECK("p", dmarc_policy_name(r.p));
		CHECK("sp", dmarc_policy_name(r.sp));
		CHECK("np", dmarc_policy_name(r.np));
		CHECK("adkim", r.adkim == DMARC_ALIGN_STRICT ? "s" : "r");
		CHECK("aspf", r.aspf == DMARC_ALIGN_STRICT ? "s" : "r");
		psd = r.psd == DMARC_PSD_Y   ? "y"
		      : r.psd == DMARC_PSD_N ? "n"
		      : r.psd == DMARC_PSD_U ? "u"
		                             : "default";
		CHECK("psd", psd);
		CHECK("t", r.t ? "true" : "false");
#undef CHECK
		tv = scalar(e, "/fo");
		if (ok && (tv == NULL || fo_bits(tv) != r.fo)) {
			ok = false;
			snprintf(why, sizeof(why), "fo bits %#x, want %s", r.fo, tv ? tv : "?");
		}
		if (ok)
			ok = uris_match(fy_node_by_path(e, "/rua", FY_NT, 0), r.rua, r.nrua, why,
			                sizeof(why));
		if (ok)
			ok = uris_match(fy_node_by_path(e, "/ruf", FY_NT, 0), r.ruf, r.nruf, why,
			                sizeof(why));
		result(t, "parsed_record_cases", key, ok, "%s", why);
	}
}

static void tag_values(struct tally *t, struct fy_node *map)
{
	struct fy_node_pair *p;
	void *it = NULL;

	while ((p = fy_node_mapping_iterate(map, &it)) != NULL) {
		char tag[32];
		const char *ts = scalar(fy_node_pair_key(p), NULL);
		int pass;

		if (ts == NULL || strlen(ts) >= sizeof(tag))
			continue;
		snprintf(tag, sizeof(tag), "%s", ts);
		for (pass = 0; pass < 2; pass++) {
			struct fy_node *list = fy_node_by_path(
			    fy_node_pair_value(p), pass == 0 ? "/valid" : "/invalid", FY_NT, 0);
			struct fy_node *v;
			void *vit = NULL;

			while ((v = fy_node_sequence_iterate(list, &vit)) != NULL) {
				const char *val = scalar(v, NULL);
				char rec[512], key[128];
				struct dmarc_record r;
				bool valid;

				if (val == NULL)
					continue;
				if (strcmp(tag, "v") == 0)
					snprintf(rec, sizeof(rec), "v=%s; p=none", val);
				else if (strcmp(tag, "p") == 0)
					snprintf(rec, sizeof(rec), "v=DMARC1; p=%s", val);
				else
					snprintf(rec, sizeof(rec), "v=DMARC1; p=none; %s=%s", tag,
					         val);
				dmarc_record_parse(NULL, rec, strlen(rec), &r);
				if (strcmp(tag, "rua") == 0)
					valid = r.nrua > 0;
				else if (strcmp(tag, "ruf") == 0)
					valid = r.nruf > 0;
				else
					valid = r.status == DMARC_RECORD_OK;
				snprintf(key, sizeof(key), "%s=%s", tag, val);
				result(t, "tag_value_cases", key, valid == (pass == 0),
				       "%s (status %s)", valid ? "accepted" : "rejected",
				       dmarc_record_status_name(r.status));
			}
		}
	}
}

static void alignment(struct tally *t, const struct orgdomain *psl, struct fy_node *list)
{
	struct fy_node *item;
	void *it = NULL;

	while ((item = fy_node_sequence_iterate(list, &it)) != NULL) {
		char from[256], auth[256], key[600];
		const char *f = scalar(item, "/from_domain"), *x = scalar(item, "/auth_domain");
		const char *mode = scalar(item, "/mode"), *want = scalar(item, "/aligned");
		bool got;

		if (f == NULL || x == NULL || mode == NULL || want == NULL) {
			result(t, "alignment_cases", "?", false, "malformed case");
			continue;
		}
		snprintf(from, sizeof(from), "%s", f);
		snprintf(auth, sizeof(auth), "%s", x);
		snprintf(key, sizeof(key), "%s %s %s", from, auth, mode);
		got = dmarc_aligned(psl, from, auth,
		                    strcmp(mode, "strict") == 0 ? DMARC_ALIGN_STRICT
		                                                : DMARC_ALIGN_RELAXED);
		result(t, "alignment_cases", key, got == (strcmp(want, "true") == 0), "aligned=%s",
		       got ? "true" : "false");
	}
}

int main(int argc, char **argv)
{
	char path[4096];
	struct fy_document *doc;
	struct fy_node *root;
	struct orgdomain *psl;
	struct sx_err err = { 0 };
	struct tally t = { 0 };
	struct arena *a;
	size_t i;

	if (argc < 2) {
		fprintf(stderr, "usage: dmarc_suite CONFORMANCE-DIR\n");
		return 2;
	}
	snprintf(path, sizeof(path), "%s/publicsuffix/public_suffix_list.dat", argv[1]);
	psl = orgdomain_load(path, false, &err);
	snprintf(path, sizeof(path), "%s/dmarc-records/dmarc-record-cases.yml", argv[1]);
	doc = fy_document_build_from_file(NULL, path);
	if (psl == NULL || doc == NULL) {
		fprintf(stderr, "dmarc_suite: cannot load %s\n", psl == NULL ? err.msg : path);
		return 1;
	}
	a = arena_new();
	root = fy_document_root(doc);
	record_status(&t, fy_node_by_path(root, "/record_status_cases", FY_NT, 0));
	parsed_records(&t, a, fy_node_by_path(root, "/parsed_record_cases", FY_NT, 0));
	tag_values(&t, fy_node_by_path(root, "/tag_value_cases", FY_NT, 0));
	alignment(&t, psl, fy_node_by_path(root, "/alignment_cases", FY_NT, 0));
	for (i = 0; i < sizeof(deviations) / sizeof(deviations[0]); i++)
		if (!deviations[i].seen) {
			printf("FAIL listed deviation not in the suite: %s [%s]\n",
			       deviations[i].section, deviations[i].key);
			t.failed++;
		}
	printf("dmarc-records: %u passed, %u failed, %u deviations (listed above)\n", t.passed,
	       t.failed, t.deviated);
	fy_document_destroy(doc);
	arena_free(a);
	orgdomain_free(psl);
	return t.failed > 0 || t.passed == 0 ? 1 : 0;
}
