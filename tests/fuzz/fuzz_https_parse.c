/*
 * fuzz_https_parse - libFuzzer target for the HTTP/1.1 response parser of
 * core/https: the bytes fed whole, then again in pieces whose sizes come
 * from the input (the outcome must not depend on how the bytes arrive),
 * then the end of input; with a small body cap so the limits are hit.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/https.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static enum https_parse_status run(const char *d, size_t n, size_t step, struct https_parser *p)
{
	enum https_parse_status r = HTTPS_PARSE_MORE;
	size_t i, k;

	for (i = 0; i < n && r == HTTPS_PARSE_MORE; i += k) {
		k = step == 0 ? n : step;
		if (k > n - i)
			k = n - i;
		r = https_parser_feed(p, d + i, k);
	}
	if (r == HTTPS_PARSE_MORE)
		r = https_parser_eof(p);
	return r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct https_parser a, b;
	enum https_parse_status ra, rb;
	size_t step = size > 0 ? (size_t)(data[0] % 7) + 1 : 1;

	https_parser_init(&a, 4096);
	https_parser_init(&b, 4096);
	ra = run((const char *)data, size, 0, &a);
	rb = run((const char *)data, size, step, &b);
	if (ra != rb)
		abort();
	if (ra == HTTPS_PARSE_DONE &&
	    (a.status != b.status || a.body.len != b.body.len ||
	     (a.body.len > 0 && memcmp(a.body.data, b.body.data, a.body.len) != 0)))
		abort();
	if (a.body.len > 4096)
		abort();
	https_parser_free(&a);
	https_parser_free(&b);
	return 0;
}
