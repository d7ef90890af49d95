/*
 * cli_dmarc - `smexop dmarc`: evaluate DMARC (RFC 7489) for a From domain
 * given the SPF and DKIM results, through auth/dmarc
 *
 * The first output line is "<result> <disposition>" (e.g. `fail reject`,
 * `pass none`, `none none`); the lines after it name the record used, the
 * policy, the alignment and the reason.  With --json, one JSON object on
 * one line.  Exit 0 whatever the verdict, 2 on usage errors.
 * `smexop dmarc report|import|summary` are in cli_dmarc_report.c.
 */
#include <event2/event.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "auth/dmarc.h"
#include "cli/cli.h"
#include "core/arena.h"
#include "core/orgdomain.h"
#include "core/str.h"
#include "mime/address.h"
#include "report/dmarc_report.h"
#include "report/report_util.h"

#define CLI_DMARC_MAX_DKIM DMARC_MAX_DKIM

static void cli_dmarc_usage(FILE *out)
{
	fprintf(
	    out,
	    "usage: smexop dmarc --from-domain D [--spf-domain D --spf RESULT]\n"
	    "                    [--dkim D:RESULT]... [--sample N] [options]\n"
	    "       smexop dmarc report|import|summary ...   (aggregate reports; see\n"
	    "                    smexop dmarc report --help)\n"
	    "\n"
	    "Evaluate DMARC (RFC 7489) for the RFC 5322.From domain, given the SPF result\n"
	    "for the MAIL FROM (or HELO) domain and the DKIM results with their d= domains.\n"
	    "The first output line is the DMARC result (pass, fail, none, temperror,\n"
	    "permerror) and the disposition after pct= (none, quarantine, reject).\n"
	    "\n"
	    "options:\n"
	    "  --from-domain D       the From domain (repeat for several addresses)\n"
	    "  --from VALUE          a whole From field value instead; its domains are used\n"
	    "  --spf-domain D        the domain SPF checked (MAIL FROM, or HELO for <>)\n"
	    "  --spf RESULT          its SPF result (pass, fail, softfail, neutral, none, ...)\n"
	    "  --dkim D:RESULT       a DKIM signature's d= and result (repeatable)\n"
	    "  --sample N            pct= sampling value 0-99 (default: random)\n"
	    "  --psl FILE            public suffix list (default: %s)\n"
	    "  --json                one JSON object instead of text\n"
	    "  --record              store the outcome for aggregate reports (smexop dmarc\n"
	    "                        report) with --ip IP [--mail-from ADDR] [--helo NAME]\n"
	    "                        [--rcpt-domain D] [--time T] [-c CONFIG | --db "
	    "PATH]\n" CLI_DNS_USAGE "  --help                this text\n",
	    ORGDOMAIN_DEFAULT_FILE);
}

static void cli_dmarc_done(const struct dmarc_outcome *o, void *arg)
{
	cli_wait_done(arg, (void *)o);
}

static int cli_dmarc_dkim_result(const char *s, enum dkim_result *out)
{
	static const enum dkim_result all[] = { DKIM_NONE,     DKIM_PASS,    DKIM_FAIL,
		                                DKIM_POLICY,   DKIM_NEUTRAL, DKIM_TEMPERROR,
		                                DKIM_PERMERROR };
	size_t i;

	for (i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		if (str_casecmp(s, dkim_result_name(all[i])) == 0) {
			*out = all[i];
			return 0;
		}
	return -1;
}

static void cli_dmarc_json_one(FILE *out, const struct dmarc_outcome *o)
{
	fputs("{\"result\":", out);
	cli_json_string(out, dmarc_result_name(o->result));
	cli_json_field(out, "disposition", dmarc_policy_name(o->disposition), true);
	cli_json_field(out, "from_domain", o->from_domain, true);
	cli_json_field(out, "org_domain", o->org_domain, true);
	cli_json_field(out, "record_domain", o->record_domain, true);
	cli_json_field(out, "record", o->record, true);
	if (o->record != NULL && o->rec.usable) {
		cli_json_field(out, "policy", dmarc_policy_name(o->policy), true);
		cli_json_field(out, "policy_tag", o->policy_tag, true);
		fprintf(out, ",\"pct\":%u,\"testing\":%s", o->rec.pct, o->rec.t ? "true" : "false");
		cli_json_field(out, "adkim", o->rec.adkim == DMARC_ALIGN_STRICT ? "s" : "r", true);
		cli_json_field(out, "aspf", o->rec.aspf == DMARC_ALIGN_STRICT ? "s" : "r", true);
	} else {
		cli_json_field(out, "policy", NULL, true);
	}
	fprintf(out, ",\"spf_aligned\":%s,\"dkim_aligned\":%s", o->spf_aligned ? "true" : "false",
	        o->dkim_aligned ? "true" : "false");
	cli_json_field(out, "dkim_domain", o->dkim_domain, true);
	fprintf(out, ",\"sample\":%u,\"sampled_out\":%s,\"nonexistent\":%s", o->sample,
	        o->sampled_out ? "true" : "false", o->nonexistent ? "true" : "false");
	cli_json_field(out, "reason", o->reason, true);
}

static void cli_dmarc_print_json(FILE *out, const struct dmarc_outcome *o, const char *authres)
{
	size_t i;

	cli_dmarc_json_one(out, o);
	cli_json_field(out, "authentication_results", authres, true);
	if (o->nper_domain > 0) {
		fputs(",\"domains\":[", out);
		for (i = 0; i < o->nper_domain; i++) {
			if (i > 0)
				fputc(',', out);
			cli_dmarc_json_one(out, &o->per_domain[i]);
			fputc('}', out);
		}
		fputc(']', out);
	}
	fputs("}\n", out);
}

static void cli_dmarc_print_one(FILE *out, const struct dmarc_outcome *o, const char *indent)
{
	if (o->record != NULL)
		fprintf(out, "%srecord: _dmarc.%s \"%s\"\n", indent, o->record_domain, o->record);
	else
		fprintf(out, "%srecord: none\n", indent);
	if (o->record != NULL && o->rec.usable) {
		fprintf(out, "%spolicy: %s=%s%s, pct=%u%s, sample %u%s -> %s\n", indent,
		        o->policy_tag, dmarc_policy_name(o->policy),
		        o->rec.p_implicit ? " (implicit: p= missing or invalid, rua= valid)" : "",
		        o->rec.pct, o->rec.t ? ", t=y" : "", o->sample,
		        o->sampled_out ? " (sampled out)" : "", dmarc_policy_name(o->disposition));
		fprintf(out, "%salignment: spf %s (aspf=%s), dkim %s%s%s (adkim=%s)\n", indent,
		        o->spf_aligned ? "yes" : "no",
		        o->rec.aspf == DMARC_ALIGN_STRICT ? "s" : "r",
		        o->dkim_aligned ? "yes" : "no", o->dkim_domain ? " d=" : "",
		        o->dkim_domain ? o->dkim_domain : "",
		        o->rec.adkim == DMARC_ALIGN_STRICT ? "s" : "r");
	}
	fprintf(out, "%sreason: %s\n", indent, o->reason ? o->reason : "");
}

static void cli_dmarc_print_text(FILE *out, const struct dmarc_outcome *o, const char *authres)
{
	size_t i;

	fprintf(out, "%s %s\n", dmarc_result_name(o->result), dmarc_policy_name(o->disposition));
	fprintf(out, "from domain: %s (organisational domain %s)\n", o->from_domain,
	        o->org_domain ? o->org_domain : "-");
	cli_dmarc_print_one(out, o, "");
	for (i = 0; i < o->nper_domain; i++) {
		const struct dmarc_outcome *d = &o->per_domain[i];
		fprintf(out, "domain %s: %s %s\n", d->from_domain, dmarc_result_name(d->result),
		        dmarc_policy_name(d->disposition));
		cli_dmarc_print_one(out, d, "  ");
	}
	if (authres != NULL)
		fprintf(out, "Authentication-Results: %s\n", authres);
}

int cli_dmarc(int argc, char **argv)
{
	struct cli_dns d = { 0 };
	struct dmarc_request req = { .sample = -1 };
	struct dmarc_dkim dkim[CLI_DMARC_MAX_DKIM];
	const char *from[DMARC_MAX_FROM_DOMAINS];
	const char *from_value = NULL, *psl_file = NULL, *spf_result = NULL;
	struct cli_wait run = { 0 };
	struct orgdomain *psl = NULL;
	struct arena *a;
	bool json = false, record = false;
	const char *rec_ip = NULL, *rec_mail_from = NULL, *rec_helo = NULL, *rec_rcpt = NULL;
	const char *rec_config = NULL, *rec_db = NULL;
	int64_t rec_time = -1;
	size_t nfrom = 0, ndkim = 0;
	int i, rc, ret = CLI_EXIT_OK;

	if (argc > 1 && strcmp(argv[1], "report") == 0)
		return cli_dmarc_report(argc - 1, argv + 1);
	if (argc > 1 && strcmp(argv[1], "import") == 0)
		return cli_dmarc_import(argc - 1, argv + 1);
	if (argc > 1 && strcmp(argv[1], "summary") == 0)
		return cli_dmarc_summary(argc - 1, argv + 1);
	for (i = 1; i < argc; i++) {
		const char *opt = argv[i], *val;
		rc = cli_common_option(&d, &json, cli_dmarc_usage, argc, argv, &i);
		if (rc < 0)
			return cli_opt_exit(rc);
		if (rc > 0)
			continue;
		if (strcmp(opt, "--record") == 0) {
			record = true;
			continue;
		}
		if (strcmp(opt, "--ip") == 0 || strcmp(opt, "--mail-from") == 0 ||
		    strcmp(opt, "--helo") == 0 || strcmp(opt, "--rcpt-domain") == 0 ||
		    strcmp(opt, "--time") == 0 || strcmp(opt, "-c") == 0 ||
		    strcmp(opt, "--config") == 0 || strcmp(opt, "--db") == 0) {
			if (i + 1 >= argc)
				return cli_usage_error("dmarc", "%s needs a value", opt);
			val = argv[++i];
			if (strcmp(opt, "--ip") == 0)
				rec_ip = val;
			else if (strcmp(opt, "--mail-from") == 0)
				rec_mail_from = val;
			else if (strcmp(opt, "--helo") == 0)
				rec_helo = val;
			else if (strcmp(opt, "--rcpt-domain") == 0)
				rec_rcpt = val;
			else if (strcmp(opt, "--db") == 0)
				rec_db = val;
			else if (strcmp(opt, "--time") == 0) {
				if (report_time_parse(val, &rec_time) < 0)
					return cli_usage_error("dmarc", "--time: not a time: '%s'",
					                       val);
			} else
				rec_config = val;
			continue;
		}
		if (strcmp(opt, "--from-domain") != 0 && strcmp(opt, "--from") != 0 &&
		    strcmp(opt, "--spf-domain") != 0 && strcmp(opt, "--spf") != 0 &&
		    strcmp(opt, "--dkim") != 0 && strcmp(opt, "--sample") != 0 &&
		    strcmp(opt, "--psl") != 0)
			return cli_usage_error("dmarc", "unknown option '%s'", opt);
		if (i + 1 >= argc)
			return cli_usage_error("dmarc", "%s needs a value", opt);
		val = argv[++i];
		if (strcmp(opt, "--from-domain") == 0) {
			if (nfrom >= DMARC_MAX_FROM_DOMAINS)
				return cli_usage_error("dmarc", "at most %d --from-domain",
				                       DMARC_MAX_FROM_DOMAINS);
			from[nfrom++] = val;
		} else if (strcmp(opt, "--from") == 0) {
			from_value = val;
		} else if (strcmp(opt, "--spf-domain") == 0) {
			req.spf_domain = val;
		} else if (strcmp(opt, "--spf") == 0) {
			spf_result = val;
			if (spf_result_parse(val, &req.spf) < 0)
				return cli_usage_error("dmarc", "--spf: not an SPF result: '%s'",
				                       val);
		} else if (strcmp(opt, "--dkim") == 0) {
			const char *colon = strrchr(val, ':');
			if (ndkim >= CLI_DMARC_MAX_DKIM)
				return cli_usage_error("dmarc", "at most %d --dkim",
				                       CLI_DMARC_MAX_DKIM);
			if (colon == NULL || colon == val ||
			    cli_dmarc_dkim_result(colon + 1, &dkim[ndkim].result) < 0)
				return cli_usage_error("dmarc", "--dkim: not DOMAIN:RESULT: '%s'",
				                       val);
			/* the domain part is cut off in place: argv is ours */
			argv[i][colon - val] = '\0';
			dkim[ndkim++].domain = val;
		} else if (strcmp(opt, "--sample") == 0) {
			uint64_t n;
			if (str_to_u64(val, strlen(val), 0, 99, &n) < 0)
				return cli_usage_error("dmarc", "--sample: a number 0-99, not '%s'",
				                       val);
			req.sample = (int)n;
		} else {
			psl_file = val;
		}
	}
	if ((nfrom == 0) == (from_value == NULL))
		return cli_usage_error("dmarc", "give --from-domain or --from (one of them)");
	if (record && rec_ip == NULL)
		return cli_usage_error("dmarc", "--record needs --ip");
	if ((req.spf_domain == NULL) != (spf_result == NULL))
		return cli_usage_error("dmarc", "--spf-domain and --spf go together");
	if (spf_result == NULL)
		req.spf = SPF_NONE;
	if (psl_file != NULL) {
		struct sx_err err = { 0 };
		psl = orgdomain_load(psl_file, false, &err);
		if (psl == NULL)
			return cli_usage_error("dmarc", "--psl: %s", err.msg);
		req.psl = psl;
	}
	a = arena_new();
	if (a == NULL) {
		fprintf(stderr, "smexop dmarc: out of memory\n");
		orgdomain_free(psl);
		return 1;
	}
	if (from_value != NULL) {
		struct address_from af;
		if (address_from_value(a, from_value, strlen(from_value), &af) != ADDRESS_FROM_OK) {
			/* a From the evaluation cannot use: permerror, as for a message */
			if (json) {
				fputs("{\"result\":\"permerror\",\"disposition\":\"none\","
				      "\"reason\":",
				      stdout);
				cli_json_string(stdout, af.why);
				fputs("}\n", stdout);
			} else {
				printf("permerror none\nreason: From: %s\n", af.why);
			}
			goto out;
		}
		req.from_domains = af.domains;
		req.nfrom = af.ndomains;
	} else {
		req.from_domains = from;
		req.nfrom = nfrom;
	}
	req.dkim = dkim;
	req.ndkim = ndkim;
	if (cli_dns_open(&d, "dmarc") < 0) {
		ret = CLI_EXIT_USAGE;
		goto out;
	}
	cli_wait_init(&run, d.base, 1);
	if (dmarc_check_start(d.dns, d.base, a, &req, cli_dmarc_done, &run) == NULL) {
		fprintf(stderr, "smexop dmarc: out of memory\n");
		ret = 1;
		goto out;
	}
	if (cli_wait_run(&run) < 0) {
		fprintf(stderr, "smexop dmarc: the evaluation did not finish\n");
		ret = 1;
		goto out;
	}
	{
		const char *authres = dmarc_authres(a, run.result);
		if (json)
			cli_dmarc_print_json(stdout, run.result, authres);
		else
			cli_dmarc_print_text(stdout, run.result, authres);
	}
	if (record) {
		struct dmarc_report_dkim rdk[CLI_DMARC_MAX_DKIM];
		struct dmarc_report_msg m = { .source_ip = rec_ip,
			                      .mail_from = rec_mail_from,
			                      .helo = rec_helo ? rec_helo : req.spf_domain,
			                      .rcpt_domain = rec_rcpt,
			                      .spf = req.spf,
			                      .dkim = rdk,
			                      .ndkim = ndkim };
		for (size_t k = 0; k < ndkim; k++) {
			rdk[k].domain = dkim[k].domain;
			rdk[k].selector = NULL;
			rdk[k].result = dkim[k].result;
		}
		if (rec_mail_from == NULL && rec_helo == NULL)
			m.mail_from = req.spf_domain;
		fflush(stdout);
		ret = cli_dmarc_record(rec_config, rec_db, run.result, &m,
		                       rec_time >= 0 ? rec_time : (int64_t)time(NULL));
	}
out:
	arena_free(a);
	cli_dns_close(&d);
	orgdomain_free(psl);
	return ret;
}
