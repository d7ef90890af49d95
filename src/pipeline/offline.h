/*
 * offline - run the gateway's pipeline on a message that did not come
 * over SMTP (a file, a Maildir, an mbox): `smexop scan`
 *
 * SUMMARY
 *	struct offline_envelope e = { .ip = ..., .helo = ..., .mail_from = ...,
 *	                              .rcpts = r, .nrcpts = n, .check_rcpts = true };
 *	struct msg *m = offline_start(runner, conn_arena, id, &e, data, len, done, arg);
 *	... event loop until done(m, arg); read m->verdict, m->rcpts ...
 *	m = msg_free(m); arena_free(conn_arena);
 *
 * DESCRIPTION
 *	The SMTP session (gateway.c) feeds the runner one event at a time as
 *	the client talks; here the whole transaction is known at once and is
 *	fed in the same order with the same stages: CONNECT with the client
 *	address and HELO name, RCPT for each recipient, EOM with the message.
 *	Nothing is decided here that a stage decides; what this file adds is
 *	only what the SMTP dialogue would have done between the events:
 *	  - a client refused at CONNECT sends no RCPT: the recipients stay
 *	    pending;
 *	  - when recipients were given and none was accepted, the client gets
 *	    no DATA: the message is refused with the first refusal's reply
 *	    (action reject, or tempfail for a 4xx), action_why the envelope
 *	    stage's reason;
 *	  - with check_rcpts false, the envelope stage is skipped and every
 *	    recipient counts as accepted (a scan without accepted domains).
 *	EOM runs in every case, so that a refused message still shows what
 *	parse and authentication found; the action stage keeps a decision
 *	already taken (stage_action.h rule 1), so the action is the first
 *	refusal's, as at SMTP time.
 *
 *	The connection data lives in the caller's arena (one per message is
 *	simplest: per-IP counts taken by the connection stage are released
 *	with it); the message is m, freed by the caller after done.
 */
#ifndef SMEXOP_PIPELINE_OFFLINE_H
#define SMEXOP_PIPELINE_OFFLINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/net.h"
#include "pipeline/stage.h"

struct arena;

struct offline_envelope {
	struct net_addr ip;
	unsigned port;
	const char *helo;      /* NULL: no HELO seen */
	const char *ptr;       /* a confirmed reverse name, or NULL: the auth stage looks */
	const char *mail_from; /* "" or NULL: the null reverse path */
	const char *const *rcpts;
	size_t nrcpts;
	bool check_rcpts; /* run the envelope stage for each recipient */
	int64_t received; /* when data ended (seconds since the epoch) */
};

/*
 * offline_start - build the connection (in conn_arena) and the message
 * (data is not copied: it must outlive m) and run CONNECT, RCPT..., EOM;
 * done(m, arg) is called once at the end, possibly before this returns.
 * NULL when memory runs out (done is not called then).
 */
struct msg *offline_start(struct runner *r, struct arena *conn_arena, uint64_t id,
                          const struct offline_envelope *e, const char *data, size_t len,
                          runner_done_fn done, void *arg);

#endif
