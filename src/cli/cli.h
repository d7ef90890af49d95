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

/* cli_config_resolver - a resolver on base as the configuration's dns
 * section says (its first server as the forwarder, the timeout, DNSSEC
 * with the trust anchor when that file is readable); NULL with err */
struct config_dns;
struct dns *cli_config_resolver(struct event_base *base, const struct config_dns *c,
                                struct sx_err *err);

/* cli_usage_error - print "smexop CMD: message" and a hint; returns 2 */
int cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* cli_json_string - print s as a JSON string literal */
void cli_json_string(FILE *out, const char *s);
/* cli_json_field - print "key":val (after a comma when asked), null when val is NULL */
void cli_json_field(FILE *out, const char *key, const char *val, bool comma);

/*
 * cli_common_option - consume an option every evaluation command shares:
 * the DNS options, --help/-h (usage(stdout) is printed) and, when json is
 * not NULL, --json.  1 when consumed, 0 when argv[*i] is none of them,
 * CLI_OPT_HELP or CLI_OPT_ERROR when the command must end: return
 * cli_opt_exit(r) then.
 */
#define CLI_OPT_ERROR (-1)
#define CLI_OPT_HELP  (-2)
int cli_common_option(struct cli_dns *d, bool *json, void (*usage)(FILE *out), int argc,
                      char **argv, int *i);
static inline int cli_opt_exit(int r)
{
	return r == CLI_OPT_HELP ? CLI_EXIT_OK : CLI_EXIT_USAGE;
}

/*
 * cli_subcommand - argv[1] as the subcommand, one of subs (NULL-ended),
 * into *sub: 0.  Else CLI_OPT_ERROR (none: usage(stderr) printed; an
 * unknown one: the usage error) or CLI_OPT_HELP (--help or -h: usage(stdout)
 * printed): return cli_opt_exit(r) then.
 */
int cli_subcommand(const char *cmd, int argc, char **argv, const char *const *subs,
                   int (*usage)(FILE *out), const char **sub);

/* cli_file_arg - a positional FILE argument (or an unknown option):
 * 0 when taken into *file, else the usage error's exit code */
int cli_file_arg(const char *cmd, const char *arg, const char **file);

struct buf;
struct store;
struct arena;
struct raw_message;
/* cli_read_file - the whole of path ("-" or NULL: standard input) into b,
 * capped at BUF_CAP_FILE; -1 with "smexop PROG: cannot read ..." */
int cli_read_file(const char *prog, const char *path, struct buf *b);
/* what the report import commands hand their cli_import_fn */
struct cli_import_ctx {
	struct store *st;
	bool json;
	size_t max; /* bytes per file, also the cap on what it unpacks to */
};
/* cli_import_fn - one received report file's bytes: parse, store, print;
 * returns an exit code (CLI_EXIT_OK, 1 store trouble, CLI_EXIT_USAGE) */
typedef int (*cli_import_fn)(struct arena *a, const char *file, const unsigned char *data,
                             size_t len, void *arg);
/* cli_import_args - the import commands' arguments: the command's own
 * options through option(ctx, argc, argv, &i) (1 taken, 0 not its, -1
 * error), --help/-h (usage on stdout), --json, then `--` or the first file.
 * -1: go on, the files start at *first; otherwise the exit code to return */
int cli_import_args(const char *cmd, int argc, char **argv,
                    int (*option)(void *ctx, int argc, char **argv, int *i), void *ctx,
                    void (*usage)(FILE *out), bool *json, int *first);
/* cli_import_files - argv[first..argc) read one by one (each capped at max,
 * in its own arena) and handed to fn; the worst exit code of them all */
int cli_import_files(int argc, char **argv, int first, size_t max, cli_import_fn fn, void *arg);
/* cli_read_message - cli_read_file, then parse it into m; -1 with a message */
int cli_read_message(const char *prog, const char *path, struct buf *b, struct arena *a,
                     struct raw_message *m);

/* cli_split_list - "a:b:c" into a NULL-terminated array (arena); NULL when out of memory */
const char **cli_split_list(struct arena *a, const char *s);

/* cli_wait - asynchronous checks in flight on an event loop: each
 * completion callback calls cli_wait_done, and cli_wait_run runs the loop
 * until none is pending */
struct cli_wait {
	struct event_base *base;
	int pending;
	void *result; /* what the last cli_wait_done was given */
};
void cli_wait_init(struct cli_wait *w, struct event_base *base, int pending);
/* cli_wait_done - one check finished with result: the loop stops when none is left */
void cli_wait_done(struct cli_wait *w, void *result);
/* cli_wait_run - 0 when every check finished, -1 when the loop failed or emptied first */
int cli_wait_run(struct cli_wait *w);

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
int cli_analyze(int argc, char **argv);
/* cli_scan.c: the whole pipeline, offline, on files, Maildirs and mbox files */
int cli_scan(int argc, char **argv);
/* cli_check_ip.c: stage 1 (connection filter, reputation) for one IP */
int cli_check_ip(int argc, char **argv);
/* cli_check_domain.c: MX, PTR, SPF, DKIM, DMARC lint of a domain (report/domaincheck) */
int cli_check_domain(int argc, char **argv);

/* cli_spool.c: what the spool, deliver, quarantine and trace commands
 * share (-c, --spool, --db, --now; the spool and store opened) */
struct smexop_config;
struct spool;
struct cli_spool_ctx {
	const char *cmd;
	const char *config, *spool_dir, *db, *now_arg;
	struct smexop_config *cfg;
	struct spool *sp;
	struct store *st;
	int64_t now;
};
/* cli_spool_option - consume a shared option: 1 consumed, 0 not ours, -1 error */
int cli_spool_option(struct cli_spool_ctx *c, int argc, char **argv, int *i);
/* cli_spool_args - cli_spool_option, then --help and -h (usage(stdout)
 * printed): 1 consumed, 0 not ours, CLI_OPT_ERROR or CLI_OPT_HELP when the
 * command must end (return cli_opt_exit(r)) */
int cli_spool_args(struct cli_spool_ctx *c, int argc, char **argv, int *i, int (*usage)(FILE *out));
/* cli_spool_open - load the config and open what is needed; 0 or an exit
 * code (what it opened closed again) */
int cli_spool_open(struct cli_spool_ctx *c, bool need_spool, bool need_store);
void cli_spool_close(struct cli_spool_ctx *c);
/* cli_spool_time - seconds, YYYY-MM-DD[THH:MM:SSZ] (UTC), or a duration ago ("2h") */
int cli_spool_time(const char *s, int64_t now, int64_t *out);
/* cli_spool_iso - "2026-01-02T03:04:05Z" */
const char *cli_spool_iso(int64_t t, char *out, size_t outsize);
int cli_spool(int argc, char **argv);
/* cli_keyholder.c: smexop keyholder --fd N, the key holder serve starts */
int cli_keyholder(int argc, char **argv);

/* cli_queue.c: smexop queue list|show|retry|delete|hold|release|run, deliver --once */
int cli_deliver(int argc, char **argv);
int cli_queue(int argc, char **argv);
int cli_quarantine(int argc, char **argv);
/* cli_directory.c: smexop directory add|remove|list|import (the store's table) */
int cli_directory(int argc, char **argv);
/* cli_restricted.c: smexop restricted list|release (outbound spam policy) */
int cli_restricted(int argc, char **argv);
int cli_trace(int argc, char **argv);
/* cli_serve.c: smexop serve, the gateway daemon */
int cli_serve(int argc, char **argv);
/* cli_tlsa.c: smexop tlsa CERT, the DANE TLSA record of a certificate */
int cli_tlsa(int argc, char **argv);
/* cli_tlsrpt.c: smexop tlsrpt report|import|summary (RFC 8460) */
int cli_tlsrpt(int argc, char **argv);
/* cli_send.c: smexop send, deliver a message over SMTP/LMTP (transport/outbound) */
int cli_send(int argc, char **argv);
/* cli_mtasts.c: smexop mta-sts check DOMAIN (RFC 8461) */
int cli_mtasts(int argc, char **argv);

#endif
