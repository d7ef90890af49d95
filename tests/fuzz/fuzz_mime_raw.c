/* fuzz_mime_raw - raw_message_parse on arbitrary bytes; checks that the
 * fields tile the header section and that lookups stay in bounds */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "mime/raw.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct arena *a = arena_new();
	struct raw_message m;
	struct raw_limits lim = { 20, 4096 };
	struct sx_err err = { 0 };
	size_t i, off = 0;

	if (a == NULL)
		return 0;
	if (raw_message_parse(&m, a, (const char *)data, size, size & 1 ? &lim : NULL, &err) == 0) {
		for (i = 0; i < m.nfields; i++) {
			const struct raw_field *f = &m.fields[i];
			const char *v;
			size_t vlen;

			if (f->offset != off || f->raw != m.data + off || f->raw_len == 0)
				abort();
			off += f->raw_len;
			raw_field_value(f, &v, &vlen);
			if (v < f->raw || v + vlen > f->raw + f->raw_len)
				abort();
			if (f->name_len > 0)
				(void)raw_find_from_bottom(&m, f->name, f->name_len, 1, NULL);
		}
		if (off != m.header_len || m.body + m.body_len != m.data + m.len)
			abort();
		(void)raw_count(&m, "from", 4);
	}
	arena_free(a);
	return 0;
}
