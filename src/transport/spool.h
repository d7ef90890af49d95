/*
 * spool - the durable message spool: where a message is between the
 * SMTP DATA and its delivery, or while it is quarantined
 *
 * SUMMARY
 *	struct spool *sp = spool_open(&opts, &err);
 *	spool_recover(sp, &stats, &err);            (once, at start)
 *	tx = spool_tx_begin(sp, &err);
 *	spool_tx_write(tx, buf, len) ...            (as the data arrives)
 *	spool_tx_finish(tx, &err);
 *	spool_tx_data(tx, &data, &len);             (the pipeline reads it)
 *	spool_tx_commit(tx, &env, SPOOL_QUEUE, &err);   then reply 250
 *	tx = spool_tx_free(tx);
 *
 * DESCRIPTION
 *	Layout under the spool directory (mode 0700, files 0600):
 *
 *	  incoming/    being received: <id> (data), <id>.env while committing
 *	  queue/       accepted, waiting for delivery
 *	  quarantine/  held by policy
 *	  corrupt/     what recovery could not make sense of
 *	  hold/        taken out of delivery by an admin (`smexop queue hold`)
 *
 *	An entry is two files: <id> holds the message as received (CRLF,
 *	dot-unstuffed), <id>.env the envelope records (spool_envelope.h).
 *	An id is `<time in µs, hex>-<node id>-<random>`: unique across
 *	processes (random from getrandom, files made with O_EXCL) and across
 *	nodes sharing state (the node id).
 *
 *	Commit: the envelope is written to incoming/<id>.env; both files are
 *	fsync'd; the data file is renamed into the destination, then the
 *	envelope (the commit point: an entry exists when its .env does); the
 *	destination directory is fsync'd.  Only when spool_tx_commit returns
 *	0 may the caller answer 250.  Readers (spool_scan) list .env files
 *	only, so nothing half-written is ever an entry.
 *
 *	Recovery (spool_recover, at start, with no writer running): incoming/
 *	is emptied (nothing there was acknowledged), and so is a data file in
 *	queue/ or quarantine/ whose envelope was still (or already) in
 *	incoming/ (a commit or removal the crash interrupted); in queue/ and
 *	quarantine/ an envelope that does not parse, a data file that is
 *	missing or of the wrong size, or another data file without envelope
 *	goes to corrupt/ with a log line; a quarantine entry that was already
 *	released into queue/ (crash during release) loses its quarantine copy.
 *	hold/ is checked like queue/; an entry moves between the two by a
 *	second link of its data, the rename of its envelope (the commit
 *	point) and the unlink of the old data, so a data file without
 *	envelope whose envelope is in the other directory is the leftover
 *	of a move and is removed.
 *
 *	Entries are changed only by replacing the envelope atomically
 *	(spool_entry_update: delivery progress), moved by hard-linking the
 *	data and committing a new envelope (spool_entry_requeue: release), and
 *	removed envelope first, by moving it into incoming/ (spool_entry_remove).
 *	A process delivering an
 *	entry holds spool_entry_lock so two delivery runs never overlap.
 *
 * LIMITS
 *	spool_options.max_size caps a message (spool_tx_write fails past it);
 *	envelopes are capped by SPOOL_ENVELOPE_MAX.  The message is never held
 *	in memory by the spool: writes go through a SPOOL_WRITE_BUF buffer and
 *	the data is mapped read-only for readers.
 *
 * THREADS
 *	One struct spool per process; a transaction belongs to one thread.
 *
 * DIAGNOSTICS
 *	-1 or NULL with err: "spool: queue/ID: No space left on device".
 *	A spool_tx that failed stays failed: every later call returns -1.
 */
#ifndef SMEXOP_TRANSPORT_SPOOL_H
#define SMEXOP_TRANSPORT_SPOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/err.h"
#include "transport/spool_envelope.h"

#define SPOOL_WRITE_BUF (64 * 1024)
#define SPOOL_NODE_MAX  32

enum spool_dest {
	SPOOL_QUEUE,
	SPOOL_QUARANTINE,
	SPOOL_CORRUPT,
	SPOOL_HOLD,
};

struct spool_options {
	const char *dir;
	const char *node_id; /* 1-32 of [A-Za-z0-9_]; NULL: "node" */
	uint64_t max_size;   /* bytes per message; 0: no limit */
};

struct spool;
struct spool_tx;

/* spool_open - open (creating) the spool directory and its subdirectories */
struct spool *spool_open(const struct spool_options *o, struct sx_err *err);
/* spool_close - returns NULL */
struct spool *spool_close(struct spool *sp);
const char *spool_dir(const struct spool *sp);
/* spool_dest_name - "queue", "quarantine", "corrupt", "hold" */
const char *spool_dest_name(enum spool_dest d);
/* spool_node_valid - a node id: 1-32 of [A-Za-z0-9_] */
bool spool_node_valid(const char *node);

struct spool_recover_stats {
	unsigned incoming_removed;
	unsigned corrupt; /* entries or files moved to corrupt/ */
	unsigned duplicates_removed;
	unsigned queue, quarantine, hold; /* committed entries found */
};

/* spool_recover - clean up after a crash (see above); 0 or -1 */
int spool_recover(struct spool *sp, struct spool_recover_stats *stats, struct sx_err *err);

/* ---- receiving one message ------------------------------------------ */

/* spool_tx_begin - create incoming/<id> (O_EXCL, 0600) */
struct spool_tx *spool_tx_begin(struct spool *sp, struct sx_err *err);
/* spool_tx_id - the transaction's spool id */
const char *spool_tx_id(const struct spool_tx *tx);
/* spool_tx_write - append message bytes; 0, or -1 (I/O error, too large) */
int spool_tx_write(struct spool_tx *tx, const void *buf, size_t len);
/* spool_tx_finish - flush and map the data for reading; 0 or -1 */
int spool_tx_finish(struct spool_tx *tx, struct sx_err *err);
/* spool_tx_data - the data written (after finish; valid until free) */
int spool_tx_data(const struct spool_tx *tx, const char **data, size_t *len);
/*
 * spool_tx_commit - write the envelope (its id and size are the
 * transaction's whatever env says; the headers to prepend are env's H
 * records) and publish the entry into dest (SPOOL_QUEUE or
 * SPOOL_QUARANTINE) durably; 0: the caller may answer 250.
 */
int spool_tx_commit(struct spool_tx *tx, const struct spool_envelope *env, enum spool_dest dest,
                    struct sx_err *err);
/* spool_tx_abort - drop an uncommitted transaction's files; frees tx and
 * returns NULL (after a commit it only frees) */
struct spool_tx *spool_tx_abort(struct spool_tx *tx);
/* spool_tx_free - the same as spool_tx_abort */
struct spool_tx *spool_tx_free(struct spool_tx *tx);

/* ---- committed entries ----------------------------------------------- */

struct spool_entry {
	char id[SPOOL_ID_MAX];
	enum spool_dest where;
	struct spool_envelope env; /* strings in arena */
	const char *data;          /* the message, mapped read-only */
	size_t len;
	struct arena *arena;
	int fd; /* the data file */
};

typedef int (*spool_scan_cb)(const char *id, void *arg);

/* spool_scan - the committed entries of where, oldest first; a callback
 * returning non-zero stops the scan and is returned */
int spool_scan(struct spool *sp, enum spool_dest where, spool_scan_cb cb, void *arg,
               struct sx_err *err);
/* spool_entry_load - read and check one entry; NULL with err (ENOENT:
 * err says "no such entry") */
struct spool_entry *spool_entry_load(struct spool *sp, enum spool_dest where, const char *id,
                                     struct sx_err *err);
/* spool_entry_find - load id from queue/, quarantine/, corrupt/ or hold/ */
struct spool_entry *spool_entry_find(struct spool *sp, const char *id, struct sx_err *err);
struct spool_entry *spool_entry_free(struct spool_entry *e);
/* spool_entry_lock - take the entry's delivery lock without waiting: 1
 * taken (released by spool_entry_free), 0 someone else has it, -1 error */
int spool_entry_lock(struct spool_entry *e);
/* spool_entry_update - replace e's envelope by env atomically */
int spool_entry_update(struct spool *sp, struct spool_entry *e, const struct spool_envelope *env,
                       struct sx_err *err);
/*
 * spool_entry_requeue - commit a copy of e into queue/ with envelope env
 * (the data is hard-linked, not copied); new_id NULL keeps e's id and
 * then e's files are removed once the copy is committed (a move), else a
 * fresh id is written to new_id and e stays.
 */
int spool_entry_requeue(struct spool *sp, struct spool_entry *e, const struct spool_envelope *env,
                        char new_id[SPOOL_ID_MAX], struct sx_err *err);
/* spool_entry_move - move e between queue/ and hold/ under the same id
 * (hold, release); e->where follows; 0 or -1 */
int spool_entry_move(struct spool *sp, struct spool_entry *e, enum spool_dest dest,
                     struct sx_err *err);
/* spool_entry_remove - remove an entry, envelope first; 0 (also when
 * it is already gone) or -1.  Not flushed: after a power failure a removed
 * entry may come back (delivered twice), never the other way round */
int spool_entry_remove(struct spool *sp, enum spool_dest where, const char *id, struct sx_err *err);

#endif
