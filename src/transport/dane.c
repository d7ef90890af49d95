/*
 * dane - DANE for SMTP (RFC 7672): TLSA records, the DNSSEC rules that
 * decide whether DANE applies to an MX host, and the SSL set-up and
 * outcome around OpenSSL's DANE matching (see dane.h for the contract).
 *
 * The rules run as a small step engine (dane_eval) so that tests can feed
 * it answers with any DNSSEC status; dane_lookup drives it on core/dns
 * through core/stepjob like the other DNS engines.
 */
#include <string.h>

#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/stepjob.h"
#include "core/str.h"
#include "transport/dane.h"

/* ---- TLSA records ----------------------------------------------------- */

int dane_tlsa_parse_rdata(const uint8_t *rd, size_t len, struct dane_tlsa *out, struct sx_err *err)
{
	if (len < 4) {
		sx_err_set(err, "TLSA RDATA too short (%zu octets)", len);
		return -1;
	}
	if (len > 65535) {
		sx_err_set(err, "TLSA RDATA too long (%zu octets)", len);
		return -1;
	}
	out->usage = rd[0];
	out->selector = rd[1];
	out->mtype = rd[2];
	out->len = len - 3;
	out->data = rd + 3;
	return 0;
}

static int dane_hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = str_lower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* dane_text_octet - a decimal 0..255 field at s[*i..n) followed by space */
static int dane_text_octet(const char *s, size_t n, size_t *i, uint8_t *out)
{
	size_t start;
	uint64_t v;

	while (*i < n && str_is_space(s[*i]))
		(*i)++;
	start = *i;
	while (*i < n && str_is_digit(s[*i]))
		(*i)++;
	if (*i == start || *i - start > 3 || *i >= n || !str_is_space(s[*i]) ||
	    str_to_u64(s + start, *i - start, 0, 255, &v) < 0)
		return -1;
	*out = (uint8_t)v;
	return 0;
}

int dane_tlsa_parse_text(struct arena *a, const char *s, size_t len, struct dane_tlsa *out,
                         struct sx_err *err)
{
	static const char *const field[3] = { "usage", "selector", "matching type" };
	uint8_t *oct[3] = { &out->usage, &out->selector, &out->mtype };
	uint8_t *data;
	size_t i = 0, j, nhex = 0, k;
	int f, hi = -1, v;

	for (f = 0; f < 3; f++) {
		if (dane_text_octet(s, len, &i, oct[f]) < 0) {
			sx_err_set(err, "TLSA: the %s must be a number 0-255 followed by more",
			           field[f]);
			return -1;
		}
	}
	for (j = i; j < len; j++) {
		if (str_is_space(s[j]))
			continue;
		if (dane_hexval((unsigned char)s[j]) < 0) {
			sx_err_set(err, "TLSA: not a hex digit in the data: '%c'",
			           (unsigned char)s[j] >= 0x20 && (unsigned char)s[j] < 0x7f ? s[j]
			                                                                     : '?');
			return -1;
		}
		nhex++;
	}
	if (nhex == 0 || nhex % 2 != 0) {
		sx_err_set(err, nhex == 0 ? "TLSA: no certificate association data"
		                          : "TLSA: odd number of hex digits");
		return -1;
	}
	if (nhex / 2 > DANE_TLSA_DATA_MAX) {
		sx_err_set(err, "TLSA: data longer than %d octets", DANE_TLSA_DATA_MAX);
		return -1;
	}
	data = arena_alloc(a, nhex / 2);
	if (data == NULL) {
		sx_err_set(err, "out of memory");
		return -1;
	}
	for (j = i, k = 0; j < len; j++) {
		v = dane_hexval((unsigned char)s[j]);
		if (v < 0)
			continue;
		if (hi < 0) {
			hi = v;
		} else {
			data[k++] = (uint8_t)(hi << 4 | v);
			hi = -1;
		}
	}
	out->data = data;
	out->len = k;
	return 0;
}

int dane_tlsa_format(const struct dane_tlsa *t, struct buf *b)
{
	size_t i;

	if (buf_printf(b, "%u %u %u ", t->usage, t->selector, t->mtype) < 0)
		return -1;
	for (i = 0; i < t->len; i++)
		if (buf_printf(b, "%02x", t->data[i]) < 0)
			return -1;
	return 0;
}

bool dane_tlsa_usable(const struct dane_tlsa *t, const char **why)
{
	const char *dummy;

	if (why == NULL)
		why = &dummy;
	*why = NULL;
	if (t->usage == DANE_USAGE_PKIX_TA || t->usage == DANE_USAGE_PKIX_EE) {
		*why = "PKIX usages are not used for SMTP (RFC 7672 3.1.3)";
		return false;
	}
	if (t->usage != DANE_USAGE_DANE_TA && t->usage != DANE_USAGE_DANE_EE) {
		*why = "unknown certificate usage";
		return false;
	}
	if (t->selector != DANE_SELECTOR_CERT && t->selector != DANE_SELECTOR_SPKI) {
		*why = "unknown selector";
		return false;
	}
	switch (t->mtype) {
	case DANE_MTYPE_FULL:
		if (t->len == 0) {
			*why = "empty association data";
			return false;
		}
		return true;
	case DANE_MTYPE_SHA256:
		if (t->len != 32) {
			*why = "SHA-256 data is not 32 octets";
			return false;
		}
		return true;
	case DANE_MTYPE_SHA512:
		if (t->len != 64) {
			*why = "SHA-512 data is not 64 octets";
			return false;
		}
		return true;
	}
	*why = "unknown matching type";
	return false;
}

const char *dane_usage_name(uint8_t usage)
{
	switch (usage) {
	case DANE_USAGE_PKIX_TA:
		return "PKIX-TA";
	case DANE_USAGE_PKIX_EE:
		return "PKIX-EE";
	case DANE_USAGE_DANE_TA:
		return "DANE-TA";
	case DANE_USAGE_DANE_EE:
		return "DANE-EE";
	}
	return "unknown";
}

int dane_tlsa_from_cert(struct arena *a, X509 *x, uint8_t usage, uint8_t selector, uint8_t mtype,
                        struct dane_tlsa *out)
{
	unsigned char *der = NULL, md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	const EVP_MD *evp = NULL;
	int len = -1, rc = -1;

	if (selector == DANE_SELECTOR_CERT)
		len = i2d_X509(x, &der);
	else if (selector == DANE_SELECTOR_SPKI)
		len = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(x), &der);
	if (len <= 0)
		goto out;
	if (mtype == DANE_MTYPE_SHA256)
		evp = EVP_sha256();
	else if (mtype == DANE_MTYPE_SHA512)
		evp = EVP_sha512();
	else if (mtype != DANE_MTYPE_FULL)
		goto out;
	out->usage = usage;
	out->selector = selector;
	out->mtype = mtype;
	if (evp == NULL) {
		out->data = arena_memdup(a, der, (size_t)len);
		out->len = (size_t)len;
	} else {
		if (EVP_Digest(der, (size_t)len, md, &mdlen, evp, NULL) != 1)
			goto out;
		out->data = arena_memdup(a, md, mdlen);
		out->len = mdlen;
	}
	rc = out->data != NULL ? 0 : -1;
out:
	OPENSSL_free(der);
	return rc;
}

/* ---- the policy --------------------------------------------------------- */

const char *dane_failure_name(enum dane_failure f)
{
	switch (f) {
	case DANE_FAIL_NONE:
		return "";
	case DANE_FAIL_TLSA_INVALID:
		return "tlsa-invalid";
	case DANE_FAIL_DNSSEC_INVALID:
		return "dnssec-invalid";
	case DANE_FAIL_DANE_REQUIRED:
		return "dane-required";
	case DANE_FAIL_STARTTLS_NOT_SUPPORTED:
		return "starttls-not-supported";
	case DANE_FAIL_CERT_HOST_MISMATCH:
		return "certificate-host-mismatch";
	case DANE_FAIL_CERT_EXPIRED:
		return "certificate-expired";
	case DANE_FAIL_CERT_NOT_TRUSTED:
		return "certificate-not-trusted";
	case DANE_FAIL_VALIDATION_FAILURE:
		return "validation-failure";
	}
	return "validation-failure";
}

const char *dane_status_name(enum dane_status s)
{
	switch (s) {
	case DANE_NONE:
		return "none";
	case DANE_UNUSABLE:
		return "unusable";
	case DANE_ENCRYPT:
		return "encrypt";
	case DANE_REQUIRED:
		return "required";
	}
	return "?";
}

/* dane_name_eq - DNS names equal, ASCII case-insensitive, a trailing dot ignored */
static bool dane_name_eq(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);

	if (la > 0 && a[la - 1] == '.')
		la--;
	if (lb > 0 && b[lb - 1] == '.')
		lb--;
	return str_case_eq_n(a, la, b, lb);
}

/* dane_name_copy - lower-case, without a trailing dot, in a */
static char *dane_name_copy(struct arena *a, const char *name)
{
	size_t n = strlen(name);
	char *s;

	if (n > 0 && name[n - 1] == '.')
		n--;
	s = arena_strndup(a, name, n);
	return s != NULL ? str_lower_inplace(s) : NULL;
}

struct dane_policy *dane_policy_make(struct arena *a, const char *base, const char *host,
                                     unsigned port, const struct dane_tlsa *recs, size_t n)
{
	struct dane_policy *p = arena_zalloc(a, sizeof(*p));
	size_t i;

	if (p == NULL)
		return NULL;
	if (host == NULL)
		host = base;
	if (n > DANE_TLSA_RRSET_MAX)
		n = DANE_TLSA_RRSET_MAX;
	p->host = dane_name_copy(a, host);
	p->base_domain = dane_name_copy(a, base);
	if (p->host == NULL || p->base_domain == NULL)
		return NULL;
	p->tlsa_name = arena_printf(a, "_%u._tcp.%s", port ? port : 25, p->base_domain);
	p->records = arena_array(a, n ? n : 1, sizeof(*p->records));
	if (p->tlsa_name == NULL || p->records == NULL)
		return NULL;
	for (i = 0; i < n; i++) {
		p->records[i] = recs[i];
		p->records[i].data = arena_memdup(a, recs[i].data, recs[i].len ? recs[i].len : 1);
		if (p->records[i].data == NULL)
			return NULL;
		if (dane_tlsa_usable(&recs[i], NULL))
			p->nusable++;
	}
	p->nrecords = n;
	/* RFC 7672 3.2.2: the base domain, and the name before CNAME expansion */
	p->refids[p->nrefids++] = p->base_domain;
	if (!dane_name_eq(p->host, p->base_domain))
		p->refids[p->nrefids++] = p->host;
	if (p->nusable > 0) {
		p->status = DANE_REQUIRED;
		p->failure = DANE_FAIL_NONE;
		p->why = arena_printf(a, "%s: %zu usable TLSA record(s)", p->tlsa_name, p->nusable);
	} else {
		p->status = DANE_ENCRYPT;
		p->failure = DANE_FAIL_TLSA_INVALID;
		p->why = arena_printf(a,
		                      "%s: no usable TLSA record among %zu: TLS required, "
		                      "no authentication",
		                      p->tlsa_name, n);
	}
	return p->why != NULL ? p : NULL;
}

/* ---- the rule engine ---------------------------------------------------- */

struct dane_eval {
	struct arena *a;
	struct dane_input in;
	const char *cand[2]; /* TLSA base domain candidates, in order */
	size_t ncand, idx;
	char qname[DNS_NAME_MAX + 32];
	bool done;
	unsigned answers; /* answers fed so far (for the lookup driver) */
	struct dane_policy *policy;
	struct dane_policy fallback; /* when the arena ran dry */
};

/* dane_eval_end - a policy without records */
static void dane_eval_end(struct dane_eval *e, enum dane_status st, enum dane_failure f,
                          const char *why)
{
	struct dane_policy *p = arena_zalloc(e->a, sizeof(*p));

	if (p == NULL) {
		p = &e->fallback;
		memset(p, 0, sizeof(*p));
		st = DANE_UNUSABLE;
		f = DANE_FAIL_DNSSEC_INVALID;
		why = "out of memory";
	}
	if (st == DANE_NONE && e->in.require) {
		st = DANE_UNUSABLE;
		f = DANE_FAIL_DANE_REQUIRED;
		why = arena_printf(e->a, "DANE required, but %s", why);
		if (why == NULL)
			why = "DANE required";
	}
	p->status = st;
	p->failure = f;
	p->host = e->in.host;
	if (why == NULL)
		why = "out of memory";
	p->why = why;
	e->policy = p;
	e->done = true;
}

static const char *dane_sec_text(enum dns_sec s)
{
	return s == DNS_SEC_BOGUS ? "DNSSEC bogus" : s == DNS_SEC_SECURE ? "secure" : "insecure";
}

struct dane_eval *dane_eval_new(struct arena *a, const struct dane_input *in)
{
	struct dane_eval *e = arena_zalloc(a, sizeof(*e));
	const char *host;

	if (e == NULL)
		return NULL;
	e->a = a;
	e->in = *in;
	if (e->in.port == 0)
		e->in.port = 25;
	host = in->host != NULL ? dane_name_copy(a, in->host) : NULL;
	e->in.host = host;
	if (host == NULL || host[0] == '\0' || dns_name_check(host) < 0) {
		dane_eval_end(e, DANE_UNUSABLE, DANE_FAIL_VALIDATION_FAILURE,
		              "no usable host name for DANE");
		return e;
	}
	if (in->via_mx && in->mx_sec != DNS_SEC_SECURE) {
		if (in->mx_sec == DNS_SEC_BOGUS)
			dane_eval_end(e, DANE_UNUSABLE, DANE_FAIL_DNSSEC_INVALID,
			              "MX RRset: DNSSEC bogus");
		else
			dane_eval_end(e, DANE_NONE, DANE_FAIL_NONE, "MX RRset not DNSSEC-signed");
		return e;
	}
	if (in->addr_sec != DNS_SEC_SECURE) {
		if (in->addr_sec == DNS_SEC_BOGUS)
			dane_eval_end(e, DANE_UNUSABLE, DANE_FAIL_DNSSEC_INVALID,
			              arena_printf(a, "address records of %s: DNSSEC bogus", host));
		else
			dane_eval_end(
			    e, DANE_NONE, DANE_FAIL_NONE,
			    arena_printf(a, "address records of %s not DNSSEC-signed", host));
		return e;
	}
	/* RFC 7672 2.2.3: the CNAME-expanded name first (it is secure: the
	 * address answer was), then the original name */
	if (in->addr_canon != NULL && in->addr_canon[0] != '\0' &&
	    !dane_name_eq(in->addr_canon, host) && dns_name_check(in->addr_canon) == 0)
		e->cand[e->ncand++] = dane_name_copy(a, in->addr_canon);
	e->cand[e->ncand++] = host;
	if (e->cand[0] == NULL) {
		dane_eval_end(e, DANE_UNUSABLE, DANE_FAIL_DNSSEC_INVALID, "out of memory");
		return e;
	}
	snprintf(e->qname, sizeof(e->qname), "_%u._tcp.%s", e->in.port, e->cand[0]);
	return e;
}

const char *dane_eval_query(const struct dane_eval *e)
{
	return e == NULL || e->done ? NULL : e->qname;
}

/* dane_eval_next - the next candidate, or the end without DANE */
static void dane_eval_next(struct dane_eval *e, const char *why)
{
	if (++e->idx < e->ncand) {
		snprintf(e->qname, sizeof(e->qname), "_%u._tcp.%s", e->in.port, e->cand[e->idx]);
		return;
	}
	dane_eval_end(e, DANE_NONE, DANE_FAIL_NONE, why);
}

void dane_eval_answer(struct dane_eval *e, const struct dns_answer *ans)
{
	struct dane_tlsa recs[DANE_TLSA_RRSET_MAX];
	struct dane_policy *p;
	const char *why;
	size_t i, n = 0;

	if (e == NULL || e->done)
		return;
	e->answers++;
	if (ans->sec == DNS_SEC_BOGUS) {
		dane_eval_end(e, DANE_UNUSABLE, DANE_FAIL_DNSSEC_INVALID,
		              arena_printf(e->a, "TLSA lookup for %s: DNSSEC bogus%s%s", e->qname,
		                           ans->why ? ": " : "", ans->why ? ans->why : ""));
		return;
	}
	switch (ans->status) {
	case DNS_OK:
		if (ans->sec != DNS_SEC_SECURE) {
			dane_eval_next(e, arena_printf(e->a, "TLSA records at %s not DNSSEC-signed",
			                               e->qname));
			return;
		}
		for (i = 0; i < ans->count && n < DANE_TLSA_RRSET_MAX; i++) {
			const struct dns_rr *rr = &ans->rr[i];
			if (rr->type != DNS_T_TLSA)
				continue;
			recs[n].usage = rr->u.tlsa.usage;
			recs[n].selector = rr->u.tlsa.selector;
			recs[n].mtype = rr->u.tlsa.mtype;
			recs[n].len = rr->u.tlsa.len;
			recs[n].data = rr->u.tlsa.data;
			n++;
		}
		if (n == 0) {
			dane_eval_next(e, arena_printf(e->a, "no TLSA records at %s", e->qname));
			return;
		}
		p = dane_policy_make(e->a, e->cand[e->idx], e->in.host, e->in.port, recs, n);
		if (p == NULL) {
			dane_eval_end(e, DANE_UNUSABLE, DANE_FAIL_DNSSEC_INVALID, "out of memory");
			return;
		}
		e->policy = p;
		e->done = true;
		return;
	case DNS_NXDOMAIN:
	case DNS_NODATA:
		dane_eval_next(e,
		               arena_printf(e->a, "no TLSA records at %s (%s %s)", e->qname,
		                            dane_sec_text(ans->sec),
		                            ans->status == DNS_NXDOMAIN ? "NXDOMAIN" : "NODATA"));
		return;
	default:
		why = arena_printf(e->a, "TLSA lookup for %s failed: %s%s%s", e->qname,
		                   dns_status_name(ans->status), ans->why ? ": " : "",
		                   ans->why ? ans->why : "");
		dane_eval_end(e, DANE_UNUSABLE, DANE_FAIL_DNSSEC_INVALID,
		              why ? why : "TLSA lookup failed");
		return;
	}
}

void dane_eval_abort(struct dane_eval *e, const char *why)
{
	if (e != NULL && !e->done)
		dane_eval_end(e, DANE_UNUSABLE, DANE_FAIL_DNSSEC_INVALID,
		              arena_printf(e->a, "TLSA lookup for %s: %s", e->qname, why));
}

const struct dane_policy *dane_eval_policy(const struct dane_eval *e)
{
	return e != NULL && e->done ? e->policy : NULL;
}

/* ---- asynchronous lookup (core/stepjob) -------------------------------- */

struct dane_lookup {
	struct dane_eval *e;
	struct stepjob *job;
	unsigned sent; /* queries sent; the current one is sent when sent > answers */
	dane_lookup_cb cb;
	void *arg;
};

static bool dane_lookup_step(void *engine)
{
	struct dane_lookup *l = engine;

	return dane_eval_query(l->e) == NULL;
}

static size_t dane_lookup_queries(void *engine)
{
	struct dane_lookup *l = engine;

	return dane_eval_query(l->e) != NULL ? 1 : 0;
}

static bool dane_lookup_take(void *engine, size_t i, struct stepjob_query *q)
{
	struct dane_lookup *l = engine;

	(void)i;
	if (l->sent > l->e->answers)
		return false;
	l->sent++;
	q->name = dane_eval_query(l->e);
	q->type = DNS_T_TLSA;
	q->slot = l;
	return true;
}

static void dane_lookup_answer(void *engine, void *slot, const struct dns_answer *ans)
{
	struct dane_lookup *l = engine;

	(void)slot;
	dane_eval_answer(l->e, ans);
}

static void dane_lookup_abort(void *engine)
{
	struct dane_lookup *l = engine;

	dane_eval_abort(l->e, "timed out");
}

static void dane_lookup_finished(void *engine)
{
	struct dane_lookup *l = engine;

	l->cb(dane_eval_policy(l->e), l->arg);
}

static const struct stepjob_ops dane_lookup_ops = {
	.step = dane_lookup_step,
	.queries = dane_lookup_queries,
	.take = dane_lookup_take,
	.answer = dane_lookup_answer,
	.abort = dane_lookup_abort,
	.finished = dane_lookup_finished,
};

struct dane_lookup *dane_lookup(struct dns *dns, struct event_base *base, struct arena *a,
                                const struct dane_input *in, unsigned timeout_ms, dane_lookup_cb cb,
                                void *arg)
{
	struct dane_lookup *l = arena_zalloc(a, sizeof(*l));

	if (l == NULL || cb == NULL)
		return NULL;
	l->cb = cb;
	l->arg = arg;
	l->e = dane_eval_new(a, in);
	if (l->e == NULL)
		return NULL;
	l->job = stepjob_start(dns, base, a, l, &dane_lookup_ops,
	                       timeout_ms ? timeout_ms : 2 * DNS_DEFAULT_TIMEOUT_MS, 0);
	return l->job != NULL ? l : NULL;
}

void dane_lookup_cancel(struct dane_lookup *l)
{
	if (l != NULL)
		stepjob_cancel(l->job);
}

/* ---- the handshake ------------------------------------------------------ */

int dane_ssl_prepare(SSL *ssl, const struct dane_policy *p, char *err, size_t errsize)
{
	size_t i;
	int added = 0, r;

	if (p == NULL || p->status != DANE_REQUIRED) {
		snprintf(err, errsize, "no DANE policy to authenticate with");
		return -1;
	}
	if (SSL_CTX_dane_enable(SSL_get_SSL_CTX(ssl)) <= 0 ||
	    SSL_dane_enable(ssl, p->base_domain) <= 0) {
		snprintf(err, errsize, "OpenSSL cannot enable DANE");
		return -1;
	}
	/* RFC 7672 8.1: SNI is the TLSA base domain */
	if (SSL_set_tlsext_host_name(ssl, p->base_domain) != 1) {
		snprintf(err, errsize, "bad SNI name %s", p->base_domain);
		return -1;
	}
	/* RFC 7672 3.1.1: no name checks for DANE-EE; 3.2.3: "*" only as a
	 * whole left-most label */
	SSL_dane_set_flags(ssl, DANE_FLAG_NO_DANE_EE_NAMECHECKS);
	SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
	for (i = 1; i < p->nrefids; i++) {
		if (SSL_add1_host(ssl, p->refids[i]) != 1) {
			snprintf(err, errsize, "bad reference identifier %s", p->refids[i]);
			return -1;
		}
	}
	for (i = 0; i < p->nrecords; i++) {
		const struct dane_tlsa *t = &p->records[i];
		if (!dane_tlsa_usable(t, NULL))
			continue;
		r = SSL_dane_tlsa_add(ssl, t->usage, t->selector, t->mtype, t->data, t->len);
		if (r < 0) {
			snprintf(err, errsize, "OpenSSL failed to load a TLSA record");
			return -1;
		}
		if (r > 0)
			added++;
	}
	if (added == 0) {
		snprintf(err, errsize, "%s: OpenSSL accepted none of the TLSA records",
		         p->tlsa_name);
		return -1;
	}
	return added;
}

/* dane_verify_failure - the TLS-RPT result type for a verification error */
static enum dane_failure dane_verify_failure(long v)
{
	switch (v) {
	case X509_V_ERR_HOSTNAME_MISMATCH:
		return DANE_FAIL_CERT_HOST_MISMATCH;
	case X509_V_ERR_CERT_HAS_EXPIRED:
	case X509_V_ERR_CERT_NOT_YET_VALID:
		return DANE_FAIL_CERT_EXPIRED;
	case X509_V_ERR_DANE_NO_MATCH:
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
	case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
	case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
	case X509_V_ERR_CERT_UNTRUSTED:
	case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
		return DANE_FAIL_CERT_NOT_TRUSTED;
	}
	return DANE_FAIL_VALIDATION_FAILURE;
}

/* dane_matched - the matched record and depth, whatever the verify result */
static int dane_matched(SSL *ssl, struct dane_outcome *o)
{
	const unsigned char *data = NULL;
	size_t dlen = 0;
	int depth;

	depth = SSL_get0_dane_tlsa(ssl, &o->matched.usage, &o->matched.selector, &o->matched.mtype,
	                           &data, &dlen);
	if (depth >= 0) {
		o->matched.data = data;
		o->matched.len = dlen;
	}
	return depth;
}

int dane_ssl_outcome(SSL *ssl, struct dane_outcome *o)
{
	long v;

	memset(o, 0, sizeof(*o));
	o->depth = -1;
	if (ssl == NULL)
		return -1;
	v = SSL_get_verify_result(ssl);
	o->verify_error = v;
	if (v == X509_V_OK) {
		o->depth = dane_matched(ssl, o);
		if (o->depth >= 0) {
			o->authenticated = true;
			o->failure = DANE_FAIL_NONE;
			snprintf(o->why, sizeof(o->why), "%s(%u) %u %u matched at depth %d",
			         dane_usage_name(o->matched.usage), o->matched.usage,
			         o->matched.selector, o->matched.mtype, o->depth);
			return 0;
		}
		o->failure = DANE_FAIL_CERT_NOT_TRUSTED;
		snprintf(o->why, sizeof(o->why), "no TLSA record matched the certificate chain");
		return 0;
	}
	/* a failure: learn what matched, if anything (the result hides it) */
	SSL_set_verify_result(ssl, X509_V_OK);
	o->depth = dane_matched(ssl, o);
	SSL_set_verify_result(ssl, v);
	o->failure = dane_verify_failure(v);
	if (o->depth >= 0)
		snprintf(o->why, sizeof(o->why), "%s(%u) %u %u matched at depth %d, but: %s",
		         dane_usage_name(o->matched.usage), o->matched.usage, o->matched.selector,
		         o->matched.mtype, o->depth, X509_verify_cert_error_string(v));
	else
		snprintf(o->why, sizeof(o->why), "%s", X509_verify_cert_error_string(v));
	return 0;
}
