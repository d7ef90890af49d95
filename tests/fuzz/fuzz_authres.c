/*
 * fuzz_authres - the Authentication-Results parser, strict and lenient,
 * and the formatter: whatever parses must format into something that
 * parses again to the same number of results and properties.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "auth/authres.h"
#include "core/arena.h"
#include "core/buf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void round_trip(struct arena *a, const struct authres *ar, unsigned flags)
{
	struct authres back;
	struct sx_err err;
	struct buf b;
	size_t i;

	buf_init(&b, 1024 * 1024);
	if (authres_format(&b, ar, NULL) < 0)
		abort();
	/* with the same flags: a bare action= read leniently is written bare */
	if (authres_parse(&back, a, b.data, b.len, flags, &err) < 0)
		abort();
	if (back.nresults != ar->nresults)
		abort();
	for (i = 0; i < ar->nresults; i++)
		if (back.results[i].nprops != ar->results[i].nprops ||
		    strcmp(back.results[i].method, ar->results[i].method) != 0 ||
		    strcmp(back.results[i].result, ar->results[i].result) != 0)
			abort();
	buf_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct arena *a = arena_new();
	const char *text = (const char *)data;
	struct authres ar;
	struct sx_err err;
	size_t i;

	if (a == NULL)
		return 0;
	for (i = 0; i < 2; i++) {
		unsigned flags = i == 0 ? 0 : AUTHRES_LENIENT;
		size_t j;

		if (authres_parse(&ar, a, text, size, flags, &err) < 0)
			continue;
		for (j = 0; j < ar.nresults; j++)
			if (ar.results[j].raw < text ||
			    ar.results[j].raw + ar.results[j].raw_len > text + size)
				abort();
		round_trip(a, &ar, flags);
	}
	arena_free(a);
	return 0;
}
