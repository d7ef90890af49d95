/*
 * cli_spf - `smexop spf`: evaluate SPF (RFC 7208) for one client address,
 * MAIL FROM and HELO through auth/spf and print the verdict
 *
 * The first line of the output is the bare result word (pass, fail,
 * softfail, neutral, none, permerror, temperror) so scripts can read it;
 * the lines after it give the deciding mechanism, the explanation or the
 * problem, the counters, and the Received-SPF and Authentication-Results
 * fields.  With --json, one JSON object on one line.  Exit 0 whatever the
 * result, 2 on usage or input errors.
 */
#include <event2/event.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "auth/spf.h"
#include "cli/cli.h"
#include "core/arena.h"
#include "core/net.h"
#include "core/str.h"

static void cli_spf_usage(FILE *out)
{
	fprintf(out, "usage: smexop spf --ip IP --mail-from ADDR --helo NAME [options]\n"
	             "\n"
	             "Evaluate SPF (RFC 7208) for the client IP, the MAIL FROM address (\"\" for\n"
	             "the null reverse-path, which checks postmaster@HELO) and the HELO name.\n"
	             "The first output line is the result: pass, fail, softfail, neutral, none,\n"
	             "permerror or temperror.\n"
	             "\n"
	             "options:\n"
	             "  --ip IP               the SMTP client address (IPv4 or IPv6)\n"
	             "  --mail-from ADDR      the MAIL FROM address, without or with <>\n"
	             "  --helo NAME           the HELO/EHLO name\n"
	             "  --identity ID         mailfrom (default) or helo: which identity to check\n"
	             "  --receiver NAME       this host's name, for %%{r} and Received-SPF\n"
	             "  --json                one JSON object instead of text\n" CLI_DNS_USAGE
	             "  --help                this text\n");
}

static void cli_spf_done(const struct spf_outcome *o, void *arg)
{
	cli_wait_done(arg, (void *)o);
}

static void cli_spf_print_json(FILE *out, const struct spf_outcome *o, const char *received,
                               const char *authres)
{
	fputc('{', out);
	cli_json_field(out, "result", spf_result_name(o->result), false);
	cli_json_field(out, "identity", o->identity, true);
	cli_json_field(out, "domain", o->domain, true);
	cli_json_field(out, "sender", o->sender, true);
	cli_json_field(out, "client_ip", o->client_ip, true);
	cli_json_field(out, "helo", o->helo, true);
	cli_json_field(out, "mechanism", o->mechanism, true);
	cli_json_field(out, "explanation", o->explanation, true);
	fprintf(out, ",\"explanation_default\":%s", o->explanation_default ? "true" : "false");
	cli_json_field(out, "problem", o->problem, true);
	fprintf(out, ",\"dns_terms\":%u,\"void_lookups\":%u,\"queries\":%u", o->dns_terms,
	        o->void_lookups, o->queries);
	cli_json_field(out, "received_spf", received, true);
	cli_json_field(out, "authentication_results", authres, true);
	fputs("}\n", out);
}

static void cli_spf_print_text(FILE *out, const struct spf_outcome *o, const char *received,
                               const char *authserv_id, const char *authres)
{
	fprintf(out, "%s\n", spf_result_name(o->result));
	fprintf(out, "identity: %s %s (sender %s)\n", o->identity, o->domain, o->sender);
	fprintf(out, "mechanism: %s\n", o->mechanism);
	if (o->explanation != NULL)
		fprintf(out, "explanation: %s%s\n", o->explanation,
		        o->explanation_default ? " (default)" : "");
	if (o->problem != NULL)
		fprintf(out, "problem: %s\n", o->problem);
	fprintf(out, "dns terms: %u, void lookups: %u, queries: %u\n", o->dns_terms,
	        o->void_lookups, o->queries);
	if (received != NULL)
		fprintf(out, "%s\n", received);
	if (authres != NULL)
		fprintf(out, "Authentication-Results: %s; %s\n", authserv_id, authres);
}

int cli_spf(int argc, char **argv)
{
	struct cli_dns d = { 0 };
	struct spf_request req = { 0 };
	struct spf_limits lim;
	struct cli_wait run = { 0 };
	const char *ip = NULL, *mail_from = NULL, *helo = NULL;
	char mf_buf[1024];
	char host[256] = { 0 };
	bool json = false;
	struct arena *a;
	int i, rc;

	for (i = 1; i < argc; i++) {
		const char *opt = argv[i];
		rc = cli_common_option(&d, &json, cli_spf_usage, argc, argv, &i);
		if (rc < 0)
			return cli_opt_exit(rc);
		if (rc > 0)
			continue;
		if (strcmp(opt, "--ip") != 0 && strcmp(opt, "--mail-from") != 0 &&
		    strcmp(opt, "--helo") != 0 && strcmp(opt, "--receiver") != 0 &&
		    strcmp(opt, "--identity") != 0)
			return cli_usage_error("spf", "unknown option '%s'", opt);
		if (i + 1 >= argc)
			return cli_usage_error("spf", "%s needs a value", opt);
		const char *val = argv[++i];
		if (strcmp(opt, "--ip") == 0) {
			ip = val;
		} else if (strcmp(opt, "--mail-from") == 0) {
			mail_from = val;
		} else if (strcmp(opt, "--helo") == 0) {
			helo = val;
		} else if (strcmp(opt, "--receiver") == 0) {
			req.receiver = val;
		} else if (strcmp(val, "mailfrom") == 0 || strcmp(val, "mail-from") == 0) {
			req.identity = SPF_ID_MAILFROM;
		} else if (strcmp(val, "helo") == 0) {
			req.identity = SPF_ID_HELO;
		} else {
			return cli_usage_error("spf", "--identity: mailfrom or helo, not '%s'",
			                       val);
		}
	}
	if (ip == NULL || mail_from == NULL || helo == NULL)
		return cli_usage_error("spf", "--ip, --mail-from and --helo are required");
	if (net_addr_parse(ip, &req.ip) < 0)
		return cli_usage_error("spf", "--ip: not an IPv4 or IPv6 address: '%s'", ip);
	/* accept <addr> and <> as written in SMTP */
	{
		size_t n = strlen(mail_from);
		if (n >= sizeof(mf_buf))
			return cli_usage_error("spf", "--mail-from: longer than %zu bytes",
			                       sizeof(mf_buf) - 1);
		if (n >= 2 && mail_from[0] == '<' && mail_from[n - 1] == '>') {
			memcpy(mf_buf, mail_from + 1, n - 2);
			mf_buf[n - 2] = '\0';
			mail_from = mf_buf;
		}
	}
	if (strlen(helo) > 1024)
		return cli_usage_error("spf", "--helo: longer than 1024 bytes");
	req.mail_from = mail_from;
	req.helo = helo;
	/* %{r}, Received-SPF and the authserv-id name this host unless told otherwise */
	if (req.receiver == NULL && gethostname(host, sizeof(host) - 1) == 0 && host[0] != '\0')
		req.receiver = host;
	spf_limits_default(&lim);
	if (cli_dns_open(&d, "spf") < 0) {
		cli_dns_close(&d);
		return CLI_EXIT_USAGE;
	}
	cli_wait_init(&run, d.base, 1);
	a = arena_new();
	if (a == NULL ||
	    spf_check_start(d.dns, d.base, a, &req, &lim, cli_spf_done, &run) == NULL) {
		fprintf(stderr, "smexop spf: out of memory\n");
		arena_free(a);
		cli_dns_close(&d);
		return 1;
	}
	if (cli_wait_run(&run) < 0) {
		fprintf(stderr, "smexop spf: the evaluation did not finish\n");
		arena_free(a);
		cli_dns_close(&d);
		return 1;
	}
	{
		const char *received = spf_received_spf(a, run.result);
		const char *authres = spf_authres(a, run.result);
		if (json)
			cli_spf_print_json(stdout, run.result, received, authres);
		else
			cli_spf_print_text(stdout, run.result, received,
			                   req.receiver ? req.receiver : "localhost", authres);
	}
	arena_free(a);
	cli_dns_close(&d);
	return CLI_EXIT_OK;
}
