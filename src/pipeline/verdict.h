/*
 * verdict - the one word a message's verdict comes down to (clean, bulk,
 * spam, hcspam, phish, hcphish, spoof, malware), EOP's way
 *
 * SUMMARY
 *	struct verdict_summary s;
 *	verdict_summarize(m, &s);   ... s.cls, s.scl, s.bcl, s.cat, s.rule ...
 *
 * DESCRIPTION
 *	The stages write SCL, BCL and CAT into m->verdict; this table reads
 *	them, and the connection data, and names the verdict as EOP's
 *	anti-spam and anti-phishing policies do (Spam, HCSpam, Phish,
 *	HCPhish, Bulk, plus spoof and malware).  It is the only place that
 *	does: `smexop scan`, the trace and the reports use it, and each new
 *	classifier (anti-malware, anti-spam, impersonation) extends it by
 *	writing its CAT and SCL, not by adding a mapping of its own.
 *
 *	In order, the first rule that matches wins (EOP's precedence):
 *	  1. the client IP was refused before the greeting (IP block list,
 *	     reputation block list, DNSBL): hcspam, SCL 9, CAT:HSPM.  EOP
 *	     counts these as "edge protection" and never filters their
 *	     content; the verdict a refused source stands for is high
 *	     confidence spam.
 *	  2. CAT, by EOP's category table:
 *	       MALW, AMP, FTBP, SAP      malware
 *	       HPHSH                     hcphish
 *	       PHSH, UIMP, DIMP, GIMP,
 *	       BIMP, INTOS               phish
 *	       HSPM                      hcspam
 *	       SPOOF                     spoof
 *	       SPM, OSPM                 spam
 *	       BULK                      bulk
 *	  3. the SCL alone: 7-9 hcspam, 5-6 spam (a rule or a classifier that
 *	     set no category)
 *	  4. BCL at or over VERDICT_BCL_THRESHOLD (EOP's default 7): bulk
 *	  5. clean (SCL -1..1, including the IP allow list's -1)
 *	A message refused for its envelope (no recipient exists) or its size
 *	keeps the verdict its content got: the action says it was refused.
 */
#ifndef SMEXOP_PIPELINE_VERDICT_H
#define SMEXOP_PIPELINE_VERDICT_H

#include "pipeline/msg.h"

#define VERDICT_BCL_THRESHOLD 7 /* EOP's default bulk threshold */
#define VERDICT_SCL_SPAM      5
#define VERDICT_SCL_HCSPAM    7
#define VERDICT_SCL_BLOCKED   9

enum verdict_class {
	VERDICT_CLEAN,
	VERDICT_BULK,
	VERDICT_SPAM,
	VERDICT_HCSPAM,
	VERDICT_PHISH,
	VERDICT_HCPHISH,
	VERDICT_SPOOF,
	VERDICT_MALWARE,
};

struct verdict_summary {
	enum verdict_class cls;
	int scl; /* as stamped, except rule 1 */
	int bcl;
	const char *cat;  /* CAT as stamped, except rule 1 ("NONE" when none) */
	const char *rule; /* which rule decided: "ip_blocked", "cat", "scl", "bcl", "clean" */
};

/* verdict_summarize - the verdict of m (after its EOM run) */
void verdict_summarize(const struct msg *m, struct verdict_summary *out);
/* verdict_class_name - "clean", "bulk", "spam", "hcspam", "phish", "hcphish", "spoof", "malware" */
const char *verdict_class_name(enum verdict_class c);
/* verdict_cat_class - the class of an EOP category; -1 when cat is none or unknown */
int verdict_cat_class(const char *cat);

#endif
