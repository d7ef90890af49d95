/*
 * stage_action - stage 10: policies → action (see stage_action.h for the
 * table); the stage keeps the policy of the configuration generation
 */
#include <stdio.h>
#include <stdlib.h>

#include "auth/dmarc_record.h"
#include "core/arena.h"
#include "core/config.h"
#include "core/log.h"
#include "pipeline/headers.h"
#include "pipeline/stage.h"
#include "pipeline/stage_action.h"

void stage_action_policy_default(struct stage_action_policy *p)
{
	p->honor_dmarc = true;
	p->dmarc_reject = MSG_ACTION_REJECT;
	p->dmarc_quarantine = MSG_ACTION_QUARANTINE;
	p->spoof_intelligence = true;
	p->spoof = MSG_ACTION_JUNK;
}

void stage_action_policy_config(const struct config_anti_phishing *ap,
                                struct stage_action_policy *p)
{
	static const enum msg_action reject[] = { MSG_ACTION_REJECT, MSG_ACTION_QUARANTINE,
		                                  MSG_ACTION_JUNK };
	static const enum msg_action quarantine[] = { MSG_ACTION_QUARANTINE, MSG_ACTION_JUNK };
	static const enum msg_action spoof[] = { MSG_ACTION_JUNK, MSG_ACTION_QUARANTINE,
		                                 MSG_ACTION_DELIVER };

	stage_action_policy_default(p);
	if (ap == NULL)
		return;
	p->honor_dmarc = ap->honor_dmarc_policy;
	if ((unsigned)ap->dmarc_reject_action < 3)
		p->dmarc_reject = reject[ap->dmarc_reject_action];
	if ((unsigned)ap->dmarc_quarantine_action < 2)
		p->dmarc_quarantine = quarantine[ap->dmarc_quarantine_action];
	p->spoof_intelligence = ap->spoof_intelligence;
	if ((unsigned)ap->spoof_action < 3)
		p->spoof = spoof[ap->spoof_action];
}

/* stage_action_apply - take action a for a spoof-category verdict */
static void stage_action_apply(struct msg *m, enum msg_action a, const char *why)
{
	struct msg_verdict *v = &m->verdict;

	v->action = a;
	v->action_why = why;
	v->cat = "SPOOF";
	if (a == MSG_ACTION_JUNK || a == MSG_ACTION_QUARANTINE || a == MSG_ACTION_REJECT) {
		if (v->scl < STAGE_ACTION_SCL_JUNK)
			v->scl = STAGE_ACTION_SCL_JUNK;
		v->sfv = MSG_SFV_SPM;
	}
}

void stage_action_decide(const struct stage_action_policy *p, struct msg *m)
{
	struct msg_verdict *v = &m->verdict;
	bool dmarc_reject = v->dmarc_fail && v->dmarc_disposition == DMARC_POLICY_REJECT;
	bool dmarc_quar = v->dmarc_fail && v->dmarc_disposition == DMARC_POLICY_QUARANTINE;

	if (v->action == MSG_ACTION_REJECT || v->action == MSG_ACTION_TEMPFAIL)
		return;
	if (m->conn->trusted) {
		/* EOP treats mail from a trusted (on-premises) connector as the
		 * organisation's own: no spam or spoof action */
		v->scl = -1;
		v->sfv = MSG_SFV_SKN;
		v->action = MSG_ACTION_DELIVER;
		v->action_why = "trusted_connector";
		msg_reason_add(m, "TRUSTED_CONNECTOR", 0);
		return;
	}
	if (m->conn->ipv == MSG_IPV_CAL) {
		v->scl = -1;
		v->sfv = MSG_SFV_SKN;
		v->action = MSG_ACTION_DELIVER;
		v->action_why = "ip_allow_list";
		msg_reason_add(m, "IP_ALLOW", 0);
		if (dmarc_reject || dmarc_quar || v->compauth_fail)
			msg_reason_add(m, "AUTH_FAIL_ALLOWED", 0);
		return;
	}
	if (p->honor_dmarc && dmarc_reject) {
		msg_reason_add(m, "DMARC_REJECT", 0);
		stage_action_apply(m, p->dmarc_reject, "dmarc_reject_action");
		if (p->dmarc_reject == MSG_ACTION_REJECT) {
			char text[400];

			snprintf(text, sizeof(text),
			         "Access denied, sending domain [%s] does not pass DMARC "
			         "verification and has a DMARC policy of reject.",
			         v->dmarc_domain != NULL ? v->dmarc_domain : "");
			msg_set_reply(m, 550, "5.7.509", text);
		}
		return;
	}
	if (p->honor_dmarc && dmarc_quar) {
		msg_reason_add(m, "DMARC_QUARANTINE", 0);
		stage_action_apply(m, p->dmarc_quarantine, "dmarc_quarantine_action");
		return;
	}
	if (p->spoof_intelligence && v->compauth_fail) {
		msg_reason_add(m, "SPOOF", 0);
		stage_action_apply(m, p->spoof, "spoof_action");
		return;
	}
	v->action = MSG_ACTION_DELIVER;
	v->action_why = "default";
}

static int stage_action_init(const struct pipeline_env *env, void **state, struct sx_err *err)
{
	struct stage_action_policy *p = calloc(1, sizeof(*p));

	if (p == NULL) {
		sx_err_set(err, "action stage: out of memory");
		return -1;
	}
	stage_action_policy_config(env->cfg != NULL ? &env->cfg->anti_phishing : NULL, p);
	*state = p;
	return 0;
}

static void stage_action_deinit(void *state)
{
	free(state);
}

static size_t stage_action_mem_used(const struct stage *st)
{
	(void)st;
	return sizeof(struct stage_action_policy);
}

static enum stage_result stage_action_run(struct stage *st, struct msg *m, enum stage_event ev)
{
	const struct smexop_config *cfg = st->env->cfg;
	struct headers_opts o = { "localhost", "localhost" };

	(void)ev;
	stage_action_decide(st->state, m);
	if (m->verdict.action == MSG_ACTION_REJECT)
		return STAGE_DONE;
	/* the verdict is final: stamp it into the message that goes on */
	if (cfg != NULL) {
		o.hostname = cfg->server.hostname;
		o.authserv_id = cfg->server.authserv_id;
	}
	return headers_build(m, &o) == 0 ? STAGE_CONTINUE : STAGE_ERROR;
}

const struct stage_ops stage_action_ops = {
	.name = "action",
	.events = STAGE_EV_EOM,
	.init = stage_action_init,
	.deinit = stage_action_deinit,
	.run = stage_action_run,
	.mem_used = stage_action_mem_used,
};
