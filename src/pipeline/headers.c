/*
 * headers - the fields the gateway prepends (see headers.h for the exact
 * shape) and the message as it leaves the pipeline
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "auth/authcheck.h"
#include "core/arena.h"
#include "core/buf.h"
#include "pipeline/headers.h"

#define HEADERS_CAP (256 * 1024) /* everything we prepend, Authentication-Results included */

const char *headers_date(int64_t t, char *out, size_t outsize)
{
	static const char *const days[] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
	static const char *const months[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
		                              "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	time_t tt = (time_t)t;
	struct tm tm;

	/* our own names: strftime's %a and %b follow the locale */
	if (gmtime_r(&tt, &tm) == NULL || tm.tm_wday < 0 || tm.tm_wday > 6 || tm.tm_mon < 0 ||
	    tm.tm_mon > 11) {
		snprintf(out, outsize, "Thu, 01 Jan 1970 00:00:00 +0000");
		return out;
	}
	snprintf(out, outsize, "%s, %02d %s %04d %02d:%02d:%02d +0000", days[tm.tm_wday],
	         tm.tm_mday, months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
	         tm.tm_sec);
	return out;
}

/* headers_peer - a peer-supplied value made safe for one of our fields */
static const char *headers_peer(const char *s, char *out, size_t outsize)
{
	size_t i, o = 0;

	if (s == NULL)
		s = "";
	for (i = 0; s[i] != '\0' && o + 1 < outsize && o < HEADERS_PEER_MAX; i++) {
		unsigned char c = (unsigned char)s[i];

		out[o++] = c > 0x20 && c < 0x7f && c != ';' ? (char)c : '_';
	}
	out[o] = '\0';
	return out;
}

/* headers_report - X-Smexop-Antispam-Report */
static int headers_report(struct buf *b, const struct msg *m)
{
	const struct msg_verdict *v = &m->verdict;
	char helo[HEADERS_PEER_MAX + 1], ptr[HEADERS_PEER_MAX + 1];

	return buf_printf(b,
	                  "X-Smexop-Antispam-Report: CIP:%s;CTRY:;LANG:;H:%s;PTR:%s;DIR:INB;"
	                  "SCL:%d;SRV:;IPV:%s;SFV:%s;CAT:%s;SFTY:;BCL:%d;ACT:%s;MID:%s;\r\n",
	                  m->conn->ip_text, headers_peer(m->conn->helo, helo, sizeof(helo)),
	                  headers_peer(m->conn->ptr, ptr, sizeof(ptr)), v->scl,
	                  msg_ipv_name(m->conn->ipv), msg_sfv_name(v->sfv),
	                  v->cat != NULL ? v->cat : "NONE", v->bcl, msg_action_name(v->action),
	                  m->id_text);
}

/* headers_spam_flag - X-Spam-Flag (SpamAssassin's spelling, for Sieve) */
static int headers_spam_flag(struct buf *b, const struct msg *m)
{
	return buf_printf(b, "X-Spam-Flag: %s\r\n",
	                  m->verdict.scl >= HEADERS_SCL_SPAM ? "YES" : "NO");
}

/* headers_spam_status - X-Spam-Status with the SCL as the score */
static int headers_spam_status(struct buf *b, const struct msg *m)
{
	const struct msg_verdict *v = &m->verdict;
	size_t i;

	if (buf_printf(b, "X-Spam-Status: %s, score=%d required=%d tests=",
	               v->scl >= HEADERS_SCL_SPAM ? "Yes" : "No", v->scl, HEADERS_SCL_SPAM) < 0)
		return -1;
	for (i = 0; i < v->nreasons; i++)
		if (buf_printf(b, "%s%s", i > 0 ? "," : "", v->reasons[i].name) < 0)
			return -1;
	return buf_puts(b, v->nreasons == 0 ? "none\r\n" : "\r\n");
}

/* headers_received - our hop (RFC 5321 4.4, protocol names of RFC 3848) */
static int headers_received(struct buf *b, const struct msg *m, const char *hostname)
{
	const struct msg_conn *c = m->conn;
	char helo[HEADERS_PEER_MAX + 1], ptr[HEADERS_PEER_MAX + 1], date[64];
	const char *proto;
	const struct msg_rcpt *one = NULL;
	size_t i;

	proto =
	    c->esmtp ? (c->tls.active ? "ESMTPS" : "ESMTP") : (c->tls.active ? "SMTPS" : "SMTP");
	if (buf_printf(b, "Received: from %s (%s [%s])\r\n\tby %s (smexop) with %s id %s\r\n",
	               c->helo != NULL ? headers_peer(c->helo, helo, sizeof(helo)) : "unknown",
	               c->ptr != NULL ? headers_peer(c->ptr, ptr, sizeof(ptr)) : "unknown",
	               c->ip_text, hostname, proto, m->id_text) < 0)
		return -1;
	if (c->tls.active) {
		char ver[64], cipher[128];

		if (buf_printf(b, "\t(using %s with cipher %s)\r\n",
		               headers_peer(c->tls.version, ver, sizeof(ver)),
		               headers_peer(c->tls.cipher, cipher, sizeof(cipher))) < 0)
			return -1;
	}
	/* "for" only with one recipient: more would tell each one about the others */
	for (i = 0; i < m->nrcpts; i++)
		if (m->rcpts[i].status == MSG_RCPT_ACCEPTED) {
			one = one == NULL ? &m->rcpts[i] : NULL;
			if (one == NULL)
				break;
		}
	headers_date(m->received, date, sizeof(date));
	if (one != NULL) {
		char addr[HEADERS_PEER_MAX + 1];

		return buf_printf(b, "\tfor <%s>; %s\r\n",
		                  headers_peer(one->addr, addr, sizeof(addr)), date);
	}
	return buf_printf(b, "\t; %s\r\n", date);
}

/* headers_push - take b's contents (one field, ending in CRLF) as the next
 * field to prepend; b is cleared */
static int headers_push(struct msg *m, struct buf *b)
{
	size_t len = b->len;
	char *f;

	if (m->nprepend >= MSG_MAX_PREPEND)
		return -1;
	if (len >= 2 && b->data[len - 2] == '\r' && b->data[len - 1] == '\n')
		len -= 2;
	f = arena_strndup(m->arena, b->data, len);
	if (f == NULL)
		return -1;
	m->prepend[m->nprepend++] = f;
	buf_clear(b);
	return 0;
}

int headers_build_received(struct msg *m, const struct headers_opts *o)
{
	struct buf b;
	int rc;

	buf_init(&b, HEADERS_CAP);
	rc = headers_received(&b, m, o->hostname) < 0 || headers_push(m, &b) < 0 ? -1 : 0;
	buf_free(&b);
	return rc;
}

int headers_build(struct msg *m, const struct headers_opts *o)
{
	struct authcheck_range *ranges = NULL;
	struct buf b;
	size_t n = 0, i;
	int rc = -1;

	buf_init(&b, HEADERS_CAP);
	m->nprepend = 0;
	if (m->auth != NULL) {
		char *ar = authcheck_header(m->arena, m->auth, o->authserv_id, false);

		if (ar == NULL || buf_puts(&b, ar) < 0 || headers_push(m, &b) < 0)
			goto out;
	}
	if (headers_report(&b, m) < 0 || headers_push(m, &b) < 0)
		goto out;
	if (headers_spam_flag(&b, m) < 0 || headers_push(m, &b) < 0 ||
	    headers_spam_status(&b, m) < 0 || headers_push(m, &b) < 0)
		goto out;
	if (headers_received(&b, m, o->hostname) < 0 || headers_push(m, &b) < 0)
		goto out;
	m->strip = NULL;
	m->nstrip = 0;
	if (m->raw_ok) {
		if (authcheck_strip_ours(m->arena, &m->raw, o->authserv_id, &ranges, &n) < 0)
			goto out;
		if (n > 0) {
			m->strip = arena_array(m->arena, n, sizeof(*m->strip));
			if (m->strip == NULL)
				goto out;
			for (i = 0; i < n; i++) {
				m->strip[i].offset = ranges[i].offset;
				m->strip[i].len = ranges[i].len;
			}
			m->nstrip = n;
		}
	}
	rc = 0;
out:
	buf_free(&b);
	return rc;
}

/* headers_output_body - the received bytes without the m->strip ranges */
int headers_output_body(const struct msg *m, int (*write)(void *arg, const char *p, size_t n),
                        void *arg)
{
	size_t pos = 0, i;
	int rc;

	for (i = 0; i < m->nstrip; i++) {
		const struct msg_strip *s = &m->strip[i];

		if (s->offset < pos || s->offset > m->len || s->len > m->len - s->offset)
			continue; /* not in order or out of range: never happens, never trusted */
		if (s->offset > pos && (rc = write(arg, m->data + pos, s->offset - pos)) != 0)
			return rc;
		pos = s->offset + s->len;
	}
	if (pos < m->len)
		return write(arg, m->data + pos, m->len - pos);
	return 0;
}

int headers_output(const struct msg *m, int (*write)(void *arg, const char *p, size_t n), void *arg)
{
	size_t i;
	int rc;

	for (i = 0; i < m->nprepend; i++)
		if ((rc = write(arg, m->prepend[i], strlen(m->prepend[i]))) != 0 ||
		    (rc = write(arg, "\r\n", 2)) != 0)
			return rc;
	return headers_output_body(m, write, arg);
}
