/*
 * stage_action - stage 10: the policy table that turns the verdict into
 * one action (deliver, junk, quarantine, reject, drop)
 *
 * The table is a pure function of the verdict and the policy so that it
 * can be tested case by case; the stage (stage_action.c) only applies it.
 * Order, as EOP combines its protections (first verdict wins):
 *   1. a decision already taken (reject or tempfail by an earlier stage)
 *   2. the client IP is on the IP allow list (IPV:CAL): SCL -1, SFV:SKN,
 *      deliver; spoof and DMARC actions do not apply (the admin vouched
 *      for that source, typically a forwarder that breaks DMARC)
 *   3. DMARC fail with p=reject honoured: dmarc_reject_action (reject
 *      with EOP's 550 5.7.509 text, quarantine or junk), CAT:SPOOF
 *   4. DMARC fail with p=quarantine honoured: dmarc_quarantine_action
 *   5. compauth=fail (spoof intelligence on): spoof_action (junk by
 *      default), CAT:SPOOF
 *   6. otherwise deliver with the SCL the classifiers left (1: NSPM)
 * Junk and quarantine by policy stamp SCL 5 and SFV:SPM, as EOP does
 * for spoof.  Every branch records its reasons.
 */
#ifndef SMEXOP_PIPELINE_STAGE_ACTION_H
#define SMEXOP_PIPELINE_STAGE_ACTION_H

#include <stdbool.h>

#include "pipeline/msg.h"

struct config_anti_phishing;

#define STAGE_ACTION_SCL_JUNK 5 /* SCL stamped by a policy that sends a message to junk */

struct stage_action_policy {
	bool honor_dmarc;
	enum msg_action dmarc_reject;     /* REJECT, QUARANTINE or JUNK */
	enum msg_action dmarc_quarantine; /* QUARANTINE or JUNK */
	bool spoof_intelligence;
	enum msg_action spoof; /* JUNK, QUARANTINE or DELIVER */
};

/* stage_action_policy_default - EOP's defaults (honour DMARC, spoof → junk) */
void stage_action_policy_default(struct stage_action_policy *p);
/* stage_action_policy_config - the policy the anti_phishing section describes */
void stage_action_policy_config(const struct config_anti_phishing *ap,
                                struct stage_action_policy *p);
/* stage_action_decide - set m->verdict's action, SCL, SFV, CAT, reasons
 * and reply per p */
void stage_action_decide(const struct stage_action_policy *p, struct msg *m);

#endif
