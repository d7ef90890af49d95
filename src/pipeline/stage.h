/*
 * stage - the one contract every pipeline stage implements, and the runner
 *
 * SUMMARY
 *	struct runner *r = runner_new(runner_default_stages, RUNNER_NDEFAULT, &env, &err);
 *	runner_run(r, m, STAGE_EV_EOM, done, arg);   ... done(m, arg) later
 *	r = runner_free(r);
 *
 * DESCRIPTION
 *	A stage is a table of operations (STYLE.md 6.3):
 *	  startup  once per process, while still privileged (open files,
 *	           bind); may be NULL
 *	  init     per configuration generation: build the stage's state
 *	           from env->cfg (compiled lists, policies); may be NULL
 *	  deinit   release that state
 *	  run      one step for one message and event, returning
 *	             CONTINUE  go on with the next stage
 *	             SUSPEND   async work started (DNS, clamd, store); the
 *	                       stage calls runner_resume(m) when it is done,
 *	                       and run is then called again for the same event
 *	             DONE      the decision for this event is final (a reject
 *	                       at connect or RCPT): skip to the trace stage
 *	             TEMPFAIL  could not decide now: 4xx
 *	             ERROR     something broke (ENOMEM, a bug): 4xx as well,
 *	                       never a 5xx and never a 2xx
 *	  clear    cancel the stage's work for a message (RSET, end of
 *	           message, close); called only for stages that ran
 *	  mem_used bytes held by the generation state, for the stats
 *
 *	Each stage says which events it handles.  The runner (runner.c) is
 *	the only code that knows their order; it runs the stages of an event
 *	in table order, parks the message on a SUSPENDed stage until
 *	runner_resume(), keeps a stages_done bitmask (a stage runs once per
 *	message unless it is `repeat`, like the envelope stage that runs per
 *	recipient) and a re-entry guard (a resume from inside run, or a second
 *	runner_run while one is in flight, is never a nested run).  The last
 *	stage of the table is `final`: the trace stage, which runs after every
 *	event whatever happened and may read but not change the verdict (the
 *	runner checks).
 *
 *	Per-message state of a stage lives in the transaction arena and is
 *	reached through stage_slot(st, m).
 *
 * DIAGNOSTICS
 *	TEMPFAIL and ERROR become verdict.action TEMPFAIL with a 4xx reply:
 *	the stage's own 4xx reply when it set one, else 451 4.3.0.  At RCPT
 *	the reply goes to the recipient being checked instead.
 */
#ifndef SMEXOP_PIPELINE_STAGE_H
#define SMEXOP_PIPELINE_STAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "pipeline/msg.h"

struct dkim_sign_remote;
struct dns;
struct event_base;
struct smexop_config;
struct store;

enum stage_event {
	STAGE_EV_CONNECT = 1u << 0, /* before the greeting */
	STAGE_EV_RCPT = 1u << 1,    /* one RCPT TO: the last recipient of m */
	STAGE_EV_EOM = 1u << 2,     /* the end of data: the whole message */
	STAGE_EV_TLS = 1u << 3,     /* TLS is up (STARTTLS or implicit): connection data only */
};

enum stage_result {
	STAGE_CONTINUE,
	STAGE_SUSPEND,
	STAGE_DONE,
	STAGE_TEMPFAIL,
	STAGE_ERROR,
};

/* What the stages share within one configuration generation. */
struct pipeline_env {
	const struct smexop_config *cfg;
	struct event_base *base;
	struct dns *dns;
	struct store *store;  /* may be NULL (no trace records) */
	int64_t (*now)(void); /* seconds since the epoch; NULL: time() */
	/* DKIM signing through the key holder (serve); NULL: the outbound
	 * stage reads the key files itself */
	const struct dkim_sign_remote *dkim_remote;
};

struct stage;

struct stage_ops {
	const char *name;
	unsigned events; /* enum stage_event bits */
	bool repeat;     /* runs again on every event it handles (RCPT) */
	bool final;      /* the trace stage: always runs last, read-only verdict */
	int (*startup)(const struct pipeline_env *env, struct sx_err *err);
	int (*init)(const struct pipeline_env *env, void **state, struct sx_err *err);
	void (*deinit)(void *state);
	enum stage_result (*run)(struct stage *st, struct msg *m, enum stage_event ev);
	void (*clear)(struct stage *st, struct msg *m);
	size_t (*mem_used)(const struct stage *st);
};

struct stage {
	const struct stage_ops *ops;
	void *state; /* from init */
	unsigned index;
	const struct pipeline_env *env;
};

/* stage_slot - the stage's per-message pointer (lives as long as m's arena) */
void **stage_slot(struct stage *st, struct msg *m);

/* the stages, in EOP order (stage_*.c) */
extern const struct stage_ops stage_connection_ops;
extern const struct stage_ops stage_envelope_ops;
extern const struct stage_ops stage_parse_ops;
extern const struct stage_ops stage_outbound_ops;
extern const struct stage_ops stage_auth_ops;
extern const struct stage_ops stage_action_ops;
extern const struct stage_ops stage_trace_ops;

/* the table `smexop serve` runs */
extern const struct stage_ops *const runner_default_stages[];
extern const size_t runner_ndefault;

/* ---- the runner ------------------------------------------------------ */

typedef void (*runner_done_fn)(struct msg *m, void *arg);

/* runner_startup - every stage's startup hook (privileged, once); 0 or -1 */
int runner_startup(const struct stage_ops *const *ops, size_t n, const struct pipeline_env *env,
                   struct sx_err *err);
/* runner_new - init every stage for env (kept by pointer); NULL with err.
 * At most MSG_MAX_STAGES stages; the final one must be last. */
struct runner *runner_new(const struct stage_ops *const *ops, size_t n,
                          const struct pipeline_env *env, struct sx_err *err);
/* runner_free - deinit every stage; no message may still be running; returns NULL */
struct runner *runner_free(struct runner *r);

/*
 * runner_run - run the stages of event ev on m; done(m, arg) is called
 * exactly once when they are through (possibly before runner_run returns,
 * when nothing suspends).  -1 when m is already being run (re-entry).
 */
int runner_run(struct runner *r, struct msg *m, enum stage_event ev, runner_done_fn done,
               void *arg);
/* runner_resume - a suspended stage's work is done: continue m */
void runner_resume(struct msg *m);
/* runner_cancel - call clear on every stage that ran for m; done is not
 * called for a run in flight.  m can be run again afterwards. */
void runner_cancel(struct msg *m);
/* runner_busy - m is being run (suspended or inside the loop) */
bool runner_busy(const struct msg *m);
/* runner_mem_used - bytes of every stage's generation state */
size_t runner_mem_used(const struct runner *r);
/* runner_stage_name - name of stage i, or NULL */
const char *runner_stage_name(const struct runner *r, unsigned i);

/* pipeline_now - env's clock */
int64_t pipeline_now(const struct pipeline_env *env);

#endif
