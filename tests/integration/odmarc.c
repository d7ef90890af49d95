/*
 * odmarc - OpenDMARC's verdict (libopendmarc) for DMARC cases on stdin
 *
 * A peer for the DMARC comparison test (test_dmarc_opendmarc.py).  The
 * library evaluates a policy without DNS when the application hands it the
 * record: opendmarc_policy_store_from_domain(), store_dmarc() with the
 * record and, when the record was found at the organisational domain
 * rather than at the From domain, that domain (which makes the library
 * apply sp=), store_spf(), store_dkim() per signature (after the record:
 * store_dkim() reads adkim= to pick its signature; 1.4 takes a selector,
 * which plays no part in the verdict), then
 * opendmarc_get_policy_to_enforce().  Discovery (which record applies) is
 * the caller's; the public suffix list is loaded with
 * opendmarc_tld_read_file() as the opendmarc milter does.
 *
 *   odmarc PSL-FILE < cases
 *
 * One case per line, fields separated by TABs:
 *   FROM-DOMAIN  RECORD|-  ORG-DOMAIN|-  SPF-DOMAIN|-  SPF-RESULT  DKIM
 * where RECORD "-" means none was found (nothing is stored), and DKIM
 * is "-" or a comma-separated list of DOMAIN:RESULT, results being pass,
 * fail, none or temperror (what the library knows).  One line out per
 * case: pass, reject, quarantine, none (failed, p=none), absent, or
 * "error <status>" when a store_* call refused its input.
 *
 *   odmarc PSL-FILE align < pairs
 *
 * asks the library's alignment function instead, one "SUB TAB TLD TAB r|s"
 * per line (opendmarc_policy_check_alignment(SUB, TLD, mode): the From
 * domain first when the verdict is computed, the d= domain first when
 * store_dkim() picks a signature): "aligned" or "not".  The comparison test
 * uses it to name the cases where the library's alignment is not RFC 7489's.
 *
 * Never part of smexop; built only when libopendmarc-dev is installed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <opendmarc/dmarc.h>

#define ODMARC_LINE 8192

/* odmarc_outcome - the library's outcome constant for a result name */
static int odmarc_outcome(const char *s, int spf)
{
	if (strcmp(s, "pass") == 0)
		return spf ? DMARC_POLICY_SPF_OUTCOME_PASS : DMARC_POLICY_DKIM_OUTCOME_PASS;
	if (strcmp(s, "fail") == 0)
		return spf ? DMARC_POLICY_SPF_OUTCOME_FAIL : DMARC_POLICY_DKIM_OUTCOME_FAIL;
	if (strcmp(s, "temperror") == 0)
		return spf ? DMARC_POLICY_SPF_OUTCOME_TMPFAIL : DMARC_POLICY_DKIM_OUTCOME_TMPFAIL;
	return spf ? DMARC_POLICY_SPF_OUTCOME_NONE : DMARC_POLICY_DKIM_OUTCOME_NONE;
}

/* odmarc_case - evaluate one case line (modified in place) */
static void odmarc_case(char *line)
{
	char *f[6], *p = line, *sig, *next;
	DMARC_POLICY_T *pctx;
	int i, st;

	for (i = 0; i < 6; i++) {
		f[i] = p;
		p = p != NULL ? strchr(p, '\t') : NULL;
		if (p != NULL)
			*p++ = '\0';
	}
	if (f[5] == NULL) {
		printf("error bad-input\n");
		return;
	}
	pctx = opendmarc_policy_connect_init((u_char *)"192.0.2.1", 0);
	if (pctx == NULL) {
		printf("error connect_init\n");
		return;
	}
	st = opendmarc_policy_store_from_domain(pctx, (u_char *)f[0]);
	if (st == DMARC_PARSE_OKAY && strcmp(f[1], "-") != 0)
		st = opendmarc_policy_store_dmarc(pctx, (u_char *)f[1], (u_char *)f[0],
		                                  strcmp(f[2], "-") == 0 ? NULL : (u_char *)f[2]);
	if (st == DMARC_PARSE_OKAY && strcmp(f[3], "-") != 0)
		st = opendmarc_policy_store_spf(pctx, (u_char *)f[3], odmarc_outcome(f[4], 1),
		                                DMARC_POLICY_SPF_ORIGIN_MAILFROM, NULL);
	for (sig = strcmp(f[5], "-") != 0 ? f[5] : NULL; sig != NULL && st == DMARC_PARSE_OKAY;
	     sig = next) {
		char *colon;

		next = strchr(sig, ',');
		if (next != NULL)
			*next++ = '\0';
		colon = strrchr(sig, ':');
		if (colon == NULL)
			continue;
		*colon = '\0';
		st = opendmarc_policy_store_dkim(pctx, (u_char *)sig, (u_char *)"sel",
		                                 odmarc_outcome(colon + 1, 0), NULL);
	}
	if (st != DMARC_PARSE_OKAY) {
		printf("error %s\n", opendmarc_policy_status_to_str(st));
	} else {
		switch (opendmarc_get_policy_to_enforce(pctx)) {
		case DMARC_POLICY_PASS:
			printf("pass\n");
			break;
		case DMARC_POLICY_REJECT:
			printf("reject\n");
			break;
		case DMARC_POLICY_QUARANTINE:
			printf("quarantine\n");
			break;
		case DMARC_POLICY_NONE:
			printf("none\n");
			break;
		case DMARC_POLICY_ABSENT:
			printf("absent\n");
			break;
		default:
			printf("error policy\n");
			break;
		}
	}
	opendmarc_policy_connect_shutdown(pctx);
}

/* odmarc_align - "SUB TLD r|s": opendmarc_policy_check_alignment() */
static void odmarc_align(char *line)
{
	char *tld = strchr(line, '\t'), *mode;

	mode = tld != NULL ? strchr(tld + 1, '\t') : NULL;
	if (mode == NULL) {
		printf("error bad-input\n");
		return;
	}
	*tld++ = '\0';
	*mode++ = '\0';
	printf("%s\n", opendmarc_policy_check_alignment((u_char *)line, (u_char *)tld,
	                                                *mode == 's' ? DMARC_RECORD_A_STRICT
	                                                             : DMARC_RECORD_A_RELAXED) == 0
	                   ? "aligned"
	                   : "not");
}

int main(int argc, char **argv)
{
	OPENDMARC_LIB_T lib;
	char line[ODMARC_LINE];
	int align;

	align = argc == 3 && strcmp(argv[2], "align") == 0;
	if (argc != 2 && !align) {
		fprintf(stderr, "usage: odmarc PSL-FILE [align] < cases\n");
		return 2;
	}
	memset(&lib, 0, sizeof(lib));
	lib.tld_type = OPENDMARC_TLD_TYPE_MOZILLA;
	snprintf((char *)lib.tld_source_file, sizeof(lib.tld_source_file), "%s", argv[1]);
	if (opendmarc_policy_library_init(&lib) != DMARC_PARSE_OKAY ||
	    opendmarc_tld_read_file(argv[1], "//", "*.", "!") != 0) {
		fprintf(stderr, "odmarc: cannot load %s\n", argv[1]);
		return 1;
	}
	while (fgets(line, sizeof(line), stdin) != NULL) {
		line[strcspn(line, "\r\n")] = '\0';
		if (align)
			odmarc_align(line);
		else
			odmarc_case(line);
		fflush(stdout);
	}
	opendmarc_tld_shutdown();
	opendmarc_policy_library_shutdown(&lib);
	return 0;
}
