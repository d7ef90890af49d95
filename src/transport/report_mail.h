/*
 * report_mail - commit a report mail we made (TLS-RPT, DMARC aggregate)
 * into the spool queue for the queue manager to deliver
 *
 * SUMMARY
 *	report_mail_queue(sp, SPOOL_REPORT_DMARC, &m, id, sizeof(id), &err);
 *
 * DESCRIPTION
 *	One entry per destination: outbound (relayed mail, so it goes to the
 *	destination's MX hosts unless a connector matches), from the report
 *	address, client 127.0.0.1 with our host name, and the envelope's K
 *	record saying which report it is, so the queue manager delivers it
 *	despite TLS policy failures and does not count its session for
 *	TLS-RPT (RFC 8460 5.3).
 */
#ifndef SMEXOP_TRANSPORT_REPORT_MAIL_H
#define SMEXOP_TRANSPORT_REPORT_MAIL_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "transport/spool_envelope.h"

struct spool;

struct report_mail {
	const char *sender;  /* the report address (envelope and From) */
	const char *rcpt;    /* the destination */
	const char *helo;    /* our host name, for the envelope's C record */
	const char *verdict; /* the D record: "tlsrpt report", ... */
	int64_t now;
	const char *data; /* the message, CRLF line ends */
	size_t len;
};

/* report_mail_queue - commit m into queue/ as a report of kind; 0 with
 * the spool id in id, or -1 with err */
int report_mail_queue(struct spool *sp, enum spool_report kind, const struct report_mail *m,
                      char *id, size_t idsize, struct sx_err *err);

#endif
