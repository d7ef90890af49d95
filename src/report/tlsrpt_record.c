/*
 * tlsrpt_record - the TLS-RPT DNS record (RFC 8460 3), the names of
 * policy and result types (4.3), and recording one TLS session outcome
 * into the store's daily counters (see tlsrpt.h)
 */
#include <string.h>

#include "core/arena.h"
#include "core/dns.h"
#include "core/str.h"
#include "report/tlsrpt.h"

/* ---- names -------------------------------------------------------------- */

static const char *const tlsrpt_results[TLSRPT_NRESULTS] = {
	[TLSRPT_SUCCESS] = "success",
	[TLSRPT_STARTTLS_NOT_SUPPORTED] = "starttls-not-supported",
	[TLSRPT_CERTIFICATE_HOST_MISMATCH] = "certificate-host-mismatch",
	[TLSRPT_CERTIFICATE_EXPIRED] = "certificate-expired",
	[TLSRPT_CERTIFICATE_NOT_TRUSTED] = "certificate-not-trusted",
	[TLSRPT_VALIDATION_FAILURE] = "validation-failure",
	[TLSRPT_TLSA_INVALID] = "tlsa-invalid",
	[TLSRPT_DNSSEC_INVALID] = "dnssec-invalid",
	[TLSRPT_DANE_REQUIRED] = "dane-required",
	[TLSRPT_STS_POLICY_FETCH_ERROR] = "sts-policy-fetch-error",
	[TLSRPT_STS_POLICY_INVALID] = "sts-policy-invalid",
	[TLSRPT_STS_WEBPKI_INVALID] = "sts-webpki-invalid",
};

const char *tlsrpt_result_name(enum tlsrpt_result r)
{
	return (unsigned)r < TLSRPT_NRESULTS ? tlsrpt_results[r] : NULL;
}

int tlsrpt_result_parse(const char *name)
{
	int i;

	for (i = 0; name != NULL && i < TLSRPT_NRESULTS; i++)
		if (strcmp(name, tlsrpt_results[i]) == 0)
			return i;
	return -1;
}

const char *tlsrpt_policy_type_name(enum tlsrpt_policy_type t)
{
	switch (t) {
	case TLSRPT_POLICY_STS:
		return "sts";
	case TLSRPT_POLICY_TLSA:
		return "tlsa";
	case TLSRPT_POLICY_NONE:
		return "no-policy-found";
	}
	return NULL;
}

/* ---- the record ------------------------------------------------------------ */

static bool is_wsp(char c)
{
	return c == ' ' || c == '\t';
}

bool tlsrpt_record_is_tlsrpt(const char *txt, size_t len)
{
	static const char v[] = "v=TLSRPTv1";
	size_t n = sizeof(v) - 1;

	if (txt == NULL || len < n || memcmp(txt, v, n) != 0)
		return false;
	return len == n || txt[n] == ';' || is_wsp(txt[n]);
}

char *tlsrpt_record_name(struct arena *a, const char *domain)
{
	size_t n = strlen(domain);

	while (n > 0 && domain[n - 1] == '.')
		n--;
	return arena_printf(a, "_smtp._tls.%.*s", (int)n, domain);
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = str_lower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* uri_mailto - fill u from "mailto:addr[?hfields]"; 0 or -1 */
static int uri_mailto(struct arena *a, const char *s, size_t n, struct tlsrpt_uri *u)
{
	char *addr = arena_alloc(a, n + 1);
	size_t i, k = 0, at = 0, nat = 0;

	if (addr == NULL)
		return -1;
	for (i = 0; i < n && s[i] != '?'; i++) {
		int c = (unsigned char)s[i];
		if (c == '%') {
			int h = i + 2 < n ? hexval(s[i + 1]) : -1,
			    l = h >= 0 ? hexval(s[i + 2]) : -1;
			if (l < 0)
				return -1;
			c = h << 4 | l;
			i += 2;
		}
		/* one plain address: no list, no spaces, no controls, no brackets */
		if (c <= 0x20 || c == 0x7f || c == ',' || c == '<' || c == '>' || c == '"' ||
		    c == '(' || c == ')' || c == '\\')
			return -1;
		if (c == '@') {
			at = k;
			nat++;
		}
		addr[k++] = (char)c;
	}
	addr[k] = '\0';
	if (nat != 1 || at == 0 || at + 1 >= k || k > 254)
		return -1;
	u->kind = TLSRPT_URI_MAILTO;
	u->addr = addr;
	u->host = str_lower_inplace(addr + at + 1) ? addr + at + 1 : NULL;
	if (dns_name_check(u->host) < 0)
		return -1;
	return 0;
}

/* uri_https - fill u from "//host[:port][/path][?query]"; 0 or -1 */
static int uri_https(struct arena *a, const char *s, size_t n, struct tlsrpt_uri *u)
{
	size_t i, hs, he;
	uint64_t port = 443;

	if (n < 3 || s[0] != '/' || s[1] != '/')
		return -1;
	i = hs = 2;
	if (i < n && s[i] == '[') {
		while (i < n && s[i] != ']')
			i++;
		if (i == n)
			return -1;
		hs++;
		he = i++;
	} else {
		while (i < n && s[i] != ':' && s[i] != '/' && s[i] != '?' && s[i] != '#') {
			if (!str_is_alnum((unsigned char)s[i]) && s[i] != '-' && s[i] != '.')
				return -1; /* userinfo, or a name we would not resolve */
			i++;
		}
		he = i;
	}
	if (he == hs)
		return -1;
	if (i < n && s[i] == ':') {
		size_t ps = ++i;
		while (i < n && str_is_digit((unsigned char)s[i]))
			i++;
		if (str_to_u64(s + ps, i - ps, 1, 65535, &port) < 0)
			return -1;
	}
	if (i < n && s[i] != '/' && s[i] != '?')
		return -1;
	for (size_t j = i; j < n; j++)
		if ((unsigned char)s[j] <= 0x20 || (unsigned char)s[j] >= 0x7f || s[j] == '#')
			return -1;
	u->kind = TLSRPT_URI_HTTPS;
	u->host = arena_strndup(a, s + hs, he - hs);
	u->port = (unsigned)port;
	u->path = i < n ? (s[i] == '/' ? arena_strndup(a, s + i, n - i)
	                               : arena_printf(a, "/%.*s", (int)(n - i), s + i))
	                : "/";
	if (u->host == NULL || u->path == NULL)
		return -1;
	str_lower_inplace((char *)u->host);
	if (s[2] != '[' && dns_name_check(u->host) < 0)
		return -1;
	return 0;
}

/* record_uri - one rua URI; 0 taken, 1 skipped (other scheme, malformed) */
static int record_uri(struct arena *a, const char *s, size_t n, struct tlsrpt_record *r)
{
	struct tlsrpt_uri u = { 0 };
	int rc;

	if (n > 7 && str_case_eq_n(s, 7, "mailto:", 7))
		rc = uri_mailto(a, s + 7, n - 7, &u);
	else if (n > 6 && str_case_eq_n(s, 6, "https:", 6))
		rc = uri_https(a, s + 6, n - 6, &u);
	else
		rc = -1;
	if (rc < 0 || r->nrua >= TLSRPT_MAX_URIS) {
		r->skipped++;
		return 1;
	}
	u.uri = arena_strndup(a, s, n);
	if (u.uri == NULL)
		return -1;
	r->rua[r->nrua++] = u;
	return 0;
}

int tlsrpt_record_parse(struct arena *a, const char *txt, size_t len, struct tlsrpt_record *r,
                        struct sx_err *err)
{
	size_t i, fs, fe, nrua_fields = 0;

	memset(r, 0, sizeof(*r));
	if (len > TLSRPT_MAX_RECORD) {
		sx_err_set(err, "record longer than %d bytes", TLSRPT_MAX_RECORD);
		return -1;
	}
	if (!tlsrpt_record_is_tlsrpt(txt, len)) {
		sx_err_set(err, "not a TLS-RPT record (v=TLSRPTv1 must come first)");
		return -1;
	}
	if (memchr(txt, '\0', len) != NULL) {
		sx_err_set(err, "NUL byte in the record");
		return -1;
	}
	r->rua = arena_array(a, TLSRPT_MAX_URIS, sizeof(*r->rua));
	if (r->rua == NULL) {
		sx_err_set(err, "out of memory");
		return -1;
	}
	i = 10; /* after v=TLSRPTv1 */
	for (;;) {
		while (i < len && is_wsp(txt[i]))
			i++;
		if (i == len)
			break;
		if (txt[i] != ';') {
			sx_err_set(err, "';' expected at offset %zu", i);
			return -1;
		}
		i++;
		while (i < len && is_wsp(txt[i]))
			i++;
		if (i == len)
			break; /* a final delimiter */
		fs = i;
		while (i < len && txt[i] != ';')
			i++;
		fe = i;
		while (fe > fs && is_wsp(txt[fe - 1]))
			fe--;
		const char *eq = memchr(txt + fs, '=', fe - fs);
		size_t nlen = eq ? (size_t)(eq - (txt + fs)) : 0;
		if (eq == NULL || nlen == 0 || nlen > 32 || !str_is_alnum((unsigned char)txt[fs])) {
			sx_err_set(err, "malformed field '%.*s'",
			           (int)(fe - fs > 64 ? 64 : fe - fs), txt + fs);
			return -1;
		}
		for (size_t k = fs; k < fs + nlen; k++)
			if (!str_is_alnum((unsigned char)txt[k]) && txt[k] != '_' &&
			    txt[k] != '-' && txt[k] != '.') {
				sx_err_set(err, "malformed field name '%.*s'", (int)nlen, txt + fs);
				return -1;
			}
		const char *v = eq + 1;
		size_t vlen = (size_t)(txt + fe - v);
		if (vlen == 0) {
			sx_err_set(err, "empty value for '%.*s'", (int)nlen, txt + fs);
			return -1;
		}
		if (nlen == 3 && memcmp(txt + fs, "rua", 3) == 0) {
			if (++nrua_fields > 1) {
				sx_err_set(err, "rua= given twice");
				return -1;
			}
			size_t p = 0;
			while (p <= vlen) {
				size_t us = p, ue;
				while (p < vlen && v[p] != ',')
					p++;
				ue = p;
				while (us < ue && is_wsp(v[us]))
					us++;
				while (ue > us && is_wsp(v[ue - 1]))
					ue--;
				if (ue == us) {
					r->skipped++;
				} else if (record_uri(a, v + us, ue - us, r) < 0) {
					sx_err_set(err, "out of memory");
					return -1;
				}
				p++;
			}
		}
		/* other fields are extensions: ignored */
	}
	if (nrua_fields == 0) {
		sx_err_set(err, "no rua= field");
		return -1;
	}
	if (r->nrua == 0) {
		sx_err_set(err, "no usable mailto: or https: URI in rua=");
		return -1;
	}
	return 0;
}

int tlsrpt_record_select(struct arena *a, const struct dns_answer *ans, struct tlsrpt_record *r,
                         struct sx_err *err)
{
	const struct dns_txt *found = NULL;
	size_t i, n = 0;

	memset(r, 0, sizeof(*r));
	switch (ans->status) {
	case DNS_OK:
		break;
	case DNS_NXDOMAIN:
	case DNS_NODATA:
	case DNS_BADNAME:
		sx_err_set(err, "no TLS-RPT record");
		return 1;
	default:
		sx_err_set(err, "the lookup failed (%s)", dns_status_name(ans->status));
		return -1;
	}
	for (i = 0; i < ans->count; i++)
		if (ans->rr[i].type == DNS_T_TXT &&
		    tlsrpt_record_is_tlsrpt(ans->rr[i].u.txt.data, ans->rr[i].u.txt.len)) {
			found = &ans->rr[i].u.txt;
			n++;
		}
	if (n == 0) {
		sx_err_set(err, "no TLS-RPT record");
		return 1;
	}
	if (n > 1) {
		sx_err_set(err, "%zu TLS-RPT records: treated as none (RFC 8460 3)", n);
		return 1;
	}
	if (tlsrpt_record_parse(a, found->data, found->len, r, err) < 0)
		return 1;
	return 0;
}

/* ---- recording ------------------------------------------------------------------ */

/* clean - s without CR, LF and other controls, capped; NULL stays NULL */
static const char *clean(struct arena *a, const char *s, bool *fail)
{
	size_t n, i;
	char *d;

	if (s == NULL)
		return NULL;
	n = strnlen(s, TLSRPT_MAX_STRING);
	d = arena_strndup(a, s, n);
	if (d == NULL) {
		*fail = true;
		return NULL;
	}
	for (i = 0; i < n; i++)
		if ((unsigned char)d[i] < 0x20 || d[i] == 0x7f)
			d[i] = ' ';
	return d;
}

static const char *const *clean_list(struct arena *a, const char *const *v, size_t n, size_t *out,
                                     bool *fail)
{
	const char **w;
	size_t i, k = 0;

	*out = 0;
	if (v == NULL || n == 0)
		return NULL;
	if (n > TLSRPT_MAX_STRINGS)
		n = TLSRPT_MAX_STRINGS;
	w = arena_array(a, n, sizeof(*w));
	if (w == NULL) {
		*fail = true;
		return NULL;
	}
	for (i = 0; i < n; i++)
		if (v[i] != NULL && v[i][0] != '\0')
			w[k++] = clean(a, v[i], fail);
	*out = k;
	return w;
}

int tlsrpt_record(struct store *st, const struct tlsrpt_outcome *o, int64_t time,
                  struct sx_err *err)
{
	struct store_tlsrpt_policy p = { 0 };
	struct store_tlsrpt_failure f = { 0 };
	struct arena *a;
	bool fail = false;
	char *domain;
	int rc;

	if (st == NULL || o == NULL || o->policy_domain == NULL || o->policy_domain[0] == '\0' ||
	    tlsrpt_policy_type_name(o->policy_type) == NULL ||
	    tlsrpt_result_name(o->result) == NULL) {
		sx_err_set(err, "tlsrpt: nothing to record");
		return -1;
	}
	a = arena_new();
	if (a == NULL) {
		sx_err_set(err, "out of memory");
		return -1;
	}
	domain = arena_strdup(a, o->policy_domain);
	if (domain == NULL)
		goto nomem;
	str_lower_inplace(domain);
	for (size_t n = strlen(domain); n > 0 && domain[n - 1] == '.'; n--)
		domain[n - 1] = '\0';
	p.policy_domain = domain;
	p.policy_type = tlsrpt_policy_type_name(o->policy_type);
	if (o->policy_type != TLSRPT_POLICY_NONE) {
		p.policy_string =
		    clean_list(a, o->policy_strings, o->npolicy_strings, &p.npolicy_string, &fail);
		p.mx_host = clean_list(a, o->mx_hosts, o->nmx_hosts, &p.nmx_host, &fail);
	}
	if (o->result == TLSRPT_SUCCESS) {
		p.successful = 1;
	} else {
		p.failed = 1;
		f.result_type = tlsrpt_result_name(o->result);
		f.sending_mta_ip = clean(a, o->sending_mta_ip, &fail);
		f.receiving_mx_hostname = clean(a, o->receiving_mx_hostname, &fail);
		f.receiving_mx_helo = clean(a, o->receiving_mx_helo, &fail);
		f.receiving_ip = clean(a, o->receiving_ip, &fail);
		f.additional_information = clean(a, o->additional_information, &fail);
		f.failure_reason_code = clean(a, o->failure_reason_code, &fail);
		f.count = 1;
	}
	if (fail)
		goto nomem;
	rc = store_tlsrpt_add(st, time, &p, o->result == TLSRPT_SUCCESS ? NULL : &f, err);
	arena_free(a);
	return rc;
nomem:
	arena_free(a);
	sx_err_set(err, "out of memory");
	return -1;
}
