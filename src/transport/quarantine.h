/*
 * quarantine - messages held by policy: into the spool's quarantine/ with
 * an index row in the store; list, release, delete, expire
 *
 * SUMMARY
 *	quarantine_commit(tx, &env, &opts, st, now, &err);      then reply 250
 *	quarantine_release(sp, st, id, NULL, "admin", now, NULL, &err);
 *	quarantine_expire(sp, st, now, &n, &err);
 *
 * DESCRIPTION
 *	The spool entry is the message and the truth; the store row (id,
 *	Message-ID, sender, recipients, Subject, reasons, policy, verdict,
 *	received, expiry, released) is the index the tools search.  The
 *	entry is committed first: if the row cannot be written the message
 *	is still safe and quarantine_reconcile() (run by `quarantine expire`)
 *	adds the missing rows from the envelopes.
 *
 *	Release moves the entry into queue/ (the data is hard-linked) with a
 *	new envelope: an L record (when, by whom), an X-Smexop-Released
 *	field, and SFV:SKQ in the X-Smexop-Antispam-Report field as EOP does
 *	for released messages; X-Spam-Flag becomes NO and X-Spam-Status No
 *	(the score stays), so Sieve rules do not file it into Junk.  Released to one recipient
 *(--to) the copy gets a new spool id and the quarantined entry stays for the others (the entry
 *marks that recipient done, so a later release to everyone skips it; once every recipient has it,
 *the entry goes).
 *
 *	Expiry: received + retention (30 days, like EOP, unless configured);
 *	`quarantine expire` removes expired entries and their rows.
 */
#ifndef SMEXOP_TRANSPORT_QUARANTINE_H
#define SMEXOP_TRANSPORT_QUARANTINE_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "store/store.h"
#include "transport/spool.h"

#define QUARANTINE_DEFAULT_RETENTION (30 * 24 * 3600) /* seconds */
#define QUARANTINE_SUBJECT_MAX       998

struct quarantine_options {
	uint64_t retention; /* seconds; 0: QUARANTINE_DEFAULT_RETENTION */
};

/* quarantine_commit - commit tx into quarantine/ (env's policy, reasons
 * and, when 0, expiry = received + retention), then the store row and a
 * trace event; 0 once the message is durable (the caller may answer
 * 250) even when only the row failed (logged), -1 with err */
int quarantine_commit(struct spool_tx *tx, const struct spool_envelope *env,
                      const struct quarantine_options *o, struct store *st, int64_t now,
                      struct sx_err *err);

/* quarantine_subject - the unfolded Subject field of a raw message into
 * out (control bytes become spaces, cut at outsize); "" when none */
const char *quarantine_subject(const char *data, size_t len, char *out, size_t outsize);

/* quarantine_index - the store row of a quarantined entry */
int quarantine_index(struct store *st, const struct spool_entry *e, struct sx_err *err);

/* quarantine_reconcile - rows for quarantine/ entries that lack one; the
 * number added in *added */
int quarantine_reconcile(struct spool *sp, struct store *st, unsigned *added, struct sx_err *err);

/*
 * quarantine_release - release id into queue/: to NULL releases to every
 * recipient (a move), else to that recipient only (a copy under a new id,
 * written to new_id when not NULL); by names who released it
 */
int quarantine_release(struct spool *sp, struct store *st, const char *id, const char *to,
                       const char *by, int64_t now, char new_id[SPOOL_ID_MAX], struct sx_err *err);

/* quarantine_delete - remove the entry and its row */
int quarantine_delete(struct spool *sp, struct store *st, const char *id, int64_t now,
                      struct sx_err *err);

/* quarantine_expire - remove what expired before now; *removed counts */
int quarantine_expire(struct spool *sp, struct store *st, int64_t now, unsigned *removed,
                      struct sx_err *err);

#endif
