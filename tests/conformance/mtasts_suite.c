/*
 * mtasts_suite - transport/mtasts over shared/conformance/mta-sts/
 * mta-sts-cases.yml (README section 6a, from postfix-mta-sts-resolver)
 *
 *	mtasts_suite CONFORMANCE_DIR --dns-zone ZONE --port PORT --ca-file CA
 *
 * The zone, the HTTPS policy server on 127.0.0.1:PORT and the CA come
 * from mtasts_conformance.py, which builds them from the same file.
 *
 *   fetch_cases: mtasts_lookup() on a fresh, memory-only resolver per
 *     case; expect valid = a fetched policy equal to `policy`, none = no
 *     policy, fetch_error = MTASTS_FAILED (any TLS-RPT failure type).
 *   txt_parse_cases: mtasts_txt_tags() must give exactly the tag map.
 *   content_type_cases: mtasts_content_type_ok().
 *   nexthop_cases: Postfix next hops.  smexop has no socketmap; the
 *     concept that maps is "which policy domain does a destination have,
 *     and what does delivery then enforce".  mtasts_policy_domain() turns
 *     the next hop into the policy domain ([host], :port, trailing dot
 *     stripped; address literals and non-domains have none), the resolver
 *     gets the policy, and the Postfix answer is derived the way
 *     postfix-mta-sts-resolver does: enforce -> "OK secure match=<mx
 *     patterns joined by ':'> servername=hostname", testing -> NOTFOUND
 *     (with strict_testing the enforce answer), everything else NOTFOUND.
 *
 * Output: one line per case, then `N passed, N failed`; exit 1 on any
 * failure.
 */
#include <libfyaml.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "core/arena.h"
#include "core/dns.h"
#include "core/dns_zone.h"
#include "core/err.h"
#include "transport/mtasts.h"

static unsigned passed, failed;
static const char *zone_path, *ca_file;
static unsigned port;

static void result(bool ok, const char *list, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void result(bool ok, const char *list, const char *name, const char *fmt, ...)
{
	va_list ap;

	printf("%s %s %s: ", ok ? "ok  " : "FAIL", list, name);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	if (ok)
		passed++;
	else
		failed++;
}

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

/* ---- one lookup through the resolver ---- */

struct lookup {
	struct event_base *base;
	struct dns_zone *zone;
	struct dns *dns;
	struct mtasts *m;
	struct arena *arena;
	bool done;
	enum mtasts_status status;
	enum mtasts_failure failure;
	struct mtasts_policy policy; /* copied into arena */
	char reason[700];
};

static void on_result(const struct mtasts_result *r, void *arg)
{
	struct lookup *l = arg;
	size_t i;

	l->done = true;
	l->status = r->status;
	l->failure = r->failure;
	snprintf(l->reason, sizeof(l->reason), "%s", r->reason);
	if (r->policy != NULL) {
		l->policy = *r->policy;
		l->policy.mx = arena_array(l->arena, r->policy->nmx + 1, sizeof(char *));
		for (i = 0; l->policy.mx != NULL && i < r->policy->nmx; i++)
			l->policy.mx[i] = arena_strdup(l->arena, r->policy->mx[i]);
	}
}

/* run_lookup - a fresh memory-only resolver for domain; 0 or -1 (setup failed) */
static int run_lookup(struct lookup *l, const char *domain)
{
	struct mtasts_options o;
	struct sx_err err;

	memset(l, 0, sizeof(*l));
	l->base = event_base_new();
	l->zone = dns_zone_new();
	l->arena = arena_new();
	if (l->base == NULL || l->zone == NULL || l->arena == NULL ||
	    dns_zone_load_file(l->zone, zone_path, &err) < 0) {
		fprintf(stderr, "mtasts_suite: cannot load %s\n", zone_path);
		return -1;
	}
	l->dns = dns_new_zone(l->base, l->zone);
	memset(&o, 0, sizeof(o));
	o.base = l->base;
	o.dns = l->dns;
	o.ca_file = ca_file;
	o.port = port;
	o.fetch_timeout_ms = 10000;
	l->m = mtasts_new(&o, &err);
	if (l->m == NULL) {
		fprintf(stderr, "mtasts_suite: %s\n", err.msg);
		return -1;
	}
	if (mtasts_lookup(l->m, domain, on_result, l) == NULL)
		return -1;
	while (!l->done && event_base_loop(l->base, EVLOOP_ONCE) == 0)
		;
	return l->done ? 0 : -1;
}

static void lookup_free(struct lookup *l)
{
	mtasts_free(l->m);
	dns_free(l->dns);
	dns_zone_free(l->zone);
	event_base_free(l->base);
	arena_free(l->arena);
}

/* policy_equal - the parsed policy against the case's policy map */
static bool policy_equal(const struct mtasts_policy *p, struct fy_node *want, char *why,
                         size_t whysize)
{
	struct fy_node *mx = fy_node_mapping_lookup_by_string(want, "mx", FY_NT);
	const char *mode = scalar(want, "mode"), *age = scalar(want, "max_age"),
	           *version = scalar(want, "version");
	char got_age[16];
	size_t i, n = mx != NULL ? (size_t)fy_node_sequence_item_count(mx) : 0;

	snprintf(got_age, sizeof(got_age), "%u", p->max_age);
	if (version == NULL || strcmp(version, "STSv1") != 0 || mode == NULL ||
	    strcmp(mode, mtasts_mode_name(p->mode)) != 0 || age == NULL ||
	    strcmp(age, got_age) != 0 || n != p->nmx) {
		snprintf(why, whysize, "got mode %s max_age %u with %zu mx",
		         mtasts_mode_name(p->mode), p->max_age, p->nmx);
		return false;
	}
	for (i = 0; i < n; i++) {
		const char *w = fy_node_get_scalar0(fy_node_sequence_get_by_index(mx, (int)i));
		if (w == NULL || strcmp(w, p->mx[i]) != 0) {
			snprintf(why, whysize, "mx %zu is %s", i, p->mx[i]);
			return false;
		}
	}
	return true;
}

static struct fy_node *find_case(struct fy_node *cases, const char *domain)
{
	struct fy_node *c;
	void *it = NULL;

	while ((c = fy_node_sequence_iterate(cases, &it)) != NULL) {
		const char *d = scalar(c, "domain");
		if (d != NULL && strcmp(d, domain) == 0)
			return c;
	}
	return NULL;
}

static void fetch_cases(struct fy_node *cases)
{
	struct fy_node *c;
	void *it = NULL;

	while ((c = fy_node_sequence_iterate(cases, &it)) != NULL) {
		const char *domain = scalar(c, "domain"), *expect = scalar(c, "expect");
		const char *same = scalar(c, "same_as");
		struct fy_node *policy = fy_node_mapping_lookup_by_string(c, "policy", FY_NT);
		struct lookup l;
		char why[200] = "";
		bool ok;

		if (domain == NULL || expect == NULL) {
			result(false, "fetch", "?", "case without domain or expect");
			continue;
		}
		if (same != NULL && policy == NULL) {
			struct fy_node *base = find_case(cases, same);
			if (base != NULL)
				policy = fy_node_mapping_lookup_by_string(base, "policy", FY_NT);
		}
		if (run_lookup(&l, domain) < 0) {
			result(false, "fetch", domain, "the lookup did not complete");
			lookup_free(&l);
			continue;
		}
		if (strcmp(expect, "valid") == 0) {
			ok = l.status == MTASTS_POLICY && policy != NULL &&
			     policy_equal(&l.policy, policy, why, sizeof(why));
		} else if (strcmp(expect, "none") == 0) {
			ok = l.status == MTASTS_NONE;
		} else if (strcmp(expect, "fetch_error") == 0) {
			ok = l.status == MTASTS_FAILED;
		} else {
			ok = false;
			snprintf(why, sizeof(why), "unknown expectation");
		}
		result(ok, "fetch", domain, "expect %s, got %s%s%s%s (%s) %s", expect,
		       mtasts_status_name(l.status), l.status == MTASTS_POLICY ? " " : "",
		       l.status == MTASTS_POLICY ? mtasts_mode_name(l.policy.mode) : "",
		       l.failure != MTASTS_FAIL_NONE ? " " : "", l.reason,
		       l.failure != MTASTS_FAIL_NONE ? mtasts_failure_name(l.failure) : why);
		lookup_free(&l);
	}
}

static void txt_parse_cases(struct fy_node *cases)
{
	struct fy_node *c;
	void *it = NULL;

	while ((c = fy_node_sequence_iterate(cases, &it)) != NULL) {
		const char *rec = scalar(c, "record");
		struct fy_node *tags = fy_node_mapping_lookup_by_string(c, "tags", FY_NT);
		struct mtasts_tag got[16];
		int n, i, want = tags != NULL ? fy_node_mapping_item_count(tags) : 0;
		char label[80];
		bool ok;

		if (rec == NULL)
			rec = "";
		snprintf(label, sizeof(label), "'%s'", rec);
		n = mtasts_txt_tags(rec, strlen(rec), got, 16);
		ok = n == want;
		for (i = 0; ok && i < n; i++) {
			char name[64];
			const char *v;
			snprintf(name, sizeof(name), "%.*s", (int)got[i].name_len, got[i].name);
			v = scalar(tags, name);
			ok = v != NULL && strlen(v) == got[i].value_len &&
			     memcmp(v, got[i].value, got[i].value_len) == 0;
		}
		result(ok, "txt_parse", label, "%d tags (want %d)", n, want);
	}
}

static void content_type_cases(struct fy_node *cases)
{
	struct fy_node *c;
	void *it = NULL;

	while ((c = fy_node_sequence_iterate(cases, &it)) != NULL) {
		const char *ct = scalar(c, "content_type"), *want = scalar(c, "ok");
		bool got = mtasts_content_type_ok(ct);
		char label[120];

		snprintf(label, sizeof(label), "'%s'", ct != NULL ? ct : "");
		result(want != NULL && (strcmp(want, "true") == 0) == got, "content_type", label,
		       "%s", got ? "text/plain" : "refused");
	}
}

/* postfix_answer - what postfix-mta-sts-resolver answers for a lookup */
static void postfix_answer(const struct lookup *l, bool strict_testing, char *out, size_t outsize)
{
	size_t i, n;

	if (l->status != MTASTS_POLICY || l->policy.mode == MTASTS_MODE_NONE ||
	    (l->policy.mode == MTASTS_MODE_TESTING && !strict_testing)) {
		snprintf(out, outsize, "NOTFOUND");
		return;
	}
	snprintf(out, outsize, "OK secure match=");
	for (i = 0; i < l->policy.nmx; i++) {
		n = strlen(out);
		snprintf(out + n, outsize - n, "%s%s", i > 0 ? ":" : "", l->policy.mx[i]);
	}
	n = strlen(out);
	snprintf(out + n, outsize - n, " servername=hostname");
}

static void nexthop_cases(struct fy_node *cases)
{
	struct fy_node *c;
	void *it = NULL;

	while ((c = fy_node_sequence_iterate(cases, &it)) != NULL) {
		const char *hop = scalar(c, "nexthop"), *want = scalar(c, "answer");
		const char *want_strict = scalar(c, "answer_strict_testing");
		char domain[256], got[512] = "NOTFOUND", got_strict[512] = "NOTFOUND";
		struct lookup l;
		bool ok;

		if (hop == NULL || want == NULL) {
			result(false, "nexthop", "?", "case without nexthop or answer");
			continue;
		}
		if (mtasts_policy_domain(hop, domain, sizeof(domain)) == 0) {
			if (run_lookup(&l, domain) < 0) {
				result(false, "nexthop", hop, "the lookup did not complete");
				lookup_free(&l);
				continue;
			}
			postfix_answer(&l, false, got, sizeof(got));
			postfix_answer(&l, true, got_strict, sizeof(got_strict));
			lookup_free(&l);
		} else {
			snprintf(domain, sizeof(domain), "(none)");
		}
		ok = strcmp(got, want) == 0 &&
		     (want_strict == NULL || strcmp(got_strict, want_strict) == 0);
		result(ok, "nexthop", hop, "policy domain %s: %s%s%s", domain, got,
		       want_strict != NULL ? "; strict_testing: " : "",
		       want_strict != NULL ? got_strict : "");
	}
}

int main(int argc, char **argv)
{
	struct fy_document *doc;
	struct fy_node *root;
	char path[4096];
	int i;

	if (argc < 2) {
		fprintf(stderr, "usage: mtasts_suite CONFORMANCE_DIR --dns-zone ZONE --port PORT "
		                "--ca-file CA\n");
		return 2;
	}
	for (i = 2; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--dns-zone") == 0)
			zone_path = argv[i + 1];
		else if (strcmp(argv[i], "--ca-file") == 0)
			ca_file = argv[i + 1];
		else if (strcmp(argv[i], "--port") == 0)
			port = (unsigned)strtoul(argv[i + 1], NULL, 10);
	}
	snprintf(path, sizeof(path), "%s/mta-sts/mta-sts-cases.yml", argv[1]);
	doc = fy_document_build_from_file(NULL, path);
	if (doc == NULL) {
		fprintf(stderr, "mtasts_suite: cannot read %s\n", path);
		return 2;
	}
	root = fy_document_root(doc);
	txt_parse_cases(fy_node_mapping_lookup_by_string(root, "txt_parse_cases", FY_NT));
	content_type_cases(fy_node_mapping_lookup_by_string(root, "content_type_cases", FY_NT));
	if (zone_path == NULL || port == 0) {
		fprintf(stderr, "mtasts_suite: fetch and nexthop cases need --dns-zone and --port "
		                "(run it through mtasts_conformance.py)\n");
		failed++;
	} else {
		fetch_cases(fy_node_mapping_lookup_by_string(root, "fetch_cases", FY_NT));
		nexthop_cases(fy_node_mapping_lookup_by_string(root, "nexthop_cases", FY_NT));
	}
	fy_document_destroy(doc);
	printf("mta-sts: %u passed, %u failed\n", passed, failed);
	return failed > 0 ? 1 : 0;
}
