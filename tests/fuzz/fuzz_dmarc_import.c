/*
 * fuzz_dmarc_import - the DMARC aggregate report reader: sniffing, gzip,
 * zip, the MIME walker and the XML report parser (report/dmarc_import.c)
 * with a small decompression cap, as `smexop dmarc import` runs them
 */
#include <libxml/parser.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "core/arena.h"
#include "report/dmarc_report.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int init;
	struct store_dmarc_import *r;
	struct sx_err err = { 0 };
	struct arena *a;
	size_t n, i, j;

	if (!init) {
		xmlInitParser();
		init = 1;
	}
	a = arena_new();
	if (a == NULL)
		return 0;
	if (dmarc_import_parse(a, "fuzz", data, size, 4 * 1024 * 1024, &r, &n, &err) == 0) {
		/* what the store reads must be there */
		for (i = 0; i < n; i++) {
			if (r[i].org_name == NULL || r[i].report_id == NULL || r[i].domain == NULL)
				__builtin_trap();
			for (j = 0; j < r[i].nrows; j++)
				if (r[i].rows[j].source_ip == NULL ||
				    strlen(r[i].rows[j].source_ip) == 0)
					__builtin_trap();
		}
	} else if (err.msg[0] == '\0') {
		__builtin_trap(); /* every failure says why */
	}
	arena_free(a);
	return 0;
}
