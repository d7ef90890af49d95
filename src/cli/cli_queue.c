/*
 * cli_queue - `smexop queue list|show|retry|delete|hold|release|run` and
 * `smexop deliver --once`: the delivery queue from the command line, and
 * the queue manager process itself (transport/queue.h)
 *
 *   queue list [--json]           entries of queue/ and hold/ with their
 *                                 recipients' delivery state
 *   queue show ID [--json]        one entry in full
 *   queue retry ID | --all        due now; a running manager is told
 *   queue delete ID               removed (no DSN), traced as deleted
 *   queue hold ID                 moved to hold/: no delivery until released
 *   queue release ID              back to queue/, due now
 *   queue run [--notify-fd N]     the queue manager: `smexop serve` starts it
 *                                 after binding its ports, N being its end
 *                                 of a socketpair that announces new entries
 *   deliver --once                one pass of the queue manager logic,
 *                                 without a daemon: what is due is tried,
 *                                 DSNs written, then exit
 *
 * An entry being delivered is locked by the manager: hold, delete and
 * retry on it answer "busy" (exit 1), try again a moment later.  Exit 0;
 * 2 on usage errors or an unknown id; 1 on spool or store errors.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "cli/cli.h"
#include "core/config.h"
#include "core/dns.h"
#include "core/dns_zone.h"
#include "core/log.h"
#include "core/str.h"
#include "store/store.h"
#include "transport/msgtrace.h"
#include "transport/queue.h"
#include "transport/report_sched.h"
#include "transport/spool.h"

static int cli_queue_usage(FILE *out)
{
	fprintf(out, "usage: smexop queue list [--json]\n"
	             "       smexop queue show ID [--json]\n"
	             "       smexop queue retry ID | --all\n"
	             "       smexop queue delete ID\n"
	             "       smexop queue hold ID\n"
	             "       smexop queue release ID\n"
	             "       smexop queue run [--notify-fd N]\n"
	             "  common options: -c CONFIG, --spool DIR, --db PATH\n\n"
	             "The delivery queue: entries waiting in queue/ (with each recipient's\n"
	             "attempts, next attempt and last reply) and held ones in hold/.  retry makes\n"
	             "an entry (or all) due now, hold takes one out of delivery until release,\n"
	             "delete removes it without a DSN.  A running queue manager is told at once.\n"
	             "`queue run` is the queue manager process (smexop serve starts it).\n");
	return out == stdout ? CLI_EXIT_OK : CLI_EXIT_USAGE;
}

/* ---- the manager process ------------------------------------------------- */

struct cli_qmgr {
	const char *config_path;
	struct event_base *base;
	struct dns_zone *zone;
	struct dns *dns;
	struct store *store;
	struct spool *spool;
	struct queue *q;
	struct report_sched *sched; /* DMARC and TLS-RPT reports (not with --once) */
	struct event *sig[3], *idle;
	bool once;
};

static int cli_qmgr_dns(struct cli_qmgr *m, const struct smexop_config *cfg)
{
	const struct config_dns *c = &cfg->dns;
	struct sx_err err = { 0 };

	if (c->zone_file != NULL) {
		m->zone = dns_zone_new();
		if (m->zone == NULL || dns_zone_load_file(m->zone, c->zone_file, &err) < 0) {
			fprintf(stderr, "smexop queue: %s: %s\n", c->zone_file,
			        err.msg[0] ? err.msg : "out of memory");
			return -1;
		}
		m->dns = dns_new_zone(m->base, m->zone);
	} else {
		m->dns = cli_config_resolver(m->base, c, &err);
	}
	if (m->dns == NULL) {
		fprintf(stderr, "smexop queue: dns: %s\n", err.msg[0] ? err.msg : "out of memory");
		return -1;
	}
	return 0;
}

static void cli_qmgr_signal(evutil_socket_t sig, short what, void *arg)
{
	struct cli_qmgr *m = arg;
	struct config_diag diag;
	struct smexop_config *cfg;

	(void)what;
	if (sig != SIGHUP) {
		log_info("queue event=stopping signal=%d", (int)sig);
		event_base_loopexit(m->base, NULL);
		return;
	}
	if (m->config_path == NULL)
		return;
	cfg = config_load(m->config_path, &diag);
	if (cfg == NULL) {
		log_error("queue event=reload-failed config=%s", m->config_path);
		return;
	}
	report_sched_reload(m->sched, cfg);
	queue_reload(m->q, cfg);
	log_info("queue event=reloaded config=%s", m->config_path);
}

/* cli_qmgr_reports_done - a report round may have queued mails: deliver now */
static void cli_qmgr_reports_done(void *arg)
{
	struct cli_qmgr *m = arg;

	queue_notify(m->q, "*");
}

static void cli_qmgr_idle(evutil_socket_t fd, short what, void *arg)
{
	struct cli_qmgr *m = arg;

	(void)fd;
	(void)what;
	if (queue_idle(m->q))
		event_base_loopexit(m->base, NULL);
}

static void cli_qmgr_close(struct cli_qmgr *m)
{
	size_t i;

	for (i = 0; i < 3; i++)
		if (m->sig[i] != NULL)
			event_free(m->sig[i]);
	if (m->idle != NULL)
		event_free(m->idle);
	m->sched = report_sched_free(m->sched);
	m->q = queue_free(m->q);
	m->dns = dns_free(m->dns);
	m->zone = dns_zone_free(m->zone);
	m->spool = spool_close(m->spool);
	m->store = store_close(m->store);
	/* one more turn: freeing a TLS bufferevent of the connection cache is
	 * finished by a deferred callback, which would leak its SSL otherwise */
	if (m->base != NULL)
		event_base_loop(m->base, EVLOOP_NONBLOCK);
	if (m->base != NULL)
		event_base_free(m->base);
}

/* cli_qmgr_run - the queue manager: until a signal (or, once, until idle) */
static int cli_qmgr_run(struct cli_spool_ctx *c, int notify_fd, bool once)
{
	struct cli_qmgr m;
	struct queue_deps deps;
	struct queue_stats st;
	struct sx_err err = { 0 };
	char path[600];
	struct smexop_config *cfg = c->cfg;
	int rc = 1;

	memset(&m, 0, sizeof(m));
	m.config_path = c->config;
	m.once = once;
	if (notify_fd >= 0) {
		/* started by smexop serve: die with it, whatever killed it */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() == 1)
			return 1;
	}
	if (!once)
		log_setup((enum log_target)cfg->log.target, (enum log_level)cfg->log.level,
		          "smexop-qmgr");
	signal(SIGPIPE, SIG_IGN);
	m.base = event_base_new();
	if (m.base == NULL || cli_qmgr_dns(&m, cfg) < 0)
		goto out;
	m.spool = c->sp;
	m.store = c->st;
	c->sp = NULL;
	c->st = NULL;
	queue_control_path(spool_dir(m.spool), path, sizeof(path));
	memset(&deps, 0, sizeof(deps));
	deps.base = m.base;
	deps.spool = m.spool;
	deps.store = m.store;
	deps.dns = m.dns;
	m.q = queue_new(&deps, cfg, &err);
	c->cfg = NULL; /* the queue has it now */
	if (m.q == NULL) {
		config_free(cfg);
		fprintf(stderr, "smexop queue: %s\n", err.msg);
		goto out;
	}
	if (once) {
		struct timeval tick = { 0, 20 * 1000 };
		m.idle = event_new(m.base, -1, EV_PERSIST, cli_qmgr_idle, &m);
		if (m.idle == NULL || event_add(m.idle, &tick) < 0)
			goto out;
	} else {
		if (queue_control_listen(m.q, path, &err) < 0)
			log_warn("queue event=no-control-socket error=\"%s\"", err.msg);
		if (notify_fd >= 0 && queue_control_add_fd(m.q, notify_fd, true) < 0) {
			fprintf(stderr, "smexop queue: cannot watch fd %d\n", notify_fd);
			goto out;
		}
		m.sig[0] = evsignal_new(m.base, SIGTERM, cli_qmgr_signal, &m);
		m.sig[1] = evsignal_new(m.base, SIGINT, cli_qmgr_signal, &m);
		m.sig[2] = evsignal_new(m.base, SIGHUP, cli_qmgr_signal, &m);
		if (m.sig[0] == NULL || m.sig[1] == NULL || m.sig[2] == NULL ||
		    evsignal_add(m.sig[0], NULL) < 0 || evsignal_add(m.sig[1], NULL) < 0 ||
		    evsignal_add(m.sig[2], NULL) < 0)
			goto out;
		log_info("queue event=started pid=%ld spool=%s", (long)getpid(),
		         spool_dir(m.spool));
		struct report_sched_options ro = { .base = m.base,
			                           .config_path = m.config_path,
			                           .done = cli_qmgr_reports_done,
			                           .arg = &m };
		m.sched = report_sched_new(&ro, cfg, &err);
		if (m.sched == NULL)
			log_warn("queue event=no-report-scheduler error=\"%s\"", err.msg);
	}
	if (queue_start(m.q) < 0)
		goto out;
	event_base_dispatch(m.base);
	queue_stats_get(m.q, &st);
	if (once)
		printf("attempts=%u delivered=%u deferred=%u failed=%u dsns=%u removed=%u\n",
		       st.attempts, st.delivered, st.deferred, st.failed, st.dsns, st.removed);
	else
		log_info("queue event=stopped attempts=%u delivered=%u deferred=%u failed=%u",
		         st.attempts, st.delivered, st.deferred, st.failed);
	rc = 0;
out:
	cli_qmgr_close(&m);
	return rc;
}

/* ---- list and show --------------------------------------------------------------- */

static void cli_queue_rcpt_text(FILE *out, const struct spool_rcpt *r)
{
	char t[32];

	fprintf(out, "    <%s> %s", r->addr, spool_envelope_rcpt_state_name(r->state));
	if (r->attempts > 0)
		fprintf(out, " attempts=%u", r->attempts);
	if (r->state == SPOOL_RCPT_PENDING && r->next_attempt > 0)
		fprintf(out, " next=%s", cli_spool_iso(r->next_attempt, t, sizeof(t)));
	if (r->remote_mta[0] != '\0')
		fprintf(out, " host=%s", r->remote_mta);
	if (r->diag[0] != '\0')
		fprintf(out, " reply=\"%s\"", r->diag);
	fputc('\n', out);
}

static void cli_queue_json(FILE *out, const struct spool_entry *e)
{
	const struct spool_envelope *v = &e->env;
	char n[32];
	size_t i;

	fputc('{', out);
	cli_json_field(out, "id", e->id, false);
	cli_json_field(out, "location", spool_dest_name(e->where), true);
	fprintf(out, ",\"received\":%lld,\"size\":%llu", (long long)v->received,
	        (unsigned long long)v->size);
	cli_json_field(out, "sender", v->sender, true);
	cli_json_field(out, "message_id", v->message_id, true);
	cli_json_field(out, "direction", spool_envelope_direction_name(v->direction), true);
	if (v->report != SPOOL_REPORT_NONE)
		cli_json_field(out, "report", spool_envelope_report_name(v->report), true);
	fputs(",\"recipients\":[", out);
	for (i = 0; i < v->nrcpts; i++) {
		const struct spool_rcpt *r = &v->rcpts[i];
		fputs(i ? ",{" : "{", out);
		cli_json_field(out, "address", r->addr, false);
		cli_json_field(out, "state", spool_envelope_rcpt_state_name(r->state), true);
		snprintf(n, sizeof(n), "%u", r->attempts);
		fprintf(out, ",\"attempts\":%s,\"next_attempt\":%lld,\"first_deferral\":%lld", n,
		        (long long)r->next_attempt, (long long)r->first_deferral);
		fprintf(out, ",\"last_attempt\":%lld", (long long)r->last_attempt);
		cli_json_field(out, "status", r->status, true);
		cli_json_field(out, "remote_mta", r->remote_mta, true);
		cli_json_field(out, "reply", r->diag, true);
		fprintf(out, ",\"delay_notice\":%s,\"dsn\":%s}",
		        (r->notices & SPOOL_NOTICE_DELAY) ? "true" : "false",
		        (r->notices & (SPOOL_NOTICE_FAILURE | SPOOL_NOTICE_SUCCESS)) ? "true"
		                                                                     : "false");
	}
	fputs("]}\n", out);
}

static void cli_queue_text(FILE *out, const struct spool_entry *e, bool full)
{
	const struct spool_envelope *v = &e->env;
	char t[32];
	size_t i;

	fprintf(out, "%s %s %s %llu <%s>\n", e->id, spool_dest_name(e->where),
	        cli_spool_iso(v->received, t, sizeof(t)), (unsigned long long)v->size, v->sender);
	if (full) {
		if (v->message_id[0])
			fprintf(out, "    message-id: %s\n", v->message_id);
		fprintf(out, "    direction: %s\n", spool_envelope_direction_name(v->direction));
		if (v->report != SPOOL_REPORT_NONE)
			fprintf(out, "    report: %s\n", spool_envelope_report_name(v->report));
		if (v->dsn_ret[0] || v->dsn_envid[0])
			fprintf(out, "    dsn: ret=%s envid=%s\n", v->dsn_ret[0] ? v->dsn_ret : "-",
			        v->dsn_envid[0] ? v->dsn_envid : "-");
	}
	for (i = 0; i < v->nrcpts; i++)
		if (full || v->rcpts[i].state == SPOOL_RCPT_PENDING)
			cli_queue_rcpt_text(out, &v->rcpts[i]);
}

struct cli_queue_list {
	struct spool *sp;
	enum spool_dest where;
	bool json;
	unsigned n;
};

static int cli_queue_list_one(const char *id, void *arg)
{
	struct cli_queue_list *l = arg;
	struct sx_err err = { 0 };
	struct spool_entry *e = spool_entry_load(l->sp, l->where, id, &err);

	if (e == NULL)
		return 0; /* delivered since the directory was read */
	if (l->json)
		cli_queue_json(stdout, e);
	else
		cli_queue_text(stdout, e, false);
	l->n++;
	spool_entry_free(e);
	return 0;
}

/* ---- changing entries ----------------------------------------------------------------- */

/* cli_queue_locked - load id from queue/ or hold/ and lock it; NULL with a
 * message and *rc set */
static struct spool_entry *cli_queue_locked(struct cli_spool_ctx *c, const char *id, int *rc)
{
	struct sx_err err = { 0 };
	struct spool_entry *e = spool_entry_find(c->sp, id, &err);
	int l;

	if (e == NULL) {
		fprintf(stderr, "smexop queue: %s\n", err.msg);
		*rc = CLI_EXIT_USAGE;
		return NULL;
	}
	if (e->where != SPOOL_QUEUE && e->where != SPOOL_HOLD) {
		fprintf(stderr, "smexop queue: %s is in %s/, not in the queue\n", id,
		        spool_dest_name(e->where));
		*rc = CLI_EXIT_USAGE;
		return spool_entry_free(e);
	}
	l = spool_entry_lock(e);
	if (l != 1) {
		fprintf(stderr, "smexop queue: %s: %s\n", id,
		        l == 0 ? "busy (being delivered now), try again" : strerror(errno));
		*rc = 1;
		return spool_entry_free(e);
	}
	return e;
}

/* cli_queue_due - every pending recipient of e due now; 0 or -1 */
static int cli_queue_due(struct cli_spool_ctx *c, struct spool_entry *e)
{
	struct sx_err err = { 0 };
	size_t i;

	for (i = 0; i < e->env.nrcpts; i++)
		if (e->env.rcpts[i].state == SPOOL_RCPT_PENDING)
			e->env.rcpts[i].next_attempt = 0;
	if (spool_entry_update(c->sp, e, &e->env, &err) < 0) {
		fprintf(stderr, "smexop queue: %s\n", err.msg);
		return -1;
	}
	return 0;
}

struct cli_queue_all {
	struct cli_spool_ctx *c;
	unsigned n, busy;
};

static int cli_queue_retry_one(const char *id, void *arg)
{
	struct cli_queue_all *a = arg;
	struct sx_err err = { 0 };
	struct spool_entry *e = spool_entry_load(a->c->sp, SPOOL_QUEUE, id, &err);

	if (e == NULL)
		return 0;
	if (spool_entry_lock(e) != 1)
		a->busy++; /* being delivered: that is a retry already */
	else if (cli_queue_due(a->c, e) == 0)
		a->n++;
	spool_entry_free(e);
	return 0;
}

static void cli_queue_kick(struct cli_spool_ctx *c, const char *msg)
{
	char path[600];

	queue_control_path(spool_dir(c->sp), path, sizeof(path));
	if (queue_control_send(path, msg) < 0)
		printf("(no queue manager is listening: the next `smexop serve` or "
		       "`smexop deliver --once` takes it)\n");
}

static int cli_queue_change(struct cli_spool_ctx *c, const char *sub, const char *id, bool all)
{
	struct sx_err err = { 0 };
	struct spool_entry *e;
	bool kick = false;
	int rc = CLI_EXIT_OK;

	if (strcmp(sub, "retry") == 0 && all) {
		struct cli_queue_all a = { c, 0, 0 };
		if (spool_scan(c->sp, SPOOL_QUEUE, cli_queue_retry_one, &a, &err) < 0) {
			fprintf(stderr, "smexop queue: %s\n", err.msg);
			return 1;
		}
		printf("retry: %u entries due now%s\n", a.n,
		       a.busy ? " (some are being delivered right now)" : "");
		cli_queue_kick(c, "*");
		return CLI_EXIT_OK;
	}
	e = cli_queue_locked(c, id, &rc);
	if (e == NULL)
		return rc;
	if (strcmp(sub, "retry") == 0) {
		if (e->where != SPOOL_QUEUE) {
			fprintf(stderr, "smexop queue: %s is held: release it\n", id);
			rc = CLI_EXIT_USAGE;
		} else if (cli_queue_due(c, e) < 0) {
			rc = 1;
		} else {
			printf("%s: due now\n", id);
			kick = true;
		}
	} else if (strcmp(sub, "delete") == 0) {
		if (spool_entry_remove(c->sp, e->where, id, &err) < 0) {
			fprintf(stderr, "smexop queue: %s\n", err.msg);
			rc = 1;
		} else {
			msgtrace_envelope(c->st, &e->env, STORE_TRACE_DELETED, NULL,
			                  "deleted from the queue (smexop queue delete)", c->now);
			printf("%s: deleted\n", id);
		}
	} else if (strcmp(sub, "hold") == 0 || strcmp(sub, "release") == 0) {
		bool hold = strcmp(sub, "hold") == 0;
		if (e->where == (hold ? SPOOL_HOLD : SPOOL_QUEUE)) {
			fprintf(stderr, "smexop queue: %s is %s\n", id,
			        hold ? "held already" : "not held");
			rc = CLI_EXIT_USAGE;
		} else if (spool_entry_move(c->sp, e, hold ? SPOOL_HOLD : SPOOL_QUEUE, &err) < 0) {
			fprintf(stderr, "smexop queue: %s\n", err.msg);
			rc = 1;
		} else if (!hold && cli_queue_due(c, e) < 0) {
			rc = 1;
		} else {
			printf("%s: %s\n", id, hold ? "held" : "released");
			kick = !hold;
		}
	}
	/* the manager is told only once the entry's lock is ours no more:
	 * told earlier, it would find the entry busy and leave it */
	spool_entry_free(e);
	if (kick)
		cli_queue_kick(c, id);
	return rc;
}

int cli_queue(int argc, char **argv)
{
	struct cli_spool_ctx c = { .cmd = "queue" };
	const char *sub, *arg = NULL;
	bool json = false, all = false;
	struct sx_err err = { 0 };
	uint64_t fd = 0;
	int notify_fd = -1, i, rc;

	rc = cli_subcommand(c.cmd, argc, argv,
	                    (const char *const[]){ "list", "show", "retry", "delete", "hold",
	                                           "release", "run", NULL },
	                    cli_queue_usage, &sub);
	if (rc != 0)
		return cli_opt_exit(rc);
	for (i = 2; i < argc; i++) {
		rc = cli_spool_args(&c, argc, argv, &i, cli_queue_usage);
		if (rc < 0)
			return cli_opt_exit(rc);
		if (rc > 0)
			continue;
		if (strcmp(argv[i], "--json") == 0) {
			json = true;
		} else if (strcmp(argv[i], "--all") == 0) {
			all = true;
		} else if (strcmp(argv[i], "--notify-fd") == 0 && i + 1 < argc) {
			if (str_to_u64(argv[i + 1], strlen(argv[i + 1]), 0, 65535, &fd) < 0)
				return cli_usage_error(c.cmd, "--notify-fd: not a descriptor");
			notify_fd = (int)fd;
			i++;
		} else if (argv[i][0] == '-') {
			return cli_usage_error(c.cmd, "unknown option %s", argv[i]);
		} else if (arg == NULL) {
			arg = argv[i];
		} else {
			return cli_usage_error(c.cmd, "one argument only");
		}
	}
	if (arg == NULL && !(strcmp(sub, "list") == 0 || strcmp(sub, "run") == 0 ||
	                     (strcmp(sub, "retry") == 0 && all)))
		return cli_usage_error(c.cmd, "%s: which ID?", sub);
	if (all && strcmp(sub, "retry") != 0)
		return cli_usage_error(c.cmd, "--all goes with retry");
	if (all && arg != NULL)
		return cli_usage_error(c.cmd, "retry: an ID or --all, not both");
	if ((rc = cli_spool_open(&c, true, true)) != 0)
		return rc;
	rc = CLI_EXIT_OK;
	if (strcmp(sub, "run") == 0) {
		rc = cli_qmgr_run(&c, notify_fd, false);
	} else if (strcmp(sub, "list") == 0) {
		struct cli_queue_list l = { c.sp, SPOOL_QUEUE, json, 0 };
		if (spool_scan(c.sp, SPOOL_QUEUE, cli_queue_list_one, &l, &err) < 0 ||
		    (l.where = SPOOL_HOLD,
		     spool_scan(c.sp, SPOOL_HOLD, cli_queue_list_one, &l, &err) < 0)) {
			fprintf(stderr, "smexop queue: %s\n", err.msg);
			rc = 1;
		} else if (!json && l.n == 0) {
			printf("the queue is empty\n");
		}
	} else if (strcmp(sub, "show") == 0) {
		struct spool_entry *e = spool_entry_find(c.sp, arg, &err);
		if (e == NULL) {
			fprintf(stderr, "smexop queue: %s\n", err.msg);
			rc = CLI_EXIT_USAGE;
		} else {
			if (json)
				cli_queue_json(stdout, e);
			else
				cli_queue_text(stdout, e, true);
			spool_entry_free(e);
		}
	} else {
		rc = cli_queue_change(&c, sub, arg, all);
	}
	cli_spool_close(&c);
	return rc;
}

/* ---- deliver --once ----------------------------------------------------------------- */

static int cli_deliver_usage(FILE *out)
{
	fprintf(out, "usage: smexop deliver --once [-c CONFIG] [--spool DIR] [--db PATH]\n\n"
	             "One pass of the queue manager without a daemon: every recipient that is\n"
	             "due is tried through its connector (the built-in Maildir delivery for\n"
	             "accepted domains by default), results and retry times are written to\n"
	             "the entries, DSNs are queued (and delivered in the same pass when they\n"
	             "can be), then it prints the counts and exits.  The daemon is\n"
	             "`smexop queue run`, which `smexop serve` starts on its own.\n");
	return out == stdout ? CLI_EXIT_OK : CLI_EXIT_USAGE;
}

int cli_deliver(int argc, char **argv)
{
	struct cli_spool_ctx c = { .cmd = "deliver" };
	bool once = false;
	int i, rc;

	for (i = 1; i < argc; i++) {
		rc = cli_spool_args(&c, argc, argv, &i, cli_deliver_usage);
		if (rc < 0)
			return cli_opt_exit(rc);
		if (rc > 0)
			continue;
		if (strcmp(argv[i], "--once") == 0)
			once = true;
		else
			return cli_usage_error(c.cmd, "unknown option %s", argv[i]);
	}
	if (!once)
		return cli_usage_error(c.cmd, "--once (the daemon is `smexop queue run`)");
	if ((rc = cli_spool_open(&c, true, true)) != 0)
		return rc;
	rc = cli_qmgr_run(&c, -1, true);
	cli_spool_close(&c);
	return rc;
}
