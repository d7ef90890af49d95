/*
 * tlsrpt_suite - every TLS-RPT report of the shared conformance folder
 * (README 6b: tlsrpt-samples/parsedmarc/, and stalwart-mail-auth/tlsrpt/)
 * through report/tlsrpt's import.
 *
 * A report file is X.json, X.json.gz or X.eml.  The expected parse is
 * X.json next to an X.eml (stalwart's expectations), else the JSON
 * sample itself; either way the report we parsed, written back as JSON,
 * is compared field by field with it after both are brought to one
 * form (mx-host as a list, absent lists empty, absent counts 0, times
 * in seconds).  A mail sample without an expectation must give at least
 * one report.  One line per case (PASS or FAIL name: why), then
 * `tlsrpt: N passed, N failed`; exit 1 on any failure.  argv[1] is the
 * conformance folder.
 */
#include <dirent.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/arena.h"
#include "core/buf.h"
#include "report/tlsrpt.h"

static unsigned passed, failed;

/* ---- one canonical form ------------------------------------------------------ */

static json_t *canon_str(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);
	return json_is_string(v) ? json_copy(v) : json_string("");
}

static json_t *canon_int(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);
	return json_integer(json_is_integer(v) ? json_integer_value(v) : 0);
}

static json_t *canon_list(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key), *l = json_array();
	if (json_is_string(v))
		json_array_append(l, v);
	else if (json_is_array(v))
		json_array_extend(l, v);
	return l;
}

static json_t *canon_time(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);
	int64_t t;

	if (!json_is_string(v) || tlsrpt_time_parse(json_string_value(v), &t) < 0)
		return json_string("(bad time)");
	return json_integer((json_int_t)t);
}

static json_t *canon(json_t *r)
{
	static const char *const fstr[] = { "result-type",           "sending-mta-ip",
		                            "receiving-mx-hostname", "receiving-mx-helo",
		                            "receiving-ip",          "additional-information",
		                            "failure-reason-code" };
	json_t *c = json_object(), *pols = json_array(), *p, *f;
	json_t *dr = json_object_get(r, "date-range");
	size_t i, j, k;

	json_object_set_new(c, "organization-name", canon_str(r, "organization-name"));
	json_object_set_new(c, "contact-info", canon_str(r, "contact-info"));
	json_object_set_new(c, "report-id", canon_str(r, "report-id"));
	json_object_set_new(c, "start-datetime", canon_time(dr, "start-datetime"));
	json_object_set_new(c, "end-datetime", canon_time(dr, "end-datetime"));
	json_array_foreach(json_object_get(r, "policies"), i, p)
	{
		json_t *pol = json_object_get(p, "policy"), *sum = json_object_get(p, "summary");
		json_t *cp = json_object(), *fds = json_array();
		json_object_set_new(cp, "policy-type", canon_str(pol, "policy-type"));
		json_object_set_new(cp, "policy-domain", canon_str(pol, "policy-domain"));
		json_object_set_new(cp, "policy-string", canon_list(pol, "policy-string"));
		json_object_set_new(cp, "mx-host", canon_list(pol, "mx-host"));
		json_object_set_new(cp, "total-successful-session-count",
		                    canon_int(sum, "total-successful-session-count"));
		json_object_set_new(cp, "total-failure-session-count",
		                    canon_int(sum, "total-failure-session-count"));
		json_array_foreach(json_object_get(p, "failure-details"), j, f)
		{
			json_t *cf = json_object();
			for (k = 0; k < sizeof(fstr) / sizeof(fstr[0]); k++)
				json_object_set_new(cf, fstr[k], canon_str(f, fstr[k]));
			json_object_set_new(cf, "failed-session-count",
			                    canon_int(f, "failed-session-count"));
			json_array_append_new(fds, cf);
		}
		json_object_set_new(cp, "failure-details", fds);
		json_array_append_new(pols, cp);
	}
	json_object_set_new(c, "policies", pols);
	return c;
}

/* diff - the path of the first difference of canonical a and b into why */
static bool diff(json_t *a, json_t *b, const char *path, char *why, size_t size)
{
	char sub[512];
	const char *key;
	json_t *v;
	size_t i;

	if (json_equal(a, b))
		return false;
	if (json_is_object(a) && json_is_object(b)) {
		json_object_foreach(a, key, v)
		{
			snprintf(sub, sizeof(sub), "%s.%s", path, key);
			if (diff(v, json_object_get(b, key), sub, why, size))
				return true;
		}
	} else if (json_is_array(a) && json_is_array(b) &&
	           json_array_size(a) == json_array_size(b)) {
		json_array_foreach(a, i, v)
		{
			snprintf(sub, sizeof(sub), "%s[%zu]", path, i);
			if (diff(v, json_array_get(b, i), sub, why, size))
				return true;
		}
	}
	char *x = a ? json_dumps(a, JSON_ENCODE_ANY | JSON_COMPACT) : NULL;
	char *y = b ? json_dumps(b, JSON_ENCODE_ANY | JSON_COMPACT) : NULL;
	snprintf(why, size, "%s: got %.120s, want %.120s", path, x ? x : "(none)",
	         y ? y : "(none)");
	free(x);
	free(y);
	return true;
}

/* ---- cases -------------------------------------------------------------------------- */

static void result(bool ok, const char *name, const char *why)
{
	if (ok) {
		passed++;
		printf("PASS %s\n", name);
	} else {
		failed++;
		printf("FAIL %s: %s\n", name, why);
	}
}

static bool ends_with(const char *s, const char *suf)
{
	size_t n = strlen(s), m = strlen(suf);
	return n >= m && strcmp(s + n - m, suf) == 0;
}

static void run_case(const char *dir, const char *file, const char *label)
{
	char path[4096], exp_path[4096], why[1024] = "";
	struct arena *a = arena_new();
	struct store_tlsrpt_report *r = NULL;
	struct sx_err err = { 0 };
	struct buf b, e;
	json_t *want = NULL, *got = NULL;
	size_t n = 0;
	bool ok = false, have_exp = false;
	char name[512];

	snprintf(name, sizeof(name), "%s/%s", label, file);
	snprintf(path, sizeof(path), "%s/%s", dir, file);
	buf_init(&b, BUF_CAP_FILE);
	buf_init(&e, BUF_CAP_FILE);
	if (ends_with(file, ".eml")) {
		snprintf(exp_path, sizeof(exp_path), "%s/%.*s.json", dir, (int)(strlen(file) - 4),
		         file);
		have_exp = access(exp_path, R_OK) == 0;
	} else if (ends_with(file, ".json")) {
		snprintf(exp_path, sizeof(exp_path), "%s", path);
		have_exp = true;
	}
	if (buf_read_file(&b, path) < 0) {
		snprintf(why, sizeof(why), "cannot read");
		goto out;
	}
	if (tlsrpt_import_parse(a, file, (const unsigned char *)b.data, b.len, 0, &r, &n, &err) <
	    0) {
		snprintf(why, sizeof(why), "%s", err.msg);
		goto out;
	}
	if (n != 1) {
		snprintf(why, sizeof(why), "%zu reports, want 1", n);
		goto out;
	}
	if (!have_exp) {
		ok = r[0].org_name != NULL && r[0].report_id != NULL;
		if (!ok)
			snprintf(why, sizeof(why), "no organization-name or report-id");
		goto out;
	}
	json_error_t je;
	json_t *wj = json_load_file(exp_path, 0, &je);
	char *mine = tlsrpt_report_json(a, &r[0], NULL);
	json_t *gj = mine ? json_loads(mine, 0, &je) : NULL;
	if (wj == NULL || gj == NULL) {
		snprintf(why, sizeof(why), "JSON: %s", je.text);
		json_decref(wj);
		json_decref(gj);
		goto out;
	}
	want = canon(wj);
	got = canon(gj);
	json_decref(wj);
	json_decref(gj);
	ok = !diff(got, want, "", why, sizeof(why));
out:
	result(ok, name, why);
	json_decref(want);
	json_decref(got);
	buf_free(&b);
	buf_free(&e);
	arena_free(a);
}

static int cmp(const void *x, const void *y)
{
	return strcmp(*(char *const *)x, *(char *const *)y);
}

/* run_dir - every report file of dir: *.eml, and *.json that is not an
 * expectation (an .eml of the same stem) */
static void run_dir(const char *dir, const char *label)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char *names[256];
	size_t n = 0, i;

	if (d == NULL) {
		failed++;
		printf("FAIL %s: cannot open %s\n", label, dir);
		return;
	}
	while ((de = readdir(d)) != NULL && n < 256) {
		const char *f = de->d_name;
		char eml[4096];
		if (f[0] == '.')
			continue;
		if (ends_with(f, ".json")) {
			snprintf(eml, sizeof(eml), "%s/%.*s.eml", dir, (int)(strlen(f) - 5), f);
			if (access(eml, R_OK) == 0)
				continue; /* an expectation */
		} else if (!ends_with(f, ".eml") && !ends_with(f, ".json.gz")) {
			continue;
		}
		names[n++] = strdup(f);
	}
	closedir(d);
	qsort(names, n, sizeof(names[0]), cmp);
	for (i = 0; i < n; i++) {
		run_case(dir, names[i], label);
		free(names[i]);
	}
}

int main(int argc, char **argv)
{
	char dir[4096];

	if (argc < 2) {
		fprintf(stderr, "usage: tlsrpt_suite CONFORMANCE-DIR\n");
		return 2;
	}
	snprintf(dir, sizeof(dir), "%s/tlsrpt-samples/parsedmarc", argv[1]);
	run_dir(dir, "parsedmarc");
	snprintf(dir, sizeof(dir), "%s/stalwart-mail-auth/tlsrpt", argv[1]);
	run_dir(dir, "stalwart");
	printf("tlsrpt: %u passed, %u failed\n", passed, failed);
	return failed ? 1 : 0;
}
