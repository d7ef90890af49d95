/*
 * dmarc_failure - DMARC failure reports (RFC 7489 7.3) in the
 * Authentication Failure Reporting Format (RFC 6591, on ARF RFC 5965)
 *
 * Off unless the configuration turns them on: a failure report carries
 * the header of someone else's message to a third party.  By default
 * only that header goes (text/rfc822-headers, as RFC 6591 3 allows);
 * the whole message (message/rfc822) only with include_body.
 */
#include <string.h>
#include <time.h>

#include "core/arena.h"
#include "core/buf.h"
#include "report/dmarc_report.h"
#include "report/report_util.h"
#include "smexop_version.h"

#define FAILURE_CAP (64 * 1024 * 1024)

bool dmarc_failure_wanted(const struct dmarc_failure_conf *c, const struct dmarc_outcome *o,
                          const struct dmarc_report_msg *m)
{
	unsigned fo;
	size_t i;

	if (c == NULL || !c->enabled || o == NULL || o->record == NULL || !o->rec.usable ||
	    o->rec.nruf == 0)
		return false;
	fo = o->rec.fo ? o->rec.fo : DMARC_FO_0;
	/* 0: no underlying mechanism produced an aligned pass */
	if ((fo & DMARC_FO_0) && !o->spf_aligned && !o->dkim_aligned)
		return true;
	/* 1: some mechanism produced something other than an aligned pass */
	if ((fo & DMARC_FO_1) && (!o->spf_aligned || !o->dkim_aligned))
		return true;
	/* d: a DKIM signature failed evaluation, aligned or not */
	if ((fo & DMARC_FO_D) && m != NULL)
		for (i = 0; i < m->ndkim; i++)
			if (m->dkim[i].result == DKIM_FAIL || m->dkim[i].result == DKIM_PERMERROR)
				return true;
	/* s: SPF failed evaluation, aligned or not */
	if ((fo & DMARC_FO_S) && m != NULL && (m->spf == SPF_FAIL || m->spf == SPF_SOFTFAIL))
		return true;
	return false;
}

/* failure_header_len - the header section of msg, with its empty line */
static size_t failure_header_len(const char *msg, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		if (msg[i] != '\n')
			continue;
		if (i + 1 < len && msg[i + 1] == '\n')
			return i + 2;
		if (i + 2 < len && msg[i + 1] == '\r' && msg[i + 2] == '\n')
			return i + 3;
	}
	return len;
}

/* failure_put_crlf - msg with every line ending made CRLF */
static int failure_put_crlf(struct buf *b, const char *msg, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		if (msg[i] == '\n' && (i == 0 || msg[i - 1] != '\r')) {
			if (buf_putc(b, '\r') < 0)
				return -1;
		}
		if (buf_putc(b, msg[i]) < 0)
			return -1;
	}
	if (len > 0 && msg[len - 1] != '\n')
		return buf_puts(b, "\r\n");
	return 0;
}

char *dmarc_failure_build(struct arena *a, const struct dmarc_failure_conf *c,
                          const struct dmarc_outcome *o, const struct dmarc_report_msg *m,
                          const char *msg, size_t msg_len, const char *to, int64_t now, size_t *len)
{
	const char *boundary = "=_smexop_dmarc_failure";
	const char *authres = dmarc_authres(a, o);
	char date[64];
	struct buf b;
	size_t i;
	int rc = 0;

	if (c == NULL || o == NULL || m == NULL || to == NULL || msg == NULL)
		return NULL;
	report_date(now, date, sizeof(date));
	buf_init(&b, FAILURE_CAP);
	rc |= buf_printf(&b,
	                 "From: %s <%s>\r\nTo: <%s>\r\nDate: %s\r\n"
	                 "Subject: DMARC failure report for %s from %s\r\n"
	                 "Message-ID: <dmarc-failure.%lld.%s@%s>\r\n"
	                 "MIME-Version: 1.0\r\nAuto-Submitted: auto-generated\r\n"
	                 "Content-Type: multipart/report; report-type=feedback-report;\r\n"
	                 "\tboundary=\"%s\"\r\n\r\n",
	                 c->org_name, c->email, to, date, o->from_domain, m->source_ip,
	                 (long long)now, m->source_ip, o->record_domain ? o->record_domain : "-",
	                 boundary);
	rc |= buf_printf(&b,
	                 "--%s\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n"
	                 "A message claiming to be from %s failed DMARC (RFC 7489) here:\r\n"
	                 "source %s, disposition %s, aligned SPF %s, aligned DKIM %s.\r\n\r\n",
	                 boundary, o->from_domain, m->source_ip, dmarc_policy_name(o->disposition),
	                 o->spf_aligned ? "pass" : "fail", o->dkim_aligned ? "pass" : "fail");
	rc |= buf_printf(&b,
	                 "--%s\r\nContent-Type: message/feedback-report\r\n\r\n"
	                 "Feedback-Type: auth-failure\r\nUser-Agent: smexop/%s\r\nVersion: 1\r\n"
	                 "Auth-Failure: dmarc\r\nSource-IP: %s\r\nReported-Domain: %s\r\n"
	                 "Arrival-Date: %s\r\nDelivery-Result: %s\r\n",
	                 boundary, SMEXOP_VERSION, m->source_ip, o->from_domain, date,
	                 o->disposition == DMARC_POLICY_REJECT       ? "reject"
	                 : o->disposition == DMARC_POLICY_QUARANTINE ? "spam"
	                                                             : "delivered");
	if (m->mail_from != NULL)
		rc |= buf_printf(&b, "Original-Mail-From: <%s>\r\n", m->mail_from);
	if (authres != NULL)
		rc |= buf_printf(&b, "Authentication-Results: %s\r\n", authres);
	for (i = 0; i < m->ndkim; i++)
		if (m->dkim[i].result != DKIM_PASS && m->dkim[i].domain != NULL) {
			rc |= buf_printf(&b, "DKIM-Domain: %s\r\n", m->dkim[i].domain);
			if (m->dkim[i].selector != NULL)
				rc |= buf_printf(&b, "DKIM-Selector: %s\r\n", m->dkim[i].selector);
			break;
		}
	rc |= buf_printf(&b, "\r\n--%s\r\nContent-Type: %s\r\n\r\n", boundary,
	                 c->include_body ? "message/rfc822" : "text/rfc822-headers");
	rc |=
	    failure_put_crlf(&b, msg, c->include_body ? msg_len : failure_header_len(msg, msg_len));
	rc |= buf_printf(&b, "\r\n--%s--\r\n", boundary);
	return report_buf_take(a, &b, rc == 0, len);
}
