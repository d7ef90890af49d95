/*
 * stepjob - the asynchronous driver shared by every DNS step engine
 *
 * SPF, DMARC, DNSBL, DKIM and ARC evaluate as step engines: a step either
 * finishes or lists the (name, type) queries it needs; answers are fed
 * back and the engine steps again.  stepjob runs that shape on core/dns.h
 * for any engine that supplies the operations below: it sends every query
 * not sent yet, feeds each answer back, steps again once the engine is no
 * longer waiting, and aborts the engine when the overall deadline passes.
 *
 * The finished operation runs exactly once, from the event loop (never
 * before stepjob_start() returns: the first step runs from a zero-delay
 * timer), and not at all after stepjob_cancel() or after the arena is
 * freed; both cancel every query in flight and the timers.
 *
 * core/ knows nothing of the engines: each query is described by a
 * stepjob_query whose slot is the engine's own handle, given back with
 * its answer.
 */
#ifndef SMEXOP_CORE_STEPJOB_H
#define SMEXOP_CORE_STEPJOB_H

#include <stdbool.h>
#include <stddef.h>

#include "core/dns.h"

struct arena;
struct event_base;
struct stepjob;

struct stepjob_query {
	const char *name; /* for dns_lookup(); NULL: could not be prepared */
	enum dns_type type;
	void *slot; /* the engine's handle for this query */
};

struct stepjob_ops {
	/* run a step: true once the result is ready */
	bool (*step)(void *engine);
	/* refresh the engine's list of queries; returns how many it holds */
	size_t (*queries)(void *engine);
	/* query i of that list: false when it needs no sending (already sent
	 * or answered); otherwise mark it sent and describe it in *q */
	bool (*take)(void *engine, size_t i, struct stepjob_query *q);
	/* an answer the next step needs is missing; NULL: a query is in flight
	 * (and a step that sends nothing new then waits for the deadline) */
	bool (*waiting)(void *engine);
	/* feed the answer for slot (DNS_NOMEM when the query could not be sent) */
	void (*answer)(void *engine, void *slot, const struct dns_answer *ans);
	/* the deadline passed: finish now */
	void (*abort)(void *engine);
	/* the result is ready (or aborted); may free the arena */
	void (*finished)(void *engine);
};

/* stepjob_start flags */
#define STEPJOB_SEND_NOW                                                                           \
	1u /* send the listed queries before returning, without a                                  \
	      step first; one that cannot be sent fails the start */

/*
 * stepjob_start - drive engine on dns with an overall deadline of
 * timeout_ms; NULL on resource failure, with nothing left running.
 */
struct stepjob *stepjob_start(struct dns *dns, struct event_base *base, struct arena *a,
                              void *engine, const struct stepjob_ops *ops, unsigned timeout_ms,
                              unsigned flags);
/* stepjob_cancel - the finished operation will not run; NULL is ignored */
void stepjob_cancel(struct stepjob *job);

#endif
