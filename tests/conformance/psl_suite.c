/*
 * psl_suite - the Public Suffix List test vectors (publicsuffix/tests.txt,
 * shared/conformance README section 5) against core/orgdomain, with the
 * list file from the same folder (newer than Debian's).
 *
 * Each line is `input expected`; "null" stands for no input / no
 * registrable domain.  IDNs are compared in A-label form, as
 * orgdomain_normalise() gives them.  Output: `publicsuffix: N passed,
 * N failed`; exit 1 on any failure.  argv[1] is the conformance folder.
 */
#include <stdio.h>
#include <string.h>

#include "core/buf.h"
#include "core/orgdomain.h"

int main(int argc, char **argv)
{
	char path[4096], got[ORGDOMAIN_BUF], want[ORGDOMAIN_BUF];
	struct sx_err err = { 0 };
	struct orgdomain *o;
	struct buf b;
	unsigned passed = 0, failed = 0;
	char *line, *next;

	if (argc < 2) {
		fprintf(stderr, "usage: psl_suite CONFORMANCE-DIR\n");
		return 2;
	}
	snprintf(path, sizeof(path), "%s/publicsuffix/public_suffix_list.dat", argv[1]);
	o = orgdomain_load(path, false, &err);
	if (o == NULL) {
		fprintf(stderr, "psl_suite: %s\n", err.msg);
		return 1;
	}
	snprintf(path, sizeof(path), "%s/publicsuffix/tests.txt", argv[1]);
	buf_init(&b, BUF_CAP_FILE);
	if (buf_read_file(&b, path) < 0) {
		fprintf(stderr, "psl_suite: cannot read %s\n", path);
		orgdomain_free(o);
		return 1;
	}
	for (line = b.data; line != NULL && *line != '\0'; line = next) {
		char *sp, *end;
		const char *input, *expected;
		bool ok;

		next = strchr(line, '\n');
		if (next != NULL)
			*next++ = '\0';
		end = line + strlen(line);
		while (end > line && (end[-1] == '\r' || end[-1] == ' '))
			*--end = '\0';
		if (*line == '\0' || strncmp(line, "//", 2) == 0)
			continue;
		sp = strchr(line, ' ');
		if (sp == NULL) {
			fprintf(stderr, "psl_suite: bad line: %s\n", line);
			failed++;
			continue;
		}
		*sp = '\0';
		input = strcmp(line, "null") == 0 ? NULL : line;
		expected = strcmp(sp + 1, "null") == 0 ? NULL : sp + 1;
		if (input == NULL || orgdomain_registrable(o, input, got, sizeof(got)) < 0)
			got[0] = '\0';
		if (expected == NULL)
			want[0] = '\0';
		else if (orgdomain_normalise(expected, strlen(expected), want, sizeof(want)) < 0)
			snprintf(want, sizeof(want), "(bad name %s)", expected);
		ok = strcmp(got, want) == 0;
		if (ok) {
			passed++;
		} else {
			failed++;
			printf("FAIL %s: got %s, want %s\n", input ? input : "null",
			       got[0] ? got : "null", want[0] ? want : "null");
		}
	}
	printf("publicsuffix: %u passed, %u failed\n", passed, failed);
	buf_free(&b);
	orgdomain_free(o);
	return failed > 0 || passed == 0 ? 1 : 0;
}
