/*
 * fuzz_mime_address - libFuzzer target for the RFC 5322 address-list
 * parser and the From-domain rules (mime/address): any bytes as a field
 * value, then as a whole message for address_from_domains().
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "core/arena.h"
#include "mime/address.h"
#include "mime/raw.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct arena *a = arena_new();
	struct address_list l;
	struct address_from af;
	struct raw_message m;
	struct sx_err err;
	const char *why;
	volatile size_t sink = 0;
	size_t i;

	if (a == NULL)
		return 0;
	if (address_list_parse(a, (const char *)data, size, &l, &why) == 0) {
		for (i = 0; i < l.n; i++)
			sink += strlen(l.addr[i].local) +
			        (l.addr[i].domain ? strlen(l.addr[i].domain) : 0);
	} else if (why == NULL) {
		__builtin_trap(); /* a failure always says why */
	}
	if (address_from_value(a, (const char *)data, size, &af) == ADDRESS_FROM_OK) {
		for (i = 0; i < af.ndomains; i++)
			sink += strlen(af.domains[i]);
	} else {
		sink += strlen(af.why);
	}
	if (raw_message_parse(&m, a, (const char *)data, size, NULL, &err) == 0 &&
	    address_from_domains(a, &m, &af) != ADDRESS_FROM_OK)
		sink += strlen(af.why);
	(void)sink;
	arena_free(a);
	return 0;
}
