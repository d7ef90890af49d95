/*
 * queue - the queue manager (see queue.h): scan, route, per-destination
 * wait lists, deliveries through outbound.h or the Maildir writer,
 * results into the envelope, DSNs
 *
 * Life of an entry in memory (struct qentry): loaded and locked, its due
 * recipients split into jobs (one per destination group), the jobs wait
 * in their destination's list until a slot is free, each job's results
 * are written to the envelope as they come, and after the last job the
 * entry is finished: DSNs committed, then removed or updated, unlocked
 * and dropped from memory.  Between passes only a due time per waiting
 * entry stays in memory (struct qknown).
 */
#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/log.h"
#include "core/str.h"
#include "transport/dsn.h"
#include "transport/maildir.h"
#include "transport/mtasts.h"
#include "transport/msgtrace.h"
#include "transport/outbound.h"
#include "transport/queue.h"
#include "transport/spool.h"

#define QUEUE_BUCKETS  1024
#define QUEUE_DSN_MAX  (64 * 1024 * 1024)
#define QUEUE_CTRL_MAX 128

/* ---- pure pieces -------------------------------------------------------- */

uint64_t queue_backoff_ms(unsigned attempts, uint64_t min_ms, uint64_t max_ms, uint32_t rnd)
{
	uint64_t w = min_ms;
	unsigned i;

	if (max_ms < min_ms)
		max_ms = min_ms;
	for (i = 1; i < attempts && w < max_ms; i++)
		w = w > max_ms / 2 ? max_ms : w * 2;
	if (w > max_ms)
		w = max_ms;
	return w + rnd % (w / 10 + 1);
}

bool queue_domain_match(const char *pattern, const char *domain)
{
	size_t pn, dn;

	if (pattern == NULL || domain == NULL || domain[0] == '\0')
		return false;
	if (strcmp(pattern, "*") == 0)
		return true;
	if (pattern[0] == '*' && pattern[1] == '.') {
		/* strict subdomains: "*.example.com" is not example.com itself */
		pn = strlen(pattern + 1); /* ".example.com" */
		dn = strlen(domain);
		return dn > pn && str_case_suffix(domain, dn, pattern + 1, pn);
	}
	return str_casecmp(pattern, domain) == 0;
}

/* queue_accepted - domain is one of cfg's accepted domains */
static bool queue_accepted(const struct smexop_config *cfg, const char *domain)
{
	size_t i, dn = strlen(domain);

	for (i = 0; i < cfg->accepted_domains.n; i++) {
		const struct config_accepted_domain *a = &cfg->accepted_domains.v[i];
		size_t an = strlen(a->domain);
		if (str_casecmp(a->domain, domain) == 0)
			return true;
		if (a->subdomains && dn > an + 1 && domain[dn - an - 1] == '.' &&
		    str_case_suffix(domain, dn, a->domain, an))
			return true;
	}
	return false;
}

int queue_route(const struct smexop_config *cfg, const char *rcpt, bool outbound,
                struct queue_route *r)
{
	const char *at = rcpt != NULL ? strrchr(rcpt, '@') : NULL;
	size_t i, j;

	memset(r, 0, sizeof(*r));
	if (at == NULL || at[1] == '\0' || strlen(at + 1) >= sizeof(r->domain))
		return -1;
	snprintf(r->domain, sizeof(r->domain), "%s", at + 1);
	str_lower_inplace(r->domain);
	/* an address literal names no domain to route by: it goes direct */
	for (i = 0; r->domain[0] != '[' && i < cfg->outbound_connectors.n; i++) {
		const struct config_outbound_connector *c = &cfg->outbound_connectors.v[i];
		for (j = 0; j < c->domains.n; j++)
			if (queue_domain_match(c->domains.v[j], r->domain)) {
				r->kind = QUEUE_ROUTE_CONNECTOR;
				r->conn = c;
				snprintf(r->key, sizeof(r->key), "connector:%s", c->name);
				return 0;
			}
	}
	if (!outbound || queue_accepted(cfg, r->domain)) {
		r->kind = QUEUE_ROUTE_MAILDIR;
		snprintf(r->key, sizeof(r->key), "maildir");
		return 0;
	}
	r->kind = QUEUE_ROUTE_DIRECT;
	snprintf(r->key, sizeof(r->key), "mx:%s", r->domain);
	return 0;
}

/* ---- state ------------------------------------------------------------------ */

struct qgen {
	struct smexop_config *cfg;
	unsigned refs; /* the queue's own (while current) + jobs */
	struct qgen *next;
};

struct qdest;
struct qentry;

struct qjob {
	struct qentry *qe;
	struct qdest *dest;
	struct qgen *gen;
	struct queue_route route;
	size_t *idx; /* recipient indices in qe's envelope */
	size_t n;
	struct qjob *next; /* in the entry's list, then in dest's wait list */
	struct qjob *wnext;
	bool running;
};

struct qdest {
	char key[QUEUE_KEY_MAX];
	unsigned running;
	unsigned limit;
	struct qjob *whead, *wtail;
	struct qdest *next;
	/* no host of it answered at all: what waits for it is deferred without
	 * a connection until then (Postfix: "delivery temporarily suspended") */
	int64_t dead_until;
	char dead_reason[300];
};

struct qentry {
	struct queue *q;
	struct spool_entry *e;
	unsigned jobs; /* not finished */
	bool dirty;    /* the envelope changed since it was read */
	struct qjob *joblist;
	struct qentry *hnext; /* hash chain */
};

/* an entry not in memory whose recipients all wait until due */
struct qknown {
	char id[SPOOL_ID_MAX];
	int64_t due;
	unsigned seen; /* the scan generation that last saw it */
	struct qknown *hnext;
};

struct queue {
	struct queue_deps deps;
	struct qgen *gen;     /* current */
	struct qgen *retired; /* older, still used by jobs */
	struct outbound *ob;
	struct event *scan_ev, *pump_ev;
	struct event *due_ev; /* the earliest remembered due time: a scan then */
	struct event *sts_ev; /* MTA-STS: refresh cached policies before they expire */
	int64_t due_at;       /* 0: not armed */
	struct event *ctrl_ev[2];
	int ctrl_fd[2];
	bool ctrl_exit_on_eof[2]; /* a stream: end of file means the parent is gone */
	char ctrl_path[108];
	struct qdest *dests;
	struct qentry *active[QUEUE_BUCKETS];
	struct qknown *known[QUEUE_BUCKETS];
	unsigned nactive, running;
	unsigned scan_gen;
	bool scan_wanted;
	bool scan_more; /* the last scan stopped at QUEUE_MAX_ACTIVE: go on soon */
	char **pending; /* ids to load at the next pump (notify, DSNs) */
	size_t npending, szpending;
	struct queue_stats stats;
};

static unsigned queue_hash(const char *id)
{
	return (unsigned)(str_case_hash(id, strlen(id)) % QUEUE_BUCKETS);
}

static struct qentry *queue_active_find(struct queue *q, const char *id)
{
	struct qentry *x;

	for (x = q->active[queue_hash(id)]; x != NULL; x = x->hnext)
		if (strcmp(x->e->id, id) == 0)
			return x;
	return NULL;
}

static struct qknown **queue_known_slot(struct queue *q, const char *id)
{
	struct qknown **p;

	for (p = &q->known[queue_hash(id)]; *p != NULL; p = &(*p)->hnext)
		if (strcmp((*p)->id, id) == 0)
			return p;
	return p;
}

static void queue_known_forget(struct queue *q, const char *id)
{
	struct qknown **p = queue_known_slot(q, id), *k = *p;

	if (k != NULL) {
		*p = k->hnext;
		free(k);
	}
}

static void queue_due_arm(struct queue *q, int64_t due);

static void queue_known_set(struct queue *q, const char *id, int64_t due)
{
	struct qknown **p = queue_known_slot(q, id), *k = *p;

	if (k == NULL) {
		k = calloc(1, sizeof(*k));
		if (k == NULL)
			return; /* then it is only read again at the next scan */
		snprintf(k->id, sizeof(k->id), "%s", id);
		*p = k;
	}
	k->due = due;
	k->seen = q->scan_gen;
	queue_due_arm(q, due);
}

static void queue_known_clear(struct queue *q, bool only_unseen)
{
	size_t b;

	for (b = 0; b < QUEUE_BUCKETS; b++) {
		struct qknown **p = &q->known[b];
		while (*p != NULL) {
			struct qknown *k = *p;
			if (!only_unseen || k->seen != q->scan_gen) {
				*p = k->hnext;
				free(k);
			} else {
				p = &k->hnext;
			}
		}
	}
}

static int64_t queue_now(void)
{
	return (int64_t)time(NULL);
}

static uint64_t queue_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void queue_gen_unref(struct queue *q, struct qgen *g)
{
	struct qgen **p;

	if (g == NULL || --g->refs > 0)
		return;
	for (p = &q->retired; *p != NULL; p = &(*p)->next)
		if (*p == g) {
			*p = g->next;
			break;
		}
	config_free(g->cfg);
	free(g);
}

static const struct smexop_config *queue_cfg(const struct queue *q)
{
	return q->gen->cfg;
}

static void queue_pump_soon(struct queue *q)
{
	if (q->pump_ev != NULL)
		event_active(q->pump_ev, 0, 0);
}

/* ---- destinations ------------------------------------------------------------ */

/* queue_dest_single - the destination is one remote: a connector's smart
 * hosts, or the MX hosts of one domain */
static bool queue_dest_single(const struct queue_route *r)
{
	if (r->kind == QUEUE_ROUTE_DIRECT)
		return true;
	return r->kind == QUEUE_ROUTE_CONNECTOR && r->conn->type != CONFIG_OUTBOUND_MAILDIR &&
	       r->conn->smart_hosts.n > 0;
}

static struct qdest *queue_dest(struct queue *q, const struct queue_route *r)
{
	const struct smexop_config *cfg = queue_cfg(q);
	struct qdest *d;

	for (d = q->dests; d != NULL; d = d->next)
		if (strcmp(d->key, r->key) == 0)
			break;
	if (d == NULL) {
		d = calloc(1, sizeof(*d));
		if (d == NULL)
			return NULL;
		snprintf(d->key, sizeof(d->key), "%s", r->key);
		d->next = q->dests;
		q->dests = d;
	}
	/* the limit follows the current configuration */
	d->limit = (unsigned)cfg->queue.destination_concurrency;
	if (r->kind == QUEUE_ROUTE_CONNECTOR && r->conn->max_concurrency > 0)
		d->limit = (unsigned)r->conn->max_concurrency;
	return d;
}

static void queue_dest_gc(struct queue *q)
{
	struct qdest **p = &q->dests;

	while (*p != NULL) {
		struct qdest *d = *p;
		if (d->running == 0 && d->whead == NULL && d->dead_until <= queue_now()) {
			*p = d->next;
			free(d);
		} else {
			p = &d->next;
		}
	}
}

/* ---- finishing an entry ---------------------------------------------------------- */

/* queue_commit_dsn - one notice of kind about the recipients marked in
 * pick, committed to the spool; its id into dsn_id; 0 or -1 */
static int queue_commit_dsn(struct queue *q, struct qentry *qe, enum dsn_kind kind,
                            const bool *pick, char dsn_id[SPOOL_ID_MAX])
{
	const struct smexop_config *cfg = queue_cfg(q);
	struct spool_envelope *env = &qe->e->env;
	struct dsn_rcpt *dr;
	struct dsn_report r;
	struct spool_envelope de;
	struct spool_rcpt to;
	struct spool_tx *tx;
	struct sx_err err = { 0 };
	struct buf b;
	size_t i, n = 0;
	int rc = -1;

	dr = calloc(env->nrcpts, sizeof(*dr));
	if (dr == NULL)
		return -1;
	for (i = 0; i < env->nrcpts; i++) {
		const struct spool_rcpt *x = &env->rcpts[i];
		if (!pick[i])
			continue;
		dr[n].addr = x->addr;
		dr[n].orcpt = x->orcpt;
		dr[n].status = x->status;
		dr[n].remote_mta = x->remote_mta;
		dr[n].diag = x->diag;
		dr[n].last_attempt = x->last_attempt;
		dr[n].retry_until = env->received + (int64_t)(cfg->queue.lifetime_ms / 1000);
		n++;
	}
	memset(&r, 0, sizeof(r));
	r.kind = kind;
	r.reporting_mta = cfg->server.hostname;
	r.sender = env->sender;
	r.envid = env->dsn_envid;
	r.ret = env->dsn_ret;
	r.id = qe->e->id;
	r.arrival = env->received;
	r.now = queue_now();
	r.rcpts = dr;
	r.nrcpts = n;
	r.prepend = env->headers;
	r.nprepend = env->nheaders;
	r.data = qe->e->data;
	r.len = qe->e->len;
	buf_init(&b, QUEUE_DSN_MAX);
	if (dsn_build(&r, &b, &err) < 0) {
		/* RET=FULL of a huge message: the headers must do */
		r.ret = "HDRS";
		buf_clear(&b);
		if (dsn_build(&r, &b, &err) < 0)
			goto out;
	}
	tx = spool_tx_begin(q->deps.spool, &err);
	if (tx == NULL)
		goto out;
	memset(&de, 0, sizeof(de));
	memset(&to, 0, sizeof(to));
	to.addr = env->sender;
	to.notify = "";
	to.orcpt = "";
	de.received = r.now;
	de.message_id = "";
	de.session_id = "";
	de.sender = ""; /* the null reverse-path: a DSN is never answered */
	de.dsn_ret = de.dsn_envid = "";
	de.rcpts = &to;
	de.nrcpts = 1;
	de.client_ip = "";
	de.helo = cfg->server.hostname;
	de.ptr = "";
	de.verdict = "action=dsn";
	/* to an outside sender it leaves like relayed mail (MX), else it stays */
	{
		const char *at = strrchr(env->sender, '@');
		de.direction =
		    at != NULL && queue_accepted(cfg, at + 1) ? SPOOL_INBOUND : SPOOL_OUTBOUND;
	}
	if (spool_tx_write(tx, b.data, b.len) < 0 || spool_tx_finish(tx, &err) < 0 ||
	    spool_tx_commit(tx, &de, SPOOL_QUEUE, &err) < 0) {
		if (err.msg[0] == '\0')
			sx_err_set(&err, "spool write failed");
		spool_tx_abort(tx);
		goto out;
	}
	snprintf(dsn_id, SPOOL_ID_MAX, "%s", spool_tx_id(tx));
	spool_tx_free(tx);
	rc = 0;
out:
	if (rc < 0)
		log_error("queue event=dsn-failed id=%s kind=%s error=\"%s\"", qe->e->id,
		          dsn_action_name(kind), err.msg);
	buf_free(&b);
	free(dr);
	return rc;
}

static void queue_add_pending(struct queue *q, const char *id)
{
	char *s;

	if (q->npending == q->szpending) {
		size_t ns = q->szpending ? q->szpending * 2 : 16;
		char **nv;
		if (ns > 100000)
			return; /* the next scan finds it */
		nv = realloc(q->pending, ns * sizeof(*nv));
		if (nv == NULL)
			return;
		q->pending = nv;
		q->szpending = ns;
	}
	s = strdup(id);
	if (s == NULL)
		return;
	q->pending[q->npending++] = s;
	queue_pump_soon(q);
}

/* queue_notices - commit the DSNs env owes; true when every one was
 * committed (the flags in env say which were) */
static bool queue_notices(struct queue *q, struct qentry *qe, int64_t now, bool *changed)
{
	const struct smexop_config *cfg = queue_cfg(q);
	struct spool_envelope *env = &qe->e->env;
	static const enum dsn_kind kinds[] = { DSN_FAILURE, DSN_DELAY, DSN_SUCCESS };
	bool *pick, ok = true;
	size_t i, k;

	pick = calloc(env->nrcpts ? env->nrcpts : 1, sizeof(*pick));
	if (pick == NULL)
		return false;
	for (k = 0; k < 3; k++) {
		enum dsn_kind kind = kinds[k];
		unsigned flag = kind == DSN_FAILURE ? SPOOL_NOTICE_FAILURE
		                : kind == DSN_DELAY ? SPOOL_NOTICE_DELAY
		                                    : SPOOL_NOTICE_SUCCESS;
		size_t n = 0;
		char id[SPOOL_ID_MAX];

		for (i = 0; i < env->nrcpts; i++) {
			struct spool_rcpt *x = &env->rcpts[i];
			bool due;
			pick[i] = false;
			if (x->notices & flag)
				continue;
			due = kind == DSN_FAILURE ? x->state == SPOOL_RCPT_FAILED
			      : kind == DSN_SUCCESS
			          ? x->state == SPOOL_RCPT_DELIVERED
			          : (x->state == SPOOL_RCPT_PENDING &&
			             cfg->queue.delay_warning_ms > 0 && x->first_deferral > 0 &&
			             now - env->received >=
			                 (int64_t)(cfg->queue.delay_warning_ms / 1000));
			if (!due)
				continue;
			if (!dsn_wanted(env->sender, x->notify, kind)) {
				/* nothing to send: do not ask again */
				if (kind != DSN_SUCCESS) {
					x->notices |= flag;
					*changed = true;
				}
				continue;
			}
			pick[i] = true;
			n++;
		}
		if (n == 0)
			continue;
		if (queue_commit_dsn(q, qe, kind, pick, id) < 0) {
			ok = false;
			continue;
		}
		q->stats.dsns++;
		log_info("queue event=dsn id=%s kind=%s dsn_id=%s rcpts=%zu to=<%s>", qe->e->id,
		         dsn_action_name(kind), id, n, env->sender);
		for (i = 0; i < env->nrcpts; i++)
			if (pick[i])
				env->rcpts[i].notices |= flag;
		*changed = true;
		queue_add_pending(q, id);
	}
	free(pick);
	return ok;
}

/* queue_entry_free - unlock and drop an entry from memory */
static void queue_entry_drop(struct queue *q, struct qentry *qe)
{
	struct qentry **p = &q->active[queue_hash(qe->e->id)];

	for (; *p != NULL; p = &(*p)->hnext)
		if (*p == qe) {
			*p = qe->hnext;
			break;
		}
	while (qe->joblist != NULL) {
		struct qjob *j = qe->joblist;
		qe->joblist = j->next;
		queue_gen_unref(q, j->gen);
		free(j->idx);
		free(j);
	}
	spool_entry_free(qe->e);
	free(qe);
	q->nactive--;
}

/* queue_finish - the last job of qe is done: DSNs, then remove or update */
static void queue_finish(struct queue *q, struct qentry *qe, bool changed)
{
	struct spool_envelope *env = &qe->e->env;
	struct sx_err err = { 0 };
	int64_t now = queue_now(), due = 0;
	bool done = true, sent;
	size_t i;

	sent = queue_notices(q, qe, now, &changed);
	for (i = 0; i < env->nrcpts; i++) {
		const struct spool_rcpt *x = &env->rcpts[i];
		if (x->state != SPOOL_RCPT_PENDING)
			continue;
		done = false;
		if (due == 0 || x->next_attempt < due)
			due = x->next_attempt;
	}
	if (done && sent) {
		if (spool_entry_remove(q->deps.spool, SPOOL_QUEUE, qe->e->id, &err) < 0) {
			log_error("queue event=remove-failed id=%s error=\"%s\"", qe->e->id,
			          err.msg);
		} else {
			q->stats.removed++;
			log_info("queue event=removed id=%s", qe->e->id);
		}
	} else if (changed && spool_entry_update(q->deps.spool, qe->e, env, &err) < 0) {
		log_error("queue event=update-failed id=%s error=\"%s\"", qe->e->id, err.msg);
	}
	if (!done)
		queue_known_set(q, qe->e->id, due);
	else if (!sent) /* a DSN could not be written: try again in a while */
		queue_known_set(q, qe->e->id,
		                now + (int64_t)(queue_cfg(q)->queue.retry_min_ms / 1000));
	queue_entry_drop(q, qe);
}

/* ---- results ----------------------------------------------------------------- */

struct queue_result {
	enum outbound_status status;
	unsigned code;
	const char *enhanced;
	const char *text;
};

/* queue_status_of - the enhanced status a result stands for */
static void queue_status_of(const struct queue_result *r, char *out, size_t outsize)
{
	if (r->enhanced != NULL && r->enhanced[0] != '\0')
		snprintf(out, outsize, "%s", r->enhanced);
	else if (r->status == OUTBOUND_DELIVERED)
		snprintf(out, outsize, "2.0.0");
	else if (r->status == OUTBOUND_FAILED)
		snprintf(out, outsize, "5.0.0");
	else
		snprintf(out, outsize, "4.0.0");
}

/* queue_rcpt_final - x is done (delivered or failed): never tried again */
static void queue_rcpt_final(struct spool_rcpt *x, enum spool_rcpt_state state, int64_t now)
{
	x->state = state;
	x->done = now;
	x->next_attempt = 0;
}

/* queue_apply - one recipient's result into the entry, trace and log */
static void queue_apply(struct queue *q, struct qjob *j, size_t idx, const struct queue_result *r,
                        const char *remote, int64_t now)
{
	const struct smexop_config *cfg = j->gen->cfg;
	struct spool_entry *e = j->qe->e;
	struct spool_rcpt *x = &e->env.rcpts[idx];
	int64_t expires = e->env.received + (int64_t)(cfg->queue.lifetime_ms / 1000);
	char status[16], diag[DSN_MAX_DIAG + 32], detail[1200], qa[600], qd[1300];
	enum store_trace_kind kind;
	const char *what, *said;
	uint32_t rnd = 0;
	uint64_t wait;

	j->qe->dirty = true;
	queue_status_of(r, status, sizeof(status));
	/* the Diagnostic-Code is the server's own reply: outbound's text says
	 * "host H[IP]:PORT said: 451 4.2.0 ..." (the host is Remote-MTA) */
	said = r->text != NULL ? strstr(r->text, " said: ") : NULL;
	if (said != NULL)
		snprintf(diag, sizeof(diag), "%.*s", DSN_MAX_DIAG, said + 7);
	else if (r->code > 0 && r->text != NULL && r->text[0] != '\0' &&
	         !(str_is_digit((unsigned char)r->text[0]) &&
	           str_is_digit((unsigned char)r->text[1])))
		snprintf(diag, sizeof(diag), "%u %s%s%.*s", r->code,
		         r->enhanced != NULL ? r->enhanced : "",
		         r->enhanced != NULL && r->enhanced[0] ? " " : "", DSN_MAX_DIAG, r->text);
	else
		snprintf(diag, sizeof(diag), "%.*s", DSN_MAX_DIAG, r->text != NULL ? r->text : "");
	x->attempts = x->attempts < SPOOL_MAX_ATTEMPTS ? x->attempts + 1 : x->attempts;
	x->last_attempt = now;
	x->status = arena_strdup(e->arena, status);
	x->remote_mta = arena_strdup(e->arena, remote != NULL ? remote : "");
	x->diag = arena_strdup(e->arena, diag);
	if (x->status == NULL || x->remote_mta == NULL || x->diag == NULL)
		x->status = x->remote_mta = x->diag = "";
	switch (r->status) {
	case OUTBOUND_DELIVERED:
		queue_rcpt_final(x, SPOOL_RCPT_DELIVERED, now);
		kind = STORE_TRACE_DELIVERED;
		what = "delivered";
		q->stats.delivered++;
		break;
	case OUTBOUND_FAILED:
		queue_rcpt_final(x, SPOOL_RCPT_FAILED, now);
		kind = STORE_TRACE_FAILED;
		what = "failed";
		q->stats.failed++;
		break;
	case OUTBOUND_DEFERRED:
	default:
		if (x->first_deferral == 0)
			x->first_deferral = now;
		if (now >= expires) {
			/* the lifetime is over: fail with the last reply (RFC 3464
			 * allows the 4.x.x status on Action: failed) */
			queue_rcpt_final(x, SPOOL_RCPT_FAILED, now);
			kind = STORE_TRACE_FAILED;
			what = "expired";
			q->stats.failed++;
			break;
		}
		if (getrandom(&rnd, sizeof(rnd), GRND_NONBLOCK) != sizeof(rnd))
			rnd = (uint32_t)now;
		/* the envelope keeps seconds: round up from the real time, so no
		 * retry comes before its back-off is over */
		wait = queue_backoff_ms(x->attempts, cfg->queue.retry_min_ms,
		                        cfg->queue.retry_max_ms, rnd);
		x->next_attempt = (int64_t)((queue_now_ms() + wait + 999) / 1000);
		if (x->next_attempt > expires)
			x->next_attempt = expires;
		kind = STORE_TRACE_DEFERRED;
		what = "deferred";
		q->stats.deferred++;
		break;
	}
	snprintf(detail, sizeof(detail), "%s%s via=%s host=%s reply=%s",
	         strcmp(what, "expired") == 0 ? "lifetime expired; " : "", what, j->route.key,
	         remote != NULL && remote[0] ? remote : "-", diag);
	msgtrace_envelope(q->deps.store, &e->env, kind, x->addr, detail, now);
	log_info("queue event=%s id=%s rcpt=%s via=%s host=%s attempts=%u next=%lld reply=%s", what,
	         e->id, log_quote(qa, sizeof(qa), x->addr), j->route.key,
	         remote != NULL && remote[0] ? remote : "-", x->attempts,
	         (long long)x->next_attempt, log_quote(qd, sizeof(qd), diag));
}

/* queue_job_done - results of a job are in: write them, free the slot */
static void queue_job_done(struct queue *q, struct qjob *j)
{
	struct qentry *qe = j->qe;
	struct sx_err err = { 0 };

	if (j->running) {
		j->running = false;
		j->dest->running--;
		q->running--;
	}
	qe->jobs--;
	if (qe->jobs > 0) {
		/* other jobs still run: keep what we know durable already */
		if (spool_entry_update(q->deps.spool, qe->e, &qe->e->env, &err) < 0)
			log_error("queue event=update-failed id=%s error=\"%s\"", qe->e->id,
			          err.msg);
	} else {
		queue_finish(q, qe, true);
	}
	queue_pump_soon(q);
}

/* ---- running a job ------------------------------------------------------------ */

static void queue_job_maildir(struct queue *q, struct qjob *j)
{
	const struct smexop_config *cfg = j->gen->cfg;
	struct maildir_options mo;
	char where[4096];
	int64_t now = queue_now();
	size_t i;

	memset(&mo, 0, sizeof(mo));
	mo.root = j->route.kind == QUEUE_ROUTE_CONNECTOR && j->route.conn->maildir != NULL
	              ? j->route.conn->maildir
	              : cfg->delivery.maildir;
	mo.mode =
	    cfg->delivery.mode == CONFIG_DELIVERY_SINGLE ? MAILDIR_SINGLE : MAILDIR_PER_RECIPIENT;
	mo.hostname = cfg->server.hostname;
	q->stats.attempts++;
	for (i = 0; i < j->n; i++) {
		const struct spool_rcpt *x = &j->qe->e->env.rcpts[j->idx[i]];
		struct sx_err err = { 0 };
		struct queue_result r = { 0 };
		char text[4200];
		int rc = maildir_deliver_one(&mo, j->qe->e, x->addr, where, sizeof(where), &err);
		if (rc == 0) {
			r.status = OUTBOUND_DELIVERED;
			r.enhanced = "2.0.0";
			snprintf(text, sizeof(text), "delivered to maildir %s", where);
		} else if (rc == -2) {
			r.status = OUTBOUND_FAILED;
			r.enhanced = "5.1.3";
			snprintf(text, sizeof(text), "%s", err.msg);
		} else {
			r.status = OUTBOUND_DEFERRED;
			r.enhanced = "4.3.0";
			snprintf(text, sizeof(text), "%s", err.msg);
		}
		r.text = text;
		queue_apply(q, j, j->idx[i], &r, "", now);
	}
	queue_job_done(q, j);
}

static void queue_outbound_done(const struct outbound_result *res, void *arg)
{
	struct qjob *j = arg;
	struct queue *q = j->qe->q;
	int64_t now = queue_now();
	size_t i;

	bool unreachable = j->n > 0;

	for (i = 0; i < j->n; i++) {
		const struct outbound_rcpt_result *o = &res->rcpts[i];
		struct queue_result r = { o->status, o->code, o->enhanced, o->text };
		queue_apply(q, j, j->idx[i], &r, res->remote_host, now);
		if (o->status != OUTBOUND_DEFERRED || o->code != 0)
			unreachable = false;
	}
	/* nobody answered (connections, TLS, DNS): the destination rests for
	 * retry_min, when it is one remote (smart hosts, or one MX domain) */
	if (unreachable && queue_dest_single(&j->route)) {
		const struct smexop_config *cfg = j->gen->cfg;
		uint64_t rest = cfg->queue.retry_min_ms / 1000;
		j->dest->dead_until = now + (int64_t)(rest > 0 ? rest : 1);
		snprintf(j->dest->dead_reason, sizeof(j->dest->dead_reason), "%.*s",
		         (int)sizeof(j->dest->dead_reason) - 1, res->rcpts[0].text);
		log_info("queue event=destination-suspended via=%s until=%lld", j->dest->key,
		         (long long)j->dest->dead_until);
	}
	queue_job_done(q, j);
}

/* queue_eightbit - the message has bytes beyond ASCII */
static bool queue_eightbit(const char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if ((unsigned char)p[i] >= 0x80)
			return true;
	return false;
}

/* queue_parse_host - "host", "host:port", "[lit]", "[lit]:port" into h
 * (host in buf); 0 or -1 */
static int queue_parse_host(const char *s, char *buf, size_t bufsize, struct outbound_host *h)
{
	const char *colon;
	uint64_t port = 0;

	if (s[0] == '[') {
		const char *end = strchr(s, ']');
		if (end == NULL)
			return -1;
		snprintf(buf, bufsize, "%.*s", (int)(end - s - 1), s + 1);
		colon = end[1] == ':' ? end + 1 : NULL;
	} else {
		colon = strrchr(s, ':');
		snprintf(buf, bufsize, "%.*s", colon != NULL ? (int)(colon - s) : (int)strlen(s),
		         s);
	}
	if (colon != NULL && str_to_u64(colon + 1, strlen(colon + 1), 1, 65535, &port) < 0)
		return -1;
	h->host = buf;
	h->port = (unsigned)port;
	return 0;
}

static void queue_job_outbound(struct queue *q, struct qjob *j)
{
	const struct config_outbound_connector *c =
	    j->route.kind == QUEUE_ROUTE_CONNECTOR ? j->route.conn : NULL;
	const struct spool_envelope *env = &j->qe->e->env;
	struct outbound_request req;
	struct outbound_rcpt rc[QUEUE_MAX_RCPTS_PER_JOB];
	struct outbound_host hosts[16];
	char hostbuf[16][264];
	struct sx_err err = { 0 };
	size_t i, nh = 0;
	bool utf8 = queue_eightbit(env->sender, strlen(env->sender));

	memset(&req, 0, sizeof(req));
	req.domain = j->route.domain;
	req.protocol = c != NULL && c->type == CONFIG_OUTBOUND_LMTP ? OUTBOUND_LMTP : OUTBOUND_SMTP;
	for (i = 0; c != NULL && i < c->smart_hosts.n && nh < 16; i++)
		if (queue_parse_host(c->smart_hosts.v[i], hostbuf[nh], sizeof(hostbuf[nh]),
		                     &hosts[nh]) == 0)
			nh++;
	req.smart_hosts = nh > 0 ? hosts : NULL;
	req.nsmart_hosts = nh;
	req.tls = c == NULL                                ? OUTBOUND_TLS_OPPORTUNISTIC
	          : c->tls == CONFIG_OUTBOUND_TLS_NONE     ? OUTBOUND_TLS_NONE
	          : c->tls == CONFIG_OUTBOUND_TLS_REQUIRED ? OUTBOUND_TLS_REQUIRED
	          : c->tls == CONFIG_OUTBOUND_TLS_VERIFY   ? OUTBOUND_TLS_VERIFY
	                                                   : OUTBOUND_TLS_OPPORTUNISTIC;
	req.sender = env->sender;
	req.dsn_ret = env->dsn_ret;
	req.dsn_envid = env->dsn_envid;
	for (i = 0; i < j->n; i++) {
		const struct spool_rcpt *x = &env->rcpts[j->idx[i]];
		rc[i].addr = x->addr;
		rc[i].notify = x->notify;
		rc[i].orcpt = x->orcpt;
		utf8 = utf8 || queue_eightbit(x->addr, strlen(x->addr));
	}
	req.rcpts = rc;
	req.nrcpts = j->n;
	req.prepend = env->headers;
	req.nprepend = env->nheaders;
	req.data = j->qe->e->data;
	req.len = j->qe->e->len;
	req.eightbit = queue_eightbit(req.data, req.len);
	req.smtputf8 = utf8;
	req.trace_id = j->qe->e->id;
	req.report = env->report != SPOOL_REPORT_NONE; /* RFC 8460 5.3 */
	q->stats.attempts++;
	if (q->ob == NULL) {
		sx_err_set(&err, "SMTP/LMTP delivery is not available in this build");
	} else if (outbound_start(q->ob, &req, queue_outbound_done, j, &err) == 0) {
		return;
	}
	/* it could not even start: every recipient of the job is deferred */
	int64_t now = queue_now();
	for (i = 0; i < j->n; i++) {
		struct queue_result r = { OUTBOUND_DEFERRED, 0, "4.3.0", err.msg };
		queue_apply(q, j, j->idx[i], &r, "", now);
	}
	queue_job_done(q, j);
}

/* queue_job_suspended - defer a job at once: its destination rests */
static void queue_job_suspended(struct queue *q, struct qjob *j)
{
	char text[400];
	int64_t now = queue_now();
	size_t i;

	snprintf(text, sizeof(text), "delivery temporarily suspended: %.300s",
	         j->dest->dead_reason);
	for (i = 0; i < j->n; i++) {
		struct queue_result r = { OUTBOUND_DEFERRED, 0, "4.4.1", text };
		queue_apply(q, j, j->idx[i], &r, "", now);
	}
	queue_job_done(q, j);
}

static void queue_job_start(struct queue *q, struct qjob *j)
{
	j->running = true;
	j->dest->running++;
	q->running++;
	if (j->dest->dead_until > queue_now())
		queue_job_suspended(q, j);
	else if (j->route.kind == QUEUE_ROUTE_MAILDIR ||
	         (j->route.kind == QUEUE_ROUTE_CONNECTOR &&
	          j->route.conn->type == CONFIG_OUTBOUND_MAILDIR))
		queue_job_maildir(q, j);
	else
		queue_job_outbound(q, j);
}

/* ---- loading entries ------------------------------------------------------------ */

/* queue_group_key - the jobs of one entry: one per destination, and per
 * domain when the destination looks up MX hosts */
static void queue_group_key(const struct queue_route *r, char *out, size_t outsize)
{
	if (r->kind == QUEUE_ROUTE_CONNECTOR && r->conn->type == CONFIG_OUTBOUND_SMTP &&
	    r->conn->smart_hosts.n == 0)
		snprintf(out, outsize, "%s/%s", r->key, r->domain);
	else
		snprintf(out, outsize, "%s", r->key);
}

/* queue_plan - split qe's due recipients into jobs; the number of jobs */
static unsigned queue_plan(struct queue *q, struct qentry *qe, int64_t now)
{
	struct spool_envelope *env = &qe->e->env;
	char key[QUEUE_KEY_MAX + 260], jkey[QUEUE_KEY_MAX + 260];
	unsigned n = 0;
	size_t i;

	for (i = 0; i < env->nrcpts; i++) {
		struct spool_rcpt *x = &env->rcpts[i];
		struct queue_route r;
		struct qjob *j;

		if (x->state != SPOOL_RCPT_PENDING || x->next_attempt > now)
			continue;
		if (queue_route(queue_cfg(q), x->addr, env->direction == SPOOL_OUTBOUND, &r) < 0) {
			struct queue_result res = { OUTBOUND_FAILED, 0, "5.1.3",
				                    "bad recipient address syntax" };
			struct qjob tmp = { .qe = qe, .gen = q->gen };
			snprintf(tmp.route.key, sizeof(tmp.route.key), "none");
			queue_apply(q, &tmp, i, &res, "", now);
			continue;
		}
		queue_group_key(&r, key, sizeof(key));
		for (j = qe->joblist; j != NULL; j = j->next) {
			queue_group_key(&j->route, jkey, sizeof(jkey));
			if (!j->running && strcmp(jkey, key) == 0 && j->n < QUEUE_MAX_RCPTS_PER_JOB)
				break;
		}
		if (j == NULL) {
			j = calloc(1, sizeof(*j));
			if (j == NULL ||
			    (j->idx = calloc(QUEUE_MAX_RCPTS_PER_JOB, sizeof(*j->idx))) == NULL) {
				free(j);
				continue; /* stays pending: the next pass takes it */
			}
			j->qe = qe;
			j->route = r;
			j->gen = q->gen;
			q->gen->refs++;
			j->dest = queue_dest(q, &r);
			if (j->dest == NULL) {
				queue_gen_unref(q, j->gen);
				free(j->idx);
				free(j);
				continue;
			}
			j->next = qe->joblist;
			qe->joblist = j;
			n++;
		}
		j->idx[j->n++] = i;
	}
	return n;
}

/* queue_load - read id from queue/ and put its due recipients on the way */
static void queue_load(struct queue *q, const char *id)
{
	struct sx_err err = { 0 };
	struct spool_entry *e;
	struct qentry *qe;
	struct qjob *j;
	int64_t now = queue_now();
	unsigned njobs;

	if (queue_active_find(q, id) != NULL)
		return;
	e = spool_entry_load(q->deps.spool, SPOOL_QUEUE, id, &err);
	if (e == NULL) {
		/* gone (delivered by someone else, deleted, held) or damaged:
		 * recovery at the next start moves a damaged one to corrupt/ */
		log_debug("queue event=skip id=%s error=\"%s\"", id, err.msg);
		queue_known_forget(q, id);
		return;
	}
	if (spool_entry_lock(e) != 1) {
		spool_entry_free(e); /* another process delivers it now */
		return;
	}
	queue_known_forget(q, id);
	qe = calloc(1, sizeof(*qe));
	if (qe == NULL) {
		spool_entry_free(e);
		return;
	}
	qe->q = q;
	qe->e = e;
	qe->hnext = q->active[queue_hash(e->id)];
	q->active[queue_hash(e->id)] = qe;
	q->nactive++;
	njobs = queue_plan(q, qe, now);
	if (njobs == 0) {
		/* nothing due: a DSN still owed, an update, or only a due time */
		queue_finish(q, qe, qe->dirty);
		return;
	}
	qe->jobs = njobs;
	for (j = qe->joblist; j != NULL; j = j->next) {
		if (j->dest->wtail != NULL)
			j->dest->wtail->wnext = j;
		else
			j->dest->whead = j;
		j->dest->wtail = j;
	}
	queue_pump_soon(q);
}

/* ---- the pump: start what the limits allow --------------------------------------- */

static void queue_pump_cb(evutil_socket_t fd, short what, void *arg)
{
	struct queue *q = arg;
	const struct smexop_config *cfg = queue_cfg(q);
	bool progress = true;
	size_t i;

	(void)fd;
	(void)what;
	/* ids we were told about first, while memory allows */
	for (i = 0; i < q->npending; i++) {
		if (q->nactive < QUEUE_MAX_ACTIVE)
			queue_load(q, q->pending[i]);
		free(q->pending[i]);
	}
	q->npending = 0;
	while (progress && q->running < cfg->queue.max_concurrency) {
		struct qdest *d;
		progress = false;
		/* one job per destination per round: none starves the others */
		for (d = q->dests; d != NULL && q->running < cfg->queue.max_concurrency;
		     d = d->next) {
			struct qjob *j = d->whead;
			if (j == NULL || d->running >= d->limit)
				continue;
			d->whead = j->wnext;
			if (d->whead == NULL)
				d->wtail = NULL;
			j->wnext = NULL;
			queue_job_start(q, j);
			progress = true;
		}
	}
	queue_dest_gc(q);
	/* a scan cut short by the memory cap goes on once half is free */
	if (q->scan_more && !q->scan_wanted && q->nactive < QUEUE_MAX_ACTIVE / 2) {
		q->scan_wanted = true;
		event_active(q->scan_ev, 0, 0);
	}
}

/* ---- scanning ---------------------------------------------------------------------- */

struct queue_scan_ctx {
	struct queue *q;
	int64_t now;
	int64_t next_due; /* the earliest due time the scan skipped */
};

static int queue_scan_one(const char *id, void *arg)
{
	struct queue_scan_ctx *c = arg;
	struct queue *q = c->q;
	struct qknown *k = *queue_known_slot(q, id);

	if (k != NULL) {
		k->seen = q->scan_gen;
		if (k->due > c->now) {
			if (c->next_due == 0 || k->due < c->next_due)
				c->next_due = k->due;
			return 0;
		}
	}
	if (queue_active_find(q, id) != NULL)
		return 0;
	if (q->nactive >= QUEUE_MAX_ACTIVE)
		return 1; /* full: the next scan goes on */
	queue_load(q, id);
	return 0;
}

static void queue_scan_cb(evutil_socket_t fd, short what, void *arg)
{
	struct queue *q = arg;
	struct queue_scan_ctx c = { q, queue_now(), 0 };
	struct sx_err err = { 0 };
	int rc;

	(void)fd;
	(void)what;
	q->scan_wanted = false;
	q->scan_gen++;
	/* due times are collected again by this scan (and what it loads) */
	q->due_at = 0;
	event_del(q->due_ev);
	q->scan_more = false;
	rc = spool_scan(q->deps.spool, SPOOL_QUEUE, queue_scan_one, &c, &err);
	if (rc == 1)
		q->scan_more = true; /* memory was full: the rest once it drains */
	if (rc < 0)
		log_error("queue event=scan-failed error=\"%s\"", err.msg);
	else if (rc == 0)
		queue_known_clear(q, true); /* what the scan did not see is gone */
	queue_due_arm(q, c.next_due);       /* what is still waiting */
	queue_pump_soon(q);
}

uint64_t queue_sts_period_ms(uint64_t refresh_margin_ms)
{
	uint64_t ms = refresh_margin_ms / 8;

	if (refresh_margin_ms == 0)
		ms = (uint64_t)MTASTS_DEFAULT_REFRESH_MARGIN * 1000 / 8;
	return ms < 1000 ? 1000 : ms > 3600 * 1000 ? 3600 * 1000 : ms;
}

/* queue_sts_cb - RFC 8461 5.1: cached policies are refetched before they
 * expire, so a domain's policy stays in force between its messages */
static void queue_sts_cb(evutil_socket_t fd, short what, void *arg)
{
	struct queue *q = arg;
	int n;

	(void)fd;
	(void)what;
	n = outbound_mtasts_refresh(q->ob);
	if (n > 0)
		log_info("queue event=mta-sts-refresh started=%d", n);
}

static void queue_due_cb(evutil_socket_t fd, short what, void *arg)
{
	struct queue *q = arg;

	(void)fd;
	(void)what;
	q->due_at = 0;
	if (!q->scan_wanted) {
		q->scan_wanted = true;
		event_active(q->scan_ev, 0, 0);
	}
}

/* queue_due_arm - a scan at due (seconds) unless one is armed earlier:
 * retries come when they are due, not at the next periodic scan */
static void queue_due_arm(struct queue *q, int64_t due)
{
	struct timeval tv = { 0, 0 };
	int64_t now = queue_now();

	if (due <= 0 || q->due_ev == NULL || (q->due_at != 0 && q->due_at <= due))
		return;
	q->due_at = due;
	if (due > now)
		tv.tv_sec = (time_t)(due - now);
	evtimer_add(q->due_ev, &tv);
}

static void queue_scan_soon(struct queue *q)
{
	q->scan_wanted = true;
	if (q->scan_ev != NULL) {
		const struct smexop_config *cfg = queue_cfg(q);
		struct timeval tv = { (time_t)(cfg->queue.scan_interval_ms / 1000),
			              (suseconds_t)(cfg->queue.scan_interval_ms % 1000) * 1000 };
		/* fire now, then every interval */
		event_del(q->scan_ev);
		event_add(q->scan_ev, &tv);
		event_active(q->scan_ev, 0, 0);
	}
}

/* ---- the queue --------------------------------------------------------------------- */

struct queue *queue_new(const struct queue_deps *deps, struct smexop_config *cfg,
                        struct sx_err *err)
{
	struct queue *q;
	struct outbound_options oo;
	struct sx_err oerr = { 0 };

	if (deps == NULL || deps->base == NULL || deps->spool == NULL || cfg == NULL) {
		sx_err_set(err, "queue: missing loop, spool or configuration");
		return NULL;
	}
	q = calloc(1, sizeof(*q));
	if (q == NULL || (q->gen = calloc(1, sizeof(*q->gen))) == NULL) {
		free(q);
		sx_err_set(err, "queue: out of memory");
		return NULL;
	}
	q->deps = *deps;
	q->gen->cfg = cfg;
	q->gen->refs = 1;
	q->ctrl_fd[0] = q->ctrl_fd[1] = -1;
	if (deps->dns != NULL) {
		memset(&oo, 0, sizeof(oo));
		oo.helo_name = cfg->server.hostname;
		oo.ca_file = deps->ca_file;
		oo.dane = true;
		oo.mta_sts = cfg->mta_sts.enabled;
		oo.mta_sts_port = (unsigned)cfg->mta_sts.port;
		oo.mta_sts_ca_file = cfg->mta_sts.ca_file;
		oo.mta_sts_fetch_timeout_ms = (unsigned)cfg->mta_sts.fetch_timeout_ms;
		oo.mta_sts_refresh_margin = (uint32_t)(cfg->mta_sts.refresh_margin_ms / 1000);
		oo.tlsrpt_off = !cfg->tls_reports.enabled;
		oo.store = deps->store;
		oo.port = (unsigned)cfg->queue.direct_port;
		q->ob = outbound_new(deps->base, deps->dns, &oo, &oerr);
		if (q->ob == NULL)
			log_warn("queue event=no-smtp-delivery error=\"%s\"", oerr.msg);
	}
	q->scan_ev = event_new(deps->base, -1, EV_PERSIST, queue_scan_cb, q);
	q->pump_ev = event_new(deps->base, -1, 0, queue_pump_cb, q);
	q->due_ev = evtimer_new(deps->base, queue_due_cb, q);
	q->sts_ev = event_new(deps->base, -1, EV_PERSIST, queue_sts_cb, q);
	if (q->scan_ev == NULL || q->pump_ev == NULL || q->due_ev == NULL || q->sts_ev == NULL) {
		sx_err_set(err, "queue: cannot create events");
		return queue_free(q);
	}
	return q;
}

int queue_start(struct queue *q)
{
	const struct smexop_config *cfg;

	if (q == NULL)
		return -1;
	cfg = queue_cfg(q);
	if (q->ob != NULL && cfg->mta_sts.enabled) {
		uint64_t ms = queue_sts_period_ms(cfg->mta_sts.refresh_margin_ms);
		struct timeval tv = { (time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000 };
		event_add(q->sts_ev, &tv);
	}
	queue_scan_soon(q);
	return 0;
}

void queue_notify(struct queue *q, const char *id)
{
	if (q == NULL || id == NULL)
		return;
	if (strcmp(id, "*") == 0) {
		struct qdest *d;

		/* an admin's "retry everything" also wakes resting
		 * destinations, as Postfix's `postqueue -f` does */
		for (d = q->dests; d != NULL; d = d->next)
			d->dead_until = 0;
		queue_known_clear(q, false);
		queue_scan_soon(q);
		return;
	}
	if (!spool_envelope_id_valid(id))
		return;
	queue_known_forget(q, id);
	queue_add_pending(q, id);
}

void queue_reload(struct queue *q, struct smexop_config *cfg)
{
	struct qgen *g;

	if (q == NULL || cfg == NULL)
		return;
	g = calloc(1, sizeof(*g));
	if (g == NULL) {
		config_free(cfg);
		return;
	}
	g->cfg = cfg;
	g->refs = 1;
	q->gen->next = q->retired;
	q->retired = q->gen;
	q->gen = g;
	queue_gen_unref(q, q->retired); /* freed now unless jobs hold it */
	queue_known_clear(q, false);    /* routes and lifetimes may have changed */
	queue_scan_soon(q);
}

bool queue_idle(const struct queue *q)
{
	return q == NULL ||
	       (q->nactive == 0 && q->npending == 0 && !q->scan_wanted && !q->scan_more);
}

void queue_stats_get(const struct queue *q, struct queue_stats *st)
{
	if (q != NULL && st != NULL)
		*st = q->stats;
}

struct queue *queue_free(struct queue *q)
{
	size_t b, i;

	if (q == NULL)
		return NULL;
	/* cancelling outbound first: no callback after this point */
	q->ob = outbound_free(q->ob);
	for (b = 0; b < QUEUE_BUCKETS; b++)
		while (q->active[b] != NULL)
			queue_entry_drop(q, q->active[b]);
	queue_known_clear(q, false);
	while (q->dests != NULL) {
		struct qdest *d = q->dests;
		q->dests = d->next;
		free(d);
	}
	for (i = 0; i < q->npending; i++)
		free(q->pending[i]);
	free(q->pending);
	for (i = 0; i < 2; i++) {
		if (q->ctrl_ev[i] != NULL)
			event_free(q->ctrl_ev[i]);
		if (q->ctrl_fd[i] >= 0)
			close(q->ctrl_fd[i]);
	}
	if (q->ctrl_path[0] != '\0')
		unlink(q->ctrl_path);
	if (q->scan_ev != NULL)
		event_free(q->scan_ev);
	if (q->pump_ev != NULL)
		event_free(q->pump_ev);
	if (q->sts_ev != NULL)
		event_free(q->sts_ev);
	if (q->due_ev != NULL)
		event_free(q->due_ev);
	while (q->retired != NULL) {
		struct qgen *g = q->retired;
		q->retired = g->next;
		config_free(g->cfg);
		free(g);
	}
	if (q->gen != NULL) {
		config_free(q->gen->cfg);
		free(q->gen);
	}
	free(q);
	return NULL;
}

/* ---- control ------------------------------------------------------------------------ */

const char *queue_control_path(const char *spool_dir, char *out, size_t outsize)
{
	snprintf(out, outsize, "%s/qmgr.sock", spool_dir);
	return out;
}

static void queue_ctrl_cb(evutil_socket_t fd, short what, void *arg)
{
	struct queue *q = arg;
	char msg[QUEUE_CTRL_MAX + 1];
	int rounds;
	size_t i;

	(void)what;
	for (rounds = 0; rounds < 256; rounds++) {
		ssize_t n = recv(fd, msg, QUEUE_CTRL_MAX, MSG_DONTWAIT);
		bool stream = (q->ctrl_fd[0] == fd && q->ctrl_exit_on_eof[0]) ||
		              (q->ctrl_fd[1] == fd && q->ctrl_exit_on_eof[1]);
		if (n == 0 && !stream)
			continue; /* an empty datagram */
		if (n == 0) {
			for (i = 0; i < 2; i++)
				if (q->ctrl_fd[i] == fd && q->ctrl_exit_on_eof[i]) {
					log_info("queue event=parent-gone");
					event_base_loopexit(q->deps.base, NULL);
				}
			for (i = 0; i < 2; i++)
				if (q->ctrl_fd[i] == fd && q->ctrl_ev[i] != NULL)
					event_del(q->ctrl_ev[i]);
			return;
		}
		if (n < 0)
			return;
		/* one or more ids, each ending in a newline (or the datagram's end) */
		msg[n] = '\0';
		char *p = msg;
		while (*p != '\0') {
			char *nl = strchr(p, '\n');
			if (nl != NULL)
				*nl = '\0';
			if (*p != '\0')
				queue_notify(q, p);
			if (nl == NULL)
				break;
			p = nl + 1;
		}
	}
}

static int queue_ctrl_add(struct queue *q, int fd, bool exit_on_eof)
{
	int slot = q->ctrl_fd[0] < 0 ? 0 : q->ctrl_fd[1] < 0 ? 1 : -1;

	if (slot < 0)
		return -1;
	q->ctrl_ev[slot] = event_new(q->deps.base, fd, EV_READ | EV_PERSIST, queue_ctrl_cb, q);
	if (q->ctrl_ev[slot] == NULL || event_add(q->ctrl_ev[slot], NULL) < 0)
		return -1;
	q->ctrl_fd[slot] = fd;
	q->ctrl_exit_on_eof[slot] = exit_on_eof;
	return 0;
}

int queue_control_add_fd(struct queue *q, int fd, bool exit_on_eof)
{
	if (q == NULL || fd < 0)
		return -1;
	return queue_ctrl_add(q, fd, exit_on_eof);
}

int queue_control_listen(struct queue *q, const char *path, struct sx_err *err)
{
	struct sockaddr_un sa;
	int fd;

	if (q == NULL || path == NULL || strlen(path) >= sizeof(sa.sun_path)) {
		sx_err_set(err, "queue: control socket path too long");
		return -1;
	}
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		sx_err_set(err, "queue: socket: %s", strerror(errno));
		return -1;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	unlink(path); /* a leftover of a manager that died */
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || queue_ctrl_add(q, fd, false) < 0) {
		sx_err_set(err, "queue: %s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	snprintf(q->ctrl_path, sizeof(q->ctrl_path), "%s", path);
	return 0;
}

int queue_control_send(const char *path, const char *msg)
{
	struct sockaddr_un sa;
	ssize_t n;
	int fd;

	if (path == NULL || msg == NULL || strlen(path) >= sizeof(sa.sun_path))
		return -1;
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	n = sendto(fd, msg, strlen(msg), MSG_DONTWAIT, (struct sockaddr *)&sa, sizeof(sa));
	close(fd);
	return n == (ssize_t)strlen(msg) ? 0 : -1;
}
