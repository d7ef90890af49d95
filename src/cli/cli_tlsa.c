/*
 * cli_tlsa - `smexop tlsa CERT`: the DANE TLSA record for our SMTP
 * certificate (RFC 7672, RFC 6698)
 *
 * Prints `3 1 1 <hex SHA-256 of the SubjectPublicKeyInfo>` for the first
 * certificate in a PEM file: DANE-EE, public key, SHA-256, the form
 * RFC 7671 section 5.1 recommends for SMTP because it survives a
 * certificate renewal that keeps the key.  Publish it at
 * _25._tcp.<mx name>.  Exit 0, or 2 when the file is not a certificate.
 */
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "cli/cli.h"

static void cli_tlsa_usage(FILE *out)
{
	fprintf(out, "usage: smexop tlsa CERT\n"
	             "\n"
	             "Print the TLSA record data for the first certificate in the PEM file CERT:\n"
	             "`3 1 1 <SHA-256 of the public key>` (DANE-EE, SPKI, SHA-256), to publish\n"
	             "at _25._tcp.<MX host name>.\n"
	             "\n"
	             "options:\n"
	             "  --help                this text\n");
}

int cli_tlsa(int argc, char **argv)
{
	unsigned char digest[EVP_MAX_MD_SIZE], *der = NULL;
	unsigned int dlen = 0, i;
	const char *path = NULL;
	X509 *cert;
	FILE *f;
	int len, a;

	for (a = 1; a < argc; a++) {
		if (strcmp(argv[a], "--help") == 0 || strcmp(argv[a], "-h") == 0) {
			cli_tlsa_usage(stdout);
			return CLI_EXIT_OK;
		}
		if (argv[a][0] == '-' && argv[a][1] != '\0')
			return cli_usage_error("tlsa", "unknown option %s", argv[a]);
		if (path != NULL)
			return cli_usage_error("tlsa", "one certificate file, please");
		path = argv[a];
	}
	if (path == NULL)
		return cli_usage_error("tlsa", "no certificate file given");
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
	for (i = 0; i < dlen; i++)
		printf("%02x", digest[i]);
	printf("\n");
	OPENSSL_free(der);
	X509_free(cert);
	return CLI_EXIT_OK;
}
