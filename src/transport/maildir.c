/*
 * maildir - the built-in delivery of queue entries into Maildirs (see
 * maildir.h): per recipient tmp/ -> fsync -> link into new/ -> fsync
 */
#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"
#include "core/str.h"
#include "transport/maildir.h"
#include "transport/msgtrace.h"

#define MAILDIR_PATH_MAX 4096
#define MAILDIR_WBUF     (64 * 1024)

/* ---- the mailbox of a recipient -------------------------------------- */

/* maildir_name_ok - a path component from an address part */
static bool maildir_name_ok(const char *s, size_t n, size_t max)
{
	size_t i;

	if (n == 0 || n > max || s[0] == '.')
		return false;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x20 || c == 0x7f || c == '/' || c == '\\')
			return false;
	}
	return true;
}

int maildir_path(const struct maildir_options *o, const char *rcpt, char *out, size_t outsize,
                 struct sx_err *err)
{
	const char *at;
	size_t ln, dn;
	int n;

	if (o == NULL || o->root == NULL || rcpt == NULL) {
		sx_err_set(err, "maildir: no root or recipient");
		return -1;
	}
	if (o->mode == MAILDIR_SINGLE) {
		n = snprintf(out, outsize, "%s", o->root);
		goto done;
	}
	at = strrchr(rcpt, '@');
	if (at == NULL) {
		sx_err_set(err, "maildir: %s: no domain", rcpt);
		return -1;
	}
	ln = (size_t)(at - rcpt);
	dn = strlen(at + 1);
	if (!maildir_name_ok(rcpt, ln, 64) || !maildir_name_ok(at + 1, dn, 253)) {
		sx_err_set(err, "maildir: %s: cannot name a mailbox", rcpt);
		return -1;
	}
	n = snprintf(out, outsize, "%s/%.*s/%.*s", o->root, (int)dn, at + 1, (int)ln, rcpt);
	if (n > 0 && (size_t)n < outsize)
		str_lower_inplace(out + strlen(o->root));
done:
	if (n < 0 || (size_t)n >= outsize) {
		sx_err_set(err, "maildir: %s: path too long", rcpt);
		return -1;
	}
	return 0;
}

/* maildir_mkdirs - mkdir -p path (0700); 0 or -1 with errno */
static int maildir_mkdirs(const char *path)
{
	char p[MAILDIR_PATH_MAX];
	size_t i, n = strlen(path);

	if (n == 0 || n >= sizeof(p))
		return errno = ENAMETOOLONG, -1;
	memcpy(p, path, n + 1);
	for (i = 1; i <= n; i++) {
		if (p[i] != '/' && p[i] != '\0')
			continue;
		char c = p[i];
		p[i] = '\0';
		if (mkdir(p, 0700) < 0 && errno != EEXIST)
			return -1;
		p[i] = c;
	}
	return 0;
}

/* maildir_prepare - the Maildir and its tmp, new, cur */
static int maildir_prepare(const char *dir)
{
	static const char *const sub[] = { "tmp", "new", "cur" };
	char p[MAILDIR_PATH_MAX];
	size_t i;

	if (maildir_mkdirs(dir) < 0)
		return -1;
	for (i = 0; i < 3; i++) {
		snprintf(p, sizeof(p), "%s/%s", dir, sub[i]);
		if (mkdir(p, 0700) < 0 && errno != EEXIST)
			return -1;
	}
	return 0;
}

/* ---- writing one copy -------------------------------------------------- */

struct maildir_out {
	int fd;
	size_t len;
	uint64_t total;
	int error;              /* errno of the first failure */
	char buf[MAILDIR_WBUF]; /* last: only the members above are cleared */
};

static void maildir_flush(struct maildir_out *w)
{
	size_t off = 0;

	while (w->error == 0 && off < w->len) {
		ssize_t n = write(w->fd, w->buf + off, w->len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			w->error = errno;
		else
			off += (size_t)n;
	}
	w->len = 0;
}

/* maildir_put - bytes with CRLF turned into LF */
static void maildir_put(struct maildir_out *w, const char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (p[i] == '\r' && i + 1 < n && p[i + 1] == '\n')
			continue;
		if (w->len == sizeof(w->buf))
			maildir_flush(w);
		w->buf[w->len++] = p[i];
		w->total++;
	}
}

static void maildir_puts(struct maildir_out *w, const char *s)
{
	maildir_put(w, s, strlen(s));
}

/* maildir_host - the host part of a file name ('/' and ':' escaped) */
static void maildir_host(const struct maildir_options *o, char *out, size_t outsize)
{
	char h[256];
	size_t i, n = 0;

	if (o->hostname != NULL)
		snprintf(h, sizeof(h), "%s", o->hostname);
	else if (gethostname(h, sizeof(h) - 1) < 0)
		snprintf(h, sizeof(h), "localhost");
	h[sizeof(h) - 1] = '\0';
	for (i = 0; h[i] != '\0' && n + 5 < outsize; i++) {
		if (h[i] == '/' || h[i] == ':') {
			n += (size_t)snprintf(out + n, outsize - n, "\\%03o", (unsigned char)h[i]);
		} else {
			out[n++] = h[i];
		}
	}
	out[n] = '\0';
}

/* maildir_write - one copy for rcpt into dir; the file in new/ into
 * where; 0 or -1 with errno */
static int maildir_write(const struct maildir_options *o, const char *dir,
                         const struct spool_entry *e, const char *rcpt, char *where,
                         size_t wheresize)
{
	static unsigned seq;
	struct maildir_out *w;
	char host[300], name[512], tmp[MAILDIR_PATH_MAX], fin[MAILDIR_PATH_MAX];
	const struct spool_envelope *env = &e->env;
	size_t i;
	int dfd, saved;

	maildir_host(o, host, sizeof(host));
	w = malloc(sizeof(*w));
	if (w == NULL)
		return -1;
	memset(w, 0, offsetof(struct maildir_out, buf));
	for (i = 0;; i++) {
		snprintf(name, sizeof(name), "%lld.%ld_%u.%s", (long long)time(NULL),
		         (long)getpid(), ++seq, host);
		snprintf(tmp, sizeof(tmp), "%s/tmp/%s", dir, name);
		w->fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
		if (w->fd >= 0 || errno != EEXIST || i > 16)
			break;
	}
	if (w->fd < 0) {
		saved = errno;
		free(w);
		errno = saved;
		return -1;
	}
	maildir_puts(w, "Return-Path: <");
	maildir_puts(w, env->sender);
	maildir_puts(w, ">\nDelivered-To: ");
	maildir_puts(w, rcpt);
	maildir_puts(w, "\n");
	for (i = 0; i < env->nheaders; i++) {
		maildir_puts(w, env->headers[i]);
		maildir_puts(w, "\n");
	}
	maildir_put(w, e->data, e->len);
	maildir_flush(w);
	if (w->error == 0 && fsync(w->fd) < 0)
		w->error = errno;
	if (close(w->fd) < 0 && w->error == 0)
		w->error = errno;
	snprintf(fin, sizeof(fin), "%s/new/%s,S=%llu", dir, name, (unsigned long long)w->total);
	/* link, not rename: an existing file in new/ is never replaced */
	if (w->error == 0 && link(tmp, fin) < 0)
		w->error = errno;
	unlink(tmp);
	if (w->error == 0) {
		snprintf(tmp, sizeof(tmp), "%s/new", dir);
		dfd = open(tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dfd < 0 || fsync(dfd) < 0)
			w->error = errno;
		if (dfd >= 0)
			close(dfd);
	}
	saved = w->error;
	free(w);
	if (saved != 0) {
		errno = saved;
		return -1;
	}
	snprintf(where, wheresize, "%s", fin);
	return 0;
}

int maildir_deliver_one(const struct maildir_options *o, const struct spool_entry *e,
                        const char *rcpt, char *where, size_t wheresize, struct sx_err *err)
{
	char dir[MAILDIR_PATH_MAX];

	if (maildir_path(o, rcpt, dir, sizeof(dir), err) < 0)
		return -2;
	if (maildir_prepare(dir) < 0 || maildir_write(o, dir, e, rcpt, where, wheresize) < 0) {
		sx_err_set(err, "maildir: %s: %s", dir, strerror(errno));
		return -1;
	}
	return 0;
}

/* ---- entries -------------------------------------------------------- */

int maildir_deliver_entry(struct spool *sp, struct spool_entry *e, const struct maildir_options *o,
                          struct store *st, int64_t now, struct maildir_stats *stats,
                          struct sx_err *err)
{
	struct maildir_stats local = { 0 };
	char dir[MAILDIR_PATH_MAX], where[MAILDIR_PATH_MAX], q[600];
	struct sx_err perr;
	bool changed = false, done = true;
	size_t i;

	if (stats == NULL)
		stats = &local;
	if (sp == NULL || e == NULL || o == NULL || e->where != SPOOL_QUEUE) {
		sx_err_set(err, "maildir: bad arguments");
		return -1;
	}
	stats->entries++;
	for (i = 0; i < e->env.nrcpts; i++) {
		struct spool_rcpt *r = &e->env.rcpts[i];
		if (r->state != SPOOL_RCPT_PENDING)
			continue;
		if (maildir_path(o, r->addr, dir, sizeof(dir), &perr) < 0) {
			r->state = SPOOL_RCPT_FAILED;
			r->done = now;
			changed = true;
			stats->failed++;
			log_warn("maildir event=failed id=%s rcpt=%s error=%s (no DSN: the queue "
			         "manager will send them)",
			         e->id, log_quote(q, sizeof(q), r->addr),
			         log_quote(where, sizeof(where), perr.msg));
			msgtrace_envelope(st, &e->env, STORE_TRACE_FAILED, r->addr, perr.msg, now);
			continue;
		}
		if (maildir_prepare(dir) < 0 ||
		    maildir_write(o, dir, e, r->addr, where, sizeof(where)) < 0) {
			int saved = errno;
			done = false;
			stats->deferred++;
			log_warn("maildir event=deferred id=%s rcpt=%s error=\"%s\"", e->id,
			         log_quote(q, sizeof(q), r->addr), strerror(saved));
			msgtrace_envelope(st, &e->env, STORE_TRACE_DEFERRED, r->addr,
			                  strerror(saved), now);
			continue;
		}
		r->state = SPOOL_RCPT_DELIVERED;
		r->done = now;
		changed = true;
		stats->delivered++;
		log_info("maildir event=delivered id=%s rcpt=%s file=%s", e->id,
		         log_quote(q, sizeof(q), r->addr), where);
		msgtrace_envelope(st, &e->env, STORE_TRACE_DELIVERED, r->addr, where, now);
	}
	if (done) {
		if (spool_entry_remove(sp, SPOOL_QUEUE, e->id, err) < 0)
			return -1;
		stats->removed++;
		return 0;
	}
	if (changed && spool_entry_update(sp, e, &e->env, err) < 0)
		return -1;
	return 0;
}

struct maildir_pass {
	struct spool *sp;
	const struct maildir_options *o;
	struct store *st;
	int64_t now;
	struct maildir_stats *stats;
};

static int maildir_pass_one(const char *id, void *arg)
{
	struct maildir_pass *p = arg;
	struct sx_err err = { 0 };
	struct spool_entry *e = spool_entry_load(p->sp, SPOOL_QUEUE, id, &err);

	if (e == NULL) {
		/* delivered and removed by another run since the scan, or damaged
		 * (recovery at the next start moves it to corrupt/) */
		log_debug("maildir event=skip id=%s error=\"%s\"", id, err.msg);
		return 0;
	}
	if (spool_entry_lock(e) == 1 &&
	    maildir_deliver_entry(p->sp, e, p->o, p->st, p->now, p->stats, &err) < 0)
		log_error("maildir event=entry_failed id=%s error=\"%s\"", id, err.msg);
	spool_entry_free(e);
	return 0;
}

int maildir_deliver_pending(struct spool *sp, const struct maildir_options *o, struct store *st,
                            int64_t now, struct maildir_stats *stats, struct sx_err *err)
{
	struct maildir_stats local = { 0 };
	struct maildir_pass p = { sp, o, st, now, stats ? stats : &local };

	if (sp == NULL || o == NULL) {
		sx_err_set(err, "maildir: no spool or options");
		return -1;
	}
	return spool_scan(sp, SPOOL_QUEUE, maildir_pass_one, &p, err) < 0 ? -1 : 0;
}

/* ---- the gateway's timer ----------------------------------------------- */

struct maildir_timer {
	struct event *ev;
	struct spool *sp;
	const struct maildir_options *o;
	struct store *st;
};

static void maildir_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct maildir_timer *t = arg;
	struct sx_err err = { 0 };

	(void)fd;
	(void)what;
	if (maildir_deliver_pending(t->sp, t->o, t->st, (int64_t)time(NULL), NULL, &err) < 0)
		log_error("maildir event=pass_failed error=\"%s\"", err.msg);
}

struct maildir_timer *maildir_timer_new(struct event_base *base, struct spool *sp,
                                        const struct maildir_options *o, struct store *st,
                                        uint64_t interval_ms)
{
	struct maildir_timer *t = calloc(1, sizeof(*t));
	struct timeval tv = { (time_t)(interval_ms / 1000),
		              (suseconds_t)(interval_ms % 1000) * 1000 };

	if (t == NULL)
		return NULL;
	t->sp = sp;
	t->o = o;
	t->st = st;
	t->ev = event_new(base, -1, EV_PERSIST, maildir_timer_cb, t);
	if (t->ev == NULL || event_add(t->ev, &tv) < 0)
		return maildir_timer_free(t);
	return t;
}

struct maildir_timer *maildir_timer_free(struct maildir_timer *t)
{
	if (t == NULL)
		return NULL;
	if (t->ev != NULL)
		event_free(t->ev);
	free(t);
	return NULL;
}
