/*
 * cli_tlsrpt - `smexop tlsrpt report|import|summary`: TLS-RPT (RFC 8460)
 * through report/tlsrpt, the store and the spool
 *
 *   report   builds, per policy domain and finished period (tls_reports.
 *            interval, whole UTC days), the report of the TLS outcomes
 *            recorded, looks up the domain's _smtp._tls record and, with
 *            --queue, sends it: mailto: destinations get the RFC 8460 5.3
 *            mail committed into the spool queue (DKIM-signed when the
 *            From domain has a dkim.signing item), https: destinations a
 *            POST of the gzip (core/https).  Each destination's outcome
 *            is kept in the store: sent ones are not sent again, pending
 *            ones are retried by the next run with the same report-id,
 *            and the counters are marked reported only when none is left
 *            pending.  --out DIR writes NAME.json.gz and NAME.eml.
 *   import   reads received reports (JSON, .json.gz, or a mail) into the
 *            store; a report seen before is skipped.
 *   summary  what others report about our domains: sessions per reporter
 *            and policy, and failures per result type and MX host.
 *
 * Exit 0, or 2 on usage or input errors, 1 when the store, the spool or
 * a send fails.
 */
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "auth/dkim_keys.h"
#include "auth/dkim_sign.h"
#include "cli/cli.h"
#include "core/arena.h"
#include "core/buf.h"
#include "core/config.h"
#include "core/dns.h"
#include "core/https.h"
#include "core/str.h"
#include "mime/address.h"
#include "mime/raw.h"
#include "report/report_util.h"
#include "report/tlsrpt.h"
#include "store/store.h"
#include "report/report_dest.h"
#include "transport/report_mail.h"
#include "transport/spool.h"

#define DAY 86400

/* ==== report ================================================================ */

static void cli_tlsrpt_report_usage(FILE *out)
{
	fprintf(
	    out,
	    "usage: smexop tlsrpt report [-c CONFIG] [--db PATH] [--spool DIR] [--date "
	    "YYYY-MM-DD]\n"
	    "                            [--domain D] [--out DIR] [--queue] [--now T] [--json]\n"
	    "\n"
	    "Build the TLS-RPT reports (RFC 8460) of the TLS sessions recorded and not reported\n"
	    "yet: one per policy domain and period (tls_reports.interval, whole UTC days; only\n"
	    "periods that have ended by --now), or those of the period holding --date.  The\n"
	    "destinations are the rua= of the domain's _smtp._tls TXT record.\n"
	    "\n"
	    "Without --queue nothing is sent nor marked: the reports are only shown (and written\n"
	    "with --out).  With --queue (it needs tls_reports.enabled), mailto: destinations get\n"
	    "the report mail committed into the spool queue and https: destinations a POST; a\n"
	    "destination that fails for now is retried by the next run with the same report-id.\n"
	    "\n"
	    "options:\n"
	    "  -c, --config FILE     configuration (store.path, spool.dir, tls_reports.*)\n"
	    "  --db PATH             the database instead of store.path\n"
	    "  --spool DIR           the spool instead of spool.dir\n"
	    "  --date YYYY-MM-DD     the period holding this day (even if it has not ended)\n"
	    "  --domain D            only this policy domain\n"
	    "  --out DIR             write NAME.json.gz and the mail NAME.eml into DIR\n"
	    "  --queue               send: mail into the spool queue, POST to https:\n"
	    "  --ca-file FILE        trust store for https: (default mta_sts.ca_file, else the "
	    "system's)\n"
	    "  --now T               the current time (tests)\n"
	    "  --json                one JSON object per report\n" CLI_DNS_USAGE
	    "  --help                this text\n");
}

struct cli_tr {
	struct cli_spool_ctx c;
	struct cli_dns dns;
	bool dns_open;
	struct https_client *https;
	const char *ca_file;
	const char *out_dir;
	bool queue, json;
	unsigned reports, pending, sent;
	int ret;
};

/* one destination of one report, with what was known of it before */
struct cli_tr_dest {
	const struct tlsrpt_uri *u;
	const char *status; /* before this run: NULL, "sent", "failed", "pending" */
	const char *now_status, *note;
};

/* cli_tr_sign - the DKIM-Signature fields for msg (From conf email's
 * domain) followed by msg, in a; msg itself when there is no signing */
static char *cli_tr_sign(struct cli_tr *t, struct arena *a, char *msg, size_t *len)
{
	static const char *const extra[] = { "tls-report-domain", "tls-report-submitter" };
	const char *email = t->c.cfg->tls_reports.email, *at = strrchr(email, '@');
	const char **hdrs;
	struct raw_message raw;
	struct dkim_signing ds;
	struct sx_err err = { 0 };
	struct buf b;
	size_t n = 0, i;
	char *out = msg;

	if (at == NULL || dkim_signing_for_domain(t->c.cfg, at + 1, a, &ds, &err) <= 0) {
		if (err.msg[0] != '\0')
			fprintf(stderr, "smexop tlsrpt report: DKIM: %s (sent unsigned)\n",
			        err.msg);
		return msg;
	}
	const char *const *base = ds.opts.headers ? ds.opts.headers : dkim_sign_default_headers;
	while (base[n] != NULL)
		n++;
	hdrs = arena_array(a, n + 3, sizeof(*hdrs));
	if (hdrs == NULL)
		return msg;
	for (i = 0; i < n; i++)
		hdrs[i] = base[i];
	hdrs[n] = extra[0];
	hdrs[n + 1] = extra[1];
	hdrs[n + 2] = NULL;
	ds.opts.headers = hdrs;
	ds.opts.timestamp = (int64_t)time(NULL); /* a signature is made now, whatever --now says */
	buf_init(&b, 64 * 1024);
	if (raw_message_parse(&raw, a, msg, *len, NULL, &err) == 0 &&
	    dkim_sign(a, &raw, ds.signers, ds.nsigners, &ds.opts, &b, &err) == 0 &&
	    buf_append(&b, msg, *len) == 0) {
		out = arena_memdup(a, b.data, b.len + 1);
		if (out != NULL) {
			out[b.len] = '\0';
			*len = b.len;
		} else {
			out = msg;
		}
	} else {
		fprintf(stderr, "smexop tlsrpt report: DKIM: %s (sent unsigned)\n", err.msg);
	}
	buf_free(&b);
	return out;
}

/* cli_tr_queue - commit msg for to into the spool queue; 0 or -1 (err) */
static int cli_tr_queue(struct cli_tr *t, const char *msg, size_t len, const char *to, char *id,
                        size_t idsize, struct sx_err *err)
{
	struct report_mail m = { .sender = t->c.cfg->tls_reports.email,
		                 .rcpt = to,
		                 .helo = t->c.cfg->server.hostname,
		                 .verdict = "tlsrpt report",
		                 .now = t->c.now,
		                 .data = msg,
		                 .len = len };

	return report_mail_queue(t->c.sp, SPOOL_REPORT_TLSRPT, &m, id, idsize, err);
}

struct cli_tr_post {
	struct event_base *base;
	bool done;
	enum https_error error;
	unsigned status;
	char reason[512];
};

static void cli_tr_post_done(const struct https_response *res, void *arg)
{
	struct cli_tr_post *p = arg;

	p->done = true;
	p->error = res->error;
	p->status = res->status;
	snprintf(p->reason, sizeof(p->reason), "%s", res->reason);
	event_base_loopbreak(p->base);
}

/* cli_tr_post - POST the gzip to an https: destination; "sent", "pending"
 * or "failed" with a note */
static const char *cli_tr_post(struct cli_tr *t, struct arena *a, const struct tlsrpt_uri *u,
                               const struct tlsrpt_built *b, const char **note)
{
	struct cli_tr_post p = { 0 };
	struct https_request rq = { 0 };
	struct sx_err err = { 0 };

	if (t->https == NULL) {
		t->https = https_client_new(t->dns.base, t->dns.dns, t->ca_file, &err);
		if (t->https == NULL) {
			*note = arena_printf(a, "https: %s", err.msg);
			return "pending";
		}
	}
	rq.method = "POST";
	rq.host = u->host;
	rq.port = u->port;
	rq.path = u->path;
	rq.content_type = "application/tlsrpt+gzip";
	rq.body = b->gz;
	rq.body_len = b->gz_len;
	rq.max_body = 64 * 1024;
	p.base = t->dns.base;
	if (https_start(t->https, &rq, cli_tr_post_done, &p) == NULL) {
		*note = "https: the request could not start";
		return "pending";
	}
	while (!p.done)
		if (event_base_dispatch(t->dns.base) < 0)
			break;
	if (!p.done) {
		*note = "https: the event loop failed";
		return "pending";
	}
	if (p.error == HTTPS_OK) {
		*note = arena_printf(a, "HTTP %u", p.status);
		return "sent";
	}
	*note = arena_printf(a, "https %s: %s", https_error_name(p.error), p.reason);
	/* a 4xx other than a timeout or a rate limit will not get better */
	if (p.error == HTTPS_ERR_STATUS && p.status >= 400 && p.status < 500 && p.status != 408 &&
	    p.status != 429)
		return "failed";
	return "pending";
}

/* cli_tr_lookup - the _smtp._tls record of domain: 0, 1 none, -1 temporary */
static int cli_tr_lookup(struct cli_tr *t, struct arena *a, const char *domain,
                         struct tlsrpt_record *rec, struct sx_err *err)
{
	struct dns_answer *ans;
	char *name = tlsrpt_record_name(a, domain);

	if (!t->dns_open) {
		if (cli_dns_open(&t->dns, "tlsrpt report") < 0) {
			sx_err_set(err, "no resolver");
			return -1;
		}
		t->dns_open = true;
	}
	if (name == NULL) {
		sx_err_set(err, "out of memory");
		return -1;
	}
	ans = dns_resolve_sync(t->dns.dns, t->dns.base, a, name, DNS_T_TXT);
	if (ans == NULL) {
		sx_err_set(err, "%s: the lookup failed", name);
		return -1;
	}
	return tlsrpt_record_select(a, ans, rec, err);
}

static void cli_tr_print(struct cli_tr *t, const struct tlsrpt_built *b, int64_t begin, int64_t end,
                         const struct cli_tr_dest *d, size_t nd, const char *why, bool complete)
{
	size_t i;

	if (t->json) {
		printf("{\"domain\":");
		cli_json_string(stdout, b->policy_domain);
		printf(",\"begin\":%lld,\"end\":%lld,\"report_id\":", (long long)begin,
		       (long long)(end - 1));
		cli_json_string(stdout, b->rep.report_id);
		printf(",\"successful\":%llu,\"failed\":%llu,\"policies\":%zu,\"file\":",
		       (unsigned long long)b->successful, (unsigned long long)b->failed,
		       b->rep.npolicies);
		cli_json_string(stdout, b->filename);
		printf(",\"complete\":%s,\"destinations\":[", complete ? "true" : "false");
		for (i = 0; i < nd; i++) {
			printf("%s{\"uri\":", i ? "," : "");
			cli_json_string(stdout, d[i].u->uri);
			cli_json_field(stdout, "status", d[i].now_status, true);
			cli_json_field(stdout, "note", d[i].note, true);
			printf("}");
		}
		printf("]");
		if (why != NULL)
			cli_json_field(stdout, "note", why, true);
		printf("}\n");
		return;
	}
	printf("%s %lld-%lld: %llu successful, %llu failed sessions in %zu policies, report %s%s\n",
	       b->policy_domain, (long long)begin, (long long)(end - 1),
	       (unsigned long long)b->successful, (unsigned long long)b->failed, b->rep.npolicies,
	       b->rep.report_id, complete ? "" : " (pending)");
	if (why != NULL)
		printf("  %s\n", why);
	for (i = 0; i < nd; i++)
		printf("  %s: %s%s%s\n", d[i].u->uri, d[i].now_status, d[i].note ? ": " : "",
		       d[i].note ? d[i].note : "");
}

/* cli_tr_one - build, look up, send and mark one report; 0 or -1 */
static int cli_tr_one(struct cli_tr *t, const char *domain, int64_t begin, int64_t end)
{
	const struct config_tls_reports *tc = &t->c.cfg->tls_reports;
	struct tlsrpt_conf conf = { .org_name = tc->org_name,
		                    .email = tc->email,
		                    .submitter = tc->submitter };
	struct arena *a = arena_new();
	struct report_dests prev;
	struct cli_tr_dest d[TLSRPT_MAX_URIS];
	struct tlsrpt_record rec;
	struct tlsrpt_built b;
	struct sx_err err = { 0 };
	const char *why = NULL;
	size_t nd = 0, i, mlen = 0;
	bool complete = true;
	char *msg = NULL;
	int rc = -1, r;

	if (a == NULL) {
		fprintf(stderr, "smexop tlsrpt report: out of memory\n");
		return -1;
	}
	if (report_dests_load(t->c.st, a, REPORT_KIND_TLSRPT, domain, begin, &prev, &err) != 0)
		goto store_fail;
	r = tlsrpt_report_build(a, t->c.st, &conf, domain, begin, end, prev.report_id, &b, &err);
	if (r != 0) {
		if (r > 0)
			rc = 0;
		else
			fprintf(stderr, "smexop tlsrpt report: %s: %s\n", domain, err.msg);
		goto out;
	}
	t->reports++;
	r = cli_tr_lookup(t, a, domain, &rec, &err);
	if (r < 0) {
		why = arena_printf(a, "_smtp._tls: %s: retried next run", err.msg);
		complete = false;
	} else if (r > 0) {
		why = arena_printf(a, "_smtp._tls: %s: nobody to send to", err.msg);
	}
	for (i = 0; r == 0 && i < rec.nrua; i++) {
		const struct report_dest_prev *pv = report_dests_prev(&prev, rec.rua[i].uri);
		d[nd].u = &rec.rua[i];
		d[nd].status = pv != NULL ? pv->status : NULL;
		d[nd].note = NULL;
		d[nd].now_status = d[nd].status ? d[nd].status : "new";
		nd++;
	}
	if (t->out_dir != NULL &&
	    report_write_file(t->out_dir, b.filename, b.gz, b.gz_len, &err) < 0) {
		fprintf(stderr, "smexop tlsrpt report: %s\n", err.msg);
		goto out;
	}
	for (i = 0; i < nd; i++) {
		const struct tlsrpt_uri *u = d[i].u;
		enum report_dest_action act = report_dests_action(&prev, u->uri);
		size_t len;
		if (u->kind == TLSRPT_URI_MAILTO) {
			msg =
			    tlsrpt_report_message(a, &conf, &b, u->addr, (int64_t)time(NULL), &len);
			if (msg == NULL) {
				fprintf(stderr, "smexop tlsrpt report: out of memory\n");
				goto out;
			}
			msg = cli_tr_sign(t, a, msg, &len);
			mlen = len;
			if (t->out_dir != NULL) {
				char *name =
				    arena_printf(a, "%.*s.%zu.eml", (int)(strlen(b.filename) - 8),
				                 b.filename, i);
				if (name == NULL ||
				    report_write_file(t->out_dir, name, msg, mlen, &err) < 0) {
					fprintf(stderr, "smexop tlsrpt report: %s\n",
					        name ? err.msg : "out of memory");
					goto out;
				}
			}
		}
		if (!t->queue || act == REPORT_DEST_SKIP)
			continue;
		if (act == REPORT_DEST_GIVE_UP) {
			d[i].now_status = "failed";
			d[i].note = "given up after too many tries";
		} else if (u->kind == TLSRPT_URI_MAILTO) {
			char id[SPOOL_ID_MAX];
			if (cli_tr_queue(t, msg, mlen, u->addr, id, sizeof(id), &err) == 0) {
				d[i].now_status = "sent";
				d[i].note = arena_printf(a, "queued as %s", id);
			} else {
				d[i].now_status = "pending";
				d[i].note = arena_strdup(a, err.msg);
				t->ret = 1;
			}
		} else {
			d[i].now_status = cli_tr_post(t, a, u, &b, &d[i].note);
		}
		if (report_dests_set(t->c.st, &prev, b.rep.report_id, u->uri, d[i].now_status,
		                     d[i].note, t->c.now, &err) < 0)
			goto store_fail;
	}
	t->sent += prev.sent;
	for (i = 0; i < nd; i++)
		if (strcmp(d[i].now_status, "pending") == 0 || strcmp(d[i].now_status, "new") == 0)
			complete = false;
	if (!t->queue)
		complete = false;
	if (complete &&
	    store_tlsrpt_mark_reported(t->c.st, domain, begin, end, b.rep.report_id, &err) < 0)
		goto store_fail;
	if (!complete && t->queue)
		t->pending++;
	cli_tr_print(t, &b, begin, end, d, nd, why, complete);
	rc = 0;
	goto out;
store_fail:
	fprintf(stderr, "smexop tlsrpt report: %s\n", err.msg);
out:
	arena_free(a);
	return rc;
}

struct cli_tr_item {
	char *domain;
	int64_t begin;
};

struct cli_tr_list {
	struct cli_tr_item *v;
	size_t n;
	int64_t step;
};

static int cli_tr_pending_cb(const struct store_tlsrpt_pending *p, void *arg)
{
	struct cli_tr_list *l = arg;
	int64_t b = p->day / l->step * l->step;
	struct cli_tr_item *v;
	size_t i;

	for (i = 0; i < l->n; i++)
		if (l->v[i].begin == b && strcmp(l->v[i].domain, p->policy_domain) == 0)
			return 0;
	v = realloc(l->v, (l->n + 1) * sizeof(*v));
	if (v == NULL)
		return -1;
	l->v = v;
	l->v[l->n].begin = b;
	l->v[l->n].domain = strdup(p->policy_domain);
	if (l->v[l->n].domain == NULL)
		return -1;
	l->n++;
	return 0;
}

static int cli_tlsrpt_report(int argc, char **argv)
{
	struct cli_tr t = { .c = { .cmd = "tlsrpt report" } };
	struct cli_tr_list list = { 0 };
	struct sx_err err = { 0 };
	const char *domain = NULL, *date = NULL;
	int64_t day = -1;
	int i, rc;
	size_t k;

	for (i = 1; i < argc; i++) {
		const char *opt = argv[i];
		if ((rc = cli_spool_option(&t.c, argc, argv, &i)) != 0 ||
		    (rc = cli_common_option(&t.dns, &t.json, cli_tlsrpt_report_usage, argc, argv,
		                            &i)) != 0) {
			if (rc < 0)
				return cli_opt_exit(rc);
			continue;
		}
		if (strcmp(opt, "--queue") == 0) {
			t.queue = true;
			continue;
		}
		if (strcmp(opt, "--domain") != 0 && strcmp(opt, "--out") != 0 &&
		    strcmp(opt, "--date") != 0 && strcmp(opt, "--ca-file") != 0)
			return cli_usage_error(t.c.cmd, "unknown option '%s'", opt);
		if (i + 1 >= argc)
			return cli_usage_error(t.c.cmd, "%s needs a value", opt);
		const char *val = argv[++i];
		if (strcmp(opt, "--domain") == 0)
			domain = val;
		else if (strcmp(opt, "--out") == 0)
			t.out_dir = val;
		else if (strcmp(opt, "--ca-file") == 0)
			t.ca_file = val;
		else
			date = val;
	}
	if (date != NULL && (report_time_parse(date, &day) < 0 || strchr(date, '-') == NULL))
		return cli_usage_error(t.c.cmd, "--date: not YYYY-MM-DD: '%s'", date);
	rc = cli_spool_open(&t.c, t.queue, true);
	if (rc != 0) {
		cli_spool_close(&t.c);
		return rc;
	}
	if (t.queue && !t.c.cfg->tls_reports.enabled) {
		fprintf(stderr,
		        "smexop tlsrpt report: tls_reports.enabled is false: nothing is sent "
		        "(leave out --queue to see the reports)\n");
		cli_spool_close(&t.c);
		return CLI_EXIT_USAGE;
	}
	if (t.ca_file == NULL)
		t.ca_file = t.c.cfg->mta_sts.ca_file;
	list.step = (int64_t)(t.c.cfg->tls_reports.interval_ms / 1000);
	if (list.step < DAY)
		list.step = DAY;
	int64_t since = 0, until = t.c.now / list.step * list.step;
	if (day >= 0) {
		since = day / list.step * list.step;
		until = since + list.step;
	}
	if (store_tlsrpt_pending(t.c.st, domain, since, until, cli_tr_pending_cb, &list, &err) !=
	    0) {
		fprintf(stderr, "smexop tlsrpt report: %s\n",
		        err.msg[0] ? err.msg : "out of memory");
		t.ret = 1;
		goto out;
	}
	for (k = 0; k < list.n; k++)
		if (cli_tr_one(&t, list.v[k].domain, list.v[k].begin, list.v[k].begin + list.step) <
		    0)
			t.ret = 1;
	if (!t.json && t.reports == 0 && t.ret == 0)
		printf("no TLS sessions to report\n");
	else if (!t.json && t.queue)
		printf("%u reports, %u destinations sent, %u reports pending\n", t.reports, t.sent,
		       t.pending);
out:
	for (k = 0; k < list.n; k++)
		free(list.v[k].domain);
	free(list.v);
	t.https = https_client_free(t.https);
	if (t.dns_open)
		cli_dns_close(&t.dns);
	cli_spool_close(&t.c);
	return t.ret;
}

/* ==== import ================================================================= */

static void cli_tlsrpt_import_usage(FILE *out)
{
	fprintf(out,
	        "usage: smexop tlsrpt import [-c CONFIG] [--db PATH] [--json] FILE...\n"
	        "\n"
	        "Read TLS-RPT reports (RFC 8460) other senders sent about our domains into the\n"
	        "store: JSON, .json.gz, or a mail with an application/tlsrpt+gzip (or +json)\n"
	        "part.  A report already imported (same organization-name and report-id) is\n"
	        "skipped.  A file that cannot be read gives `FILE: message` on standard error and\n"
	        "exit status 2 at the end.\n"
	        "\n"
	        "options:\n"
	        "  -c, --config FILE     configuration (store.path, tls_reports.max_import_size)\n"
	        "  --db PATH             the database instead of store.path\n"
	        "  --json                one JSON object per report\n"
	        "  --help                this text\n");
}

/* cli_tlsrpt_import_one - one file: parse, store and print its reports */
static int cli_tlsrpt_import_one(struct arena *a, const char *file, const unsigned char *data,
                                 size_t len, void *arg)
{
	struct cli_import_ctx *ic = arg;
	struct store_tlsrpt_report *r;
	struct sx_err err = { 0 };
	size_t n, k;
	int rc, ret = CLI_EXIT_OK;

	if (tlsrpt_import_parse(a, file, data, len, ic->max, &r, &n, &err) < 0) {
		fprintf(stderr, "%s: %s\n", file, err.msg);
		return CLI_EXIT_USAGE;
	}
	for (k = 0; k < n; k++) {
		uint64_t ok = 0, bad = 0;
		for (size_t p = 0; p < r[k].npolicies; p++) {
			ok += r[k].policies[p].successful;
			bad += r[k].policies[p].failed;
		}
		rc = store_tlsrpt_import_add(ic->st, &r[k], &err);
		if (rc < 0) {
			fprintf(stderr, "%s: %s\n", file, err.msg);
			ret = 1;
			continue;
		}
		if (ic->json) {
			printf("{\"file\":");
			cli_json_string(stdout, file);
			printf(",\"status\":\"%s\"", rc ? "duplicate" : "imported");
			cli_json_field(stdout, "organization_name", r[k].org_name, true);
			cli_json_field(stdout, "report_id", r[k].report_id, true);
			printf(",\"begin\":%lld,\"end\":%lld,\"policies\":%zu,"
			       "\"successful\":%llu,\"failed\":%llu}\n",
			       (long long)r[k].begin, (long long)r[k].end, r[k].npolicies,
			       (unsigned long long)ok, (unsigned long long)bad);
		} else {
			printf("%s: %s %s report %s (%zu policies, %llu successful, "
			       "%llu failed sessions)\n",
			       file, rc ? "duplicate, skipped:" : "imported", r[k].org_name,
			       r[k].report_id, r[k].npolicies, (unsigned long long)ok,
			       (unsigned long long)bad);
		}
	}
	return ret;
}

/* cli_tlsrpt_import_option - cli_spool_option for cli_import_args */
static int cli_tlsrpt_import_option(void *ctx, int argc, char **argv, int *i)
{
	return cli_spool_option(ctx, argc, argv, i);
}

static int cli_tlsrpt_import(int argc, char **argv)
{
	struct cli_spool_ctx c = { .cmd = "tlsrpt import" };
	bool json = false;
	int rc, first, ret;

	rc = cli_import_args(c.cmd, argc, argv, cli_tlsrpt_import_option, &c,
	                     cli_tlsrpt_import_usage, &json, &first);
	if (rc >= 0)
		return rc;
	rc = cli_spool_open(&c, false, true);
	if (rc != 0) {
		cli_spool_close(&c);
		return rc;
	}
	struct cli_import_ctx ic = { c.st, json, (size_t)c.cfg->tls_reports.max_import_size };
	ret = cli_import_files(argc, argv, first, ic.max, cli_tlsrpt_import_one, &ic);
	cli_spool_close(&c);
	return ret;
}

/* ==== summary ================================================================== */

static void cli_tlsrpt_summary_usage(FILE *out)
{
	fprintf(out,
	        "usage: smexop tlsrpt summary [-c CONFIG] [--db PATH] [--domain D] [--since T]\n"
	        "                             [--until T] [--json]\n"
	        "\n"
	        "What the imported TLS-RPT reports say about our domains: per policy domain,\n"
	        "reporting organisation and policy type the successful and failed sessions, then\n"
	        "the failures per result type and MX host, largest first.\n"
	        "\n"
	        "options:\n"
	        "  -c, --config FILE     configuration (store.path)\n"
	        "  --db PATH             the database instead of store.path\n"
	        "  --domain D            only this policy domain\n"
	        "  --since T, --until T  reports whose range overlaps [T, T); T is seconds,\n"
	        "                        YYYY-MM-DD[THH:MM:SSZ] or a duration ago (\"7d\")\n"
	        "  --json                one JSON object per line of the summary\n"
	        "  --help                this text\n");
}

struct cli_ts {
	bool json;
	const char *group;
	uint64_t lines;
};

static int cli_ts_cb(const struct store_tlsrpt_summary *s, void *arg)
{
	struct cli_ts *w = arg;

	w->lines++;
	if (w->json) {
		printf("{\"group\":\"%s\"", w->group);
		cli_json_field(stdout, "policy_domain", s->policy_domain, true);
		if (s->org_name != NULL) {
			cli_json_field(stdout, "organization_name", s->org_name, true);
			cli_json_field(stdout, "policy_type", s->policy_type, true);
			printf(",\"reports\":%llu,\"successful\":%llu,\"failed\":%llu}\n",
			       (unsigned long long)s->reports, (unsigned long long)s->successful,
			       (unsigned long long)s->failed);
		} else {
			cli_json_field(stdout, "result_type", s->result_type, true);
			cli_json_field(stdout, "receiving_mx_hostname", s->receiving_mx_hostname,
			               true);
			printf(",\"reports\":%llu,\"failed\":%llu}\n",
			       (unsigned long long)s->reports, (unsigned long long)s->failed);
		}
		return 0;
	}
	if (s->org_name != NULL) {
		uint64_t total = s->successful + s->failed;
		printf("  %-24s %-28s %-16s %8llu %10llu %8llu %6.1f%%\n", s->policy_domain,
		       s->org_name, s->policy_type, (unsigned long long)s->reports,
		       (unsigned long long)s->successful, (unsigned long long)s->failed,
		       total ? 100.0 * (double)s->failed / (double)total : 0.0);
	} else {
		printf("  %-24s %-28s %-32s %8llu %8llu\n", s->policy_domain, s->result_type,
		       s->receiving_mx_hostname[0] ? s->receiving_mx_hostname : "-",
		       (unsigned long long)s->reports, (unsigned long long)s->failed);
	}
	return 0;
}

static int cli_tlsrpt_summary(int argc, char **argv)
{
	struct cli_spool_ctx c = { .cmd = "tlsrpt summary" };
	struct cli_ts w = { 0 };
	struct sx_err err = { 0 };
	const char *domain = NULL, *since_arg = NULL, *until_arg = NULL;
	int64_t since = 0, until = INT64_MAX;
	int i, rc, ret = CLI_EXIT_OK;

	for (i = 1; i < argc; i++) {
		const char *opt = argv[i];
		if ((rc = cli_spool_option(&c, argc, argv, &i)) != 0) {
			if (rc < 0)
				return CLI_EXIT_USAGE;
			continue;
		}
		if (strcmp(opt, "--help") == 0 || strcmp(opt, "-h") == 0) {
			cli_tlsrpt_summary_usage(stdout);
			return CLI_EXIT_OK;
		}
		if (strcmp(opt, "--json") == 0) {
			w.json = true;
			continue;
		}
		if (strcmp(opt, "--domain") != 0 && strcmp(opt, "--since") != 0 &&
		    strcmp(opt, "--until") != 0)
			return cli_usage_error(c.cmd, "unknown option '%s'", opt);
		if (i + 1 >= argc)
			return cli_usage_error(c.cmd, "%s needs a value", opt);
		if (strcmp(opt, "--domain") == 0)
			domain = argv[++i];
		else if (strcmp(opt, "--since") == 0)
			since_arg = argv[++i];
		else
			until_arg = argv[++i];
	}
	rc = cli_spool_open(&c, false, true);
	if (rc != 0) {
		cli_spool_close(&c);
		return rc;
	}
	if ((since_arg != NULL && cli_spool_time(since_arg, c.now, &since) < 0) ||
	    (until_arg != NULL && cli_spool_time(until_arg, c.now, &until) < 0)) {
		ret = cli_usage_error(c.cmd, "--since/--until: not a time");
		goto out;
	}
	static const struct {
		enum store_tlsrpt_group g;
		const char *name, *title;
	} groups[] = {
		{ STORE_TLSRPT_BY_ORG, "reporter", "sessions by reporter and policy" },
		{ STORE_TLSRPT_BY_FAILURE, "failure", "failures by result type and MX host" },
	};
	for (size_t g = 0; g < sizeof(groups) / sizeof(groups[0]); g++) {
		w.group = groups[g].name;
		if (!w.json && groups[g].g == STORE_TLSRPT_BY_ORG)
			printf("%s:\n  %-24s %-28s %-16s %8s %10s %8s %7s\n", groups[g].title,
			       "policy domain", "reporter", "policy", "reports", "successful",
			       "failed", "fail%");
		else if (!w.json)
			printf("\n%s:\n  %-24s %-28s %-32s %8s %8s\n", groups[g].title,
			       "policy domain", "result type", "MX host", "reports", "sessions");
		if (store_tlsrpt_summary(c.st, domain, since, until, groups[g].g, cli_ts_cb, &w,
		                         &err) != 0) {
			fprintf(stderr, "smexop tlsrpt summary: %s\n", err.msg);
			ret = 1;
			goto out;
		}
	}
	if (!w.json && w.lines == 0)
		printf("no TLS-RPT reports%s%s\n", domain ? " for " : "", domain ? domain : "");
out:
	cli_spool_close(&c);
	return ret;
}

/* ==== dispatch =================================================================== */

static void cli_tlsrpt_usage(FILE *out)
{
	fprintf(out, "usage: smexop tlsrpt report|import|summary [options]\n"
	             "\n"
	             "  report    build and send the TLS-RPT reports (RFC 8460) of a day\n"
	             "  import    read received TLS-RPT reports into the store\n"
	             "  summary   what others report about our domains\n"
	             "\n"
	             "`smexop tlsrpt COMMAND --help` for each command's options.\n");
}

int cli_tlsrpt(int argc, char **argv)
{
	if (argc < 2) {
		cli_tlsrpt_usage(stderr);
		return CLI_EXIT_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		cli_tlsrpt_usage(stdout);
		return CLI_EXIT_OK;
	}
	if (strcmp(argv[1], "report") == 0)
		return cli_tlsrpt_report(argc - 1, argv + 1);
	if (strcmp(argv[1], "import") == 0)
		return cli_tlsrpt_import(argc - 1, argv + 1);
	if (strcmp(argv[1], "summary") == 0)
		return cli_tlsrpt_summary(argc - 1, argv + 1);
	return cli_usage_error("tlsrpt", "unknown command '%s'", argv[1]);
}
