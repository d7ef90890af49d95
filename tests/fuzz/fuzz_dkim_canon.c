/* fuzz_dkim_canon - header and body canonicalisation of arbitrary
 * messages: any chunking gives the same body hashes, and the whole
 * verifier runs over the message with every key answered by one fixed
 * Ed25519 record (the first byte picks the chunk size). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "auth/dkim.h"
#include "auth/dkim_canon.h"
#include "core/arena.h"
#include "mime/raw.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void null_sink(void *ctx, const void *p, size_t n)
{
	(void)p;
	*(size_t *)ctx += n;
}

static const char key[] = "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct arena *a;
	struct raw_message m;
	struct dkim_body_hashes *h1, *h2;
	struct dkim_verify_options o;
	struct dkim_verify *v;
	struct dkim_query *const *q;
	const struct dkim_sig_result *res;
	size_t chunk, i, n, off, total = 0;
	int c, e[4][2];

	if (size < 1)
		return 0;
	chunk = (size_t)data[0] + 1;
	data++;
	size--;
	a = arena_new();
	if (a == NULL || raw_message_parse(&m, a, (const char *)data, size, NULL, NULL) < 0) {
		arena_free(a);
		return 0;
	}
	for (i = 0; i < m.nfields; i++)
		for (c = 0; c < 2; c++)
			dkim_canon_header((enum dkim_canon)c, m.fields[i].raw,
			                  m.fields[i].raw_len - m.fields[i].eol_len, true,
			                  null_sink, &total);
	/* the body in one piece and in chunks: the same digests */
	h1 = dkim_body_hashes_new(a);
	h2 = dkim_body_hashes_new(a);
	if (h1 == NULL || h2 == NULL)
		goto out;
	for (c = 0; c < 2; c++) {
		e[c][0] = dkim_body_hashes_add(h1, (enum dkim_canon)c, false, 0, DKIM_HASH_SHA256);
		e[c][1] = dkim_body_hashes_add(h2, (enum dkim_canon)c, false, 0, DKIM_HASH_SHA256);
		e[c + 2][0] =
		    dkim_body_hashes_add(h1, (enum dkim_canon)c, true, chunk, DKIM_HASH_SHA256);
		e[c + 2][1] =
		    dkim_body_hashes_add(h2, (enum dkim_canon)c, true, chunk, DKIM_HASH_SHA256);
	}
	dkim_body_hashes_feed(h1, m.body, m.body_len);
	for (off = 0; off < m.body_len; off += chunk)
		dkim_body_hashes_feed(h2, m.body + off,
		                      m.body_len - off < chunk ? m.body_len - off : chunk);
	dkim_body_hashes_end(h1);
	dkim_body_hashes_end(h2);
	for (c = 0; c < 4; c++) {
		size_t l1, l2;
		uint64_t c1, c2;
		const uint8_t *d1 = dkim_body_hashes_get(h1, e[c][0], &l1, &c1);
		const uint8_t *d2 = dkim_body_hashes_get(h2, e[c][1], &l2, &c2);

		if (d1 == NULL || d2 == NULL || l1 != l2 || c1 != c2 || memcmp(d1, d2, l1) != 0)
			abort();
	}
	/* the verifier end to end */
	dkim_verify_options_init(&o, 1700000000);
	v = dkim_verify_new(a, &m, &o);
	if (v == NULL)
		goto out;
	n = dkim_verify_queries(v, &q);
	for (i = 0; i < n; i++) {
		struct dns_answer ans;
		struct dns_rr rr;
		size_t klen = sizeof(key) - 1;

		memset(&ans, 0, sizeof(ans));
		memset(&rr, 0, sizeof(rr));
		rr.type = DNS_T_TXT;
		rr.u.txt.data = (char *)key;
		rr.u.txt.len = klen;
		rr.u.txt.nstrings = 1;
		rr.u.txt.string_len = &klen;
		ans.status = i % 3 == 2 ? DNS_SERVFAIL : DNS_OK;
		ans.count = 1;
		ans.rr = &rr;
		dkim_verify_answer(v, q[i]->name, &ans);
	}
	if (dkim_verify_step(v) != DKIM_STEP_DONE)
		abort();
	n = dkim_verify_results(v, &res);
	for (i = 0; i < n; i++)
		if (res[i].why == NULL || res[i].d == NULL || res[i].s == NULL ||
		    res[i].unsigned_tail > res[i].body_len)
			abort();
out:
	arena_free(a);
	return 0;
}
