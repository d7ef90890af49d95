/*
 * queue - the queue manager: delivers what the spool's queue/ holds
 * through the outbound connectors, retries with back-off, and sends
 * DSNs (RFC 3464) when it gives up
 *
 * SUMMARY
 *	struct queue *q = queue_new(&deps, cfg, &err);   (cfg taken over)
 *	queue_start(q);                  scan now, then every queue.scan_interval
 *	queue_notify(q, id);             a new entry was committed ("*": rescan all)
 *	queue_reload(q, new_cfg);        SIGHUP
 *	q = queue_free(q);
 *
 * DESCRIPTION
 *	Runs in a process of its own (`smexop serve` starts `smexop queue
 *	run` after binding its ports; see docs/architecture-notes.md), on its
 *	own event loop with its own store connection and resolver, so that no
 *	delivery ever waits on the SMTP loop or the other way round.
 *
 *	Routing (queue_route): the recipient domain goes to the first
 *	outbound connector whose domains match (exact, *.example.com for
 *	subdomains, *); else mail received for us, and relayed mail to an
 *	accepted domain, goes to the built-in Maildir delivery (delivery.*),
 *	and relayed mail (the envelope's G record says outbound; DSNs to
 *	outside senders too) directly to the MX hosts of its domain
 *	(outbound.h without smart hosts).  A destination is a connector, the
 *	built-in Maildir, or a domain delivered directly; each has its own
 *	wait list and concurrency limit (connector max_concurrency, else
 *	queue.destination_concurrency), under queue.max_concurrency in all.
 *	The due recipients of one entry that share a destination travel in
 *	one transaction (at most QUEUE_MAX_RCPTS_PER_JOB).  A destination
 *	that is one remote (smart hosts, or one domain's MX hosts) where no
 *	host answered at all rests for queue.retry_min: what waits for it
 *	is deferred at once ("delivery temporarily suspended: ...").
 *
 *	State lives in the entry (spool_envelope.h A and B records): per
 *	recipient the attempts, the last attempt, the first deferral, the
 *	next attempt and the last reply.  After every transaction the
 *	envelope is replaced atomically (spool_entry_update); when every
 *	recipient is delivered or failed, the DSNs it owes are committed to
 *	the spool as new entries first, and then the entry is removed.  A
 *	crash between the two sends a DSN twice, never zero times.
 *
 *	Retries: after the n-th deferral the next attempt is retry_min *
 *	2^(n-1), at most retry_max, plus up to 10% jitter, and never later
 *	than arrival + lifetime; a recipient still deferred at that point
 *	fails (Action: failed, with the last status and reply).  Delay
 *	notices go once per recipient, queue.delay_warning after arrival.
 *	An entry whose recipients are all waiting is remembered with its due
 *	time and not read again before then (queue_notify forgets it); a
 *	timer set to the earliest due time starts a scan then, so retries
 *	do not wait for the periodic one.
 *
 *	MTA-STS and TLS-RPT: the outbound options come from mta_sts.* (the
 *	resolver's trust store, port, fetch timeout, refresh margin) and
 *	tls_reports.enabled (whether TLS sessions are recorded), read when
 *	the manager starts; a timer calls outbound_mtasts_refresh every
 *	queue_sts_period_ms.  An entry whose envelope has a K record (a
 *	TLS-RPT or DMARC report mail we made) goes with the request's report
 *	flag: TLS policy failures tolerated, not counted (RFC 8460 5.3).
 *
 *	Locking: an entry being delivered is locked (spool_entry_lock);
 *	entries another process has locked are skipped until the next scan.
 *
 * THREADS
 *	One struct queue per process, on one event loop.
 */
#ifndef SMEXOP_TRANSPORT_QUEUE_H
#define SMEXOP_TRANSPORT_QUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/config.h"
#include "core/err.h"

#define QUEUE_MAX_RCPTS_PER_JOB 100
#define QUEUE_MAX_ACTIVE        1000 /* entries in memory at once */
#define QUEUE_KEY_MAX           300

struct event_base;
struct dns;
struct spool;
struct store;
struct queue;

struct queue_deps {
	struct event_base *base;
	struct spool *spool;
	struct store *store; /* message trace; may be NULL */
	struct dns *dns;     /* SMTP, LMTP and MX delivery; NULL: those defer */
	const char *ca_file; /* trust store for tls verify; NULL: the system's */
};

struct queue_stats {
	unsigned attempts;  /* transactions */
	unsigned delivered; /* recipients */
	unsigned deferred;
	unsigned failed;
	unsigned dsns; /* notices committed */
	unsigned removed;
};

/* queue_new - the queue manager on deps.base; cfg is taken over (and freed
 * by queue_free); NULL with err */
struct queue *queue_new(const struct queue_deps *deps, struct smexop_config *cfg,
                        struct sx_err *err);
/* queue_start - scan queue/ now and every queue.scan_interval; 0 or -1 */
int queue_start(struct queue *q);
/* queue_notify - id was committed or made due (retry, release): deliver it
 * now; "*": forget every remembered due time and every resting destination,
 * and rescan */
void queue_notify(struct queue *q, const char *id);
/* queue_reload - new configuration (taken over); the old one is freed once
 * nothing in flight uses it */
void queue_reload(struct queue *q, struct smexop_config *cfg);
/* queue_idle - nothing in flight, nothing waiting, no scan pending */
bool queue_idle(const struct queue *q);
/* queue_stats_get - the counters since queue_new */
void queue_stats_get(const struct queue *q, struct queue_stats *st);
/* queue_free - cancel what runs (entries stay as last written); NULL */
struct queue *queue_free(struct queue *q);

/* ---- the control socket: how `smexop queue retry` reaches the manager -- */

/* queue_control_path - SPOOL_DIR/qmgr.sock into out */
const char *queue_control_path(const char *spool_dir, char *out, size_t outsize);
/* queue_control_listen - bind the control socket and feed what arrives
 * to queue_notify; the socket is closed by queue_free; 0 or -1 */
int queue_control_listen(struct queue *q, const char *path, struct sx_err *err);
/* queue_control_add_fd - also read ids from fd (a socketpair end from the
 * SMTP side); on end of file the loop is told to exit when exit_on_eof */
int queue_control_add_fd(struct queue *q, int fd, bool exit_on_eof);
/* queue_control_send - one message ("ID" or "*") to a running manager;
 * 0 sent, -1 nobody listens (harmless: it rescans on its own) */
int queue_control_send(const char *path, const char *msg);

/* ---- pieces with no state, unit tested ------------------------------- */

/* queue_backoff_ms - the wait after the attempts-th deferral (1, 2, ...):
 * min * 2^(attempts-1), at most max, plus rnd % (wait / 10 + 1) */
uint64_t queue_backoff_ms(unsigned attempts, uint64_t min_ms, uint64_t max_ms, uint32_t rnd);

/* queue_sts_period_ms - how often cached MTA-STS policies are checked for
 * a refresh: an eighth of mta_sts.refresh_margin (0: the default), within
 * 1 s and 1 h, so a policy is refetched several times before it expires */
uint64_t queue_sts_period_ms(uint64_t refresh_margin_ms);

/* queue_domain_match - pattern "example.com", "*.example.com" (strict
 * subdomains) or "*" against a domain, ASCII case folded */
bool queue_domain_match(const char *pattern, const char *domain);

enum queue_route_kind {
	QUEUE_ROUTE_CONNECTOR, /* an outbound connector */
	QUEUE_ROUTE_MAILDIR,   /* the built-in Maildir delivery (accepted domain) */
	QUEUE_ROUTE_DIRECT,    /* MX delivery of the recipient domain */
};

struct queue_route {
	enum queue_route_kind kind;
	const struct config_outbound_connector *conn; /* QUEUE_ROUTE_CONNECTOR */
	char domain[256];                             /* the recipient domain, lower case */
	char key[QUEUE_KEY_MAX]; /* the destination: "connector:NAME", "maildir", "mx:DOMAIN" */
};

/* queue_route - where rcpt of an inbound (received for us) or outbound
 * (relayed, G record) entry goes under cfg; -1 when it has no domain */
int queue_route(const struct smexop_config *cfg, const char *rcpt, bool outbound,
                struct queue_route *r);

#endif
