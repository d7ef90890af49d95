/*
 * test_report_sched - the queue manager's report scheduler
 * (transport/report_sched.h): when rounds are due (case table), the
 * children's arguments from the configuration, and real rounds on an
 * event loop with a shell script standing in for smexop (its output
 * logged, a job past report_schedule.job_timeout killed, done called
 * once per round, nothing scheduled when reports are off)
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <event2/event.h>

#include "core/config.h"
#include "transport/report_sched.h"

static void test_next(void **state)
{
	static const struct {
		int64_t now, check, iv0, iv1, want;
	} cases[] = {
		/* the check interval when no interval ends sooner */
		{ 100, 3600, 0, 0, 3700 },
		/* a day's end plus the settling minute */
		{ 86000, 3600, 86400, 0, 86460 },
		/* inside the settling minute: that same end */
		{ 86430, 3600, 86400, 0, 86460 },
		/* at it: the next day's */
		{ 86460, 100000, 86400, 0, 172860 },
		/* the earlier of two intervals */
		{ 7000, 86400, 86400, 3600, 7260 },
		{ 7000, 30, 86400, 3600, 7030 },
		/* no check interval given: an hour */
		{ 0, 0, 0, 0, 3600 },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int64_t iv[2] = { cases[i].iv0, cases[i].iv1 };
		int64_t got = report_sched_next(cases[i].now, cases[i].check, iv, 2, 60);
		if (got != cases[i].want)
			fail_msg("case %zu: %lld, want %lld", i, (long long)got,
			         (long long)cases[i].want);
	}
}

static void test_argv(void **state)
{
	struct config_diag diag;
	struct smexop_config *cfg = config_load(NULL, &diag);
	const char *argv[REPORT_SCHED_ARGS_MAX + 1];
	char buf[512], small[20];
	int n;

	(void)state;
	assert_non_null(cfg);
	cfg->dns.zone_file = "/tmp/z.zone";
	n = report_sched_argv("/usr/sbin/smexop", "dmarc", "/etc/smexop.yaml", cfg, argv, buf,
	                      sizeof(buf));
	assert_int_equal(n, 8);
	assert_string_equal(argv[0], "/usr/sbin/smexop");
	assert_string_equal(argv[1], "dmarc");
	assert_string_equal(argv[2], "report");
	assert_string_equal(argv[3], "--queue");
	assert_string_equal(argv[4], "-c");
	assert_string_equal(argv[5], "/etc/smexop.yaml");
	assert_string_equal(argv[6], "--dns-zone");
	assert_string_equal(argv[7], "/tmp/z.zone");
	assert_null(argv[8]);
	cfg->dns.zone_file = NULL;
	n = report_sched_argv("smexop", "tlsrpt", NULL, cfg, argv, buf, sizeof(buf));
	assert_true(n >= 6);
	assert_string_equal(argv[4], "--dns-timeout");
	assert_int_equal(
	    report_sched_argv("smexop", "tlsrpt", NULL, cfg, argv, small, sizeof(small)), -1);
	config_free(cfg);
}

struct round_ctx {
	struct event_base *base;
	unsigned done;
};

static void round_done(void *arg)
{
	struct round_ctx *r = arg;

	r->done++;
	event_base_loopbreak(r->base);
}

/* test_round - both jobs run one after the other; the second sleeps past
 * the job timeout and is killed; done is called once */
static void test_round(void **state)
{
	char dir[] = "/tmp/test_report_sched.XXXXXX", exe[300], out[300], line[256];
	struct config_diag diag;
	struct smexop_config *cfg = config_load(NULL, &diag);
	struct round_ctx r = { 0 };
	struct report_sched_options o = { 0 };
	struct report_sched *s;
	struct sx_err err = { 0 };
	struct timeval cap = { 20, 0 };
	FILE *f;
	time_t t0;

	(void)state;
	assert_non_null(cfg);
	assert_non_null(mkdtemp(dir));
	snprintf(exe, sizeof(exe), "%s/fake-smexop", dir);
	snprintf(out, sizeof(out), "%s/ran", dir);
	f = fopen(exe, "w");
	assert_non_null(f);
	fprintf(f,
	        "#!/bin/sh\necho \"$1 $2 $3 $4\" >> %s\necho \"a report line\"\n"
	        "if [ \"$1\" = tlsrpt ]; then exec sleep 30; fi\nexit 3\n",
	        out);
	fclose(f);
	chmod(exe, 0700);
	cfg->dmarc_reports.enabled = true;
	cfg->tls_reports.enabled = true;
	cfg->report_schedule.start_delay_ms = 0;
	cfg->report_schedule.job_timeout_ms = 1000;
	r.base = event_base_new();
	o.base = r.base;
	o.exe = exe;
	o.config_path = "/nonexistent.yaml";
	o.done = round_done;
	o.arg = &r;
	s = report_sched_new(&o, cfg, &err);
	assert_non_null(s);
	t0 = time(NULL);
	event_base_loopexit(r.base, &cap);
	event_base_dispatch(r.base);
	assert_int_equal(r.done, 1);
	assert_int_equal(report_sched_rounds(s), 1);
	assert_true(time(NULL) - t0 < 10); /* the sleeping job was killed */
	f = fopen(out, "r");
	assert_non_null(f);
	assert_non_null(fgets(line, sizeof(line), f));
	assert_string_equal(line, "dmarc report --queue -c\n");
	assert_non_null(fgets(line, sizeof(line), f));
	assert_string_equal(line, "tlsrpt report --queue -c\n");
	fclose(f);
	s = report_sched_free(s);

	/* reports off: nothing is scheduled */
	cfg->dmarc_reports.enabled = false;
	cfg->tls_reports.enabled = false;
	s = report_sched_new(&o, cfg, &err);
	assert_non_null(s);
	cap.tv_sec = 0;
	cap.tv_usec = 300 * 1000;
	event_base_loopexit(r.base, &cap);
	event_base_dispatch(r.base);
	assert_int_equal(report_sched_rounds(s), 0);
	assert_int_equal(r.done, 1);
	report_sched_free(s);
	event_base_free(r.base);
	unlink(exe);
	unlink(out);
	rmdir(dir);
	config_free(cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_next),
		cmocka_unit_test(test_argv),
		cmocka_unit_test(test_round),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
