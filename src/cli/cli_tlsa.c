/*
 * cli_tlsa - `smexop tlsa`: the DANE TLSA records of an SMTP server
 * (RFC 7672, RFC 6698), to publish and to check
 *
 *   smexop tlsa CERT
 *	`3 1 1 <hex SHA-256 of the SubjectPublicKeyInfo>` for the first
 *	certificate in a PEM file: DANE-EE, public key, SHA-256, the form
 *	RFC 7671 section 5.1 recommends for SMTP because it survives a
 *	certificate renewal that keeps the key.  Publish it at
 *	_25._tcp.<mx name>.  Exit 0, or 2 when the file is not a certificate.
 *
 *   smexop tlsa --host H[:PORT] [--all]
 *	the certificate the server presents after STARTTLS (smtp/smtp_probe)
 *	as the TLSA record to publish: 3 1 1 of the leaf; with --all also
 *	2 1 1 of each issuer it sent (DANE-TA: survives a new leaf key from
 *	the same CA).  Exit 0, or 2 when the server cannot be reached or
 *	does not do STARTTLS.
 *
 *   smexop tlsa --host H[:PORT] --verify
 *	looks up the published TLSA records with DNSSEC (transport/dane's
 *	rules: the address and TLSA answers must be secure, the CNAME-expanded
 *	name first) and checks the presented chain against them with
 *	OpenSSL's DANE (dane_ssl_prepare / dane_ssl_outcome).  Exit 0 on a
 *	match, 1 on a mismatch, no DANE, no usable record, bogus or failed
 *	TLSA lookups; 2 on usage errors and when the server cannot be reached.
 */
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "cli/cli.h"
#include "core/arena.h"
#include "core/buf.h"
#include "core/net.h"
#include "core/str.h"
#include "smtp/smtp_probe.h"
#include "transport/dane.h"

#define CLI_TLSA_EXIT_MISMATCH 1

static void cli_tlsa_usage(FILE *out)
{
	fprintf(out,
	        "usage: smexop tlsa CERT\n"
	        "       smexop tlsa --host HOST[:PORT] [--all] [--verify] [DNS options]\n"
	        "\n"
	        "Print the TLSA record data for the first certificate in the PEM file CERT:\n"
	        "`3 1 1 <SHA-256 of the public key>` (DANE-EE, SPKI, SHA-256), to publish\n"
	        "at _25._tcp.<MX host name>.\n"
	        "\n"
	        "With --host, connect to the SMTP server (port 25 unless given), STARTTLS,\n"
	        "and print the TLSA record for the certificate it presents; --all adds\n"
	        "`2 1 1` (DANE-TA) records for the issuers it sends.  With --verify, look\n"
	        "up the TLSA records published at _PORT._tcp.HOST with DNSSEC and say\n"
	        "whether the presented chain matches them (RFC 7672): exit 0 on a match,\n"
	        "1 on a mismatch or when DANE does not apply or cannot be used, 2 on errors.\n"
	        "\n"
	        "options:\n"
	        "  --host HOST[:PORT]    the SMTP server (a name; an address without --verify)\n"
	        "  --all                 also the issuers' DANE-TA records\n"
	        "  --verify              check the published TLSA records (needs DNSSEC:\n"
	        "                        the root key, or --trust-anchor with --dns)\n"
	        "  --helo NAME           the EHLO name (default smexop.invalid)\n"
	        "  --timeout MS          per SMTP step (default 30000)\n" CLI_DNS_USAGE
	        "  --help                this text\n");
}

/* cli_tlsa_hex - print data as lower-case hex */
static void cli_tlsa_hex(const uint8_t *d, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		printf("%02x", d[i]);
}

static int cli_tlsa_file(const char *path)
{
	unsigned char digest[EVP_MAX_MD_SIZE], *der = NULL;
	unsigned int dlen = 0;
	X509 *cert;
	FILE *f;
	int len;

	f = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
	if (f == NULL) {
		fprintf(stderr, "smexop tlsa: cannot open %s\n", path);
		return CLI_EXIT_USAGE;
	}
	cert = PEM_read_X509(f, NULL, NULL, NULL);
	if (f != stdin)
		fclose(f);
	if (cert == NULL) {
		fprintf(stderr, "smexop tlsa: %s: no PEM certificate\n", path);
		return CLI_EXIT_USAGE;
	}
	len = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(cert), &der);
	if (len <= 0 || EVP_Digest(der, (size_t)len, digest, &dlen, EVP_sha256(), NULL) != 1) {
		OPENSSL_free(der);
		X509_free(cert);
		fprintf(stderr, "smexop tlsa: %s: cannot encode the public key\n", path);
		return CLI_EXIT_USAGE;
	}
	printf("3 1 1 ");
	cli_tlsa_hex(digest, dlen);
	printf("\n");
	OPENSSL_free(der);
	X509_free(cert);
	return CLI_EXIT_OK;
}

/* cli_tlsa_subject - "CN=..." of x (one line) */
static void cli_tlsa_subject(X509 *x, char *out, size_t outsize)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *p = NULL;
	long n;

	out[0] = '\0';
	if (b == NULL)
		return;
	X509_NAME_print_ex(b, X509_get_subject_name(x), 0, XN_FLAG_ONELINE & ~ASN1_STRFLGS_ESC_MSB);
	n = BIO_get_mem_data(b, &p);
	if (n > 0)
		snprintf(out, outsize, "%.*s", (int)n, p);
	BIO_free(b);
}

/* cli_tlsa_records - the records to publish for the presented chain */
static void cli_tlsa_records(const char *owner, STACK_OF(X509) * chain, bool all)
{
	struct arena *a = arena_new();
	int i, n = chain ? sk_X509_num(chain) : 0;
	char subject[512];

	for (i = 0; i < n && a != NULL; i++) {
		struct dane_tlsa t;
		X509 *x = sk_X509_value(chain, i);
		if (i > 0 && !all)
			break;
		if (dane_tlsa_from_cert(a, x, i == 0 ? DANE_USAGE_DANE_EE : DANE_USAGE_DANE_TA,
		                        DANE_SELECTOR_SPKI, DANE_MTYPE_SHA256, &t) < 0)
			continue;
		cli_tlsa_subject(x, subject, sizeof(subject));
		printf("%s. IN TLSA %u %u %u ", owner, t.usage, t.selector, t.mtype);
		cli_tlsa_hex(t.data, t.len);
		printf(" ; depth %d: %s\n", i, subject);
	}
	arena_free(a);
}

struct cli_tlsa_run {
	struct cli_wait w;
	const struct dane_policy *policy;
};

static void cli_tlsa_policy_done(const struct dane_policy *p, void *arg)
{
	struct cli_tlsa_run *r = arg;

	r->policy = p;
	cli_wait_done(&r->w, NULL);
}

/* cli_tlsa_setup - smtp_probe's hook: DANE on the SSL before the handshake */
static int cli_tlsa_setup(SSL *ssl, void *arg, char *err, size_t errsize)
{
	return dane_ssl_prepare(ssl, arg, err, errsize) > 0 ? 0 : -1;
}

/* cli_tlsa_addr_facts - the DNSSEC status and CNAME target of host's
 * address records, as dane_input wants them */
static void cli_tlsa_addr_facts(struct cli_dns *d, struct arena *a, const char *host,
                                enum dns_sec *sec, const char **canon)
{
	static const enum dns_type types[2] = { DNS_T_A, DNS_T_AAAA };
	bool secure = true, bogus = false;
	int t;

	*canon = NULL;
	for (t = 0; t < 2; t++) {
		struct dns_answer *ans = dns_resolve_sync(d->dns, d->base, a, host, types[t]);
		if (ans == NULL) {
			secure = false;
			continue;
		}
		if (ans->sec == DNS_SEC_BOGUS)
			bogus = true;
		if (ans->sec != DNS_SEC_SECURE ||
		    (ans->status != DNS_OK && ans->status != DNS_NODATA))
			secure = false;
		if (*canon == NULL && ans->status == DNS_OK && ans->canonname != NULL)
			*canon = ans->canonname;
	}
	*sec = bogus ? DNS_SEC_BOGUS : secure ? DNS_SEC_SECURE : DNS_SEC_INSECURE;
}

/* cli_tlsa_print_policy - the published records and what the rules made of them */
static void cli_tlsa_print_policy(const struct dane_policy *p)
{
	size_t i;

	if (p->tlsa_name != NULL && p->nrecords > 0) {
		printf("TLSA %s (DNSSEC secure):\n", p->tlsa_name);
		for (i = 0; i < p->nrecords; i++) {
			const char *why = NULL;
			bool usable = dane_tlsa_usable(&p->records[i], &why);
			printf("  %u %u %u ", p->records[i].usage, p->records[i].selector,
			       p->records[i].mtype);
			cli_tlsa_hex(p->records[i].data, p->records[i].len);
			printf("  %s%s%s\n", usable ? "usable" : "unusable", usable ? "" : ": ",
			       usable ? "" : why);
		}
	}
}

static int cli_tlsa_host(struct cli_dns *d, const char *hostport, bool all, bool verify,
                         const char *helo, unsigned timeout_ms)
{
	struct smtp_probe_options o = { 0 };
	struct smtp_probe_result r;
	struct cli_tlsa_run run = { 0 };
	struct dane_outcome out;
	struct dane_input in = { 0 };
	struct net_addr lit;
	struct arena *a;
	char host[DNS_NAME_MAX + 2], owner[DNS_NAME_MAX + 32];
	unsigned port = 25;
	int rc = CLI_EXIT_USAGE;

	if (net_hostport_parse(hostport, 25, host, sizeof(host), &port) < 0 || host[0] == '\0' ||
	    port == 0 || port > 65535)
		return cli_usage_error("tlsa", "--host: not HOST[:PORT]: %s", hostport);
	if (verify && net_addr_parse(host, &lit) == 0)
		return cli_usage_error("tlsa", "--verify needs a host name, not an address");
	if (cli_dns_open(d, "tlsa") < 0)
		return CLI_EXIT_USAGE;
	a = arena_new();
	if (a == NULL) {
		cli_dns_close(d);
		return CLI_EXIT_USAGE;
	}
	{
		size_t hl = strlen(host);
		if (hl > 0 && host[hl - 1] == '.')
			host[hl - 1] = '\0';
	}
	str_lower_inplace(host);
	snprintf(owner, sizeof(owner), "_%u._tcp.%s", port, host);

	o.host = host;
	o.port = port;
	o.helo_name = helo;
	o.timeout_ms = timeout_ms;
	o.dns = d->dns;
	o.base = d->base;

	if (verify) {
		in.host = host;
		in.port = port;
		in.via_mx = false; /* the MX RRset is the caller's (check-domain's) to judge */
		cli_tlsa_addr_facts(d, a, host, &in.addr_sec, &in.addr_canon);
		cli_wait_init(&run.w, d->base, 1);
		if (dane_lookup(d->dns, d->base, a, &in, 0, cli_tlsa_policy_done, &run) == NULL ||
		    cli_wait_run(&run.w) < 0 || run.policy == NULL) {
			fprintf(stderr, "smexop tlsa: the TLSA lookup could not run\n");
			goto out;
		}
		cli_tlsa_print_policy(run.policy);
		switch (run.policy->status) {
		case DANE_NONE:
			printf("no DANE: %s\n", run.policy->why);
			if (d->opts.forward_host != NULL && d->opts.trust_anchor == NULL)
				printf("(with --dns and no --trust-anchor nothing can be "
				       "DNSSEC-secure)\n");
			rc = CLI_TLSA_EXIT_MISMATCH;
			goto out;
		case DANE_UNUSABLE:
			printf("DANE unusable: %s (%s)\n", run.policy->why,
			       dane_failure_name(run.policy->failure));
			rc = CLI_TLSA_EXIT_MISMATCH;
			goto out;
		case DANE_ENCRYPT:
			printf("no usable TLSA record: TLS required, no authentication (%s)\n",
			       dane_failure_name(run.policy->failure));
			rc = CLI_TLSA_EXIT_MISMATCH;
			goto out;
		case DANE_REQUIRED:
			break;
		}
		o.tls_setup = cli_tlsa_setup;
		o.tls_setup_arg = (void *)run.policy;
		o.keep_ssl = true;
	}

	if (smtp_probe_run(&o, &r) < 0) {
		fprintf(stderr, "smexop tlsa: %s\n", r.error);
		if (verify && r.stage == SMTP_PROBE_STARTTLS)
			printf("DANE: %s\n", dane_failure_name(DANE_FAIL_STARTTLS_NOT_SUPPORTED));
		smtp_probe_result_free(&r);
		goto out;
	}
	printf("# %s %s %s\n", r.peer, r.tls_version, r.cipher);
	if (!verify) {
		cli_tlsa_records(owner, r.chain, all);
		rc = CLI_EXIT_OK;
	} else {
		if (all)
			cli_tlsa_records(owner, r.chain, true);
		if (dane_ssl_outcome(r.ssl, &out) < 0) {
			fprintf(stderr, "smexop tlsa: no DANE outcome\n");
		} else if (out.authenticated) {
			printf("match: %s\n", out.why);
			rc = CLI_EXIT_OK;
		} else {
			printf("mismatch: %s (%s)\n", out.why, dane_failure_name(out.failure));
			rc = CLI_TLSA_EXIT_MISMATCH;
		}
	}
	smtp_probe_result_free(&r);
out:
	arena_free(a);
	cli_dns_close(d);
	return rc;
}

int cli_tlsa(int argc, char **argv)
{
	struct cli_dns d = { 0 };
	const char *path = NULL, *hostport = NULL, *helo = NULL;
	bool all = false, verify = false;
	unsigned timeout_ms = 0;
	uint64_t v;
	int a, r;

	for (a = 1; a < argc; a++) {
		r = cli_common_option(&d, NULL, cli_tlsa_usage, argc, argv, &a);
		if (r < 0)
			return cli_opt_exit(r);
		if (r > 0)
			continue;
		if (strcmp(argv[a], "--all") == 0) {
			all = true;
		} else if (strcmp(argv[a], "--verify") == 0) {
			verify = true;
		} else if (strcmp(argv[a], "--host") == 0 || strcmp(argv[a], "--helo") == 0 ||
		           strcmp(argv[a], "--timeout") == 0) {
			if (a + 1 >= argc)
				return cli_usage_error("tlsa", "%s needs a value", argv[a]);
			if (strcmp(argv[a], "--host") == 0) {
				hostport = argv[++a];
			} else if (strcmp(argv[a], "--helo") == 0) {
				helo = argv[++a];
			} else {
				a++;
				if (str_to_u64(argv[a], strlen(argv[a]), 1, 600000, &v) < 0)
					return cli_usage_error("tlsa",
					                       "--timeout: milliseconds 1-600000");
				timeout_ms = (unsigned)v;
			}
		} else if (argv[a][0] == '-' && argv[a][1] != '\0') {
			return cli_usage_error("tlsa", "unknown option %s", argv[a]);
		} else {
			if (path != NULL)
				return cli_usage_error("tlsa", "one certificate file, please");
			path = argv[a];
		}
	}
	if (hostport != NULL) {
		if (path != NULL)
			return cli_usage_error("tlsa", "a certificate file or --host, not both");
		return cli_tlsa_host(&d, hostport, all, verify, helo, timeout_ms);
	}
	if (all || verify)
		return cli_usage_error("tlsa", "--all and --verify go with --host");
	if (path == NULL)
		return cli_usage_error("tlsa", "no certificate file given");
	return cli_tlsa_file(path);
}
