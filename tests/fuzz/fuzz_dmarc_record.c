/*
 * fuzz_dmarc_record - libFuzzer target for the DMARC record parser
 * (auth/dmarc_record) and the evaluator behind it (auth/dmarc): any bytes
 * as the TXT record of _dmarc.example.com, parsed directly (every URI
 * read back) and then served to a whole evaluation of a subdomain, so
 * discovery, the np= checks, alignment and sampling run on it too.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "auth/dmarc.h"
#include "auth/dmarc_record.h"
#include "core/arena.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct arena *a = arena_new();
	struct dmarc_record r;
	volatile size_t sink = 0;
	size_t i, rounds = 0;
	const char *from = "a.b.example.com";
	struct dmarc_dkim dk = { "b.example.com", DKIM_PASS };
	struct dmarc_request req = { .from_domains = &from, .nfrom = 1, .dkim = &dk, .ndkim = 1 };
	struct dmarc_eval *e;

	if (a == NULL)
		return 0;
	dmarc_record_is_dmarc((const char *)data, size);
	dmarc_record_parse(a, (const char *)data, size, &r);
	for (i = 0; i < r.nrua; i++)
		sink += strlen(r.rua[i].uri) + (r.rua[i].addr ? strlen(r.rua[i].addr) : 0);
	for (i = 0; i < r.nruf; i++)
		sink += strlen(r.ruf[i].uri) + strlen(r.ruf[i].scheme);
	(void)sink;

	/* the record at the org domain; the first byte picks the sample */
	req.sample = size > 0 ? data[0] % 100 : 0;
	if (size > 0 && (data[0] & 1))
		dk.result = DKIM_FAIL;
	e = dmarc_eval_new(a, &req);
	while (e != NULL && dmarc_eval_step(e) == DMARC_STEP_NEED_DNS && rounds++ < 10) {
		struct dmarc_query *const *list;
		size_t n = dmarc_eval_queries(e, &list);
		for (i = 0; i < n; i++) {
			struct dns_answer ans = { .status = DNS_NXDOMAIN, .qname = list[i]->name };
			struct dns_rr rr = { .type = DNS_T_TXT };
			if (list[i]->answered)
				continue;
			if (list[i]->type == DNS_T_TXT &&
			    strcmp(list[i]->name, "_dmarc.example.com") == 0) {
				rr.u.txt.data = (char *)arena_memdup(a, data, size);
				rr.u.txt.len = size;
				ans.status = DNS_OK;
				ans.count = 1;
				ans.rr = &rr;
				ans.qtype = DNS_T_TXT;
			}
			dmarc_eval_answer(e, list[i]->name, list[i]->type, &ans);
		}
	}
	if (e != NULL) {
		const struct dmarc_outcome *o = dmarc_eval_outcome(e);
		if (rounds >= 10)
			__builtin_trap(); /* the evaluation must finish in a few rounds */
		const char *ar = dmarc_authres(a, o);
		sink += strlen(o->reason) + (ar != NULL ? strlen(ar) : 0);
	}
	arena_free(a);
	return 0;
}
