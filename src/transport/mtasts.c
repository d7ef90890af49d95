/*
 * mtasts - MTA-STS (RFC 8461): TXT record and policy parsers, MX
 * matching, and the asynchronous policy resolver over core/dns,
 * core/https and the store's policy cache (contracts in mtasts.h)
 *
 * A lookup is one struct mtasts_job: TXT lookup -> cache check ->
 * (fetch -> parse -> store) -> callback.  Parsers are strict and say
 * what is wrong, with the line number for policies.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include "core/arena.h"
#include "core/dns.h"
#include "core/https.h"
#include "core/net.h"
#include "core/str.h"
#include "store/store.h"
#include "transport/mtasts.h"

/* ==== the TXT record ==================================================== */

static bool is_wsp(char c)
{
	return c == ' ' || c == '\t';
}

int mtasts_txt_tags(const char *rec, size_t len, struct mtasts_tag *tags, size_t max)
{
	size_t i = 0, n = 0, start, end, eq;

	while (i <= len) {
		start = i;
		while (i < len && rec[i] != ';')
			i++;
		end = i;
		i++; /* past the ';' (or the end) */
		while (start < end && is_wsp(rec[start]))
			start++;
		while (end > start && is_wsp(rec[end - 1]))
			end--;
		if (start == end)
			continue;
		for (eq = start; eq < end && rec[eq] != '='; eq++)
			;
		if (eq == end)
			return -1;
		if (n < max) {
			struct mtasts_tag *t = &tags[n];
			size_t ne = eq, vs = eq + 1;
			while (ne > start && is_wsp(rec[ne - 1]))
				ne--;
			while (vs < end && is_wsp(rec[vs]))
				vs++;
			t->name = rec + start;
			t->name_len = ne - start;
			t->value = rec + vs;
			t->value_len = end - vs;
		}
		n++;
	}
	return n > max ? (int)max : (int)n;
}

bool mtasts_txt_is_sts(const char *rec, size_t len)
{
	return len >= 7 && memcmp(rec, "v=STSv1", 7) == 0 &&
	       (len == 7 || rec[7] == ';' || is_wsp(rec[7]));
}

/* ext_name_ok - (ALPHA / DIGIT) *31(ALPHA / DIGIT / "_" / "-" / ".") */
static bool ext_name_ok(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || n > 32 || !str_is_alnum((unsigned char)s[0]))
		return false;
	for (i = 1; i < n; i++)
		if (!str_is_alnum((unsigned char)s[i]) && s[i] != '_' && s[i] != '-' && s[i] != '.')
			return false;
	return true;
}

static void why_set(char *why, size_t whysize, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void why_set(char *why, size_t whysize, const char *fmt, ...)
{
	va_list ap;

	if (why == NULL || whysize == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(why, whysize, fmt, ap);
	va_end(ap);
}

int mtasts_txt_parse(const char *rec, size_t len, char id[MTASTS_ID_MAX + 1], char *why,
                     size_t whysize)
{
	struct mtasts_tag tags[16];
	int n, i;
	size_t k;
	bool have_id = false;

	id[0] = '\0';
	if (memchr(rec, '\0', len) != NULL) {
		why_set(why, whysize, "NUL byte in the record");
		return -1;
	}
	if (!mtasts_txt_is_sts(rec, len)) {
		why_set(why, whysize, "does not begin with v=STSv1");
		return -1;
	}
	n = mtasts_txt_tags(rec, len, tags, 16);
	if (n < 0) {
		why_set(why, whysize, "a field without '='");
		return -1;
	}
	if (n >= 16) {
		why_set(why, whysize, "too many fields");
		return -1;
	}
	if (n < 1 || tags[0].name_len != 1 || tags[0].name[0] != 'v' || tags[0].value_len != 5 ||
	    memcmp(tags[0].value, "STSv1", 5) != 0) {
		why_set(why, whysize, "v=STSv1 must come first");
		return -1;
	}
	for (i = 1; i < n; i++) {
		const struct mtasts_tag *t = &tags[i];
		if (t->name_len == 2 && memcmp(t->name, "id", 2) == 0) {
			if (have_id) {
				why_set(why, whysize, "id given twice");
				return -1;
			}
			if (t->value_len < 1 || t->value_len > MTASTS_ID_MAX) {
				why_set(why, whysize, "id must be 1 to 32 letters and digits");
				return -1;
			}
			for (k = 0; k < t->value_len; k++)
				if (!str_is_alnum((unsigned char)t->value[k])) {
					why_set(why, whysize,
					        "id must be 1 to 32 letters and digits");
					return -1;
				}
			memcpy(id, t->value, t->value_len);
			id[t->value_len] = '\0';
			have_id = true;
			continue;
		}
		if (t->name_len == 1 && t->name[0] == 'v') {
			why_set(why, whysize, "v= given twice");
			return -1;
		}
		if (!ext_name_ok(t->name, t->name_len)) {
			why_set(why, whysize, "bad field name '%.*s'", (int)t->name_len, t->name);
			return -1;
		}
		/* sts-ext-value = 1*(%x21-3A / %x3C / %x3E-7E) */
		if (t->value_len == 0) {
			why_set(why, whysize, "field '%.*s' has no value", (int)t->name_len,
			        t->name);
			return -1;
		}
		for (k = 0; k < t->value_len; k++) {
			unsigned char c = (unsigned char)t->value[k];
			if (c < 0x21 || c > 0x7e || c == '=') {
				why_set(why, whysize, "bad character in field '%.*s'",
				        (int)t->name_len, t->name);
				return -1;
			}
		}
	}
	if (!have_id) {
		why_set(why, whysize, "no id field");
		id[0] = '\0';
		return -1;
	}
	return 0;
}

int mtasts_txt_choose(const char *const *recs, const size_t *lens, size_t n,
                      char id[MTASTS_ID_MAX + 1], size_t *which, char *why, size_t whysize)
{
	size_t i, count = 0, pick = 0;
	char reason[200];

	id[0] = '\0';
	for (i = 0; i < n; i++)
		if (mtasts_txt_is_sts(recs[i], lens[i])) {
			if (count == 0)
				pick = i;
			count++;
		}
	if (count == 0) {
		why_set(why, whysize, "no TXT record beginning with v=STSv1");
		return -1;
	}
	if (count > 1) {
		why_set(why, whysize, "%zu TXT records begin with v=STSv1 (exactly one allowed)",
		        count);
		return -1;
	}
	if (mtasts_txt_parse(recs[pick], lens[pick], id, reason, sizeof(reason)) < 0) {
		why_set(why, whysize, "invalid TXT record: %s", reason);
		return -1;
	}
	if (which != NULL)
		*which = pick;
	return 0;
}

/* ==== the policy ========================================================= */

const char *mtasts_mode_name(enum mtasts_mode mode)
{
	switch (mode) {
	case MTASTS_MODE_NONE:
		return "none";
	case MTASTS_MODE_TESTING:
		return "testing";
	case MTASTS_MODE_ENFORCE:
		return "enforce";
	}
	return "unknown";
}

/* domain_ok - a Domain (RFC 5321): LDH labels 1..63, no leading or
 * trailing hyphen, total <= 253 */
static bool domain_ok(const char *s, size_t n)
{
	size_t i, label = 0;

	if (n == 0 || n > DNS_NAME_MAX)
		return false;
	for (i = 0; i < n; i++) {
		char c = s[i];
		if (c == '.') {
			if (label == 0 || s[i - 1] == '-')
				return false;
			label = 0;
			continue;
		}
		if (!str_is_alnum((unsigned char)c) && c != '-' && c != '_')
			return false;
		if (c == '-' && label == 0)
			return false;
		if (++label > DNS_LABEL_MAX)
			return false;
	}
	return label > 0 && s[n - 1] != '-';
}

static int pfail(struct sx_err *err, unsigned line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int pfail(struct sx_err *err, unsigned line, const char *fmt, ...)
{
	char msg[400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (line > 0)
		sx_err_set(err, "line %u: %s", line, msg);
	else
		sx_err_set(err, "%s", msg);
	return -1;
}

int mtasts_policy_parse(struct arena *arena, const char *text, size_t len,
                        struct mtasts_policy *out, struct sx_err *err)
{
	bool have_version = false, have_mode = false, have_age = false;
	const char **mx;
	size_t pos = 0, nmx = 0, i;
	unsigned line = 0;
	uint64_t age;

	memset(out, 0, sizeof(*out));
	if (len > MTASTS_POLICY_MAX)
		return pfail(err, 0, "policy larger than %d bytes", MTASTS_POLICY_MAX);
	mx = arena_array(arena, MTASTS_MX_MAX, sizeof(*mx));
	if (mx == NULL)
		return pfail(err, 0, "out of memory");
	while (pos < len) {
		const char *s = text + pos, *nl = memchr(s, '\n', len - pos), *k, *v;
		size_t n = nl != NULL ? (size_t)(nl - s) : len - pos, kn, vn;

		pos += n + (nl != NULL ? 1 : 0);
		line++;
		if (n > 0 && s[n - 1] == '\r')
			n--;
		if (memchr(s, '\r', n) != NULL || memchr(s, '\0', n) != NULL)
			return pfail(err, line, "stray CR or NUL");
		if (n == 0)
			continue; /* an empty line (e.g. the last terminator doubled) */
		k = s;
		v = memchr(s, ':', n);
		if (v == NULL)
			return pfail(err, line, "no ':' (expected key: value)");
		kn = (size_t)(v - s);
		/* sts-policy-field *WSP? the ABNF has no space before ':' */
		if (!ext_name_ok(k, kn))
			return pfail(err, line, "bad key '%.*s'", (int)(kn > 40 ? 40 : kn), k);
		v++;
		vn = n - kn - 1;
		while (vn > 0 && is_wsp(*v)) {
			v++;
			vn--;
		}
		while (vn > 0 && is_wsp(v[vn - 1]))
			vn--;
		for (i = 0; i < vn; i++)
			if ((unsigned char)v[i] < 0x20 && v[i] != '\t')
				return pfail(err, line, "control character in the value");
		if (kn == 7 && memcmp(k, "version", 7) == 0) {
			if (have_version)
				continue; /* the first one counts */
			if (vn != 5 || memcmp(v, "STSv1", 5) != 0)
				return pfail(err, line, "version: '%.*s' is not STSv1",
				             (int)(vn > 40 ? 40 : vn), v);
			have_version = true;
		} else if (kn == 4 && memcmp(k, "mode", 4) == 0) {
			if (have_mode)
				continue;
			if (vn == 7 && memcmp(v, "enforce", 7) == 0)
				out->mode = MTASTS_MODE_ENFORCE;
			else if (vn == 7 && memcmp(v, "testing", 7) == 0)
				out->mode = MTASTS_MODE_TESTING;
			else if (vn == 4 && memcmp(v, "none", 4) == 0)
				out->mode = MTASTS_MODE_NONE;
			else
				return pfail(err, line,
				             "mode: '%.*s' is not enforce, testing or none",
				             (int)(vn > 40 ? 40 : vn), v);
			have_mode = true;
		} else if (kn == 7 && memcmp(k, "max_age", 7) == 0) {
			if (have_age)
				continue;
			if (vn == 0 || vn > 10 ||
			    str_to_u64(v, vn, 0, MTASTS_MAX_AGE_MAX, &age) < 0)
				return pfail(err, line,
				             "max_age: '%.*s' is not a number from 0 to %u",
				             (int)(vn > 40 ? 40 : vn), v, MTASTS_MAX_AGE_MAX);
			out->max_age = (uint32_t)age;
			have_age = true;
		} else if (kn == 2 && memcmp(k, "mx", 2) == 0) {
			const char *d = v;
			size_t dn = vn;
			char *copy;
			if (dn > 0 && d[dn - 1] == '.')
				dn--; /* a trailing dot is the same name */
			if (dn >= 2 && d[0] == '*' && d[1] == '.') {
				d += 2;
				dn -= 2;
			}
			if (!domain_ok(d, dn))
				return pfail(err, line,
				             "mx: '%.*s' is not a host name or *.domain pattern",
				             (int)(vn > 60 ? 60 : vn), v);
			if (nmx >= MTASTS_MX_MAX)
				return pfail(err, line, "more than %d mx lines", MTASTS_MX_MAX);
			copy = arena_strndup(arena, v, (size_t)(d - v) + dn);
			if (copy == NULL)
				return pfail(err, 0, "out of memory");
			mx[nmx++] = str_lower_inplace(copy);
		}
		/* other keys: extensions, ignored (RFC 8461 3.2) */
	}
	if (!have_version)
		return pfail(err, 0, "no version field");
	if (!have_mode)
		return pfail(err, 0, "no mode field");
	if (!have_age)
		return pfail(err, 0, "no max_age field");
	if (nmx == 0 && out->mode != MTASTS_MODE_NONE)
		return pfail(err, 0, "mode %s needs at least one mx field",
		             mtasts_mode_name(out->mode));
	out->mx = mx;
	out->nmx = nmx;
	return 0;
}

bool mtasts_content_type_ok(const char *ct)
{
	size_t n;

	if (ct == NULL)
		return false;
	while (is_wsp(*ct))
		ct++;
	n = strcspn(ct, ";");
	while (n > 0 && is_wsp(ct[n - 1]))
		n--;
	return str_case_eq_n(ct, n, "text/plain", 10);
}

/* name_len - length without one trailing dot */
static size_t name_len(const char *s)
{
	size_t n = strlen(s);
	return n > 0 && s[n - 1] == '.' ? n - 1 : n;
}

bool mtasts_pattern_match(const char *pattern, const char *host)
{
	size_t pn, hn;
	const char *dot;

	if (pattern == NULL || host == NULL)
		return false;
	pn = name_len(pattern);
	hn = name_len(host);
	if (pn == 0 || hn == 0)
		return false;
	if (pn >= 2 && pattern[0] == '*' && pattern[1] == '.') {
		/* exactly one label, not empty, in front of the rest */
		dot = memchr(host, '.', hn);
		if (dot == NULL || dot == host)
			return false;
		return str_case_eq_n(dot + 1, hn - (size_t)(dot + 1 - host), pattern + 2, pn - 2);
	}
	return str_case_eq_n(pattern, pn, host, hn);
}

bool mtasts_mx_match(const struct mtasts_policy *p, const char *host)
{
	size_t i;

	if (p == NULL)
		return false;
	for (i = 0; i < p->nmx; i++)
		if (mtasts_pattern_match(p->mx[i], host))
			return true;
	return false;
}

int mtasts_policy_domain(const char *dest, char *out, size_t outsize)
{
	char host[DNS_NAME_MAX + 8];
	const char *s = dest, *end;
	struct net_addr a;
	size_t n;

	if (dest == NULL || outsize == 0)
		return -1;
	out[0] = '\0';
	if (s[0] == '[') {
		end = strchr(s, ']');
		if (end == NULL || (end[1] != '\0' && end[1] != ':'))
			return -1;
		s++;
	} else {
		end = strchr(s, ':');
		if (end != NULL && strchr(end + 1, ':') != NULL)
			return -1; /* a bare IPv6 address */
		if (end == NULL)
			end = s + strlen(s);
	}
	n = (size_t)(end - s);
	if (n == 0 || n >= sizeof(host))
		return -1;
	memcpy(host, s, n);
	host[n] = '\0';
	if (net_addr_parse(host, &a) == 0 || str_case_prefix(host, "ipv6:"))
		return -1;
	if (n > 1 && host[n - 1] == '.')
		host[--n] = '\0';
	if (!domain_ok(host, n) || n + 1 > outsize)
		return -1;
	memcpy(out, host, n + 1);
	str_lower_inplace(out);
	return 0;
}

const char *mtasts_defer_text(const char *domain, char *out, size_t outsize)
{
	snprintf(out, outsize, "MX hosts of '%s' failed MTA-STS validation.", domain);
	return out;
}

const char *mtasts_failure_name(enum mtasts_failure f)
{
	switch (f) {
	case MTASTS_FAIL_FETCH:
		return "sts-policy-fetch-error";
	case MTASTS_FAIL_INVALID:
		return "sts-policy-invalid";
	case MTASTS_FAIL_WEBPKI:
		return "sts-webpki-invalid";
	case MTASTS_FAIL_NONE:
		break;
	}
	return NULL;
}

const char *mtasts_status_name(enum mtasts_status s)
{
	switch (s) {
	case MTASTS_NONE:
		return "none";
	case MTASTS_POLICY:
		return "policy";
	case MTASTS_FAILED:
		return "failed";
	}
	return "unknown";
}

/* ==== the cache ============================================================ */

/* One cached policy, owned (the memory table and a job's copy). */
struct cached {
	char *domain, *id, *policy;
	int64_t fetched, expires;
};

static void cached_clear(struct cached *c)
{
	free(c->domain);
	free(c->id);
	free(c->policy);
	memset(c, 0, sizeof(*c));
}

static int cached_set(struct cached *c, const char *domain, const char *id, const char *policy,
                      int64_t fetched, int64_t expires)
{
	struct cached n = {
		.domain = strdup(domain),
		.id = strdup(id),
		.policy = strdup(policy),
		.fetched = fetched,
		.expires = expires,
	};

	if (n.domain == NULL || n.id == NULL || n.policy == NULL) {
		cached_clear(&n);
		return -1;
	}
	cached_clear(c);
	*c = n;
	return 0;
}

struct mtasts {
	struct mtasts_options o;
	char *ca_file;
	struct https_client *https;
	struct mtasts_job *jobs;
	size_t njobs;
	struct cached *mem; /* the memory-only cache */
	size_t nmem;
};

struct mtasts_job {
	struct mtasts *m;
	struct mtasts_job *prev, *next;
	mtasts_cb cb;
	void *arg;
	bool refresh; /* fetch even when the cache is current */
	char domain[DNS_NAME_MAX + 1];
	struct dns_query *q;
	struct https_fetch *fetch;
	struct cached cache; /* what the cache held at the start; domain NULL: nothing */
	char *txt;
	char txt_id[MTASTS_ID_MAX + 1];
	struct arena *arena;
	struct event *kick; /* answers an invalid domain from the loop */
	char reason[640];
};

static int64_t now_s(const struct mtasts *m)
{
	return m->o.now != NULL ? m->o.now(m->o.now_arg) : (int64_t)time(NULL);
}

static int store_get_cb(const struct store_mtasts *p, void *arg)
{
	struct cached *c = arg;
	return cached_set(c, p->domain, p->id, p->policy, p->fetched, p->expires) < 0 ? -1 : 0;
}

/* cache_get - domain's cached policy into *c (domain NULL when none) */
static void cache_get(struct mtasts *m, const char *domain, struct cached *c)
{
	struct sx_err err;
	size_t i;

	memset(c, 0, sizeof(*c));
	if (m->o.store != NULL) {
		if (store_mtasts_get(m->o.store, domain, store_get_cb, c, &err) < 0)
			cached_clear(c);
		return;
	}
	for (i = 0; i < m->nmem; i++)
		if (strcmp(m->mem[i].domain, domain) == 0) {
			if (cached_set(c, domain, m->mem[i].id, m->mem[i].policy, m->mem[i].fetched,
			               m->mem[i].expires) < 0)
				cached_clear(c);
			return;
		}
}

/* cache_put - remember a fetched policy; -1 with err */
static int cache_put(struct mtasts *m, const char *domain, const char *id, const char *policy,
                     int64_t fetched, int64_t expires, struct sx_err *err)
{
	struct store_mtasts p = {
		.domain = domain, .id = id, .policy = policy, .fetched = fetched, .expires = expires
	};
	size_t i, victim = 0;

	if (m->o.store != NULL)
		return store_mtasts_put(m->o.store, &p, err);
	for (i = 0; i < m->nmem; i++)
		if (strcmp(m->mem[i].domain, domain) == 0)
			return cached_set(&m->mem[i], domain, id, policy, fetched, expires);
	if (m->nmem >= MTASTS_MEMORY_MAX) {
		/* full: the policy that expires first goes */
		for (i = 1; i < m->nmem; i++)
			if (m->mem[i].expires < m->mem[victim].expires)
				victim = i;
		return cached_set(&m->mem[victim], domain, id, policy, fetched, expires);
	}
	if (m->mem == NULL) {
		m->mem = calloc(MTASTS_MEMORY_MAX, sizeof(*m->mem));
		if (m->mem == NULL) {
			sx_err_set(err, "out of memory");
			return -1;
		}
	}
	if (cached_set(&m->mem[m->nmem], domain, id, policy, fetched, expires) < 0) {
		sx_err_set(err, "out of memory");
		return -1;
	}
	m->nmem++;
	return 0;
}

/* ==== the resolver ========================================================= */

struct mtasts *mtasts_new(const struct mtasts_options *o, struct sx_err *err)
{
	struct mtasts *m;

	if (o == NULL || o->base == NULL || o->dns == NULL) {
		sx_err_set(err, "mta-sts: no event loop or resolver");
		return NULL;
	}
	m = calloc(1, sizeof(*m));
	if (m == NULL) {
		sx_err_set(err, "mta-sts: out of memory");
		return NULL;
	}
	m->o = *o;
	if (o->ca_file != NULL) {
		m->ca_file = strdup(o->ca_file);
		if (m->ca_file == NULL) {
			free(m);
			sx_err_set(err, "mta-sts: out of memory");
			return NULL;
		}
	}
	m->o.ca_file = m->ca_file;
	if (m->o.fetch_timeout_ms == 0)
		m->o.fetch_timeout_ms = MTASTS_DEFAULT_TIMEOUT_MS;
	if (m->o.refresh_margin == 0)
		m->o.refresh_margin = MTASTS_DEFAULT_REFRESH_MARGIN;
	m->https = https_client_new(o->base, o->dns, m->ca_file, err);
	if (m->https == NULL) {
		free(m->ca_file);
		free(m);
		return NULL;
	}
	return m;
}

static void job_free(struct mtasts_job *j)
{
	if (j == NULL)
		return;
	if (j->prev != NULL)
		j->prev->next = j->next;
	else if (j->m->jobs == j)
		j->m->jobs = j->next;
	if (j->next != NULL)
		j->next->prev = j->prev;
	j->m->njobs--;
	if (j->q != NULL)
		dns_cancel(j->q);
	if (j->fetch != NULL)
		https_cancel(j->fetch);
	if (j->kick != NULL)
		event_free(j->kick);
	cached_clear(&j->cache);
	free(j->txt);
	arena_free(j->arena);
	free(j);
}

struct mtasts *mtasts_free(struct mtasts *m)
{
	size_t i;

	if (m == NULL)
		return NULL;
	while (m->jobs != NULL)
		job_free(m->jobs);
	https_client_free(m->https);
	for (i = 0; i < m->nmem; i++)
		cached_clear(&m->mem[i]);
	free(m->mem);
	free(m->ca_file);
	free(m);
	return NULL;
}

void mtasts_cancel(struct mtasts_job *j)
{
	job_free(j);
}

size_t mtasts_busy(const struct mtasts *m)
{
	return m != NULL ? m->njobs : 0;
}

/* deliver - fill the common fields, call back, free the job */
static void deliver(struct mtasts_job *j, struct mtasts_result *r)
{
	r->domain = j->domain;
	r->txt = j->txt;
	snprintf(r->txt_id, sizeof(r->txt_id), "%s", j->txt_id);
	if (j->cb != NULL)
		j->cb(r, j->arg);
	job_free(j);
}

/* use_cache - answer with the cached policy (parsed again); false when
 * it does not parse any more (a cache written by an older parser) */
static bool use_cache(struct mtasts_job *j, struct mtasts_result *r, const char *note)
{
	struct mtasts_policy *p = arena_zalloc(j->arena, sizeof(*p));
	struct sx_err err;

	if (p == NULL ||
	    mtasts_policy_parse(j->arena, j->cache.policy, strlen(j->cache.policy), p, &err) < 0)
		return false;
	r->status = MTASTS_POLICY;
	r->policy = p;
	r->policy_text = j->cache.policy;
	snprintf(r->policy_id, sizeof(r->policy_id), "%s", j->cache.id);
	r->source = MTASTS_SOURCE_CACHE;
	r->fetched = j->cache.fetched;
	r->expires = j->cache.expires;
	if (note != NULL && r->reason[0] == '\0')
		snprintf(r->reason, sizeof(r->reason), "%s", note);
	return true;
}

static bool cache_current(const struct mtasts_job *j, int64_t now)
{
	return j->cache.domain != NULL && j->cache.expires > now;
}

/* fetch_failed - the fetch or the policy failed: cached policy, or a failure */
static void fetch_failed(struct mtasts_job *j, enum mtasts_failure f, unsigned status,
                         const char *reason)
{
	struct mtasts_result r;

	memset(&r, 0, sizeof(r));
	r.failure = f;
	r.http_status = status;
	snprintf(r.reason, sizeof(r.reason), "%s: %s", mtasts_failure_name(f), reason);
	if (cache_current(j, now_s(j->m))) {
		size_t n = strlen(r.reason);
		snprintf(r.reason + n, sizeof(r.reason) - n, "; using the cached policy (id %s)",
		         j->cache.id);
		if (use_cache(j, &r, NULL)) {
			deliver(j, &r);
			return;
		}
	}
	r.status = MTASTS_FAILED;
	deliver(j, &r);
}

static void on_fetch(const struct https_response *res, void *arg)
{
	struct mtasts_job *j = arg;
	struct mtasts *m = j->m;
	struct mtasts_policy *p;
	struct mtasts_result r;
	struct sx_err err;
	char why[600];
	int64_t now;
	char *text;

	j->fetch = NULL;
	if (res->error != HTTPS_OK) {
		fetch_failed(j,
		             res->error == HTTPS_ERR_CERT ? MTASTS_FAIL_WEBPKI : MTASTS_FAIL_FETCH,
		             res->status, res->reason);
		return;
	}
	if (res->status != 200) {
		snprintf(why, sizeof(why), "https://mta-sts.%s%s: HTTP status %u (200 required)",
		         j->domain, MTASTS_PATH, res->status);
		fetch_failed(j, MTASTS_FAIL_FETCH, res->status, why);
		return;
	}
	if (!mtasts_content_type_ok(res->content_type)) {
		snprintf(why, sizeof(why), "Content-Type %s%.100s%s, text/plain required",
		         res->content_type != NULL ? "'" : "",
		         res->content_type != NULL ? res->content_type : "missing",
		         res->content_type != NULL ? "'" : "");
		fetch_failed(j, MTASTS_FAIL_INVALID, res->status, why);
		return;
	}
	p = arena_zalloc(j->arena, sizeof(*p));
	text = arena_strndup(j->arena, res->body, res->body_len);
	if (p == NULL || text == NULL) {
		fetch_failed(j, MTASTS_FAIL_FETCH, res->status, "out of memory");
		return;
	}
	if (strlen(text) != res->body_len) {
		fetch_failed(j, MTASTS_FAIL_INVALID, res->status, "NUL byte in the policy");
		return;
	}
	if (mtasts_policy_parse(j->arena, text, res->body_len, p, &err) < 0) {
		snprintf(why, sizeof(why), "invalid policy: %s", err.msg);
		fetch_failed(j, MTASTS_FAIL_INVALID, res->status, why);
		return;
	}
	now = now_s(m);
	memset(&r, 0, sizeof(r));
	r.status = MTASTS_POLICY;
	r.policy = p;
	r.policy_text = text;
	snprintf(r.policy_id, sizeof(r.policy_id), "%s", j->txt_id);
	r.source = MTASTS_SOURCE_FETCHED;
	r.fetched = now;
	r.expires = now + (int64_t)p->max_age;
	r.http_status = res->status;
	if (cache_put(m, j->domain, j->txt_id, text, r.fetched, r.expires, &err) < 0)
		snprintf(r.reason, sizeof(r.reason), "fetched; not cached: %s", err.msg);
	else
		snprintf(r.reason, sizeof(r.reason), "fetched from https://mta-sts.%s%s", j->domain,
		         MTASTS_PATH);
	deliver(j, &r);
}

static void start_fetch(struct mtasts_job *j)
{
	struct https_request rq;
	char host[DNS_NAME_MAX + 16];

	snprintf(host, sizeof(host), "mta-sts.%s", j->domain);
	memset(&rq, 0, sizeof(rq));
	rq.method = "GET";
	rq.host = host;
	rq.port = j->m->o.port;
	rq.path = MTASTS_PATH;
	rq.max_body = MTASTS_POLICY_MAX;
	rq.timeout_ms = j->m->o.fetch_timeout_ms;
	j->fetch = https_start(j->m->https, &rq, on_fetch, j);
	if (j->fetch == NULL)
		fetch_failed(j, MTASTS_FAIL_FETCH, 0, "cannot start the HTTPS request");
}

static void on_txt(const struct dns_answer *ans, void *arg)
{
	struct mtasts_job *j = arg;
	const char *recs[64];
	size_t lens[64], n = 0, i, which = 0;
	struct mtasts_result r;
	char why[300];
	int64_t now = now_s(j->m);

	j->q = NULL;
	memset(&r, 0, sizeof(r));
	cache_get(j->m, j->domain, &j->cache);
	for (i = 0; i < ans->count && n < 64; i++)
		if (ans->rr[i].type == DNS_T_TXT) {
			recs[n] = ans->rr[i].u.txt.data;
			lens[n] = ans->rr[i].u.txt.len;
			n++;
		}
	if (ans->status != DNS_OK)
		snprintf(why, sizeof(why), "_mta-sts.%s TXT: %s%s%s", j->domain,
		         dns_status_name(ans->status), ans->why != NULL ? ": " : "",
		         ans->why != NULL ? ans->why : "");
	if (ans->status != DNS_OK ||
	    mtasts_txt_choose(recs, lens, n, j->txt_id, &which, why, sizeof(why)) < 0) {
		j->txt_id[0] = '\0';
		/* a refresh never drops what is cached: the policy stays until it expires */
		if (cache_current(j, now)) {
			char note[640];
			snprintf(note, sizeof(note),
			         "no usable TXT record (%s); cached policy used until it expires",
			         why);
			if (use_cache(j, &r, note)) {
				deliver(j, &r);
				return;
			}
		}
		r.status = MTASTS_NONE;
		snprintf(r.reason, sizeof(r.reason), "%s", why);
		deliver(j, &r);
		return;
	}
	j->txt = strndup(recs[which], lens[which]);
	if (!j->refresh && cache_current(j, now) && strcmp(j->cache.id, j->txt_id) == 0 &&
	    use_cache(j, &r, "cached policy, id unchanged")) {
		deliver(j, &r);
		return;
	}
	start_fetch(j);
}

static void on_kick(evutil_socket_t fd, short what, void *arg)
{
	struct mtasts_job *j = arg;
	struct mtasts_result r;

	(void)fd;
	(void)what;
	memset(&r, 0, sizeof(r));
	r.status = MTASTS_NONE;
	snprintf(r.reason, sizeof(r.reason), "%s", j->reason);
	deliver(j, &r);
}

static struct mtasts_job *job_start(struct mtasts *m, const char *domain, bool refresh,
                                    mtasts_cb cb, void *arg)
{
	struct mtasts_job *j;
	char qname[DNS_NAME_MAX + 16];

	if (m == NULL || domain == NULL)
		return NULL;
	j = calloc(1, sizeof(*j));
	if (j == NULL)
		return NULL;
	j->m = m;
	j->cb = cb;
	j->arg = arg;
	j->refresh = refresh;
	j->next = m->jobs;
	if (m->jobs != NULL)
		m->jobs->prev = j;
	m->jobs = j;
	m->njobs++;
	j->arena = arena_new();
	if (j->arena == NULL)
		goto fail;
	if (mtasts_policy_domain(domain, j->domain, sizeof(j->domain)) < 0 ||
	    strlen(j->domain) + 9 > DNS_NAME_MAX) {
		snprintf(j->domain, sizeof(j->domain), "%.200s", domain);
		snprintf(j->reason, sizeof(j->reason), "'%.200s' is not a domain name", domain);
		j->kick = evtimer_new(m->o.base, on_kick, j);
		if (j->kick == NULL)
			goto fail;
		event_active(j->kick, EV_TIMEOUT, 0);
		return j;
	}
	snprintf(qname, sizeof(qname), "_mta-sts.%s", j->domain);
	j->q = dns_lookup(m->o.dns, qname, DNS_T_TXT, on_txt, j);
	if (j->q == NULL)
		goto fail;
	return j;
fail:
	job_free(j);
	return NULL;
}

struct mtasts_job *mtasts_lookup(struct mtasts *m, const char *domain, mtasts_cb cb, void *arg)
{
	if (cb == NULL)
		return NULL;
	return job_start(m, domain, false, cb, arg);
}

struct refresh_ctx {
	struct mtasts *m;
	int started;
};

static int refresh_one(struct mtasts *m, const char *domain)
{
	struct mtasts_job *j;

	/* one refresh per domain at a time */
	for (j = m->jobs; j != NULL; j = j->next)
		if (j->refresh && strcmp(j->domain, domain) == 0)
			return 0;
	return job_start(m, domain, true, NULL, NULL) != NULL ? 1 : 0;
}

static int refresh_cb(const struct store_mtasts *p, void *arg)
{
	struct refresh_ctx *c = arg;
	c->started += refresh_one(c->m, p->domain);
	return 0;
}

int mtasts_refresh(struct mtasts *m)
{
	struct refresh_ctx c = { .m = m };
	struct sx_err err;
	int64_t now;
	size_t i, n;
	char **names;

	if (m == NULL)
		return 0;
	now = now_s(m);
	if (m->o.store != NULL) {
		/* at most 1000 per call: the timer comes back for the rest */
		if (store_mtasts_expiring(m->o.store, now, now + (int64_t)m->o.refresh_margin, 1000,
		                          refresh_cb, &c, &err) < 0)
			return c.started;
		return c.started;
	}
	/* copy the names first: a refresh may complete and change the table later */
	names = calloc(m->nmem + 1, sizeof(*names));
	if (names == NULL)
		return 0;
	for (i = n = 0; i < m->nmem; i++)
		if (m->mem[i].expires >= now &&
		    m->mem[i].expires < now + (int64_t)m->o.refresh_margin)
			names[n++] = strdup(m->mem[i].domain);
	for (i = 0; i < n; i++) {
		if (names[i] != NULL)
			c.started += refresh_one(m, names[i]);
		free(names[i]);
	}
	free(names);
	return c.started;
}
