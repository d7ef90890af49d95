/*
 * cli_trace - `smexop trace`: the message trace, as EOP's message trace
 * shows it: one line per message with its final status, or the events of
 * one message (--detail ID)
 *
 * A message is known by its spool id (from DATA on), else by its session
 * id; --message-id and --detail also take the Message-ID field.  Exit 0
 * (also when nothing matches); 2 on usage errors or an unknown --detail
 * id; 1 when the store fails.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "core/str.h"
#include "store/store.h"

static int cli_trace_usage(FILE *out)
{
	fprintf(out,
	        "usage: smexop trace [--sender S] [--recipient R] [--since T] [--until T]\n"
	        "                    [--message-id M] [--limit N] [--json] [OPTIONS]\n"
	        "       smexop trace --detail ID [--json] [OPTIONS]\n\n"
	        "The message trace: one line per message, newest first, with its final status\n"
	        "(delivered, partial, quarantined, released, rejected, failed, deferred,\n"
	        "pending, expired, deleted); --detail lists one message's events.\n"
	        "T is seconds since the epoch, YYYY-MM-DD, YYYY-MM-DDTHH:MM:SSZ or a\n"
	        "duration ago (2h, 7d).\n\n"
	        "options:\n"
	        "  -c, --config FILE     configuration (store.path)\n"
	        "  --db PATH             the database instead of store.path\n");
	return out == stdout ? CLI_EXIT_OK : CLI_EXIT_USAGE;
}

static void cli_trace_kv(const char *k, const char *v, bool comma)
{
	if (comma)
		fputc(',', stdout);
	cli_json_string(stdout, k);
	fputc(':', stdout);
	cli_json_string(stdout, v);
}

static int cli_trace_message_cb(const struct store_trace_message *m, void *arg)
{
	bool json = *(bool *)arg;
	char t[32];

	if (json) {
		fputc('{', stdout);
		cli_trace_kv("id", m->key, false);
		cli_trace_kv("message_id", m->message_id, true);
		cli_trace_kv("sender", m->sender, true);
		cli_trace_kv("recipients", m->recipients, true);
		cli_trace_kv("client_ip", m->client_ip, true);
		cli_trace_kv("status", m->status, true);
		printf(",\"received\":%lld,\"last\":%lld,\"size\":%llu,\"events\":%llu}\n",
		       (long long)m->first, (long long)m->last, (unsigned long long)m->size,
		       (unsigned long long)m->events);
		return 0;
	}
	printf("%s %-11s %s <%s> -> %s %s%s\n", cli_spool_iso(m->first, t, sizeof(t)), m->status,
	       m->key, m->sender, m->recipients[0] ? m->recipients : "-",
	       m->message_id[0] ? m->message_id : "-", "");
	return 0;
}

static int cli_trace_event_cb(const struct store_trace_event *ev, void *arg)
{
	bool json = *(bool *)arg;
	const char *kind = store_trace_kind_name(ev->kind);
	char t[32];

	if (kind == NULL)
		kind = "?";
	if (json) {
		fputc('{', stdout);
		fprintf(stdout, "\"time\":%lld", (long long)ev->time);
		cli_trace_kv("event", kind, true);
		cli_trace_kv("id", ev->spool_id, true);
		cli_trace_kv("session_id", ev->session_id, true);
		cli_trace_kv("message_id", ev->message_id, true);
		cli_trace_kv("sender", ev->sender, true);
		cli_trace_kv("recipient", ev->recipient, true);
		cli_trace_kv("client_ip", ev->client_ip, true);
		cli_trace_kv("verdict", ev->verdict, true);
		cli_trace_kv("reasons", ev->reasons, true);
		cli_trace_kv("detail", ev->detail, true);
		printf(",\"size\":%llu}\n", (unsigned long long)ev->size);
		return 0;
	}
	printf("%s %-11s", cli_spool_iso(ev->time, t, sizeof(t)), kind);
	if (ev->recipient[0])
		printf(" rcpt=<%s>", ev->recipient);
	if (ev->kind == STORE_TRACE_RECEIVED || ev->kind == STORE_TRACE_REJECTED)
		printf(" from=<%s> ip=%s", ev->sender, ev->client_ip[0] ? ev->client_ip : "-");
	if (ev->verdict[0])
		printf(" verdict=%s", ev->verdict);
	if (ev->reasons[0])
		printf(" reasons=\"%s\"", ev->reasons);
	if (ev->detail[0])
		printf(" detail=\"%s\"", ev->detail);
	fputc('\n', stdout);
	return 0;
}

int cli_trace(int argc, char **argv)
{
	struct cli_spool_ctx c = { .cmd = "trace" };
	struct store_trace_filter f = { 0 };
	struct sx_err err = { 0 };
	const char *detail = NULL;
	bool json = false;
	uint64_t v;
	int i, rc;

	for (i = 1; i < argc; i++) {
		const char *opt = argv[i];
		rc = cli_spool_args(&c, argc, argv, &i, cli_trace_usage);
		if (rc < 0)
			return cli_opt_exit(rc);
		if (rc > 0)
			continue;
		if (strcmp(opt, "--json") == 0) {
			json = true;
			continue;
		}
		if (i + 1 >= argc || opt[0] != '-')
			return cli_usage_error(c.cmd, "unknown argument or missing value: %s", opt);
		const char *val = argv[++i];
		if (strcmp(opt, "--sender") == 0) {
			f.sender = val;
		} else if (strcmp(opt, "--recipient") == 0) {
			f.recipient = val;
		} else if (strcmp(opt, "--message-id") == 0) {
			f.message_id = val;
		} else if (strcmp(opt, "--detail") == 0) {
			detail = val;
		} else if (strcmp(opt, "--limit") == 0) {
			if (str_to_u64(val, strlen(val), 1, 1000000, &v) < 0)
				return cli_usage_error(c.cmd, "--limit: not a number: %s", val);
			f.limit = (size_t)v;
		} else if (strcmp(opt, "--since") == 0 || strcmp(opt, "--until") == 0) {
			if (cli_spool_time(val, (int64_t)time(NULL),
			                   opt[2] == 's' ? &f.since : &f.until) < 0)
				return cli_usage_error(c.cmd, "%s: not a time: %s", opt, val);
		} else {
			return cli_usage_error(c.cmd, "unknown option %s", opt);
		}
	}
	if ((rc = cli_spool_open(&c, false, true)) != 0)
		return rc;
	if (detail != NULL) {
		rc = store_trace_events(c.st, detail, cli_trace_event_cb, &json, &err);
		if (rc == 1)
			fprintf(stderr, "smexop trace: %s: no such message\n", detail);
		rc = rc == 1 ? CLI_EXIT_USAGE : rc < 0 ? 1 : CLI_EXIT_OK;
	} else {
		rc = store_trace_messages(c.st, &f, cli_trace_message_cb, &json, &err) < 0 ? 1 : 0;
	}
	if (rc == 1)
		fprintf(stderr, "smexop trace: %s\n", err.msg);
	cli_spool_close(&c);
	return rc;
}
