/*
 * authres - the Authentication-Results header field (RFC 8601)
 *
 * authres_parse() reads a header value (the bytes after the colon) by the
 * RFC 8601 ABNF: authserv-id, optional version, then "none" or a list of
 * resinfo (method[/version]=result, reason=, ptype.property=value), with
 * CFWS (white space, folding, nested comments) wherever the grammar allows
 * it and quoted strings for values.  Names (method, result, ptype,
 * property) come back lower-cased, values as written with the quotes of a
 * quoted-string removed.  Comments are dropped, except the first comment
 * after a result, which is kept as its comment (it often says why).
 *
 * Strict by default.  AUTHRES_LENIENT accepts two things real senders emit
 * and the ABNF forbids: a trailing ";" after the last result, and
 * Microsoft EOP's bare "action=" property ("dmarc=pass action=none
 * header.from=contoso.com", in its Authentication-Results and ARC-
 * Authentication-Results), which comes back as a property with ptype ""
 * (authres_prop_find(r, "", "action")) and is written back bare.  Any
 * other property without a ptype is still an error.
 *
 * Each result also records its raw span in the input (from the method to
 * the end of the resinfo, trimmed of white space, comments kept), so an
 * ARC sealer can copy results into an ARC-Authentication-Results field
 * exactly as they were written.
 *
 * authres_format() is the other direction: it writes one header value
 * from a struct authres (the pipeline fills one for spf, dkim, dmarc, arc
 * and compauth), quoting what needs quotes and folding long lines.
 *
 * Limits: AUTHRES_MAX_LEN bytes of input, AUTHRES_MAX_RESULTS results,
 * AUTHRES_MAX_PROPS properties per result; beyond them parsing fails.
 * Everything is allocated from the caller's arena.
 */
#ifndef SMEXOP_AUTH_AUTHRES_H
#define SMEXOP_AUTH_AUTHRES_H

#include <stdbool.h>
#include <stddef.h>

#include "core/err.h"

struct arena;
struct buf;

#define AUTHRES_MAX_LEN     65536
#define AUTHRES_MAX_RESULTS 64
#define AUTHRES_MAX_PROPS   32

#define AUTHRES_LENIENT 0x1u /* a trailing ";" is ignored; EOP's bare action= is read */

struct authres_prop {
	const char *ptype;    /* "smtp", "header", "body", "policy", ...; "" for a bare action= */
	const char *property; /* "mailfrom", "d", ... */
	const char *value;
};

struct authres_result {
	const char *method;  /* "spf", "dkim", ... */
	int method_version;  /* -1 when absent */
	const char *result;  /* "pass", "fail", ... */
	const char *reason;  /* NULL when absent */
	const char *comment; /* first comment after the result, without the parentheses; or NULL */
	struct authres_prop *props;
	size_t nprops;
	const char *raw; /* parse only: the resinfo as written (a view into the input) */
	size_t raw_len;
};

struct authres {
	const char *authserv_id;
	int version; /* -1 when absent */
	struct authres_result *results;
	size_t nresults; /* 0: "none" */
};

/*
 * authres_parse - parse an Authentication-Results value; 0, or -1 with
 * err ("expected keyword at 12": the offset is into text)
 */
int authres_parse(struct authres *ar, struct arena *a, const char *text, size_t len, unsigned flags,
                  struct sx_err *err);

/* authres_find - the first result of method (lower-case), from index *from on; NULL if none */
const struct authres_result *authres_find(const struct authres *ar, const char *method,
                                          size_t *from);

/* authres_prop_find - the value of ptype.property in r, or NULL */
const char *authres_prop_find(const struct authres_result *r, const char *ptype,
                              const char *property);

struct authres_format_opts {
	size_t first_col; /* columns already used on the first line ("Authentication-Results: ") */
	size_t width;     /* fold before this column where possible; 0: 78 */
	bool lf;          /* fold with LF instead of CRLF */
};

/*
 * authres_format - append the value for ar to out (no final line break):
 * "authserv-id; method=result (comment) reason=... ptype.property=value;
 * ...", or "authserv-id; none" without results.  On one line when it
 * fits, otherwise every result starts a line of its own and a long
 * result is folded between its parts.  Values that are not tokens (or
 * local-part@domain) are quoted; control characters are dropped.  opts
 * may be NULL.  0, or -1 when out's cap is reached.
 */
int authres_format(struct buf *out, const struct authres *ar,
                   const struct authres_format_opts *opts);

/* authres_format_result - append one result on one line, as authres_format
 * writes it ("method=result (comment) reason=... ptype.property=value") */
int authres_format_result(struct buf *out, const struct authres_result *r);

#endif
