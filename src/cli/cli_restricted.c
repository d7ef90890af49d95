/*
 * cli_restricted - `smexop restricted list|release`: the senders the
 * outbound spam policy blocked (EOP's restricted entities; pipeline/
 * stage_outbound.c puts them there)
 *
 *   list [--json]   one line per blocked sender: address, since, until
 *                   ("released by an admin" when it has no end) and the
 *                   limit it exceeded
 *   release ADDR    the sender may send again at once (its counters are
 *                   kept: it is blocked again if it goes on over a limit);
 *                   exit 2 when it was not blocked
 */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "store/store.h"

static int cli_rs_usage(FILE *out)
{
	fprintf(out, "usage: smexop restricted list [--json] [OPTIONS]\n"
	             "       smexop restricted release ADDR [OPTIONS]\n\n"
	             "Senders blocked by the outbound spam policy (outbound_spam): list them,\n"
	             "or let one send again.  Blocked senders get `550 5.1.8 Access denied,\n"
	             "bad outbound sender`.\n\n"
	             "options:\n"
	             "  -c, --config FILE     configuration (store.path)\n"
	             "  --db PATH             the database instead of store.path\n"
	             "  --now T               the current time (tests)\n");
	return out == stdout ? CLI_EXIT_OK : CLI_EXIT_USAGE;
}

static int cli_rs_list_cb(const struct store_restricted *r, void *arg)
{
	const bool *json = arg;
	char since[32], until[32];

	if (*json) {
		fputc('{', stdout);
		cli_json_field(stdout, "sender", r->sender, false);
		printf(",\"since\":%lld,\"until\":%lld", (long long)r->since, (long long)r->until);
		cli_json_field(stdout, "reason", r->reason, true);
		fputs("}\n", stdout);
		return 0;
	}
	printf(
	    "%s since %s until %s (%s)\n", r->sender, cli_spool_iso(r->since, since, sizeof(since)),
	    r->until > 0 ? cli_spool_iso(r->until, until, sizeof(until)) : "released by an admin",
	    r->reason);
	return 0;
}

int cli_restricted(int argc, char **argv)
{
	struct cli_spool_ctx c = { .cmd = "restricted" };
	struct sx_err err = { 0 };
	const char *sub, *addr = NULL;
	bool json = false;
	int i, rc;

	rc = cli_subcommand(c.cmd, argc, argv, (const char *const[]){ "list", "release", NULL },
	                    cli_rs_usage, &sub);
	if (rc != 0)
		return cli_opt_exit(rc);
	for (i = 2; i < argc; i++) {
		const char *opt = argv[i];

		rc = cli_spool_args(&c, argc, argv, &i, cli_rs_usage);
		if (rc < 0)
			return cli_opt_exit(rc);
		if (rc > 0)
			continue;
		if (strcmp(opt, "--json") == 0)
			json = true;
		else if (opt[0] == '-' && opt[1] != '\0')
			return cli_usage_error(c.cmd, "unknown option: %s", opt);
		else if (addr == NULL)
			addr = opt;
		else
			return cli_usage_error(c.cmd, "one address only");
	}
	if ((strcmp(sub, "release") == 0) != (addr != NULL))
		return cli_usage_error(c.cmd, "%s",
		                       addr == NULL ? "release: which address?"
		                                    : "list takes no address");
	if ((rc = cli_spool_open(&c, false, true)) != 0)
		return rc;
	rc = CLI_EXIT_OK;
	if (addr == NULL) {
		if (store_restricted_list(c.st, c.now, cli_rs_list_cb, &json, &err) != 0) {
			fprintf(stderr, "smexop restricted: %s\n", err.msg);
			rc = 1;
		}
	} else {
		int r = store_restricted_release(c.st, addr, &err);
		if (r < 0) {
			fprintf(stderr, "smexop restricted: %s\n", err.msg);
			rc = 1;
		} else if (r == 1) {
			fprintf(stderr, "smexop restricted: %s is not restricted\n", addr);
			rc = CLI_EXIT_USAGE;
		} else {
			printf("released %s\n", addr);
		}
	}
	cli_spool_close(&c);
	return rc;
}
