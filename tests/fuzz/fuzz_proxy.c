/*
 * fuzz_proxy - the PROXY protocol v2 header parser on arbitrary bytes,
 * whole and growing one byte at a time as the server reads it: the
 * length it reports never exceeds the input or SMTP_PROXY_MAX, a
 * complete header parses the same way with trailing bytes behind it,
 * and "need more" is never answered once the stated length is there.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "smtp/smtp_proxy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct smtp_proxy_result a, b;
	size_t i;
	int rc = smtp_proxy_parse(data, size, &a);

	if (rc > 0) {
		if ((size_t)rc > size || rc > SMTP_PROXY_MAX || rc < SMTP_PROXY_FIXED)
			abort();
		/* the same header with anything behind it */
		if (smtp_proxy_parse(data, (size_t)rc, &b) != rc || memcmp(&a, &b, sizeof(a)) != 0)
			abort();
		/* families may differ: an IPv4-mapped IPv6 address becomes IPv4 */
		if (a.has_addr && ((a.src.family != AF_INET && a.src.family != AF_INET6) ||
		                   a.src_port > 65535 || a.dst_port > 65535))
			abort();
	}
	/* as the server reads it: never a verdict that changes once final */
	for (i = 1; i <= size && i <= SMTP_PROXY_MAX + 1; i++) {
		size_t need = smtp_proxy_need(data, i);
		int r = smtp_proxy_parse(data, i, &b);

		if (r > 0) {
			if (r != rc)
				abort();
			break;
		}
		if (r == 0 && (need == 0 || need <= i))
			abort();
		if (r < 0) {
			if (rc >= 0)
				abort();
			break;
		}
	}
	return 0;
}
