/*
 * compauth - composite authentication: EOP's verdict on whether the From
 * domain of a message is authentic
 *
 * DMARC only answers for domains that publish a record; most do not, or
 * publish p=none.  Composite authentication (Microsoft's "compauth")
 * combines every signal into one verdict for every message: pass, fail,
 * softpass or none, with a three-digit reason code.  The codes follow the
 * ranges Microsoft publishes (000 explicit fail, 001 implicit fail, 002
 * admin block, 010 explicit fail of one of our domains, 1xx pass, 2xx
 * softpass, 3xx not checked, 4xx/9xx bypassed, 6xx intra-org spoof, 7xx
 * admin allow); where Microsoft publishes no sub-code, the ones here are
 * ours and stable.  docs/compauth.md lists every code this engine emits,
 * with what the admin can do about it.
 *
 * An engine with plain inputs: the results of SPF, DKIM, DMARC and ARC,
 * the forward-confirmed PTR name of the client, and the admin's lists
 * (accepted domains, spoof pairs allowed or blocked, trusted ARC
 * sealers).  It looks nothing up and allocates nothing; auth/authcheck
 * gathers the inputs.  The verdict does not act on the message: the
 * anti-phishing stage decides what a fail means.
 *
 * Besides the verdict it gives the DMARC text EOP writes into
 * Authentication-Results: "bestguesspass" when the From domain has no
 * DMARC record but would have passed, and the action= value (none,
 * oreject, pct.quarantine, pct.reject, quarantine, reject, permerror,
 * temperror).
 */
#ifndef SMEXOP_AUTH_COMPAUTH_H
#define SMEXOP_AUTH_COMPAUTH_H

#include <stdbool.h>
#include <stddef.h>

#include "auth/arc.h"
#include "auth/dmarc.h"
#include "auth/spf.h"
#include "core/net.h"

struct orgdomain;

enum compauth_result {
	COMPAUTH_NONE,
	COMPAUTH_PASS,
	COMPAUTH_FAIL,
	COMPAUTH_SOFTPASS,
};

/* The reason codes this engine emits (docs/compauth.md). */
enum compauth_reason {
	COMPAUTH_R_EXPLICIT_FAIL = 0,       /* 000 DMARC fail, p=quarantine/reject */
	COMPAUTH_R_IMPLICIT_FAIL = 1,       /* 001 nothing aligned passes, no enforcing policy */
	COMPAUTH_R_ADMIN_BLOCK = 2,         /* 002 the admin blocked the spoof pair */
	COMPAUTH_R_FROM_UNUSABLE = 3,       /* 003 From missing, repeated or without a domain */
	COMPAUTH_R_EXPLICIT_FAIL_OURS = 10, /* 010 as 000, From is an accepted domain */
	COMPAUTH_R_DMARC_PASS = 100,        /* 100 DMARC pass */
	COMPAUTH_R_IMPLICIT_PASS = 109,     /* 109 no DMARC record, aligned SPF or DKIM pass */
	COMPAUTH_R_ARC_OVERRIDE = 130,      /* 130 a trusted ARC sealer saw DMARC pass */
	COMPAUTH_R_SOFT_PTR = 201,  /* 201 the client's PTR name is in the From org domain */
	COMPAUTH_R_SOFT_HELO = 202, /* 202 SPF passes for a HELO name in the From org domain */
	COMPAUTH_R_TEMPERROR = 301, /* 301 a DNS failure prevented a verdict */
	COMPAUTH_R_BYPASS_INTERNAL = 451,    /* 451 from our own organisation (trusted connector) */
	COMPAUTH_R_IMPLICIT_FAIL_OURS = 601, /* 601 as 001, From is an accepted domain */
	COMPAUTH_R_ADMIN_ALLOW = 701,        /* 701 the admin allowed the spoof pair */
	COMPAUTH_R_BYPASS_SKIPPED = 905,     /* 905 the admin skipped the check for this source */
};

/* Why the checks may be skipped (decided before authentication). */
enum compauth_bypass {
	COMPAUTH_BYPASS_NO,
	COMPAUTH_BYPASS_INTERNAL, /* 451: came in through a connector from our own servers */
	COMPAUTH_BYPASS_SKIPPED,  /* 905: a connector or rule says to skip it */
};

/* An admin entry: From domain (or "*" for any) and the sending
 * infrastructure: an IP prefix ("192.0.2.0/24", "2001:db8::/48", a bare
 * address) or a domain, matched at organisational level against the
 * forward-confirmed PTR name, a passing DKIM d= and a passing SPF domain. */
struct compauth_pair {
	const char *from_domain;
	const char *infrastructure;
};

/* One ARC set's sealer, and whether its ARC-Authentication-Results said
 * dmarc=pass for our From domain. */
struct compauth_sealer {
	const char *domain; /* the ARC-Seal's d= */
	unsigned instance;
	bool aar_dmarc_pass;
};

struct compauth_dmarc {
	enum dmarc_result result;
	bool has_record;               /* a usable record applied */
	enum dmarc_policy policy;      /* the published policy that applied (p, sp or np) */
	enum dmarc_policy disposition; /* after pct= and t= */
	bool sampled_out;              /* pct= or t=y lowered the policy */
};

struct compauth_input {
	const char *from_domain; /* normalised; NULL: the From field is unusable */
	struct net_addr ip;
	bool has_ip;
	enum spf_result spf;    /* MAIL FROM identity */
	const char *spf_domain; /* the domain it was for */
	enum spf_result spf_helo;
	const char *helo_domain; /* NULL when HELO was not checked */
	const struct dmarc_dkim *dkim;
	size_t ndkim;
	struct compauth_dmarc dmarc;
	const char *ptr_name; /* forward-confirmed PTR name of ip, or NULL */
	enum arc_result arc;
	const struct compauth_sealer *sealers;
	size_t nsealers;
	/* the admin's lists */
	const char *const *accepted_domains; /* each also covers its subdomains */
	size_t naccepted;
	const struct compauth_pair *allow, *block; /* block wins over allow */
	size_t nallow, nblock;
	const char *const *trusted_sealers; /* each also covers its subdomains */
	size_t ntrusted;
	enum compauth_bypass bypass;
	bool dmarc_no_reject;        /* p=reject fails are not rejected here: action=oreject */
	const struct orgdomain *psl; /* NULL: orgdomain_default() */
};

struct compauth_outcome {
	enum compauth_result result;
	unsigned reason;    /* enum compauth_reason */
	const char *why;    /* one line for logs and --json (static) */
	const char *dmarc;  /* the dmarc= result for Authentication-Results, e.g. "bestguesspass" */
	const char *action; /* EOP's action= value */
	bool from_accepted; /* the From domain is one of ours */
	const char *matched; /* the admin pair or trusted sealer that decided, or NULL */
};

/* compauth_eval - the verdict for in; never fails */
void compauth_eval(const struct compauth_input *in, struct compauth_outcome *out);

/* compauth_result_name - "none", "pass", "fail", "softpass" */
const char *compauth_result_name(enum compauth_result r);

/* compauth_domain_covered - name equals one of list[] or lies below it
 * (case-insensitive, a trailing dot ignored) */
bool compauth_domain_covered(const char *name, const char *const *list, size_t n);

#endif
