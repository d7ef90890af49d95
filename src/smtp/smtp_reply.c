/*
 * smtp_reply - the SMTP server's reply catalogue (see smtp_reply.h)
 *
 * Codes follow RFC 5321 section 4.2, enhanced codes RFC 3463 and the
 * IANA registry (RFC 5248).  Texts are fixed: admins and their search
 * engines find them word for word.  Anything the server cannot classify
 * is 451 4.3.0 (a temporary failure: the client tries again later).
 */
#include "smtp/smtp_reply.h"

#include <stdio.h>
#include <string.h>

#include "core/str.h"

#define R(id, code, enh, text, when) [id] = { id, #id, code, enh, text, when }

static const struct smtp_reply_def smtp_replies[SMTP_R_COUNT] = {
	R(SMTP_R_GREETING, 220, NULL, "ESMTP smexop", "the greeting, after the host name"),
	R(SMTP_R_OK, 250, "2.0.0", "Ok", "RSET, NOOP"),
	R(SMTP_R_SENDER_OK, 250, "2.1.0", "Sender ok", "MAIL FROM accepted"),
	R(SMTP_R_RCPT_OK, 250, "2.1.5", "Recipient ok", "RCPT TO accepted"),
	R(SMTP_R_QUEUED, 250, "2.0.0", "Ok: queued", "end of data, message durable"),
	R(SMTP_R_CHUNK_OK, 250, "2.0.0", "Ok: chunk received", "BDAT chunk without LAST"),
	R(SMTP_R_DATA_GO, 354, NULL, "End data with <CR><LF>.<CR><LF>", "DATA accepted"),
	R(SMTP_R_BYE, 221, "2.0.0", "Bye", "QUIT"),
	R(SMTP_R_HELP, 214, "2.0.0",
	  "Commands: HELO EHLO MAIL RCPT DATA BDAT RSET NOOP QUIT VRFY HELP STARTTLS", "HELP"),
	R(SMTP_R_VRFY, 252, "2.0.0",
	  "Cannot VRFY user, but will accept message and attempt delivery",
	  "VRFY (RFC 5321 section 3.5.3): never confirms a mailbox"),
	R(SMTP_R_TLS_GO, 220, "2.0.0", "Ready to start TLS", "STARTTLS accepted"),
	R(SMTP_R_TLS_NOT_AVAIL, 454, "4.7.0", "TLS not available",
	  "STARTTLS on a listener without a certificate"),
	R(SMTP_R_TLS_ACTIVE, 503, "5.5.1", "TLS already active", "STARTTLS inside TLS"),
	R(SMTP_R_UNKNOWN_CMD, 500, "5.5.1", "Command unrecognized", "an unknown verb"),
	R(SMTP_R_SYNTAX, 501, "5.5.2", "Syntax error in parameters or arguments",
	  "malformed arguments, control characters, 8-bit bytes outside SMTPUTF8"),
	R(SMTP_R_NO_ARGS, 501, "5.5.4", "Syntax error, no parameters allowed",
	  "RSET, DATA, QUIT or STARTTLS with an argument"),
	R(SMTP_R_BAD_HELO, 501, "5.5.4", "Invalid domain name in HELO/EHLO",
	  "HELO/EHLO without a usable name"),
	R(SMTP_R_BAD_SENDER, 501, "5.1.7", "Bad sender address syntax",
	  "MAIL FROM path not RFC 5321"),
	R(SMTP_R_BAD_RCPT, 501, "5.1.3", "Bad recipient address syntax",
	  "RCPT TO path not RFC 5321"),
	R(SMTP_R_UTF8_NOT_ALLOWED, 553, "5.6.7", "Non-ASCII addresses require SMTPUTF8",
	  "an 8-bit address without MAIL FROM ... SMTPUTF8 (RFC 6531)"),
	R(SMTP_R_PARAM_UNKNOWN, 555, "5.5.4", "Unsupported MAIL FROM/RCPT TO parameter",
	  "an ESMTP parameter we do not know (or that needs EHLO)"),
	R(SMTP_R_PARAM_BAD, 501, "5.5.4", "Invalid parameter value",
	  "SIZE, BODY, RET, ENVID, NOTIFY or ORCPT malformed, or repeated"),
	R(SMTP_R_LINE_TOO_LONG, 500, "5.5.2", "Line too long",
	  "a command line over the cap (RFC 5321 section 4.5.3.1.4)"),
	R(SMTP_R_BAD_SEQUENCE, 503, "5.5.1", "Bad sequence of commands",
	  "any command after a refused greeting, BDAT outside a transaction"),
	R(SMTP_R_NEED_HELO, 503, "5.5.1", "Send HELO/EHLO first", "MAIL before HELO/EHLO"),
	R(SMTP_R_NEED_MAIL, 503, "5.5.1", "Need MAIL command", "RCPT, DATA or BDAT before MAIL"),
	R(SMTP_R_NESTED_MAIL, 503, "5.5.1", "Nested MAIL command", "MAIL inside a transaction"),
	R(SMTP_R_NO_RCPT, 554, "5.5.1", "No valid recipients",
	  "DATA or BDAT without an accepted recipient"),
	R(SMTP_R_DATA_BDAT_MIX, 503, "5.5.1", "DATA and BDAT cannot be mixed",
	  "DATA after BDAT in one transaction (RFC 3030)"),
	R(SMTP_R_BINARYMIME_DATA, 503, "5.5.1", "BODY=BINARYMIME requires BDAT",
	  "DATA in a BINARYMIME transaction (RFC 3030)"),
	R(SMTP_R_TOO_MANY_RCPTS, 452, "4.5.3", "Too many recipients",
	  "RCPT over the per-message cap; the client sends the rest later"),
	R(SMTP_R_MSG_TOO_BIG, 552, "5.3.4", "Message size exceeds fixed maximum message size",
	  "SIZE= over the cap, or the data itself (after draining it)"),
	R(SMTP_R_DATA_LINE_TOO_LONG, 552, "5.5.2", "Message line too long",
	  "a line in DATA over the cap (after draining to the end of data)"),
	R(SMTP_R_BARE_LF_CR, 550, "5.5.2", "Bare LF or CR in message data not allowed",
	  "DATA with a line not ended by CRLF (SMTP smuggling defence); answered "
	  "after draining to CRLF.CRLF, the message is discarded"),
	R(SMTP_R_TEMP_FAILURE, 451, "4.3.0", "Temporary failure, try again later",
	  "spool failure, or a failure nobody classified"),
	R(SMTP_R_TIMEOUT, 421, "4.4.2", "Timeout exceeded, closing connection",
	  "no command within the command timeout"),
	R(SMTP_R_SESSION_TIMEOUT, 421, "4.4.2", "Session time limit exceeded, closing connection",
	  "the whole-session cap"),
	R(SMTP_R_TOO_MANY_ERRORS, 421, "4.7.0", "Too many errors, closing connection",
	  "the error cap per session"),
	R(SMTP_R_TOO_MANY_COMMANDS, 421, "4.7.0", "Too many commands, closing connection",
	  "NOOP/RSET/VRFY/HELP/HELO flood without a MAIL transaction"),
	R(SMTP_R_TOO_MANY_CONNECTIONS, 421, "4.7.0", "Too many connections",
	  "the connection cap, in total or per IP"),
	R(SMTP_R_SHUTDOWN, 421, "4.3.2", "Service shutting down, closing connection",
	  "the server stops"),
	R(SMTP_R_TLS_REQUIRED, 530, "5.7.0", "Must issue a STARTTLS command first",
	  "MAIL FROM before STARTTLS from a client whose inbound connector has require_tls (RFC "
	  "3207 section 4; the gateway answers it)"),
	R(SMTP_R_RELAY_DENIED, 550, "5.7.54",
	  "SMTP; Unable to relay recipient in non-accepted domain",
	  "RCPT TO a domain that is not accepted, from a client without a relay connector (EOP's "
	  "text; chosen by the envelope stage)"),
	R(SMTP_R_BAD_OUTBOUND_SENDER, 550, "5.1.8", "Access denied, bad outbound sender",
	  "RCPT or end of data from a sender the outbound spam policy restricted (EOP's text; "
	  "chosen by the outbound stage until `smexop restricted release` or the next day)"),
};

const struct smtp_reply_def *smtp_reply_get(enum smtp_reply_id id)
{
	if ((unsigned)id >= SMTP_R_COUNT)
		id = SMTP_R_TEMP_FAILURE;
	return &smtp_replies[id];
}

bool smtp_reply_enhanced_ok(const char *e, unsigned code)
{
	size_t i, n;

	if (e == NULL || code < 200 || code > 599)
		return false;
	/* class: 2, 4 or 5, equal to the first digit of the code */
	if ((e[0] != '2' && e[0] != '4' && e[0] != '5') || (unsigned)(e[0] - '0') != code / 100 ||
	    e[1] != '.')
		return false;
	e += 2;
	for (i = 0; i < 2; i++) {
		/* subject 1-3 digits, detail 1-3 digits, no leading zeros beyond "0" */
		for (n = 0; str_is_digit(e[n]); n++)
			;
		if (n < 1 || n > 3 || (n > 1 && e[0] == '0'))
			return false;
		e += n;
		if (i == 0 && *e++ != '.')
			return false;
	}
	return *e == '\0';
}

int smtp_reply_format_line(struct buf *out, unsigned code, const char *enhanced, const char *text,
                           bool more)
{
	size_t start = out->len, i;
	int rc;

	if (enhanced != NULL)
		rc = buf_printf(out, "%03u%c%s %s\r\n", code, more ? '-' : ' ', enhanced,
		                text ? text : "");
	else
		rc = buf_printf(out, "%03u%c%s\r\n", code, more ? '-' : ' ', text ? text : "");
	if (rc < 0)
		return -1;
	/* no CR, LF or other control in the line itself (the text may come from a hook) */
	for (i = start; i + 2 < out->len; i++) {
		unsigned char c = (unsigned char)out->data[i];
		if (c < 0x20 || c == 0x7f)
			out->data[i] = ' ';
	}
	return 0;
}

int smtp_reply_format(struct buf *out, enum smtp_reply_id id)
{
	const struct smtp_reply_def *r = smtp_reply_get(id);

	return smtp_reply_format_line(out, r->code, r->enhanced, r->text, false);
}

int smtp_reply_doc(struct buf *out)
{
	size_t i;

	if (buf_puts(out, "# SMTP replies\n\n"
	                  "Every reply the SMTP server makes itself, from the catalogue in\n"
	                  "`src/smtp/smtp_reply.c` (this file is generated from it; a unit test\n"
	                  "checks that they agree).  Replies chosen by the gateway (connection\n"
	                  "filter, edge blocking, verdicts) come from the pipeline and are listed\n"
	                  "with their stages.\n\n"
	                  "| id | reply | when |\n"
	                  "|----|-------|------|\n") < 0)
		return -1;
	for (i = 0; i < SMTP_R_COUNT; i++) {
		const struct smtp_reply_def *r = &smtp_replies[i];

		if (buf_printf(out, "| `%s` | `%u%s%s %s%s` | %s |\n", r->name, r->code,
		               r->enhanced ? " " : "", r->enhanced ? r->enhanced : "",
		               i == SMTP_R_GREETING ? "<host> " : "", r->text, r->when) < 0)
			return -1;
	}
	return 0;
}
