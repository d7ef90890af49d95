/*
 * fuzz_spf_macro - libFuzzer target for the SPF macro expander
 * (auth/spf_macro) with a fixed request: the first byte picks the flags,
 * the rest is the macro-string.  Check and expand must agree on validity.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "auth/spf_macro.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char out[SPF_MACRO_OUT_MAX];
	struct spf_macro_vars v = { 0 };
	struct net_addr ip;
	unsigned flags;
	size_t n, last;
	bool uses_p;
	char why[200];
	int chk, rc;

	if (size == 0)
		return 0;
	flags = data[0] & (SPF_MACRO_EXP | SPF_MACRO_ALL | SPF_MACRO_DOMAIN);
	v.s = "strong-bad@email.example.com";
	v.l = "strong-bad";
	v.o = "email.example.com";
	v.d = "email.example.com";
	v.h = "mx.example.org";
	v.r = "receiver.example.net";
	v.p = (data[0] & 0x80) ? NULL : "mx.example.org";
	v.t = 1234567890;
	net_addr_parse((data[0] & 0x40) ? "2001:db8::cb01" : "192.0.2.3", &ip);
	spf_macro_vars_ip(&v, &ip);
	chk = spf_macro_check((const char *)data + 1, size - 1, flags, &last, &uses_p, why,
	                      sizeof(why));
	rc = spf_macro_expand(&v, (const char *)data + 1, size - 1, flags, out, sizeof(out), &n,
	                      why, sizeof(why));
	if ((chk == 0) != (rc != SPF_MACRO_SYNTAX))
		abort();
	if (chk == 0 && last > size - 1)
		abort();
	if (rc == SPF_MACRO_OK) {
		if (strlen(out) > n || n >= sizeof(out))
			abort();
		if ((flags & SPF_MACRO_DOMAIN) && n > 253)
			abort();
	}
	if (rc == SPF_MACRO_NEED_P && !uses_p)
		abort();
	return 0;
}
