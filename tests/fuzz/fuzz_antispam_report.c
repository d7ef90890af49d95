/*
 * fuzz_antispam_report - libFuzzer target for the antispam report field
 * parser (report/antispam_hdr): any bytes as an X-Forefront-Antispam-
 * Report / X-Microsoft-Antispam / X-Smexop-Antispam-Report value; every
 * item is read, looked up again and checked against the limits.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "core/arena.h"
#include "report/antispam_hdr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct arena *a = arena_new();
	struct antispam_report r;
	volatile size_t sink = 0;
	size_t i;

	if (a == NULL)
		return 0;
	if (antispam_report_parse(&r, a, (const char *)data, size) == 0) {
		if (r.n > ANTISPAM_MAX_ITEMS)
			__builtin_trap();
		for (i = 0; i < r.n; i++) {
			const struct antispam_item *it = &r.items[i];

			sink += strlen(it->key) + strlen(it->value);
			if (it->name != NULL)
				sink += strlen(it->name);
			if (it->meaning != antispam_value_meaning(it->key, it->value))
				__builtin_trap();
			if (antispam_report_find(&r, it->key) == NULL)
				__builtin_trap();
		}
	} else if (size <= ANTISPAM_MAX_LEN) {
		__builtin_trap(); /* only too long input or no memory fail */
	}
	(void)sink;
	arena_free(a);
	return 0;
}
