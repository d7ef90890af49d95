/* fuzz_dkim_sig - the DKIM tag-list parser and the DKIM-Signature checks */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "auth/dkim_sig.h"
#include "auth/dkim_tag.h"
#include "core/arena.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct arena *a = arena_new();
	struct dkim_tag_list list;
	struct dkim_sig sig;
	enum dkim_reason reason;
	const char *why, *text = (const char *)data;
	uint8_t *out;
	size_t i;

	if (a == NULL)
		return 0;
	if (dkim_tag_parse(&list, text, size, &why) == 0)
		for (i = 0; i < list.n; i++)
			if (list.tag[i].value + list.tag[i].value_len > text + size ||
			    list.tag[i].value_off + list.tag[i].value_len > size)
				abort();
	if (dkim_sig_parse(&sig, a, text, size, &reason, &why) == 0) {
		if (sig.b_start > sig.b_end || sig.b_end > size || sig.nh == 0 || sig.d == NULL)
			abort();
	} else if (why == NULL) {
		abort();
	}
	out = malloc(size * 3 / 4 + 4);
	if (out != NULL) {
		long n = dkim_b64_decode(text, size, out);
		if (n > (long)(size * 3 / 4 + 3))
			abort();
		free(out);
	}
	arena_free(a);
	return 0;
}
