/*
 * report_mail - commit a report mail into the spool queue (see
 * report_mail.h); used by `smexop tlsrpt report --queue` and
 * `smexop dmarc report --queue`
 */
#include <stdio.h>

#include "transport/report_mail.h"
#include "transport/spool.h"

int report_mail_queue(struct spool *sp, enum spool_report kind, const struct report_mail *m,
                      char *id, size_t idsize, struct sx_err *err)
{
	struct spool_tx *tx;
	struct spool_rcpt rcpt = { .addr = m->rcpt, .notify = "", .orcpt = "" };
	struct spool_envelope env = { 0 };
	int rc = -1;

	if (kind != SPOOL_REPORT_TLSRPT && kind != SPOOL_REPORT_DMARC) {
		sx_err_set(err, "report_mail_queue: not a report kind");
		return -1;
	}
	if ((tx = spool_tx_begin(sp, err)) == NULL)
		return -1;
	env.received = m->now;
	env.session_id = "";
	env.message_id = "";
	env.sender = m->sender;
	env.dsn_ret = "";
	env.dsn_envid = "";
	env.rcpts = &rcpt;
	env.nrcpts = 1;
	env.client_ip = "127.0.0.1";
	env.helo = m->helo != NULL ? m->helo : "";
	env.ptr = "";
	env.verdict = m->verdict != NULL ? m->verdict : "";
	env.direction = SPOOL_OUTBOUND;
	env.connector = "";
	env.report = kind; /* RFC 8460 5.3: delivered despite TLS failures */
	env.q_policy = "";
	env.released_by = "";
	if (spool_tx_write(tx, m->data, m->len) < 0) {
		sx_err_set(err, "spool: cannot write the report mail");
		goto out;
	}
	if (spool_tx_finish(tx, err) < 0 || spool_tx_commit(tx, &env, SPOOL_QUEUE, err) < 0)
		goto out;
	snprintf(id, idsize, "%s", spool_tx_id(tx));
	rc = 0;
out:
	spool_tx_free(tx);
	return rc;
}
