/*
 * cli_check_ip - `smexop check-ip IP`: what stage 1 would do with a
 * connection from IP: the connection filter (allow, safe and block lists)
 * and the reputation block (local list and DNSBL zones), from the
 * configuration file
 *
 * The first line is the verdict word: allow (spam filtering skipped),
 * block, or continue (the later stages decide); the lines after it say
 * which list or zone decided and give the SMTP reply a client would get.
 * With --json one object on one line.  Per-IP connection limits need a
 * running server and are not shown.  Exit 0 whatever the verdict, 2 on
 * usage, configuration or list errors.
 */
#include <event2/event.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "core/arena.h"
#include "core/config.h"
#include "core/log.h"
#include "core/net.h"
#include "filter/connection.h"
#include "filter/dnsbl.h"

static void cli_check_ip_usage(FILE *out)
{
	fprintf(out, "usage: smexop check-ip IP [--config FILE] [--json] [DNS options]\n"
	             "\n"
	             "Run the connection filter (connection_filter: IP allow, safe and block\n"
	             "lists) and the reputation block (reputation: local list and DNSBL zones)\n"
	             "of the configuration for a connection from IP, and print the verdict\n"
	             "(allow, block or continue) and the SMTP reply the client would get.\n"
	             "\n"
	             "options:\n"
	             "  -c, --config FILE     the configuration (default: built-in defaults,\n"
	             "                        which have no lists and no zones)\n"
	             "  --json                one JSON object instead of text\n" CLI_DNS_USAGE
	             "                        (default: the configuration's dns section)\n"
	             "  --help                this text\n");
}

static void cli_check_ip_done(const struct dnsbl_outcome *o, void *arg)
{
	cli_wait_done(arg, (void *)o);
}

static void cli_check_ip_warn(void *arg, const struct sx_err *w)
{
	char line[700];

	(void)arg;
	fprintf(stderr, "warning: %s\n", sx_err_format(w, line, sizeof(line)));
}

static void cli_check_ip_jentry(const char *key, const struct iplist_entry *e)
{
	char buf[80];

	printf(",\"%s\":", key);
	if (e == NULL) {
		fputs("null", stdout);
		return;
	}
	fputc('{', stdout);
	cli_json_field(stdout, "entry", iplist_entry_format(e, buf, sizeof(buf)), false);
	cli_json_field(stdout, "label", e->label, true);
	fputc('}', stdout);
}

static void cli_check_ip_json(const char *ip, const char *verdict, const char *stage,
                              const char *reply, const struct conn_result *c,
                              const struct dnsbl_outcome *o)
{
	size_t i;

	fputc('{', stdout);
	cli_json_field(stdout, "ip", ip, false);
	cli_json_field(stdout, "verdict", verdict, true);
	cli_json_field(stdout, "stage", stage, true);
	cli_json_field(stdout, "reply", reply, true);
	printf(",\"scl\":%d", c->scl);
	cli_json_field(stdout, "ipv",
	               c->ipv ? c->ipv : (o != NULL && o->nlisted == 0 && !o->local ? "NLI" : NULL),
	               true);
	cli_json_field(stdout, "connection_filter", conn_verdict_name(c->verdict), true);
	cli_json_field(stdout, "connection_reason", conn_reason_name(c->reason), true);
	cli_check_ip_jentry("connection_entry", c->entry);
	fputs(",\"reputation\":", stdout);
	if (o == NULL) {
		fputs("null}\n", stdout);
		return;
	}
	printf("{\"blocked\":%s,\"total_weight\":%u,\"threshold\":%u",
	       o->blocked ? "true" : "false", o->total_weight, o->threshold);
	cli_check_ip_jentry("local", o->local);
	fputs(",\"zones\":[", stdout);
	for (i = 0; i < o->nzones; i++) {
		const struct dnsbl_zone_result *z = &o->zones[i];
		fputs(i ? ",{" : "{", stdout);
		cli_json_field(stdout, "zone", z->zone, false);
		cli_json_field(stdout, "qname", z->qname, true);
		cli_json_field(stdout, "status", dnsbl_status_name(z->status), true);
		cli_json_field(stdout, "codes", z->codes, true);
		cli_json_field(stdout, "meaning", z->meaning, true);
		printf(",\"weight\":%u", z->weight);
		cli_json_field(stdout, "problem", z->problem, true);
		fputc('}', stdout);
	}
	fputs("]}}\n", stdout);
}

static void cli_check_ip_text(const char *ip, const char *verdict, const char *reply,
                              const struct conn_result *c, const struct dnsbl_outcome *o)
{
	char buf[80];
	size_t i;

	printf("%s\n", verdict);
	printf("ip: %s\n", ip);
	printf("connection filter: %s", conn_verdict_name(c->verdict));
	if (c->entry != NULL)
		printf(" (%s %s%s%s)", conn_reason_name(c->reason),
		       iplist_entry_format(c->entry, buf, sizeof(buf)), c->entry->label ? " " : "",
		       c->entry->label ? c->entry->label : "");
	putchar('\n');
	if (c->verdict == CONN_ALLOW)
		printf(
		    "scl: -1, ipv: CAL (spam filtering skipped; malware scanning still applies)\n");
	if (o != NULL) {
		printf("reputation: %s", o->blocked ? "blocked" : "not blocked");
		if (o->local != NULL)
			printf(" (local list %s%s%s)",
			       iplist_entry_format(o->local, buf, sizeof(buf)),
			       o->local->label ? " " : "", o->local->label ? o->local->label : "");
		else
			printf(" (weight %u, threshold %u)", o->total_weight, o->threshold);
		putchar('\n');
		for (i = 0; i < o->nzones; i++) {
			const struct dnsbl_zone_result *z = &o->zones[i];
			printf("  %s: %s", z->zone, dnsbl_status_name(z->status));
			if (z->codes != NULL)
				printf(" %s", z->codes);
			if (z->meaning != NULL)
				printf(" (%s)", z->meaning);
			if (z->status == DNSBL_LISTED)
				printf(" weight %u", z->weight);
			if (z->problem != NULL)
				printf(": %s", z->problem);
			putchar('\n');
		}
	}
	printf("reply: %s\n", reply ? reply : "none (the session goes on)");
}

int cli_check_ip(int argc, char **argv)
{
	struct cli_dns d = { 0 };
	struct config_diag diag;
	struct smexop_config *cfg = NULL;
	struct conn_filter *cf = NULL;
	struct dnsbl_policy *rp = NULL;
	struct conn_result cr;
	struct cli_wait run = { 0 };
	const struct dnsbl_outcome *o = NULL;
	struct sx_err err = { 0 };
	const char *ip_arg = NULL, *config = NULL, *verdict, *stage = NULL, *reply = NULL;
	struct net_addr ip;
	char ipbuf[NET_ADDR_STRLEN], line[700];
	struct arena *a = NULL;
	bool json = false;
	int i, rc, ret = CLI_EXIT_USAGE;
	size_t k;

	for (i = 1; i < argc; i++) {
		const char *opt = argv[i];
		rc = cli_common_option(&d, &json, cli_check_ip_usage, argc, argv, &i);
		if (rc < 0)
			return cli_opt_exit(rc);
		if (rc > 0)
			continue;
		if (strcmp(opt, "-c") == 0 || strcmp(opt, "--config") == 0) {
			if (i + 1 >= argc)
				return cli_usage_error("check-ip", "%s needs a value", opt);
			config = argv[++i];
		} else if (opt[0] == '-' && opt[1] != '\0') {
			return cli_usage_error("check-ip", "unknown option '%s'", opt);
		} else if (ip_arg == NULL) {
			ip_arg = opt;
		} else {
			return cli_usage_error("check-ip", "one IP address only");
		}
	}
	if (ip_arg == NULL)
		return cli_usage_error("check-ip", "an IP address is required");
	if (net_addr_parse(ip_arg, &ip) < 0)
		return cli_usage_error("check-ip", "not an IPv4 or IPv6 address: '%s'", ip_arg);
	net_addr_format(&ip, ipbuf, sizeof(ipbuf));
	cfg = config_load(config, &diag);
	if (cfg == NULL) {
		for (k = 0; k < diag.n; k++)
			fprintf(stderr, "%s\n", config_error_format(&diag, k, line, sizeof(line)));
		return CLI_EXIT_USAGE;
	}
	cf = conn_filter_from_config(&cfg->connection_filter, cli_check_ip_warn, NULL, &err);
	if (cf != NULL)
		rp = dnsbl_policy_from_config(&cfg->reputation, cli_check_ip_warn, NULL, &err);
	if (cf == NULL || rp == NULL) {
		fprintf(stderr, "smexop check-ip: %s\n", sx_err_format(&err, line, sizeof(line)));
		goto out;
	}
	conn_filter_check(cf, &ip, 0, &cr);
	if (cr.verdict == CONN_CONTINUE) {
		/* the resolver: options first, else the configuration's */
		const struct config_dns *cd = &cfg->dns;
		if (d.opts.zone_file == NULL && d.opts.forward_host == NULL) {
			if (cd->zone_file != NULL) {
				d.opts.zone_file = cd->zone_file;
			} else if (cd->servers.n > 0) {
				snprintf(d.host, sizeof(d.host), "%s", cd->servers.v[0].host);
				d.opts.forward_host = d.host;
				d.opts.forward_port = cd->servers.v[0].port;
			}
		}
		if (d.opts.timeout_ms == 0)
			d.opts.timeout_ms = (unsigned)cd->timeout_ms;
		if (cli_dns_open(&d, "check-ip") < 0)
			goto out;
		a = arena_new();
		cli_wait_init(&run, d.base, 1);
		if (a == NULL ||
		    dnsbl_check_start(d.dns, d.base, a, rp, &ip, cli_check_ip_done, &run) == NULL) {
			fprintf(stderr, "smexop check-ip: out of memory\n");
			ret = 1;
			goto out;
		}
		if (cli_wait_run(&run) < 0) {
			fprintf(stderr, "smexop check-ip: the reputation check did not finish\n");
			ret = 1;
			goto out;
		}
		o = run.result;
	}
	if (cr.verdict == CONN_ALLOW) {
		verdict = "allow";
		stage = "connection_filter";
	} else if (cr.verdict == CONN_BLOCK) {
		verdict = "block";
		stage = "connection_filter";
		reply = cr.reply;
	} else if (o != NULL && o->blocked) {
		verdict = "block";
		stage = "reputation";
		reply = o->reply;
	} else {
		verdict = "continue";
	}
	if (json)
		cli_check_ip_json(ipbuf, verdict, stage, reply, &cr, o);
	else
		cli_check_ip_text(ipbuf, verdict, reply, &cr, o);
	ret = CLI_EXIT_OK;
out:
	arena_free(a);
	cli_dns_close(&d);
	dnsbl_policy_free(rp);
	conn_filter_free(cf);
	config_free(cfg);
	return ret;
}
