/*
 * fuzz_dns_rdata - the wire rdata decoder and the name converters
 *
 * The first byte picks the record type, the rest is the rdata, as it
 * would come out of a ub_result.  A decoded record is also deep-copied
 * through dns_answer_dup(); the input is run through the name functions
 * as wire data and as presentation text.
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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct arena *a = arena_new();
	struct dns_answer ans = { 0 }, *copy;
	struct dns_rr rr;
	const char *why;
	char text[DNS_TEXT_NAME_MAX];
	uint8_t wire[DNS_WIRE_NAME_MAX];
	size_t off = 0, wlen;
	bool absolute;

	if (a == NULL || size == 0)
		goto out;
	/* exact-size copy, so that ASan sees a read past the end */
	uint8_t *rdata = malloc(size - 1 ? size - 1 : 1);
	if (rdata == NULL)
		goto out;
	memcpy(rdata, data + 1, size - 1);
	if (dns_rdata_decode(a, types[data[0] % (sizeof(types) / sizeof(types[0]))], 60, rdata,
	                     size - 1, &rr, &why) == 0) {
		ans.status = DNS_OK;
		ans.qname = "fuzz.example";
		ans.canonname = ans.qname;
		ans.count = 1;
		ans.rr = &rr;
		copy = dns_answer_dup(a, &ans);
		if (copy != NULL && (rr.type == DNS_T_TXT || rr.type == DNS_T_SPF)) {
			size_t i, sum = 0;
			for (i = 0; i < copy->rr[0].u.txt.nstrings; i++)
				sum += copy->rr[0].u.txt.string_len[i];
			if (sum != copy->rr[0].u.txt.len)
				abort();
		}
	}
	(void)dns_name_from_wire(rdata, size - 1, &off, text, sizeof(text));
	if (dns_name_to_wire((const char *)rdata, size - 1, wire, &wlen, &absolute, &why) == 0) {
		/* what to_wire accepts, from_wire must read back */
		off = 0;
		if (wlen > DNS_WIRE_NAME_MAX ||
		    dns_name_from_wire(wire, wlen, &off, text, sizeof(text)) != 0 || off != wlen)
			abort();
		/* and the canonical text is a fixed point */
		char again[DNS_TEXT_NAME_MAX];
		if (text[0] != '\0' && (dns_name_canon(text, again, sizeof(again), &why) != 0 ||
		                        strcmp(text, again) != 0))
			abort();
	}
	free(rdata);
out:
	arena_free(a);
	return 0;
}
