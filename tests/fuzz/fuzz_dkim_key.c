/* fuzz_dkim_key - the DKIM key record parser and the key decoding */
#include <stdint.h>
#include <stdlib.h>

#include "auth/dkim_key.h"
#include "core/arena.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct arena *a = arena_new();
	struct dkim_key k;
	const char *why = NULL;
	unsigned bits;

	if (a == NULL)
		return 0;
	if (dkim_key_parse(&k, a, (const char *)data, size, &why) == 0) {
		if (!k.revoked)
			(void)dkim_key_pkey(&k, a, &bits, &why);
	} else if (why == NULL) {
		abort();
	}
	arena_free(a);
	return 0;
}
