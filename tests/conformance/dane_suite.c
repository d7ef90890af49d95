/*
 * dane_suite - OpenSSL's DANE test vectors (dane-openssl/danetest.in, 54
 * cases, and dane-cross.in, 1 case; shared/conformance README section 8)
 * run through transport/dane: each case's TLSA records become a policy
 * (dane_policy_make), the SSL is set up by dane_ssl_prepare, the chain is
 * verified as OpenSSL's danetest does (an X509_STORE_CTX carrying the
 * SSL's DANE state, trust store danetest.pem / dane-cross-root.pem), and
 * dane_ssl_outcome reads the result.  The SSL_CTX keeps OpenSSL's default
 * digest preferences (the production set-up; no case depends on them).
 *
 * Expectations.  danetest.in states OpenSSL's generic RFC 6698/7671
 * results; RFC 7672 changes two things for SMTP, and this runner expects
 * the SMTP result there:
 *
 *   1. PKIX-TA(0) and PKIX-EE(1) are unusable for SMTP (RFC 7672 3.1.3).
 *      A case whose records are all PKIX (danetest 23-42: 23-37 chain
 *      tests, 38 missing intermediate, 39 intermediate "from DNS", 40-42
 *      wrong digests) is a secure RRset without a usable record: the
 *      expectation is DANE_ENCRYPT (TLS required, no authentication),
 *      failure type tlsa-invalid, and dane_ssl_prepare refusing to set up
 *      authentication.  Whatever OpenSSL would say about the chain is
 *      irrelevant then.  A case mixing PKIX and DANE records would run
 *      with its DANE records only; there is none in effect: 45 and 46 say
 *      "beats PKIX-..." in their titles, but their headers count one TLSA
 *      record, so the PKIX line after it is skipped as text before the
 *      PEM data, here as in OpenSSL's own run.
 *   2. DANE-EE(3) never checks names for SMTP (RFC 7672 3.1.1): a case
 *      that expects a host name mismatch at depth 0 with name checks on
 *      (54) expects success at depth 0 instead.
 *
 * Everything else (1-22, 43, 44, 47-53, dane-cross 1) expects exactly
 * OpenSSL's result: the verify error and the match depth, with the TLS-RPT
 * failure type that goes with the error (65 DANE no match and 20 missing
 * issuer: certificate-not-trusted; 62 name mismatch:
 * certificate-host-mismatch).
 *
 * Output: one line per case, then `dane-openssl: N passed, N failed`;
 * exit 1 on any failure.  argv[1] is the conformance folder.
 */
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/str.h"
#include "transport/dane.h"

#define SUITE_TLSA_MAX 8

struct suite {
	unsigned passed, failed;
};

/* suite_int - a possibly negative decimal at *p; 0 or -1 */
static int suite_int(char **p, long *out)
{
	uint64_t v;
	bool neg = false;
	char *s = *p, *start;

	while (*s == ' ' || *s == '\t')
		s++;
	if (*s == '-') {
		neg = true;
		s++;
	}
	start = s;
	while (str_is_digit(*s))
		s++;
	if (s == start || str_to_u64(start, (size_t)(s - start), 0, 1000, &v) < 0)
		return -1;
	*out = neg ? -(long)v : (long)v;
	*p = s;
	return 0;
}

/* suite_verify - the chain against the SSL's DANE state, as a handshake
 * (and OpenSSL's danetest) does it */
static void suite_verify(SSL *ssl, STACK_OF(X509) * chain)
{
	X509_STORE_CTX *sc = X509_STORE_CTX_new();

	if (sc == NULL ||
	    !X509_STORE_CTX_init(sc, SSL_CTX_get_cert_store(SSL_get_SSL_CTX(ssl)), NULL, chain)) {
		SSL_set_verify_result(ssl, X509_V_ERR_OUT_OF_MEM);
		X509_STORE_CTX_free(sc);
		return;
	}
	X509_STORE_CTX_set_ex_data(sc, SSL_get_ex_data_X509_STORE_CTX_idx(), ssl);
	X509_STORE_CTX_set_default(sc, "ssl_server");
	X509_VERIFY_PARAM_set1(X509_STORE_CTX_get0_param(sc), SSL_get0_param(ssl));
	X509_STORE_CTX_set0_dane(sc, SSL_get0_dane(ssl));
	(void)X509_STORE_CTX_verify(sc);
	SSL_set_verify_result(ssl, X509_STORE_CTX_get_error(sc));
	X509_STORE_CTX_free(sc);
}

static enum dane_failure suite_failure_for(long err)
{
	switch (err) {
	case X509_V_OK:
		return DANE_FAIL_NONE;
	case X509_V_ERR_HOSTNAME_MISMATCH:
		return DANE_FAIL_CERT_HOST_MISMATCH;
	case X509_V_ERR_DANE_NO_MATCH:
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
		return DANE_FAIL_CERT_NOT_TRUSTED;
	}
	return DANE_FAIL_VALIDATION_FAILURE;
}

/* suite_case - one case; the lines are consumed from *next */
static void suite_case(struct suite *st, SSL_CTX *ctx, const char *file, int no, const char *base,
                       char *header, char **next)
{
	struct arena *a = arena_new();
	struct dane_tlsa recs[SUITE_TLSA_MAX];
	struct dane_policy *p;
	struct dane_outcome o;
	STACK_OF(X509) *chain = sk_X509_new_null();
	long ntlsa, ncert, noncheck, want, want_depth, i;
	size_t npkix = 0, n = 0;
	char err[256], desc[200] = "";
	char *line, *h = header;
	bool ok = false;
	SSL *ssl = NULL;
	BIO *bio;

	if (a == NULL || chain == NULL || suite_int(&h, &ntlsa) < 0 || suite_int(&h, &ncert) < 0 ||
	    suite_int(&h, &noncheck) < 0 || suite_int(&h, &want) < 0 ||
	    suite_int(&h, &want_depth) < 0 || ntlsa < 1 || ntlsa > SUITE_TLSA_MAX) {
		printf("%s %d: FAIL malformed header: %s\n", file, no, header);
		st->failed++;
		goto out;
	}
	for (i = 0; i < ntlsa; i++) {
		struct sx_err e = { 0 };
		line = *next;
		if (line == NULL) {
			printf("%s %d: FAIL missing TLSA line\n", file, no);
			st->failed++;
			goto out;
		}
		*next = strchr(line, '\n');
		if (*next != NULL)
			*(*next)++ = '\0';
		if (dane_tlsa_parse_text(a, line, strlen(line), &recs[n], &e) < 0) {
			printf("%s %d: FAIL TLSA line: %s\n", file, no, e.msg);
			st->failed++;
			goto out;
		}
		if (recs[n].usage <= 1)
			npkix++;
		snprintf(desc + strlen(desc), sizeof(desc) - strlen(desc), "%s%u %u %u",
		         n ? ", " : "", recs[n].usage, recs[n].selector, recs[n].mtype);
		n++;
	}
	/* the certificates: everything up to the ncert-th END line */
	{
		char *start = *next, *end = *next;
		long seen = 0;
		while (end != NULL && seen < ncert) {
			char *nl = strchr(end, '\n');
			if (strncmp(end, "-----END CERTIFICATE-----", 25) == 0)
				seen++;
			end = nl != NULL ? nl + 1 : NULL;
		}
		if (start == NULL || seen < ncert) {
			printf("%s %d: FAIL missing certificates\n", file, no);
			st->failed++;
			goto out;
		}
		*next = end;
		bio = BIO_new_mem_buf(start, end != NULL ? (int)(end - start) : -1);
		for (i = 0; i < ncert; i++) {
			X509 *x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
			if (x == NULL || !sk_X509_push(chain, x)) {
				X509_free(x);
				break;
			}
		}
		BIO_free(bio);
		if (sk_X509_num(chain) != ncert) {
			printf("%s %d: FAIL unreadable certificate\n", file, no);
			st->failed++;
			goto out;
		}
	}

	p = dane_policy_make(a, base, base, 25, recs, n);
	ssl = SSL_new(ctx);
	if (p == NULL || ssl == NULL) {
		printf("%s %d: FAIL out of memory\n", file, no);
		st->failed++;
		goto out;
	}
	if (npkix == n) {
		/* rule 1: only PKIX records, unusable for SMTP */
		ok = p->status == DANE_ENCRYPT && p->failure == DANE_FAIL_TLSA_INVALID &&
		     p->nusable == 0 && dane_ssl_prepare(ssl, p, err, sizeof(err)) < 0;
		printf("%s %d: %s [%s] PKIX only -> encrypt, tlsa-invalid (OpenSSL: %ld, depth "
		       "%ld; RFC 7672 3.1.3) got %s %s\n",
		       file, no, ok ? "ok" : "FAIL", desc, want, want_depth,
		       dane_status_name(p->status), dane_failure_name(p->failure));
		goto count;
	}
	if (noncheck == 0 && want == X509_V_ERR_HOSTNAME_MISMATCH && want_depth == 0) {
		/* rule 2: DANE-EE has no name checks in SMTP */
		want = X509_V_OK;
		snprintf(desc + strlen(desc), sizeof(desc) - strlen(desc),
		         "; OpenSSL 62, SMTP: no DANE-EE name checks");
	}
	if (dane_ssl_prepare(ssl, p, err, sizeof(err)) < 0) {
		printf("%s %d: FAIL [%s] prepare: %s\n", file, no, desc, err);
		st->failed++;
		goto out;
	}
	suite_verify(ssl, chain);
	if (dane_ssl_outcome(ssl, &o) < 0) {
		printf("%s %d: FAIL [%s] no outcome\n", file, no, desc);
		st->failed++;
		goto out;
	}
	ok = o.verify_error == want && o.depth == want_depth && o.authenticated == (want == 0) &&
	     o.failure == suite_failure_for(want);
	printf("%s %d: %s [%s]%s want %ld depth %ld, got %ld depth %d %s%s(%s)\n", file, no,
	       ok ? "ok" : "FAIL", desc, npkix ? " PKIX records dropped;" : "", want, want_depth,
	       o.verify_error, o.depth, o.authenticated ? "authenticated " : "",
	       o.failure ? dane_failure_name(o.failure) : "", o.why);
count:
	if (ok)
		st->passed++;
	else
		st->failed++;
out:
	SSL_free(ssl);
	if (chain != NULL)
		sk_X509_pop_free(chain, X509_free);
	arena_free(a);
	ERR_clear_error();
}

/* suite_file - every case of one .in file */
static int suite_file(struct suite *st, const char *dir, const char *name, const char *ca,
                      const char *base, int want_cases)
{
	char path[4096];
	struct buf b;
	SSL_CTX *ctx;
	char *line, *next;
	int no = 0;

	snprintf(path, sizeof(path), "%s/dane-openssl/%s", dir, ca);
	ctx = SSL_CTX_new(TLS_client_method());
	if (ctx == NULL || SSL_CTX_dane_enable(ctx) <= 0 ||
	    SSL_CTX_load_verify_locations(ctx, path, NULL) != 1) {
		fprintf(stderr, "dane_suite: cannot set up the TLS context with %s\n", path);
		SSL_CTX_free(ctx);
		return -1;
	}
	snprintf(path, sizeof(path), "%s/dane-openssl/%s", dir, name);
	buf_init(&b, BUF_CAP_FILE);
	if (buf_read_file(&b, path) < 0) {
		fprintf(stderr, "dane_suite: cannot read %s\n", path);
		SSL_CTX_free(ctx);
		return -1;
	}
	for (line = b.data; line != NULL && *line != '\0'; line = next) {
		next = strchr(line, '\n');
		if (next != NULL)
			*next++ = '\0';
		if (*line == '\0' || *line == '#')
			continue;
		suite_case(st, ctx, name, ++no, base, line, &next);
	}
	buf_free(&b);
	SSL_CTX_free(ctx);
	if (no != want_cases) {
		printf("%s: FAIL %d cases found, %d expected\n", name, no, want_cases);
		st->failed++;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct suite st = { 0 };

	if (argc < 2) {
		fprintf(stderr, "usage: dane_suite CONFORMANCE-DIR\n");
		return 2;
	}
	if (suite_file(&st, argv[1], "danetest.in", "danetest.pem", "example.com", 54) < 0 ||
	    suite_file(&st, argv[1], "dane-cross.in", "dane-cross-root.pem", "server.example", 1) <
	        0)
		return 1;
	printf("dane-openssl: %u passed, %u failed\n", st.passed, st.failed);
	return st.failed ? 1 : 0;
}
