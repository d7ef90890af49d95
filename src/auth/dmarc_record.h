/*
 * dmarc_record - the DMARC policy record (RFC 7489 6.3, 6.4; the DMARCbis
 * tags np, psd and t)
 *
 * dmarc_record_parse() reads one TXT record.  Syntax accepted: tag=value
 * pairs separated by ';', white space around tags, '=' and ';', empty
 * tag-specs (";;") and a trailing ';'.  Tag names and keyword values
 * compare case-insensitively (ABNF literal strings are).  v=DMARC1 must
 * be the first tag; everything else may come in any order.  Unknown tags
 * and tag-specs without '=' are ignored; of a repeated tag the first
 * counts.
 *
 * Errors, and what they mean for the record (RFC 7489 6.3 and 6.6.3
 * step 5, kept by DMARCbis; OpenDMARC and Mail::DMARC agree):
 *   - no v=DMARC1 first: not a DMARC record (status BAD_VERSION / EMPTY);
 *   - p= missing or invalid, or sp= invalid: when rua= holds at least one
 *     valid URI the record is used as if it said p=none (p_implicit);
 *     otherwise it is unusable and DMARC is not applied;
 *   - an invalid value of any other tag is discarded in favour of the
 *     default, and the record is still used.
 * status reports the first problem in every case (for diagnostics and
 * the conformance suite); usable says whether the record applies.
 *
 * Values: pct 0..100 (default 100), ri 0..2^32-1 (default 86400),
 * adkim/aspf r|s (default r), fo a ':' list of 0 1 d s (default 0), rf a
 * ':' list of afrf iodef (default afrf), psd y|n|u, t y|n.  sp defaults to
 * p, np to sp.  rua/ruf are ',' lists of URIs, each with an optional
 * "!size[kmgt]" limit (binary units); mailto:, http: and https: URIs are
 * kept (reports only go to mailto:), others and unparsable ones are
 * dropped.  At most DMARC_RECORD_MAX_URIS of each are kept.
 */
#ifndef SMEXOP_AUTH_DMARC_RECORD_H
#define SMEXOP_AUTH_DMARC_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct arena;

#define DMARC_RECORD_MAX_URIS 16
#define DMARC_RECORD_MAX_LEN  65536 /* longer TXT data is not looked at */
#define DMARC_DEFAULT_RI      86400

enum dmarc_policy {
	DMARC_POLICY_NONE,
	DMARC_POLICY_QUARANTINE,
	DMARC_POLICY_REJECT,
};

enum dmarc_align {
	DMARC_ALIGN_RELAXED,
	DMARC_ALIGN_STRICT,
};

enum dmarc_psd {
	DMARC_PSD_DEFAULT, /* no psd= tag */
	DMARC_PSD_Y,
	DMARC_PSD_N,
	DMARC_PSD_U,
};

/* fo= options */
#define DMARC_FO_0 0x1u
#define DMARC_FO_1 0x2u
#define DMARC_FO_D 0x4u
#define DMARC_FO_S 0x8u
/* rf= formats */
#define DMARC_RF_AFRF  0x1u
#define DMARC_RF_IODEF 0x2u

enum dmarc_record_status {
	DMARC_RECORD_OK,
	DMARC_RECORD_EMPTY,       /* nothing but white space */
	DMARC_RECORD_BAD_VERSION, /* does not start with v=DMARC1 */
	DMARC_RECORD_BAD_VALUE,   /* a known tag has an invalid value */
	DMARC_RECORD_NO_P,        /* no p= tag */
};

struct dmarc_uri {
	const char *uri;    /* as written, size suffix removed, trimmed */
	const char *scheme; /* "mailto", "http" or "https" (lower case) */
	const char *addr;   /* mailto: the address, %-decoded; NULL otherwise */
	uint64_t max_bytes; /* 0: no limit */
};

struct dmarc_record {
	enum dmarc_record_status status;
	const char *bad_tag; /* for BAD_VALUE: the first tag with a bad value */
	bool usable;         /* the record applies (see above) */
	bool p_implicit;     /* p=none assumed: p missing/invalid (or sp invalid), rua valid */
	enum dmarc_policy p, sp, np;
	bool has_sp, has_np;
	unsigned pct;
	bool has_pct;
	enum dmarc_align adkim, aspf;
	unsigned fo, rf;
	uint32_t ri;
	enum dmarc_psd psd;
	bool t; /* DMARCbis testing flag */
	struct dmarc_uri *rua, *ruf;
	size_t nrua, nruf;
};

/*
 * dmarc_record_parse - parse text[0..len); rec is always filled (defaults
 * where tags are missing).  Returns 0 when the record is usable, -1 when
 * not (rec->status says why).  URIs are allocated from a; with a NULL
 * arena they are only counted (nrua/nruf) and the pointers stay NULL.
 */
int dmarc_record_parse(struct arena *a, const char *text, size_t len, struct dmarc_record *rec);

/* dmarc_record_is_dmarc - text starts with a v=DMARC1 tag: the test of
 * RFC 7489 6.6.3 step 3 for picking records out of a TXT answer */
bool dmarc_record_is_dmarc(const char *text, size_t len);

/* dmarc_policy_name - "none", "quarantine", "reject" */
const char *dmarc_policy_name(enum dmarc_policy p);
/* dmarc_record_status_name - "ok", "empty", "bad_version", "bad_value", "no_required_p" */
const char *dmarc_record_status_name(enum dmarc_record_status s);

#endif
