/*
 * report_sched - the report scheduler of the queue manager: generates and
 * queues the due DMARC aggregate and TLS-RPT reports
 *
 * SUMMARY
 *	struct report_sched *s = report_sched_new(&opts, cfg, &err);
 *	report_sched_reload(s, new_cfg);      (SIGHUP; the settings are copied)
 *	s = report_sched_free(s);             (a running job is killed)
 *
 * DESCRIPTION
 *	When dmarc_reports.enabled or tls_reports.enabled, a round runs
 *	report_schedule.start_delay after the manager starts, just after each
 *	reporting interval ends (UTC-aligned multiples of
 *	dmarc_reports.interval and tls_reports.interval, plus a settling
 *	minute), and at least every report_schedule.check_interval (which also
 *	retries destinations left pending).  A round runs, one after the other,
 *	`smexop dmarc report --queue` and `smexop tlsrpt report --queue` (the
 *	same executable, -c the manager's configuration file, the DNS options
 *	of the dns section) as child processes: building a report reads the
 *	store, looks up DNS and may POST over HTTPS for a while, and none of
 *	it may hold up delivery on the manager's loop.  What is done lives in
 *	the store (reported messages and counters, report_dest.h), so a
 *	round after a restart does only what is left: the scheduler itself
 *	keeps no state.  The children's output is logged line by line
 *	(event=output), their exit status when they end; one running longer
 *	than report_schedule.job_timeout is killed.  After a round, done() is
 *	called: the queue manager rescans so the new report mails go out now.
 *
 *	The child gets /dev/null as standard input, a pipe as standard output
 *	and error, no other descriptor, and dies with the manager
 *	(PR_SET_PDEATHSIG).
 *
 * THREADS
 *	One per queue manager, on its event loop.
 */
#ifndef SMEXOP_TRANSPORT_REPORT_SCHED_H
#define SMEXOP_TRANSPORT_REPORT_SCHED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

struct event_base;
struct smexop_config;
struct report_sched;

#define REPORT_SCHED_SETTLE_S 60 /* after an interval ends, before its round */
#define REPORT_SCHED_ARGS_MAX 16

struct report_sched_options {
	struct event_base *base;
	const char *exe;         /* the smexop executable; NULL: /proc/self/exe */
	const char *config_path; /* -c for the children; NULL: their defaults */
	void (*done)(void *arg); /* after each round */
	void *arg;
	int64_t (*now)(void *arg); /* seconds; NULL: time() (tests) */
};

/* report_sched_new - the scheduler with cfg's settings (copied); a round
 * is armed when reports are enabled.  NULL with err. */
struct report_sched *report_sched_new(const struct report_sched_options *o,
                                      const struct smexop_config *cfg, struct sx_err *err);
/* report_sched_reload - new settings; the next round is rescheduled (a
 * running one finishes) */
void report_sched_reload(struct report_sched *s, const struct smexop_config *cfg);
/* report_sched_free - kill a running job, wait for it, free; NULL */
struct report_sched *report_sched_free(struct report_sched *s);
/* report_sched_rounds - rounds finished so far (tests) */
unsigned report_sched_rounds(const struct report_sched *s);

/* ---- pieces with no state, unit tested --------------------------------- */

/* report_sched_next - when the next round is due after now (seconds):
 * the earliest of now + check and, for each interval given (> 0), the next
 * end of an interval (a multiple of it) plus settle */
int64_t report_sched_next(int64_t now, int64_t check, const int64_t *intervals, size_t n,
                          int64_t settle);

/* report_sched_argv - the arguments of job ("dmarc" or "tlsrpt") under
 * cfg: exe, job, "report", "--queue", -c, the DNS options; NULL-terminated
 * into argv (at most REPORT_SCHED_ARGS_MAX), strings in buf; the count,
 * or -1 when buf is too small */
int report_sched_argv(const char *exe, const char *job, const char *config_path,
                      const struct smexop_config *cfg, const char **argv, char *buf,
                      size_t bufsize);

#endif
