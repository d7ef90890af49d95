/*
 * cli_scan - `smexop scan`: the gateway's whole pipeline, offline, on
 * messages from files, Maildirs, mbox files or standard input
 *
 * Each message goes through pipeline/offline (the runner with the
 * gateway's stage table, runner_default_stages): CONNECT with the client
 * address and HELO, RCPT per recipient, EOM.  The envelope comes from
 * the options (--ip, --helo, --mail-from, --rcpt) or, with
 * --received-from-trusted RELAY, from the Received field that relay
 * added (the client it talked to), Return-Path and To/Cc.  The verdict
 * word comes from pipeline/verdict (the one mapping to EOP's verdicts).
 *
 * Inputs are listed first (a directory must be a Maildir; a file that
 * starts with a From_ line is an mbox, split by mime/mbox), then scanned
 * by -j N worker processes: the parent hands out item numbers over a pipe
 * per worker and reads back each message's formatted output, which it
 * prints in input order.  The list lives in the parent before the fork,
 * so the workers read the same paths and the same mapped mbox files.  A
 * worker that dies takes only the messages it held with it.  With -j 1
 * (or one message) everything runs in this process.
 *
 * Exit 0 whatever the verdicts; 2 on usage errors and, at the end, when
 * any input could not be read; 1 when a worker died.
 */
#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "core/arena.h"
#include "core/buf.h"
#include "core/config.h"
#include "core/log.h"
#include "core/str.h"
#include "mime/address.h"
#include "mime/maildir_list.h"
#include "mime/mbox.h"
#include "mime/raw.h"
#include "mime/received.h"
#include "pipeline/msg.h"
#include "pipeline/offline.h"
#include "pipeline/stage.h"
#include "pipeline/verdict.h"

#define SCAN_MAX_RCPTS   100         /* recipients from --rcpt or To/Cc */
#define SCAN_MAX_RELAYS  16          /* --received-from-trusted */
#define SCAN_MAX_JOBS    256         /* -j */
#define SCAN_WINDOW      4096        /* results held back waiting for an earlier one */
#define SCAN_INFLIGHT    2           /* items handed to one worker at a time */
#define SCAN_REC_MAX     (16u << 20) /* one message's output over the pipe */
#define SCAN_PROGRESS_MS 100

static const char usage_text[] =
    "usage: smexop scan [options] [FILE|MAILDIR|MBOX|-]...\n"
    "\n"
    "Runs the gateway's protection pipeline (connection filter, edge blocking,\n"
    "authentication, policies) on messages, offline, and prints each verdict\n"
    "(clean, bulk, spam, hcspam, phish, hcphish, spoof, malware) with the action,\n"
    "SCL/BCL/CAT and every reason.  A directory must be a Maildir (cur/ and new/);\n"
    "a file that starts with a \"From \" line is an mbox; '-' or no FILE reads\n"
    "standard input.\n"
    "\n"
    "envelope (the SMTP client and transaction the gateway would have seen):\n"
    "  --ip IP                   the client's address\n"
    "  --helo NAME               its HELO name\n"
    "  --mail-from ADDR          MAIL FROM (default: Return-Path, else <>)\n"
    "  --rcpt ADDR               a recipient (repeatable; default: To and Cc)\n"
    "  --received-from-trusted RELAY\n"
    "                            take the client's IP and HELO from the Received\n"
    "                            field added by RELAY (host name or IP; repeatable);\n"
    "                            --ip/--helo are the fallback when it has none\n"
    "options:\n"
    "  -c FILE                   configuration (default: the built-in defaults);\n"
    "                            its dns section is used unless --dns/--dns-zone\n"
    "  --json                    one JSON object per message, one per line\n"
    "  -j N                      worker processes (default: the number of cores)\n"
    "  --mbox-quoting rd|o|none  how \">From \" lines were quoted (default rd)\n"
    "  --now T                   scan at time T (seconds since the epoch)\n"
    "  -v                        log the pipeline's lines (trace) on standard error\n" CLI_DNS_USAGE
    "  --help                    this text\n"
    "\n"
    "Without accepted domains in the configuration the recipients are not checked\n"
    "(the reasons say RCPT_NOT_CHECKED).  Exit 0 whatever the verdicts, 2 on usage\n"
    "errors or when an input could not be read.  docs/scan.md has the details.\n";

static void scan_usage(FILE *out)
{
	fputs(usage_text, out);
}

/* ---- what to scan ----------------------------------------------------------- */

enum scan_kind {
	SCAN_FILE,  /* a message file: the worker reads it */
	SCAN_SLICE, /* a message of an mbox (mapped) or of standard input */
	SCAN_ERROR, /* failed while listing */
};

struct scan_item {
	enum scan_kind kind;
	const char *file; /* as shown */
	size_t index;     /* 1-based position in an mbox; 0 otherwise */
	const char *data; /* SCAN_SLICE */
	size_t len;
	const char *error; /* SCAN_ERROR */
	bool owns_file;    /* file is ours to free (the first item of an mbox) */
	void *map;         /* the mapped mbox, on its first item */
	size_t map_len;
};

struct scan_list {
	struct scan_item *v;
	size_t n, cap;
};

struct scan_opts {
	const char *config;
	const char *ip, *helo, *mail_from;
	const char *rcpts[SCAN_MAX_RCPTS];
	size_t nrcpts;
	const char *relays[SCAN_MAX_RELAYS];
	size_t nrelays;
	bool json, verbose;
	unsigned jobs;
	enum mbox_quoting quoting;
	bool have_now;
	int64_t now;
	struct net_addr ip_addr;
};

/* what one process needs to scan: the pipeline with its DNS */
struct scan_ctx {
	const struct scan_opts *o;
	const struct scan_list *list;
	struct smexop_config *cfg;
	struct cli_dns dns;
	struct pipeline_env env;
	struct runner *runner;
	bool check_rcpts;
};

static int64_t scan_now_value;

static int64_t scan_now(void)
{
	return scan_now_value;
}

static int scan_list_add(struct scan_list *l, const struct scan_item *it)
{
	if (l->n == l->cap) {
		size_t cap = l->cap == 0 ? 64 : l->cap * 2;
		struct scan_item *v = realloc(l->v, cap * sizeof(*v));

		if (v == NULL)
			return -1;
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = *it;
	return 0;
}

static int scan_add_error(struct scan_list *l, const char *file, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int scan_add_error(struct scan_list *l, const char *file, const char *fmt, ...)
{
	struct scan_item it = { .kind = SCAN_ERROR, .file = file };
	char msg[600];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	it.error = strdup(msg);
	return it.error != NULL ? scan_list_add(l, &it) : -1;
}

/* scan_add_mbox - the messages of an mbox held in data[0..len) */
static int scan_add_mbox(struct scan_list *l, const char *file, const char *data, size_t len,
                         bool owner)
{
	struct mbox_iter it;
	struct mbox_msg mm;

	mbox_iter_init(&it, data, len);
	while (mbox_next(&it, &mm)) {
		struct scan_item item = { .kind = SCAN_SLICE, .file = file, .index = mm.index };

		if (mm.index == 1 && owner) {
			item.owns_file = true;
			item.map = (void *)data;
			item.map_len = len;
		}

		item.data = data + mm.offset;
		item.len = mm.len;
		if (scan_list_add(l, &item) < 0)
			return -1;
	}
	return 0;
}

/* scan_add_path - one FILE argument: a Maildir, an mbox or a message */
static int scan_add_path(struct scan_list *l, const char *path)
{
	struct scan_item item = { .kind = SCAN_FILE, .file = path };
	struct stat st;
	char head[5];
	ssize_t got;
	int fd;

	if (stat(path, &st) < 0)
		return scan_add_error(l, path, "cannot read: %s", strerror(errno));
	if (S_ISDIR(st.st_mode)) {
		struct maildir_list ml;
		struct sx_err err = { 0 };
		size_t i;

		if (!maildir_list_is_maildir(path))
			return scan_add_error(l, path,
			                      "a directory, but not a Maildir (no cur/ and new/)");
		if (maildir_list_read(path, &ml, &err) < 0)
			return scan_add_error(l, path, "%s", err.msg);
		item.owns_file = true;
		for (i = 0; i < ml.n; i++) {
			item.file = ml.paths[i]; /* handed over to the list */
			if (scan_list_add(l, &item) < 0) {
				for (; i < ml.n; i++)
					free(ml.paths[i]);
				free(ml.paths);
				return -1;
			}
		}
		free(ml.paths);
		return 0;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return scan_add_error(l, path, "cannot read: %s", strerror(errno));
	got = read(fd, head, sizeof(head));
	if (got < 0) {
		int e = errno;

		close(fd);
		return scan_add_error(l, path, "cannot read: %s", strerror(e));
	}
	if (!mbox_is_mbox(head, (size_t)got) || !S_ISREG(st.st_mode) ||
	    (uint64_t)st.st_size > (uint64_t)SIZE_MAX / 2) {
		close(fd);
		item.file = strdup(path);
		item.owns_file = true;
		if (item.file == NULL || scan_list_add(l, &item) < 0) {
			free((char *)item.file);
			return -1;
		}
		return 0;
	}
	/* an mbox: mapped once here, read by every worker after the fork */
	{
		void *map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
		char *name = strdup(path);

		close(fd);
		if (name == NULL)
			return -1;
		if (map == MAP_FAILED) {
			free(name);
			return scan_add_error(l, path, "cannot map: %s", strerror(errno));
		}
		return scan_add_mbox(l, name, map, (size_t)st.st_size, true);
	}
}

/* scan_add_stdin - standard input: one message, or an mbox */
static int scan_add_stdin(struct scan_list *l, struct buf *in)
{
	struct scan_item item = { .kind = SCAN_SLICE, .file = "-" };

	buf_init(in, BUF_CAP_FILE);
	errno = 0;
	if (buf_read_fd(in, 0) < 0)
		return scan_add_error(l, "-", "cannot read standard input%s",
		                      errno == 0 ? " (too large)" : "");
	if (mbox_is_mbox(in->data, in->len))
		return scan_add_mbox(l, "-", in->data, in->len, false);
	item.data = in->data != NULL ? in->data : "";
	item.len = in->len;
	return scan_list_add(l, &item);
}

/* ---- one message ------------------------------------------------------------ */

struct scan_env {
	const char *source;      /* "options" or "received" */
	const char *relay;       /* the trusted relay whose Received field was used */
	const char *mail_source; /* "option", "return-path", "none" */
	const char *rcpt_source; /* "option", "to-cc", "none" */
	struct offline_envelope e;
	const char *rcpts[SCAN_MAX_RCPTS];
};

/* scan_relay_match - r was written by one of the trusted relays */
static const char *scan_relay_match(const struct scan_opts *o, const struct received *r)
{
	size_t i;

	for (i = 0; i < o->nrelays; i++) {
		const char *want = o->relays[i];
		struct net_addr wa, ba;
		size_t wl = strlen(want);

		if (wl > 0 && want[wl - 1] == '.')
			wl--;
		if (net_addr_parse(want, &wa) == 0) {
			if (r->by_ip != NULL && net_addr_parse(r->by_ip, &ba) == 0 &&
			    net_addr_match(&wa, &ba, net_addr_bits(&wa)))
				return want;
			if (r->by != NULL && net_addr_parse(r->by, &ba) == 0 &&
			    net_addr_match(&wa, &ba, net_addr_bits(&wa)))
				return want;
			continue;
		}
		if (r->by != NULL) {
			size_t bl = strlen(r->by);

			if (bl > 0 && r->by[bl - 1] == '.')
				bl--;
			if (str_case_eq_n(r->by, bl, want, wl))
				return want;
		}
	}
	return NULL;
}

/* scan_from_received - the client of the topmost Received field a trusted
 * relay wrote; 0 found, 1 none, -1 out of memory */
static int scan_from_received(const struct scan_opts *o, struct arena *a,
                              const struct raw_message *raw, struct scan_env *se)
{
	size_t i;

	for (i = 0; i < raw->nfields; i++) {
		const struct raw_field *f = &raw->fields[i];
		struct received r;
		const char *v, *relay;
		size_t len;

		if (!raw_field_is(f, "Received", 8))
			continue;
		raw_field_value(f, &v, &len);
		if (received_parse(&r, a, v, len) < 0)
			continue;
		relay = scan_relay_match(o, &r);
		if (relay == NULL)
			continue;
		if (r.ip == NULL || net_addr_parse(r.ip, &se->e.ip) < 0)
			return 1; /* the relay's own field names no client: try the options */
		se->e.helo = r.helo != NULL ? r.helo : r.from;
		se->source = "received";
		se->relay = relay;
		return 0;
	}
	return 1;
}

/* scan_unfold - a field value without line breaks and outer blanks */
static char *scan_unfold(struct arena *a, const struct raw_field *f)
{
	const char *v;
	size_t len, i, o = 0;
	char *out;

	raw_field_value(f, &v, &len);
	out = arena_alloc(a, len + 1);
	if (out == NULL)
		return NULL;
	for (i = 0; i < len; i++)
		if (v[i] != '\r' && v[i] != '\n')
			out[o++] = v[i];
	while (o > 0 && str_is_space((unsigned char)out[o - 1]))
		o--;
	out[o] = '\0';
	for (i = 0; out[i] != '\0' && str_is_space((unsigned char)out[i]); i++)
		;
	return out + i;
}

/* scan_return_path - the address of Return-Path ("" for <>), or NULL */
static const char *scan_return_path(struct arena *a, const struct raw_message *raw)
{
	const struct raw_field *f = raw_find_first(raw, "Return-Path", 11);
	char *v, *end;

	if (f == NULL || (v = scan_unfold(a, f)) == NULL)
		return NULL;
	if (*v == '<') {
		v++;
		end = strchr(v, '>');
		if (end != NULL)
			*end = '\0';
	}
	return v;
}

/* scan_header_rcpts - the addresses of every To and Cc field */
static void scan_header_rcpts(struct arena *a, const struct raw_message *raw, struct scan_env *se)
{
	size_t i, j;

	for (i = 0; i < raw->nfields && se->e.nrcpts < SCAN_MAX_RCPTS; i++) {
		const struct raw_field *f = &raw->fields[i];
		struct address_list al;
		const char *v, *why;
		size_t len;

		if (!raw_field_is(f, "To", 2) && !raw_field_is(f, "Cc", 2))
			continue;
		raw_field_value(f, &v, &len);
		if (address_list_parse(a, v, len, &al, &why) < 0)
			continue;
		for (j = 0; j < al.n && se->e.nrcpts < SCAN_MAX_RCPTS; j++) {
			const struct address *ad = &al.addr[j];
			const char *s;

			if (ad->domain == NULL || ad->local[0] == '\0')
				continue;
			s = arena_printf(a, "%s@%s", ad->local, ad->domain);
			if (s != NULL)
				se->rcpts[se->e.nrcpts++] = s;
		}
	}
}

/* scan_envelope - the envelope of one message; NULL or the error */
static const char *scan_envelope(const struct scan_ctx *ctx, struct arena *a, const char *data,
                                 size_t len, struct scan_env *se)
{
	const struct scan_opts *o = ctx->o;
	struct raw_message raw;
	struct sx_err err = { 0 };
	bool parsed;
	size_t i;

	memset(se, 0, sizeof(*se));
	se->e.received = o->have_now ? o->now : (int64_t)time(NULL);
	se->e.check_rcpts = ctx->check_rcpts;
	se->e.rcpts = se->rcpts;
	parsed = raw_message_parse(&raw, a, data, len, NULL, &err) == 0;
	if (o->nrelays > 0 && parsed) {
		if (scan_from_received(o, a, &raw, se) < 0)
			return "out of memory";
	}
	if (se->source == NULL) {
		if (o->ip == NULL)
			return o->nrelays > 0 ? "no Received field by a trusted relay names the "
			                        "client (and no --ip)"
			                      : "no --ip";
		se->e.ip = o->ip_addr;
		se->e.helo = o->helo;
		se->source = "options";
	}
	if (o->mail_from != NULL) {
		se->e.mail_from = o->mail_from;
		se->mail_source = "option";
	} else if (parsed && (se->e.mail_from = scan_return_path(a, &raw)) != NULL) {
		se->mail_source = "return-path";
	} else {
		se->e.mail_from = "";
		se->mail_source = "none";
	}
	if (o->nrcpts > 0) {
		for (i = 0; i < o->nrcpts; i++)
			se->rcpts[i] = o->rcpts[i];
		se->e.nrcpts = o->nrcpts;
		se->rcpt_source = "option";
	} else {
		if (parsed)
			scan_header_rcpts(a, &raw, se);
		se->rcpt_source = se->e.nrcpts > 0 ? "to-cc" : "none";
	}
	return NULL;
}

/* scan_reason - a reason that does not come from a stage */
struct scan_reason {
	char name[64];
	int score;
};

#define SCAN_MAX_EXTRA 8

/* scan_upper - "reputation_block_list" as "PREFIX_REPUTATION_BLOCK_LIST" */
static void scan_upper(char *out, size_t outsize, const char *prefix, const char *s)
{
	size_t i;
	int n = snprintf(out, outsize, "%s%s", prefix, s != NULL ? s : "unknown");

	if (n < 0)
		return;
	for (i = 0; out[i] != '\0'; i++) {
		unsigned char c = (unsigned char)out[i];

		out[i] = str_is_alnum(c) ? (char)(c >= 'a' && c <= 'z' ? c - 32 : c) : '_';
	}
}

/* scan_extra - the reasons that say where the envelope came from and what
 * the SMTP dialogue refused */
static size_t scan_extra(const struct scan_env *se, const struct msg *m, struct scan_reason *r)
{
	size_t n = 0, i;

	scan_upper(r[n++].name, sizeof(r->name), "ENVELOPE_FROM_", se->source);
	if (strcmp(se->mail_source, "option") != 0)
		scan_upper(r[n++].name, sizeof(r->name), "MAIL_FROM_", se->mail_source);
	if (strcmp(se->rcpt_source, "option") != 0)
		scan_upper(r[n++].name, sizeof(r->name), "RCPT_FROM_", se->rcpt_source);
	if (!se->e.check_rcpts && se->e.nrcpts > 0)
		scan_upper(r[n++].name, sizeof(r->name), "RCPT_", "not_checked");
	if (m->conn->ip_blocked || (m->conn->block_why != NULL && m->verdict.action_why != NULL &&
	                            m->verdict.action_why == m->conn->block_why))
		scan_upper(r[n++].name, sizeof(r->name), "CLIENT_REFUSED_", m->conn->block_why);
	for (i = 0; i < m->nrcpts && n < SCAN_MAX_EXTRA; i++) {
		const struct msg_rcpt *rc = &m->rcpts[i];

		if (rc->status == MSG_RCPT_REJECTED || rc->status == MSG_RCPT_DEFERRED) {
			scan_upper(r[n].name, sizeof(r->name), "RCPT_REFUSED_", rc->why);
			/* one line per kind of refusal is enough */
			if (n == 0 || strcmp(r[n - 1].name, r[n].name) != 0)
				n++;
		}
	}
	for (i = 0; i < n; i++)
		r[i].score = 0;
	return n;
}

/* scan_utf8 - s with every byte that is not UTF-8 as '?' (jansson takes
 * only valid UTF-8), in a */
static const char *scan_utf8(struct arena *a, const char *s)
{
	size_t i = 0, len;
	char *out;

	if (s == NULL)
		return NULL;
	len = strlen(s);
	out = arena_strndup(a, s, len);
	if (out == NULL)
		return "";
	while (i < len) {
		unsigned char c = (unsigned char)out[i];
		size_t n = c < 0x80                 ? 1
		           : c >= 0xc2 && c <= 0xdf ? 2
		           : c >= 0xe0 && c <= 0xef ? 3
		           : c >= 0xf0 && c <= 0xf4 ? 4
		                                    : 0;
		size_t k;
		bool ok = n > 0 && i + n <= len;

		for (k = 1; ok && k < n; k++)
			ok = ((unsigned char)out[i + k] & 0xc0) == 0x80;
		if (ok && n == 3)
			ok = !(c == 0xe0 && (unsigned char)out[i + 1] < 0xa0) &&
			     !(c == 0xed && (unsigned char)out[i + 1] >= 0xa0);
		if (ok && n == 4)
			ok = !(c == 0xf0 && (unsigned char)out[i + 1] < 0x90) &&
			     !(c == 0xf4 && (unsigned char)out[i + 1] >= 0x90);
		if (!ok) {
			out[i++] = '?';
			continue;
		}
		i += n;
	}
	return out;
}

static json_t *scan_jstr(struct arena *a, const char *s)
{
	return s != NULL ? json_string(scan_utf8(a, s)) : json_null();
}

/* scan_json - one message as a JSON line */
static int scan_json(const struct scan_item *it, const struct scan_env *se, const struct msg *m,
                     const struct scan_reason *extra, size_t nextra, struct buf *out)
{
	const struct msg_verdict *v = &m->verdict;
	struct verdict_summary vs;
	struct arena *a = m->arena;
	json_t *o = json_object(), *reasons = json_array(), *env = json_object();
	json_t *rcpts = json_array(), *headers = json_array();
	char ip[NET_ADDR_STRLEN];
	char *text;
	size_t i;
	int rc = -1;

	if (o == NULL || reasons == NULL || env == NULL || rcpts == NULL || headers == NULL)
		goto out;
	verdict_summarize(m, &vs);
	json_object_set_new(o, "file", scan_jstr(a, it->file));
	if (it->index > 0)
		json_object_set_new(o, "index", json_integer((json_int_t)it->index));
	json_object_set_new(o, "verdict", json_string(verdict_class_name(vs.cls)));
	json_object_set_new(o, "action", json_string(msg_action_name(v->action)));
	json_object_set_new(o, "scl", json_integer(vs.scl));
	json_object_set_new(o, "bcl", json_integer(vs.bcl));
	json_object_set_new(o, "cat", scan_jstr(a, vs.cat));
	json_object_set_new(o, "sfv", json_string(msg_sfv_name(v->sfv)));
	for (i = 0; i < nextra + v->nreasons; i++) {
		const char *name = i < nextra ? extra[i].name : v->reasons[i - nextra].name;
		int score = i < nextra ? extra[i].score : v->reasons[i - nextra].score;

		json_array_append_new(
		    reasons,
		    json_pack("{s:s,s:i}", "name", name != NULL ? name : "?", "score", score));
	}
	json_object_set(o, "reasons", reasons);
	if (v->reasons_dropped > 0)
		json_object_set_new(o, "reasons_dropped",
		                    json_integer((json_int_t)v->reasons_dropped));
	json_object_set_new(o, "why", scan_jstr(a, v->action_why));
	json_object_set_new(o, "verdict_rule", json_string(vs.rule));
	if (v->reply.code != 0)
		json_object_set_new(o, "reply",
		                    json_pack("{s:i,s:o,s:o}", "code", (int)v->reply.code,
		                              "enhanced", scan_jstr(a, v->reply.enhanced), "text",
		                              scan_jstr(a, v->reply.text)));
	else
		json_object_set_new(o, "reply", json_null());
	json_object_set_new(o, "compauth",
	                    json_pack("{s:o,s:o}", "result", scan_jstr(a, v->compauth), "reason",
	                              v->compauth != NULL
	                                  ? json_string(arena_printf(a, "%03u", v->compauth_reason))
	                                  : json_null()));
	json_object_set_new(o, "dmarc",
	                    json_pack("{s:o,s:o,s:o}", "result", scan_jstr(a, v->dmarc), "policy",
	                              scan_jstr(a, v->dmarc_policy), "domain",
	                              scan_jstr(a, v->dmarc_domain)));
	json_object_set_new(o, "ipv", json_string(msg_ipv_name(m->conn->ipv)));
	/* the envelope, and where it came from */
	json_object_set_new(env, "source", json_string(se->source));
	json_object_set_new(env, "relay", scan_jstr(a, se->relay));
	json_object_set_new(env, "ip", json_string(net_addr_format(&m->conn->ip, ip, sizeof(ip))));
	json_object_set_new(env, "helo", scan_jstr(a, m->conn->helo));
	json_object_set_new(env, "ptr", scan_jstr(a, m->conn->ptr));
	json_object_set_new(env, "mail_from", scan_jstr(a, m->sender));
	json_object_set_new(env, "mail_from_source", json_string(se->mail_source));
	json_object_set_new(env, "rcpts_source", json_string(se->rcpt_source));
	for (i = 0; i < m->nrcpts; i++) {
		const struct msg_rcpt *r = &m->rcpts[i];

		json_array_append_new(
		    rcpts,
		    json_pack(
		        "{s:o,s:s,s:o,s:o}", "addr", scan_jstr(a, r->addr), "status",
		        msg_rcpt_status_name(r->status), "reason", scan_jstr(a, r->why), "reply",
		        r->reply.code != 0
		            ? scan_jstr(a, arena_printf(
		                               a, "%u %s %s", r->reply.code,
		                               r->reply.enhanced != NULL ? r->reply.enhanced : "",
		                               r->reply.text != NULL ? r->reply.text : ""))
		            : json_null()));
	}
	json_object_set(env, "rcpts", rcpts);
	json_object_set(o, "envelope", env);
	json_object_set_new(o, "from", scan_jstr(a, m->hdr.from));
	json_object_set_new(o, "subject", scan_jstr(a, m->hdr.subject));
	json_object_set_new(o, "message_id", scan_jstr(a, m->hdr.message_id));
	json_object_set_new(o, "size", json_integer((json_int_t)m->len));
	for (i = 0; i < m->nprepend; i++)
		json_array_append_new(headers, scan_jstr(a, m->prepend[i]));
	json_object_set(o, "headers", headers);
	text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	if (text != NULL) {
		rc = buf_puts(out, text) == 0 && buf_putc(out, '\n') == 0 ? 0 : -1;
		free(text);
	}
out:
	json_decref(o);
	json_decref(reasons);
	json_decref(env);
	json_decref(rcpts);
	json_decref(headers);
	return rc;
}

/* scan_text_value - s for a terminal: control bytes as '?' */
static const char *scan_text_value(struct arena *a, const char *s)
{
	char *out;
	size_t i;

	if (s == NULL)
		return "-";
	out = arena_strdup(a, s);
	if (out == NULL)
		return "?";
	for (i = 0; out[i] != '\0'; i++)
		if ((unsigned char)out[i] < 0x20 || out[i] == 0x7f)
			out[i] = '?';
	return out;
}

/* scan_text - one message as a block of lines */
static int scan_text(const struct scan_item *it, const struct scan_env *se, const struct msg *m,
                     const struct scan_reason *extra, size_t nextra, struct buf *out)
{
	const struct msg_verdict *v = &m->verdict;
	struct verdict_summary vs;
	struct arena *a = m->arena;
	char ip[NET_ADDR_STRLEN];
	size_t i;
	int rc = 0;

	verdict_summarize(m, &vs);
	if (it->index > 0)
		rc |= buf_printf(out, "file: %s (message %zu)\n", scan_text_value(a, it->file),
		                 it->index);
	else
		rc |= buf_printf(out, "file: %s\n", scan_text_value(a, it->file));
	rc |= buf_printf(out, "verdict: %s\n", verdict_class_name(vs.cls));
	rc |= buf_printf(out, "action: %s (%s)", msg_action_name(v->action),
	                 v->action_why != NULL ? v->action_why : "-");
	if (v->reply.code != 0)
		rc |= buf_printf(out, ": %u %s %s", v->reply.code,
		                 v->reply.enhanced != NULL ? v->reply.enhanced : "",
		                 scan_text_value(a, v->reply.text));
	rc |= buf_printf(out, "\nSCL %d  BCL %d  CAT %s  SFV %s  IPV %s\n", vs.scl, vs.bcl,
	                 scan_text_value(a, vs.cat), msg_sfv_name(v->sfv),
	                 msg_ipv_name(m->conn->ipv));
	rc |= buf_printf(out, "auth: compauth=%s", v->compauth != NULL ? v->compauth : "-");
	if (v->compauth != NULL)
		rc |= buf_printf(out, " reason=%03u", v->compauth_reason);
	rc |= buf_printf(out, " dmarc=%s", v->dmarc != NULL ? v->dmarc : "-");
	if (v->dmarc_domain != NULL)
		rc |= buf_printf(out, " (%s, policy %s)", scan_text_value(a, v->dmarc_domain),
		                 v->dmarc_policy != NULL ? v->dmarc_policy : "-");
	rc |= buf_printf(
	    out, "\nenvelope (%s%s%s): client %s helo %s, mail from <%s> (%s)\n", se->source,
	    se->relay != NULL ? " " : "", se->relay != NULL ? scan_text_value(a, se->relay) : "",
	    net_addr_format(&m->conn->ip, ip, sizeof(ip)), scan_text_value(a, m->conn->helo),
	    scan_text_value(a, m->sender), se->mail_source);
	for (i = 0; i < m->nrcpts; i++) {
		const struct msg_rcpt *r = &m->rcpts[i];

		rc |= buf_printf(out, "  rcpt %s: %s (%s)", scan_text_value(a, r->addr),
		                 msg_rcpt_status_name(r->status), r->why != NULL ? r->why : "-");
		if (r->reply.code != 0)
			rc |= buf_printf(out, " %u %s %s", r->reply.code,
			                 r->reply.enhanced != NULL ? r->reply.enhanced : "",
			                 scan_text_value(a, r->reply.text));
		rc |= buf_putc(out, '\n');
	}
	rc |= buf_puts(out, "reasons:\n");
	for (i = 0; i < nextra + v->nreasons; i++) {
		const char *name = i < nextra ? extra[i].name : v->reasons[i - nextra].name;
		int score = i < nextra ? extra[i].score : v->reasons[i - nextra].score;

		rc |= buf_printf(out, "  %-36s %d\n", name != NULL ? name : "?", score);
	}
	if (v->reasons_dropped > 0)
		rc |= buf_printf(out, "  (%zu more)\n", v->reasons_dropped);
	rc |= buf_putc(out, '\n');
	return rc != 0 ? -1 : 0;
}

struct scan_wait {
	struct event_base *base;
	bool done;
};

static void scan_done(struct msg *m, void *arg)
{
	struct scan_wait *w = arg;

	(void)m;
	w->done = true;
	event_base_loopbreak(w->base);
}

/* scan_failure - why item it has no verdict: a line for standard error,
 * and with --json an object {"file", "error"} in its place; 0 or -1 */
static int scan_failure(const struct scan_opts *so, const struct scan_item *it, const char *msg,
                        struct buf *out, struct buf *err)
{
	int rc = 0;

	if ((it->index > 0
	         ? buf_printf(err, "smexop scan: %s (message %zu): %s\n", it->file, it->index, msg)
	         : buf_printf(err, "smexop scan: %s: %s\n", it->file, msg)) < 0)
		rc = -1;
	if (so->json) {
		json_t *o =
		    json_pack("{s:s,s:s}", "file", it->file != NULL ? it->file : "", "error", msg);
		char *t;

		if (o != NULL && it->index > 0)
			json_object_set_new(o, "index", json_integer((json_int_t)it->index));
		/* a file name that is not UTF-8: json_pack refused it */
		if (o == NULL)
			o = json_pack("{s:s,s:s}", "file", "?", "error", msg);
		t = o != NULL ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
		if (t == NULL || buf_puts(out, t) < 0 || buf_putc(out, '\n') < 0)
			rc = -1;
		free(t);
		json_decref(o);
	}
	return rc;
}

/* scan_load - the bytes of item it (*own: to free); NULL with err */
static const char *scan_load(const struct scan_ctx *ctx, const struct scan_item *it,
                             struct buf *file, char **own, size_t *len, char *err, size_t errsize)
{
	*own = NULL;
	if (it->kind == SCAN_FILE) {
		errno = 0;
		buf_init(file, BUF_CAP_FILE);
		if (buf_read_file(file, it->file) < 0) {
			snprintf(err, errsize, "cannot read: %s",
			         errno != 0 ? strerror(errno) : "too large");
			return NULL;
		}
		/* a From_ line on top (procmail, an mbox of one) is not the message */
		if (mbox_is_mbox(file->data, file->len)) {
			const char *lf = memchr(file->data, '\n', file->len);
			size_t skip = lf != NULL ? (size_t)(lf - file->data) + 1 : file->len;

			*len = file->len - skip;
			return file->data + skip;
		}
		*len = file->len;
		return file->data != NULL ? file->data : "";
	}
	/* a message of an mbox: a private copy with the quoting undone, under
	 * the same cap as a file */
	if (it->len > BUF_CAP_FILE) {
		snprintf(err, errsize, "cannot read: too large");
		return NULL;
	}
	*own = malloc(it->len + 1);
	if (*own == NULL) {
		snprintf(err, errsize, "out of memory");
		return NULL;
	}
	*len = mbox_unquote(*own, it->data, it->len,
	                    it->index > 0 ? ctx->o->quoting : MBOX_QUOTING_NONE);
	return *own;
}

/*
 * scan_one - scan item number i into out (its text or JSON) and err (a
 * line for standard error); 0 done, 2 an input error, 1 our failure
 */
static int scan_one(struct scan_ctx *ctx, size_t i, struct buf *out, struct buf *err)
{
	const struct scan_item *it = &ctx->list->v[i];
	struct buf file = { 0 };
	struct scan_wait w = { ctx->dns.base, false };
	struct scan_reason extra[SCAN_MAX_EXTRA];
	struct scan_env se;
	struct arena *ca = NULL;
	struct msg *m = NULL;
	const char *data, *why;
	char *own = NULL, msg[600];
	size_t len, nextra;
	int rc = 1;

	if (it->kind == SCAN_ERROR) {
		snprintf(msg, sizeof(msg), "%s", it->error);
		rc = 2;
		goto fail;
	}
	data = scan_load(ctx, it, &file, &own, &len, msg, sizeof(msg));
	if (data == NULL) {
		rc = 2;
		goto fail;
	}
	ca = arena_new();
	if (ca == NULL) {
		snprintf(msg, sizeof(msg), "out of memory");
		goto fail;
	}
	why = scan_envelope(ctx, ca, data, len, &se);
	if (why != NULL) {
		snprintf(msg, sizeof(msg), "%s", why);
		rc = 2;
		goto fail;
	}
	m = offline_start(ctx->runner, ca, (uint64_t)i + 1, &se.e, data, len, scan_done, &w);
	if (m == NULL) {
		snprintf(msg, sizeof(msg), "out of memory");
		goto fail;
	}
	while (!w.done)
		if (event_base_loop(ctx->dns.base, 0) != 0 && !w.done)
			break;
	if (!w.done) {
		snprintf(msg, sizeof(msg), "the pipeline did not finish");
		goto fail;
	}
	nextra = scan_extra(&se, m, extra);
	if ((ctx->o->json ? scan_json(it, &se, m, extra, nextra, out)
	                  : scan_text(it, &se, m, extra, nextra, out)) < 0) {
		snprintf(msg, sizeof(msg), "out of memory");
		goto fail;
	}
	rc = 0;
	goto done;
fail:
	if (scan_failure(ctx->o, it, msg, out, err) < 0)
		rc = 1;
done:
	msg_free(m);
	arena_free(ca);
	buf_free(&file);
	free(own);
	return rc;
}

/* ---- the pipeline of one process -------------------------------------------- */

static int scan_ctx_open(struct scan_ctx *ctx)
{
	struct sx_err err = { 0 };
	char line[700];

	if (cli_dns_open(&ctx->dns, "scan") < 0)
		return -1;
	ctx->env.cfg = ctx->cfg;
	ctx->env.base = ctx->dns.base;
	ctx->env.dns = ctx->dns.dns;
	ctx->env.store = NULL; /* nothing is recorded */
	ctx->env.now = ctx->o->have_now ? scan_now : NULL;
	ctx->runner = runner_new(runner_default_stages, runner_ndefault, &ctx->env, &err);
	if (ctx->runner == NULL) {
		fprintf(stderr, "smexop scan: %s\n", sx_err_format(&err, line, sizeof(line)));
		return -1;
	}
	return 0;
}

static void scan_ctx_close(struct scan_ctx *ctx)
{
	ctx->runner = runner_free(ctx->runner);
	cli_dns_close(&ctx->dns);
}

/* ---- output in order, progress ------------------------------------------------ */

struct scan_result {
	bool ready;
	int status;
	char *out, *err;
	size_t out_len, err_len;
};

struct scan_out {
	struct scan_result *res;
	size_t n, next; /* next to print */
	size_t done;
	int status; /* the worst so far: 2 beats 1 beats 0 */
	bool progress;
	struct timespec start, last;
};

static double scan_elapsed(const struct timespec *a, const struct timespec *b)
{
	return (double)(b->tv_sec - a->tv_sec) + (double)(b->tv_nsec - a->tv_nsec) / 1e9;
}

static void scan_progress(struct scan_out *so, bool final)
{
	struct timespec now;
	double t, rate;
	char eta[32];
	int bar = 30, fill, k;

	if (!so->progress)
		return;
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (!final && scan_elapsed(&so->last, &now) * 1000 < SCAN_PROGRESS_MS)
		return;
	so->last = now;
	t = scan_elapsed(&so->start, &now);
	rate = t > 0 ? (double)so->done / t : 0;
	if (rate > 0) {
		unsigned long s = (unsigned long)((double)(so->n - so->done) / rate);

		snprintf(eta, sizeof(eta), "%lu:%02lu:%02lu", s / 3600, s / 60 % 60, s % 60);
	} else {
		snprintf(eta, sizeof(eta), "-");
	}
	fill = so->n > 0 ? (int)((double)bar * (double)so->done / (double)so->n) : bar;
	fputs("\r[", stderr);
	for (k = 0; k < bar; k++)
		fputc(k < fill ? '#' : '.', stderr);
	fprintf(stderr, "] %zu/%zu  %.1f msg/s  ETA %s\033[K", so->done, so->n, rate, eta);
	if (final)
		fputc('\n', stderr);
	fflush(stderr);
}

static void scan_status(struct scan_out *so, int st)
{
	if (st == 2 || (st == 1 && so->status == 0))
		so->status = st;
}

/* scan_flush - print every result that is next in input order */
static void scan_flush(struct scan_out *so)
{
	bool printed = false;

	while (so->next < so->n && so->res[so->next].ready) {
		struct scan_result *r = &so->res[so->next];

		if (r->err_len > 0) {
			if (so->progress)
				fputs("\r\033[K", stderr);
			fwrite(r->err, 1, r->err_len, stderr);
		}
		if (r->out_len > 0)
			fwrite(r->out, 1, r->out_len, stdout);
		free(r->out);
		free(r->err);
		r->out = r->err = NULL;
		so->next++;
		printed = true;
	}
	if (printed)
		fflush(stdout);
}

static void scan_store(struct scan_out *so, size_t i, int status, char *out, size_t out_len,
                       char *err, size_t err_len)
{
	struct scan_result *r = &so->res[i];

	r->ready = true;
	r->status = status;
	r->out = out;
	r->out_len = out_len;
	r->err = err;
	r->err_len = err_len;
	so->done++;
	scan_status(so, status);
	scan_flush(so);
	scan_progress(so, false);
}

/* ---- in this process ------------------------------------------------------------ */

static int scan_serial(struct scan_ctx *ctx, struct scan_out *so)
{
	size_t i;

	if (scan_ctx_open(ctx) < 0) {
		scan_ctx_close(ctx);
		return -1;
	}
	for (i = 0; i < so->n; i++) {
		struct buf out, err;
		int st;

		buf_init(&out, SCAN_REC_MAX);
		buf_init(&err, SCAN_REC_MAX);
		st = scan_one(ctx, i, &out, &err);
		scan_store(so, i, st, out.data, out.len, err.data, err.len);
	}
	scan_ctx_close(ctx);
	return 0;
}

/* ---- worker processes --------------------------------------------------------- */

struct scan_rec {
	uint32_t index;
	int32_t status;
	uint32_t out_len, err_len;
};

static int scan_write_all(int fd, const void *p, size_t n)
{
	const char *c = p;

	while (n > 0) {
		ssize_t w = write(fd, c, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

static int scan_read_all(int fd, void *p, size_t n)
{
	char *c = p;

	while (n > 0) {
		ssize_t r = read(fd, c, n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		c += r;
		n -= (size_t)r;
	}
	return 0;
}

/* scan_worker - in the child: item numbers in on req, results out on res */
static void scan_worker(struct scan_ctx *ctx, int req, int res)
{
	uint32_t index;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (scan_ctx_open(ctx) < 0)
		_exit(1);
	while (scan_read_all(req, &index, sizeof(index)) == 0) {
		struct scan_rec rec = { index, 1, 0, 0 };
		struct buf out, err;

		buf_init(&out, SCAN_REC_MAX);
		buf_init(&err, SCAN_REC_MAX);
		if (index < ctx->list->n)
			rec.status = scan_one(ctx, index, &out, &err);
		rec.out_len = (uint32_t)out.len;
		rec.err_len = (uint32_t)err.len;
		if (scan_write_all(res, &rec, sizeof(rec)) < 0 ||
		    scan_write_all(res, out.data != NULL ? out.data : "", out.len) < 0 ||
		    scan_write_all(res, err.data != NULL ? err.data : "", err.len) < 0)
			_exit(1);
		buf_free(&out);
		buf_free(&err);
	}
	scan_ctx_close(ctx);
	_exit(0);
}

struct scan_worker_slot {
	pid_t pid;
	int req, res; /* -1 when closed */
	size_t held[SCAN_INFLIGHT];
	size_t nheld;
	struct buf in; /* bytes read from res, not yet a whole record */
};

/* scan_dispatch - hand the next item to w; false when there is none */
static bool scan_dispatch(struct scan_worker_slot *w, size_t *next, const struct scan_out *so)
{
	uint32_t index;

	if (*next >= so->n || *next >= so->next + SCAN_WINDOW || w->req < 0 ||
	    w->nheld >= SCAN_INFLIGHT)
		return false;
	index = (uint32_t)*next;
	if (scan_write_all(w->req, &index, sizeof(index)) < 0)
		return false;
	w->held[w->nheld++] = *next;
	(*next)++;
	return true;
}

/* scan_take - the whole records in w->in */
static void scan_take(struct scan_worker_slot *w, struct scan_out *so)
{
	size_t off = 0;

	while (w->in.len - off >= sizeof(struct scan_rec)) {
		struct scan_rec rec;
		size_t total, k;
		char *out = NULL, *err = NULL;

		memcpy(&rec, w->in.data + off, sizeof(rec));
		total = sizeof(rec) + (size_t)rec.out_len + rec.err_len;
		if (w->in.len - off < total)
			break;
		if (rec.out_len > 0 && (out = malloc(rec.out_len)) != NULL)
			memcpy(out, w->in.data + off + sizeof(rec), rec.out_len);
		if (rec.err_len > 0 && (err = malloc(rec.err_len)) != NULL)
			memcpy(err, w->in.data + off + sizeof(rec) + rec.out_len, rec.err_len);
		for (k = 0; k < w->nheld; k++)
			if (w->held[k] == rec.index) {
				w->held[k] = w->held[--w->nheld];
				break;
			}
		if (rec.index < so->n && !so->res[rec.index].ready)
			scan_store(so, rec.index, rec.status, out, out != NULL ? rec.out_len : 0,
			           err, err != NULL ? rec.err_len : 0);
		else {
			free(out);
			free(err);
		}
		off += total;
	}
	if (off > 0) {
		memmove(w->in.data, w->in.data + off, w->in.len - off);
		w->in.len -= off;
	}
}

/* scan_lost - w is gone: what it held fails */
/* scan_store_failure - item i fails in the parent (its worker is gone) */
static void scan_store_failure(const struct scan_ctx *ctx, struct scan_out *so, size_t i,
                               const char *msg)
{
	struct buf out, err;

	buf_init(&out, SCAN_REC_MAX);
	buf_init(&err, SCAN_REC_MAX);
	(void)scan_failure(ctx->o, &ctx->list->v[i], msg, &out, &err);
	scan_store(so, i, 1, out.data, out.len, err.data, err.len);
}

static void scan_lost(struct scan_worker_slot *w, struct scan_out *so, const struct scan_ctx *ctx)
{
	int wst = 0;
	size_t k;

	if (w->req >= 0)
		close(w->req);
	if (w->res >= 0)
		close(w->res);
	w->req = w->res = -1;
	if (w->pid > 0 && waitpid(w->pid, &wst, 0) < 0)
		wst = 0;
	w->pid = 0;
	for (k = 0; k < w->nheld; k++) {
		char msg[100];

		if (WIFSIGNALED(wst))
			snprintf(msg, sizeof(msg), "the worker scanning it died (signal %d)",
			         WTERMSIG(wst));
		else
			snprintf(msg, sizeof(msg), "the worker scanning it stopped");
		scan_store_failure(ctx, so, w->held[k], msg);
	}
	w->nheld = 0;
}

static int scan_parallel(struct scan_ctx *ctx, struct scan_out *so, unsigned jobs)
{
	struct scan_worker_slot *w = calloc(jobs, sizeof(*w));
	struct pollfd *pfd = calloc(jobs, sizeof(*pfd));
	size_t next = 0, k;
	unsigned i, alive = 0;

	if (w == NULL || pfd == NULL) {
		free(w);
		free(pfd);
		return -1;
	}
	fflush(stdout);
	fflush(stderr);
	for (i = 0; i < jobs; i++) {
		int req[2], res[2];
		pid_t pid;

		w[i].req = w[i].res = -1;
		buf_init(&w[i].in, (size_t)SCAN_REC_MAX * 2);
		if (pipe2(req, O_CLOEXEC) < 0)
			continue;
		if (pipe2(res, O_CLOEXEC) < 0) {
			close(req[0]);
			close(req[1]);
			continue;
		}
		pid = fork();
		if (pid == 0) {
			unsigned j;

			for (j = 0; j < i; j++) { /* the other workers' pipes are not ours */
				if (w[j].req >= 0)
					close(w[j].req);
				if (w[j].res >= 0)
					close(w[j].res);
			}
			close(req[1]);
			close(res[0]);
			scan_worker(ctx, req[0], res[1]);
		}
		close(req[0]);
		close(res[1]);
		if (pid < 0) {
			close(req[1]);
			close(res[0]);
			continue;
		}
		w[i].pid = pid;
		w[i].req = req[1];
		w[i].res = res[0];
		alive++;
	}
	if (alive == 0) {
		fprintf(stderr, "smexop scan: cannot start workers: %s\n", strerror(errno));
		free(w);
		free(pfd);
		return -1;
	}
	while (so->done < so->n) {
		unsigned np = 0;

		for (i = 0; i < jobs; i++)
			while (scan_dispatch(&w[i], &next, so))
				;
		for (i = 0; i < jobs; i++)
			if (w[i].res >= 0) {
				pfd[np].fd = w[i].res;
				pfd[np].events = POLLIN;
				pfd[np].revents = 0;
				np++;
			}
		if (np == 0) { /* every worker is gone: the rest cannot be scanned */
			for (k = next; k < so->n; k++)
				scan_store_failure(ctx, so, k, "not scanned (no worker left)");
			break;
		}
		if (poll(pfd, np, 1000) < 0 && errno != EINTR)
			break;
		np = 0;
		for (i = 0; i < jobs; i++) {
			char chunk[65536];
			ssize_t r;
			short rev;

			if (w[i].res < 0)
				continue;
			rev = pfd[np++].revents;
			if (!(rev & (POLLIN | POLLHUP | POLLERR)))
				continue;
			r = read(w[i].res, chunk, sizeof(chunk));
			if (r < 0 && errno == EINTR)
				continue;
			if (r > 0 && buf_append(&w[i].in, chunk, (size_t)r) == 0) {
				scan_take(&w[i], so);
				continue;
			}
			scan_lost(&w[i], so, ctx); /* EOF, an error or an oversized record */
		}
	}
	scan_progress(so, true);
	for (i = 0; i < jobs; i++) {
		if (w[i].req >= 0)
			close(w[i].req); /* the worker reads EOF and exits */
		if (w[i].res >= 0)
			close(w[i].res);
		if (w[i].pid > 0)
			waitpid(w[i].pid, NULL, 0);
		buf_free(&w[i].in);
	}
	free(w);
	free(pfd);
	return 0;
}

/* ---- the command ------------------------------------------------------------- */

/* scan_config - load -c (or the defaults) and adapt it to scanning */
static struct smexop_config *scan_config(const char *path, struct cli_dns *d)
{
	static struct config_diag diag;
	struct smexop_config *cfg = config_load(path, &diag);
	char line[1024];
	size_t i;

	if (cfg == NULL) {
		for (i = 0; i < diag.n; i++)
			fprintf(stderr, "%s\n", config_error_format(&diag, i, line, sizeof(line)));
		if (diag.n == 0)
			fprintf(stderr, "smexop scan: cannot load %s\n",
			        path ? path : "the defaults");
		return NULL;
	}
	/* messages are not connections: per-IP connection limits would only
	 * count how many messages of one client the scan holds */
	cfg->connection_filter.max_connections_per_ip = 0;
	cfg->connection_filter.max_connection_rate = 0;
	/* the configuration's resolver, unless the command line names one */
	if (d->opts.zone_file == NULL && d->opts.forward_host == NULL) {
		if (cfg->dns.zone_file != NULL) {
			d->opts.zone_file = cfg->dns.zone_file;
		} else if (cfg->dns.servers.n > 0) {
			snprintf(d->host, sizeof(d->host), "%s", cfg->dns.servers.v[0].host);
			d->opts.forward_host = d->host;
			d->opts.forward_port = cfg->dns.servers.v[0].port;
		}
	}
	return cfg;
}

static int scan_list_option(const char *opt, const char *val, const char **list, size_t *n,
                            size_t max)
{
	if (*n >= max || *val == '\0')
		return cli_usage_error("scan", "%s: empty, or more than %zu", opt, max);
	list[(*n)++] = val;
	return 0;
}

int cli_scan(int argc, char **argv)
{
	struct scan_opts o;
	struct scan_ctx ctx;
	struct scan_list list = { 0 };
	struct scan_out so;
	struct buf in = { 0 };
	const char **files;
	size_t nfiles = 0, k;
	bool have_stdin = false;
	long cores;
	int i, rc, ret = CLI_EXIT_USAGE;

	memset(&o, 0, sizeof(o));
	memset(&ctx, 0, sizeof(ctx));
	memset(&so, 0, sizeof(so));
	o.quoting = MBOX_QUOTING_RD;
	files = calloc((size_t)argc + 1, sizeof(*files));
	if (files == NULL)
		return 1;
	for (i = 1; i < argc; i++) {
		const char *opt = argv[i];
		uint64_t n;

		rc = cli_common_option(&ctx.dns, &o.json, scan_usage, argc, argv, &i);
		if (rc < 0) {
			free(files);
			return cli_opt_exit(rc);
		}
		if (rc > 0)
			continue;
		if (strcmp(opt, "-v") == 0) {
			o.verbose = true;
			continue;
		}
		if (opt[0] != '-' || strcmp(opt, "-") == 0) {
			files[nfiles++] = opt;
			continue;
		}
		if (strcmp(opt, "--ip") != 0 && strcmp(opt, "--helo") != 0 &&
		    strcmp(opt, "--mail-from") != 0 && strcmp(opt, "--rcpt") != 0 &&
		    strcmp(opt, "--received-from-trusted") != 0 && strcmp(opt, "-c") != 0 &&
		    strcmp(opt, "-j") != 0 && strcmp(opt, "--mbox-quoting") != 0 &&
		    strcmp(opt, "--now") != 0) {
			free(files);
			return cli_usage_error("scan", "unknown option '%s'", opt);
		}
		if (i + 1 >= argc) {
			free(files);
			return cli_usage_error("scan", "%s needs a value", opt);
		}
		i++;
		rc = 0;
		if (strcmp(opt, "--ip") == 0) {
			o.ip = argv[i];
			if (net_addr_parse(o.ip, &o.ip_addr) < 0)
				rc = cli_usage_error("scan", "--ip: not an IP address: %s", o.ip);
		} else if (strcmp(opt, "--helo") == 0) {
			o.helo = argv[i];
		} else if (strcmp(opt, "--mail-from") == 0) {
			o.mail_from = argv[i];
		} else if (strcmp(opt, "--rcpt") == 0) {
			rc = scan_list_option(opt, argv[i], o.rcpts, &o.nrcpts, SCAN_MAX_RCPTS);
		} else if (strcmp(opt, "--received-from-trusted") == 0) {
			rc = scan_list_option(opt, argv[i], o.relays, &o.nrelays, SCAN_MAX_RELAYS);
		} else if (strcmp(opt, "-c") == 0) {
			o.config = argv[i];
		} else if (strcmp(opt, "-j") == 0) {
			if (str_to_u64(argv[i], strlen(argv[i]), 1, SCAN_MAX_JOBS, &n) < 0)
				rc = cli_usage_error("scan", "-j: a number 1-%d, not '%s'",
				                     SCAN_MAX_JOBS, argv[i]);
			o.jobs = (unsigned)n;
		} else if (strcmp(opt, "--mbox-quoting") == 0) {
			if (mbox_quoting_parse(argv[i], &o.quoting) < 0)
				rc = cli_usage_error(
				    "scan", "--mbox-quoting: rd, o or none, not '%s'", argv[i]);
		} else {
			if (str_to_u64(argv[i], strlen(argv[i]), 0, INT64_MAX, &n) < 0)
				rc = cli_usage_error("scan", "--now: not a time: %s", argv[i]);
			o.have_now = true;
			o.now = (int64_t)n;
		}
		if (rc != 0) {
			free(files);
			return rc;
		}
	}
	if (o.ip == NULL && o.nrelays == 0) {
		free(files);
		return cli_usage_error("scan", "--ip or --received-from-trusted is required");
	}
	if (nfiles == 0)
		files[nfiles++] = "-";
	for (k = 0; k < nfiles; k++)
		if (strcmp(files[k], "-") == 0) {
			if (have_stdin) {
				free(files);
				return cli_usage_error("scan", "'-' given twice");
			}
			have_stdin = true;
		}
	scan_now_value = o.now;
	signal(SIGPIPE, SIG_IGN); /* a worker that died is seen by poll, not by a signal */
	log_setup(LOG_TARGET_STDERR, o.verbose ? LOG_LEVEL_INFO : LOG_LEVEL_ERROR, "smexop");

	ctx.o = &o;
	ctx.list = &list;
	ctx.cfg = scan_config(o.config, &ctx.dns);
	if (ctx.cfg == NULL)
		goto out;
	/* a gateway without accepted domains takes mail for nobody: checking
	 * recipients would only say so for every message */
	ctx.check_rcpts = ctx.cfg->accepted_domains.n > 0;
	for (k = 0; k < nfiles; k++) {
		rc = strcmp(files[k], "-") == 0 ? scan_add_stdin(&list, &in)
		                                : scan_add_path(&list, files[k]);
		if (rc < 0) {
			fprintf(stderr, "smexop scan: out of memory\n");
			ret = 1;
			goto out;
		}
	}
	so.n = list.n;
	so.res = calloc(list.n > 0 ? list.n : 1, sizeof(*so.res));
	if (so.res == NULL) {
		fprintf(stderr, "smexop scan: out of memory\n");
		ret = 1;
		goto out;
	}
	so.progress = isatty(2) && list.n > 1;
	clock_gettime(CLOCK_MONOTONIC, &so.start);
	so.last = so.start;
	cores = sysconf(_SC_NPROCESSORS_ONLN);
	if (o.jobs == 0)
		o.jobs = cores > 0 ? (unsigned)(cores < SCAN_MAX_JOBS ? cores : SCAN_MAX_JOBS) : 1;
	if (o.jobs > list.n)
		o.jobs = list.n > 0 ? (unsigned)list.n : 1;
	rc = o.jobs <= 1 ? scan_serial(&ctx, &so) : scan_parallel(&ctx, &so, o.jobs);
	if (rc < 0) {
		ret = 1;
		goto out;
	}
	if (o.jobs <= 1)
		scan_progress(&so, true);
	scan_flush(&so);
	ret = so.status == 2 ? CLI_EXIT_USAGE : so.status == 1 ? 1 : CLI_EXIT_OK;
out:
	for (k = 0; k < so.n; k++) {
		free(so.res[k].out);
		free(so.res[k].err);
	}
	free(so.res);
	for (k = 0; k < list.n; k++) {
		if (list.v[k].kind == SCAN_ERROR)
			free((char *)list.v[k].error);
		if (list.v[k].owns_file)
			free((char *)list.v[k].file);
		if (list.v[k].map != NULL)
			munmap(list.v[k].map, list.v[k].map_len);
	}
	free(list.v);
	buf_free(&in);
	config_free(ctx.cfg);
	free(files);
	return ret;
}
