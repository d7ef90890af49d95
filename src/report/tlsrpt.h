/*
 * tlsrpt - SMTP TLS Reporting (RFC 8460): the _smtp._tls record, the
 * outcome of every TLS session we attempt as a sending MTA, the daily
 * reports built from them, and the reports other senders send us
 *
 * SUMMARY
 *	sending MTA (transport/, per delivery attempt):
 *	    tlsrpt_record(store, &outcome, time(NULL), &err);
 *	daily (smexop tlsrpt report):
 *	    store_tlsrpt_pending() -> tlsrpt_report_build() per domain and day,
 *	    tlsrpt_record_parse() of the domain's _smtp._tls TXT for the rua,
 *	    tlsrpt_report_message() for mailto:, tlsrpt_https_start() for https:,
 *	    store_tlsrpt_dest_set() per destination, store_tlsrpt_mark_reported()
 *	    once no destination is left pending.
 *	policy domain (smexop tlsrpt import):
 *	    tlsrpt_import_parse() then store_tlsrpt_import_add().
 *
 * DESCRIPTION
 *	Record (RFC 8460 3): "v=TLSRPTv1" first, then ";"-separated fields;
 *	rua= holds one or more URIs separated by ",", each mailto: (RFC 6068,
 *	the address as given, with %XX decoded) or https: (RFC 7230); other
 *	schemes are skipped; no usable URI makes the record invalid.  Unknown
 *	fields are ignored.  A TXT answer with several TLSRPTv1 records is
 *	treated as none (tlsrpt_record_select).
 *
 *	Recording: one call per TLS session attempt (one MX host, one
 *	connection).  Sessions are counted per UTC day and policy (type,
 *	domain, policy strings, MX hosts); failures add to the failure
 *	details (result type and the addresses and names involved).  Nothing
 *	is kept per message.
 *
 *	Report (RFC 8460 4): JSON built with jansson, with the fields and
 *	the order of the RFC's example; date-range covers whole UTC days,
 *	end-datetime being the last second ("...T23:59:59Z").  The file name
 *	is submitter!policy-domain!begin!end!id.json.gz (5.1, timestamps in
 *	seconds) and the mail (5.3) is multipart/report; report-type=tlsrpt
 *	with TLS-Report-Domain, TLS-Report-Submitter and the Subject
 *	"Report Domain: D Submitter: S Report-ID: <ID>", the report in an
 *	application/tlsrpt+gzip part.  The report-id is
 *	"YYYYMMDD.<policy-domain>.<16 hex>@<submitter>" (msg-id syntax): unique,
 *	and kept in the store so a retry sends the same one.
 *
 *	Import: JSON (optionally gzip'ed), or a mail whose part is
 *	application/tlsrpt+gzip, application/tlsrpt+json, application/tlsrpt,
 *	or a .json/.json.gz attachment.  Decompressed data is capped at
 *	max_size; the JSON is refused beyond TLSRPT_MAX_JSON_DEPTH levels,
 *	TLSRPT_MAX_POLICIES policies, TLSRPT_MAX_DETAILS failure details per
 *	policy and TLSRPT_MAX_STRING bytes per string; counts are at most
 *	TLSRPT_MAX_COUNT.  mx-host may be a string or a list; unknown policy
 *	and result types are kept as written.
 *
 *	Everything is allocated from the caller's arena.
 */
#ifndef SMEXOP_REPORT_TLSRPT_H
#define SMEXOP_REPORT_TLSRPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "store/store.h"

struct arena;
struct dns_answer;

#define TLSRPT_MAX_URIS           16
#define TLSRPT_MAX_RECORD         4096               /* bytes of one TXT record we read */
#define TLSRPT_IMPORT_DEFAULT     (16 * 1024 * 1024) /* decompressed bytes */
#define TLSRPT_MAX_JSON_DEPTH     16
#define TLSRPT_MAX_POLICIES       10000
#define TLSRPT_MAX_DETAILS        10000
#define TLSRPT_MAX_STRINGS        1000 /* policy-string lines or mx-host entries */
#define TLSRPT_MAX_STRING         4096
#define TLSRPT_MAX_COUNT          ((uint64_t)1 << 53)
#define TLSRPT_IMPORT_MAX_REPORTS 64 /* reports found in one file */

/* ---- the _smtp._tls record (RFC 8460 3) ------------------------------------- */

enum tlsrpt_uri_kind { TLSRPT_URI_MAILTO, TLSRPT_URI_HTTPS };

struct tlsrpt_uri {
	enum tlsrpt_uri_kind kind;
	const char *uri;  /* as written */
	const char *addr; /* mailto: the address, %XX decoded; else NULL */
	const char *host; /* https: the host (no port); mailto: the address's domain */
	unsigned port;    /* https: 443 unless given */
	const char *path; /* https: "/..." with the query; else NULL */
};

struct tlsrpt_record {
	struct tlsrpt_uri *rua;
	size_t nrua;
	size_t skipped; /* URIs of another scheme, or malformed */
};

/* tlsrpt_record_is_tlsrpt - the text starts with v=TLSRPTv1 (then ';', space or end) */
bool tlsrpt_record_is_tlsrpt(const char *txt, size_t len);

/* tlsrpt_record_parse - parse one record; 0, or -1 with err (not TLSRPTv1,
 * syntax error, no usable rua) */
int tlsrpt_record_parse(struct arena *a, const char *txt, size_t len, struct tlsrpt_record *r,
                        struct sx_err *err);

/* tlsrpt_record_name - "_smtp._tls.<domain>" */
char *tlsrpt_record_name(struct arena *a, const char *domain);

/*
 * tlsrpt_record_select - the record from the TXT answer for
 * _smtp._tls.<domain>: 0 with *r, 1 none (no record, several records,
 * or an invalid one: err says which), -1 temporary DNS failure
 */
int tlsrpt_record_select(struct arena *a, const struct dns_answer *ans, struct tlsrpt_record *r,
                         struct sx_err *err);

/* ---- recording TLS outcomes (RFC 8460 4.3) ------------------------------------ */

enum tlsrpt_policy_type {
	TLSRPT_POLICY_STS,  /* an MTA-STS policy applied */
	TLSRPT_POLICY_TLSA, /* DANE TLSA records applied */
	TLSRPT_POLICY_NONE, /* "no-policy-found": neither */
};

enum tlsrpt_result {
	TLSRPT_SUCCESS,
	/* negotiation */
	TLSRPT_STARTTLS_NOT_SUPPORTED,
	TLSRPT_CERTIFICATE_HOST_MISMATCH,
	TLSRPT_CERTIFICATE_EXPIRED,
	TLSRPT_CERTIFICATE_NOT_TRUSTED,
	TLSRPT_VALIDATION_FAILURE,
	/* DANE */
	TLSRPT_TLSA_INVALID,
	TLSRPT_DNSSEC_INVALID,
	TLSRPT_DANE_REQUIRED,
	/* MTA-STS */
	TLSRPT_STS_POLICY_FETCH_ERROR,
	TLSRPT_STS_POLICY_INVALID,
	TLSRPT_STS_WEBPKI_INVALID,
};
#define TLSRPT_NRESULTS (TLSRPT_STS_WEBPKI_INVALID + 1)

/* tlsrpt_result_name - "starttls-not-supported", ...; "success" for TLSRPT_SUCCESS */
const char *tlsrpt_result_name(enum tlsrpt_result r);
/* tlsrpt_result_parse - the enum of an RFC 8460 name; -1 when unknown */
int tlsrpt_result_parse(const char *name);
/* tlsrpt_policy_type_name - "sts", "tlsa", "no-policy-found" */
const char *tlsrpt_policy_type_name(enum tlsrpt_policy_type t);

/* One TLS session attempt as the delivery saw it. */
struct tlsrpt_outcome {
	const char *policy_domain; /* the recipient domain (the MTA-STS / DANE policy's) */
	enum tlsrpt_policy_type policy_type;
	/* sts: the policy's lines ("version: STSv1", "mode: enforce", "mx: ...",
	 * "max_age: ..."); tlsa: the TLSA records in presentation form
	 * ("3 1 1 ab12..."); none: nothing */
	const char *const *policy_strings;
	size_t npolicy_strings;
	/* sts: the policy's mx patterns; tlsa: the MX host the records are for;
	 * may be empty */
	const char *const *mx_hosts;
	size_t nmx_hosts;
	enum tlsrpt_result result;
	/* the failure details (ignored on success); each NULL when unknown */
	const char *sending_mta_ip;         /* our address for the connection */
	const char *receiving_mx_hostname;  /* the MX host name */
	const char *receiving_mx_helo;      /* its EHLO/banner name */
	const char *receiving_ip;           /* its address */
	const char *additional_information; /* a URI with more detail */
	const char *failure_reason_code;    /* free text, e.g. OpenSSL's verify error */
};

/*
 * tlsrpt_record - count one TLS session attempt for the UTC day of time;
 * 0, or -1 with err (bad arguments, store failure).  Strings are copied.
 */
int tlsrpt_record(struct store *st, const struct tlsrpt_outcome *o, int64_t time,
                  struct sx_err *err);

/* ---- building reports (RFC 8460 4, 5) -------------------------------------------- */

struct tlsrpt_conf {
	const char *org_name;  /* organization-name */
	const char *email;     /* contact-info and From */
	const char *submitter; /* the submitter domain; NULL: that of email */
};

struct tlsrpt_built {
	struct store_tlsrpt_report rep;
	const char *policy_domain;
	const char *submitter;
	char *json;
	size_t json_len;
	unsigned char *gz;
	size_t gz_len;
	const char *filename; /* submitter!domain!begin!end!id.json.gz */
	uint64_t successful, failed;
};

/* tlsrpt_submitter - conf->submitter, or the domain of conf->email */
const char *tlsrpt_submitter(const struct tlsrpt_conf *c);

/* tlsrpt_report_id_new - a fresh report-id for domain's report from day */
char *tlsrpt_report_id_new(struct arena *a, const struct tlsrpt_conf *c, const char *domain,
                           int64_t day);

/*
 * tlsrpt_report_build - the report of domain's unreported sessions in
 * the days [begin, end), with report_id (NULL: a new one); 0 built, 1
 * nothing to report, -1 error
 */
int tlsrpt_report_build(struct arena *a, struct store *st, const struct tlsrpt_conf *c,
                        const char *domain, int64_t begin, int64_t end, const char *report_id,
                        struct tlsrpt_built *out, struct sx_err *err);

/* tlsrpt_report_json - the RFC 8460 JSON of r (NUL-terminated, in a); NULL on failure */
char *tlsrpt_report_json(struct arena *a, const struct store_tlsrpt_report *r, size_t *len);

/* tlsrpt_report_filename - "submitter!domain!begin!end!id.json.gz" */
char *tlsrpt_report_filename(struct arena *a, const char *submitter, const char *domain,
                             int64_t begin, int64_t end_last, const char *report_id);

/*
 * tlsrpt_report_message - the RFC 8460 5.3 mail carrying b to the
 * address to (From conf->email); NUL-terminated, *len set; NULL on
 * allocation failure
 */
char *tlsrpt_report_message(struct arena *a, const struct tlsrpt_conf *c,
                            const struct tlsrpt_built *b, const char *to, int64_t now, size_t *len);

/* ---- received reports -------------------------------------------------------------- */

/*
 * tlsrpt_import_parse - every TLS-RPT report in data[0..len) (JSON, gzip,
 * or a mail with one attached); *out gets the reports (source set to
 * name), *n their count.  0 when at least one was found, -1 with err.
 */
int tlsrpt_import_parse(struct arena *a, const char *name, const unsigned char *data, size_t len,
                        size_t max_size, struct store_tlsrpt_report **out, size_t *n,
                        struct sx_err *err);

/* tlsrpt_import_json - one JSON report; 0 or -1 with err */
int tlsrpt_import_json(struct arena *a, const char *json, size_t len, struct store_tlsrpt_report *r,
                       struct sx_err *err);

/* tlsrpt_time_parse - an RFC 3339 date-time ("2016-04-01T23:59:59Z",
 * fractions and offsets allowed) in seconds; 0 or -1 */
int tlsrpt_time_parse(const char *s, int64_t *out);

#endif
