/*
 * compauth - composite authentication (see compauth.h and docs/compauth.md)
 *
 * The order of the decision, each step only reached when the ones before
 * it did not decide:
 *
 *   1. bypass (451, 905): the checks do not apply;
 *   2. no usable From domain: fail 003;
 *   3. the authentication verdict: DMARC pass 100; DMARC fail under
 *      p=quarantine/reject 000 (010 for our domains); DMARC temperror
 *      301; otherwise (no record, unusable record, p=none): aligned pass
 *      without a record 109, a DNS failure 301, softpass by PTR 201 or by
 *      HELO 202, else implicit fail 001 (601 for our domains);
 *   4. unless that passed (100, 109): an admin block 002, an admin allow
 *      701, and for a fail a trusted ARC sealer that saw DMARC pass 130.
 */
#include <string.h>

#include "auth/compauth.h"
#include "core/orgdomain.h"
#include "core/str.h"

const char *compauth_result_name(enum compauth_result r)
{
	switch (r) {
	case COMPAUTH_PASS:
		return "pass";
	case COMPAUTH_FAIL:
		return "fail";
	case COMPAUTH_SOFTPASS:
		return "softpass";
	case COMPAUTH_NONE:
		break;
	}
	return "none";
}

/* name_len - length without one trailing dot */
static size_t name_len(const char *s)
{
	size_t n = strlen(s);

	return n > 0 && s[n - 1] == '.' ? n - 1 : n;
}

/* covered - name equals parent or lies below it */
static bool covered(const char *name, const char *parent)
{
	size_t n = name_len(name), p = name_len(parent);

	if (p == 0 || n < p)
		return false;
	if (!str_case_eq_n(name + n - p, p, parent, p))
		return false;
	return n == p || name[n - p - 1] == '.';
}

bool compauth_domain_covered(const char *name, const char *const *list, size_t n)
{
	size_t i;

	if (name == NULL)
		return false;
	for (i = 0; i < n; i++)
		if (list[i] != NULL && covered(name, list[i]))
			return true;
	return false;
}

static bool org_same(const struct compauth_input *in, const char *a, const char *b)
{
	if (a == NULL || b == NULL || *a == '\0' || *b == '\0')
		return false;
	return orgdomain_same(in->psl != NULL ? in->psl : orgdomain_default(), a, b);
}

/* aligned_pass - SPF or some DKIM signature passes for a domain in the
 * From domain's organisational domain (relaxed alignment) */
static bool aligned_pass(const struct compauth_input *in)
{
	size_t i;

	if (in->spf == SPF_PASS && org_same(in, in->from_domain, in->spf_domain))
		return true;
	for (i = 0; i < in->ndkim; i++)
		if (in->dkim[i].result == DKIM_PASS &&
		    org_same(in, in->from_domain, in->dkim[i].domain))
			return true;
	return false;
}

static bool any_temperror(const struct compauth_input *in)
{
	size_t i;

	if (in->spf == SPF_TEMPERROR)
		return true;
	for (i = 0; i < in->ndkim; i++)
		if (in->dkim[i].result == DKIM_TEMPERROR)
			return true;
	return false;
}

/* prefix_match - infra is an address or prefix that contains ip; -1
 * when infra is not an address at all */
static int prefix_match(const struct compauth_input *in, const char *infra)
{
	const char *slash = strchr(infra, '/');
	size_t alen = slash != NULL ? (size_t)(slash - infra) : strlen(infra);
	struct net_addr net;
	uint64_t bits;

	if (net_addr_parse_n(infra, alen, &net) < 0)
		return -1;
	bits = net_addr_bits(&net);
	if (slash != NULL && str_to_u64(slash + 1, strlen(slash + 1), 0, bits, &bits) < 0)
		return 0;
	if (!in->has_ip || in->ip.family != net.family)
		return 0;
	return net_addr_match(&in->ip, &net, (unsigned)bits) ? 1 : 0;
}

/* infra_match - the message came from the sending infrastructure infra */
static bool infra_match(const struct compauth_input *in, const char *infra)
{
	size_t i;
	int m;

	if (infra == NULL || *infra == '\0')
		return false;
	m = prefix_match(in, infra);
	if (m >= 0)
		return m == 1;
	if (in->ptr_name != NULL && org_same(in, in->ptr_name, infra))
		return true;
	if (in->spf == SPF_PASS && org_same(in, in->spf_domain, infra))
		return true;
	for (i = 0; i < in->ndkim; i++)
		if (in->dkim[i].result == DKIM_PASS && org_same(in, in->dkim[i].domain, infra))
			return true;
	return false;
}

/* pair_find - the first pair matching the From domain and the source */
static const struct compauth_pair *pair_find(const struct compauth_input *in,
                                             const struct compauth_pair *pairs, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		const char *d = pairs[i].from_domain;

		if (d == NULL)
			continue;
		if (strcmp(d, "*") != 0 &&
		    !str_case_eq_n(d, name_len(d), in->from_domain, name_len(in->from_domain)))
			continue;
		if (infra_match(in, pairs[i].infrastructure))
			return &pairs[i];
	}
	return NULL;
}

/* trusted_sealer - a set of the passing chain sealed by a trusted
 * sealer whose AAR says DMARC passed */
static const struct compauth_sealer *trusted_sealer(const struct compauth_input *in)
{
	size_t i;

	if (in->arc != ARC_PASS)
		return NULL;
	for (i = 0; i < in->nsealers; i++) {
		const struct compauth_sealer *s = &in->sealers[i];

		if (s->aar_dmarc_pass &&
		    compauth_domain_covered(s->domain, in->trusted_sealers, in->ntrusted))
			return s;
	}
	return NULL;
}

/* dmarc_action - EOP's action= for the DMARC outcome alone */
static const char *dmarc_action(const struct compauth_input *in)
{
	const struct compauth_dmarc *d = &in->dmarc;

	switch (d->result) {
	case DMARC_RESULT_TEMPERROR:
		return "temperror";
	case DMARC_RESULT_PERMERROR:
		return "permerror";
	case DMARC_RESULT_FAIL:
		break;
	default:
		return "none";
	}
	switch (d->policy) {
	case DMARC_POLICY_QUARANTINE:
		return d->sampled_out ? "pct.quarantine" : "quarantine";
	case DMARC_POLICY_REJECT:
		if (d->sampled_out)
			return "pct.reject";
		return in->dmarc_no_reject ? "oreject" : "reject";
	case DMARC_POLICY_NONE:
		break;
	}
	return "none";
}

static void set(struct compauth_outcome *out, enum compauth_result r, enum compauth_reason reason,
                const char *why)
{
	out->result = r;
	out->reason = reason;
	out->why = why;
}

/* verdict - step 3: what authentication alone says */
static void verdict(const struct compauth_input *in, struct compauth_outcome *out)
{
	const struct compauth_dmarc *d = &in->dmarc;
	bool ours = out->from_accepted;

	if (d->result == DMARC_RESULT_PASS) {
		set(out, COMPAUTH_PASS, COMPAUTH_R_DMARC_PASS, "DMARC pass");
		return;
	}
	if (d->result == DMARC_RESULT_FAIL && d->has_record && d->policy != DMARC_POLICY_NONE) {
		if (ours)
			set(out, COMPAUTH_FAIL, COMPAUTH_R_EXPLICIT_FAIL_OURS,
			    "DMARC fail under p=quarantine/reject; From is an accepted domain");
		else
			set(out, COMPAUTH_FAIL, COMPAUTH_R_EXPLICIT_FAIL,
			    "DMARC fail under p=quarantine/reject");
		return;
	}
	if (d->result == DMARC_RESULT_TEMPERROR) {
		set(out, COMPAUTH_NONE, COMPAUTH_R_TEMPERROR,
		    "not checked: the DMARC record lookup failed");
		return;
	}
	/* no record, an unusable one, or p=none: EOP's implicit authentication */
	if (d->result != DMARC_RESULT_FAIL && aligned_pass(in)) {
		set(out, COMPAUTH_PASS, COMPAUTH_R_IMPLICIT_PASS,
		    "no DMARC record; SPF or DKIM passes aligned with From");
		return;
	}
	if (!aligned_pass(in) && any_temperror(in)) {
		set(out, COMPAUTH_NONE, COMPAUTH_R_TEMPERROR,
		    "not checked: an SPF or DKIM lookup failed and nothing aligned passes");
		return;
	}
	if (in->ptr_name != NULL && org_same(in, in->from_domain, in->ptr_name)) {
		set(out, COMPAUTH_SOFTPASS, COMPAUTH_R_SOFT_PTR,
		    "the client's forward-confirmed PTR name is in the From organisational domain");
		return;
	}
	if (in->helo_domain != NULL && in->spf_helo == SPF_PASS &&
	    org_same(in, in->from_domain, in->helo_domain)) {
		set(out, COMPAUTH_SOFTPASS, COMPAUTH_R_SOFT_HELO,
		    "SPF passes for a HELO name in the From organisational domain");
		return;
	}
	if (ours)
		set(out, COMPAUTH_FAIL, COMPAUTH_R_IMPLICIT_FAIL_OURS,
		    "nothing aligned with From passes and From is an accepted domain (intra-org "
		    "spoof)");
	else
		set(out, COMPAUTH_FAIL, COMPAUTH_R_IMPLICIT_FAIL,
		    "nothing aligned with From passes (no enforcing DMARC policy)");
}

void compauth_eval(const struct compauth_input *in, struct compauth_outcome *out)
{
	const struct compauth_pair *pair;
	const struct compauth_sealer *sealer;

	memset(out, 0, sizeof(*out));
	out->action = dmarc_action(in);
	out->dmarc = dmarc_result_name(in->dmarc.result);
	if (in->bypass == COMPAUTH_BYPASS_INTERNAL) {
		set(out, COMPAUTH_NONE, COMPAUTH_R_BYPASS_INTERNAL,
		    "bypassed: received from our own organisation");
		return;
	}
	if (in->bypass == COMPAUTH_BYPASS_SKIPPED) {
		set(out, COMPAUTH_NONE, COMPAUTH_R_BYPASS_SKIPPED,
		    "bypassed: the admin skips the check for this source");
		return;
	}
	if (in->from_domain == NULL || *in->from_domain == '\0') {
		set(out, COMPAUTH_FAIL, COMPAUTH_R_FROM_UNUSABLE,
		    "the From field is missing, repeated or has no usable domain");
		return;
	}
	out->from_accepted =
	    compauth_domain_covered(in->from_domain, in->accepted_domains, in->naccepted);
	if (in->dmarc.result == DMARC_RESULT_NONE && aligned_pass(in))
		out->dmarc = "bestguesspass";
	verdict(in, out);
	if (out->result == COMPAUTH_PASS)
		return;
	if ((pair = pair_find(in, in->block, in->nblock)) != NULL) {
		set(out, COMPAUTH_FAIL, COMPAUTH_R_ADMIN_BLOCK,
		    "the admin blocked this From domain from this sending infrastructure");
		out->matched = pair->infrastructure;
		return;
	}
	if ((pair = pair_find(in, in->allow, in->nallow)) != NULL) {
		set(out, COMPAUTH_PASS, COMPAUTH_R_ADMIN_ALLOW,
		    "the admin allowed this From domain from this sending infrastructure");
		out->matched = pair->infrastructure;
	} else if (out->result == COMPAUTH_FAIL && (sealer = trusted_sealer(in)) != NULL) {
		set(out, COMPAUTH_PASS, COMPAUTH_R_ARC_OVERRIDE,
		    "a trusted ARC sealer saw DMARC pass before the message was changed");
		out->matched = sealer->domain;
	} else {
		return;
	}
	/* an override keeps the message: a reject it lifts is EOP's "oreject" */
	if (strcmp(out->action, "reject") == 0 || strcmp(out->action, "pct.reject") == 0)
		out->action = "oreject";
	else if (strcmp(out->action, "quarantine") == 0 ||
	         strcmp(out->action, "pct.quarantine") == 0)
		out->action = "none";
}
