/*
 * msgtrace - write message trace events (store_trace_add) from what the
 * gateway knows at each step: an envelope, or a session before DATA
 *
 * SUMMARY
 *	msgtrace_envelope(st, &env, STORE_TRACE_DELIVERED, rcpt, "new/1700.1_2.mx", now);
 *	msgtrace_session(st, &ev);
 *
 * DESCRIPTION
 *	The pipeline writes received, accepted, rejected and quarantined;
 *	delivery writes delivered, deferred and failed; the quarantine tools
 *	write released, deleted and expired.  A trace event is a record for
 *	the admin, not part of the hand-off: failing to write one is logged
 *	and never fails the operation that caused it (st may be NULL).
 */
#ifndef SMEXOP_TRANSPORT_MSGTRACE_H
#define SMEXOP_TRANSPORT_MSGTRACE_H

#include "store/store.h"
#include "transport/spool_envelope.h"

/* msgtrace_envelope - one event about env's rcpt; rcpt NULL: about the
 * whole message, one row per recipient of env */
void msgtrace_envelope(struct store *st, const struct spool_envelope *env,
                       enum store_trace_kind kind, const char *rcpt, const char *detail,
                       int64_t now);
/* msgtrace_event - one event given in full */
void msgtrace_event(struct store *st, const struct store_trace_event *ev);

#endif
