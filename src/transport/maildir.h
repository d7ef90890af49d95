/*
 * maildir - the built-in delivery: committed queue entries into Maildirs
 *
 * SUMMARY
 *	struct maildir_options o = { .root = "/var/mail/smexop", .mode = MAILDIR_PER_RECIPIENT };
 *	maildir_deliver_pending(sp, &o, st, now, &stats, &err);     (from a timer)
 *
 * DESCRIPTION
 *	The built-in delivery: the queue manager's Maildir connector and its
 *	default for accepted domains (maildir_deliver_one); the whole-queue
 *	pass below is the older, simpler delivery without retries or DSNs,
 *	kept for tests and tools.  Per recipient, the message goes into
 *	ROOT/DOMAIN/LOCALPART/ (per_recipient; names lower-cased) or into
 *	ROOT itself (single: one catch-all Maildir); the tmp/, new/ and cur/
 *	directories are made as needed (0700).
 *
 *	Each copy starts with Return-Path and Delivered-To, then the fields
 *	the pipeline asked to prepend (the envelope's H records), then the
 *	message; line ends become LF as Maildir readers expect.  It is
 *	written to tmp/TIME.PID_SEQ.HOST,S=SIZE, fsync'd, linked into new/
 *	(never replacing a file), and new/ is fsync'd (the Maildir spec, with
 *	Dovecot's S= size).
 *
 *	Progress is kept in the entry: after each pass the envelope records
 *	which recipients are done (Y records), so a recipient is never
 *	delivered twice unless the process dies between the link into new/
 *	and that update (at-least-once).  The entry is removed only when
 *	every recipient is delivered or has failed permanently.  A permanent
 *	failure (an address that cannot name a mailbox) is logged and traced;
 *	DSNs come with the queue manager.  Anything else (no space, I/O,
 *	permissions) is a temporary failure: retried on the next pass.
 *
 *	Two delivery runs never work on one entry at once (spool_entry_lock).
 */
#ifndef SMEXOP_TRANSPORT_MAILDIR_H
#define SMEXOP_TRANSPORT_MAILDIR_H

#include <stdint.h>

#include "core/err.h"
#include "store/store.h"
#include "transport/spool.h"

enum maildir_mode {
	MAILDIR_PER_RECIPIENT,
	MAILDIR_SINGLE,
};

struct maildir_options {
	const char *root;
	enum maildir_mode mode;
	const char *hostname; /* for file names; NULL: gethostname() */
};

struct maildir_stats {
	unsigned entries;   /* queue entries looked at */
	unsigned delivered; /* recipients delivered */
	unsigned failed;    /* recipients failed permanently */
	unsigned deferred;  /* recipients to retry */
	unsigned removed;   /* entries done and removed */
};

/* maildir_path - the Maildir of rcpt into out; -1 with err when the
 * address cannot name one (a permanent failure) */
int maildir_path(const struct maildir_options *o, const char *rcpt, char *out, size_t outsize,
                 struct sx_err *err);
/* maildir_deliver_one - one copy of e for rcpt (the queue manager's
 * Maildir connector); 0 delivered (the file into where), -1 a temporary
 * failure, -2 a permanent one (the address names no mailbox); err says why */
int maildir_deliver_one(const struct maildir_options *o, const struct spool_entry *e,
                        const char *rcpt, char *where, size_t wheresize, struct sx_err *err);
/* maildir_deliver_entry - deliver the pending recipients of one locked
 * queue entry and update or remove it; 0 or -1 (stats say how it went) */
int maildir_deliver_entry(struct spool *sp, struct spool_entry *e, const struct maildir_options *o,
                          struct store *st, int64_t now, struct maildir_stats *stats,
                          struct sx_err *err);
/* maildir_deliver_pending - one pass over queue/; 0, or -1 when the
 * queue cannot be read */
int maildir_deliver_pending(struct spool *sp, const struct maildir_options *o, struct store *st,
                            int64_t now, struct maildir_stats *stats, struct sx_err *err);

struct event_base;
struct maildir_timer;
/* maildir_timer_new - run maildir_deliver_pending every interval_ms on
 * base (the gateway's loop); the pointers must outlive the timer */
struct maildir_timer *maildir_timer_new(struct event_base *base, struct spool *sp,
                                        const struct maildir_options *o, struct store *st,
                                        uint64_t interval_ms);
struct maildir_timer *maildir_timer_free(struct maildir_timer *t);

#endif
