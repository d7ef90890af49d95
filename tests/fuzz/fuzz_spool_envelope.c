/*
 * fuzz_spool_envelope - the spool's envelope record parser (our own
 * on-disk format, but a file can be damaged): whatever parses must format
 * (unless it breaks a limit of the formatter) into text that parses to
 * the same values and formats to the same text again.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "transport/spool_envelope.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void same(const struct spool_envelope *a, const struct spool_envelope *b)
{
	size_t i;

	if (strcmp(a->id, b->id) != 0 || a->received != b->received ||
	    strcmp(a->sender, b->sender) != 0 || a->nrcpts != b->nrcpts ||
	    a->nheaders != b->nheaders || a->nq_reasons != b->nq_reasons || a->size != b->size ||
	    a->quarantined != b->quarantined || a->released != b->released ||
	    strcmp(a->verdict, b->verdict) != 0 || strcmp(a->client_ip, b->client_ip) != 0)
		abort();
	for (i = 0; i < a->nrcpts; i++)
		if (strcmp(a->rcpts[i].addr, b->rcpts[i].addr) != 0 ||
		    strcmp(a->rcpts[i].orcpt, b->rcpts[i].orcpt) != 0 ||
		    a->rcpts[i].state != b->rcpts[i].state || a->rcpts[i].done != b->rcpts[i].done)
			abort();
	for (i = 0; i < a->nheaders; i++)
		if (strcmp(a->headers[i], b->headers[i]) != 0)
			abort();
	for (i = 0; i < a->nq_reasons; i++)
		if (strcmp(a->q_reasons[i], b->q_reasons[i]) != 0)
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct arena *a = arena_new();
	struct spool_envelope e, back;
	struct sx_err err;
	struct buf b1, b2;

	if (a == NULL)
		return 0;
	buf_init(&b1, SPOOL_ENVELOPE_MAX + 1);
	buf_init(&b2, SPOOL_ENVELOPE_MAX + 1);
	if (spool_envelope_parse((const char *)data, size, a, &e, &err) == 0 &&
	    spool_envelope_format(&e, &b1) == 0) {
		if (spool_envelope_parse(b1.data, b1.len, a, &back, &err) < 0)
			abort();
		same(&e, &back);
		if (spool_envelope_format(&back, &b2) < 0 || b1.len != b2.len ||
		    memcmp(b1.data, b2.data, b1.len) != 0)
			abort();
	}
	buf_free(&b1);
	buf_free(&b2);
	arena_free(a);
	return 0;
}
