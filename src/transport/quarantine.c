/*
 * quarantine - messages held by policy (see quarantine.h): commit into the
 * spool's quarantine/ with a store row, release, delete, expire
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/buf.h"
#include "core/log.h"
#include "core/str.h"
#include "transport/msgtrace.h"
#include "transport/quarantine.h"

#define QUARANTINE_REPORT      "X-Smexop-Antispam-Report:"
#define QUARANTINE_SPAM_FLAG   "X-Spam-Flag:"
#define QUARANTINE_SPAM_STATUS "X-Spam-Status:"

const char *quarantine_subject(const char *data, size_t len, char *out, size_t outsize)
{
	size_t pos = 0, o = 0;
	bool in = false;

	if (outsize == 0)
		return out;
	out[0] = '\0';
	while (pos < len) {
		const char *nl = memchr(data + pos, '\n', len - pos);
		size_t end = nl ? (size_t)(nl - data) : len, n = end - pos;
		const char *line = data + pos;
		if (n > 0 && line[n - 1] == '\r')
			n--;
		pos = end + 1;
		if (n == 0)
			break; /* end of the header section */
		if (line[0] == ' ' || line[0] == '\t') {
			if (!in)
				continue;
		} else if (in) {
			break;
		} else if (n >= 8 && str_ncasecmp(line, "subject:", 8) == 0) {
			in = true;
			line += 8;
			n -= 8;
		} else {
			continue;
		}
		for (size_t i = 0; i < n && o + 1 < outsize; i++) {
			unsigned char c = (unsigned char)line[i];
			if (c < 0x20 || c == 0x7f)
				c = ' ';
			/* unfolding: the leading white space of the first line goes */
			if (o == 0 && c == ' ')
				continue;
			out[o++] = (char)c;
		}
	}
	while (o > 0 && out[o - 1] == ' ')
		o--;
	out[o] = '\0';
	return out;
}

/* quarantine_join - reasons joined with "; " into b */
static const char *quarantine_join(struct buf *b, const char *const *v, size_t n)
{
	size_t i;

	buf_clear(b);
	for (i = 0; i < n; i++)
		if ((i > 0 && buf_puts(b, "; ") < 0) || buf_puts(b, v[i]) < 0)
			break;
	return b->data != NULL ? b->data : "";
}

/* quarantine_row - store the row for env and the message data */
static int quarantine_row(struct store *st, const struct spool_envelope *env, const char *data,
                          size_t len, struct sx_err *err)
{
	struct store_quarantine q = { 0 };
	char subject[QUARANTINE_SUBJECT_MAX + 1];
	const char *rcpts[SPOOL_MAX_RCPTS];
	struct buf reasons;
	size_t i;
	int rc;

	buf_init(&reasons, 64 * 1024);
	for (i = 0; i < env->nrcpts && i < SPOOL_MAX_RCPTS; i++)
		rcpts[i] = env->rcpts[i].addr;
	q.id = env->id;
	q.message_id = env->message_id;
	q.sender = env->sender;
	q.rcpts = rcpts;
	q.nrcpts = i;
	q.subject = quarantine_subject(data, len, subject, sizeof(subject));
	q.reasons = quarantine_join(&reasons, env->q_reasons, env->nq_reasons);
	q.policy = env->q_policy;
	q.verdict = env->verdict;
	q.received = env->received;
	q.expires = env->q_expires;
	q.size = env->size;
	rc = store_quarantine_add(st, &q, err);
	buf_free(&reasons);
	return rc;
}

int quarantine_commit(struct spool_tx *tx, const struct spool_envelope *env,
                      const struct quarantine_options *o, struct store *st, int64_t now,
                      struct sx_err *err)
{
	struct spool_envelope e;
	struct sx_err rerr = { 0 };
	const char *data;
	size_t len;
	uint64_t retention =
	    o != NULL && o->retention > 0 ? o->retention : QUARANTINE_DEFAULT_RETENTION;

	if (tx == NULL || env == NULL) {
		sx_err_set(err, "quarantine: nothing to commit");
		return -1;
	}
	e = *env;
	e.quarantined = true;
	if (e.q_expires == 0)
		e.q_expires = e.received + (int64_t)retention;
	if (spool_tx_commit(tx, &e, SPOOL_QUARANTINE, err) < 0)
		return -1;
	/* the envelope as committed carries the spool's id and size */
	e.id = spool_tx_id(tx);
	if (spool_tx_data(tx, &data, &len) < 0) {
		data = "";
		len = 0;
	}
	e.size = len;
	if (st != NULL && quarantine_row(st, &e, data, len, &rerr) < 0)
		log_error(
		    "quarantine event=index_failed id=%s error=\"%s\" (repaired by quarantine "
		    "expire)",
		    e.id, rerr.msg);
	log_info("quarantine event=quarantined id=%s policy=%s expires=%lld", e.id,
	         e.q_policy && e.q_policy[0] ? e.q_policy : "-", (long long)e.q_expires);
	msgtrace_envelope(st, &e, STORE_TRACE_QUARANTINED, NULL, e.q_policy, now);
	return 0;
}

int quarantine_index(struct store *st, const struct spool_entry *e, struct sx_err *err)
{
	if (st == NULL || e == NULL) {
		sx_err_set(err, "quarantine: no store or entry");
		return -1;
	}
	return quarantine_row(st, &e->env, e->data, e->len, err);
}

struct quarantine_walk {
	struct spool *sp;
	struct store *st;
	unsigned n;
	int64_t now;
	struct sx_err *err;
};

static int quarantine_reconcile_one(const char *id, void *arg)
{
	struct quarantine_walk *w = arg;
	struct sx_err lerr = { 0 };
	struct spool_entry *e = spool_entry_load(w->sp, SPOOL_QUARANTINE, id, &lerr);
	int rc;

	if (e == NULL) {
		log_warn("quarantine event=unreadable id=%s error=\"%s\"", id, lerr.msg);
		return 0;
	}
	rc = quarantine_index(w->st, e, w->err);
	spool_entry_free(e);
	if (rc < 0)
		return -1;
	if (rc == 0) {
		log_info("quarantine event=reindexed id=%s", id);
		w->n++;
	}
	return 0;
}

int quarantine_reconcile(struct spool *sp, struct store *st, unsigned *added, struct sx_err *err)
{
	struct quarantine_walk w = { .sp = sp, .st = st, .err = err };
	int rc;

	if (sp == NULL || st == NULL) {
		sx_err_set(err, "quarantine: no spool or store");
		return -1;
	}
	rc = spool_scan(sp, SPOOL_QUARANTINE, quarantine_reconcile_one, &w, err);
	if (added != NULL)
		*added = w.n;
	return rc < 0 ? -1 : 0;
}

/* quarantine_skq - the report field with SFV set to SKQ (in the arena) */
static const char *quarantine_skq(struct arena *a, const char *field)
{
	const char *sfv = NULL, *p;
	size_t n;

	for (p = field; (p = strchr(p, 'S')) != NULL; p++)
		if (strncmp(p, "SFV:", 4) == 0 && (p == field || p[-1] == ';' || p[-1] == ' ')) {
			sfv = p;
			break;
		}
	if (sfv == NULL) {
		n = strlen(field);
		while (n > 0 && (field[n - 1] == ' ' || field[n - 1] == ';'))
			n--;
		return arena_printf(a, "%.*s;SFV:SKQ", (int)n, field);
	}
	n = strcspn(sfv + 4, ";");
	return arena_printf(a, "%.*sSFV:SKQ%s", (int)(sfv - field), field, sfv + 4 + n);
}

/* quarantine_unflag - X-Spam-Flag / X-Spam-Status saying "no" (in the arena).
 * A released message is one somebody judged wanted: left at YES, a Sieve
 * rule on these fields would file it straight into Junk. */
static const char *quarantine_unflag(struct arena *a, const char *field)
{
	size_t name = sizeof(QUARANTINE_SPAM_FLAG) - 1, ws;

	if (str_case_prefix(field, QUARANTINE_SPAM_FLAG))
		return arena_printf(a, "%.*s NO", (int)name, field);
	/* X-Spam-Status: Yes, score=9 ... keeps the score and the tests */
	name = sizeof(QUARANTINE_SPAM_STATUS) - 1;
	ws = strspn(field + name, " \t");
	if (!str_case_prefix(field + name + ws, "yes"))
		return field;
	return arena_printf(a, "%.*sNo%s", (int)(name + ws), field, field + name + ws + 3);
}

int quarantine_release(struct spool *sp, struct store *st, const char *id, const char *to,
                       const char *by, int64_t now, char new_id[SPOOL_ID_MAX], struct sx_err *err)
{
	struct spool_entry *e;
	struct spool_envelope env;
	struct spool_rcpt *rcpts;
	struct sx_err lerr = { 0 };
	char date[64], copy_id[SPOOL_ID_MAX] = "";
	const char **headers;
	struct tm tm;
	time_t t = (time_t)now;
	size_t i, n = 0, to_idx = 0;
	bool report = false;
	int rc;

	e = spool_entry_load(sp, SPOOL_QUARANTINE, id, err);
	if (e == NULL)
		return -1;
	env = e->env;
	rcpts = arena_array(e->arena, env.nrcpts, sizeof(*rcpts));
	headers = arena_array(e->arena, env.nheaders + 2, sizeof(*headers));
	if (rcpts == NULL || headers == NULL)
		goto nomem;
	for (i = 0; i < env.nrcpts; i++) {
		if (to != NULL && str_casecmp(env.rcpts[i].addr, to) != 0)
			continue;
		if (env.rcpts[i].state != SPOOL_RCPT_PENDING) {
			if (to == NULL)
				continue;
			sx_err_set(err, "quarantine: %s: already released to %s", id, to);
			spool_entry_free(e);
			return -1;
		}
		to_idx = i;
		rcpts[n] = env.rcpts[i];
		rcpts[n].state = SPOOL_RCPT_PENDING;
		rcpts[n].done = 0;
		n++;
		if (to != NULL)
			break;
	}
	if (n == 0) {
		sx_err_set(err, "quarantine: %s: %s is not a recipient of this message", id,
		           to ? to : "nobody");
		spool_entry_free(e);
		return -1;
	}
	env.rcpts = rcpts;
	env.nrcpts = n;
	gmtime_r(&t, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000", &tm);
	/* an earlier X-Smexop-Released goes: the new one replaces it */
	n = 0;
	for (i = 0; i < e->env.nheaders; i++) {
		const char *h = e->env.headers[i];
		if (str_case_prefix(h, "X-Smexop-Released:"))
			continue;
		if (str_case_prefix(h, QUARANTINE_REPORT)) {
			h = quarantine_skq(e->arena, h);
			report = true;
		} else if (str_case_prefix(h, QUARANTINE_SPAM_FLAG) ||
		           str_case_prefix(h, QUARANTINE_SPAM_STATUS)) {
			h = quarantine_unflag(e->arena, h);
		}
		if (h == NULL)
			goto nomem;
		headers[n++] = h;
	}
	if (!report)
		headers[n++] = "X-Smexop-Antispam-Report: SFV:SKQ";
	headers[n] = arena_printf(e->arena, "X-Smexop-Released: %s by %s", date,
	                          by && by[0] ? by : "unknown");
	if (headers[n] == NULL || n + 1 > SPOOL_MAX_HEADERS)
		goto nomem;
	env.headers = headers;
	env.nheaders = n + 1;
	env.released = now > 0 ? now : 1;
	env.released_by = by ? by : "";
	if (spool_entry_requeue(sp, e, &env, to ? copy_id : NULL, err) < 0) {
		spool_entry_free(e);
		return -1;
	}
	if (to != NULL) {
		/* the quarantined entry remembers who has it (a Y record), so a
		 * later release to everyone skips them; when nobody is left the
		 * entry goes */
		size_t left = 0;
		e->env.rcpts[to_idx].state = SPOOL_RCPT_DELIVERED;
		e->env.rcpts[to_idx].done = now;
		for (i = 0; i < e->env.nrcpts; i++)
			left += e->env.rcpts[i].state == SPOOL_RCPT_PENDING;
		if ((left > 0 ? spool_entry_update(sp, e, &e->env, &lerr)
		              : spool_entry_remove(sp, SPOOL_QUARANTINE, id, &lerr)) < 0)
			log_error("quarantine event=release_not_noted id=%s error=\"%s\"", id,
			          lerr.msg);
	}
	if (new_id != NULL)
		snprintf(new_id, SPOOL_ID_MAX, "%s", to ? copy_id : id);
	rc = st ? store_quarantine_release(st, id, now, by, to, err) : 0;
	if (rc < 0)
		log_error("quarantine event=release_not_recorded id=%s error=\"%s\"", id, err->msg);
	log_info("quarantine event=released id=%s by=%s to=%s queue_id=%s", id,
	         by && by[0] ? by : "-", to ? to : "all", to ? copy_id : id);
	msgtrace_envelope(st, &env, STORE_TRACE_RELEASED, NULL,
	                  to ? arena_printf(e->arena, "by %s as %s", by ? by : "-", copy_id)
	                     : arena_printf(e->arena, "by %s", by ? by : "-"),
	                  now);
	spool_entry_free(e);
	return 0;
nomem:
	sx_err_set(err, "quarantine: %s: out of memory or too many header fields", id);
	spool_entry_free(e);
	return -1;
}

int quarantine_delete(struct spool *sp, struct store *st, const char *id, int64_t now,
                      struct sx_err *err)
{
	struct spool_entry *e;
	int rc = 1;

	if (!spool_envelope_id_valid(id)) {
		sx_err_set(err, "quarantine: '%s' is not a spool id", id ? id : "");
		return -1;
	}
	e = spool_entry_load(sp, SPOOL_QUARANTINE, id, err);
	if (e != NULL) {
		msgtrace_envelope(st, &e->env, STORE_TRACE_DELETED, NULL, NULL, now);
		e = spool_entry_free(e);
		rc = 0;
	}
	if (spool_entry_remove(sp, SPOOL_QUARANTINE, id, err) < 0)
		return -1;
	if (st != NULL) {
		int r = store_quarantine_delete(st, id, err);
		if (r < 0)
			return -1;
		if (r == 0)
			rc = 0;
	}
	if (rc == 1) {
		sx_err_set(err, "quarantine: %s: no such message", id);
		return -1;
	}
	log_info("quarantine event=deleted id=%s", id);
	return 0;
}

/* ---- expiry ----------------------------------------------------------- */

struct quarantine_ids {
	char (*v)[SPOOL_ID_MAX];
	size_t n, size;
};

static int quarantine_collect(const struct store_quarantine *q, void *arg)
{
	struct quarantine_ids *l = arg;

	if (l->n == l->size) {
		size_t ns = l->size ? l->size * 2 : 64;
		void *nv = realloc(l->v, ns * sizeof(*l->v));
		if (nv == NULL)
			return -1;
		l->v = nv;
		l->size = ns;
	}
	snprintf(l->v[l->n++], SPOOL_ID_MAX, "%s", q->id);
	return 0;
}

int quarantine_expire(struct spool *sp, struct store *st, int64_t now, unsigned *removed,
                      struct sx_err *err)
{
	struct quarantine_ids l = { 0 };
	struct sx_err lerr;
	unsigned n = 0;
	size_t i;
	int rc;

	if (quarantine_reconcile(sp, st, NULL, err) < 0)
		return -1;
	rc = store_quarantine_expired(st, now, quarantine_collect, &l, err);
	if (rc != 0) {
		free(l.v);
		if (rc > 0)
			sx_err_set(err, "quarantine: out of memory");
		return -1;
	}
	for (i = 0; i < l.n; i++) {
		struct spool_entry *e = spool_entry_load(sp, SPOOL_QUARANTINE, l.v[i], &lerr);
		if (e != NULL) {
			msgtrace_envelope(st, &e->env, STORE_TRACE_EXPIRED, NULL, NULL, now);
			spool_entry_free(e);
		}
		if (spool_entry_remove(sp, SPOOL_QUARANTINE, l.v[i], &lerr) < 0 ||
		    store_quarantine_delete(st, l.v[i], &lerr) < 0) {
			log_error("quarantine event=expire_failed id=%s error=\"%s\"", l.v[i],
			          lerr.msg);
			continue;
		}
		log_info("quarantine event=expired id=%s", l.v[i]);
		n++;
	}
	free(l.v);
	if (removed != NULL)
		*removed = n;
	return 0;
}
