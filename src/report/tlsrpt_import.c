/*
 * tlsrpt_import - read the TLS-RPT reports other senders send us
 * (RFC 8460 4.4) into store structures
 *
 * A file is sniffed, not trusted by its name: gzip (magic 1f 8b), JSON
 * (first '{'), or else a mail whose leaves are sniffed in turn, a few
 * levels deep at most (report_util.h: report_import_any).  Decompression
 * is capped at max_size; the JSON's nesting is measured before jansson
 * sees it, and every list and string has a cap (tlsrpt.h).  Unknown members are ignored; unknown
 * policy and result types are kept as written.
 */
#include <jansson.h>
#include <string.h>
#include <time.h>

#include "core/arena.h"
#include "core/str.h"
#include "mime/multipart.h"
#include "report/report_util.h"
#include "report/tlsrpt.h"

/* ---- time --------------------------------------------------------------------- */

static int digits(const char *s, size_t n, uint64_t min, uint64_t max, uint64_t *out)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!str_is_digit((unsigned char)s[i]))
			return -1;
	return str_to_u64(s, n, min, max, out);
}

int tlsrpt_time_parse(const char *s, int64_t *out)
{
	uint64_t y, mo, d, h, mi, sec, oh, om;
	struct tm tm = { 0 };
	size_t n = s ? strlen(s) : 0, i = 19;
	int64_t t, off = 0;

	if (n < 20 || digits(s, 4, 1970, 9999, &y) < 0 || s[4] != '-' ||
	    digits(s + 5, 2, 1, 12, &mo) < 0 || s[7] != '-' || digits(s + 8, 2, 1, 31, &d) < 0 ||
	    (s[10] != 'T' && s[10] != 't' && s[10] != ' ') || digits(s + 11, 2, 0, 23, &h) < 0 ||
	    s[13] != ':' || digits(s + 14, 2, 0, 59, &mi) < 0 || s[16] != ':' ||
	    digits(s + 17, 2, 0, 60, &sec) < 0)
		return -1;
	if (s[i] == '.') {
		for (i++; i < n && str_is_digit((unsigned char)s[i]); i++)
			;
		if (i == 20)
			return -1;
	}
	if (i + 1 == n && (s[i] == 'Z' || s[i] == 'z')) {
		off = 0;
	} else if (i + 6 == n && (s[i] == '+' || s[i] == '-') && s[i + 3] == ':' &&
	           digits(s + i + 1, 2, 0, 23, &oh) == 0 && digits(s + i + 4, 2, 0, 59, &om) == 0) {
		off = (int64_t)(oh * 3600 + om * 60);
		if (s[i] == '-')
			off = -off;
	} else {
		return -1;
	}
	tm.tm_year = (int)y - 1900;
	tm.tm_mon = (int)mo - 1;
	tm.tm_mday = (int)d;
	tm.tm_hour = (int)h;
	tm.tm_min = (int)mi;
	tm.tm_sec = sec == 60 ? 59 : (int)sec;
	t = (int64_t)timegm(&tm);
	if (t == -1)
		return -1;
	*out = t - off;
	return 0;
}

/* ---- JSON --------------------------------------------------------------------------- */

/* json_depth_ok - the nesting of arrays and objects stays within max */
static bool json_depth_ok(const char *s, size_t len, unsigned max)
{
	unsigned depth = 0;
	bool in_str = false;
	size_t i;

	for (i = 0; i < len; i++) {
		char c = s[i];
		if (in_str) {
			if (c == '\\')
				i++;
			else if (c == '"')
				in_str = false;
			continue;
		}
		if (c == '"') {
			in_str = true;
		} else if (c == '{' || c == '[') {
			if (++depth > max)
				return false;
		} else if ((c == '}' || c == ']') && depth > 0) {
			depth--;
		}
	}
	return true;
}

struct jctx {
	struct arena *a;
	struct sx_err *err;
	bool failed;
};

static void jfail(struct jctx *j, const char *fmt, const char *what)
{
	if (!j->failed)
		sx_err_set(j->err, fmt, what);
	j->failed = true;
}

/* jget_str - member key as an arena string; NULL when absent (or not a
 * string: an error when required or mistyped) */
static const char *jget_str(struct jctx *j, json_t *o, const char *key, bool required)
{
	json_t *v = json_object_get(o, key);
	const char *s;
	size_t n;

	if (v == NULL || json_is_null(v)) {
		if (required)
			jfail(j, "\"%s\" is missing", key);
		return NULL;
	}
	if (!json_is_string(v)) {
		jfail(j, "\"%s\" is not a string", key);
		return NULL;
	}
	s = json_string_value(v);
	n = json_string_length(v);
	if (n > TLSRPT_MAX_STRING) {
		jfail(j, "\"%s\" is too long", key);
		return NULL;
	}
	char *d = arena_strndup(j->a, s, n);
	if (d == NULL)
		jfail(j, "%s: out of memory", key);
	return d;
}

static uint64_t jget_count(struct jctx *j, json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);
	json_int_t n;

	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_integer(v)) {
		jfail(j, "\"%s\" is not an integer", key);
		return 0;
	}
	n = json_integer_value(v);
	if (n < 0 || (uint64_t)n > TLSRPT_MAX_COUNT) {
		jfail(j, "\"%s\" is out of range", key);
		return 0;
	}
	return (uint64_t)n;
}

/* jget_list - a string or a list of strings */
static const char *const *jget_list(struct jctx *j, json_t *o, const char *key, size_t *n)
{
	json_t *v = json_object_get(o, key);
	const char **w;
	size_t i, k;

	*n = 0;
	if (v == NULL || json_is_null(v))
		return NULL;
	if (json_is_string(v)) {
		w = arena_array(j->a, 1, sizeof(*w));
		if (w == NULL || (w[0] = jget_str(j, o, key, true)) == NULL)
			return NULL;
		*n = 1;
		return w;
	}
	if (!json_is_array(v)) {
		jfail(j, "\"%s\" is neither a string nor a list", key);
		return NULL;
	}
	k = json_array_size(v);
	if (k > TLSRPT_MAX_STRINGS) {
		jfail(j, "\"%s\" has too many entries", key);
		return NULL;
	}
	if (k == 0)
		return NULL;
	w = arena_array(j->a, k, sizeof(*w));
	if (w == NULL) {
		jfail(j, "%s: out of memory", key);
		return NULL;
	}
	for (i = 0; i < k; i++) {
		json_t *e = json_array_get(v, i);
		if (!json_is_string(e) || json_string_length(e) > TLSRPT_MAX_STRING) {
			jfail(j, "\"%s\" holds something else than a short string", key);
			return NULL;
		}
		w[i] = arena_strndup(j->a, json_string_value(e), json_string_length(e));
		if (w[i] == NULL) {
			jfail(j, "%s: out of memory", key);
			return NULL;
		}
	}
	*n = k;
	return w;
}

static int import_failure(struct jctx *j, json_t *d, struct store_tlsrpt_failure *f)
{
	if (!json_is_object(d)) {
		jfail(j, "%s: an entry is not an object", "failure-details");
		return -1;
	}
	f->result_type = jget_str(j, d, "result-type", true);
	f->sending_mta_ip = jget_str(j, d, "sending-mta-ip", false);
	f->receiving_mx_hostname = jget_str(j, d, "receiving-mx-hostname", false);
	f->receiving_mx_helo = jget_str(j, d, "receiving-mx-helo", false);
	f->receiving_ip = jget_str(j, d, "receiving-ip", false);
	f->additional_information = jget_str(j, d, "additional-information", false);
	f->failure_reason_code = jget_str(j, d, "failure-reason-code", false);
	f->count = jget_count(j, d, "failed-session-count");
	return j->failed ? -1 : 0;
}

static int import_policy(struct jctx *j, json_t *e, struct store_tlsrpt_policy *p)
{
	json_t *pol, *sum, *fd;
	struct store_tlsrpt_failure *f;
	size_t i, n;

	if (!json_is_object(e) || !json_is_object(pol = json_object_get(e, "policy"))) {
		jfail(j, "%s: an entry without a \"policy\" object", "policies");
		return -1;
	}
	p->policy_type = jget_str(j, pol, "policy-type", true);
	p->policy_domain = jget_str(j, pol, "policy-domain", false);
	p->policy_string = jget_list(j, pol, "policy-string", &p->npolicy_string);
	p->mx_host = jget_list(j, pol, "mx-host", &p->nmx_host);
	sum = json_object_get(e, "summary");
	if (sum != NULL && !json_is_object(sum)) {
		jfail(j, "\"%s\" is not an object", "summary");
		return -1;
	}
	if (sum != NULL) {
		p->successful = jget_count(j, sum, "total-successful-session-count");
		p->failed = jget_count(j, sum, "total-failure-session-count");
	}
	fd = json_object_get(e, "failure-details");
	if (fd != NULL && !json_is_null(fd)) {
		if (!json_is_array(fd)) {
			jfail(j, "\"%s\" is not a list", "failure-details");
			return -1;
		}
		n = json_array_size(fd);
		if (n > TLSRPT_MAX_DETAILS) {
			jfail(j, "more than %s failure details in a policy", "10000");
			return -1;
		}
		f = n ? arena_array(j->a, n, sizeof(*f)) : NULL;
		if (n > 0 && f == NULL) {
			jfail(j, "%s: out of memory", "failure-details");
			return -1;
		}
		for (i = 0; i < n; i++)
			if (import_failure(j, json_array_get(fd, i), &f[i]) < 0)
				return -1;
		p->failures = f;
		p->nfailures = n;
	}
	return j->failed ? -1 : 0;
}

int tlsrpt_import_json(struct arena *a, const char *json, size_t len, struct store_tlsrpt_report *r,
                       struct sx_err *err)
{
	struct jctx j = { .a = a, .err = err };
	json_error_t je;
	json_t *root = NULL, *dr, *pols;
	struct store_tlsrpt_policy *p = NULL;
	const char *start, *end;
	size_t i, n;
	int ret = -1;

	memset(r, 0, sizeof(*r));
	if (!json_depth_ok(json, len, TLSRPT_MAX_JSON_DEPTH)) {
		sx_err_set(err, "JSON nested more than %d levels", TLSRPT_MAX_JSON_DEPTH);
		return -1;
	}
	root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &je);
	if (root == NULL) {
		sx_err_set(err, "JSON: %s (line %d, column %d)", je.text, je.line, je.column);
		return -1;
	}
	if (!json_is_object(root)) {
		sx_err_set(err, "JSON: the report is not an object");
		goto out;
	}
	r->org_name = jget_str(&j, root, "organization-name", true);
	r->contact_info = jget_str(&j, root, "contact-info", false);
	r->report_id = jget_str(&j, root, "report-id", true);
	dr = json_object_get(root, "date-range");
	if (!j.failed && !json_is_object(dr)) {
		jfail(&j, "\"%s\" is missing or not an object", "date-range");
		goto out;
	}
	start = jget_str(&j, dr, "start-datetime", true);
	end = jget_str(&j, dr, "end-datetime", true);
	if (j.failed)
		goto out;
	if (tlsrpt_time_parse(start, &r->begin) < 0 || tlsrpt_time_parse(end, &r->end) < 0) {
		sx_err_set(err, "date-range: not RFC 3339 date-times: '%.40s' '%.40s'", start, end);
		goto out;
	}
	pols = json_object_get(root, "policies");
	if (!json_is_array(pols)) {
		sx_err_set(err, "\"policies\" is missing or not a list");
		goto out;
	}
	n = json_array_size(pols);
	if (n > TLSRPT_MAX_POLICIES) {
		sx_err_set(err, "more than %d policies", TLSRPT_MAX_POLICIES);
		goto out;
	}
	if (n > 0 && (p = arena_array(a, n, sizeof(*p))) == NULL) {
		sx_err_set(err, "out of memory");
		goto out;
	}
	for (i = 0; i < n; i++) {
		memset(&p[i], 0, sizeof(p[i]));
		if (import_policy(&j, json_array_get(pols, i), &p[i]) < 0)
			goto out;
	}
	r->policies = p;
	r->npolicies = n;
	ret = 0;
out:
	json_decref(root);
	return ret;
}

/* ---- sniffing ----------------------------------------------------------------------- */

/* import_json - a JSON report (first '{') */
static int import_json(struct report_import *ri, const unsigned char *data, size_t len, size_t i,
                       unsigned depth, struct sx_err *err)
{
	struct store_tlsrpt_report r;

	(void)depth;
	if (data[i] != '{')
		return 0;
	if (len - i > ri->max_size) {
		sx_err_set(err, "JSON larger than %zu bytes", ri->max_size);
		return -1;
	}
	if (tlsrpt_import_json(ri->a, (const char *)data + i, len - i, &r, err) < 0)
		return -1;
	r.source = ri->name;
	if (report_import_add(ri, &r) < 0) {
		sx_err_set(err, "out of memory");
		return -1;
	}
	return 1;
}

/* import_leaf - a MIME leaf that may hold a report: by type or name */
static bool import_leaf(const struct multipart_leaf *leaf)
{
	const char *t = leaf->type, *f = leaf->filename;
	size_t flen = f ? strlen(f) : 0;

	return strncmp(t, "application/tlsrpt", 18) == 0 || strstr(t, "gzip") != NULL ||
	       strcmp(t, "application/json") == 0 || strcmp(t, "application/octet-stream") == 0 ||
	       (f != NULL &&
	        (str_case_suffix(f, flen, ".json", 5) || str_case_suffix(f, flen, ".gz", 3)));
}

static const struct report_import_format import_format = {
	.sniff = import_json,
	.leaf = import_leaf,
	.no_report = "a mail without a TLS-RPT report attached",
	.neither = "neither JSON, gzip nor a mail",
};

int tlsrpt_import_parse(struct arena *a, const char *name, const unsigned char *data, size_t len,
                        size_t max_size, struct store_tlsrpt_report **out, size_t *n,
                        struct sx_err *err)
{
	struct report_import ri = {
		.format = &import_format,
		.a = a,
		.name = name,
		.max_size = max_size ? max_size : TLSRPT_IMPORT_DEFAULT,
		.esize = sizeof(**out),
		.max = TLSRPT_IMPORT_MAX_REPORTS,
	};

	*out = NULL;
	*n = 0;
	report_import_any(&ri, data, len, 0);
	if (report_import_done(&ri, "no TLS-RPT report found", err) < 0)
		return -1;
	*out = ri.v;
	*n = ri.n;
	return 0;
}
