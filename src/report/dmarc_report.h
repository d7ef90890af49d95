/*
 * dmarc_report - DMARC reports (RFC 7489 section 7): aggregate reports we
 * send as a receiver, failure reports (RFC 6591 AFRF), and the import of
 * aggregate reports we receive as a domain owner
 *
 * SUMMARY
 *	receiver:  dmarc_report_record() per evaluated message, later
 *	           dmarc_report_build() per domain and interval, the
 *	           destinations from dmarc_report_dests() checked with
 *	           dmarc_report_authorise_start(), dmarc_report_message(),
 *	           and store_dmarc_mark_reported() once handed over.
 *	failure:   dmarc_failure_wanted() (fo=) and dmarc_failure_build().
 *	owner:     dmarc_import_parse() then store_dmarc_import_add().
 *
 * DESCRIPTION
 *	Aggregate reports follow the XML schema of RFC 7489 Appendix C,
 *	without a namespace on the root (as the large receivers write them,
 *	and as every parser reads them); IPv6 source addresses are written in
 *	full (eight groups) because the schema's pattern accepts no "::".
 *	One report covers the messages of one policy domain recorded in
 *	[begin, end); the XML date_range and the file name (RFC 7489
 *	7.2.1.1: receiver!policy-domain!begin!end.xml.gz) give end - 1, the
 *	last second covered.  report_id is the policy domain, the interval
 *	and 64 random bits, so it is unique across runs.
 *
 *	Destinations (RFC 7489 7.1): a mailto: rua at another organisational
 *	domain than the policy domain's needs a TXT record at
 *	<policy-domain>._report._dmarc.<destination-domain> that starts
 *	with v=DMARC1; without it the destination is dropped.  A "!size"
 *	limit smaller than the report message drops the destination too.
 *
 *	Import accepts an aggregate report as XML (with or without a
 *	namespace, version, or the RFC 9990 elements), gzip (also with
 *	trailing bytes), zip, or a mail that carries one of these as an
 *	attachment.  XML is parsed by libxml2 with network access, DTDs and
 *	entity substitution off (a document with a DOCTYPE is refused), after
 *	invalid UTF-8 was replaced by U+FFFD.  Decompressed data is capped at
 *	max_size (gzip and zip bombs stop there).
 *
 *	Everything is allocated from the caller's arena.
 */
#ifndef SMEXOP_REPORT_DMARC_REPORT_H
#define SMEXOP_REPORT_DMARC_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "auth/dkim.h"
#include "auth/dmarc.h"
#include "auth/spf.h"
#include "core/err.h"
#include "store/store.h"

struct arena;
struct dns;
struct event_base;
struct orgdomain;

#define DMARC_REPORT_MAX_ROWS      100000             /* rows in one report we build */
#define DMARC_IMPORT_DEFAULT_MAX   (64 * 1024 * 1024) /* decompressed bytes */
#define DMARC_IMPORT_MAX_REPORTS   64                 /* reports found in one file */
#define DMARC_IMPORT_MAX_ZIP_FILES 64                 /* entries looked at in a zip */

/* ---- as a receiver -------------------------------------------------------- */

struct dmarc_report_dkim {
	const char *domain; /* d= */
	const char *selector;
	enum dkim_result result;
};

/* What the pipeline knows about a message besides the DMARC outcome. */
struct dmarc_report_msg {
	const char *source_ip;
	const char *mail_from; /* RFC 5321.MailFrom (address or domain); NULL or "" for <> */
	const char *helo;
	const char *rcpt_domain; /* envelope_to; may be NULL */
	enum spf_result spf;     /* for the MAIL FROM identity, or HELO when <> */
	const struct dmarc_report_dkim *dkim;
	size_t ndkim;
};

/*
 * dmarc_report_record - store the message for aggregate reporting: one
 * event per From domain whose DMARC record was found (none: nothing is
 * stored); 0 or -1 with err
 */
int dmarc_report_record(struct store *st, const struct dmarc_outcome *o,
                        const struct dmarc_report_msg *m, int64_t time, struct sx_err *err);

struct dmarc_report_conf {
	const char *org_name;
	const char *email;
	const char *extra_contact_info; /* may be NULL */
	const char *receiver;           /* domain in file names; NULL: that of email */
	uint64_t max_report_size;       /* 0: no limit of our own */
	const struct orgdomain *psl;    /* NULL: the default list */
	const char *report_id;          /* a retry's id (report_dest.h); NULL: a new one */
};

struct dmarc_report {
	const char *domain; /* the policy domain */
	int64_t begin, end; /* [begin, end) */
	const char *report_id;
	const char *record; /* the newest record text seen for the domain */
	struct dmarc_record rec;
	uint64_t messages;
	size_t rows;
	char *xml;
	size_t xml_len;
	unsigned char *gz; /* the XML gzip'ed */
	size_t gz_len;
	const char *filename; /* receiver!domain!begin!end.xml.gz */
};

/*
 * dmarc_report_build - the aggregate report of domain's unreported
 * messages in [begin, end); 0 built, 1 nothing to report, -1 error
 */
int dmarc_report_build(struct arena *a, struct store *st, const struct dmarc_report_conf *c,
                       const char *domain, int64_t begin, int64_t end, struct dmarc_report *out,
                       struct sx_err *err);

/* dmarc_report_xml - only the XML of rows[0..n) (tests, dmarc_report_build) */
char *dmarc_report_xml(struct arena *a, const struct dmarc_report_conf *c,
                       const struct dmarc_report *r, const struct store_dmarc_row *rows, size_t n,
                       size_t *len);

enum dmarc_dest_status {
	DMARC_DEST_OK,           /* same organisation, or authorised */
	DMARC_DEST_PENDING,      /* external, not checked yet */
	DMARC_DEST_UNAUTHORISED, /* external without a v=DMARC1 record */
	DMARC_DEST_TEMPFAIL,     /* the check failed (SERVFAIL, timeout) */
	DMARC_DEST_TOO_BIG,      /* the report exceeds its !size */
	DMARC_DEST_NOT_MAILTO,   /* http(s): not supported */
};

struct dmarc_report_dest {
	const char *uri;
	const char *addr;   /* the mailto address */
	const char *domain; /* its domain, lower case */
	uint64_t max_bytes; /* 0: no limit */
	bool external;
	enum dmarc_dest_status status;
	const char *why;
};

/* dmarc_report_dests - the rua (ruf: the ruf) destinations of rec for
 * policy_domain; external ones are DMARC_DEST_PENDING.  Returns the count. */
size_t dmarc_report_dests(struct arena *a, const struct orgdomain *psl, const char *policy_domain,
                          const struct dmarc_record *rec, bool ruf, struct dmarc_report_dest **out);

/* dmarc_report_auth_name - "<policy>._report._dmarc.<dest>" */
char *dmarc_report_auth_name(struct arena *a, const char *policy_domain, const char *dest_domain);
/* dmarc_report_auth_answer - set d->status from the TXT answer for it */
void dmarc_report_auth_answer(struct dmarc_report_dest *d, const struct dns_answer *ans);

/*
 * dmarc_report_authorise_start - look up every pending destination:
 * 0 and done(arg) runs once from the loop when all are answered; 1 when
 * none was pending (done is not called); -1 on resource failure
 */
int dmarc_report_authorise_start(struct dns *dns, struct arena *a, const char *policy_domain,
                                 struct dmarc_report_dest *d, size_t n, void (*done)(void *arg),
                                 void *arg);

/*
 * dmarc_report_message - an RFC 5322 message carrying the report as a
 * gzip attachment (RFC 7489 7.2.1.1), From conf->email, To the
 * destinations whose status is DMARC_DEST_OK; *len set
 */
char *dmarc_report_message(struct arena *a, const struct dmarc_report_conf *c,
                           const struct dmarc_report *r, const struct dmarc_report_dest *d,
                           size_t n, int64_t now, size_t *len);

/* ---- failure reports (RFC 6591, RFC 7489 7.3) ------------------------------ */

struct dmarc_failure_conf {
	bool enabled;      /* dmarc_reports.failure_reports; false: never wanted */
	bool include_body; /* the whole message instead of its header */
	const char *org_name;
	const char *email;
};

/* dmarc_failure_wanted - the outcome asks for a failure report under the
 * record's fo= (0: nothing aligned passed; 1: something did not pass
 * aligned; d: a DKIM signature failed; s: SPF failed) and conf allows it */
bool dmarc_failure_wanted(const struct dmarc_failure_conf *c, const struct dmarc_outcome *o,
                          const struct dmarc_report_msg *m);

/*
 * dmarc_failure_build - the AFRF report (multipart/report;
 * report-type=feedback-report, Feedback-Type: auth-failure, Auth-Failure:
 * dmarc) about the message msg[0..msg_len): its header section only
 * (text/rfc822-headers) unless include_body; to is the ruf address.
 * NULL on allocation failure.
 */
char *dmarc_failure_build(struct arena *a, const struct dmarc_failure_conf *c,
                          const struct dmarc_outcome *o, const struct dmarc_report_msg *m,
                          const char *msg, size_t msg_len, const char *to, int64_t now,
                          size_t *len);

/* ---- as a domain owner: import ------------------------------------------------ */

/*
 * dmarc_import_parse - every aggregate report in data[0..len) (XML, gzip,
 * zip or a mail with one attached); *out gets the reports (source set to
 * name), *n their count.  0 when at least one was found, -1 with err
 * (a message without the file name) otherwise.
 */
int dmarc_import_parse(struct arena *a, const char *name, const unsigned char *data, size_t len,
                       size_t max_size, struct store_dmarc_import **out, size_t *n,
                       struct sx_err *err);

/* dmarc_import_xml - one XML aggregate report; 0 or -1 with err */
int dmarc_import_xml(struct arena *a, const char *xml, size_t len, struct store_dmarc_import *r,
                     struct sx_err *err);

#endif
