/*
 * workpool - a few threads for the blocking calls an event loop must not
 * wait for (fsync above all), with completions back on the loop
 *
 * SUMMARY
 *	struct workpool *wp = workpool_new(base, 4, &err);
 *	workpool_submit(wp, run, done, arg);    run(arg) on a worker thread,
 *	                                        then done(arg) on the loop
 *	wp = workpool_free(wp);                 (finishes what was submitted)
 *
 * DESCRIPTION
 *	The gateway answers 250 only after a message is fsync'd; done on the
 *	one event loop, every session waits for every other session's disk
 *	flushes.  Handing the flushes to a few threads lets them run at once
 *	(the file system merges them into shared journal commits: group
 *	commit for free) while the loop goes on reading and checking mail.
 *
 *	run() must touch only what its arg owns: no event loop, no store
 *	connection, no logging through non-thread-safe paths.  done() runs
 *	on the loop thread in submission order per worker, never inside
 *	workpool_submit().  Workers are told of jobs through a mutex and a
 *	condition variable; completions come back through an eventfd the
 *	loop watches.
 *
 * LIMITS
 *	At most WORKPOOL_MAX_THREADS threads.  Submitting never blocks and
 *	never fails for lack of a thread (jobs wait in a list); it fails only
 *	when memory runs out.
 *
 * THREADS
 *	workpool_submit and workpool_free are called from the loop thread.
 */
#ifndef SMEXOP_CORE_WORKPOOL_H
#define SMEXOP_CORE_WORKPOOL_H

#include <stddef.h>

#include "core/err.h"

#define WORKPOOL_MAX_THREADS 64

struct event_base;
struct workpool;

typedef void (*workpool_fn)(void *arg);

/* workpool_new - nthreads workers (1..WORKPOOL_MAX_THREADS) on base; NULL with err */
struct workpool *workpool_new(struct event_base *base, unsigned nthreads, struct sx_err *err);
/* workpool_submit - run(arg) on a worker, then done(arg) on the loop (done may
 * be NULL); 0, or -1 (out of memory: nothing will be called) */
int workpool_submit(struct workpool *wp, workpool_fn run, workpool_fn done, void *arg);
/* workpool_pending - jobs submitted whose done() has not run yet */
size_t workpool_pending(const struct workpool *wp);
/* workpool_free - run every submitted job and its done(), stop the
 * workers, free; returns NULL */
struct workpool *workpool_free(struct workpool *wp);

#endif
