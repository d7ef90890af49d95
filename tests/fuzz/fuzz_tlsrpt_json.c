/*
 * fuzz_tlsrpt_json - libFuzzer target for the TLS-RPT report reader
 * (report/tlsrpt_import.c): any bytes as a received report file (JSON,
 * gzip, or a mail), capped at 1 MiB decompressed; a report that parses
 * is written back as JSON (report/tlsrpt.c), which must parse again to
 * the same numbers.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "report/tlsrpt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint64_t total(const struct store_tlsrpt_report *r)
{
	uint64_t n = 0;
	size_t i, j;

	for (i = 0; i < r->npolicies; i++) {
		n += r->policies[i].successful + 3 * r->policies[i].failed;
		for (j = 0; j < r->policies[i].nfailures; j++)
			n += 7 * r->policies[i].failures[j].count;
	}
	return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct arena *a = arena_new();
	struct store_tlsrpt_report *r, back;
	struct sx_err err = { 0 };
	size_t n, i, len;
	char *json;

	if (a == NULL)
		return 0;
	if (tlsrpt_import_parse(a, "fuzz", data, size, 1024 * 1024, &r, &n, &err) == 0) {
		if (n == 0 || n > TLSRPT_IMPORT_MAX_REPORTS)
			abort();
		for (i = 0; i < n; i++) {
			json = tlsrpt_report_json(a, &r[i], &len);
			if (json == NULL)
				continue; /* out of memory */
			if (tlsrpt_import_json(a, json, len, &back, &err) < 0)
				abort();
			if (back.npolicies != r[i].npolicies || total(&back) != total(&r[i]) ||
			    back.begin != r[i].begin || back.end != r[i].end)
				abort();
		}
	} else if (err.msg[0] == '\0') {
		abort();
	}
	arena_free(a);
	return 0;
}
