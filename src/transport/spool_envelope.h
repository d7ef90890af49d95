/*
 * spool_envelope - the envelope record file of a spool entry: typed,
 * versioned, line-based records and their strict parser
 *
 * SUMMARY
 *	struct buf b; buf_init(&b, SPOOL_ENVELOPE_MAX);
 *	spool_envelope_format(&env, &b);
 *	spool_envelope_parse(b.data, b.len, arena, &back, &err);
 *
 * DESCRIPTION
 *	One record per line, `TYPE FIELD...\n`, in this order (a type may
 *	repeat only where marked *):
 *
 *	  V 1                         format version (first)
 *	  I <id>                      the spool id
 *	  T <received>                seconds since the epoch
 *	  X <session id>              optional
 *	  M <message-id>              optional
 *	  S <sender>                  reverse-path ("-": the null path <>)
 *	  P <ret> <envid>             optional: MAIL FROM DSN parameters
 *	  R <rcpt> <notify> <orcpt>   * at least one
 *	  C <ip> <helo> <ptr>         the client
 *	  G <direction> <connector>   optional: "inbound" or "outbound", and the
 *	                              inbound connector it came through ("-":
 *	                              none); absent means inbound, no connector
 *	  K <report kind>             optional: the message is a report mail we
 *	                              generated, "tlsrpt" or "dmarc" (RFC 8460
 *	                              5.3: delivered despite TLS policy
 *	                              failures, not counted for TLS-RPT)
 *	  Z <size>                    bytes in the data file
 *	  D <verdict summary>         optional
 *	  H <header field>            * the fields to prepend at delivery
 *	  Q <expires> <policy>        optional: quarantined until expires
 *	  W <reason>                  * quarantine reasons (only with Q)
 *	  L <time> <by>               optional: released from quarantine
 *	  Y <rcpt index> <state> <t>  * delivery done: delivered or failed
 *	  A <rcpt index> <attempts> <last> <first deferral> <next> <notices>
 *	                              * the queue manager's delivery state of a
 *	                              recipient (times in seconds, 0: none;
 *	                              notices "-" or some of "dfs" in that
 *	                              order: delay notice, failure DSN,
 *	                              success DSN sent); at most one per
 *	                              recipient, in recipient order
 *	  B <rcpt index> <status> <remote mta> <diagnostic>
 *	                              * the last reply of that recipient: the
 *	                              enhanced status ("4.4.1"), the host that
 *	                              gave it and its text (all escaped
 *	                              fields); at most one per recipient
 *	  E <records>                 the end: the number of records before it
 *
 *	Fields are separated by one space.  A field is "-" when empty;
 *	bytes 0x00-0x20, '%' and 0x7f are written %XX, and so is a field that
 *	is exactly "-".  Records with a single free-text field (D, H, W) keep
 *	spaces as they are.  Folded header fields keep their CRLF, escaped.
 *
 *	Records added after the first release (G, K, A, B) are optional and
 *	their absence means what an older file meant (inbound; never
 *	tried), so the version stays 1 and every older envelope loads as it
 *	is.  An older smexop refuses a file that has them: no downgrade
 *	with entries in the queue.
 *
 *	The parser is strict: an unknown type, a record out of order or
 *	repeated, a wrong number of fields, a bad escape, a raw control
 *	byte, a missing final newline or E record, anything after E, or a
 *	version other than 1 is an error.  It is our own format, yet it is
 *	fuzzed (tests/fuzz/fuzz_spool_envelope.c): a file may be damaged.
 *
 * LIMITS
 *	SPOOL_ENVELOPE_MAX bytes per file, SPOOL_MAX_RCPTS recipients,
 *	SPOOL_MAX_HEADERS prepended fields, SPOOL_MAX_REASONS reasons, and
 *	fields of SPOOL_MAX_FIELD bytes (SPOOL_MAX_HEADER for H) once decoded.
 *
 * OWNERSHIP
 *	Parsed strings and arrays live in the arena given to the parser.
 *	Absent optional strings are "" (never NULL).
 */
#ifndef SMEXOP_TRANSPORT_SPOOL_ENVELOPE_H
#define SMEXOP_TRANSPORT_SPOOL_ENVELOPE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/err.h"

#define SPOOL_ENVELOPE_VERSION 1
#define SPOOL_ENVELOPE_MAX     (1024 * 1024)
#define SPOOL_MAX_RCPTS        1000
#define SPOOL_MAX_HEADERS      256
#define SPOOL_MAX_REASONS      64
#define SPOOL_MAX_FIELD        2048
#define SPOOL_MAX_HEADER       65536
#define SPOOL_ID_MAX           80 /* bytes with the terminating NUL */

/* where a message goes: inbound to the mailbox servers, or outbound to the
 * Internet (relayed from an inbound connector with relay rights) */
enum spool_direction {
	SPOOL_INBOUND,
	SPOOL_OUTBOUND,
};

/* a report mail we generated (K record) */
enum spool_report {
	SPOOL_REPORT_NONE,
	SPOOL_REPORT_TLSRPT,
	SPOOL_REPORT_DMARC,
};

enum spool_rcpt_state {
	SPOOL_RCPT_PENDING,
	SPOOL_RCPT_DELIVERED,
	SPOOL_RCPT_FAILED,
};

struct spool_rcpt {
	const char *addr;
	const char *notify; /* DSN NOTIFY= or "" */
	const char *orcpt;  /* DSN ORCPT= or "" */
	enum spool_rcpt_state state;
	int64_t done; /* when state became delivered or failed */
	/* delivery state (A and B records): absent in entries that were never
	 * tried, which is also what an older envelope without them means */
	unsigned attempts;
	int64_t last_attempt;
	int64_t first_deferral; /* 0: never deferred */
	int64_t next_attempt;   /* 0: due now */
	unsigned notices;       /* SPOOL_NOTICE_* sent */
	const char *status;     /* last enhanced status or "" */
	const char *remote_mta; /* host of the last reply or "" */
	const char *diag;       /* text of the last reply or our reason, or "" */
};

/* notices sent about a recipient (A record: "d", "f", "s") */
#define SPOOL_NOTICE_DELAY   1u
#define SPOOL_NOTICE_FAILURE 2u
#define SPOOL_NOTICE_SUCCESS 4u
#define SPOOL_MAX_ATTEMPTS   1000000u

struct spool_envelope {
	const char *id; /* the spool id; set by the spool at commit */
	int64_t received;
	const char *session_id;
	const char *message_id;
	const char *sender; /* "" for the null reverse-path */
	const char *dsn_ret;
	const char *dsn_envid;
	struct spool_rcpt *rcpts;
	size_t nrcpts;
	const char *client_ip;
	const char *helo;
	const char *ptr;
	enum spool_direction direction; /* G record */
	const char *connector;          /* G record: the inbound connector, or "" */
	enum spool_report report;       /* K record */
	uint64_t size;                  /* set by the spool at commit */
	const char *verdict;
	const char **headers; /* one field each, without the final CRLF */
	size_t nheaders;
	bool quarantined;
	int64_t q_expires;
	const char *q_policy;
	const char **q_reasons;
	size_t nq_reasons;
	int64_t released; /* 0: never released */
	const char *released_by;
};

/* spool_envelope_format - append env's records to out; 0 or -1 (a value
 * breaks a limit, or out is full) */
int spool_envelope_format(const struct spool_envelope *env, struct buf *out)
    __attribute__((warn_unused_result));
/* spool_envelope_parse - parse a whole file; 0, or -1 with err saying
 * which line is wrong and why */
int spool_envelope_parse(const char *data, size_t len, struct arena *a, struct spool_envelope *env,
                         struct sx_err *err);
/* spool_envelope_id_valid - a spool id: 1-79 of [A-Za-z0-9_-] */
bool spool_envelope_id_valid(const char *id);
/* spool_envelope_direction_name - "inbound", "outbound" */
const char *spool_envelope_direction_name(enum spool_direction d);
/* spool_envelope_report_name - "tlsrpt", "dmarc"; "" for none */
const char *spool_envelope_report_name(enum spool_report r);
/* spool_envelope_rcpt_state_name - "pending", "delivered", "failed" */
const char *spool_envelope_rcpt_state_name(enum spool_rcpt_state s);

#endif
