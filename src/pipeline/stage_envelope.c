/*
 * stage_envelope - stage 2: relay rights, accepted domains and Directory
 * Based Edge Blocking, once per RCPT TO
 *
 * Feeds filter/directory's edge check with the recipient, the accepted
 * domains and the directory of the configuration generation, and writes
 * the recipient's status and reply back:
 *     550 5.4.1 Recipient address rejected: Access denied   (unknown, DBEB)
 *     550 5.7.1 Relaying denied                              (not our domain)
 *     451 4.3.0 Directory lookup failed, try again later     (backend down)
 * Relay rights: nobody has them yet.  They come with the outbound
 * connectors (mail from the organisation's own servers); until then the
 * gateway takes mail for its accepted domains only, never an open relay.
 */
#include <stdlib.h>

#include "core/config.h"
#include "core/log.h"
#include "filter/directory.h"
#include "filter/domains.h"
#include "pipeline/stage.h"

struct stage_envelope_state {
	struct domains *domains;
	struct directory *dir; /* NULL: no directory, no edge blocking */
};

static int stage_envelope_init(const struct pipeline_env *env, void **state, struct sx_err *err)
{
	struct stage_envelope_state *s = calloc(1, sizeof(*s));

	if (s == NULL) {
		sx_err_set(err, "envelope stage: out of memory");
		return -1;
	}
	if (env->cfg != NULL) {
		s->domains = domains_from_config(env->cfg, err);
		if (s->domains != NULL) {
			err->msg[0] = '\0';
			s->dir = directory_from_config(&env->cfg->directory, err);
			if (s->dir == NULL && err->msg[0] != '\0')
				s->domains = domains_free(s->domains);
		}
	} else {
		s->domains = domains_new();
		if (s->domains == NULL)
			sx_err_set(err, "envelope stage: out of memory");
	}
	if (s->domains == NULL) {
		free(s);
		return -1;
	}
	*state = s;
	return 0;
}

static void stage_envelope_deinit(void *state)
{
	struct stage_envelope_state *s = state;

	if (s == NULL)
		return;
	domains_free(s->domains);
	directory_free(s->dir);
	free(s);
}

/* stage_envelope_mem_used - the stage's own state; the domain set and the
 * directory have no memory accounting of their own yet */
static size_t stage_envelope_mem_used(const struct stage *st)
{
	const struct stage_envelope_state *s = st->state;

	return sizeof(*s) + domains_count(s->domains) * sizeof(struct accepted_domain);
}

static enum stage_result stage_envelope_run(struct stage *st, struct msg *m, enum stage_event ev)
{
	struct stage_envelope_state *s = st->state;
	struct msg_rcpt *rc;
	struct edge_result r;

	(void)ev;
	if (m->nrcpts == 0)
		return STAGE_ERROR;
	rc = &m->rcpts[m->nrcpts - 1];
	directory_edge_check(s->domains, s->dir, rc->addr, false, &r);
	rc->why = edge_reason_name(r.reason);
	switch (r.verdict) {
	case EDGE_ACCEPT:
		rc->status = MSG_RCPT_ACCEPTED;
		return STAGE_CONTINUE;
	case EDGE_REJECT:
		msg_reply_parse(m->arena, r.reply, &rc->reply);
		rc->status = rc->reply.code >= 500 ? MSG_RCPT_REJECTED : MSG_RCPT_DEFERRED;
		return STAGE_DONE;
	case EDGE_TEMPFAIL:
		msg_reply_parse(m->arena, r.reply, &rc->reply);
		if (rc->reply.code >= 500) { /* a temporary failure is never a 5xx */
			rc->reply.code = 451;
			rc->reply.enhanced = "4.3.0";
		}
		rc->status = MSG_RCPT_DEFERRED;
		return STAGE_DONE;
	}
	return STAGE_ERROR;
}

const struct stage_ops stage_envelope_ops = {
	.name = "envelope",
	.events = STAGE_EV_RCPT,
	.repeat = true,
	.init = stage_envelope_init,
	.deinit = stage_envelope_deinit,
	.run = stage_envelope_run,
	.mem_used = stage_envelope_mem_used,
};
