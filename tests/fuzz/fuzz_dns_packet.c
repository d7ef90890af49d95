/*
 * fuzz_dns_packet - the DNS reply decoder used with libunbound's event mode
 *
 * The first byte picks the query type, the rest is the reply packet for
 * the query name "example.com" (the seeds carry that question, so the
 * mutations reach the answer and authority sections).  A decoded answer
 * is deep-copied through dns_answer_dup() and stored in and fetched from
 * an answer cache, so the copies are walked as well.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/dns.h"
#include "core/dns_impl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const enum dns_type types[] = { DNS_T_A,  DNS_T_NS,  DNS_T_CNAME, DNS_T_SOA, DNS_T_PTR,
	                               DNS_T_MX, DNS_T_TXT, DNS_T_AAAA,  DNS_T_SPF, DNS_T_TLSA };

/* fuzz_touch - read every byte an answer points to */
static size_t fuzz_touch(const struct dns_answer *ans)
{
	size_t sum = strlen(ans->qname) + strlen(ans->canonname);

	for (size_t i = 0; i < ans->count; i++) {
		const struct dns_rr *rr = &ans->rr[i];
		switch (rr->type) {
		case DNS_T_NS:
		case DNS_T_CNAME:
		case DNS_T_PTR:
			sum += strlen(rr->u.name);
			break;
		case DNS_T_MX:
			sum += strlen(rr->u.mx.host);
			break;
		case DNS_T_SOA:
			sum += strlen(rr->u.soa.mname) + strlen(rr->u.soa.rname);
			break;
		case DNS_T_TXT:
		case DNS_T_SPF:
			for (size_t k = 0; k < rr->u.txt.len + 1; k++)
				sum += (unsigned char)rr->u.txt.data[k];
			for (size_t k = 0; k < rr->u.txt.nstrings; k++)
				sum += rr->u.txt.string_len[k];
			break;
		case DNS_T_TLSA:
			for (size_t k = 0; k < rr->u.tlsa.len; k++)
				sum += rr->u.tlsa.data[k];
			break;
		default:
			break;
		}
	}
	return sum;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct arena *a = arena_new();
	struct dns_answer ans, *copy;
	struct dns_cache *cache = NULL;
	struct dns_cache_entry *e;
	enum dns_type type;
	const char *why = NULL;
	uint32_t ttl;
	uint8_t *pkt = NULL;

	if (a == NULL || size == 0)
		goto out;
	type = types[data[0] % (sizeof(types) / sizeof(types[0]))];
	/* exact-size copy, so that ASan sees a read past the end */
	pkt = malloc(size - 1 ? size - 1 : 1);
	if (pkt == NULL)
		goto out;
	memcpy(pkt, data + 1, size - 1);
	if (dns_packet_decode(a, pkt, size - 1, "example.com", type, &ans, &ttl, &why) < 0) {
		if (why == NULL || (ans.status != DNS_SERVFAIL && ans.status != DNS_NOMEM))
			abort();
		goto out;
	}
	if ((ans.status == DNS_OK) != (ans.count > 0))
		abort();
	ans.qname = "example.com";
	if (ans.canonname == NULL)
		ans.canonname = ans.qname;
	copy = dns_answer_dup(a, &ans);
	if (copy != NULL && fuzz_touch(copy) == (size_t)-1)
		abort();
	cache = dns_cache_new(&(struct dns_cache_opts){ .max_entries = 4, .max_bytes = 4096 });
	if (cache != NULL && dns_cache_put(cache, ans.qname, type, &ans, ttl) == 0) {
		e = dns_cache_get(cache, ans.qname, type);
		if (e == NULL)
			abort();
		cache = dns_cache_free(cache); /* the entry outlives the cache */
		if (fuzz_touch(dns_cache_entry_answer(e)) == (size_t)-1)
			abort();
		dns_cache_entry_unref(e);
	}
out:
	dns_cache_free(cache);
	free(pkt);
	arena_free(a);
	return 0;
}
