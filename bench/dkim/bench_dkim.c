/*
 * bench_dkim - DKIM verifications per second, in process, one core
 *
 * Verifies each MESSAGE over and over through the step engine
 * (auth/dkim.h): parse the message, parse its signatures, answer the key
 * queries from an in-memory zone (dns_zone_answer, no resolver and no
 * event loop: DNS is not what is measured; the key record is still
 * decoded every time, as a real verification does), hash the body and
 * check the signature.  One arena, reset between verifications.  Time is
 * the process's CPU time (the machine may be shared), so R is per core.
 * Prints one line per message: `FILE N verifications in S s: R/s (result)`;
 * exit 1 when a verification does not pass.  Driven by bench/dkim/bench.py.
 *
 * usage: bench_dkim --zone FILE [--seconds S] [--now T] MESSAGE...
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "auth/dkim.h"
#include "core/arena.h"
#include "core/buf.h"
#include "core/dns_zone.h"
#include "core/err.h"
#include "core/str.h"
#include "mime/raw.h"

static double bench_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* bench_verify_once - 1 when every signature passes, 0 if not, -1 on error */
static int bench_verify_once(struct arena *a, const struct dns_zone *zone, const struct buf *msg,
                             const struct dkim_verify_options *o, const char **result)
{
	struct dkim_query *const *qs;
	const struct dkim_sig_result *res;
	struct raw_message m;
	struct sx_err err = { 0 };
	struct dkim_verify *v;
	size_t i, n;

	arena_reset(a);
	if (raw_message_parse(&m, a, msg->data, msg->len, NULL, &err) < 0)
		return -1;
	v = dkim_verify_new(a, &m, o);
	if (v == NULL)
		return -1;
	n = dkim_verify_queries(v, &qs);
	for (i = 0; i < n; i++) {
		struct dns_answer ans;

		if (dns_zone_answer(zone, a, qs[i]->name, DNS_T_TXT, &ans) < 0)
			return -1;
		dkim_verify_answer(v, qs[i]->name, &ans);
	}
	if (dkim_verify_step(v) != DKIM_STEP_DONE)
		return -1;
	n = dkim_verify_results(v, &res);
	*result = n == 0 ? "none" : dkim_result_name(res[0].result);
	for (i = 0; i < n; i++)
		if (res[i].result != DKIM_PASS)
			return 0;
	return n > 0;
}

int main(int argc, char **argv)
{
	struct dkim_verify_options o;
	struct sx_err err = { 0 };
	struct dns_zone *zone = dns_zone_new();
	struct arena *a = arena_new();
	const char *zone_file = NULL;
	double seconds = 1.0;
	int64_t now = (int64_t)time(NULL);
	uint64_t v;
	int i, rc = 0;

	if (zone == NULL || a == NULL)
		return 2;
	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		if (i + 1 >= argc)
			break;
		if (strcmp(argv[i], "--zone") == 0) {
			zone_file = argv[++i];
		} else if (strcmp(argv[i], "--seconds") == 0) {
			seconds = strtod(argv[++i], NULL);
		} else if (strcmp(argv[i], "--now") == 0) {
			i++;
			if (str_to_u64(argv[i], strlen(argv[i]), 0, INT64_MAX, &v) < 0)
				break;
			now = (int64_t)v;
		} else {
			break;
		}
	}
	if (zone_file == NULL || i >= argc || seconds <= 0) {
		fprintf(stderr,
		        "usage: bench_dkim --zone FILE [--seconds S] [--now T] MESSAGE...\n");
		return 2;
	}
	if (dns_zone_load_file(zone, zone_file, &err) < 0) {
		fprintf(stderr, "bench_dkim: %s\n", err.msg);
		return 2;
	}
	dkim_verify_options_init(&o, now);
	for (; i < argc; i++) {
		struct buf msg;
		const char *result = "error";
		unsigned long n = 0, batch = 1;
		double t0, t;
		int r = 0;

		buf_init(&msg, BUF_CAP_FILE);
		if (buf_read_file(&msg, argv[i]) < 0) {
			fprintf(stderr, "bench_dkim: cannot read %s\n", argv[i]);
			return 2;
		}
		/* batches grow until the clock is read about every 50 ms */
		t0 = bench_now();
		do {
			unsigned long k;

			for (k = 0; k < batch && r >= 0; k++)
				r = bench_verify_once(a, zone, &msg, &o, &result) == 1 ? 1 : -1;
			n += k;
			t = bench_now() - t0;
			if (t < 0.05)
				batch *= 2;
		} while (t < seconds && r > 0);
		printf("%s %lu verifications in %.6f s: %.1f/s (%s)\n", argv[i], n, t,
		       (double)n / t, result);
		if (r <= 0)
			rc = 1;
		buf_free(&msg);
	}
	arena_free(a);
	dns_zone_free(zone);
	return rc;
}
