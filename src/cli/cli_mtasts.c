/*
 * cli_mtasts - `smexop mta-sts check DOMAIN`: a domain's MTA-STS set-up
 * as a sending MTA sees it (RFC 8461)
 *
 * Prints the _mta-sts TXT record, the policy (fetched, or the precise
 * failure with its TLS-RPT result type), each MX of the domain and
 * whether it matches the policy, and per MX a STARTTLS probe on port 25
 * (smtp/smtp_probe.h): is the certificate valid for the MX name under
 * WebPKI, as MTA-STS requires.
 *
 * The lookup goes through transport/mtasts.c, the same code delivery
 * uses; with --cache FILE its policy cache is that SQLite store (so
 * repeated runs show the cache rules: id unchanged, fetch failure,
 * expiry), else it is in memory and every run fetches.
 *
 * Exit: 0 the policy is valid and every check passes; 1 warnings (no
 * policy, a cached policy used because the fetch failed, an MX that
 * could not be probed, failures under mode testing); 2 errors (the
 * policy could not be had, under mode enforce an MX that does not
 * match or has no valid certificate) and usage problems.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>
#include <openssl/x509.h>

#include "cli/cli.h"
#include "core/arena.h"
#include "core/dns.h"
#include "core/str.h"
#include "smtp/smtp_probe.h"
#include "store/store.h"
#include "transport/mtasts.h"

#define EXIT_WARN 1
#define EXIT_ERR  2
#define MAX_MX    32

static void usage(FILE *out)
{
	fprintf(
	    out,
	    "usage: smexop mta-sts check DOMAIN [--json] [--dns HOST:PORT] [--dns-zone FILE]\n"
	    "                            [--ca-file F] [--port N] [--smtp-port N] [--no-probe]\n"
	    "                            [--cache DB] [--now T]\n"
	    "\n"
	    "Check DOMAIN's MTA-STS (RFC 8461) set-up: the _mta-sts TXT record, the policy\n"
	    "at https://mta-sts.DOMAIN/.well-known/mta-sts.txt, each MX host against the\n"
	    "policy's mx patterns, and per MX a STARTTLS probe: is the certificate valid\n"
	    "for the MX name?\n"
	    "\n"
	    "options:\n"
	    "  --json                one JSON object instead of text\n" CLI_DNS_USAGE
	    "  --ca-file F           trust these CAs (PEM) instead of the system store,\n"
	    "                        for the policy host and the MX certificates\n"
	    "  --port N              HTTPS port of the policy host (default 443; tests)\n"
	    "  --smtp-port N         SMTP port of the MX hosts (default 25; tests)\n"
	    "  --no-probe            no STARTTLS probes of the MX hosts\n"
	    "  --timeout MS          policy fetch and probe timeout (default 30000)\n"
	    "  --cache DB            keep policies in this SQLite store, as the gateway does\n"
	    "                        (default: in memory, every run fetches)\n"
	    "  --now T               the time in seconds since the epoch (tests of expiry)\n"
	    "  --help                this text\n"
	    "\n"
	    "exit status:\n"
	    "  0  the policy is valid and every check passes\n"
	    "  1  warnings: no policy, a cached policy used because the fetch failed, an\n"
	    "     MX that could not be probed, failures under mode testing\n"
	    "  2  errors: the policy could not be fetched or is invalid; under mode\n"
	    "     enforce an MX that does not match or lacks a valid certificate; usage\n");
}

struct check {
	struct mtasts_result r;
	struct arena *arena;
	struct mtasts_policy policy;
	bool done;
	char *txt, *policy_text;
};

static void on_policy(const struct mtasts_result *r, void *arg)
{
	struct check *c = arg;
	size_t i;

	c->r = *r;
	c->done = true;
	c->txt = r->txt != NULL ? arena_strdup(c->arena, r->txt) : NULL;
	c->policy_text = r->policy_text != NULL ? arena_strdup(c->arena, r->policy_text) : NULL;
	c->r.txt = c->txt;
	c->r.policy_text = c->policy_text;
	c->r.domain = NULL;
	c->r.policy = NULL;
	if (r->policy != NULL) {
		c->policy = *r->policy;
		c->policy.mx = arena_array(c->arena, r->policy->nmx + 1, sizeof(char *));
		for (i = 0; c->policy.mx != NULL && i < r->policy->nmx; i++)
			c->policy.mx[i] = arena_strdup(c->arena, r->policy->mx[i]);
		if (c->policy.mx == NULL)
			c->policy.nmx = 0;
		c->r.policy = &c->policy;
	}
}

struct mx_check {
	char host[DNS_NAME_MAX + 1];
	unsigned pref;
	bool match;
	bool probed;         /* the handshake completed */
	bool cert_ok;        /* valid for the host name */
	char tls[96];        /* "TLSv1.3 TLS_AES_256_GCM_SHA384" */
	char note[1100];     /* the probe's error or the verification text */
	const char *verdict; /* "ok", "warning", "error" */
};

static int64_t clock_fixed(void *arg)
{
	return *(int64_t *)arg;
}

static void json_str_field(const char *key, const char *val, bool comma)
{
	cli_json_field(stdout, key, val, comma);
}

static const char *iso(int64_t t, char *out, size_t outsize)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL || strftime(out, outsize, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(out, outsize, "%lld", (long long)t);
	return out;
}

static int worst(int a, int b)
{
	return a > b ? a : b;
}

int cli_mtasts(int argc, char **argv)
{
	struct cli_dns d = { 0 };
	struct check c = { 0 };
	struct mx_check mx[MAX_MX];
	struct mtasts_options o = { 0 };
	struct mtasts *m = NULL;
	struct store *st = NULL;
	struct sx_err err = { 0 };
	const char *domain = NULL, *ca_file = NULL, *cache = NULL;
	unsigned port = 0, smtp_port = 25, timeout = 30000;
	bool json = false, probe = true;
	int64_t now = 0;
	uint64_t v;
	size_t nmx = 0, i;
	int i_arg, rc, status = CLI_EXIT_OK;
	char domain_norm[DNS_NAME_MAX + 1], buf[64], buf2[64];

	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? CLI_EXIT_USAGE : CLI_EXIT_OK;
	}
	if (strcmp(argv[1], "check") != 0)
		return cli_usage_error("mta-sts", "unknown subcommand '%s' (try check)", argv[1]);
	for (i_arg = 2; i_arg < argc; i_arg++) {
		const char *a = argv[i_arg];
		const char *val = i_arg + 1 < argc ? argv[i_arg + 1] : NULL;

		rc = cli_common_option(&d, &json, usage, argc, argv, &i_arg);
		if (rc == 1)
			continue;
		if (rc < 0)
			return cli_opt_exit(rc);
		if (strcmp(a, "--no-probe") == 0) {
			probe = false;
			continue;
		}
		if (strcmp(a, "--ca-file") == 0 || strcmp(a, "--port") == 0 ||
		    strcmp(a, "--smtp-port") == 0 || strcmp(a, "--cache") == 0 ||
		    strcmp(a, "--now") == 0 || strcmp(a, "--timeout") == 0) {
			if (val == NULL)
				return cli_usage_error("mta-sts", "%s needs a value", a);
			i_arg++;
			if (strcmp(a, "--ca-file") == 0) {
				ca_file = val;
			} else if (strcmp(a, "--cache") == 0) {
				cache = val;
			} else if (strcmp(a, "--now") == 0) {
				if (str_to_u64(val, strlen(val), 1, INT64_MAX, &v) < 0)
					return cli_usage_error("mta-sts", "--now: not a time: %s",
					                       val);
				now = (int64_t)v;
			} else {
				if (str_to_u64(val, strlen(val), 1,
				               strcmp(a, "--timeout") == 0 ? 600000 : 65535,
				               &v) < 0)
					return cli_usage_error("mta-sts", "%s: bad number %s", a,
					                       val);
				if (strcmp(a, "--port") == 0)
					port = (unsigned)v;
				else if (strcmp(a, "--smtp-port") == 0)
					smtp_port = (unsigned)v;
				else
					timeout = (unsigned)v;
			}
			continue;
		}
		if (a[0] == '-' && a[1] != '\0')
			return cli_usage_error("mta-sts", "unknown option %s", a);
		if (domain != NULL)
			return cli_usage_error("mta-sts", "one domain, please");
		domain = a;
	}
	if (domain == NULL)
		return cli_usage_error("mta-sts", "no domain given");
	if (mtasts_policy_domain(domain, domain_norm, sizeof(domain_norm)) < 0)
		return cli_usage_error("mta-sts", "'%s' is not a domain name", domain);
	if (cli_dns_open(&d, "mta-sts") < 0) {
		cli_dns_close(&d);
		return CLI_EXIT_USAGE;
	}
	if (cache != NULL) {
		struct store_options so = { .backend = STORE_BACKEND_SQLITE, .path = cache };
		st = store_open(&so, &err);
		if (st == NULL) {
			fprintf(stderr, "smexop mta-sts: %s: %s\n", cache, err.msg);
			cli_dns_close(&d);
			return CLI_EXIT_USAGE;
		}
	}
	c.arena = arena_new();
	o.base = d.base;
	o.dns = d.dns;
	o.store = st;
	o.ca_file = ca_file;
	o.port = port;
	o.fetch_timeout_ms = timeout;
	if (now != 0) {
		o.now = clock_fixed;
		o.now_arg = &now;
	}
	m = mtasts_new(&o, &err);
	if (m == NULL || c.arena == NULL || mtasts_lookup(m, domain_norm, on_policy, &c) == NULL) {
		fprintf(stderr, "smexop mta-sts: %s\n", m == NULL ? err.msg : "out of memory");
		status = CLI_EXIT_USAGE;
		goto out;
	}
	while (!c.done && event_base_loop(d.base, EVLOOP_ONCE) == 0)
		;
	if (!c.done) {
		fprintf(stderr, "smexop mta-sts: the lookup did not complete\n");
		status = CLI_EXIT_USAGE;
		goto out;
	}

	/* the MX hosts */
	{
		struct dns_answer *ans =
		    dns_resolve_sync(d.dns, d.base, c.arena, domain_norm, DNS_T_MX);
		for (i = 0; ans != NULL && i < ans->count && nmx < MAX_MX; i++) {
			if (ans->rr[i].type != DNS_T_MX || ans->rr[i].u.mx.host[0] == '\0')
				continue;
			memset(&mx[nmx], 0, sizeof(mx[nmx]));
			snprintf(mx[nmx].host, sizeof(mx[nmx].host), "%s", ans->rr[i].u.mx.host);
			mx[nmx].pref = ans->rr[i].u.mx.preference;
			nmx++;
		}
		if (ans != NULL && ans->status == DNS_NXDOMAIN)
			nmx = 0;
		else if (nmx == 0 && ans != NULL && ans->status == DNS_NODATA) {
			/* the implicit MX (RFC 5321 5.1) */
			memset(&mx[0], 0, sizeof(mx[0]));
			snprintf(mx[0].host, sizeof(mx[0].host), "%s", domain_norm);
			nmx = 1;
		}
	}
	/* by preference */
	for (i = 1; i < nmx; i++) {
		struct mx_check t = mx[i];
		size_t k = i;
		while (k > 0 && mx[k - 1].pref > t.pref) {
			mx[k] = mx[k - 1];
			k--;
		}
		mx[k] = t;
	}

	/* the verdict on the policy */
	if (c.r.status == MTASTS_FAILED)
		status = EXIT_ERR;
	else if (c.r.status == MTASTS_NONE || c.r.failure != MTASTS_FAIL_NONE)
		status = EXIT_WARN;

	for (i = 0; i < nmx; i++) {
		struct mx_check *x = &mx[i];
		bool enforce = c.r.status == MTASTS_POLICY && c.policy.mode == MTASTS_MODE_ENFORCE;
		bool testing = c.r.status == MTASTS_POLICY && c.policy.mode == MTASTS_MODE_TESTING;
		int level = CLI_EXIT_OK;

		x->match = c.r.status == MTASTS_POLICY && mtasts_mx_match(&c.policy, x->host);
		if ((enforce || testing) && !x->match)
			level = enforce ? EXIT_ERR : EXIT_WARN;
		if (probe) {
			struct smtp_probe_options po = { 0 };
			struct smtp_probe_result pr;
			po.host = x->host;
			po.port = smtp_port;
			po.dns = d.dns;
			po.base = d.base;
			po.ca_file = ca_file;
			po.timeout_ms = timeout;
			if (smtp_probe_run(&po, &pr) == 0) {
				x->probed = true;
				x->cert_ok = pr.verify_result == X509_V_OK;
				snprintf(x->tls, sizeof(x->tls), "%s %s", pr.tls_version,
				         pr.cipher);
				snprintf(x->note, sizeof(x->note), "%s",
				         x->cert_ok
				             ? "certificate valid for the MX name"
				             : (pr.verify_text != NULL ? pr.verify_text
				                                       : "certificate invalid"));
				if (!x->cert_ok && (enforce || testing))
					level = worst(level, enforce ? EXIT_ERR : EXIT_WARN);
				else if (!x->cert_ok)
					level = worst(level, EXIT_WARN);
			} else {
				snprintf(x->note, sizeof(x->note), "%s", pr.error);
				/* a STARTTLS refusal fails MTA-STS; an unreachable host is a
				 * warning */
				if (pr.stage >= SMTP_PROBE_STARTTLS && enforce)
					level = worst(level, EXIT_ERR);
				else
					level = worst(level, EXIT_WARN);
			}
			smtp_probe_result_free(&pr);
		}
		x->verdict = level == CLI_EXIT_OK ? "ok" : level == EXIT_WARN ? "warning" : "error";
		status = worst(status, level);
	}

	if (json) {
		printf("{");
		json_str_field("domain", domain_norm, false);
		json_str_field("txt", c.txt, true);
		json_str_field("id", c.r.txt_id[0] != '\0' ? c.r.txt_id : NULL, true);
		json_str_field("status", mtasts_status_name(c.r.status), true);
		json_str_field("failure", mtasts_failure_name(c.r.failure), true);
		json_str_field("reason", c.r.reason, true);
		if (c.r.status == MTASTS_POLICY) {
			json_str_field("source",
			               c.r.source == MTASTS_SOURCE_CACHE ? "cache" : "fetched",
			               true);
			json_str_field("policy_id", c.r.policy_id, true);
			json_str_field("mode", mtasts_mode_name(c.policy.mode), true);
			printf(
			    ",\"max_age\":%u,\"fetched\":%lld,\"expires\":%lld,\"mx_patterns\":[",
			    c.policy.max_age, (long long)c.r.fetched, (long long)c.r.expires);
			for (i = 0; i < c.policy.nmx; i++) {
				if (i > 0)
					printf(",");
				cli_json_string(stdout, c.policy.mx[i]);
			}
			printf("]");
			json_str_field("policy", c.policy_text, true);
		}
		printf(",\"mx\":[");
		for (i = 0; i < nmx; i++) {
			printf("%s{", i > 0 ? "," : "");
			json_str_field("host", mx[i].host, false);
			printf(",\"preference\":%u,\"matches\":%s", mx[i].pref,
			       mx[i].match ? "true" : "false");
			if (probe) {
				printf(",\"tls\":%s,\"certificate_valid\":%s",
				       mx[i].probed ? "true" : "false",
				       mx[i].cert_ok ? "true" : "false");
				json_str_field("probe", mx[i].note, true);
			}
			json_str_field("verdict", mx[i].verdict, true);
			printf("}");
		}
		printf("],\"exit\":%d}\n", status);
	} else {
		printf("domain: %s\n", domain_norm);
		printf("TXT _mta-sts.%s: %s\n", domain_norm, c.txt != NULL ? c.txt : "(none)");
		switch (c.r.status) {
		case MTASTS_NONE:
			printf("policy: none (%s)\n", c.r.reason);
			break;
		case MTASTS_FAILED:
			printf("policy: FAILED %s\n", c.r.reason);
			break;
		case MTASTS_POLICY:
			printf("policy: %s, id %s (%s)\n",
			       c.r.source == MTASTS_SOURCE_CACHE ? "from the cache" : "fetched",
			       c.r.policy_id, c.r.reason);
			printf("  mode: %s\n  max_age: %u (fetched %s, expires %s)\n",
			       mtasts_mode_name(c.policy.mode), c.policy.max_age,
			       iso(c.r.fetched, buf, sizeof(buf)),
			       iso(c.r.expires, buf2, sizeof(buf2)));
			for (i = 0; i < c.policy.nmx; i++)
				printf("  mx: %s\n", c.policy.mx[i]);
			break;
		}
		if (nmx == 0)
			printf("MX: none\n");
		for (i = 0; i < nmx; i++) {
			printf("MX %u %s: %s", mx[i].pref, mx[i].host,
			       c.r.status != MTASTS_POLICY ? "no policy to match"
			       : mx[i].match               ? "matches the policy"
			                                   : "does NOT match the policy");
			if (probe)
				printf("; %s%s%s", mx[i].probed ? mx[i].tls : "",
				       mx[i].probed ? ", " : "no TLS: ", mx[i].note);
			else
				printf("; certificate not checked (--no-probe)");
			printf(" [%s]\n", mx[i].verdict);
		}
		printf("result: %s\n", status == CLI_EXIT_OK ? "ok"
		                       : status == EXIT_WARN ? "warnings"
		                                             : "errors");
	}
out:
	mtasts_free(m);
	store_close(st);
	arena_free(c.arena);
	cli_dns_close(&d);
	return status;
}
