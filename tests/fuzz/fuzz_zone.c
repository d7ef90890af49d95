/*
 * fuzz_zone - the RFC 1035 master-file loader, then answers from whatever
 * it loaded (a failed load keeps the records read before the error)
 *
 * Queries: a few fixed names under example.com, and the first words of
 * the input that are domain names (with "example.com" appended to
 * relative ones), each for A, TXT and one other type, so CNAME chains,
 * wildcards and empty non-terminals built by the input get walked.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "core/arena.h"
#include "core/dns.h"
#include "core/dns_zone.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const enum dns_type types[] = { DNS_T_A,  DNS_T_NS,  DNS_T_CNAME, DNS_T_SOA, DNS_T_PTR,
	                               DNS_T_MX, DNS_T_TXT, DNS_T_AAAA,  DNS_T_SPF, DNS_T_TLSA };

/* query_some - A and TXT, and one more type that changes from name to name */
static void query_some(struct dns_zone *z, struct arena *a, const char *name, size_t k)
{
	struct dns_answer ans;

	(void)dns_zone_answer(z, a, name, DNS_T_A, &ans);
	(void)dns_zone_answer(z, a, name, DNS_T_TXT, &ans);
	(void)dns_zone_answer(z, a, name, types[k % (sizeof(types) / sizeof(types[0]))], &ans);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const fixed[] = { "example.com",     "www.example.com",
		                             "a.b.example.com", "x.wild.example.com",
		                             "*.example.com",   "nope.example.org" };
	struct dns_zone *z = dns_zone_new();
	struct arena *a = arena_new();
	struct sx_err err = { 0 };
	char word[300];
	size_t i, n = 0, words = 0;

	if (z == NULL || a == NULL)
		goto out;
	(void)dns_zone_load_text(z, "fuzz.zone", (const char *)data, size,
	                         size > 0 && (data[0] & 1) ? "example.com" : NULL, &err);
	(void)dns_zone_add_timeout(z, "slow.example.com", DNS_T_A);
	for (i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		query_some(z, a, fixed[i], i);
	for (i = 0; i <= size && words < 16; i++) {
		if (i < size && data[i] > ' ' && data[i] < 0x7f && data[i] != '"' &&
		    data[i] != ';' && data[i] != '(' && data[i] != ')') {
			if (n < 250)
				word[n++] = (char)data[i];
			continue;
		}
		if (n > 0) {
			word[n] = '\0';
			if (word[n - 1] != '.')
				snprintf(word + n, sizeof(word) - n, ".example.com");
			if (dns_name_check(word) == 0) {
				query_some(z, a, word, words + size);
				words++;
			}
			n = 0;
		}
		if (arena_used(a) > 16 * 1024 * 1024)
			arena_reset(a);
	}
out:
	arena_free(a);
	dns_zone_free(z);
	return 0;
}
