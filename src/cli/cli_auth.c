/*
 * cli_auth - `smexop auth`: the combined authentication check of one
 * message (SPF, DKIM, ARC, DMARC, PTR, composite authentication) through
 * auth/authcheck, printed as the Authentication-Results field smexop
 * would add
 *
 * Text output is the whole field, folded, as it would be written into the
 * message (LF line ends); --json gives one object with every engine's
 * result and the field.  Exit 0 whatever the verdict, 2 on usage or input
 * errors.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "auth/authcheck.h"
#include "cli/cli.h"
#include "core/arena.h"
#include "core/buf.h"
#include "core/str.h"
#include "mime/raw.h"

#define CLI_AUTH_MAX_LIST 64 /* entries of each repeatable list option */

static void cli_auth_usage(FILE *out)
{
	fputs(
	    "usage: smexop auth --ip IP --helo NAME --mail-from ADDR [options] [FILE]\n"
	    "\n"
	    "Check a message as the gateway does at SMTP time: SPF for MAIL FROM and HELO,\n"
	    "DKIM, ARC, DMARC, the client's PTR name, and composite authentication\n"
	    "(compauth, docs/compauth.md).  Prints the Authentication-Results field smexop\n"
	    "would add.  The message is read from FILE, or standard input ('-' or none).\n"
	    "\n"
	    "options:\n"
	    "  --ip IP                 the connecting client's address\n"
	    "  --helo NAME             its HELO/EHLO name\n"
	    "  --mail-from ADDR        the MAIL FROM address ('' for the null reverse path)\n"
	    "  --authserv-id ID        our authserv-id (default: this host's name)\n"
	    "  --accepted-domain D     one of our accepted domains (repeatable)\n"
	    "  --trusted-arc-sealer D  an ARC sealer we trust (repeatable)\n"
	    "  --spoof-allow D,INFRA   allow From domain D (or *) from INFRA (repeatable)\n"
	    "  --spoof-block D,INFRA   block it (repeatable); INFRA is an IP prefix or a domain\n"
	    "  --no-dmarc-reject       do not honour p=reject (action=oreject)\n"
	    "  --sample N              DMARC pct= sampling value 0-99 (default: random)\n"
	    "  --now T                 check at time T (seconds since the epoch)\n"
	    "  --json                  one JSON object instead of the header field\n" CLI_DNS_USAGE
	    "  --help                  this text\n",
	    out);
}

static void cli_auth_done(const struct authcheck_result *r, void *arg)
{
	cli_wait_done(arg, (void *)r);
}

/* ---- JSON ------------------------------------------------------------- */

static void jkey(FILE *out, bool *first, const char *key)
{
	if (!*first)
		fputc(',', out);
	*first = false;
	fprintf(out, "\"%s\":", key);
}

static void jstr(FILE *out, bool *first, const char *key, const char *val)
{
	jkey(out, first, key);
	if (val == NULL)
		fputs("null", out);
	else
		cli_json_string(out, val);
}

static void jspf(FILE *out, bool *first, const char *key, const struct spf_outcome *o)
{
	bool f = true;

	jkey(out, first, key);
	if (o == NULL) {
		fputs("null", out);
		return;
	}
	fputc('{', out);
	jstr(out, &f, "result", spf_result_name(o->result));
	jstr(out, &f, "domain", o->domain);
	jstr(out, &f, "mechanism", o->mechanism);
	jstr(out, &f, "problem", o->problem);
	fputc('}', out);
}

static void jdkim(FILE *out, bool *first, const struct authcheck_result *r)
{
	size_t i;

	jkey(out, first, "dkim");
	fputc('[', out);
	for (i = 0; i < r->ndkim; i++) {
		const struct dkim_sig_result *d = &r->dkim[i];
		bool f = true;

		fputs(i > 0 ? ",{" : "{", out);
		jstr(out, &f, "result", dkim_result_name(d->result));
		jstr(out, &f, "d", d->d);
		jstr(out, &f, "s", d->s);
		jstr(out, &f, "i", d->i);
		jstr(out, &f, "b", d->b);
		jstr(out, &f, "why", d->why);
		fputc('}', out);
	}
	fputc(']', out);
}

static void jdmarc(FILE *out, bool *first, const struct authcheck_result *r)
{
	const struct dmarc_outcome *o = r->dmarc;
	bool f = true;

	jkey(out, first, "dmarc");
	fputc('{', out);
	jstr(out, &f, "result", r->compauth.dmarc);
	jstr(out, &f, "action", r->compauth.action);
	if (o != NULL) {
		bool rec = o->record != NULL && o->rec.usable;

		jstr(out, &f, "from_domain", o->from_domain);
		jstr(out, &f, "record_domain", o->record_domain);
		jstr(out, &f, "policy", rec ? dmarc_policy_name(o->policy) : NULL);
		jstr(out, &f, "disposition", dmarc_policy_name(o->disposition));
		if (rec)
			fprintf(out, ",\"pct\":%u", o->rec.pct);
		fprintf(out, ",\"spf_aligned\":%s,\"dkim_aligned\":%s",
		        o->spf_aligned ? "true" : "false", o->dkim_aligned ? "true" : "false");
		jstr(out, &f, "reason", o->reason);
	} else {
		jstr(out, &f, "from_domain", NULL);
		jstr(out, &f, "reason", r->from.why);
	}
	fputc('}', out);
}

static void jarc(FILE *out, bool *first, const struct arc_verdict *v)
{
	bool f = true;
	size_t i;

	jkey(out, first, "arc");
	if (v == NULL) {
		fputs("null", out);
		return;
	}
	fputc('{', out);
	jstr(out, &f, "result", arc_result_name(v->result));
	fprintf(out, ",\"instances\":%u,\"oldest_pass\":%u", v->instances, v->oldest_pass);
	jstr(out, &f, "reason", v->reason);
	fputs(",\"sealers\":[", out);
	for (i = 0; i < v->nsets; i++) {
		if (i > 0)
			fputc(',', out);
		cli_json_string(out, v->sets[i].as_d != NULL ? v->sets[i].as_d : "");
	}
	fputs("]}", out);
}

static void cli_auth_json(FILE *out, const struct authcheck_result *r, const char *header)
{
	bool first = true, f = true;

	fputc('{', out);
	jstr(out, &first, "client_ip", r->client_ip);
	jspf(out, &first, "spf", r->spf);
	jspf(out, &first, "spf_helo", r->spf_helo);
	jdkim(out, &first, r);
	jdmarc(out, &first, r);
	jarc(out, &first, r->arc);
	jkey(out, &first, "iprev");
	fputc('{', out);
	jstr(out, &f, "result", authcheck_ptr_status_name(r->ptr.status));
	jstr(out, &f, "name", r->ptr.name);
	jstr(out, &f, "why", r->ptr.why);
	fputc('}', out);
	jkey(out, &first, "compauth");
	f = true;
	fputc('{', out);
	jstr(out, &f, "result", compauth_result_name(r->compauth.result));
	fprintf(out, ",\"reason\":\"%03u\"", r->compauth.reason);
	jstr(out, &f, "why", r->compauth.why);
	jstr(out, &f, "matched", r->compauth.matched);
	fprintf(out, ",\"from_accepted\":%s", r->compauth.from_accepted ? "true" : "false");
	fputc('}', out);
	jstr(out, &first, "authentication_results", header);
	fputs("}\n", out);
}

/* ---- options ---------------------------------------------------------- */

struct cli_auth_lists {
	const char *accepted[CLI_AUTH_MAX_LIST], *sealers[CLI_AUTH_MAX_LIST];
	struct compauth_pair allow[CLI_AUTH_MAX_LIST], block[CLI_AUTH_MAX_LIST];
	size_t naccepted, nsealers, nallow, nblock;
};

/* cli_auth_pair - "DOMAIN,INFRA" cut in place (argv is ours) */
static int cli_auth_pair(char *val, struct compauth_pair *pairs, size_t *n)
{
	char *comma = strchr(val, ',');

	if (*n >= CLI_AUTH_MAX_LIST || comma == NULL || comma == val || comma[1] == '\0')
		return -1;
	*comma = '\0';
	pairs[*n].from_domain = val;
	pairs[*n].infrastructure = comma + 1;
	(*n)++;
	return 0;
}

static int cli_auth_list(const char *val, const char **list, size_t *n)
{
	if (*n >= CLI_AUTH_MAX_LIST || *val == '\0')
		return -1;
	list[(*n)++] = val;
	return 0;
}

int cli_auth(int argc, char **argv)
{
	struct cli_dns d = { 0 };
	struct cli_auth_lists lists;
	struct authcheck_options opts;
	struct authcheck_input in;
	struct cli_wait run = { 0 };
	struct raw_message m;
	struct buf msgbuf = { 0 };
	struct arena *a = NULL;
	const char *ip = NULL, *helo = NULL, *mail_from = NULL, *file = NULL, *id = NULL;
	char host[256];
	bool json = false, no_reject = false;
	int64_t now = (int64_t)time(NULL);
	int sample = -1, i, rc, ret = CLI_EXIT_USAGE;

	memset(&lists, 0, sizeof(lists));
	memset(&in, 0, sizeof(in));
	for (i = 1; i < argc; i++) {
		const char *opt = argv[i];
		uint64_t n;

		rc = cli_common_option(&d, &json, cli_auth_usage, argc, argv, &i);
		if (rc < 0)
			return cli_opt_exit(rc);
		if (rc > 0)
			continue;
		if (strcmp(opt, "--no-dmarc-reject") == 0) {
			no_reject = true;
			continue;
		}
		if (opt[0] != '-' || strcmp(opt, "-") == 0) {
			if (file != NULL)
				return cli_usage_error("auth", "only one FILE");
			file = opt;
			continue;
		}
		if (strcmp(opt, "--ip") != 0 && strcmp(opt, "--helo") != 0 &&
		    strcmp(opt, "--mail-from") != 0 && strcmp(opt, "--authserv-id") != 0 &&
		    strcmp(opt, "--accepted-domain") != 0 &&
		    strcmp(opt, "--trusted-arc-sealer") != 0 && strcmp(opt, "--spoof-allow") != 0 &&
		    strcmp(opt, "--spoof-block") != 0 && strcmp(opt, "--sample") != 0 &&
		    strcmp(opt, "--now") != 0)
			return cli_usage_error("auth", "unknown option '%s'", opt);
		if (i + 1 >= argc)
			return cli_usage_error("auth", "%s needs a value", opt);
		i++;
		if (strcmp(opt, "--ip") == 0) {
			ip = argv[i];
		} else if (strcmp(opt, "--helo") == 0) {
			helo = argv[i];
		} else if (strcmp(opt, "--mail-from") == 0) {
			mail_from = argv[i];
		} else if (strcmp(opt, "--authserv-id") == 0) {
			id = argv[i];
			if (*id == '\0')
				return cli_usage_error("auth", "--authserv-id: empty");
		} else if (strcmp(opt, "--accepted-domain") == 0) {
			if (cli_auth_list(argv[i], lists.accepted, &lists.naccepted) < 0)
				return cli_usage_error("auth",
				                       "--accepted-domain: empty, or more "
				                       "than %d",
				                       CLI_AUTH_MAX_LIST);
		} else if (strcmp(opt, "--trusted-arc-sealer") == 0) {
			if (cli_auth_list(argv[i], lists.sealers, &lists.nsealers) < 0)
				return cli_usage_error("auth",
				                       "--trusted-arc-sealer: empty, or more "
				                       "than %d",
				                       CLI_AUTH_MAX_LIST);
		} else if (strcmp(opt, "--spoof-allow") == 0) {
			if (cli_auth_pair(argv[i], lists.allow, &lists.nallow) < 0)
				return cli_usage_error("auth", "--spoof-allow: not DOMAIN,INFRA");
		} else if (strcmp(opt, "--spoof-block") == 0) {
			if (cli_auth_pair(argv[i], lists.block, &lists.nblock) < 0)
				return cli_usage_error("auth", "--spoof-block: not DOMAIN,INFRA");
		} else if (strcmp(opt, "--sample") == 0) {
			if (str_to_u64(argv[i], strlen(argv[i]), 0, 99, &n) < 0)
				return cli_usage_error("auth", "--sample: a number 0-99, not '%s'",
				                       argv[i]);
			sample = (int)n;
		} else {
			if (str_to_u64(argv[i], strlen(argv[i]), 0, INT64_MAX, &n) < 0)
				return cli_usage_error("auth", "--now: not a time: %s", argv[i]);
			now = (int64_t)n;
		}
	}
	if (ip == NULL || helo == NULL || mail_from == NULL)
		return cli_usage_error("auth", "--ip, --helo and --mail-from are required");
	if (net_addr_parse(ip, &in.ip) < 0)
		return cli_usage_error("auth", "--ip: not an IP address: %s", ip);
	if (id == NULL) {
		if (gethostname(host, sizeof(host)) < 0 || host[0] == '\0')
			snprintf(host, sizeof(host), "localhost");
		host[sizeof(host) - 1] = '\0';
		id = host;
	}

	a = arena_new();
	if (a == NULL) {
		fprintf(stderr, "smexop auth: out of memory\n");
		return 1;
	}
	if (cli_read_message("auth", file, &msgbuf, a, &m) < 0)
		goto out;
	if (cli_dns_open(&d, "auth") < 0)
		goto out;

	authcheck_options_init(&opts, now);
	opts.authserv_id = id;
	opts.accepted_domains = lists.accepted;
	opts.naccepted = lists.naccepted;
	opts.trusted_arc_sealers = lists.sealers;
	opts.ntrusted = lists.nsealers;
	opts.spoof_allow = lists.allow;
	opts.nallow = lists.nallow;
	opts.spoof_block = lists.block;
	opts.nblock = lists.nblock;
	opts.dmarc_no_reject = no_reject;
	opts.dmarc_sample = sample;
	in.helo = helo;
	in.mail_from = mail_from;
	in.msg = &m;
	in.opts = &opts;
	cli_wait_init(&run, d.base, 1);
	if (authcheck_start(d.dns, d.base, a, &in, cli_auth_done, &run) == NULL) {
		fprintf(stderr, "smexop auth: out of memory\n");
		ret = 1;
		goto out;
	}
	if (cli_wait_run(&run) < 0) {
		fprintf(stderr, "smexop auth: the check did not finish\n");
		ret = 1;
		goto out;
	}
	{
		char *header = authcheck_header(a, run.result, id, true);

		if (header == NULL) {
			fprintf(stderr, "smexop auth: out of memory\n");
			ret = 1;
			goto out;
		}
		if (json) {
			size_t len = strlen(header);

			/* the field without its final line break */
			if (len > 0 && header[len - 1] == '\n')
				header[len - 1] = '\0';
			cli_auth_json(stdout, run.result, header);
		} else {
			fputs(header, stdout);
		}
	}
	ret = CLI_EXIT_OK;
out:
	arena_free(a);
	buf_free(&msgbuf);
	cli_dns_close(&d);
	return ret;
}
