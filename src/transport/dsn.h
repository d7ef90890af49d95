/*
 * dsn - delivery status notifications (RFC 3464, RFC 3461): the message
 * the queue manager sends back to a sender when delivery failed, is
 * delayed, or succeeded and the sender asked to know
 *
 * SUMMARY
 *	if (dsn_wanted(env->sender, rcpt->notify, DSN_FAILURE)) ...
 *	struct dsn_report r = { .kind = DSN_FAILURE, ... };
 *	dsn_build(&r, &out, &err);   (out: the whole message, CRLF)
 *
 * DESCRIPTION
 *	The message is multipart/report; report-type=delivery-status with
 *	three parts: a human-readable text/plain, the message/delivery-status
 *	(per message: Reporting-MTA, Original-Envelope-Id, Arrival-Date; per
 *	recipient: Original-Recipient, Final-Recipient, Action, Status,
 *	Remote-MTA, Diagnostic-Code, Last-Attempt-Date and, for delays,
 *	Will-Retry-Until), and the original message: its header section as
 *	text/rfc822-headers, or all of it as message/rfc822 when the sender
 *	asked RET=FULL.  It comes From MAILER-DAEMON@<reporting MTA> with
 *	Auto-Submitted: auto-replied (RFC 3834), and is sent with the null
 *	reverse-path, so that no DSN is ever answered with another one.
 *
 *	dsn_wanted applies RFC 3461's rules: never to the null sender;
 *	NOTIFY=NEVER turns every kind off; without NOTIFY the MTA sends
 *	failures and delays (RFC 3461 4.1), not successes.
 *
 * LIMITS
 *	Diagnostic texts are cut at DSN_MAX_DIAG bytes and stripped of
 *	control bytes, so no line of the report exceeds RFC 5322's 998.
 *	out's own cap bounds the message (RET=FULL copies the original).
 */
#ifndef SMEXOP_TRANSPORT_DSN_H
#define SMEXOP_TRANSPORT_DSN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/err.h"

#define DSN_MAX_DIAG 800

enum dsn_kind { DSN_FAILURE, DSN_DELAY, DSN_SUCCESS };

struct dsn_rcpt {
	const char *addr;       /* the final recipient */
	const char *orcpt;      /* the ORCPT parameter ("rfc822;a@b", xtext) or "" */
	const char *status;     /* "5.1.1"; "" or NULL: 5.0.0, 4.0.0 or 2.0.0 by kind */
	const char *remote_mta; /* the host that answered, or "" */
	const char *diag;       /* its reply ("550 5.1.1 ...") or our reason, or "" */
	int64_t last_attempt;   /* 0: none */
	int64_t retry_until;    /* delays: when we give up */
};

struct dsn_report {
	enum dsn_kind kind;
	const char *reporting_mta; /* our host name */
	const char *sender;        /* the original reverse-path: the DSN goes there */
	const char *envid;         /* ENVID or "" */
	const char *ret;           /* "FULL": the whole message; else the header section */
	const char *id;            /* the original's spool id (Message-ID, boundary) */
	int64_t arrival;
	int64_t now;
	const struct dsn_rcpt *rcpts;
	size_t nrcpts;
	const char *const *prepend; /* the fields delivery would prepend */
	size_t nprepend;
	const char *data; /* the original message, CRLF */
	size_t len;
};

/* dsn_wanted - whether sender gets a DSN of kind about a recipient whose
 * NOTIFY parameter was notify ("" when none was given) */
bool dsn_wanted(const char *sender, const char *notify, enum dsn_kind kind);
/* dsn_build - append the whole DSN message to out; 0, or -1 with err */
int dsn_build(const struct dsn_report *r, struct buf *out, struct sx_err *err);
/* dsn_action_name - "failed", "delayed", "delivered" */
const char *dsn_action_name(enum dsn_kind kind);
/* dsn_date - an RFC 5322 date-time ("Sun, 29 Nov 2026 02:47:05 +0000") */
const char *dsn_date(int64_t t, char *out, size_t outsize);

#endif
