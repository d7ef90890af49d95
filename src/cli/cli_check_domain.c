/*
 * cli_check_domain - `smexop check-domain DOMAIN`: what an admin checks
 * before and after putting a domain behind smexop, one verdict per line
 *
 * The checks are report/domaincheck; this file reads the options, works
 * out who "this gateway" is (the configuration's server.hostname,
 * server.public_addresses, listeners and dkim.signing, or --mx and
 * --gateway-ip without one) and prints the findings as text or as one
 * JSON object.  Exit 0 when every finding is ok, 1 when the worst is a
 * warning, 2 on errors (and on usage errors).
 */
#include <arpa/inet.h>
#include <event2/event.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "cli/cli.h"
#include "core/arena.h"
#include "core/config.h"
#include "core/net.h"
#include "core/str.h"
#include "report/domaincheck.h"

#define CLI_CD_MAX_LIST 64

static void cli_check_domain_usage(FILE *out)
{
	fprintf(out,
	        "usage: smexop check-domain DOMAIN [-c FILE] [--mx HOST]... [--gateway-ip IP]...\n"
	        "                           [--selector S]... [--only AREA[,AREA]] [--json]\n"
	        "                           [DNS options]\n"
	        "\n"
	        "Check what a domain publishes for mail through this gateway: MX (and the\n"
	        "addresses of the MX hosts), PTR of the gateway's addresses, SPF (syntax,\n"
	        "lookup count with the include tree, void lookups, all, ptr, the gateway's\n"
	        "authorisation), DKIM (our selectors and the common ones), DMARC (policy,\n"
	        "pct, sp/np, alignment, report destinations), MTA-STS (record, policy over\n"
	        "HTTPS, mode, mx patterns, max_age), TLS-RPT, and DANE (DNSSEC, TLSA of each\n"
	        "MX host against the certificate it presents after STARTTLS).  One line per\n"
	        "finding: ok, warn or error, with the fix.  docs/check-domain.md lists every\n"
	        "finding.\n"
	        "\n"
	        "options:\n"
	        "  -c, --config FILE     the gateway's configuration: server.hostname (the\n"
	        "                        name the MX should point at), server.public_addresses,\n"
	        "                        the listeners' public addresses, dkim.signing, dns\n"
	        "  --mx HOST             the MX should point at HOST (repeatable)\n"
	        "  --gateway-ip IP       a public address of the gateway (repeatable)\n"
	        "  --hostname NAME       the gateway's HELO name (default: server.hostname,\n"
	        "                        else the first --mx)\n"
	        "  --selector S          also look at DKIM selector S (repeatable)\n"
	        "  --only AREA[,AREA]    only these areas: mx, ptr, spf, dkim, dmarc, mta-sts,\n"
	        "                        tls-rpt, dane\n"
	        "  --ca-file FILE        trust store for the MTA-STS policy fetch (default:\n"
	        "                        mta_sts.ca_file, else the system's)\n"
	        "  --https-port N        fetch MTA-STS policies from port N (tests; default\n"
	        "                        mta_sts.port, 443)\n"
	        "  --smtp-port N         probe MX hosts for DANE on port N (tests; default 25)\n"
	        "  --smtp-timeout MS     per step of the STARTTLS probe (default 30000)\n"
	        "  --json                one JSON object instead of text\n" CLI_DNS_USAGE
	        "                        (default: the configuration's dns section)\n"
	        "  --help                this text\n"
	        "\n"
	        "exit status: 0 all ok, 1 warnings, 2 errors (or a usage error)\n");
}

/* cli_cd_public - an address worth checking from outside: not unspecified,
 * loopback, link-local or private */
static bool cli_cd_public(const struct net_addr *ip)
{
	static const uint8_t zero[16];
	const uint8_t *b = ip->bytes;

	if (ip->family == AF_INET)
		return !(b[0] == 0 || b[0] == 127 || b[0] == 10 || (b[0] == 169 && b[1] == 254) ||
		         (b[0] == 172 && (b[1] & 0xf0) == 16) || (b[0] == 192 && b[1] == 168));
	if (memcmp(b, zero, 15) == 0)
		return false; /* :: and ::1 */
	return !((b[0] & 0xfe) == 0xfc || (b[0] == 0xfe && (b[1] & 0xc0) == 0x80));
}

static int cli_cd_only(const char *s, unsigned *areas)
{
	char word[32];
	const char *p = s;
	int a;

	while (*p != '\0') {
		size_t n = strcspn(p, ",");
		if (n == 0 || n >= sizeof(word))
			return -1;
		memcpy(word, p, n);
		word[n] = '\0';
		a = dc_area_parse(word);
		if (a < 0)
			return -1;
		*areas |= 1u << a;
		p += n;
		if (*p == ',')
			p++;
	}
	return *areas ? 0 : -1;
}

static void cli_cd_json(const struct domaincheck *r)
{
	size_t i, nerr = 0, nwarn = 0;

	for (i = 0; i < r->n; i++) {
		nerr += r->findings[i].level == DC_ERROR;
		nwarn += r->findings[i].level == DC_WARN;
	}
	fputc('{', stdout);
	cli_json_field(stdout, "domain", r->domain, false);
	cli_json_field(stdout, "result", r->n ? dc_level_name(r->worst) : "ok", true);
	printf(",\"errors\":%zu,\"warnings\":%zu,\"findings\":[", nerr, nwarn);
	for (i = 0; i < r->n; i++) {
		const struct dc_finding *f = &r->findings[i];
		fputs(i ? ",{" : "{", stdout);
		cli_json_field(stdout, "area", dc_area_name(f->area), false);
		cli_json_field(stdout, "level", dc_level_name(f->level), true);
		cli_json_field(stdout, "code", f->code, true);
		cli_json_field(stdout, "message", f->message, true);
		cli_json_field(stdout, "fix", f->fix, true);
		cli_json_field(stdout, "detail", f->detail, true);
		fputc('}', stdout);
	}
	fputs("]}\n", stdout);
}

static void cli_cd_text(const struct domaincheck *r)
{
	size_t i, nerr = 0, nwarn = 0;
	int area = -1;

	for (i = 0; i < r->n; i++) {
		nerr += r->findings[i].level == DC_ERROR;
		nwarn += r->findings[i].level == DC_WARN;
	}
	printf("%s: %s (%zu error%s, %zu warning%s)\n", r->domain,
	       r->n ? dc_level_name(r->worst) : "ok", nerr, nerr == 1 ? "" : "s", nwarn,
	       nwarn == 1 ? "" : "s");
	for (i = 0; i < r->n; i++) {
		const struct dc_finding *f = &r->findings[i];
		if ((int)f->area != area) {
			area = (int)f->area;
			printf("\n%s\n", dc_area_name(f->area));
		}
		printf("  %-5s %s: %s\n", dc_level_name(f->level), f->code, f->message);
		if (f->fix != NULL)
			printf("        fix: %s\n", f->fix);
		if (f->detail != NULL) {
			const char *p = f->detail;
			while (*p != '\0') {
				size_t n = strcspn(p, "\n");
				printf("        | %.*s\n", (int)n, p);
				p += n;
				if (*p == '\n')
					p++;
			}
		}
	}
}

int cli_check_domain(int argc, char **argv)
{
	struct cli_dns d = { 0 };
	struct domaincheck_options o;
	struct config_diag diag;
	struct smexop_config *cfg = NULL;
	const struct domaincheck *r;
	const char *config = NULL, *hostname = NULL, *why = NULL;
	const char *mx[CLI_CD_MAX_LIST], *sel[CLI_CD_MAX_LIST];
	struct net_addr ips[CLI_CD_MAX_LIST];
	size_t nmx = 0, nsel = 0, nip = 0, k;
	struct arena *a = NULL;
	char line[700];
	bool json = false;
	uint64_t num;
	int i, rc, ret = CLI_EXIT_USAGE;

	memset(&o, 0, sizeof(o));
	for (i = 1; i < argc; i++) {
		const char *opt = argv[i];
		rc = cli_common_option(&d, &json, cli_check_domain_usage, argc, argv, &i);
		if (rc < 0)
			return cli_opt_exit(rc);
		if (rc > 0)
			continue;
		if (opt[0] == '-' && opt[1] != '\0' &&
		    (strcmp(opt, "-c") == 0 || strcmp(opt, "--config") == 0 ||
		     strcmp(opt, "--mx") == 0 || strcmp(opt, "--gateway-ip") == 0 ||
		     strcmp(opt, "--hostname") == 0 || strcmp(opt, "--selector") == 0 ||
		     strcmp(opt, "--only") == 0 || strcmp(opt, "--ca-file") == 0 ||
		     strcmp(opt, "--https-port") == 0 || strcmp(opt, "--smtp-port") == 0 ||
		     strcmp(opt, "--smtp-timeout") == 0)) {
			const char *val;
			if (i + 1 >= argc)
				return cli_usage_error("check-domain", "%s needs a value", opt);
			val = argv[++i];
			if (strcmp(opt, "-c") == 0 || strcmp(opt, "--config") == 0) {
				config = val;
			} else if (strcmp(opt, "--ca-file") == 0) {
				o.ca_file = val;
			} else if (strcmp(opt, "--https-port") == 0 ||
			           strcmp(opt, "--smtp-port") == 0) {
				if (str_to_u64(val, strlen(val), 1, 65535, &num) < 0)
					return cli_usage_error("check-domain",
					                       "%s: not a port (1-65535): '%s'",
					                       opt, val);
				if (opt[2] == 'h')
					o.https_port = (unsigned)num;
				else
					o.smtp_port = (unsigned)num;
			} else if (strcmp(opt, "--smtp-timeout") == 0) {
				if (str_to_u64(val, strlen(val), 1, 600000, &num) < 0)
					return cli_usage_error("check-domain",
					                       "--smtp-timeout: not a number of "
					                       "milliseconds (1-600000): '%s'",
					                       val);
				o.smtp_timeout_ms = (unsigned)num;
			} else if (strcmp(opt, "--hostname") == 0) {
				if (dns_name_check(val) < 0)
					return cli_usage_error("check-domain",
					                       "--hostname: not a host name: '%s'",
					                       val);
				hostname = val;
			} else if (strcmp(opt, "--mx") == 0) {
				if (dns_name_check(val) < 0 || nmx >= CLI_CD_MAX_LIST)
					return cli_usage_error("check-domain",
					                       "--mx: not a host name: '%s'", val);
				mx[nmx++] = val;
			} else if (strcmp(opt, "--selector") == 0) {
				if (nsel >= CLI_CD_MAX_LIST || val[0] == '\0' ||
				    dns_name_check(val) < 0)
					return cli_usage_error("check-domain",
					                       "--selector: not a selector: '%s'",
					                       val);
				sel[nsel++] = val;
			} else if (strcmp(opt, "--gateway-ip") == 0) {
				if (nip >= CLI_CD_MAX_LIST || net_addr_parse(val, &ips[nip]) < 0)
					return cli_usage_error(
					    "check-domain", "--gateway-ip: not an IP address: '%s'",
					    val);
				nip++;
			} else if (cli_cd_only(val, &o.areas) < 0) {
				return cli_usage_error(
				    "check-domain",
				    "--only: areas are mx, ptr, spf, dkim, dmarc, mta-sts, "
				    "tls-rpt, dane: '%s'",
				    val);
			}
		} else if (opt[0] == '-' && opt[1] != '\0') {
			return cli_usage_error("check-domain", "unknown option '%s'", opt);
		} else if (o.domain == NULL) {
			o.domain = opt;
		} else {
			return cli_usage_error("check-domain", "one DOMAIN only");
		}
	}
	if (o.domain == NULL)
		return cli_usage_error("check-domain", "a DOMAIN is required");

	if (config != NULL) {
		cfg = config_load(config, &diag);
		if (cfg == NULL) {
			for (k = 0; k < diag.n; k++)
				fprintf(stderr, "%s\n",
				        config_error_format(&diag, k, line, sizeof(line)));
			return CLI_EXIT_USAGE;
		}
		/* this gateway, from the configuration */
		if (hostname == NULL)
			hostname = cfg->server.hostname;
		if (nmx < CLI_CD_MAX_LIST && hostname != NULL)
			mx[nmx++] = hostname;
		for (k = 0; k < cfg->server.public_addresses.n && nip < CLI_CD_MAX_LIST; k++)
			if (net_addr_parse(cfg->server.public_addresses.v[k], &ips[nip]) == 0)
				nip++;
		for (k = 0; k < cfg->listeners.n && nip < CLI_CD_MAX_LIST; k++)
			if (cfg->listeners.v[k].address != NULL &&
			    net_addr_parse(cfg->listeners.v[k].address, &ips[nip]) == 0 &&
			    cli_cd_public(&ips[nip]))
				nip++;
		/* the resolver: options first, else the configuration's */
		if (d.opts.zone_file == NULL && d.opts.forward_host == NULL) {
			if (d.opts.trust_anchor == NULL && cfg->dns.dnssec)
				d.opts.trust_anchor = cfg->dns.trust_anchor;
			if (cfg->dns.zone_file != NULL) {
				d.opts.zone_file = cfg->dns.zone_file;
			} else if (cfg->dns.servers.n > 0) {
				snprintf(d.host, sizeof(d.host), "%s", cfg->dns.servers.v[0].host);
				d.opts.forward_host = d.host;
				d.opts.forward_port = cfg->dns.servers.v[0].port;
			}
		}
		if (d.opts.timeout_ms == 0)
			d.opts.timeout_ms = (unsigned)cfg->dns.timeout_ms;
		if (o.ca_file == NULL)
			o.ca_file = cfg->mta_sts.ca_file;
		if (o.https_port == 0)
			o.https_port = (unsigned)cfg->mta_sts.port;
		o.https_timeout_ms = (unsigned)cfg->mta_sts.fetch_timeout_ms;
	}
	if (hostname == NULL && nmx > 0)
		hostname = mx[0];
	o.gateway_mx = mx;
	o.ngateway_mx = nmx;
	o.gateway_ip = ips;
	o.ngateway_ip = nip;
	o.gateway_hostname = hostname;
	o.selectors = sel;
	o.nselectors = nsel;
	o.cfg = cfg;

	if (cli_dns_open(&d, "check-domain") < 0)
		goto out;
	a = arena_new();
	if (a == NULL) {
		fprintf(stderr, "smexop check-domain: out of memory\n");
		goto out;
	}
	r = domaincheck_run(d.dns, d.base, a, &o, &why);
	if (r == NULL) {
		fprintf(stderr, "smexop check-domain: %s: %s\n", o.domain, why ? why : "failed");
		goto out;
	}
	if (json)
		cli_cd_json(r);
	else
		cli_cd_text(r);
	ret = r->worst == DC_ERROR ? 2 : r->worst == DC_WARN ? 1 : 0;
out:
	arena_free(a);
	cli_dns_close(&d);
	config_free(cfg);
	return ret;
}
