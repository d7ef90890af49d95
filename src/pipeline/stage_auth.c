/*
 * stage_auth - stage 4: email authentication (SPF, DKIM, ARC, DMARC, PTR,
 * composite authentication) through auth/authcheck
 *
 * Feeds authcheck from the message context (client IP, HELO, MAIL FROM,
 * the raw message) and the configuration (authserv-id, SPF limits,
 * whether a DMARC p=reject is honoured here), suspends while the lookups
 * run, and writes the results back: the authcheck result for the header
 * writer and the trace, and compauth and DMARC in the verdict for the
 * action stage.  It decides nothing itself.
 */
#include <stdlib.h>
#include <string.h>

#include "auth/authcheck.h"
#include "auth/dmarc_record.h"
#include "auth/spf.h"
#include "core/arena.h"
#include "core/config.h"
#include "core/log.h"
#include "pipeline/stage.h"

struct stage_auth_state {
	struct spf_limits spf;
	bool no_reject; /* p=reject is not rejected here: Authentication-Results say oreject */
};

struct stage_auth_msg {
	struct stage_auth_state *state;
	struct authcheck *check;
	struct authcheck_options opts;
	struct authcheck_input in;
	const struct authcheck_result *result;
	struct msg *m;
	bool done;
};

static int stage_auth_init(const struct pipeline_env *env, void **state, struct sx_err *err)
{
	const struct smexop_config *cfg = env->cfg;
	struct stage_auth_state *s;

	s = calloc(1, sizeof(*s));
	if (s == NULL) {
		sx_err_set(err, "auth stage: out of memory");
		return -1;
	}
	spf_limits_default(&s->spf);
	if (cfg != NULL) {
		const struct config_anti_phishing *ap = &cfg->anti_phishing;

		s->spf.dns_terms = (unsigned)cfg->spf.max_dns_terms;
		s->spf.void_lookups = (unsigned)cfg->spf.max_void_lookups;
		s->spf.mx_names = (unsigned)cfg->spf.max_mx_names;
		s->spf.ptr_names = (unsigned)cfg->spf.max_ptr_names;
		s->spf.queries = (unsigned)cfg->spf.max_queries;
		s->spf.timeout_ms = (unsigned)cfg->spf.timeout_ms;
		s->no_reject =
		    !ap->honor_dmarc_policy || ap->dmarc_reject_action != CONFIG_AP_REJECT_REJECT;
	}
	*state = s;
	return 0;
}

static void stage_auth_deinit(void *state)
{
	free(state);
}

static size_t stage_auth_mem_used(const struct stage *st)
{
	(void)st;
	return sizeof(struct stage_auth_state);
}

static void stage_auth_done(const struct authcheck_result *r, void *arg)
{
	struct stage_auth_msg *am = arg;

	am->result = r;
	am->check = NULL;
	am->done = true;
	runner_resume(am->m);
}

/* stage_auth_verdict - write the results into m */
static void stage_auth_verdict(struct msg *m, const struct authcheck_result *r)
{
	struct msg_verdict *v = &m->verdict;

	m->auth = r;
	/* a forward-confirmed name found here is the connection's from now on
	 * (the report's PTR field, Received, later messages of the session) */
	if (m->conn->ptr == NULL && r->ptr.status == AUTHCHECK_PTR_PASS && r->ptr.name != NULL)
		m->conn->ptr = arena_strdup(m->conn->arena, r->ptr.name);
	v->compauth = compauth_result_name(r->compauth.result);
	v->compauth_reason = r->compauth.reason;
	v->compauth_fail = r->compauth.result == COMPAUTH_FAIL;
	v->dmarc = r->compauth.dmarc;
	if (r->dmarc != NULL) {
		v->dmarc_domain = r->dmarc->from_domain;
		v->dmarc_fail = r->dmarc->result == DMARC_RESULT_FAIL;
		v->dmarc_disposition = (int)r->dmarc->disposition;
		v->dmarc_policy = dmarc_policy_name(r->dmarc->disposition);
	}
}

static enum stage_result stage_auth_run(struct stage *st, struct msg *m, enum stage_event ev)
{
	struct stage_auth_state *s = st->state;
	void **slot = stage_slot(st, m);
	struct stage_auth_msg *am = *slot;
	const struct smexop_config *cfg = st->env->cfg;

	(void)ev;
	if (m->conn->trusted)
		return STAGE_CONTINUE; /* a trusted connector's mail: no inbound verdicts */
	if (am != NULL && am->done) {
		stage_auth_verdict(m, am->result);
		return STAGE_CONTINUE;
	}
	if (am != NULL)
		return STAGE_SUSPEND; /* still waiting (a spurious resume) */
	if (!m->raw_ok || st->env->dns == NULL || st->env->base == NULL)
		return STAGE_ERROR;
	am = arena_zalloc(m->arena, sizeof(*am));
	if (am == NULL)
		return STAGE_ERROR;
	am->state = s;
	am->m = m;
	authcheck_options_init(&am->opts, pipeline_now(st->env));
	am->opts.authserv_id = cfg != NULL ? cfg->server.authserv_id : "localhost";
	am->opts.spf_limits = &s->spf;
	am->opts.dmarc_no_reject = s->no_reject;
	am->in.ip = m->conn->ip;
	am->in.helo = m->conn->helo;
	am->in.mail_from = m->sender;
	am->in.msg = &m->raw;
	am->in.opts = &am->opts;
	*slot = am;
	am->check =
	    authcheck_start(st->env->dns, st->env->base, m->arena, &am->in, stage_auth_done, am);
	if (am->check == NULL) {
		*slot = NULL;
		return STAGE_ERROR;
	}
	return STAGE_SUSPEND;
}

static void stage_auth_clear(struct stage *st, struct msg *m)
{
	void **slot = stage_slot(st, m);
	struct stage_auth_msg *am = *slot;

	if (am != NULL && am->check != NULL)
		authcheck_cancel(am->check);
	*slot = NULL;
}

const struct stage_ops stage_auth_ops = {
	.name = "auth",
	.events = STAGE_EV_EOM,
	.init = stage_auth_init,
	.deinit = stage_auth_deinit,
	.run = stage_auth_run,
	.clear = stage_auth_clear,
	.mem_used = stage_auth_mem_used,
};
