/*
 * fuzz_spf_record - libFuzzer target for the SPF record parser
 * (auth/spf_record): any bytes as a joined TXT record.  Valid records are
 * walked so every field the parser set is read (ASan checks the slices).
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "auth/spf_record.h"
#include "core/arena.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct arena *a = arena_new();
	struct spf_record *r;
	volatile size_t sink = 0;
	size_t i;

	if (a == NULL)
		return 0;
	spf_record_is_spf((const char *)data, size);
	r = spf_record_parse(a, (const char *)data, size);
	if (r != NULL && r->error == NULL) {
		for (i = 0; i < r->nterms; i++) {
			const struct spf_term *t = &r->terms[i];
			sink += strlen(t->text) + t->cidr4 + t->cidr6 + (size_t)t->qual;
			if (t->domain != NULL)
				sink += (size_t)memchr(t->domain, 0, t->domain_len) == 0;
		}
		if (r->redirect != NULL)
			sink += r->redirect_len;
		if (r->exp != NULL)
			sink += r->exp_len;
	} else if (r != NULL) {
		sink += strlen(r->error);
	}
	(void)sink;
	arena_free(a);
	return 0;
}
