/*
 * odkim - sign or verify one message with OpenDKIM's library (libopendkim)
 *
 * A peer for the DKIM interoperability test (test_dkim_interop.py) and the
 * DKIM benchmark (bench/dkim).  opendkim-testmsg, OpenDKIM's own tool,
 * signs only with rsa-sha1 relaxed/simple, finds keys only in DNS and
 * verifies one message per process, so this drives the library the way
 * the opendkim milter does: dkim_header() per field, dkim_eoh(),
 * dkim_body(), dkim_eom(), with any algorithm, canonicalisation and l=,
 * and keys from DNS or from memory.  Bare LF input is turned into
 * CRLF first, as an MTA would.
 *
 *   odkim sign -d DOMAIN -s SELECTOR -k KEYFILE [-a rsa|ed25519] [-c H/B] [-l]
 *       prints the DKIM-Signature field (CRLF) followed by the message
 *   odkim verify [-K KEYS] [-n N]
 *       one line per signature: `pass|fail d=D s=S (error)`; keys come from
 *       DNS through the system resolver (/etc/resolv.conf), or with -K from
 *       a file of "NAME TXT-DATA" lines held in memory and handed over by a
 *       key lookup callback (no DNS, no file I/O per message).  -n N verifies
 *       N times and prints the rate (per CPU second) instead.
 *
 * Never part of smexop; built only when libopendkim-dev is installed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <dkim.h>

#define ODKIM_MAX_INPUT (64u << 20)
#define ODKIM_MAX_KEYS  64

struct odkim_key {
	char *name;
	char *txt;
};

static struct odkim_key keys[ODKIM_MAX_KEYS];
static size_t nkeys;

/* read_all - the whole stream, bare LF turned into CRLF */
static char *read_all(FILE *f, size_t *len)
{
	size_t cap = 1 << 16, n = 0;
	char *raw = malloc(cap), *out;
	size_t i, o = 0;

	if (raw == NULL)
		return NULL;
	for (;;) {
		size_t r;

		if (n == cap) {
			char *p;

			if (cap >= ODKIM_MAX_INPUT)
				break;
			cap *= 2;
			p = realloc(raw, cap);
			if (p == NULL) {
				free(raw);
				return NULL;
			}
			raw = p;
		}
		r = fread(raw + n, 1, cap - n, f);
		if (r == 0)
			break;
		n += r;
	}
	out = malloc(2 * n + 1);
	if (out == NULL) {
		free(raw);
		return NULL;
	}
	for (i = 0; i < n; i++) {
		if (raw[i] == '\n' && (i == 0 || raw[i - 1] != '\r'))
			out[o++] = '\r';
		out[o++] = raw[i];
	}
	out[o] = '\0';
	free(raw);
	*len = o;
	return out;
}

static int load_keys(const char *path)
{
	FILE *f = fopen(path, "r");
	char line[8192];

	if (f == NULL) {
		perror(path);
		return -1;
	}
	while (fgets(line, sizeof(line), f) != NULL && nkeys < ODKIM_MAX_KEYS) {
		char *sp = strpbrk(line, " \t"), *end;

		if (sp == NULL || line[0] == '#')
			continue;
		*sp++ = '\0';
		sp += strspn(sp, " \t");
		end = sp + strcspn(sp, "\r\n");
		*end = '\0';
		keys[nkeys].name = strdup(line);
		keys[nkeys].txt = strdup(sp);
		nkeys++;
	}
	fclose(f);
	return 0;
}

static DKIM_CBSTAT key_lookup(DKIM *dkim, DKIM_SIGINFO *sig, u_char *buf, size_t buflen)
{
	char name[512];
	size_t i;

	(void)dkim;
	snprintf(name, sizeof(name), "%s._domainkey.%s", (char *)dkim_sig_getselector(sig),
	         (char *)dkim_sig_getdomain(sig));
	for (i = 0; i < nkeys; i++) {
		if (strcasecmp(keys[i].name, name) == 0) {
			snprintf((char *)buf, buflen, "%s", keys[i].txt);
			return DKIM_CBSTAT_CONTINUE;
		}
	}
	return DKIM_CBSTAT_NOTFOUND;
}

/* feed - hand msg to a signing or verifying handle, field by field */
static DKIM_STAT feed(DKIM *dkim, char *msg, size_t len)
{
	size_t p = 0, start;
	DKIM_STAT st;

	while (p < len) {
		if (p + 1 < len && msg[p] == '\r' && msg[p + 1] == '\n') {
			p += 2; /* the empty line */
			break;
		}
		start = p;
		for (;;) {
			char *nl = memchr(msg + p, '\n', len - p);

			p = nl == NULL ? len : (size_t)(nl - msg) + 1;
			if (p >= len || (msg[p] != ' ' && msg[p] != '\t'))
				break;
		}
		st = dkim_header(dkim, (u_char *)msg + start,
		                 p - start - (p - start >= 2 && msg[p - 1] == '\n' ? 2 : 0));
		if (st != DKIM_STAT_OK)
			return st;
	}
	st = dkim_eoh(dkim);
	if (st != DKIM_STAT_OK && st != DKIM_STAT_NOSIG)
		return st;
	if (p < len && (st = dkim_body(dkim, (u_char *)msg + p, len - p)) != DKIM_STAT_OK)
		return st;
	return dkim_eom(dkim, NULL);
}

static int do_sign(DKIM_LIB *lib, int argc, char **argv, char *msg, size_t len)
{
	const char *domain = NULL, *sel = NULL, *keyfile = NULL;
	dkim_alg_t alg = DKIM_SIGN_RSASHA256;
	dkim_canon_t hc = DKIM_CANON_RELAXED, bc = DKIM_CANON_RELAXED;
	unsigned flags = DKIM_LIBFLAGS_NONE;
	char *key;
	size_t klen;
	unsigned char *hdr;
	size_t hlen;
	DKIM_STAT st;
	DKIM *dkim;
	FILE *f;
	int c;

	while ((c = getopt(argc, argv, "d:s:k:a:c:l")) != -1) {
		switch (c) {
		case 'd':
			domain = optarg;
			break;
		case 's':
			sel = optarg;
			break;
		case 'k':
			keyfile = optarg;
			break;
		case 'a':
			alg = strcmp(optarg, "ed25519") == 0 ? DKIM_SIGN_ED25519SHA256
			                                     : DKIM_SIGN_RSASHA256;
			break;
		case 'c':
			hc = strncmp(optarg, "simple", 6) == 0 ? DKIM_CANON_SIMPLE
			                                       : DKIM_CANON_RELAXED;
			bc = strstr(optarg, "/simple") != NULL ? DKIM_CANON_SIMPLE
			                                       : DKIM_CANON_RELAXED;
			break;
		case 'l':
			flags |= DKIM_LIBFLAGS_SIGNLEN;
			break;
		default:
			return 2;
		}
	}
	if (domain == NULL || sel == NULL || keyfile == NULL || (f = fopen(keyfile, "r")) == NULL) {
		fprintf(stderr, "odkim sign: -d, -s and a readable -k are needed\n");
		return 2;
	}
	key = read_all(f, &klen);
	fclose(f);
	if (key == NULL)
		return 2;
	dkim_options(lib, DKIM_OP_SETOPT, DKIM_OPTS_FLAGS, &flags, sizeof(flags));
	dkim = dkim_sign(lib, (const unsigned char *)"odkim", NULL, (dkim_sigkey_t)key,
	                 (const unsigned char *)sel, (const unsigned char *)domain, hc, bc, alg, -1,
	                 &st);
	if (dkim == NULL) {
		fprintf(stderr, "odkim sign: dkim_sign: %s\n", dkim_getresultstr(st));
		return 1;
	}
	st = feed(dkim, msg, len);
	if (st == DKIM_STAT_OK)
		st = dkim_getsighdr_d(dkim, strlen(DKIM_SIGNHEADER) + 2, &hdr, &hlen);
	if (st != DKIM_STAT_OK) {
		fprintf(stderr, "odkim sign: %s (%s)\n", dkim_getresultstr(st),
		        dkim_geterror(dkim) == NULL ? "" : dkim_geterror(dkim));
		dkim_free(dkim);
		return 1;
	}
	/* the library folds with bare LF; the message is CRLF */
	printf("%s: ", DKIM_SIGNHEADER);
	for (size_t i = 0; i < hlen; i++) {
		if (hdr[i] == '\n' && (i == 0 || hdr[i - 1] != '\r'))
			putchar('\r');
		putchar(hdr[i]);
	}
	printf("\r\n");
	fwrite(msg, 1, len, stdout);
	dkim_free(dkim);
	free(key);
	return 0;
}

/* verify_once - 1 when every signature passed, 0 if not, -1 on error */
static int verify_once(DKIM_LIB *lib, char *msg, size_t len, int print)
{
	DKIM_SIGINFO **sigs;
	DKIM_STAT st;
	DKIM *dkim = dkim_verify(lib, (const unsigned char *)"odkim", NULL, &st);
	int nsigs = 0, i, ok = 1;

	if (dkim == NULL)
		return -1;
	st = feed(dkim, msg, len);
	if (dkim_getsiglist(dkim, &sigs, &nsigs) != DKIM_STAT_OK || nsigs == 0) {
		if (print)
			printf("none (%s)\n", dkim_getresultstr(st));
		dkim_free(dkim);
		return 0;
	}
	for (i = 0; i < nsigs; i++) {
		unsigned fl = dkim_sig_getflags(sigs[i]);
		int pass =
		    (fl & DKIM_SIGFLAG_PASSED) != 0 && dkim_sig_getbh(sigs[i]) == DKIM_SIGBH_MATCH;
		int err = dkim_sig_geterror(sigs[i]);

		if (!pass)
			ok = 0;
		if (print)
			printf("%s d=%s s=%s (%s%s)\n", pass ? "pass" : "fail",
			       (char *)dkim_sig_getdomain(sigs[i]),
			       (char *)dkim_sig_getselector(sigs[i]),
			       err == DKIM_SIGERROR_OK && !pass &&
			               dkim_sig_getbh(sigs[i]) == DKIM_SIGBH_MISMATCH
			           ? "body hash mismatch"
			           : dkim_sig_geterrorstr(err),
			       (fl & DKIM_SIGFLAG_PROCESSED) ? "" : ", not processed");
	}
	dkim_free(dkim);
	return ok;
}

static int do_verify(DKIM_LIB *lib, int argc, char **argv, char *msg, size_t len)
{
	long n = 0;
	int c;

	while ((c = getopt(argc, argv, "K:n:")) != -1) {
		switch (c) {
		case 'K':
			if (load_keys(optarg) < 0)
				return 2;
			dkim_set_key_lookup(lib, key_lookup);
			break;
		case 'n':
			n = strtol(optarg, NULL, 10);
			break;
		default:
			return 2;
		}
	}
	if (n > 0) {
		struct timespec t0, t1;
		double s;
		long i, ok = 0;

		clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t0);
		for (i = 0; i < n; i++)
			ok += verify_once(lib, msg, len, 0) == 1;
		clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t1);
		s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
		printf("%ld verifications (%ld pass) in %.6f s: %.1f/s\n", n, ok, s, (double)n / s);
		return ok == n ? 0 : 1;
	}
	return verify_once(lib, msg, len, 1) < 0 ? 1 : 0;
}

int main(int argc, char **argv)
{
	DKIM_LIB *lib;
	char *msg;
	size_t len;
	int rc;

	if (argc < 2 || (strcmp(argv[1], "sign") != 0 && strcmp(argv[1], "verify") != 0)) {
		fprintf(stderr,
		        "usage: odkim sign -d D -s S -k KEY [-a rsa|ed25519] [-c H/B] [-l]\n"
		        "       odkim verify [-K KEYS] [-n N]\n");
		return 2;
	}
	msg = read_all(stdin, &len);
	lib = dkim_init(NULL, NULL);
	if (msg == NULL || lib == NULL) {
		fprintf(stderr, "odkim: out of memory\n");
		return 2;
	}
	if (strcmp(argv[1], "sign") == 0)
		rc = do_sign(lib, argc - 1, argv + 1, msg, len);
	else
		rc = do_verify(lib, argc - 1, argv + 1, msg, len);
	dkim_close(lib);
	free(msg);
	return rc;
}
