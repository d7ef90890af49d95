/*
 * cli - the smexop command line: one file per subcommand
 *
 * main.c holds the table of commands and dispatches; each cli_<name>.c
 * implements `int cli_<name>(int argc, char **argv)` with argv[0] being
 * the subcommand name, and prints its own --help.  Contract (see
 * ARCHITECTURE.md): evaluation commands exit 0 whatever the verdict and
 * 2 on usage or input errors; --json prints one JSON object per item.
 */
#ifndef SMEXOP_CLI_CLI_H
#define SMEXOP_CLI_CLI_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "core/dns.h"

#define CLI_EXIT_OK    0
#define CLI_EXIT_USAGE 2

struct event_base;

/* The DNS options every command that looks anything up accepts. */
struct cli_dns {
	struct dns_options opts;
	char host[256];
	struct event_base *base;
	struct dns *dns;
	struct dns_zone *zone;
};

#define CLI_DNS_USAGE                                                                              \
	"  --dns HOST:PORT       send every query to this DNS server\n"                            \
	"  --dns-zone FILE       answer from this RFC 1035 master file, offline\n"                 \
	"  --dns-timeout MS      per-query timeout in milliseconds (default 5000)\n"               \
	"  --trust-anchor FILE   DNSSEC trust anchor (default: the root key, unless --dns)\n"

/*
 * cli_dns_option - consume a DNS option at argv[*i] (and its value);
 * returns 1 when consumed, 0 when argv[*i] is not a DNS option, -1 on a
 * bad value (message printed).
 */
int cli_dns_option(struct cli_dns *d, int argc, char **argv, int *i);
/* cli_dns_open - create the event base and resolver; -1 with a message */
int cli_dns_open(struct cli_dns *d, const char *prog);
void cli_dns_close(struct cli_dns *d);

/* cli_usage_error - print "smexop CMD: message" and a hint; returns 2 */
int cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* cli_json_string - print s as a JSON string literal */
void cli_json_string(FILE *out, const char *s);

/* subcommands */
int cli_spf(int argc, char **argv);
int cli_config(int argc, char **argv);
int cli_dns_cmd(int argc, char **argv);
int cli_dkim(int argc, char **argv);
/* dkim init|rotate|status (cli_dkim_keys.c), called by cli_dkim */
int cli_dkim_keys(int argc, char **argv);
int cli_dmarc(int argc, char **argv);
/* cli_dmarc_report.c: smexop dmarc report|import|summary */
int cli_dmarc_report(int argc, char **argv);
int cli_dmarc_import(int argc, char **argv);
int cli_dmarc_summary(int argc, char **argv);
/* cli_dmarc_record - store an evaluated message for aggregate reports
 * (smexop dmarc --record); 0 or an exit code, message printed */
struct dmarc_outcome;
struct dmarc_report_msg;
int cli_dmarc_record(const char *config, const char *db, const struct dmarc_outcome *o,
                     const struct dmarc_report_msg *m, int64_t t);
int cli_auth(int argc, char **argv);
int cli_arc(int argc, char **argv);
/* cli_check_ip.c: stage 1 (connection filter, reputation) for one IP */
int cli_check_ip(int argc, char **argv);

#endif
