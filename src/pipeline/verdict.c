/*
 * verdict - SCL, BCL, CAT and the connection's refusal into one verdict
 * word, by EOP's precedence (see verdict.h for the table)
 */
#include <string.h>

#include "core/str.h"
#include "pipeline/verdict.h"

static const struct {
	const char *cat;
	enum verdict_class cls;
} verdict_cats[] = {
	{ "MALW", VERDICT_MALWARE }, { "AMP", VERDICT_MALWARE },   { "FTBP", VERDICT_MALWARE },
	{ "SAP", VERDICT_MALWARE },  { "HPHSH", VERDICT_HCPHISH }, { "PHSH", VERDICT_PHISH },
	{ "UIMP", VERDICT_PHISH },   { "DIMP", VERDICT_PHISH },    { "GIMP", VERDICT_PHISH },
	{ "BIMP", VERDICT_PHISH },   { "INTOS", VERDICT_PHISH },   { "HSPM", VERDICT_HCSPAM },
	{ "SPOOF", VERDICT_SPOOF },  { "SPM", VERDICT_SPAM },      { "OSPM", VERDICT_SPAM },
	{ "BULK", VERDICT_BULK },
};

const char *verdict_class_name(enum verdict_class c)
{
	static const char *const names[] = { "clean", "bulk",    "spam",  "hcspam",
		                             "phish", "hcphish", "spoof", "malware" };

	return (unsigned)c < sizeof(names) / sizeof(names[0]) ? names[c] : "clean";
}

int verdict_cat_class(const char *cat)
{
	size_t i;

	if (cat == NULL)
		return -1;
	for (i = 0; i < sizeof(verdict_cats) / sizeof(verdict_cats[0]); i++)
		if (str_casecmp(cat, verdict_cats[i].cat) == 0)
			return (int)verdict_cats[i].cls;
	return -1;
}

void verdict_summarize(const struct msg *m, struct verdict_summary *out)
{
	const struct msg_verdict *v = &m->verdict;
	int cls;

	out->scl = v->scl;
	out->bcl = v->bcl;
	out->cat = v->cat != NULL ? v->cat : "NONE";
	if (m->conn != NULL && m->conn->ip_blocked) {
		out->cls = VERDICT_HCSPAM;
		out->scl = VERDICT_SCL_BLOCKED;
		out->cat = "HSPM";
		out->rule = "ip_blocked";
		return;
	}
	cls = verdict_cat_class(out->cat);
	if (cls >= 0) {
		out->cls = (enum verdict_class)cls;
		out->rule = "cat";
	} else if (v->scl >= VERDICT_SCL_HCSPAM) {
		out->cls = VERDICT_HCSPAM;
		out->rule = "scl";
	} else if (v->scl >= VERDICT_SCL_SPAM) {
		out->cls = VERDICT_SPAM;
		out->rule = "scl";
	} else if (v->bcl >= VERDICT_BCL_THRESHOLD) {
		out->cls = VERDICT_BULK;
		out->rule = "bcl";
	} else {
		out->cls = VERDICT_CLEAN;
		out->rule = "clean";
	}
}
