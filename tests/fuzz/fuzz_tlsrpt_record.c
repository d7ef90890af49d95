/*
 * fuzz_tlsrpt_record - libFuzzer target for the TLS-RPT record parser
 * (report/tlsrpt_record.c): any bytes as the TXT record of
 * _smtp._tls.example.com, parsed directly (every URI read back, each
 * usable one well-formed) and then chosen among two records in a TXT
 * answer, the input and a fixed one (two TLSRPTv1 records are none).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/dns.h"
#include "report/tlsrpt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct arena *a = arena_new();
	struct tlsrpt_record r;
	struct sx_err err = { 0 };
	struct dns_rr rr[2];
	struct dns_answer ans = { .status = DNS_OK, .rr = rr, .count = 2 };
	char fixed[] = "v=TLSRPTv1; rua=mailto:r@example.com";
	char *copy;
	size_t i;

	if (a == NULL)
		return 0;
	tlsrpt_record_is_tlsrpt((const char *)data, size);
	if (tlsrpt_record_parse(a, (const char *)data, size, &r, &err) == 0) {
		if (r.nrua == 0 || r.nrua > TLSRPT_MAX_URIS)
			abort();
		for (i = 0; i < r.nrua; i++) {
			const struct tlsrpt_uri *u = &r.rua[i];
			if (u->uri == NULL || u->host == NULL || u->host[0] == '\0')
				abort();
			if (u->kind == TLSRPT_URI_MAILTO &&
			    (u->addr == NULL || strchr(u->addr, '@') == NULL))
				abort();
			if (u->kind == TLSRPT_URI_HTTPS && (u->path == NULL || u->path[0] != '/' ||
			                                    u->port == 0 || u->port > 65535))
				abort();
		}
	} else if (err.msg[0] == '\0') {
		abort(); /* every refusal says why */
	}
	copy = arena_alloc(a, size + 1);
	if (copy != NULL) {
		if (size > 0)
			memcpy(copy, data, size);
		copy[size] = '\0';
		memset(rr, 0, sizeof(rr));
		rr[0].type = rr[1].type = DNS_T_TXT;
		rr[0].u.txt.data = copy;
		rr[0].u.txt.len = size;
		rr[1].u.txt.data = fixed;
		rr[1].u.txt.len = strlen(fixed);
		int s = tlsrpt_record_select(a, &ans, &r, &err);
		if (s == 0 && tlsrpt_record_is_tlsrpt(copy, size))
			abort(); /* two TLS-RPT records must be none */
	}
	arena_free(a);
	return 0;
}
