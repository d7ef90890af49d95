/*
 * tlsrpt_tool - record TLS session outcomes as the delivery does
 * (report/tlsrpt.h tlsrpt_record), for the integration test of
 * `smexop tlsrpt report`
 *
 *   tlsrpt_tool DB DOMAIN sts|tlsa|none RESULT TIME COUNT [MX [IP]]
 *
 * RESULT is "success" or an RFC 8460 4.3 result type; an sts outcome
 * carries a fixed STSv1 policy (mode enforce, mx: *.DOMAIN).  Exit 0, 1
 * on failure, 2 on usage errors.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/str.h"
#include "report/tlsrpt.h"

int main(int argc, char **argv)
{
	struct store_options so = { .backend = STORE_BACKEND_SQLITE };
	struct tlsrpt_outcome o = { 0 };
	struct sx_err err = { 0 };
	struct arena *a = arena_new();
	const char *lines[4];
	const char *mx[1];
	uint64_t t, n, i;
	struct store *st;
	int r;

	if (argc < 7 || a == NULL) {
		fprintf(stderr,
		        "usage: tlsrpt_tool DB DOMAIN sts|tlsa|none RESULT TIME COUNT [MX [IP]]\n");
		return 2;
	}
	so.path = argv[1];
	o.policy_domain = argv[2];
	if (strcmp(argv[3], "sts") == 0) {
		o.policy_type = TLSRPT_POLICY_STS;
		lines[0] = "version: STSv1";
		lines[1] = "mode: enforce";
		lines[2] = arena_printf(a, "mx: *.%s", argv[2]);
		lines[3] = "max_age: 604800";
		mx[0] = arena_printf(a, "*.%s", argv[2]);
		o.policy_strings = lines;
		o.npolicy_strings = 4;
		o.mx_hosts = mx;
		o.nmx_hosts = 1;
	} else if (strcmp(argv[3], "tlsa") == 0) {
		o.policy_type = TLSRPT_POLICY_TLSA;
		lines[0] = "3 1 1 0000000000000000000000000000000000000000000000000000000000000000";
		o.policy_strings = lines;
		o.npolicy_strings = 1;
	} else if (strcmp(argv[3], "none") == 0) {
		o.policy_type = TLSRPT_POLICY_NONE;
	} else {
		fprintf(stderr, "tlsrpt_tool: bad policy type %s\n", argv[3]);
		return 2;
	}
	r = strcmp(argv[4], "success") == 0 ? TLSRPT_SUCCESS : tlsrpt_result_parse(argv[4]);
	if (r < 0 || str_to_u64(argv[5], strlen(argv[5]), 0, (uint64_t)1 << 40, &t) < 0 ||
	    str_to_u64(argv[6], strlen(argv[6]), 1, 1000000, &n) < 0) {
		fprintf(stderr, "tlsrpt_tool: bad result, time or count\n");
		return 2;
	}
	o.result = (enum tlsrpt_result)r;
	o.sending_mta_ip = "192.0.2.25";
	o.receiving_mx_hostname = argc > 7 ? argv[7] : NULL;
	o.receiving_ip = argc > 8 ? argv[8] : NULL;
	if (o.result != TLSRPT_SUCCESS)
		o.failure_reason_code = "tlsrpt_tool";
	st = store_open(&so, &err);
	if (st == NULL) {
		fprintf(stderr, "tlsrpt_tool: %s\n", err.msg);
		return 1;
	}
	for (i = 0; i < n; i++)
		if (tlsrpt_record(st, &o, (int64_t)t, &err) < 0) {
			fprintf(stderr, "tlsrpt_tool: %s\n", err.msg);
			store_close(st);
			return 1;
		}
	store_close(st);
	arena_free(a);
	return 0;
}
