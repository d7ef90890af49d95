/*
 * stage_connection - stage 1: the connection filter and the reputation
 * block, before the greeting
 *
 * Feeds filter/connection (IP allow, safe and block lists, per-IP
 * limits) with the client address and writes the outcome into the
 * connection data: IPV:CAL for allowed sources (spam filtering skipped),
 * or a refusal with the engine's reply.  A client that passes is then
 * checked against the reputation block (the local list and DNSBL zones,
 * filter/dnsbl), which refuses with EOP's
 *     550 5.7.606 Access denied, banned sending IP [IP]
 *
 * The per-IP connection count taken here is given back when the
 * connection arena is freed (a cleanup on it), so a session that ends in
 * any way releases its slot.  Allowed sources skip the reputation block.
 *
 * Inbound connectors (filter/connector): one matched by IP is known here
 * at connect, one matched by a client certificate at the TLS event
 * (after STARTTLS, if none matched at connect).  The match is written
 * into the connection data (name, require_tls, trusted, relay) for the
 * later stages and the gateway.  A trusted connector matched at connect
 * skips the connection filter and the reputation block, as EOP does for
 * on-premises mail; one matched by certificate comes too late for that
 * (the client already passed them).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/util.h>

#include "core/arena.h"
#include "core/config.h"
#include "core/log.h"
#include "filter/connection.h"
#include "filter/connector.h"
#include "filter/dnsbl.h"
#include "pipeline/stage.h"

#define STAGE_CONNECTION_KEYS 100000 /* client addresses counted at once */

struct stage_connection_state {
	struct conn_filter *filter;
	struct dnsbl_policy *rep; /* reputation block: local list and DNSBL zones */
	bool rep_active;          /* it has a zone or a local entry to look at */
	struct conn_tracker *tracker;
	struct conn_counter counter;
	struct connectors *connectors;
};

/* the reputation check of one connection (in the message's arena) */
struct stage_connection_rep {
	struct dnsbl_check *check;
	const struct dnsbl_outcome *outcome;
	struct msg *m;
	bool done;
};

/* a counted connection, released with the connection arena */
struct stage_connection_slot {
	const struct conn_filter *filter;
	struct net_addr ip;
	struct conn_result res;
};

static void stage_connection_warn(void *arg, const struct sx_err *w)
{
	char line[600];

	(void)arg;
	log_warn("config connection_filter warning=\"%s\"", sx_err_format(w, line, sizeof(line)));
}

static int stage_connection_init(const struct pipeline_env *env, void **state, struct sx_err *err)
{
	const struct smexop_config *cfg = env->cfg;
	struct stage_connection_state *s = calloc(1, sizeof(*s));

	if (s == NULL) {
		sx_err_set(err, "connection stage: out of memory");
		return -1;
	}
	if (cfg != NULL)
		s->filter = conn_filter_from_config(&cfg->connection_filter, stage_connection_warn,
		                                    NULL, err);
	else if ((s->filter = conn_filter_new()) != NULL && conn_filter_build(s->filter) < 0)
		s->filter = conn_filter_free(s->filter);
	if (s->filter == NULL) {
		if (cfg == NULL)
			sx_err_set(err, "connection stage: out of memory");
		free(s);
		return -1;
	}
	if (cfg != NULL) {
		const struct dnsbl_zone *zones;

		s->rep =
		    dnsbl_policy_from_config(&cfg->reputation, stage_connection_warn, NULL, err);
		if (s->rep == NULL) {
			conn_filter_free(s->filter);
			free(s);
			return -1;
		}
		s->rep_active = dnsbl_policy_zones(s->rep, &zones) > 0 ||
		                iplist_count(dnsbl_policy_block(s->rep)) > 0;
	}
	s->connectors = connectors_from_config(cfg, stage_connection_warn, NULL, err);
	if (s->connectors == NULL) {
		conn_filter_free(s->filter);
		dnsbl_policy_free(s->rep);
		free(s);
		return -1;
	}
	if (cfg != NULL && (cfg->connection_filter.max_connections_per_ip > 0 ||
	                    cfg->connection_filter.max_connection_rate > 0)) {
		s->tracker = conn_tracker_new(STAGE_CONNECTION_KEYS);
		if (s->tracker == NULL) {
			connectors_free(s->connectors);
			conn_filter_free(s->filter);
			dnsbl_policy_free(s->rep);
			free(s);
			sx_err_set(err, "connection stage: out of memory");
			return -1;
		}
		s->counter = conn_tracker_counter(s->tracker);
		conn_filter_set_limits(
		    s->filter, (unsigned)cfg->connection_filter.max_connections_per_ip,
		    (unsigned)cfg->connection_filter.max_connection_rate, &s->counter);
	}
	*state = s;
	return 0;
}

static void stage_connection_deinit(void *state)
{
	struct stage_connection_state *s = state;

	if (s == NULL)
		return;
	conn_filter_free(s->filter);
	dnsbl_policy_free(s->rep);
	conn_tracker_free(s->tracker);
	connectors_free(s->connectors);
	free(s);
}

static size_t stage_connection_mem_used(const struct stage *st)
{
	(void)st;
	return sizeof(struct stage_connection_state);
}

static void stage_connection_closed(void *arg)
{
	struct stage_connection_slot *cs = arg;

	conn_filter_closed(cs->filter, &cs->ip, &cs->res);
}

/* stage_connection_now_ms - monotonic milliseconds for the rate limits */
static uint64_t stage_connection_now_ms(void)
{
	struct timeval tv;

	if (evutil_gettimeofday(&tv, NULL) < 0)
		return 0;
	return (uint64_t)tv.tv_sec * 1000 + (uint64_t)tv.tv_usec / 1000;
}

/* stage_connection_refuse - the client is refused with the engine's reply
 * "CODE X.Y.Z text" */
static void stage_connection_refuse(struct msg *m, const char *reply, const char *why)
{
	struct msg_reply r;

	msg_reply_parse(m->arena, reply, &r);
	m->conn->ip_blocked = r.code >= 500;
	m->conn->block_why = why;
	m->verdict.action = r.code >= 500 ? MSG_ACTION_REJECT : MSG_ACTION_TEMPFAIL;
	m->verdict.action_why = why;
	m->verdict.reply = r;
}

static void stage_connection_rep_done(const struct dnsbl_outcome *o, void *arg)
{
	struct stage_connection_rep *rp = arg;

	rp->outcome = o;
	rp->check = NULL;
	rp->done = true;
	runner_resume(rp->m);
}

/* stage_connection_rep_result - apply the reputation outcome */
static enum stage_result stage_connection_rep_result(struct msg *m, const struct dnsbl_outcome *o)
{
	size_t i;

	for (i = 0; i < o->nzones; i++)
		if (o->zones[i].status != DNSBL_NOT_LISTED && o->zones[i].status != DNSBL_SKIPPED)
			msg_conn_log(m->conn, LOG_LEVEL_INFO, "reputation",
			             "ip=%s zone=%s status=%s codes=%s", m->conn->ip_text,
			             o->zones[i].zone, dnsbl_status_name(o->zones[i].status),
			             o->zones[i].codes != NULL ? o->zones[i].codes : "-");
	if (!o->blocked || o->reply == NULL)
		return STAGE_CONTINUE;
	stage_connection_refuse(m, o->reply, o->local != NULL ? "reputation_block_list" : "dnsbl");
	return STAGE_DONE;
}

/* stage_connection_use - the connection goes through connector k */
static void stage_connection_use(struct msg_conn *c, const struct connector *k, const char *by)
{
	c->connector = k->name; /* the generation's configuration outlives the session's use */
	c->connector_by = by;
	c->require_tls = k->require_tls;
	c->trusted = k->trusted;
	c->relay = k->relay;
}

/* stage_connection_tls - TLS is up: a connector by certificate name */
static enum stage_result stage_connection_tls(struct stage_connection_state *s, struct msg *m)
{
	struct msg_conn *c = m->conn;
	const struct connector *k;

	if (c->connector != NULL || !c->tls.active || !c->tls.peer_verified ||
	    c->tls.npeer_names == 0)
		return STAGE_CONTINUE;
	k = connectors_match_cert(s->connectors, &c->ip, (const char *const *)c->tls.peer_names,
	                          c->tls.npeer_names);
	if (k != NULL)
		stage_connection_use(c, k, "cert");
	return STAGE_CONTINUE;
}

static enum stage_result stage_connection_run(struct stage *st, struct msg *m, enum stage_event ev)
{
	struct stage_connection_state *s = st->state;
	void **slot = stage_slot(st, m);
	struct stage_connection_rep *rp = *slot;
	struct stage_connection_slot *cs;
	struct msg_conn *c = m->conn;
	const struct connector *k;

	if (ev == STAGE_EV_TLS)
		return stage_connection_tls(s, m);
	if (rp != NULL)
		return rp->done ? stage_connection_rep_result(m, rp->outcome) : STAGE_SUSPEND;
	k = connectors_match_ip(s->connectors, &c->ip);
	if (k != NULL) {
		stage_connection_use(c, k, "ip");
		if (k->trusted)
			return STAGE_CONTINUE; /* on-premises: no IP lists, no reputation */
	}
	/* the count lives as long as the connection: its own arena */
	cs = arena_zalloc(c->arena, sizeof(*cs));
	if (cs == NULL)
		return STAGE_ERROR;
	cs->filter = s->filter;
	cs->ip = c->ip;
	conn_filter_check(s->filter, &c->ip, stage_connection_now_ms(), &cs->res);
	if (cs->res.counted && arena_cleanup(c->arena, stage_connection_closed, cs) < 0) {
		conn_filter_closed(s->filter, &c->ip, &cs->res);
		return STAGE_ERROR;
	}
	switch (cs->res.verdict) {
	case CONN_ALLOW:
		c->ipv = MSG_IPV_CAL; /* allowed sources skip reputation too, as in EOP */
		return STAGE_CONTINUE;
	case CONN_BLOCK:
	case CONN_TEMPFAIL:
		stage_connection_refuse(m, cs->res.reply, conn_reason_name(cs->res.reason));
		return STAGE_DONE;
	case CONN_CONTINUE:
		break;
	}
	if (!s->rep_active)
		return STAGE_CONTINUE;
	if (st->env->dns == NULL || st->env->base == NULL)
		return STAGE_ERROR;
	rp = arena_zalloc(m->arena, sizeof(*rp));
	if (rp == NULL)
		return STAGE_ERROR;
	rp->m = m;
	*slot = rp;
	rp->check = dnsbl_check_start(st->env->dns, st->env->base, m->arena, s->rep, &c->ip,
	                              stage_connection_rep_done, rp);
	if (rp->check == NULL) {
		*slot = NULL;
		return STAGE_ERROR;
	}
	return STAGE_SUSPEND;
}

static void stage_connection_clear(struct stage *st, struct msg *m)
{
	void **slot = stage_slot(st, m);
	struct stage_connection_rep *rp = *slot;

	if (rp != NULL && rp->check != NULL)
		dnsbl_check_cancel(rp->check);
	*slot = NULL;
}

const struct stage_ops stage_connection_ops = {
	.name = "connection",
	.events = STAGE_EV_CONNECT | STAGE_EV_TLS,
	.repeat = true, /* connect, then again when TLS is up */
	.init = stage_connection_init,
	.deinit = stage_connection_deinit,
	.run = stage_connection_run,
	.clear = stage_connection_clear,
	.mem_used = stage_connection_mem_used,
};
