/*
 * cli_dkim_keys - `smexop dkim init|rotate|status DOMAIN`: the signing
 * keys of a domain listed in dkim.signing (EOP's New-, Rotate- and
 * Get-DkimSigningConfig)
 *
 * init makes the missing keys of both selectors and prints the TXT
 * records to publish; rotate makes the next selector active and gives the
 * old one a new key, after checking in DNS that the next key is published
 * (--force skips that); status looks both selectors up and says what is
 * wrong, exiting 0 when all is well, 1 with warnings and 2 with errors,
 * as check-domain does.  Usage and configuration errors exit 2; a refused
 * rotation exits 1.  The work is in auth/dkim_keys.c.
 *
 * Records are printed as zone file lines ("NAME. IN TXT ( ... )") and
 * every other line of init and rotate starts with ';', so their standard
 * output can be pasted into a zone as it is.
 */
#include <errno.h>
#include <event2/event.h>
#include <string.h>
#include <time.h>

#include "auth/dkim_keys.h"
#include "cli/cli.h"
#include "core/arena.h"
#include "core/config.h"
#include "core/dns.h"

#define DEFAULT_CONFIG "/etc/smexop/smexop.yaml"

enum keys_cmd { KEYS_INIT, KEYS_ROTATE, KEYS_STATUS };

struct keys_args {
	enum keys_cmd cmd;
	const char *name; /* "init", ... */
	const char *config;
	const char *domain;
	bool json, force;
	struct cli_dns dns;
	struct smexop_config *cfg;
	const struct config_dkim_signing *c;
	struct arena *a;
};

static const char keys_usage[] =
    "usage: smexop dkim init DOMAIN [-c CONFIG]\n"
    "       smexop dkim rotate DOMAIN [-c CONFIG] [--force] [DNS OPTIONS]\n"
    "       smexop dkim status DOMAIN [-c CONFIG] [--json] [DNS OPTIONS]\n"
    "\n"
    "DOMAIN must have an item in the configuration's dkim.signing list\n"
    "(default configuration " DEFAULT_CONFIG "); see docs/dkim.md.\n"
    "init    makes the missing keys of both selectors (never overwrites) and\n"
    "        prints the TXT records to publish, as zone file lines.\n"
    "rotate  makes the next selector active and gives the old active one a new\n"
    "        key to publish; refuses (exit 1) until the next key is published.\n"
    "  --force               rotate without looking at DNS\n"
    "status  looks up both selectors' records and compares them with our keys;\n"
    "        exit 0 all ok, 1 warnings, 2 errors.\n"
    "  --json                one JSON object\n"
    "DNS OPTIONS (default: the configuration's dns.zone_file or dns.servers):\n" CLI_DNS_USAGE;

/* keys_parse - options and the configuration; 0, or an exit code + 1 */
static int keys_parse(struct keys_args *k, int argc, char **argv)
{
	static struct config_diag diag;
	char line[1024];
	size_t i;
	int j, r;

	for (j = 1; j < argc; j++) {
		const char *opt = argv[j];

		r = k->cmd == KEYS_INIT ? 0 : cli_dns_option(&k->dns, argc, argv, &j);
		if (r < 0)
			return CLI_EXIT_USAGE + 1;
		if (r > 0)
			continue;
		if (strcmp(opt, "--help") == 0 || strcmp(opt, "-h") == 0) {
			fputs(keys_usage, stdout);
			return CLI_EXIT_OK + 1;
		} else if ((strcmp(opt, "-c") == 0 || strcmp(opt, "--config") == 0) &&
		           j + 1 < argc) {
			k->config = argv[++j];
		} else if (strcmp(opt, "--json") == 0 && k->cmd == KEYS_STATUS) {
			k->json = true;
		} else if (strcmp(opt, "--force") == 0 && k->cmd == KEYS_ROTATE) {
			k->force = true;
		} else if (opt[0] == '-' && opt[1] != '\0') {
			return cli_usage_error("dkim",
			                       "%s: unknown option %s (or it needs a value)",
			                       k->name, opt) +
			       1;
		} else if (k->domain == NULL) {
			k->domain = opt;
		} else {
			return cli_usage_error("dkim", "%s: only one DOMAIN", k->name) + 1;
		}
	}
	if (k->domain == NULL)
		return cli_usage_error("dkim", "%s needs a DOMAIN", k->name) + 1;
	if (k->config == NULL)
		k->config = DEFAULT_CONFIG;
	k->cfg = config_load(k->config, &diag);
	if (k->cfg == NULL) {
		for (i = 0; i < diag.n; i++)
			fprintf(stderr, "%s\n", config_error_format(&diag, i, line, sizeof(line)));
		return CLI_EXIT_USAGE + 1;
	}
	k->c = dkim_keys_config(k->cfg, k->domain);
	if (k->c == NULL) {
		fprintf(stderr, "smexop dkim %s: %s has no dkim.signing item for %s\n", k->name,
		        k->config, k->domain);
		return CLI_EXIT_USAGE + 1;
	}
	k->a = arena_new();
	if (k->a == NULL) {
		fprintf(stderr, "smexop dkim %s: out of memory\n", k->name);
		return CLI_EXIT_USAGE + 1;
	}
	return 0;
}

/* keys_dns_open - the resolver: options first, else the configuration's */
static int keys_dns_open(struct keys_args *k)
{
	struct dns_options *o = &k->dns.opts;
	const struct config_dns *cd = &k->cfg->dns;

	if (o->zone_file == NULL && o->forward_host == NULL) {
		if (cd->zone_file != NULL) {
			o->zone_file = cd->zone_file;
		} else if (cd->servers.n > 0) {
			snprintf(k->dns.host, sizeof(k->dns.host), "%s", cd->servers.v[0].host);
			o->forward_host = k->dns.host;
			o->forward_port = cd->servers.v[0].port;
		}
	}
	if (o->timeout_ms == 0)
		o->timeout_ms = (unsigned)cd->timeout_ms;
	if (o->trust_anchor == NULL && o->forward_host == NULL && cd->dnssec)
		o->trust_anchor = cd->trust_anchor;
	return cli_dns_open(&k->dns, "dkim");
}

static void keys_free(struct keys_args *k)
{
	cli_dns_close(&k->dns);
	k->cfg = config_free(k->cfg);
	k->a = arena_free(k->a);
}

/* keys_print_records - the zone lines of selector's keys (loaded here) */
static int keys_print_records(struct keys_args *k, const char *selector, const char *role)
{
	struct dkim_keys_slot slots[DKIM_KEYS_MAX_SLOTS];
	struct sx_err err = { 0 };
	size_t i, n = dkim_keys_slots(k->c, selector, k->a, slots);
	const char *line;

	if (n == 0) {
		fprintf(stderr, "smexop dkim %s: out of memory\n", k->name);
		return -1;
	}
	for (i = 0; i < n; i++) {
		if (dkim_keys_load(&slots[i], k->a, &err) != 0) {
			fprintf(stderr, "smexop dkim %s: %s\n", k->name,
			        err.msg[0] ? err.msg : "a key file is missing");
			return -1;
		}
		line = dkim_keys_zone_line(k->a, slots[i].dns_name, slots[i].record);
		if (line == NULL)
			return -1;
		printf("; %s (%s, %s)\n%s\n", slots[i].dns_selector, role,
		       slots[i].type == DKIM_KEY_RSA ? "rsa" : "ed25519", line);
	}
	return 0;
}

/* ---- init --------------------------------------------------------------- */

static int keys_init(struct keys_args *k)
{
	struct dkim_keys_state st;
	struct sx_err err = { 0 };
	size_t made = 0;
	char *dir = dkim_keys_dir(k->c, k->a);

	if (dkim_keys_state_read(k->c, &st, &err) < 0 || dir == NULL ||
	    dkim_keys_init(k->c, k->a, &made, &err) < 0) {
		fprintf(stderr, "smexop dkim init: %s\n", err.msg[0] ? err.msg : "out of memory");
		return CLI_EXIT_USAGE;
	}
	printf("; %s: %zu new key%s in %s; active selector %s, next %s\n", k->c->domain, made,
	       made == 1 ? "" : "s", dir, st.active, dkim_keys_next(k->c, &st));
	printf("; publish both records (smexop dkim status %s checks them):\n", k->c->domain);
	if (keys_print_records(k, st.active, "active") < 0 ||
	    keys_print_records(k, dkim_keys_next(k->c, &st), "next") < 0)
		return CLI_EXIT_USAGE;
	return CLI_EXIT_OK;
}

/* ---- rotate ------------------------------------------------------------- */

static int keys_rotate(struct keys_args *k)
{
	struct dkim_keys_slot slots[DKIM_KEYS_MAX_SLOTS];
	struct dkim_keys_state st;
	struct dkim_keys_verdict v;
	struct dns_answer *ans;
	struct sx_err err = { 0 };
	const char *next, *line;
	size_t i, n;
	int r, refused = 0;

	if (dkim_keys_state_read(k->c, &st, &err) < 0) {
		fprintf(stderr, "smexop dkim rotate: %s\n", err.msg);
		return CLI_EXIT_USAGE;
	}
	next = dkim_keys_next(k->c, &st);
	n = dkim_keys_slots(k->c, next, k->a, slots);
	for (i = 0; i < n; i++) {
		r = dkim_keys_load(&slots[i], k->a, &err);
		if (r != 0) {
			fprintf(stderr, "smexop dkim rotate: %s\n",
			        r > 0 ? "the next selector has no key (smexop dkim init makes it)"
			              : err.msg);
			return CLI_EXIT_USAGE;
		}
	}
	if (!k->force) {
		if (keys_dns_open(k) < 0)
			return CLI_EXIT_USAGE;
		for (i = 0; i < n; i++) {
			ans = dns_resolve_sync(k->dns.dns, k->dns.base, k->a, slots[i].dns_name,
			                       DNS_T_TXT);
			dkim_keys_check(&slots[i], false, ans, k->a, &v);
			if (v.matches)
				continue;
			fprintf(stderr, "smexop dkim rotate: refusing: %s: %s\n", slots[i].dns_name,
			        v.msg);
			line = dkim_keys_zone_line(k->a, slots[i].dns_name, slots[i].record);
			printf("; publish first (or rotate with --force):\n%s\n", line ? line : "");
			refused = 1;
		}
		if (refused)
			return 1;
	}
	if (dkim_keys_rotate(k->c, k->a, (int64_t)time(NULL), &st, &err) < 0) {
		fprintf(stderr, "smexop dkim rotate: %s\n", err.msg);
		return CLI_EXIT_USAGE;
	}
	printf("; %s: selector %s is active now; %s has a new key\n", k->c->domain, st.active,
	       dkim_keys_next(k->c, &st));
	printf("; publish it in place of the old record once mail signed before the rotation\n"
	       "; has been delivered (a day is plenty), before the next rotation:\n");
	return keys_print_records(k, dkim_keys_next(k->c, &st), "next") < 0 ? CLI_EXIT_USAGE
	                                                                    : CLI_EXIT_OK;
}

/* ---- status ------------------------------------------------------------- */

struct keys_row {
	struct dkim_keys_slot slot;
	struct dkim_keys_verdict v;
	bool active;
};

static void keys_status_json(const struct keys_args *k, const struct dkim_keys_state *st,
                             const struct keys_row *rows, size_t nrows, enum dkim_keys_level worst)
{
	static const char *const algs[] = { "rsa", "ed25519", "dual" };
	size_t i;

	printf("{\"domain\":");
	cli_json_string(stdout, k->c->domain);
	printf(",\"enabled\":%s,\"algorithm\":\"%s\",\"active\":", k->c->enabled ? "true" : "false",
	       algs[k->c->algorithm]);
	cli_json_string(stdout, st->active);
	printf(",\"next\":");
	cli_json_string(stdout, dkim_keys_next(k->c, st));
	printf(",\"rotated\":%lld,\"result\":\"%s\",\"selectors\":[", (long long)st->rotated,
	       dkim_keys_level_name(worst));
	for (i = 0; i < nrows; i++) {
		const struct keys_row *r = &rows[i];

		printf("%s{\"selector\":", i ? "," : "");
		cli_json_string(stdout, r->slot.dns_selector);
		printf(",\"role\":\"%s\",\"name\":", r->active ? "active" : "next");
		cli_json_string(stdout, r->slot.dns_name);
		printf(",\"type\":\"%s\",\"key_file\":",
		       r->slot.type == DKIM_KEY_RSA ? "rsa" : "ed25519");
		cli_json_string(stdout, r->slot.path);
		if (r->slot.signer.pkey != NULL)
			printf(",\"bits\":%u", r->slot.signer.bits);
		printf(",\"level\":\"%s\",\"code\":\"%s\",\"message\":",
		       dkim_keys_level_name(r->v.level), r->v.code);
		cli_json_string(stdout, r->v.msg ? r->v.msg : "");
		printf(",\"publish\":%s,\"record\":", r->v.publish ? "true" : "false");
		if (r->slot.record != NULL)
			cli_json_string(stdout, r->slot.record);
		else
			printf("null");
		printf("}");
	}
	printf("]}\n");
}

static int keys_status(struct keys_args *k)
{
	struct keys_row rows[2 * DKIM_KEYS_MAX_SLOTS];
	struct dkim_keys_slot slots[DKIM_KEYS_MAX_SLOTS];
	struct dkim_keys_state st;
	struct dns_answer *ans;
	struct sx_err err = { 0 };
	enum dkim_keys_level worst = DKIM_KEYS_OK;
	const char *sels[2], *line;
	char when[32] = "never";
	size_t nrows = 0, i, j, n;
	bool any_publish = false;
	struct tm tm;
	time_t t;

	if (dkim_keys_state_read(k->c, &st, &err) < 0) {
		fprintf(stderr, "smexop dkim status: %s\n", err.msg);
		return CLI_EXIT_USAGE;
	}
	if (keys_dns_open(k) < 0)
		return CLI_EXIT_USAGE;
	sels[0] = st.active;
	sels[1] = dkim_keys_next(k->c, &st);
	for (i = 0; i < 2; i++) {
		n = dkim_keys_slots(k->c, sels[i], k->a, slots);
		for (j = 0; j < n; j++) {
			struct keys_row *r = &rows[nrows++];

			r->slot = slots[j];
			r->active = i == 0;
			if (dkim_keys_load(&r->slot, k->a, &err) < 0) {
				r->v.level = DKIM_KEYS_ERROR;
				r->v.code = "nokey";
				r->v.msg = arena_printf(k->a, "%s", err.msg);
			} else {
				ans = dns_resolve_sync(k->dns.dns, k->dns.base, k->a,
				                       r->slot.dns_name, DNS_T_TXT);
				dkim_keys_check(&r->slot, r->active, ans, k->a, &r->v);
			}
			if (r->v.level > worst)
				worst = r->v.level;
			any_publish |= r->v.publish && r->slot.record != NULL;
		}
	}
	if (k->json) {
		keys_status_json(k, &st, rows, nrows, worst);
	} else {
		t = (time_t)st.rotated;
		if (st.rotated > 0 && gmtime_r(&t, &tm) != NULL)
			strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", &tm);
		printf("%s: active selector %s (rotated %s), next %s; signing %s\n", k->c->domain,
		       st.active, when, sels[1], k->c->enabled ? "enabled" : "disabled");
		for (i = 0; i < nrows; i++)
			printf("%-5s %s (%s, %s): %s\n", dkim_keys_level_name(rows[i].v.level),
			       rows[i].slot.dns_name, rows[i].active ? "active" : "next",
			       rows[i].slot.type == DKIM_KEY_RSA ? "rsa" : "ed25519",
			       rows[i].v.msg ? rows[i].v.msg : "");
		if (any_publish)
			printf("publish:\n");
		for (i = 0; i < nrows; i++) {
			if (!rows[i].v.publish || rows[i].slot.record == NULL)
				continue;
			line =
			    dkim_keys_zone_line(k->a, rows[i].slot.dns_name, rows[i].slot.record);
			printf("%s\n", line ? line : "");
		}
	}
	return worst == DKIM_KEYS_ERROR ? 2 : worst == DKIM_KEYS_WARN ? 1 : 0;
}

/* cli_dkim_keys - `smexop dkim init|rotate|status ...`; argv[0] is the verb */
int cli_dkim_keys(int argc, char **argv)
{
	struct keys_args k;
	int rc;

	memset(&k, 0, sizeof(k));
	k.name = argv[0];
	if (strcmp(argv[0], "init") == 0)
		k.cmd = KEYS_INIT;
	else if (strcmp(argv[0], "rotate") == 0)
		k.cmd = KEYS_ROTATE;
	else
		k.cmd = KEYS_STATUS;
	rc = keys_parse(&k, argc, argv);
	if (rc > 0) {
		keys_free(&k);
		return rc - 1;
	}
	fflush(stdout);
	switch (k.cmd) {
	case KEYS_INIT:
		rc = keys_init(&k);
		break;
	case KEYS_ROTATE:
		rc = keys_rotate(&k);
		break;
	default:
		rc = keys_status(&k);
		break;
	}
	if (fflush(stdout) != 0 && rc == CLI_EXIT_OK) {
		fprintf(stderr, "smexop dkim %s: write error: %s\n", k.name, strerror(errno));
		rc = CLI_EXIT_USAGE;
	}
	keys_free(&k);
	return rc;
}
