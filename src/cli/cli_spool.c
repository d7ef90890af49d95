/*
 * cli_spool - `smexop spool dump|list|recover`, and what the spool,
 * queue, deliver, quarantine and trace commands share: -c/--spool/--db
 * options, opening the spool and the store, time arguments
 *
 *   spool dump ID       one entry (queue/, quarantine/ or corrupt/): the
 *                       envelope records decoded; --data adds the message
 *   spool list [WHERE]  the committed entries of queue/ (or quarantine/,
 *                       corrupt/), oldest first
 *   spool recover       what the gateway does at start: empty incoming/,
 *                       move damaged entries to corrupt/
 *
 * The spool is spool.dir of the configuration (-c FILE, else the
 * defaults) or --spool DIR; the database store.path or --db PATH.  Exit 0;
 * 2 on usage errors or an unknown id; 1 when the spool or store fails.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "core/config.h"
#include "core/str.h"
#include "store/store.h"
#include "transport/spool.h"

/* ---- shared by the spool, deliver, quarantine and trace commands ------ */

int cli_spool_option(struct cli_spool_ctx *c, int argc, char **argv, int *i)
{
	const char *opt = argv[*i];
	const char **slot;

	if (strcmp(opt, "-c") == 0 || strcmp(opt, "--config") == 0)
		slot = &c->config;
	else if (strcmp(opt, "--spool") == 0)
		slot = &c->spool_dir;
	else if (strcmp(opt, "--db") == 0)
		slot = &c->db;
	else if (strcmp(opt, "--now") == 0)
		slot = &c->now_arg;
	else
		return 0;
	if (*i + 1 >= argc) {
		cli_usage_error(c->cmd, "%s needs a value", opt);
		return -1;
	}
	*slot = argv[++*i];
	return 1;
}

int cli_spool_open(struct cli_spool_ctx *c, bool need_spool, bool need_store)
{
	struct config_diag diag;
	struct sx_err err = { 0 };
	char line[600];
	size_t k;

	c->now = (int64_t)time(NULL);
	if (c->now_arg != NULL && cli_spool_time(c->now_arg, c->now, &c->now) < 0)
		return cli_usage_error(c->cmd, "--now: not a time: %s", c->now_arg);
	c->cfg = config_load(c->config, &diag);
	if (c->cfg == NULL) {
		for (k = 0; k < diag.n; k++)
			fprintf(stderr, "%s\n", config_error_format(&diag, k, line, sizeof(line)));
		return CLI_EXIT_USAGE;
	}
	if (need_spool) {
		struct spool_options so = {
			.dir = c->spool_dir ? c->spool_dir : c->cfg->spool.dir,
			.node_id = c->cfg->spool.node_id,
		};
		c->sp = spool_open(&so, &err);
		if (c->sp == NULL) {
			fprintf(stderr, "smexop %s: %s\n", c->cmd, err.msg);
			cli_spool_close(c);
			return 1;
		}
	}
	if (need_store) {
		struct store_options so = {
			.backend = STORE_BACKEND_SQLITE,
			.path = c->db ? c->db : c->cfg->store.path,
			.busy_timeout_ms = (unsigned)c->cfg->store.busy_timeout_ms,
		};
		c->st = store_open(&so, &err);
		if (c->st == NULL) {
			fprintf(stderr, "smexop %s: %s\n", c->cmd, err.msg);
			cli_spool_close(c);
			return 1;
		}
	}
	return 0;
}

void cli_spool_close(struct cli_spool_ctx *c)
{
	c->sp = spool_close(c->sp);
	c->st = store_close(c->st);
	c->cfg = config_free(c->cfg);
}

/* cli_spool_date - "YYYY-MM-DD[THH:MM:SSZ]" as UTC seconds; 0 or -1 */
static int cli_spool_date(const char *s, int64_t *out)
{
	struct tm tm = { 0 };
	const char *end;

	end = strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (end == NULL || *end != '\0') {
		memset(&tm, 0, sizeof(tm));
		end = strptime(s, "%Y-%m-%d", &tm);
		if (end == NULL || *end != '\0')
			return -1;
	}
	*out = (int64_t)timegm(&tm);
	return 0;
}

int cli_spool_time(const char *s, int64_t now, int64_t *out)
{
	uint64_t v;
	size_t n = strlen(s);

	if (n > 0 && str_to_u64(s, n, 0, UINT64_C(1) << 40, &v) == 0) {
		*out = (int64_t)v;
		return 0;
	}
	if (cli_spool_date(s, out) == 0)
		return 0;
	/* a duration: that long ago ("2h", "7d") */
	if (config_parse_duration(s, n, &v) == 0 && v / 1000 <= (uint64_t)now) {
		*out = now - (int64_t)(v / 1000);
		return 0;
	}
	return -1;
}

const char *cli_spool_iso(int64_t t, char *out, size_t outsize)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL || strftime(out, outsize, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(out, outsize, "%lld", (long long)t);
	return out;
}

/* ---- spool dump ------------------------------------------------------- */

static void cli_spool_dump_text(FILE *out, const struct spool_entry *e)
{
	const struct spool_envelope *v = &e->env;
	char t[32];
	size_t i;

	fprintf(out, "id: %s\nlocation: %s\n", e->id, spool_dest_name(e->where));
	fprintf(out, "received: %s (%lld)\n", cli_spool_iso(v->received, t, sizeof(t)),
	        (long long)v->received);
	if (v->session_id[0])
		fprintf(out, "session: %s\n", v->session_id);
	if (v->message_id[0])
		fprintf(out, "message-id: %s\n", v->message_id);
	fprintf(out, "sender: <%s>\n", v->sender);
	if (v->dsn_ret[0] || v->dsn_envid[0])
		fprintf(out, "dsn: ret=%s envid=%s\n", v->dsn_ret[0] ? v->dsn_ret : "-",
		        v->dsn_envid[0] ? v->dsn_envid : "-");
	for (i = 0; i < v->nrcpts; i++) {
		const struct spool_rcpt *r = &v->rcpts[i];
		fprintf(out, "recipient: <%s> notify=%s orcpt=%s state=%s", r->addr,
		        r->notify[0] ? r->notify : "-", r->orcpt[0] ? r->orcpt : "-",
		        spool_envelope_rcpt_state_name(r->state));
		if (r->state != SPOOL_RCPT_PENDING)
			fprintf(out, " at=%s", cli_spool_iso(r->done, t, sizeof(t)));
		fputc('\n', out);
	}
	fprintf(out, "client: ip=%s helo=%s ptr=%s\n", v->client_ip[0] ? v->client_ip : "-",
	        v->helo[0] ? v->helo : "-", v->ptr[0] ? v->ptr : "-");
	fprintf(out, "size: %llu\n", (unsigned long long)v->size);
	if (v->verdict[0])
		fprintf(out, "verdict: %s\n", v->verdict);
	if (v->quarantined)
		fprintf(out, "quarantine: policy=%s expires=%s\n",
		        v->q_policy[0] ? v->q_policy : "-",
		        cli_spool_iso(v->q_expires, t, sizeof(t)));
	for (i = 0; i < v->nq_reasons; i++)
		fprintf(out, "reason: %s\n", v->q_reasons[i]);
	if (v->released > 0)
		fprintf(out, "released: %s by %s\n", cli_spool_iso(v->released, t, sizeof(t)),
		        v->released_by[0] ? v->released_by : "-");
	for (i = 0; i < v->nheaders; i++)
		fprintf(out, "prepend: %s\n", v->headers[i]);
}

static void cli_spool_kv(FILE *out, const char *k, const char *v, bool comma)
{
	if (comma)
		fputc(',', out);
	cli_json_string(out, k);
	fputc(':', out);
	cli_json_string(out, v);
}

static void cli_spool_dump_json(FILE *out, const struct spool_entry *e)
{
	const struct spool_envelope *v = &e->env;
	size_t i;

	fputc('{', out);
	cli_spool_kv(out, "id", e->id, false);
	cli_spool_kv(out, "location", spool_dest_name(e->where), true);
	fprintf(out, ",\"received\":%lld", (long long)v->received);
	cli_spool_kv(out, "session_id", v->session_id, true);
	cli_spool_kv(out, "message_id", v->message_id, true);
	cli_spool_kv(out, "sender", v->sender, true);
	fputs(",\"recipients\":[", out);
	for (i = 0; i < v->nrcpts; i++) {
		fputs(i ? ",{" : "{", out);
		cli_spool_kv(out, "address", v->rcpts[i].addr, false);
		cli_spool_kv(out, "notify", v->rcpts[i].notify, true);
		cli_spool_kv(out, "orcpt", v->rcpts[i].orcpt, true);
		cli_spool_kv(out, "state", spool_envelope_rcpt_state_name(v->rcpts[i].state), true);
		fputc('}', out);
	}
	fputc(']', out);
	cli_spool_kv(out, "client_ip", v->client_ip, true);
	cli_spool_kv(out, "helo", v->helo, true);
	cli_spool_kv(out, "ptr", v->ptr, true);
	fprintf(out, ",\"size\":%llu", (unsigned long long)v->size);
	cli_spool_kv(out, "verdict", v->verdict, true);
	fprintf(out, ",\"quarantined\":%s", v->quarantined ? "true" : "false");
	if (v->quarantined) {
		fprintf(out, ",\"expires\":%lld", (long long)v->q_expires);
		cli_spool_kv(out, "policy", v->q_policy, true);
	}
	fputs(",\"reasons\":[", out);
	for (i = 0; i < v->nq_reasons; i++) {
		if (i)
			fputc(',', out);
		cli_json_string(out, v->q_reasons[i]);
	}
	fputs("],\"prepend\":[", out);
	for (i = 0; i < v->nheaders; i++) {
		if (i)
			fputc(',', out);
		cli_json_string(out, v->headers[i]);
	}
	fputc(']', out);
	if (v->released > 0) {
		fprintf(out, ",\"released\":%lld", (long long)v->released);
		cli_spool_kv(out, "released_by", v->released_by, true);
	}
	fputs("}\n", out);
}

static int cli_spool_usage(FILE *out)
{
	fprintf(
	    out,
	    "usage: smexop spool dump [-c CONFIG] [--spool DIR] [--json] [--data] ID\n"
	    "       smexop spool list [-c CONFIG] [--spool DIR] [queue|quarantine|corrupt|hold]\n"
	    "       smexop spool recover [-c CONFIG] [--spool DIR]\n\n"
	    "Show the message spool: one entry decoded (dump), the committed entries of\n"
	    "one directory (list), or clean up after a crash as the gateway does at start\n"
	    "(recover: incoming/ emptied, damaged entries moved to corrupt/).\n\n"
	    "options:\n"
	    "  -c, --config FILE     configuration (spool.dir)\n"
	    "  --spool DIR           the spool directory instead of spool.dir\n"
	    "  --json                dump: one JSON object\n"
	    "  --data                dump: the message data after the envelope\n");
	return out == stdout ? CLI_EXIT_OK : CLI_EXIT_USAGE;
}

static int cli_spool_list_one(const char *id, void *arg)
{
	(void)arg;
	printf("%s\n", id);
	return 0;
}

int cli_spool(int argc, char **argv)
{
	struct cli_spool_ctx c = { .cmd = "spool" };
	const char *sub, *arg = NULL;
	bool json = false, data = false;
	struct sx_err err = { 0 };
	int i, rc;

	rc = cli_subcommand(c.cmd, argc, argv,
	                    (const char *const[]){ "dump", "list", "recover", NULL },
	                    cli_spool_usage, &sub);
	if (rc != 0)
		return cli_opt_exit(rc);
	for (i = 2; i < argc; i++) {
		rc = cli_spool_option(&c, argc, argv, &i);
		if (rc < 0)
			return CLI_EXIT_USAGE;
		if (rc > 0)
			continue;
		if (strcmp(argv[i], "--help") == 0)
			return cli_spool_usage(stdout);
		if (strcmp(argv[i], "--json") == 0)
			json = true;
		else if (strcmp(argv[i], "--data") == 0)
			data = true;
		else if (argv[i][0] == '-')
			return cli_usage_error(c.cmd, "unknown option %s", argv[i]);
		else if (arg == NULL)
			arg = argv[i];
		else
			return cli_usage_error(c.cmd, "one argument only");
	}
	if (strcmp(sub, "dump") == 0 && arg == NULL)
		return cli_usage_error(c.cmd, "dump: which ID?");
	if ((rc = cli_spool_open(&c, true, false)) != 0)
		return rc;
	rc = CLI_EXIT_OK;
	if (strcmp(sub, "dump") == 0) {
		struct spool_entry *e = spool_entry_find(c.sp, arg, &err);
		if (e == NULL) {
			fprintf(stderr, "smexop spool: %s\n", err.msg);
			rc = CLI_EXIT_USAGE;
		} else {
			if (json)
				cli_spool_dump_json(stdout, e);
			else
				cli_spool_dump_text(stdout, e);
			if (data) {
				if (!json)
					fputc('\n', stdout);
				fwrite(e->data, 1, e->len, stdout);
			}
			spool_entry_free(e);
		}
	} else if (strcmp(sub, "list") == 0) {
		enum spool_dest d = SPOOL_QUEUE;
		if (arg != NULL && strcmp(arg, "quarantine") == 0)
			d = SPOOL_QUARANTINE;
		else if (arg != NULL && strcmp(arg, "corrupt") == 0)
			d = SPOOL_CORRUPT;
		else if (arg != NULL && strcmp(arg, "hold") == 0)
			d = SPOOL_HOLD;
		else if (arg != NULL && strcmp(arg, "queue") != 0)
			rc = cli_usage_error(
			    c.cmd, "list: queue, quarantine, corrupt or hold, not %s", arg);
		if (rc == CLI_EXIT_OK && spool_scan(c.sp, d, cli_spool_list_one, NULL, &err) < 0) {
			fprintf(stderr, "smexop spool: %s\n", err.msg);
			rc = 1;
		}
	} else {
		struct spool_recover_stats s;
		if (spool_recover(c.sp, &s, &err) < 0) {
			fprintf(stderr, "smexop spool: %s\n", err.msg);
			rc = 1;
		} else {
			printf("incoming_removed=%u corrupt=%u duplicates_removed=%u queue=%u "
			       "quarantine=%u hold=%u\n",
			       s.incoming_removed, s.corrupt, s.duplicates_removed, s.queue,
			       s.quarantine, s.hold);
		}
	}
	cli_spool_close(&c);
	return rc;
}
