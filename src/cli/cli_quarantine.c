/*
 * cli_quarantine - `smexop quarantine list|show|release|delete|expire`:
 * the quarantine as EOP's admin pages show it, through
 * transport/quarantine and the store
 *
 *   list      one line per message (newest first): id, received, sender,
 *             recipients, subject, reasons; --json one object per message
 *   show ID   the row, the header section with the fields the gateway
 *             prepends, and the first lines of the body; --raw the whole
 *             message as it would be delivered
 *   release   into the delivery queue (all recipients, or --to one)
 *   delete    remove the message and its row
 *   expire    remove what is past its expiry (quarantine.retention)
 *
 * Exit 0; 2 on usage errors or an unknown id; 1 when the spool or store
 * fails.
 */
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "core/config.h"
#include "core/str.h"
#include "store/store.h"
#include "transport/quarantine.h"
#include "transport/queue.h"
#include "transport/spool.h"

#define CLI_Q_BODY_LINES 20

static int cli_q_usage(FILE *out)
{
	fprintf(out,
	        "usage: smexop quarantine list [--json] [--since T] [--until T] [--recipient R]\n"
	        "                              [--reason R] [--sender S] [--limit N] [OPTIONS]\n"
	        "       smexop quarantine show ID [--raw] [--json] [OPTIONS]\n"
	        "       smexop quarantine release ID [--to RCPT] [--by NAME] [OPTIONS]\n"
	        "       smexop quarantine delete ID [OPTIONS]\n"
	        "       smexop quarantine expire [OPTIONS]\n\n"
	        "Quarantined messages: list and search them, look at one, release one into\n"
	        "the delivery queue (it then carries X-Smexop-Released and SFV:SKQ), delete\n"
	        "one, or remove those past their expiry (quarantine.retention, 30 days).\n"
	        "T is seconds since the epoch, YYYY-MM-DD, YYYY-MM-DDTHH:MM:SSZ or a\n"
	        "duration ago (2h, 7d).\n\n"
	        "options:\n"
	        "  -c, --config FILE     configuration (spool.*, store.path, quarantine.*)\n"
	        "  --spool DIR           the spool directory instead of spool.dir\n"
	        "  --db PATH             the database instead of store.path\n"
	        "  --now T               the current time (expire; tests)\n");
	return out == stdout ? CLI_EXIT_OK : CLI_EXIT_USAGE;
}

struct cli_q_args {
	struct store_quarantine_filter f;
	const char *id, *to, *by;
	bool json, raw;
};

/* cli_q_who - "cli:USER" for release records */
static const char *cli_q_who(char *out, size_t outsize)
{
	struct passwd *pw = getpwuid(getuid());

	snprintf(out, outsize, "cli:%s", pw != NULL ? pw->pw_name : "unknown");
	return out;
}

static void cli_q_json(const struct store_quarantine *q)
{
	static const char *const keys[] = { "id",          "message_id", "sender", "recipients",
		                            "subject",     "reasons",    "policy", "verdict",
		                            "released_by", "released_to" };
	const char *vals[] = {
		q->id,      q->message_id, q->sender,  q->recipients,  q->subject,
		q->reasons, q->policy,     q->verdict, q->released_by, q->released_to
	};
	size_t i;

	fputc('{', stdout);
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		if (i)
			fputc(',', stdout);
		cli_json_string(stdout, keys[i]);
		fputc(':', stdout);
		cli_json_string(stdout, vals[i]);
	}
	printf(",\"received\":%lld,\"expires\":%lld,\"size\":%llu,\"released\":%s,"
	       "\"released_at\":%lld}\n",
	       (long long)q->received, (long long)q->expires, (unsigned long long)q->size,
	       q->released ? "true" : "false", (long long)q->released_at);
}

static int cli_q_list_cb(const struct store_quarantine *q, void *arg)
{
	const struct cli_q_args *a = arg;
	char t[32];

	if (a->json) {
		cli_q_json(q);
		return 0;
	}
	printf("%s %s <%s> -> %s \"%s\" [%s]%s\n", q->id, cli_spool_iso(q->received, t, sizeof(t)),
	       q->sender, q->recipients, q->subject, q->reasons, q->released ? " released" : "");
	return 0;
}

static int cli_q_show_cb(const struct store_quarantine *q, void *arg)
{
	const struct cli_q_args *a = arg;
	char t[32];

	if (a->json) {
		cli_q_json(q);
		return 0;
	}
	printf("id: %s\n", q->id);
	printf("received: %s\n", cli_spool_iso(q->received, t, sizeof(t)));
	printf("expires: %s\n", cli_spool_iso(q->expires, t, sizeof(t)));
	printf("sender: <%s>\nrecipients: %s\nsubject: %s\n", q->sender, q->recipients, q->subject);
	if (q->message_id[0])
		printf("message-id: %s\n", q->message_id);
	printf("policy: %s\nverdict: %s\nreasons: %s\nsize: %llu\n", q->policy[0] ? q->policy : "-",
	       q->verdict[0] ? q->verdict : "-", q->reasons[0] ? q->reasons : "-",
	       (unsigned long long)q->size);
	if (q->released)
		printf("released: %s by %s%s%s\n", cli_spool_iso(q->released_at, t, sizeof(t)),
		       q->released_by, q->released_to[0] ? " to " : "", q->released_to);
	return 0;
}

/* cli_q_message - the message as delivery would write it (prepended
 * fields first); whole, or the header section and a few body lines */
static void cli_q_message(const struct spool_entry *e, bool raw)
{
	const char *p = e->data, *end = e->data + e->len;
	size_t i, lines = 0;
	bool body = false;

	for (i = 0; i < e->env.nheaders; i++)
		printf("%s\r\n", e->env.headers[i]);
	if (raw) {
		fwrite(e->data, 1, e->len, stdout);
		return;
	}
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) + 1 : (size_t)(end - p);
		if (body && ++lines > CLI_Q_BODY_LINES) {
			printf("[... %zu more bytes; --raw for all]\n", (size_t)(end - p));
			return;
		}
		fwrite(p, 1, n, stdout);
		if (!body && (n == 1 || (n == 2 && p[0] == '\r')))
			body = true;
		p += n;
	}
}

int cli_quarantine(int argc, char **argv)
{
	struct cli_spool_ctx c = { .cmd = "quarantine" };
	struct cli_q_args a = { 0 };
	struct sx_err err = { 0 };
	const char *sub;
	char who[300], new_id[SPOOL_ID_MAX];
	uint64_t v;
	int i, rc;

	rc = cli_subcommand(
	    c.cmd, argc, argv,
	    (const char *const[]){ "list", "show", "release", "delete", "expire", NULL },
	    cli_q_usage, &sub);
	if (rc != 0)
		return cli_opt_exit(rc);
	for (i = 2; i < argc; i++) {
		const char *opt = argv[i];
		rc = cli_spool_option(&c, argc, argv, &i);
		if (rc < 0)
			return CLI_EXIT_USAGE;
		if (rc > 0)
			continue;
		if (strcmp(opt, "--help") == 0)
			return cli_q_usage(stdout);
		if (strcmp(opt, "--json") == 0) {
			a.json = true;
		} else if (strcmp(opt, "--raw") == 0) {
			a.raw = true;
		} else if (opt[0] == '-' && opt[1] == '-' && i + 1 < argc &&
		           (strcmp(opt, "--since") == 0 || strcmp(opt, "--until") == 0 ||
		            strcmp(opt, "--recipient") == 0 || strcmp(opt, "--reason") == 0 ||
		            strcmp(opt, "--sender") == 0 || strcmp(opt, "--limit") == 0 ||
		            strcmp(opt, "--to") == 0 || strcmp(opt, "--by") == 0)) {
			const char *val = argv[++i];
			if (strcmp(opt, "--recipient") == 0)
				a.f.recipient = val;
			else if (strcmp(opt, "--reason") == 0)
				a.f.reason = val;
			else if (strcmp(opt, "--sender") == 0)
				a.f.sender = val;
			else if (strcmp(opt, "--to") == 0)
				a.to = val;
			else if (strcmp(opt, "--by") == 0)
				a.by = val;
			else if (strcmp(opt, "--limit") == 0) {
				if (str_to_u64(val, strlen(val), 1, 1000000, &v) < 0)
					return cli_usage_error(c.cmd, "--limit: not a number: %s",
					                       val);
				a.f.limit = (size_t)v;
			} else {
				if (cli_spool_time(val, (int64_t)time(NULL),
				                   strcmp(opt, "--since") == 0 ? &a.f.since
				                                               : &a.f.until) < 0)
					return cli_usage_error(c.cmd, "%s: not a time: %s", opt,
					                       val);
			}
		} else if (opt[0] == '-') {
			return cli_usage_error(c.cmd, "unknown option or missing value: %s", opt);
		} else if (a.id == NULL) {
			a.id = opt;
		} else {
			return cli_usage_error(c.cmd, "one ID only");
		}
	}
	bool needs_id =
	    strcmp(sub, "show") == 0 || strcmp(sub, "release") == 0 || strcmp(sub, "delete") == 0;
	if (needs_id && a.id == NULL)
		return cli_usage_error(c.cmd, "%s: which ID?", sub);
	if (!needs_id && a.id != NULL)
		return cli_usage_error(c.cmd, "%s takes no ID", sub);
	if (needs_id && !spool_envelope_id_valid(a.id))
		return cli_usage_error(c.cmd, "'%s' is not a quarantine id", a.id);
	if ((rc = cli_spool_open(&c, strcmp(sub, "list") != 0, true)) != 0)
		return rc;
	rc = CLI_EXIT_OK;
	if (strcmp(sub, "list") == 0) {
		if (store_quarantine_list(c.st, &a.f, cli_q_list_cb, &a, &err) < 0)
			rc = 1;
	} else if (strcmp(sub, "show") == 0) {
		int r = store_quarantine_get(c.st, a.id, cli_q_show_cb, &a, &err);
		struct spool_entry *e = spool_entry_load(c.sp, SPOOL_QUARANTINE, a.id, &err);
		if (r < 0) {
			rc = 1;
		} else if (e == NULL && r == 1) {
			rc = CLI_EXIT_USAGE;
		} else if (e != NULL && !a.json) {
			if (r == 1)
				printf("id: %s (no index row; `quarantine expire` adds it)\n",
				       a.id);
			fputc('\n', stdout);
			cli_q_message(e, a.raw);
		} else if (e == NULL && !a.json) {
			printf("\n(the message is no longer in quarantine: %s)\n", err.msg);
			err.msg[0] = '\0';
		}
		spool_entry_free(e);
	} else if (strcmp(sub, "release") == 0) {
		if (quarantine_release(c.sp, c.st, a.id, a.to,
		                       a.by ? a.by : cli_q_who(who, sizeof(who)), c.now, new_id,
		                       &err) < 0)
			rc = CLI_EXIT_USAGE;
		else {
			char path[600];
			printf("released %s to %s as %s\n", a.id, a.to ? a.to : "all recipients",
			       new_id);
			/* a running queue manager takes it now, not at its next scan */
			queue_control_send(queue_control_path(spool_dir(c.sp), path, sizeof(path)),
			                   new_id);
		}
	} else if (strcmp(sub, "delete") == 0) {
		if (quarantine_delete(c.sp, c.st, a.id, c.now, &err) < 0)
			rc = CLI_EXIT_USAGE;
		else
			printf("deleted %s\n", a.id);
	} else {
		unsigned n = 0;
		if (quarantine_expire(c.sp, c.st, c.now, &n, &err) < 0)
			rc = 1;
		else
			printf("expired %u\n", n);
	}
	if (rc != CLI_EXIT_OK && err.msg[0])
		fprintf(stderr, "smexop quarantine: %s\n", err.msg);
	cli_spool_close(&c);
	return rc;
}
