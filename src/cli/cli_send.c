/*
 * cli_send - `smexop send`: deliver one message over SMTP or LMTP with
 * the gateway's own delivery code (transport/outbound.h), like swaks
 *
 * Without --server each recipient domain is delivered to directly: its
 * MX hosts (or the implicit MX), with DANE and MTA-STS when they apply;
 * with --server every recipient goes to that host.  One line per
 * recipient ("delivered", "deferred" or "failed", the code and the
 * reply), then one line per destination with the session: host, TLS
 * and the policy that chose it.  -v prints the SMTP transcript on
 * standard error.  --repeat sends the message again and again (the
 * session is reused unless --no-reuse) and prints the rate: a bench.
 *
 * Exit 0 when every recipient was delivered, 1 when some were deferred
 * or failed, 2 on usage or input errors.
 */
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "core/buf.h"
#include "core/log.h"
#include "core/net.h"
#include "core/str.h"
#include "store/store.h"
#include "transport/outbound.h"

#define CLI_SEND_RCPTS_MAX   1000
#define CLI_SEND_SERVERS_MAX 8

static void cli_send_usage(FILE *out)
{
	fprintf(
	    out,
	    "usage: smexop send --mail-from ADDR --rcpt ADDR [--rcpt ADDR ...] [options] [FILE]\n"
	    "\n"
	    "Deliver the message in FILE (or standard input) over SMTP or LMTP with\n"
	    "smexop's delivery code and print what became of each recipient.\n"
	    "\n"
	    "options:\n"
	    "  --server HOST[:PORT]  deliver to this host (repeatable: tried in order);\n"
	    "                        without it, to the MX hosts of each recipient's\n"
	    "                        domain with DANE and MTA-STS\n"
	    "  --lmtp                speak LMTP (default port 24)\n"
	    "  --tls MODE            none, opportunistic (default), required, verify\n"
	    "  --ca-file FILE        trust store for verify (default: the system's)\n"
	    "  --mail-from ADDR      the envelope sender (\"\" for <>)\n"
	    "  --rcpt ADDR           a recipient (repeatable)\n"
	    "  --helo NAME           our EHLO name (default: localhost)\n"
	    "  --port N              the port of MX hosts (default 25; for tests)\n"
	    "  --timeout MS          per reply (default: RFC 5321's minutes)\n"
	    "  --no-dane             do not use DANE\n"
	    "  --no-mta-sts          do not use MTA-STS\n"
	    "  --mta-sts-port N      the policy hosts' HTTPS port (default 443; for tests)\n"
	    "  --db FILE             a store (SQLite): MTA-STS policy cache and TLS-RPT\n"
	    "                        outcomes of the sessions (default: none, memory)\n"
	    "  --no-chunking         never BDAT\n"
	    "  --no-pipelining       one command at a time\n"
	    "  --repeat N            send the message N times and print the rate\n"
	    "  --no-reuse            a new connection for every message (with --repeat)\n"
	    "  -v, --verbose         the SMTP transcript on standard error\n" CLI_DNS_USAGE
	    "  --help                this text\n"
	    "\n"
	    "Exit status: 0 every recipient delivered, 1 some deferred or failed, 2 usage.\n");
}

struct cli_send_dest {
	const char *domain;
	struct outbound_rcpt *rcpts;
	size_t nrcpts;
	const char **addrs; /* for printing, same order */
};

struct cli_send {
	struct event_base *base;
	int pending;
	unsigned delivered, deferred, failed;
	bool quiet; /* --repeat: only the last round prints */
	bool verbose;
};

struct cli_send_job {
	struct cli_send *s;
	const struct cli_send_dest *d;
};

static const char *cli_send_status(enum outbound_status st)
{
	return st == OUTBOUND_DELIVERED ? "delivered"
	       : st == OUTBOUND_FAILED  ? "failed"
	                                : "deferred";
}

static void cli_send_done(const struct outbound_result *res, void *arg)
{
	struct cli_send_job *jb = arg;
	struct cli_send *s = jb->s;
	size_t i;

	for (i = 0; i < jb->d->nrcpts; i++) {
		const struct outbound_rcpt_result *r = &res->rcpts[i];

		if (r->status == OUTBOUND_DELIVERED)
			s->delivered++;
		else if (r->status == OUTBOUND_FAILED)
			s->failed++;
		else
			s->deferred++;
		if (!s->quiet)
			printf("%s %s %u%s%s %s\n", jb->d->rcpts[i].addr,
			       cli_send_status(r->status), r->code, r->enhanced[0] ? " " : "",
			       r->enhanced, r->text);
	}
	if (!s->quiet)
		printf("session %s: host=%s ip=%s tls=%s%s%s verified=%s policy=%s\n",
		       jb->d->domain, res->remote_host[0] ? res->remote_host : "-",
		       res->remote_ip[0] ? res->remote_ip : "-",
		       res->tls_version[0] ? res->tls_version : "none",
		       res->tls_cipher[0] ? "/" : "", res->tls_cipher,
		       res->tls_verified ? "yes" : "no", res->tls_policy ? res->tls_policy : "-");
	if (--s->pending == 0)
		event_base_loopbreak(s->base);
}

static void cli_send_transcript(void *arg, bool sent, const char *line, size_t len)
{
	(void)arg;
	fprintf(stderr, "%s %.*s\n", sent ? "->" : "<-", (int)len, line);
}

static int cli_send_tls(const char *s, enum outbound_tls *out)
{
	if (strcmp(s, "none") == 0)
		*out = OUTBOUND_TLS_NONE;
	else if (strcmp(s, "opportunistic") == 0 || strcmp(s, "may") == 0)
		*out = OUTBOUND_TLS_OPPORTUNISTIC;
	else if (strcmp(s, "required") == 0 || strcmp(s, "encrypt") == 0)
		*out = OUTBOUND_TLS_REQUIRED;
	else if (strcmp(s, "verify") == 0)
		*out = OUTBOUND_TLS_VERIFY;
	else
		return -1;
	return 0;
}

static bool cli_send_ascii(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s >= 0x80)
			return false;
	return true;
}

static double cli_send_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int cli_send(int argc, char **argv)
{
	const char *cmd = "send", *file = NULL, *mail_from = NULL, *helo = "localhost";
	const char *ca_file = NULL, *db = NULL;
	struct store *st = NULL;
	const char *rcpts[CLI_SEND_RCPTS_MAX];
	struct outbound_host servers[CLI_SEND_SERVERS_MAX];
	char server_names[CLI_SEND_SERVERS_MAX][256];
	size_t nrcpts = 0, nservers = 0, ndest = 0, i, k;
	struct cli_dns d = { 0 };
	struct outbound_options oo = { 0 };
	enum outbound_tls tls = OUTBOUND_TLS_OPPORTUNISTIC;
	bool lmtp = false, no_reuse = false;
	uint64_t v, repeat = 1;
	struct cli_send s = { 0 };
	struct cli_send_dest *dests = NULL;
	struct cli_send_job *jobs = NULL;
	struct outbound *ob = NULL;
	struct sx_err err = { 0 };
	struct buf msg;
	int rc = CLI_EXIT_USAGE, r;
	bool eight = false, utf8 = false;
	double t0, t1;

	oo.dane = true;
	oo.mta_sts = true;
	for (i = 1; i < (size_t)argc; i++) {
		const char *a = argv[i];
		int ii = (int)i;

		r = cli_common_option(&d, NULL, cli_send_usage, argc, argv, &ii);
		i = (size_t)ii;
		if (r < 0)
			return cli_opt_exit(r);
		if (r > 0)
			continue;
		if (strcmp(a, "-v") == 0 || strcmp(a, "--verbose") == 0) {
			s.verbose = true;
		} else if (strcmp(a, "--lmtp") == 0) {
			lmtp = true;
		} else if (strcmp(a, "--no-dane") == 0) {
			oo.dane = false;
		} else if (strcmp(a, "--no-mta-sts") == 0) {
			oo.mta_sts = false;
		} else if (strcmp(a, "--no-chunking") == 0) {
			oo.no_chunking = true;
		} else if (strcmp(a, "--no-pipelining") == 0) {
			oo.no_pipelining = true;
		} else if (strcmp(a, "--no-reuse") == 0) {
			no_reuse = true;
		} else if (a[0] == '-' && a[1] == '-' && strchr(a, '=') == NULL &&
		           (strcmp(a, "--server") == 0 || strcmp(a, "--tls") == 0 ||
		            strcmp(a, "--ca-file") == 0 || strcmp(a, "--mail-from") == 0 ||
		            strcmp(a, "--rcpt") == 0 || strcmp(a, "--helo") == 0 ||
		            strcmp(a, "--port") == 0 || strcmp(a, "--timeout") == 0 ||
		            strcmp(a, "--repeat") == 0 || strcmp(a, "--mta-sts-port") == 0 ||
		            strcmp(a, "--db") == 0)) {
			const char *val;

			if (i + 1 >= (size_t)argc)
				return cli_usage_error(cmd, "%s needs a value", a);
			val = argv[++i];
			if (strcmp(a, "--server") == 0) {
				if (nservers >= CLI_SEND_SERVERS_MAX)
					return cli_usage_error(cmd, "at most %d --server",
					                       CLI_SEND_SERVERS_MAX);
				if (net_hostport_parse(val, 0, server_names[nservers],
				                       sizeof(server_names[0]),
				                       &servers[nservers].port) < 0 ||
				    server_names[nservers][0] == '\0')
					return cli_usage_error(cmd, "--server: not HOST[:PORT]: %s",
					                       val);
				servers[nservers].host = server_names[nservers];
				nservers++;
			} else if (strcmp(a, "--tls") == 0) {
				if (cli_send_tls(val, &tls) < 0)
					return cli_usage_error(
					    cmd,
					    "--tls: none, opportunistic, required "
					    "or verify, not %s",
					    val);
			} else if (strcmp(a, "--ca-file") == 0) {
				ca_file = val;
			} else if (strcmp(a, "--mail-from") == 0) {
				mail_from = val;
			} else if (strcmp(a, "--rcpt") == 0) {
				if (nrcpts >= CLI_SEND_RCPTS_MAX)
					return cli_usage_error(cmd, "at most %d recipients",
					                       CLI_SEND_RCPTS_MAX);
				if (strchr(val, '@') == NULL || val[0] == '@' ||
				    strchr(val, '@')[1] == '\0')
					return cli_usage_error(cmd, "--rcpt: not local@domain: %s",
					                       val);
				rcpts[nrcpts++] = val;
			} else if (strcmp(a, "--helo") == 0) {
				helo = val;
			} else if (strcmp(a, "--port") == 0) {
				if (str_to_u64(val, strlen(val), 1, 65535, &v) < 0)
					return cli_usage_error(cmd, "--port: not a port: %s", val);
				oo.port = (unsigned)v;
			} else if (strcmp(a, "--db") == 0) {
				db = val;
			} else if (strcmp(a, "--mta-sts-port") == 0) {
				if (str_to_u64(val, strlen(val), 1, 65535, &v) < 0)
					return cli_usage_error(
					    cmd, "--mta-sts-port: not a port: %s", val);
				oo.mta_sts_port = (unsigned)v;
			} else if (strcmp(a, "--timeout") == 0) {
				if (str_to_u64(val, strlen(val), 1, 3600000, &v) < 0)
					return cli_usage_error(
					    cmd, "--timeout: not milliseconds: %s", val);
				oo.command_timeout_ms = oo.data_timeout_ms = (unsigned)v;
				oo.connect_timeout_ms = (unsigned)v;
			} else {
				if (str_to_u64(val, strlen(val), 1, 10000000, &v) < 0)
					return cli_usage_error(cmd, "--repeat: not a count: %s",
					                       val);
				repeat = v;
			}
		} else if ((r = cli_file_arg(cmd, a, &file)) != 0) {
			return r;
		}
	}
	if (mail_from == NULL)
		return cli_usage_error(cmd, "--mail-from is required");
	if (nrcpts == 0)
		return cli_usage_error(cmd, "at least one --rcpt is required");
	if (cli_read_file("send", file, &msg) < 0)
		return CLI_EXIT_USAGE;
	for (i = 0; i < msg.len; i++)
		if ((unsigned char)msg.data[i] >= 0x80)
			eight = true;
	utf8 = !cli_send_ascii(mail_from);
	for (i = 0; i < nrcpts; i++)
		if (!cli_send_ascii(rcpts[i]))
			utf8 = true;

	/* destinations: one with --server, else one per recipient domain */
	dests = calloc(nrcpts, sizeof(*dests));
	jobs = calloc(nrcpts, sizeof(*jobs));
	if (dests == NULL || jobs == NULL) {
		fprintf(stderr, "smexop send: out of memory\n");
		goto out;
	}
	for (i = 0; i < nrcpts; i++) {
		const char *dom = strrchr(rcpts[i], '@') + 1;
		struct cli_send_dest *dd = NULL;

		for (k = 0; k < ndest; k++)
			if (nservers > 0 || str_casecmp(dests[k].domain, dom) == 0)
				dd = &dests[k];
		if (dd == NULL) {
			dd = &dests[ndest++];
			dd->domain = dom;
			dd->rcpts = calloc(nrcpts, sizeof(*dd->rcpts));
			if (dd->rcpts == NULL) {
				fprintf(stderr, "smexop send: out of memory\n");
				goto out;
			}
		}
		dd->rcpts[dd->nrcpts].addr = rcpts[i];
		dd->rcpts[dd->nrcpts].notify = "";
		dd->rcpts[dd->nrcpts].orcpt = "";
		dd->nrcpts++;
	}

	log_setup(LOG_TARGET_STDERR, s.verbose ? LOG_LEVEL_INFO : LOG_LEVEL_ERROR, "smexop");
	if (cli_dns_open(&d, cmd) < 0)
		goto out;
	s.base = d.base;
	if (db != NULL) {
		struct store_options so = { 0 };

		so.backend = STORE_BACKEND_SQLITE;
		so.path = db;
		st = store_open(&so, &err);
		if (st == NULL) {
			fprintf(stderr, "smexop send: %s: %s\n", db, err.msg);
			goto out;
		}
		oo.store = st;
	}
	oo.helo_name = helo;
	oo.ca_file = ca_file;
	oo.conn_cache_off = no_reuse;
	if (s.verbose) {
		oo.transcript = cli_send_transcript;
		oo.transcript_arg = &s;
	}
	ob = outbound_new(d.base, d.dns, &oo, &err);
	if (ob == NULL) {
		fprintf(stderr, "smexop send: %s\n", err.msg);
		goto out;
	}
	t0 = cli_send_now();
	for (v = 0; v < repeat; v++) {
		s.quiet = v + 1 < repeat;
		s.pending = 0;
		for (k = 0; k < ndest; k++) {
			struct outbound_request req = { 0 };

			req.domain = dests[k].domain;
			req.protocol = lmtp ? OUTBOUND_LMTP : OUTBOUND_SMTP;
			req.smart_hosts = nservers > 0 ? servers : NULL;
			req.nsmart_hosts = nservers;
			req.tls = tls;
			req.sender = mail_from;
			req.dsn_ret = "";
			req.dsn_envid = "";
			req.rcpts = dests[k].rcpts;
			req.nrcpts = dests[k].nrcpts;
			req.data = msg.data;
			req.len = msg.len;
			req.eightbit = eight;
			req.smtputf8 = utf8;
			req.trace_id = "send";
			jobs[k].s = &s;
			jobs[k].d = &dests[k];
			if (outbound_start(ob, &req, cli_send_done, &jobs[k], &err) < 0) {
				fprintf(stderr, "smexop send: %s\n", err.msg);
				goto out;
			}
			s.pending++;
		}
		while (s.pending > 0)
			if (event_base_dispatch(d.base) != 0)
				break;
		if (s.pending > 0) {
			fprintf(stderr, "smexop send: the event loop stopped early\n");
			goto out;
		}
	}
	t1 = cli_send_now();
	if (repeat > 1)
		fprintf(stderr, "%llu messages in %.3f s: %.1f messages/s (%s)\n",
		        (unsigned long long)repeat, t1 - t0, (double)repeat / (t1 - t0),
		        no_reuse ? "a new connection per message" : "connections reused");
	/* say goodbye to the servers before leaving */
	outbound_close_idle(ob);
	t0 = cli_send_now();
	while (outbound_sessions(ob) > 0 && cli_send_now() - t0 < 3.0)
		event_base_loop(d.base, EVLOOP_ONCE);
	rc = s.deferred + s.failed > 0 ? 1 : CLI_EXIT_OK;
out:
	ob = outbound_free(ob);
	st = store_close(st);
	cli_dns_close(&d);
	if (dests != NULL)
		for (k = 0; k < ndest; k++)
			free(dests[k].rcpts);
	free(dests);
	free(jobs);
	buf_free(&msg);
	return rc;
}
