/*
 * keyjob - the asynchronous driver shared by DKIM and ARC validation
 *
 * Both engines need the same thing from DNS: a list of TXT key records
 * (s._domainkey.d), all asked at once, each answer fed back, a step once
 * they are all in, and a deadline after which unanswered keys become
 * temporary failures.  keyjob adapts any engine that supplies the four
 * operations below to the shared driver, core/stepjob.h; dkim_async.c and
 * arc_async.c are thin typed wrappers around it.
 *
 * The finished callback runs exactly once from the event loop (after the
 * last answer, at the deadline, or on the next loop turn when no key is
 * needed), never before keyjob_start() returns, and not at all after
 * keyjob_cancel() or after the arena is freed.
 */
#ifndef SMEXOP_AUTH_KEYJOB_H
#define SMEXOP_AUTH_KEYJOB_H

#include <stdbool.h>
#include <stddef.h>

#include "auth/dkim.h"
#include "core/dns.h"

struct arena;
struct event_base;
struct keyjob;

struct keyjob_ops {
	/* feed the TXT answer for name */
	void (*answer)(void *engine, const char *name, const struct dns_answer *ans);
	/* run a step: true once the verdict is ready */
	bool (*step_done)(void *engine);
	/* finish now: unanswered keys become temporary failures */
	void (*abort)(void *engine, const char *why);
	/* the verdict is ready (or aborted) */
	void (*finished)(void *engine, void *arg);
};

/*
 * keyjob_start - send every query of list (marking them sent) and arm the
 * deadline; NULL on resource failure, with nothing left running.
 */
struct keyjob *keyjob_start(struct dns *dns, struct event_base *base, struct arena *a, void *engine,
                            const struct keyjob_ops *ops, struct dkim_query *const *list, size_t n,
                            unsigned timeout_ms, void *arg);
/* keyjob_cancel - the finished callback will not run */
void keyjob_cancel(struct keyjob *job);

#endif
