/*
 * gateway - the SMTP server's hooks (smtp/smtp_hooks.h) wired to the
 * protection pipeline, the spool and the quarantine
 *
 * SUMMARY
 *	struct gateway *gw = gateway_new(&deps, cfg, &err);
 *	smtp server ... hooks = gateway_hooks(gw) ...
 *	gateway_reload(gw, new_cfg, &err);          (SIGHUP)
 *	gw = gateway_free(gw);                      (after the last session)
 *
 * DESCRIPTION
 *	One session handle per SMTP connection: a connection arena with the
 *	connection data (pipeline/msg.h), the current transaction (a struct
 *	msg, replaced on RSET and after each message) and the open spool
 *	transaction.
 *
 *	  connect     connection stage (filter, reputation): a refusal is
 *	              sent and the connection closed
 *	  rcpt        envelope stage: per-recipient 250, 550 5.4.1 ...
 *	  data_begin  spool transaction (incoming/, O_EXCL)
 *	  data_write  appended to the spool file as it arrives
 *	  data_end    parse, authentication, action stages, then exactly one
 *	              durable place: queue/ (deliver, junk) or quarantine/,
 *	              or nothing (reject: the 5xx; drop: 250, discarded).
 *	              The 250 is sent only after spool_tx_commit or
 *	              quarantine_commit returned 0 (fsync'd and renamed).
 *	Any failure the pipeline or the spool cannot classify is 451 4.3.0.
 *
 *	Configuration generations: gateway_reload() builds a new runner from
 *	a new configuration; sessions keep the generation they started with
 *	(reference counted, the one place smexop counts references) and new
 *	sessions get the new one.
 *
 * LIMITS
 *	The message is never held in memory by us: the pipeline reads the
 *	spool file through its read-only mapping.
 */
#ifndef SMEXOP_GATEWAY_GATEWAY_H
#define SMEXOP_GATEWAY_GATEWAY_H

#include <stdint.h>

#include "core/err.h"
#include "smtp/smtp_hooks.h"

struct dkim_sign_remote;
struct dns;
struct event_base;
struct smexop_config;
struct spool;
struct store;
struct workpool;

/* what the gateway uses and does not own */
struct gateway_deps {
	struct event_base *base;
	struct dns *dns;
	struct store *store; /* may be NULL: no quarantine index, no trace rows */
	struct spool *spool;
	/* threads for queue commits (their fsyncs), or NULL: committed on the loop */
	struct workpool *workpool;
	uint64_t quarantine_retention; /* seconds; 0: the quarantine's default */
	/* queued - told each spool id committed to queue/ (the queue manager's
	 * notification); may be NULL */
	void (*queued)(void *arg, const char *spool_id);
	void *queued_arg;
	/* outbound DKIM signing through the key holder; NULL: key files */
	const struct dkim_sign_remote *dkim_remote;
};

struct gateway;

/* gateway_new - cfg is taken over (freed with its generation); NULL with err */
struct gateway *gateway_new(const struct gateway_deps *deps, struct smexop_config *cfg,
                            struct sx_err *err);
/* gateway_reload - switch new sessions to cfg (taken over on success) */
int gateway_reload(struct gateway *gw, struct smexop_config *cfg, struct sx_err *err);
/* gateway_hooks - the hooks for the SMTP server (arg is gw) */
const struct smtp_hooks *gateway_hooks(struct gateway *gw);
/* gateway_sessions - sessions open now */
unsigned gateway_sessions(const struct gateway *gw);
/* gateway_config - the current generation's configuration */
const struct smexop_config *gateway_config(const struct gateway *gw);
/* gateway_free - every session must be closed; returns NULL */
struct gateway *gateway_free(struct gateway *gw);

#endif
