/*
 * authres_suite - run the Authentication-Results parser over
 * shared/conformance/authentication-results/authres-cases.yml (README
 * section 7); argv[1] is the conformance directory.
 *
 * Each case is parsed strictly: a valid case must give exactly the
 * expected authserv-id, version and results (names lower-cased, comments
 * dropped, quotes removed: what the parser returns), an invalid case must
 * be refused.  Invalid cases that carry a `lenient` expectation are also
 * parsed with AUTHRES_LENIENT and must then give that.  Every valid case
 * also goes through authres_format() and back through the parser, which
 * must give the same results again.  A case passes when all of its checks
 * do.  Output: `authres: N passed, N failed`; exit 1 on any failure.
 */
#include <libfyaml.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/authres.h"
#include "core/arena.h"
#include "core/buf.h"
#include "core/str.h"

static unsigned passed, failed;
static bool case_ok; /* every check of the current case held */

static void check(bool ok, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void check(bool ok, const char *fmt, ...)
{
	va_list ap;

	if (ok)
		return;
	case_ok = false;
	fprintf(stderr, "FAIL authres: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* scalar - the value of key in map; NULL when absent or YAML null */
static const char *scalar(struct fy_node *map, const char *key)
{
	struct fy_node *n = fy_node_mapping_lookup_by_string(map, key, FY_NT);
	const char *s;

	if (n == NULL || !fy_node_is_scalar(n))
		return NULL;
	s = fy_node_get_scalar0(n);
	if (s != NULL && strcmp(s, "null") == 0 && fy_node_get_style(n) == FYNS_PLAIN)
		return NULL;
	return s;
}

static bool same(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

static bool same_int(int got, const char *want)
{
	char tmp[32];

	if (want == NULL)
		return got < 0;
	snprintf(tmp, sizeof(tmp), "%d", got);
	return strcmp(tmp, want) == 0;
}

/* compare - got against the expectation node (authserv_id, version, results); a
 * description of the first difference in why */
static bool compare(const struct authres *got, struct fy_node *want, char *why, size_t whylen)
{
	struct fy_node *results = fy_node_mapping_lookup_by_string(want, "results", FY_NT);
	size_t i, j, n = (size_t)fy_node_sequence_item_count(results);

	if (!same(got->authserv_id, scalar(want, "authserv_id"))) {
		snprintf(why, whylen, "authserv-id %s", got->authserv_id);
		return false;
	}
	if (!same_int(got->version, scalar(want, "version"))) {
		snprintf(why, whylen, "version %d", got->version);
		return false;
	}
	if (got->nresults != n) {
		snprintf(why, whylen, "%zu results, want %zu", got->nresults, n);
		return false;
	}
	for (i = 0; i < n; i++) {
		struct fy_node *w = fy_node_sequence_get_by_index(results, (int)i);
		struct fy_node *props = fy_node_mapping_lookup_by_string(w, "props", FY_NT);
		const struct authres_result *r = &got->results[i];
		size_t np = props != NULL ? (size_t)fy_node_sequence_item_count(props) : 0;

		if (!same(r->method, scalar(w, "method")) ||
		    !same_int(r->method_version, scalar(w, "method_version")) ||
		    !same(r->result, scalar(w, "result")) ||
		    !same(r->reason, scalar(w, "reason")) || r->nprops != np) {
			snprintf(why, whylen, "result %zu: %s/%d=%s reason=%s (%zu props)", i,
			         r->method, r->method_version, r->result,
			         r->reason != NULL ? r->reason : "-", r->nprops);
			return false;
		}
		for (j = 0; j < np; j++) {
			struct fy_node *p = fy_node_sequence_get_by_index(props, (int)j);
			const struct authres_prop *g = &r->props[j];

			if (!same(g->ptype, scalar(p, "ptype")) ||
			    !same(g->property, scalar(p, "property")) ||
			    !same(g->value, scalar(p, "value"))) {
				snprintf(why, whylen, "result %zu prop %zu: %s.%s=%s", i, j,
				         g->ptype, g->property, g->value);
				return false;
			}
		}
	}
	return true;
}

/* strip_name - the value without a leading "Authentication-Results:" */
static const char *strip_name(const char *s)
{
	static const char name[] = "Authentication-Results:";

	if (str_ncasecmp(s, name, sizeof(name) - 1) == 0)
		return s + sizeof(name) - 1;
	return s;
}

/* round_trip - format what was parsed, parse that again: the same results */
static void round_trip(struct arena *a, const char *id, const struct authres *ar,
                       struct fy_node *want)
{
	struct authres again;
	struct sx_err err = { 0 };
	struct buf b;
	char why[512];

	buf_init(&b, 65536);
	if (authres_format(&b, ar, &(struct authres_format_opts){ .first_col = 24 }) < 0) {
		check(false, "case %s: format failed", id);
	} else if (authres_parse(&again, a, b.data, b.len, 0, &err) < 0) {
		check(false, "case %s: formatted value does not parse (%s): %s", id, err.msg,
		      b.data);
	} else {
		check(compare(&again, want, why, sizeof(why)), "case %s: after formatting: %s: %s",
		      id, why, b.data);
	}
	buf_free(&b);
}

int main(int argc, char **argv)
{
	char path[1024];
	struct fy_document *doc;
	struct fy_node *cases, *c;
	void *it = NULL;

	if (argc < 2) {
		fprintf(stderr, "usage: authres_suite CONFORMANCE-DIR\n");
		return 2;
	}
	snprintf(path, sizeof(path), "%s/authentication-results/authres-cases.yml", argv[1]);
	doc = fy_document_build_from_file(NULL, path);
	if (doc == NULL) {
		fprintf(stderr, "authres: cannot load %s\n", path);
		return 1;
	}
	cases = fy_node_by_path(fy_document_root(doc), "/cases", FY_NT, FYNWF_DONT_FOLLOW);
	while ((c = fy_node_sequence_iterate(cases, &it)) != NULL) {
		struct arena *a = arena_new();
		const char *id = scalar(c, "id"), *input = strip_name(scalar(c, "input"));
		const char *valid = scalar(c, "valid");
		struct fy_node *lenient = fy_node_mapping_lookup_by_string(c, "lenient", FY_NT);
		struct authres ar;
		struct sx_err err = { 0 };
		char why[512];
		int rc = authres_parse(&ar, a, input, strlen(input), 0, &err);

		case_ok = true;
		if (valid != NULL && strcmp(valid, "true") == 0) {
			if (rc < 0) {
				check(false, "case %s: refused: %s", id, err.msg);
			} else {
				check(compare(&ar, c, why, sizeof(why)), "case %s: %s", id, why);
				round_trip(a, id, &ar, c);
			}
		} else {
			check(rc < 0, "case %s: accepted an invalid value", id);
			if (lenient != NULL && fy_node_is_mapping(lenient)) {
				rc = authres_parse(&ar, a, input, strlen(input), AUTHRES_LENIENT,
				                   &err);
				if (rc < 0)
					check(false, "case %s: lenient: refused: %s", id, err.msg);
				else
					check(compare(&ar, lenient, why, sizeof(why)),
					      "case %s: lenient: %s", id, why);
			}
		}
		if (case_ok)
			passed++;
		else
			failed++;
		arena_free(a);
	}
	fy_document_destroy(doc);
	printf("authres: %u passed, %u failed\n", passed, failed);
	return failed > 0 ? 1 : 0;
}
