/*
 * fuzz_tlsa - libFuzzer target for the TLSA record parsers
 * (transport/dane): the bytes as wire RDATA and as presentation text.
 * What parses is formatted, parsed again and must come back the same,
 * and the usable-for-SMTP rules run on it.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/buf.h"
#include "transport/dane.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_tlsa_roundtrip(struct arena *a, const struct dane_tlsa *t)
{
	struct dane_tlsa u;
	struct sx_err err = { 0 };
	struct buf b;

	(void)dane_tlsa_usable(t, NULL);
	(void)dane_usage_name(t->usage);
	buf_init(&b, 2 * DANE_TLSA_DATA_MAX + 32);
	if (dane_tlsa_format(t, &b) < 0) {
		buf_free(&b);
		return;
	}
	if (t->len > 0) {
		if (dane_tlsa_parse_text(a, b.data, b.len, &u, &err) < 0)
			abort();
		if (u.usage != t->usage || u.selector != t->selector || u.mtype != t->mtype ||
		    u.len != t->len || memcmp(u.data, t->data, t->len) != 0)
			abort();
	}
	buf_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct arena *a = arena_new();
	struct dane_tlsa t;
	struct sx_err err = { 0 };

	if (a == NULL)
		return 0;
	if (dane_tlsa_parse_rdata(data, size, &t, &err) == 0)
		fuzz_tlsa_roundtrip(a, &t);
	if (dane_tlsa_parse_text(a, (const char *)data, size, &t, &err) == 0)
		fuzz_tlsa_roundtrip(a, &t);
	arena_free(a);
	return 0;
}
