/*
 * cli_dmarc_report - `smexop dmarc report|import|summary`: DMARC
 * aggregate reports through report/dmarc_report and the store
 *
 *   report   builds one aggregate report per policy domain and interval
 *            from the messages recorded, checks the destinations (RFC
 *            7489 7.1, !size) and, with --queue, commits one report mail
 *            per destination into the spool queue (report/report_dest.h
 *            keeps each destination's state; a temporary failure leaves
 *            the report pending for the next run), and/or writes the
 *            report mail (NAME.eml) and the bare NAME.xml.gz into --out
 *            DIR; the messages are marked reported once nothing is
 *            pending.
 *   import   reads received reports (XML, .xml.gz, .zip or a mail) into
 *            the store; a report seen before is skipped.
 *   summary  per source IP and per reporting organisation: volume, pass
 *            and alignment rates, and the sources failing both aligned
 *            SPF and DKIM, largest first.
 *
 * The database is store.path of the configuration (-c FILE, else the
 * defaults), or --db PATH.  Exit 0, or 2 on usage or input errors (any
 * file that could not be imported), 1 when the store fails.
 */
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "core/arena.h"
#include "core/buf.h"
#include "core/config.h"
#include "core/dns.h"
#include "core/net.h"
#include "report/dmarc_report.h"
#include "report/report_util.h"
#include "report/report_dest.h"
#include "store/store.h"
#include "transport/report_mail.h"
#include "transport/spool.h"

struct cli_dr {
	const char *cmd;
	const char *config;
	const char *db;
	struct smexop_config *cfg;
	struct store *st;
};

/* cli_dr_common - -c/--config and --db; 1 consumed, 0 not ours, -1 error */
static int cli_dr_common(struct cli_dr *c, int argc, char **argv, int *i)
{
	const char *opt = argv[*i];

	if (strcmp(opt, "-c") != 0 && strcmp(opt, "--config") != 0 && strcmp(opt, "--db") != 0)
		return 0;
	if (*i + 1 >= argc) {
		cli_usage_error(c->cmd, "%s needs a value", opt);
		return -1;
	}
	if (strcmp(opt, "--db") == 0)
		c->db = argv[++*i];
	else
		c->config = argv[++*i];
	return 1;
}

/* cli_dr_open - load the configuration and open the store; exit code or 0 */
static int cli_dr_open(struct cli_dr *c)
{
	struct config_diag diag = { 0 };
	struct store_options so = { 0 };
	struct sx_err err = { 0 };
	char line[512];
	size_t i;

	c->cfg = config_load(c->config, &diag);
	if (c->cfg == NULL) {
		for (i = 0; i < diag.n; i++)
			fprintf(stderr, "%s\n", config_error_format(&diag, i, line, sizeof(line)));
		return CLI_EXIT_USAGE;
	}
	so.backend = STORE_BACKEND_SQLITE;
	so.path = c->db ? c->db : c->cfg->store.path;
	so.busy_timeout_ms = (unsigned)c->cfg->store.busy_timeout_ms;
	c->st = store_open(&so, &err);
	if (c->st == NULL) {
		fprintf(stderr, "smexop dmarc %s: %s\n", c->cmd + 6, err.msg);
		return 1;
	}
	return 0;
}

static void cli_dr_close(struct cli_dr *c)
{
	c->st = store_close(c->st);
	c->cfg = config_free(c->cfg);
}

static int cli_dr_time(const char *cmd, const char *opt, const char *val, int64_t *out)
{
	if (report_time_parse(val, out) < 0) {
		cli_usage_error(
		    cmd, "%s: not a time (seconds, YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ): '%s'", opt,
		    val);
		return -1;
	}
	return 0;
}

/* ==== record (for `smexop dmarc --record`) ================================ */

int cli_dmarc_record(const char *config, const char *db, const struct dmarc_outcome *o,
                     const struct dmarc_report_msg *m, int64_t t)
{
	struct cli_dr c = { .cmd = "dmarc record", .config = config, .db = db };
	struct sx_err err = { 0 };
	int rc = cli_dr_open(&c);

	if (rc == 0 && dmarc_report_record(c.st, o, m, t, &err) < 0) {
		fprintf(stderr, "smexop dmarc: --record: %s\n", err.msg);
		rc = 1;
	}
	cli_dr_close(&c);
	return rc;
}

/* ==== report ============================================================== */

static void cli_dmarc_report_usage(FILE *out)
{
	fprintf(
	    out,
	    "usage: smexop dmarc report [-c CONFIG] [--db PATH] [--domain D]\n"
	    "                           [--since T --until T] [--out DIR] [--now T] [options]\n"
	    "\n"
	    "Build the DMARC aggregate reports (RFC 7489 7.2) of the messages recorded and not\n"
	    "reported yet: one per policy domain and interval (dmarc_reports.interval, UTC\n"
	    "aligned; only intervals that have ended by --now), or one per domain for\n"
	    "[--since, --until).  rua destinations at another organisation need their\n"
	    "_report._dmarc authorisation record (RFC 7489 7.1); a !size limit is honoured.\n"
	    "With --queue, each authorised destination gets the report mail committed into\n"
	    "the spool queue; a destination whose check or queueing failed for now is retried\n"
	    "by the next run with the same report-id, and the messages are marked reported\n"
	    "only when no destination is pending.  With --out DIR (the default without\n"
	    "--queue: the current directory) the report mail (NAME.eml) and the bare\n"
	    "NAME.xml.gz are written there.\n"
	    "\n"
	    "options:\n"
	    "  -c, --config FILE     configuration (store.path, dmarc_reports.*)\n"
	    "  --db PATH             the database instead of store.path\n"
	    "  --domain D            only this policy domain\n"
	    "  --since T, --until T  the interval; T is seconds, YYYY-MM-DD or ...THH:MM:SSZ\n"
	    "  --out DIR             write the files there (default without --queue: .)\n"
	    "  --queue               queue the report mails (spool.dir) for delivery\n"
	    "  --spool DIR           the spool instead of spool.dir\n"
	    "  --now T               the current time (tests)\n"
	    "  --json                one JSON object per report\n" CLI_DNS_USAGE
	    "  --help                this text\n");
}

struct cli_auth_wait {
	struct event_base *base;
	bool done;
};

static void cli_auth_done(void *arg)
{
	struct cli_auth_wait *w = arg;

	w->done = true;
	event_base_loopbreak(w->base);
}

static const char *cli_dest_status(enum dmarc_dest_status s)
{
	switch (s) {
	case DMARC_DEST_OK:
		return "ok";
	case DMARC_DEST_PENDING:
		return "pending";
	case DMARC_DEST_UNAUTHORISED:
		return "unauthorised";
	case DMARC_DEST_TEMPFAIL:
		return "tempfail";
	case DMARC_DEST_TOO_BIG:
		return "too-big";
	case DMARC_DEST_NOT_MAILTO:
		return "not-mailto";
	}
	return "?";
}

struct cli_report_run {
	struct cli_dr *c;
	struct cli_dns *dns;
	bool dns_open;
	const char *out_dir; /* NULL: no files */
	struct spool *sp;    /* --queue */
	bool queue;
	int64_t now;
	bool json;
	unsigned reports, pending, sent;
	int ret;
};

/* one destination in this run: what the check said and what became of it */
struct cli_report_dest {
	const char *state; /* queue: "sent", "pending", "failed"; else NULL */
	const char *note;
};

/* cli_report_send - queue the report mail of every authorised destination
 * that still needs it and record each destination's state (report_dest.h) */
static int cli_report_send(struct cli_report_run *run, struct arena *a,
                           const struct dmarc_report_conf *conf, const struct dmarc_report *r,
                           struct dmarc_report_dest *d, struct cli_report_dest *cd, size_t nd,
                           struct report_dests *prev, struct sx_err *err)
{
	const struct smexop_config *cfg = run->c->cfg;
	size_t i, len;

	for (i = 0; i < nd; i++) {
		const char *uri = d[i].uri ? d[i].uri : "";
		const struct report_dest_prev *pv = report_dests_prev(prev, uri);
		enum report_dest_action act = report_dests_action(prev, uri);
		char id[SPOOL_ID_MAX];

		if (act == REPORT_DEST_SKIP) {
			cd[i].state = pv->status;
			cd[i].note = "done by an earlier run";
			continue;
		}
		switch (d[i].status) {
		case DMARC_DEST_OK: {
			if (act == REPORT_DEST_GIVE_UP) {
				cd[i].state = "failed";
				cd[i].note = "given up after too many tries";
				break;
			}
			struct report_mail m = { .sender = conf->email,
				                 .rcpt = d[i].addr,
				                 .helo = cfg->server.hostname,
				                 .verdict = "dmarc report",
				                 .now = run->now };
			m.data = dmarc_report_message(a, conf, r, &d[i], 1, run->now, &len);
			m.len = len;
			if (m.data == NULL) {
				sx_err_set(err, "out of memory");
				return -1;
			}
			if (report_mail_queue(run->sp, SPOOL_REPORT_DMARC, &m, id, sizeof(id),
			                      err) == 0) {
				cd[i].state = "sent";
				cd[i].note = arena_printf(a, "queued as %s", id);
			} else {
				cd[i].state = "pending";
				cd[i].note = arena_strdup(a, err->msg);
				run->ret = 1;
			}
			break;
		}
		case DMARC_DEST_TEMPFAIL:
		case DMARC_DEST_PENDING:
			/* the authorisation check failed for now: the next run asks again */
			cd[i].state = act == REPORT_DEST_GIVE_UP ? "failed" : "pending";
			cd[i].note =
			    act == REPORT_DEST_GIVE_UP ? "given up after too many tries" : d[i].why;
			break;
		default:
			cd[i].state = "failed";
			cd[i].note = d[i].why;
			break;
		}
		if (report_dests_set(run->c->st, prev, r->report_id, uri, cd[i].state, cd[i].note,
		                     run->now, err) < 0)
			return -1;
	}
	return 0;
}

/* cli_report_one - build, check, write or queue, and mark one report; 0,
 * 1 (empty) or -1 (message printed) */
static int cli_report_one(struct cli_report_run *run, const char *domain, int64_t begin,
                          int64_t end)
{
	const struct config_dmarc_reports *dc = &run->c->cfg->dmarc_reports;
	struct dmarc_report_conf conf = {
		.org_name = dc->org_name,
		.email = dc->email,
		.extra_contact_info = dc->extra_contact_info,
		.max_report_size = dc->max_report_size,
	};
	struct store_dmarc_sent sent = { 0 };
	struct dmarc_report_dest *d = NULL;
	struct cli_report_dest *cd = NULL;
	struct report_dests prev;
	struct dmarc_report r;
	struct sx_err err = { 0 };
	struct arena *a = arena_new();
	char *msg = NULL, *name;
	size_t nd = 0, i, mlen = 0, ok = 0, len;
	bool complete = true;
	struct buf dests;
	int rc = -1;

	buf_init(&dests, 64 * 1024);
	if (a == NULL) {
		fprintf(stderr, "smexop dmarc report: out of memory\n");
		return -1;
	}
	/* a retry keeps the report-id the destinations sent to already have */
	if (run->queue &&
	    report_dests_load(run->c->st, a, REPORT_KIND_DMARC, domain, begin, &prev, &err) < 0) {
		fprintf(stderr, "smexop dmarc report: %s\n", err.msg);
		goto out;
	}
	conf.report_id = run->queue ? prev.report_id : NULL;
	rc = dmarc_report_build(a, run->c->st, &conf, domain, begin, end, &r, &err);
	if (rc != 0) {
		if (rc < 0)
			fprintf(stderr, "smexop dmarc report: %s: %s\n", domain, err.msg);
		goto out;
	}
	rc = -1;
	if (r.record != NULL && r.rec.usable)
		nd = dmarc_report_dests(a, NULL, domain, &r.rec, false, &d);
	cd = arena_array(a, nd ? nd : 1, sizeof(*cd));
	if (cd == NULL) {
		fprintf(stderr, "smexop dmarc report: out of memory\n");
		goto out;
	}
	for (i = 0; i < nd; i++)
		if (d[i].status == DMARC_DEST_PENDING)
			break;
	if (i < nd) {
		struct cli_auth_wait w = { 0 };
		if (!run->dns_open) {
			if (cli_dns_open(run->dns, "dmarc report") < 0)
				goto out;
			run->dns_open = true;
		}
		w.base = run->dns->base;
		int s = dmarc_report_authorise_start(run->dns->dns, a, domain, d, nd, cli_auth_done,
		                                     &w);
		if (s < 0) {
			fprintf(stderr, "smexop dmarc report: out of memory\n");
			goto out;
		}
		if (s == 0)
			event_base_dispatch(run->dns->base);
		for (i = 0; i < nd; i++)
			if (d[i].status == DMARC_DEST_PENDING) {
				d[i].status = DMARC_DEST_TEMPFAIL;
				d[i].why = "the check did not finish";
			}
	}
	/* the size limits apply to the mail as sent: one per destination when
	 * queued; else one for all authorised destinations, built once to
	 * drop those it is too big for */
	msg = dmarc_report_message(a, &conf, &r, d, nd, run->now, &mlen);
	if (msg == NULL) {
		fprintf(stderr, "smexop dmarc report: out of memory\n");
		goto out;
	}
	for (i = 0; i < nd; i++) {
		if (d[i].status != DMARC_DEST_OK)
			continue;
		len = mlen;
		if (run->queue &&
		    dmarc_report_message(a, &conf, &r, &d[i], 1, run->now, &len) == NULL)
			len = mlen;
		if ((d[i].max_bytes && len > d[i].max_bytes) ||
		    (conf.max_report_size && len > conf.max_report_size)) {
			d[i].status = DMARC_DEST_TOO_BIG;
			d[i].why = "the report is larger than the destination's !size limit";
			continue;
		}
		ok++;
	}
	msg = dmarc_report_message(a, &conf, &r, d, nd, run->now, &mlen);
	if (msg == NULL) {
		fprintf(stderr, "smexop dmarc report: out of memory\n");
		goto out;
	}
	if (run->out_dir != NULL) {
		if (report_write_file(run->out_dir, r.filename, r.gz, r.gz_len, &err) < 0) {
			fprintf(stderr, "smexop dmarc report: %s\n", err.msg);
			goto out;
		}
		name = arena_printf(a, "%.*s.eml", (int)(strlen(r.filename) - 7), r.filename);
		if (ok > 0 &&
		    (name == NULL || report_write_file(run->out_dir, name, msg, mlen, &err) < 0)) {
			fprintf(stderr, "smexop dmarc report: %s\n",
			        name ? err.msg : "out of memory");
			goto out;
		}
	}
	if (run->queue) {
		if (cli_report_send(run, a, &conf, &r, d, cd, nd, &prev, &err) < 0) {
			fprintf(stderr, "smexop dmarc report: %s\n", err.msg);
			goto out;
		}
		complete = prev.pending == 0;
		run->sent += prev.sent;
	} else {
		/* written to files: a destination whose check failed for now is
		 * not lost, the report is made again by the next run */
		for (i = 0; i < nd; i++)
			if (d[i].status == DMARC_DEST_TEMPFAIL)
				complete = false;
	}
	for (i = 0; i < nd; i++) {
		bool to = run->queue ? cd[i].state != NULL && strcmp(cd[i].state, "sent") == 0
		                     : d[i].status == DMARC_DEST_OK;
		if (to && d[i].addr != NULL &&
		    buf_printf(&dests, "%s%s", dests.len ? "," : "", d[i].addr) < 0)
			break;
	}
	if (buf_putc(&dests, '\0') < 0) {
		fprintf(stderr, "smexop dmarc report: too many destinations\n");
		goto out;
	}
	sent.policy_domain = domain;
	sent.begin = begin;
	sent.end = end;
	sent.report_id = r.report_id;
	sent.destinations = dests.data;
	sent.created = run->now;
	sent.messages = r.messages;
	sent.note = dests.data[0] == '\0' ? "no destination to send to" : NULL;
	if (complete && store_dmarc_mark_reported(run->c->st, &sent, &err) < 0) {
		fprintf(stderr, "smexop dmarc report: %s\n", err.msg);
		goto out;
	}
	run->reports++;
	if (!complete)
		run->pending++;
	if (run->json) {
		printf("{\"domain\":");
		cli_json_string(stdout, domain);
		printf(",\"begin\":%lld,\"end\":%lld,\"report_id\":", (long long)begin,
		       (long long)(end - 1));
		cli_json_string(stdout, r.report_id);
		printf(",\"messages\":%llu,\"rows\":%zu,\"file\":", (unsigned long long)r.messages,
		       r.rows);
		cli_json_string(stdout, r.filename);
		printf(",\"size\":%zu,\"complete\":%s,\"destinations\":[", mlen,
		       complete ? "true" : "false");
		for (i = 0; i < nd; i++) {
			printf("%s{\"uri\":", i ? "," : "");
			cli_json_string(stdout, d[i].uri ? d[i].uri : "");
			printf(",\"status\":\"%s\"", cli_dest_status(d[i].status));
			if (d[i].why != NULL) {
				printf(",\"why\":");
				cli_json_string(stdout, d[i].why);
			}
			if (cd[i].state != NULL) {
				cli_json_field(stdout, "state", cd[i].state, true);
				cli_json_field(stdout, "note", cd[i].note, true);
			}
			printf("}");
		}
		printf("]}\n");
	} else {
		printf("%s %lld-%lld: %llu messages in %zu rows, report %s -> %s%s%s\n", domain,
		       (long long)begin, (long long)(end - 1), (unsigned long long)r.messages,
		       r.rows, r.report_id,
		       run->out_dir ? run->out_dir
		       : run->queue ? "queue"
		                    : "-",
		       ok > 0 ? "" : " (no destination)", complete ? "" : " (pending)");
		for (i = 0; i < nd; i++)
			printf("  %s: %s%s%s%s%s\n", d[i].uri ? d[i].uri : "?",
			       cli_dest_status(d[i].status), d[i].why ? ": " : "",
			       d[i].why ? d[i].why : "", cd[i].state ? " -> " : "",
			       cd[i].state ? cd[i].state : "");
	}
	rc = 0;
out:
	buf_free(&dests);
	arena_free(a);
	return rc;
}

struct cli_pending_list {
	char **v;
	size_t n;
};

static int cli_pending_cb(const struct store_dmarc_pending *p, void *arg)
{
	struct cli_pending_list *l = arg;
	char **v = realloc(l->v, (l->n + 1) * sizeof(*v));

	if (v == NULL)
		return -1;
	l->v = v;
	l->v[l->n] = strdup(p->policy_domain);
	if (l->v[l->n] == NULL)
		return -1;
	l->n++;
	return 0;
}

struct cli_first {
	int64_t first;
	bool found;
};

static int cli_first_cb(const struct store_dmarc_pending *p, void *arg)
{
	struct cli_first *f = arg;

	f->first = p->first;
	f->found = true;
	return 0;
}

int cli_dmarc_report(int argc, char **argv)
{
	struct cli_dr c = { .cmd = "dmarc report" };
	struct cli_dns d = { 0 };
	struct cli_report_run run = { .c = &c, .dns = &d };
	const char *spool_dir = NULL;
	struct cli_pending_list list = { 0 };
	struct sx_err err = { 0 };
	const char *domain = NULL;
	int64_t since = -1, until = -1, now = -1;
	int i, rc, ret = CLI_EXIT_OK;
	size_t k;

	for (i = 1; i < argc; i++) {
		const char *opt = argv[i];
		if ((rc = cli_dns_option(&d, argc, argv, &i)) != 0 ||
		    (rc = cli_dr_common(&c, argc, argv, &i)) != 0) {
			if (rc < 0)
				return CLI_EXIT_USAGE;
			continue;
		}
		if (strcmp(opt, "--help") == 0 || strcmp(opt, "-h") == 0) {
			cli_dmarc_report_usage(stdout);
			return CLI_EXIT_OK;
		}
		if (strcmp(opt, "--json") == 0) {
			run.json = true;
			continue;
		}
		if (strcmp(opt, "--queue") == 0) {
			run.queue = true;
			continue;
		}
		if (strcmp(opt, "--domain") != 0 && strcmp(opt, "--since") != 0 &&
		    strcmp(opt, "--until") != 0 && strcmp(opt, "--out") != 0 &&
		    strcmp(opt, "--now") != 0 && strcmp(opt, "--spool") != 0)
			return cli_usage_error(c.cmd, "unknown option '%s'", opt);
		if (i + 1 >= argc)
			return cli_usage_error(c.cmd, "%s needs a value", opt);
		const char *val = argv[++i];
		if (strcmp(opt, "--domain") == 0)
			domain = val;
		else if (strcmp(opt, "--out") == 0)
			run.out_dir = val;
		else if (strcmp(opt, "--spool") == 0)
			spool_dir = val;
		else if (cli_dr_time(c.cmd, opt, val,
		                     strcmp(opt, "--since") == 0   ? &since
		                     : strcmp(opt, "--until") == 0 ? &until
		                                                   : &now) < 0)
			return CLI_EXIT_USAGE;
	}
	if ((since < 0) != (until < 0))
		return cli_usage_error(c.cmd, "--since and --until go together");
	if (since >= 0 && until <= since)
		return cli_usage_error(c.cmd, "--until must be after --since");
	run.now = now >= 0 ? now : (int64_t)time(NULL);
	if (!run.queue && run.out_dir == NULL)
		run.out_dir = "."; /* as before the queue: files in the current directory */
	rc = cli_dr_open(&c);
	if (rc != 0) {
		cli_dr_close(&c);
		return rc;
	}
	if (run.queue) {
		struct spool_options so = { .dir = spool_dir ? spool_dir : c.cfg->spool.dir,
			                    .node_id = c.cfg->spool.node_id };
		run.sp = spool_open(&so, &err);
		if (run.sp == NULL) {
			fprintf(stderr, "smexop dmarc report: %s\n", err.msg);
			cli_dr_close(&c);
			return 1;
		}
	}
	int64_t step = (int64_t)(c.cfg->dmarc_reports.interval_ms / 1000);
	int64_t cutoff = since >= 0 ? until : run.now / step * step;
	if (store_dmarc_pending(c.st, domain, since >= 0 ? since : 0, cutoff, cli_pending_cb, &list,
	                        &err) != 0) {
		fprintf(stderr, "smexop dmarc report: %s\n",
		        err.msg[0] ? err.msg : "out of memory");
		ret = 1;
		goto out;
	}
	for (k = 0; k < list.n && ret == CLI_EXIT_OK; k++) {
		if (since >= 0) {
			if (cli_report_one(&run, list.v[k], since, until) < 0)
				ret = 1;
			continue;
		}
		/* interval by interval, jumping to the next one that has messages */
		int64_t cur = 0;
		for (;;) {
			struct cli_first f = { 0 };
			if (store_dmarc_pending(c.st, list.v[k], cur, cutoff, cli_first_cb, &f,
			                        &err) != 0) {
				fprintf(stderr, "smexop dmarc report: %s\n", err.msg);
				ret = 1;
				break;
			}
			if (!f.found)
				break;
			int64_t b = f.first / step * step;
			if (cli_report_one(&run, list.v[k], b, b + step) < 0) {
				ret = 1;
				break;
			}
			cur = b + step;
		}
	}
	if (!run.json && run.reports == 0 && ret == CLI_EXIT_OK)
		printf("no messages to report\n");
	else if (!run.json && run.queue)
		printf("%u reports, %u destinations sent, %u reports pending\n", run.reports,
		       run.sent, run.pending);
	if (ret == CLI_EXIT_OK && run.ret != 0)
		ret = run.ret;
out:
	for (k = 0; k < list.n; k++)
		free(list.v[k]);
	free(list.v);
	if (run.dns_open)
		cli_dns_close(&d);
	run.sp = spool_close(run.sp);
	cli_dr_close(&c);
	return ret;
}

/* ==== import ============================================================== */

static void cli_dmarc_import_usage(FILE *out)
{
	fprintf(
	    out,
	    "usage: smexop dmarc import [-c CONFIG] [--db PATH] [--json] FILE...\n"
	    "\n"
	    "Read DMARC aggregate reports received as a domain owner into the store: XML,\n"
	    ".xml.gz, .zip, or a mail with one of these attached.  A report already imported\n"
	    "(same org_name and report_id) is skipped.  A file that cannot be read gives\n"
	    "`FILE: message` on standard error and exit status 2 at the end.\n"
	    "\n"
	    "options:\n"
	    "  -c, --config FILE     configuration (store.path, dmarc_reports.max_import_size)\n"
	    "  --db PATH             the database instead of store.path\n"
	    "  --json                one JSON object per report\n"
	    "  --help                this text\n");
}

/* cli_dmarc_import_one - one file: parse, store and print its reports */
static int cli_dmarc_import_one(struct arena *a, const char *file, const unsigned char *data,
                                size_t len, void *arg)
{
	struct cli_import_ctx *ic = arg;
	struct store_dmarc_import *r;
	struct sx_err err = { 0 };
	size_t n, k;
	int rc, ret = CLI_EXIT_OK;

	if (dmarc_import_parse(a, file, data, len, ic->max, &r, &n, &err) < 0) {
		fprintf(stderr, "%s: %s\n", file, err.msg);
		return CLI_EXIT_USAGE;
	}
	for (k = 0; k < n; k++) {
		rc = store_dmarc_import_add(ic->st, &r[k], &err);
		if (rc < 0) {
			fprintf(stderr, "%s: %s\n", file, err.msg);
			ret = 1;
			continue;
		}
		if (ic->json) {
			printf("{\"file\":");
			cli_json_string(stdout, file);
			printf(",\"status\":\"%s\",\"org_name\":", rc ? "duplicate" : "imported");
			cli_json_string(stdout, r[k].org_name);
			printf(",\"report_id\":");
			cli_json_string(stdout, r[k].report_id);
			printf(",\"domain\":");
			cli_json_string(stdout, r[k].domain);
			printf(",\"begin\":%lld,\"end\":%lld,\"rows\":%zu}\n",
			       (long long)r[k].begin, (long long)r[k].end, r[k].nrows);
		} else {
			printf("%s: %s %s report %s for %s (%zu rows)\n", file,
			       rc ? "duplicate, skipped:" : "imported", r[k].org_name,
			       r[k].report_id, r[k].domain, r[k].nrows);
		}
	}
	return ret;
}

/* cli_dmarc_import_option - cli_dr_common for cli_import_args */
static int cli_dmarc_import_option(void *ctx, int argc, char **argv, int *i)
{
	return cli_dr_common(ctx, argc, argv, i);
}

int cli_dmarc_import(int argc, char **argv)
{
	struct cli_dr c = { .cmd = "dmarc import" };
	bool json = false;
	int rc, first, ret;

	rc = cli_import_args(c.cmd, argc, argv, cli_dmarc_import_option, &c, cli_dmarc_import_usage,
	                     &json, &first);
	if (rc >= 0)
		return rc;
	rc = cli_dr_open(&c);
	if (rc != 0) {
		cli_dr_close(&c);
		return rc;
	}
	struct cli_import_ctx ic = { c.st, json, (size_t)c.cfg->dmarc_reports.max_import_size };
	ret = cli_import_files(argc, argv, first, ic.max, cli_dmarc_import_one, &ic);
	cli_dr_close(&c);
	return ret;
}

/* ==== summary ============================================================= */

static void cli_dmarc_summary_usage(FILE *out)
{
	fprintf(
	    out,
	    "usage: smexop dmarc summary DOMAIN [-c CONFIG] [--db PATH] [--since T] [--until T]\n"
	    "                            [--json] [--dns ...]\n"
	    "\n"
	    "What the imported aggregate reports say about DOMAIN, per source IP and per\n"
	    "reporting organisation, largest volume first: messages, the SPF and DKIM pass\n"
	    "rates (auth_results) and alignment rates (policy_evaluated), the DMARC pass\n"
	    "rate, and the messages failing both aligned SPF and DKIM (not authorised; a\n"
	    "source where all of them do is marked).  With a DNS option, source IPs are\n"
	    "shown with their reverse DNS name.\n"
	    "\n"
	    "options:\n"
	    "  -c, --config FILE     configuration (store.path)\n"
	    "  --db PATH             the database instead of store.path\n"
	    "  --since T, --until T  reports whose range overlaps [T, T)\n"
	    "  --json                one JSON object per line of the summary\n" CLI_DNS_USAGE
	    "  --help                this text\n");
}

struct cli_summary {
	bool json;
	const char *group;
	struct cli_dns *dns; /* non-NULL: reverse DNS */
	struct arena *a;
	uint64_t lines;
};

static double pct(uint64_t n, uint64_t d)
{
	return d ? 100.0 * (double)n / (double)d : 0.0;
}

static const char *cli_ptr(struct cli_summary *s, const char *ip)
{
	struct net_addr na;
	struct dns_answer *ans;
	char name[128];

	if (s->dns == NULL || net_addr_parse(ip, &na) < 0 ||
	    net_addr_reverse(&na, NULL, name, sizeof(name)) == NULL)
		return NULL;
	snprintf(name + strlen(name), sizeof(name) - strlen(name), "%s",
	         na.family == AF_INET6 ? ".ip6.arpa" : ".in-addr.arpa");
	ans = dns_resolve_sync(s->dns->dns, s->dns->base, s->a, name, DNS_T_PTR);
	if (ans == NULL || ans->status != DNS_OK || ans->count == 0 || ans->rr[0].type != DNS_T_PTR)
		return NULL;
	return ans->rr[0].u.name;
}

static int cli_summary_cb(const struct store_dmarc_summary *r, void *arg)
{
	struct cli_summary *s = arg;
	uint64_t unauth = r->messages - r->dmarc_pass;
	const char *ptr = r->source_ip ? cli_ptr(s, r->source_ip) : NULL;

	s->lines++;
	if (s->json) {
		printf("{\"group\":\"%s\"", s->group);
		if (r->source_ip != NULL) {
			printf(",\"source_ip\":");
			cli_json_string(stdout, r->source_ip);
			if (ptr != NULL) {
				printf(",\"ptr\":");
				cli_json_string(stdout, ptr);
			}
		}
		if (r->org_name != NULL) {
			printf(",\"org_name\":");
			cli_json_string(stdout, r->org_name);
		}
		printf(",\"reports\":%llu,\"messages\":%llu,\"spf_pass\":%llu,\"spf_aligned\":%llu,"
		       "\"dkim_pass\":%llu,\"dkim_aligned\":%llu,\"dmarc_pass\":%llu,"
		       "\"unauthorised\":%llu,\"authorised\":%s,\"disposition\":{\"none\":%llu,"
		       "\"quarantine\":%llu,\"reject\":%llu}}\n",
		       (unsigned long long)r->reports, (unsigned long long)r->messages,
		       (unsigned long long)r->spf_pass, (unsigned long long)r->spf_aligned,
		       (unsigned long long)r->dkim_pass, (unsigned long long)r->dkim_aligned,
		       (unsigned long long)r->dmarc_pass, (unsigned long long)unauth,
		       r->dmarc_pass > 0 ? "true" : "false",
		       (unsigned long long)r->disposition_none,
		       (unsigned long long)r->disposition_quarantine,
		       (unsigned long long)r->disposition_reject);
		return 0;
	}
	char who[400];
	if (r->source_ip != NULL)
		snprintf(who, sizeof(who), "%s%s%s%s", r->source_ip, ptr ? " (" : "",
		         ptr ? ptr : "", ptr ? ")" : "");
	else
		snprintf(who, sizeof(who), "%s", r->org_name);
	printf("  %-40s %8llu %5.1f%% %5.1f%% %5.1f%% %5.1f%% %5.1f%% %8llu%s\n", who,
	       (unsigned long long)r->messages, pct(r->spf_pass, r->messages),
	       pct(r->spf_aligned, r->messages), pct(r->dkim_pass, r->messages),
	       pct(r->dkim_aligned, r->messages), pct(r->dmarc_pass, r->messages),
	       (unsigned long long)unauth, r->dmarc_pass == 0 ? "  NOT AUTHORISED" : "");
	return 0;
}

int cli_dmarc_summary(int argc, char **argv)
{
	struct cli_dr c = { .cmd = "dmarc summary" };
	struct cli_dns d = { 0 };
	struct cli_summary s = { 0 };
	struct sx_err err = { 0 };
	const char *domain = NULL;
	int64_t since = 0, until = INT64_MAX;
	int i, rc, ret = CLI_EXIT_OK;
	bool want_dns = false;

	for (i = 1; i < argc; i++) {
		const char *opt = argv[i];
		if ((rc = cli_dns_option(&d, argc, argv, &i)) != 0) {
			if (rc < 0)
				return CLI_EXIT_USAGE;
			want_dns = true;
			continue;
		}
		if ((rc = cli_dr_common(&c, argc, argv, &i)) != 0) {
			if (rc < 0)
				return CLI_EXIT_USAGE;
			continue;
		}
		if (strcmp(opt, "--help") == 0 || strcmp(opt, "-h") == 0) {
			cli_dmarc_summary_usage(stdout);
			return CLI_EXIT_OK;
		}
		if (strcmp(opt, "--json") == 0) {
			s.json = true;
			continue;
		}
		if (strcmp(opt, "--since") == 0 || strcmp(opt, "--until") == 0) {
			if (i + 1 >= argc)
				return cli_usage_error(c.cmd, "%s needs a value", opt);
			if (cli_dr_time(c.cmd, opt, argv[i + 1],
			                strcmp(opt, "--since") == 0 ? &since : &until) < 0)
				return CLI_EXIT_USAGE;
			i++;
			continue;
		}
		if (opt[0] == '-')
			return cli_usage_error(c.cmd, "unknown option '%s'", opt);
		if (domain != NULL)
			return cli_usage_error(c.cmd, "one DOMAIN only");
		domain = opt;
	}
	if (domain == NULL)
		return cli_usage_error(c.cmd, "no DOMAIN");
	rc = cli_dr_open(&c);
	if (rc != 0) {
		cli_dr_close(&c);
		return rc;
	}
	s.a = arena_new();
	if (s.a == NULL) {
		ret = 1;
		goto out;
	}
	if (want_dns) {
		if (cli_dns_open(&d, "dmarc summary") < 0) {
			ret = CLI_EXIT_USAGE;
			goto out;
		}
		s.dns = &d;
	}
	static const struct {
		enum store_dmarc_group g;
		const char *name, *title;
	} groups[] = {
		{ STORE_DMARC_BY_SOURCE, "source", "by source IP" },
		{ STORE_DMARC_BY_ORG, "org", "by reporting organisation" },
	};
	for (size_t g = 0; g < sizeof(groups) / sizeof(groups[0]); g++) {
		s.group = groups[g].name;
		if (!s.json)
			printf("%s%s, %s:\n  %-40s %8s %6s %6s %6s %6s %6s %8s\n", g ? "\n" : "",
			       domain, groups[g].title,
			       groups[g].g == STORE_DMARC_BY_ORG ? "reporter" : "source",
			       "messages", "spf", "spf-al", "dkim", "dkim-al", "dmarc", "unauth");
		if (store_dmarc_summary(c.st, domain, since, until, groups[g].g, cli_summary_cb, &s,
		                        &err) != 0) {
			fprintf(stderr, "smexop dmarc summary: %s\n", err.msg);
			ret = 1;
			goto out;
		}
	}
	if (!s.json && s.lines == 0)
		printf("no reports for %s\n", domain);
out:
	arena_free(s.a);
	if (s.dns != NULL)
		cli_dns_close(&d);
	cli_dr_close(&c);
	return ret;
}
