/*
 * fuzz_keyholder - the key holder's request decoder (and the reply
 * decoder the SMTP process runs on what comes back)
 *
 * Invariants: whatever decodes re-encodes to the very same bytes (the
 * codec is strict: one encoding per message), names are NUL-terminated
 * within their caps, and an answer to a decoded request always encodes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "keyholder/keyholder_keys.h"
#include "keyholder/keyholder_proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t out[KEYHOLDER_MSG_MAX];
	struct keyholder_req q;
	struct keyholder_reply r, back;
	size_t n;

	if (keyholder_req_decode(data, size, &q) == 0) {
		if (strlen(q.domain) == 0 || strlen(q.domain) > KEYHOLDER_DOMAIN_MAX ||
		    strlen(q.selector) > KEYHOLDER_SEL_MAX)
			abort();
		n = keyholder_req_encode(&q, out, sizeof(out));
		if (n != size || memcmp(out, data, size) != 0)
			abort();
		keyholder_keys_answer(NULL, &q, &r);
		if (r.id != q.id || r.status != KEYHOLDER_NOKEY)
			abort();
		n = keyholder_reply_encode(&r, out, sizeof(out));
		if (n == 0 || keyholder_reply_decode(out, n, &back) != 0 || back.id != q.id)
			abort();
	}
	if (keyholder_reply_decode(data, size, &r) == 0) {
		if (r.sig_len > KEYHOLDER_SIG_MAX || r.nkeys > KEYHOLDER_INFO_KEYS)
			abort();
		n = keyholder_reply_encode(&r, out, sizeof(out));
		if (n != size || memcmp(out, data, size) != 0)
			abort();
	}
	return 0;
}
