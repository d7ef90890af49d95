/*
 * msg - the message context: connection data, envelope, raw view,
 * verdict (see msg.h for the lifetimes)
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/arena.h"
#include "core/log.h"
#include "core/str.h"
#include "pipeline/msg.h"
#include "pipeline/stage.h"

struct msg_conn *msg_conn_new(struct arena *a, uint64_t session_id)
{
	struct msg_conn *c;

	if (a == NULL)
		return NULL;
	c = arena_zalloc(a, sizeof(*c));
	if (c == NULL)
		return NULL;
	c->arena = a;
	c->session_id = session_id;
	c->ipv = MSG_IPV_NLI;
	return c;
}

void msg_conn_set_peer(struct msg_conn *c, const struct net_addr *ip, unsigned port)
{
	c->ip = *ip;
	c->port = port;
	net_addr_format(ip, c->ip_text, sizeof(c->ip_text));
}

/* msg_init - a fresh transaction in m's (reset) arena */
static void msg_init(struct msg *m, struct arena *a, struct msg_conn *c, uint64_t id)
{
	memset(m, 0, sizeof(*m));
	m->arena = a;
	m->conn = c;
	m->id = id;
	snprintf(m->id_text, sizeof(m->id_text), "%016llx", (unsigned long long)id);
	m->sender = "";
	m->verdict.scl = 1; /* EOP's "not spam" until a classifier says otherwise */
	m->verdict.cat = "NONE";
	m->verdict.sfv = MSG_SFV_NSPM;
	m->verdict.action = MSG_ACTION_DELIVER;
}

struct msg *msg_new(struct msg_conn *c, uint64_t id)
{
	struct arena *a;
	struct msg *m;

	if (c == NULL)
		return NULL;
	a = arena_new();
	if (a == NULL)
		return NULL;
	m = arena_alloc(a, sizeof(*m));
	if (m == NULL) {
		arena_free(a);
		return NULL;
	}
	msg_init(m, a, c, id);
	return m;
}

struct msg *msg_free(struct msg *m)
{
	if (m == NULL)
		return NULL;
	runner_cancel(m);
	arena_free(m->arena); /* m itself lives in it */
	return NULL;
}

int msg_set_sender(struct msg *m, const char *sender)
{
	m->sender = arena_strdup(m->arena, sender != NULL ? sender : "");
	return m->sender != NULL ? 0 : -1;
}

struct msg_rcpt *msg_rcpt_add(struct msg *m, const char *addr)
{
	struct msg_rcpt *rc;
	const char *at;

	if (m->nrcpts >= MSG_MAX_RCPTS)
		return NULL;
	if (m->nrcpts == m->rcpts_cap) {
		size_t cap = m->rcpts_cap == 0 ? 8 : m->rcpts_cap * 2;
		struct msg_rcpt *v;

		if (cap > MSG_MAX_RCPTS)
			cap = MSG_MAX_RCPTS;
		v = arena_array(m->arena, cap, sizeof(*v));
		if (v == NULL)
			return NULL;
		if (m->nrcpts > 0)
			memcpy(v, m->rcpts, m->nrcpts * sizeof(*v));
		m->rcpts = v;
		m->rcpts_cap = cap;
	}
	rc = &m->rcpts[m->nrcpts];
	memset(rc, 0, sizeof(*rc));
	rc->addr = arena_strdup(m->arena, addr);
	if (rc->addr == NULL)
		return NULL;
	at = strrchr(rc->addr, '@');
	rc->domain = at != NULL ? arena_strdup(m->arena, at + 1) : "";
	if (rc->domain == NULL)
		return NULL;
	str_lower_inplace((char *)rc->domain);
	rc->status = MSG_RCPT_PENDING;
	m->nrcpts++;
	return rc;
}

size_t msg_rcpt_accepted(const struct msg *m)
{
	size_t i, n = 0;

	for (i = 0; i < m->nrcpts; i++)
		n += m->rcpts[i].status == MSG_RCPT_ACCEPTED;
	return n;
}

void msg_set_data(struct msg *m, const char *data, size_t len)
{
	m->data = data;
	m->len = len;
	m->raw_ok = false;
}

void msg_reason_add(struct msg *m, const char *name, int score)
{
	struct msg_verdict *v = &m->verdict;

	if (v->nreasons >= MSG_MAX_REASONS) {
		v->reasons_dropped++;
		return;
	}
	v->reasons[v->nreasons].name = name;
	v->reasons[v->nreasons].score = score;
	v->nreasons++;
}

void msg_set_reply(struct msg *m, unsigned code, const char *enhanced, const char *text)
{
	struct msg_reply *r = &m->verdict.reply;

	r->code = code;
	r->enhanced = enhanced != NULL ? arena_strdup(m->arena, enhanced) : NULL;
	r->text = text != NULL ? arena_strdup(m->arena, text) : NULL;
	if ((enhanced != NULL && r->enhanced == NULL) || (text != NULL && r->text == NULL)) {
		/* no memory for our words: still refuse, with fixed ones */
		r->enhanced = code >= 500 ? "5.7.1" : "4.3.0";
		r->text = code >= 500 ? "Message refused" : "Temporary server error";
	}
}

void msg_reply_parse(struct arena *a, const char *line, struct msg_reply *out)
{
	const char *text, *sp;
	uint64_t code;

	out->code = 451;
	out->enhanced = "4.3.0";
	out->text = "Temporary server error, please try again later";
	if (line == NULL || strlen(line) < 4 || str_to_u64(line, 3, 400, 599, &code) < 0 ||
	    line[3] != ' ')
		return;
	text = line + 4;
	sp = strchr(text, ' ');
	out->code = (unsigned)code;
	out->enhanced = NULL;
	if (sp != NULL && str_is_digit((unsigned char)text[0]) && text[1] == '.' &&
	    text[0] == line[0]) {
		out->enhanced = arena_strndup(a, text, (size_t)(sp - text));
		if (out->enhanced == NULL)
			goto nomem;
		text = sp + 1;
	}
	out->text = arena_strdup(a, text);
	if (out->text != NULL)
		return;
nomem:
	out->enhanced = code >= 500 ? "5.3.0" : "4.3.0";
	out->text = code >= 500 ? "Message refused" : "Temporary server error";
}

#define MSG_LOG_LINE 2048

void msg_log(const struct msg *m, int level, const char *event, const char *fmt, ...)
{
	char rest[MSG_LOG_LINE];
	va_list ap;

	if (level < (int)log_get_level())
		return;
	va_start(ap, fmt);
	vsnprintf(rest, sizeof(rest), fmt, ap);
	va_end(ap);
	log_msg((enum log_level)level, "%s session=%016llx msg=%s %s", event,
	        (unsigned long long)m->conn->session_id, m->id_text, rest);
}

void msg_conn_log(const struct msg_conn *c, int level, const char *event, const char *fmt, ...)
{
	char rest[MSG_LOG_LINE];
	va_list ap;

	if (level < (int)log_get_level())
		return;
	va_start(ap, fmt);
	vsnprintf(rest, sizeof(rest), fmt, ap);
	va_end(ap);
	log_msg((enum log_level)level, "%s session=%016llx %s", event,
	        (unsigned long long)c->session_id, rest);
}

const char *msg_action_name(enum msg_action a)
{
	static const char *const names[] = { "deliver", "junk", "quarantine",
		                             "reject",  "drop", "tempfail" };

	return (unsigned)a < sizeof(names) / sizeof(names[0]) ? names[a] : "?";
}

const char *msg_sfv_name(enum msg_sfv s)
{
	static const char *const names[] = { "NSPM", "SPM", "SKS", "SKA", "SKB", "SKN", "SKQ" };

	return (unsigned)s < sizeof(names) / sizeof(names[0]) ? names[s] : "?";
}

const char *msg_ipv_name(enum msg_ipv v)
{
	return v == MSG_IPV_CAL ? "CAL" : "NLI";
}

const char *msg_rcpt_status_name(enum msg_rcpt_status s)
{
	static const char *const names[] = { "pending", "accepted", "rejected", "deferred" };

	return (unsigned)s < sizeof(names) / sizeof(names[0]) ? names[s] : "?";
}
