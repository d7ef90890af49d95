/*
 * main - the smexop command: dispatch to a subcommand
 *
 * `smexop help`, `smexop --version`, `smexop COMMAND --help`.  Each
 * subcommand lives in its own cli_<name>.c and is listed once below.
 */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "smexop_version.h"

struct command {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
};

static const struct command commands[] = {
	{ "spf", cli_spf, "evaluate SPF (RFC 7208) for an IP, MAIL FROM and HELO" },
	{ "dns", cli_dns_cmd, "look a name up through smexop's resolver (A, MX, TXT, TLSA ...)" },
	{ "dkim", cli_dkim, "verify, sign DKIM (RFC 6376, RFC 8463); make keys (dkim keygen)" },
	{ "dmarc", cli_dmarc, "evaluate DMARC (RFC 7489); report, import, summary" },
	{ "arc", cli_arc, "validate an ARC chain, add an ARC set (RFC 8617)" },
	{ "analyze", cli_analyze, "explain a message header: hops, authentication, antispam" },
	{ "auth", cli_auth, "check SPF, DKIM, DMARC, ARC and compauth of a message" },
	{ "scan", cli_scan, "run the whole pipeline offline on messages, Maildirs, mbox files" },
	{ "check-ip", cli_check_ip, "reputation block (DNSBL) and IP lists for a client IP" },
	{ "check-domain", cli_check_domain, "check a domain's MX, PTR, SPF, DKIM and DMARC" },
	{ "config", cli_config, "check a configuration file (config check FILE)" },
	{ "spool", cli_spool, "show the message spool (spool dump ID, spool list)" },
	{ "deliver", cli_deliver, "one queue manager pass, no daemon (deliver --once)" },
	{ "keyholder", cli_keyholder, "the DKIM/ARC key holder (started by serve)" },
	{ "queue", cli_queue, "the delivery queue: list, show, retry, delete, hold, release" },
	{ "quarantine", cli_quarantine, "list, show, release, delete quarantined messages" },
	{ "directory", cli_directory, "edge blocking recipients: add, remove, list, import" },
	{ "restricted", cli_restricted, "senders the outbound policy blocked: list, release" },
	{ "trace", cli_trace, "message trace: what happened to a message" },
	{ "serve", cli_serve, "run the gateway: SMTP, protection pipeline, spool, delivery" },
	{ "send", cli_send, "deliver a message over SMTP or LMTP (MX, DANE, MTA-STS), like swaks" },
	{ "tlsa", cli_tlsa, "print the DANE TLSA record (3 1 1) of a certificate" },
	{ "tlsrpt", cli_tlsrpt,
	  "TLS-RPT (RFC 8460): send daily reports, import and summarise received ones" },
	{ "mta-sts", cli_mtasts, "check a domain's MTA-STS policy, MX hosts and certificates" },
};

#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static void usage(FILE *out)
{
	size_t i;

	fprintf(out, "usage: smexop COMMAND [OPTIONS] [ARGS]\n"
	             "       smexop COMMAND --help\n"
	             "       smexop --version\n\n"
	             "commands:\n");
	for (i = 0; i < NCOMMANDS; i++)
		fprintf(out, "  %-12s %s\n", commands[i].name, commands[i].summary);
	fprintf(out, "  %-12s %s\n", "help", "this text");
}

int main(int argc, char **argv)
{
	size_t i;

	if (argc < 2) {
		usage(stderr);
		return CLI_EXIT_USAGE;
	}
	if (strcmp(argv[1], "help") == 0 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "-h") == 0) {
		if (argc > 2 && strcmp(argv[1], "help") == 0) {
			for (i = 0; i < NCOMMANDS; i++)
				if (strcmp(argv[2], commands[i].name) == 0) {
					char help[] = "--help";
					char *av[] = { argv[2], help, NULL };
					return commands[i].run(2, av);
				}
		}
		usage(stdout);
		return CLI_EXIT_OK;
	}
	if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "version") == 0) {
		printf("smexop %s\n", SMEXOP_VERSION);
		return CLI_EXIT_OK;
	}
	for (i = 0; i < NCOMMANDS; i++)
		if (strcmp(argv[1], commands[i].name) == 0)
			return commands[i].run(argc - 1, argv + 1);
	fprintf(stderr, "smexop: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return CLI_EXIT_USAGE;
}
