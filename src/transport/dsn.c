/*
 * dsn - build delivery status notifications (RFC 3464) and decide when
 * one is wanted (RFC 3461); see dsn.h
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/str.h"
#include "transport/dsn.h"

const char *dsn_action_name(enum dsn_kind kind)
{
	switch (kind) {
	case DSN_FAILURE:
		return "failed";
	case DSN_DELAY:
		return "delayed";
	case DSN_SUCCESS:
		return "delivered";
	}
	return "failed";
}

/* dsn_has_token - notify (a comma list) names word, ASCII case folded */
static bool dsn_has_token(const char *notify, const char *word)
{
	size_t wn = strlen(word);
	const char *p = notify;

	while (*p != '\0') {
		const char *comma = strchr(p, ',');
		size_t n = comma != NULL ? (size_t)(comma - p) : strlen(p);
		if (str_case_eq_n(p, n, word, wn))
			return true;
		if (comma == NULL)
			break;
		p = comma + 1;
	}
	return false;
}

bool dsn_wanted(const char *sender, const char *notify, enum dsn_kind kind)
{
	if (sender == NULL || sender[0] == '\0' || strcmp(sender, "<>") == 0)
		return false;
	if (notify == NULL || notify[0] == '\0')
		return kind != DSN_SUCCESS;
	if (dsn_has_token(notify, "NEVER"))
		return false;
	return dsn_has_token(notify, kind == DSN_FAILURE ? "FAILURE"
	                             : kind == DSN_DELAY ? "DELAY"
	                                                 : "SUCCESS");
}

const char *dsn_date(int64_t t, char *out, size_t outsize)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL ||
	    strftime(out, outsize, "%a, %d %b %Y %H:%M:%S +0000", &tm) == 0)
		snprintf(out, outsize, "Thu, 01 Jan 1970 00:00:00 +0000");
	return out;
}

/* dsn_clean - s with control bytes turned into spaces, at most max bytes,
 * into out; xtext: decode "+HH" first (ORCPT values, RFC 3461 4) */
static const char *dsn_clean(const char *s, char *out, size_t outsize, size_t max, bool xtext)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t i, o = 0;

	if (s == NULL)
		s = "";
	for (i = 0; s[i] != '\0' && o + 1 < outsize && o < max; i++) {
		unsigned char c = (unsigned char)s[i];
		if (xtext && c == '+' && s[i + 1] != '\0' && s[i + 2] != '\0') {
			const char *h = strchr(hex, s[i + 1]), *l = strchr(hex, s[i + 2]);
			if (h != NULL && l != NULL) {
				c = (unsigned char)((h - hex) * 16 + (l - hex));
				i += 2;
			}
		}
		out[o++] = (c < 0x20 || c == 0x7f) ? ' ' : (char)c;
	}
	out[o] = '\0';
	return out;
}

/* dsn_addr_type - "utf-8" for an address with non-ASCII bytes (RFC 6533) */
static const char *dsn_addr_type(const char *a)
{
	for (; *a != '\0'; a++)
		if ((unsigned char)*a >= 0x80)
			return "utf-8";
	return "rfc822";
}

/* dsn_header_end - the length of the header section of data (through the
 * empty line, or all of it when there is no body) */
static size_t dsn_header_end(const char *data, size_t len)
{
	size_t i;

	if (len >= 2 && data[0] == '\r' && data[1] == '\n')
		return 0;
	for (i = 0; i + 3 < len; i++)
		if (data[i] == '\r' && data[i + 1] == '\n' && data[i + 2] == '\r' &&
		    data[i + 3] == '\n')
			return i + 2;
	return len;
}

static const char *dsn_subject(enum dsn_kind k)
{
	switch (k) {
	case DSN_DELAY:
		return "Delayed Mail (still being retried)";
	case DSN_SUCCESS:
		return "Successful Mail Delivery Report";
	case DSN_FAILURE:
		break;
	}
	return "Undelivered Mail Returned to Sender";
}

static const char *dsn_default_status(enum dsn_kind k)
{
	return k == DSN_FAILURE ? "5.0.0" : k == DSN_DELAY ? "4.0.0" : "2.0.0";
}

/* dsn_status_ok - "C.S.D" with C the class of kind: a status of another
 * class (a 4.x.x on a final failure after expiry is fine, 2.x.x is not)
 * falls back to the default */
static bool dsn_status_ok(const char *s, enum dsn_kind k)
{
	size_t i, dots = 0, digits = 0;

	if (s == NULL || s[0] == '\0' || strlen(s) > 15)
		return false;
	if (k == DSN_SUCCESS ? s[0] != '2' : (s[0] != '4' && s[0] != '5'))
		return false;
	if (k == DSN_DELAY && s[0] != '4')
		return false;
	for (i = 0; s[i] != '\0'; i++) {
		if (s[i] == '.') {
			if (digits == 0)
				return false;
			dots++;
			digits = 0;
		} else if (str_is_digit((unsigned char)s[i]) && digits < 3) {
			digits++;
		} else {
			return false;
		}
	}
	return dots == 2 && digits > 0;
}

/* dsn_text - the human-readable part */
static int dsn_text(const struct dsn_report *r, struct buf *b)
{
	char t[64], a[600], d[DSN_MAX_DIAG + 1];
	size_t i;
	int rc = 0;

	rc |= buf_printf(b, "This is the mail system at host %s.\r\n\r\n", r->reporting_mta);
	switch (r->kind) {
	case DSN_FAILURE:
		rc |= buf_puts(b, "Your message could not be delivered to one or more "
		                  "recipients.\r\nIt is attached below (or its header, when only "
		                  "the header was asked for).\r\n");
		break;
	case DSN_DELAY:
		rc |= buf_puts(b, "Your message could not be delivered yet to one or more "
		                  "recipients.\r\nThis is only a warning: the mail system will "
		                  "keep trying; you need not send it again.\r\n");
		break;
	case DSN_SUCCESS:
		rc |= buf_puts(b, "Your message was delivered to the recipients below, as you "
		                  "asked to be told.\r\n");
		break;
	}
	rc |= buf_puts(b, "\r\n");
	for (i = 0; i < r->nrcpts; i++) {
		const struct dsn_rcpt *x = &r->rcpts[i];
		rc |= buf_printf(b, "<%s>", dsn_clean(x->addr, a, sizeof(a), 512, false));
		if (x->remote_mta != NULL && x->remote_mta[0] != '\0')
			rc |= buf_printf(b, " (host %s)",
			                 dsn_clean(x->remote_mta, a, sizeof(a), 255, false));
		if (x->diag != NULL && x->diag[0] != '\0')
			rc |= buf_printf(b, ":\r\n    %s",
			                 dsn_clean(x->diag, d, sizeof(d), DSN_MAX_DIAG, false));
		if (r->kind == DSN_DELAY && x->retry_until > 0)
			rc |= buf_printf(b, "\r\n    (will be retried until %s)",
			                 dsn_date(x->retry_until, t, sizeof(t)));
		rc |= buf_puts(b, "\r\n");
	}
	return rc < 0 ? -1 : 0;
}

/* dsn_status_part - the message/delivery-status body */
static int dsn_status_part(const struct dsn_report *r, struct buf *b)
{
	char t[64], a[600], d[DSN_MAX_DIAG + 1];
	size_t i;
	int rc = 0;

	rc |= buf_printf(b, "Reporting-MTA: dns; %s\r\n", r->reporting_mta);
	if (r->envid != NULL && r->envid[0] != '\0')
		rc |= buf_printf(b, "Original-Envelope-Id: %s\r\n",
		                 dsn_clean(r->envid, a, sizeof(a), 100, true));
	rc |= buf_printf(b, "Arrival-Date: %s\r\n", dsn_date(r->arrival, t, sizeof(t)));
	for (i = 0; i < r->nrcpts; i++) {
		const struct dsn_rcpt *x = &r->rcpts[i];
		rc |= buf_puts(b, "\r\n");
		if (x->orcpt != NULL && x->orcpt[0] != '\0') {
			const char *semi = strchr(x->orcpt, ';');
			dsn_clean(x->orcpt, a, sizeof(a), 512, true);
			/* "rfc822;a@b" from ORCPT; a bare address gets its type */
			if (semi != NULL)
				rc |= buf_printf(b, "Original-Recipient: %s\r\n", a);
			else
				rc |= buf_printf(b, "Original-Recipient: rfc822;%s\r\n", a);
		}
		dsn_clean(x->addr, a, sizeof(a), 512, false);
		rc |= buf_printf(b, "Final-Recipient: %s; %s\r\n", dsn_addr_type(x->addr), a);
		rc |= buf_printf(b, "Action: %s\r\n", dsn_action_name(r->kind));
		rc |= buf_printf(b, "Status: %s\r\n",
		                 dsn_status_ok(x->status, r->kind) ? x->status
		                                                   : dsn_default_status(r->kind));
		if (x->remote_mta != NULL && x->remote_mta[0] != '\0')
			rc |= buf_printf(b, "Remote-MTA: dns; %s\r\n",
			                 dsn_clean(x->remote_mta, a, sizeof(a), 255, false));
		if (x->diag != NULL && x->diag[0] != '\0')
			rc |= buf_printf(b, "Diagnostic-Code: smtp; %s\r\n",
			                 dsn_clean(x->diag, d, sizeof(d), DSN_MAX_DIAG, false));
		if (x->last_attempt > 0)
			rc |= buf_printf(b, "Last-Attempt-Date: %s\r\n",
			                 dsn_date(x->last_attempt, t, sizeof(t)));
		if (r->kind == DSN_DELAY && x->retry_until > 0)
			rc |= buf_printf(b, "Will-Retry-Until: %s\r\n",
			                 dsn_date(x->retry_until, t, sizeof(t)));
	}
	return rc < 0 ? -1 : 0;
}

int dsn_build(const struct dsn_report *r, struct buf *out, struct sx_err *err)
{
	char date[64], bnd[160], a[600];
	size_t i, hlen, start = out->len;
	bool full;
	int rc = 0;

	if (r == NULL || r->reporting_mta == NULL || r->id == NULL || r->nrcpts == 0 ||
	    (r->data == NULL && r->len > 0)) {
		sx_err_set(err, "dsn: incomplete report");
		return -1;
	}
	if (r->sender == NULL || r->sender[0] == '\0') {
		sx_err_set(err, "dsn: never to the null sender");
		return -1;
	}
	full = r->ret != NULL && str_casecmp(r->ret, "FULL") == 0;
	snprintf(bnd, sizeof(bnd), "=_smexop_dsn_%s", r->id);
	dsn_date(r->now, date, sizeof(date));
	rc |=
	    buf_printf(out, "From: Mail Delivery System <MAILER-DAEMON@%s>\r\n", r->reporting_mta);
	rc |= buf_printf(out, "To: <%s>\r\n", dsn_clean(r->sender, a, sizeof(a), 512, false));
	rc |= buf_printf(out, "Subject: %s\r\n", dsn_subject(r->kind));
	rc |= buf_printf(out, "Date: %s\r\n", date);
	rc |= buf_printf(out, "Message-ID: <%s.dsn.%lld@%s>\r\n", r->id, (long long)r->now,
	                 r->reporting_mta);
	rc |= buf_puts(out, "Auto-Submitted: auto-replied\r\nMIME-Version: 1.0\r\n");
	rc |= buf_printf(out,
	                 "Content-Type: multipart/report; report-type=delivery-status;\r\n"
	                 "\tboundary=\"%s\"\r\n\r\n",
	                 bnd);
	rc |= buf_puts(out, "This is a MIME-encapsulated delivery status notification.\r\n\r\n");
	rc |= buf_printf(out,
	                 "--%s\r\nContent-Type: text/plain; charset=utf-8\r\n"
	                 "Content-Description: Notification\r\n\r\n",
	                 bnd);
	if (rc < 0 || dsn_text(r, out) < 0)
		goto full;
	rc |= buf_printf(out,
	                 "\r\n--%s\r\nContent-Type: message/delivery-status\r\n"
	                 "Content-Description: Delivery report\r\n\r\n",
	                 bnd);
	if (rc < 0 || dsn_status_part(r, out) < 0)
		goto full;
	rc |= buf_printf(out, "\r\n--%s\r\nContent-Type: %s\r\nContent-Description: %s\r\n\r\n",
	                 bnd, full ? "message/rfc822" : "text/rfc822-headers",
	                 full ? "Undelivered message" : "Undelivered message headers");
	for (i = 0; i < r->nprepend; i++)
		rc |= buf_printf(out, "%s\r\n", r->prepend[i]);
	hlen = full ? r->len : dsn_header_end(r->data, r->len);
	if (hlen > 0)
		rc |= buf_append(out, r->data, hlen);
	if (hlen > 0 && (hlen < 2 || r->data[hlen - 2] != '\r' || r->data[hlen - 1] != '\n'))
		rc |= buf_puts(out, "\r\n");
	rc |= buf_printf(out, "\r\n--%s--\r\n", bnd);
	if (rc < 0)
		goto full;
	return 0;
full:
	out->len = start;
	if (out->data != NULL)
		out->data[start] = '\0';
	sx_err_set(err, "dsn: the report does not fit in %zu bytes", out->cap);
	return -1;
}
