/* fuzz_mbox - mime/mbox: split any bytes into messages and undo every
 * quoting; the messages must lie inside the input, in order, without
 * overlapping, and unquoting may only shrink them */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mime/mbox.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *d = (const char *)data;
	struct mbox_iter it;
	struct mbox_msg mm;
	size_t end = 0, count = 0;
	char *out = malloc(size + 1);

	if (out == NULL)
		return 0;
	mbox_iter_init(&it, d, size);
	while (mbox_next(&it, &mm)) {
		enum mbox_quoting q;

		if (mm.offset < end || mm.offset + mm.len > size || mm.index != ++count)
			abort();
		if (mm.from_len > 0 && (mm.from_off + mm.from_len > mm.offset ||
		                        memcmp(d + mm.from_off, "From ", 5) != 0))
			abort();
		end = mm.offset + mm.len;
		for (q = MBOX_QUOTING_RD; q <= MBOX_QUOTING_NONE; q++) {
			size_t n = mbox_unquote(out, d + mm.offset, mm.len, q);

			if (n > mm.len || (q == MBOX_QUOTING_NONE && n != mm.len))
				abort();
		}
		if (count > size + 1) /* every message but an empty first one takes a byte */
			abort();
	}
	free(out);
	return 0;
}
