/*
 * stage_envelope - stage 2: relay rights, accepted domains and Directory
 * Based Edge Blocking, once per RCPT TO
 *
 * Feeds filter/directory's edge check with the recipient, the accepted
 * domains and the directory of the configuration generation, and writes
 * the recipient's status and reply back:
 *     550 5.4.1 Recipient address rejected: Access denied   (unknown, DBEB)
 *     550 5.7.54 SMTP; Unable to relay recipient in non-accepted domain
 *     451 4.3.0 Directory lookup failed, try again later     (backend down)
 *
 * Relay rights come with an inbound connector that has `relay` (mail
 * from the organisation's own servers, filter/connector.h): a recipient
 * outside the accepted domains is then taken and the message becomes
 * outbound (m->outbound).  One transaction goes one way: a recipient of
 * the other direction than the first accepted one is deferred with
 *     452 4.5.3 Too many recipients (inbound and outbound mail go in separate transactions)
 * and the client sends it again in a new transaction (RFC 5321 3.3).
 * A trusted connector skips edge blocking (EOP trusts on-premises mail).
 *
 * The directory is the union of the file (directory.file) and the
 * store's table (`smexop directory ...`): the table is kept in memory and
 * reloaded when its change counter moved, checked at most every
 * directory.store_refresh, so a change made by the CLI reaches a running
 * gateway within that time without a reload.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "core/buf.h"
#include "core/config.h"
#include "core/log.h"
#include "filter/directory.h"
#include "filter/domains.h"
#include "pipeline/stage.h"
#include "store/store.h"

#define STAGE_ENVELOPE_DIR_FILE  0 /* union members */
#define STAGE_ENVELOPE_DIR_STORE 1

struct stage_envelope_state {
	struct domains *domains;
	struct directory *dir; /* the union of the file and the store's table */
	struct store *store;   /* NULL: the file only */
	const char *sep;
	bool case_sensitive;
	int64_t refresh_ms;
	int64_t checked_ms; /* when the store's version was last read; -1: never */
	uint64_t version;   /* the version the in-memory copy holds */
	bool loaded;
};

/* ---- the store's table, cached ------------------------------------------ */

static int stage_envelope_dir_line(const char *address, const char *target, void *arg)
{
	struct buf *b = arg;

	if (target != NULL && target[0] != '\0')
		return buf_printf(b, "%s: %s\n", address, target) < 0 ? -1 : 0;
	return buf_printf(b, "%s\n", address) < 0 ? -1 : 0;
}

/* stage_envelope_dir_reload - read the whole table into a new member; on
 * any failure the old copy stays (better stale than refusing everyone) */
static void stage_envelope_dir_reload(struct stage_envelope_state *s, uint64_t version)
{
	struct sx_err err = { 0 };
	struct directory *d = NULL;
	struct buf b;

	buf_init(&b, BUF_CAP_FILE * 4);
	if (store_directory_list(s->store, stage_envelope_dir_line, &b, &err) != 0) {
		log_warn("directory event=store-reload-failed error=\"%s\"",
		         err.msg[0] != '\0' ? err.msg : "too large");
		buf_free(&b);
		return;
	}
	if (b.len > 0) {
		d = directory_load_text("store", b.data, b.len, s->sep, s->case_sensitive, &err);
		if (d == NULL) {
			log_warn("directory event=store-reload-failed error=\"%s\"", err.msg);
			buf_free(&b);
			return;
		}
	}
	buf_free(&b);
	directory_union_set(s->dir, STAGE_ENVELOPE_DIR_STORE, d);
	s->version = version;
	s->loaded = true;
	log_info("directory event=store-reloaded version=%llu entries=%zu",
	         (unsigned long long)version, directory_count(d));
}

/* stage_envelope_dir - the directory for this RCPT (NULL: none), the
 * store's copy refreshed when it is due and changed */
static const struct directory *stage_envelope_dir(struct stage_envelope_state *s, int64_t now_ms)
{
	struct sx_err err = { 0 };
	uint64_t v;

	if (s->store != NULL && (s->checked_ms < 0 || now_ms - s->checked_ms >= s->refresh_ms ||
	                         now_ms < s->checked_ms)) {
		s->checked_ms = now_ms;
		if (store_directory_version(s->store, &v, &err) < 0)
			log_warn("directory event=store-version-failed error=\"%s\"", err.msg);
		else if (!s->loaded || v != s->version)
			stage_envelope_dir_reload(s, v);
	}
	return directory_union_active(s->dir) ? s->dir : NULL;
}

static int64_t stage_envelope_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int stage_envelope_init(const struct pipeline_env *env, void **state, struct sx_err *err)
{
	struct stage_envelope_state *s = calloc(1, sizeof(*s));

	if (s == NULL) {
		sx_err_set(err, "envelope stage: out of memory");
		return -1;
	}
	s->checked_ms = -1;
	if (env->cfg != NULL) {
		const struct config_directory *dc = &env->cfg->directory;
		struct directory *file = NULL;

		s->sep = dc->subaddress_separator;
		s->case_sensitive = dc->case_sensitive_local;
		s->refresh_ms = (int64_t)dc->store_refresh_ms;
		s->store = env->store;
		s->domains = domains_from_config(env->cfg, err);
		if (s->domains != NULL) {
			err->msg[0] = '\0';
			file = directory_from_config(dc, err);
			if (file == NULL && err->msg[0] != '\0')
				s->domains = domains_free(s->domains);
		}
		if (s->domains != NULL) {
			s->dir = directory_union_new(s->sep, s->case_sensitive);
			if (s->dir == NULL) {
				directory_free(file);
				s->domains = domains_free(s->domains);
				sx_err_set(err, "envelope stage: out of memory");
			} else {
				directory_union_set(s->dir, STAGE_ENVELOPE_DIR_FILE, file);
			}
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

/* stage_envelope_direction - one transaction goes one way: true when rc
 * may join m (outbound: rc is outside the accepted domains) */
static bool stage_envelope_direction(struct msg *m, struct msg_rcpt *rc, bool outbound)
{
	if (m->direction_set && m->outbound != outbound) {
		rc->status = MSG_RCPT_DEFERRED;
		rc->why = "other_direction";
		rc->reply.code = 452;
		rc->reply.enhanced = "4.5.3";
		rc->reply.text =
		    "Too many recipients (inbound and outbound mail go in separate transactions)";
		return false;
	}
	m->direction_set = true;
	m->outbound = outbound;
	return true;
}

static enum stage_result stage_envelope_run(struct stage *st, struct msg *m, enum stage_event ev)
{
	struct stage_envelope_state *s = st->state;
	const struct directory *dir;
	struct msg_rcpt *rc;
	struct edge_result r;

	(void)ev;
	if (m->nrcpts == 0)
		return STAGE_ERROR;
	rc = &m->rcpts[m->nrcpts - 1];
	dir = m->conn->trusted ? NULL : stage_envelope_dir(s, stage_envelope_now_ms());
	directory_edge_check(s->domains, dir, rc->addr, m->conn->relay, &r);
	rc->why = edge_reason_name(r.reason);
	switch (r.verdict) {
	case EDGE_ACCEPT:
		if (!stage_envelope_direction(m, rc, r.reason == EDGE_R_RELAY))
			return STAGE_DONE;
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
