/*
 * directory - recipient lookup and edge blocking (see directory.h)
 *
 * The file backend is an open-addressing hash table of normalised keys
 * with their targets, strings in one arena; it doubles when half full.
 */
#include "filter/directory.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/config.h"
#include "core/str.h"

struct directory {
	const struct directory_ops *ops;
	void *ctx;
	char sep[DIRECTORY_MAX_SEP + 1];
	bool case_sensitive;
	size_t (*count)(void *ctx); /* file backend only */
};

struct directory *directory_new(const struct directory_ops *ops, void *ctx, const char *sep,
                                bool case_sensitive)
{
	struct directory *d = calloc(1, sizeof(*d));

	if (d == NULL)
		return NULL;
	d->ops = ops;
	d->ctx = ctx;
	snprintf(d->sep, sizeof(d->sep), "%s", sep ? sep : "");
	d->case_sensitive = case_sensitive;
	return d;
}

struct directory *directory_free(struct directory *d)
{
	if (d == NULL)
		return NULL;
	if (d->ops != NULL && d->ops->free != NULL)
		d->ops->free(d->ctx);
	free(d);
	return NULL;
}

/* directory_norm - "local@domain" into out (size DIRECTORY_MAX_ADDRESS + 2)
 * with the domain, and unless cs the local part, in lower case; -1 when
 * too long */
static int directory_norm(const char *local, size_t llen, const char *domain, size_t dlen, bool cs,
                          char *out)
{
	size_t i, k = 0;

	while (dlen > 0 && domain[dlen - 1] == '.')
		dlen--;
	if (llen + 1 + dlen > DIRECTORY_MAX_ADDRESS)
		return -1;
	for (i = 0; i < llen; i++)
		out[k++] = cs ? local[i] : (char)str_lower((unsigned char)local[i]);
	out[k++] = '@';
	for (i = 0; i < dlen; i++)
		out[k++] = (char)str_lower((unsigned char)domain[i]);
	out[k] = '\0';
	return 0;
}

/* directory_split - local and domain of "local@domain" (at the last @) */
static int directory_split(const char *s, size_t n, size_t *llen, const char **domain, size_t *dlen)
{
	const char *at = NULL;
	size_t i;

	for (i = 0; i < n; i++) {
		if (s[i] == '@')
			at = s + i;
		else if ((unsigned char)s[i] <= ' ' || s[i] == 0x7f)
			return -1;
	}
	if (at == NULL)
		return -1;
	*llen = (size_t)(at - s);
	*domain = at + 1;
	*dlen = n - *llen - 1;
	if (*dlen == 0 || memchr(*domain, '@', *dlen) != NULL || (*domain)[0] == '.')
		return -1;
	return 0;
}

int directory_lookup(const struct directory *d, const char *address, struct directory_result *out)
{
	size_t n, llen, dlen, cut;
	const char *domain;
	const char *target = NULL;

	memset(out, 0, sizeof(*out));
	out->status = DIRECTORY_NOT_FOUND;
	if (d == NULL || address == NULL)
		return -1;
	n = strlen(address);
	if (n > DIRECTORY_MAX_ADDRESS || directory_split(address, n, &llen, &domain, &dlen) < 0 ||
	    llen == 0)
		return -1;
	/* 1. as given */
	if (directory_norm(address, llen, domain, dlen, d->case_sensitive, out->buf) < 0)
		return -1;
	out->status = d->ops->lookup(d->ctx, out->buf, &target);
	if (out->status != DIRECTORY_NOT_FOUND)
		goto done;
	/* 2. without the sub-address */
	cut = d->sep[0] != '\0' ? strcspn(address, d->sep) : llen;
	if (cut > 0 && cut < llen) {
		directory_norm(address, cut, domain, dlen, d->case_sensitive, out->buf);
		out->status = d->ops->lookup(d->ctx, out->buf, &target);
		out->subaddress = out->status == DIRECTORY_FOUND;
		if (out->status != DIRECTORY_NOT_FOUND)
			goto done;
	}
	/* 3. the catch-all */
	directory_norm("", 0, domain, dlen, d->case_sensitive, out->buf);
	out->status = d->ops->lookup(d->ctx, out->buf, &target);
	out->catch_all = out->status == DIRECTORY_FOUND;
done:
	if (out->status == DIRECTORY_FOUND) {
		out->key = out->buf;
		out->target = target != NULL ? target : out->buf;
	}
	return 0;
}

/* ---- the file backend ----------------------------------------------- */

struct dfile_slot {
	const char *key;
	const char *target; /* NULL: the key itself */
	uint64_t hash;
};

struct dfile {
	struct arena *arena;
	struct dfile_slot *slots;
	size_t mask, n;
};

static uint64_t dfile_hash(const char *s)
{
	uint64_t h = 1469598103934665603ull;

	for (; *s != '\0'; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ull;
	}
	return h;
}

static struct dfile_slot *dfile_find(const struct dfile *f, const char *key, uint64_t h)
{
	size_t i = (size_t)h & f->mask;

	for (;;) {
		struct dfile_slot *s = &f->slots[i];
		if (s->key == NULL || (s->hash == h && strcmp(s->key, key) == 0))
			return s;
		i = (i + 1) & f->mask;
	}
}

static int dfile_grow(struct dfile *f)
{
	size_t size = (f->mask + 1) * 2, i;
	struct dfile_slot *old = f->slots, *nw = calloc(size, sizeof(*nw));
	size_t oldsize = f->mask + 1;

	if (nw == NULL)
		return -1;
	f->slots = nw;
	f->mask = size - 1;
	for (i = 0; i < oldsize; i++)
		if (old[i].key != NULL)
			*dfile_find(f, old[i].key, old[i].hash) = old[i];
	free(old);
	return 0;
}

static enum directory_status dfile_lookup(void *ctx, const char *key, const char **target)
{
	const struct dfile *f = ctx;
	const struct dfile_slot *s = dfile_find(f, key, dfile_hash(key));

	if (s->key == NULL)
		return DIRECTORY_NOT_FOUND;
	*target = s->target;
	return DIRECTORY_FOUND;
}

static void dfile_free(void *ctx)
{
	struct dfile *f = ctx;

	if (f == NULL)
		return;
	arena_free(f->arena);
	free(f->slots);
	free(f);
}

static size_t dfile_count(void *ctx)
{
	return ((struct dfile *)ctx)->n;
}

static const struct directory_ops dfile_ops = {
	.lookup = dfile_lookup,
	.free = dfile_free,
};

/* dfile_line - one line; 0 (added or nothing to add) or -1 with err */
static int dfile_line(struct dfile *f, bool cs, const char *name, unsigned line, const char *s,
                      size_t n, struct sx_err *err)
{
	size_t i = 0, k0, k1, t0 = 0, t1 = 0, llen, dlen;
	const char *domain, *colon;
	char key[DIRECTORY_MAX_ADDRESS + 2], target[DIRECTORY_MAX_ADDRESS + 2];
	struct dfile_slot *slot;
	uint64_t h;

	while (i < n && (s[i] == ' ' || s[i] == '\t'))
		i++;
	while (n > i && str_is_space((unsigned char)s[n - 1]))
		n--;
	if (i == n || s[i] == '#')
		return 0;
	if (memchr(s, '\0', n) != NULL) {
		sx_err_at(err, name, line, 1, "NUL byte in the line");
		return -1;
	}
	/* a comment after the entry needs a blank before it ("a#b@" is an address) */
	for (k1 = i; k1 < n; k1++)
		if (s[k1] == '#' && (s[k1 - 1] == ' ' || s[k1 - 1] == '\t'))
			break;
	n = k1;
	while (n > i && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	k0 = i;
	colon = memchr(s + i, ':', n - i);
	k1 = colon ? (size_t)(colon - s) : n;
	while (k1 > k0 && (s[k1 - 1] == ' ' || s[k1 - 1] == '\t'))
		k1--;
	if (colon != NULL) {
		t0 = (size_t)(colon - s) + 1;
		while (t0 < n && (s[t0] == ' ' || s[t0] == '\t'))
			t0++;
		t1 = n;
		if (t0 == t1) {
			sx_err_at(err, name, line, (unsigned)t0 + 1,
			          "a target address is missing "
			          "after ':'");
			return -1;
		}
	}
	if (k1 - k0 > DIRECTORY_MAX_ADDRESS ||
	    directory_split(s + k0, k1 - k0, &llen, &domain, &dlen) < 0 ||
	    directory_norm(s + k0, llen, domain, dlen, cs, key) < 0) {
		sx_err_at(err, name, line, (unsigned)k0 + 1,
		          "not an address, alias or @domain catch-all: '%.*s'",
		          (int)(k1 - k0 > 80 ? 80 : k1 - k0), s + k0);
		return -1;
	}
	if (colon != NULL) {
		size_t tl, td;
		const char *tdom;
		if (t1 - t0 > DIRECTORY_MAX_ADDRESS ||
		    directory_split(s + t0, t1 - t0, &tl, &tdom, &td) < 0 || tl == 0) {
			sx_err_at(err, name, line, (unsigned)t0 + 1,
			          "the target is not an address: '%.*s'",
			          (int)(t1 - t0 > 80 ? 80 : t1 - t0), s + t0);
			return -1;
		}
		/* targets keep their local part as written (they go to another
		 * system); the domain is folded */
		directory_norm(s + t0, tl, tdom, td, true, target);
	}
	if (f->n >= DIRECTORY_MAX_ENTRIES) {
		sx_err_at(err, name, line, 1, "more than %d entries", DIRECTORY_MAX_ENTRIES);
		return -1;
	}
	if ((f->n + 1) * 2 > f->mask + 1 && dfile_grow(f) < 0) {
		sx_err_at(err, name, line, 1, "out of memory");
		return -1;
	}
	h = dfile_hash(key);
	slot = dfile_find(f, key, h);
	if (slot->key != NULL)
		return 0; /* the first entry wins */
	slot->key = arena_strdup(f->arena, key);
	slot->target = colon != NULL ? arena_strdup(f->arena, target) : NULL;
	slot->hash = h;
	if (slot->key == NULL || (colon != NULL && slot->target == NULL)) {
		slot->key = NULL;
		sx_err_at(err, name, line, 1, "out of memory");
		return -1;
	}
	f->n++;
	return 0;
}

struct directory *directory_load_text(const char *name, const char *text, size_t len,
                                      const char *sep, bool case_sensitive, struct sx_err *err)
{
	struct dfile *f = calloc(1, sizeof(*f));
	struct directory *d;
	size_t pos = 0;
	unsigned line = 0;

	if (f == NULL || (f->arena = arena_new()) == NULL ||
	    (f->slots = calloc(64, sizeof(*f->slots))) == NULL) {
		dfile_free(f);
		sx_err_set(err, "out of memory");
		return NULL;
	}
	f->mask = 63;
	while (pos < len) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t end = nl ? (size_t)(nl - text) : len;
		line++;
		if (end - pos > BUF_CAP_LINE) {
			sx_err_at(err, name, line, BUF_CAP_LINE + 1, "line longer than %u bytes",
			          (unsigned)BUF_CAP_LINE);
			dfile_free(f);
			return NULL;
		}
		if (dfile_line(f, case_sensitive, name, line, text + pos, end - pos, err) < 0) {
			dfile_free(f);
			return NULL;
		}
		pos = end + 1;
	}
	d = directory_new(&dfile_ops, f, sep, case_sensitive);
	if (d == NULL) {
		dfile_free(f);
		sx_err_set(err, "out of memory");
		return NULL;
	}
	d->count = dfile_count;
	return d;
}

struct directory *directory_load_file(const char *path, const char *sep, bool case_sensitive,
                                      struct sx_err *err)
{
	struct buf b;
	struct directory *d;

	buf_init(&b, BUF_CAP_FILE * 4);
	if (buf_read_file(&b, path) < 0) {
		sx_err_at(err, path, 0, 0,
		          "cannot read the file (missing, unreadable, or over %u MB)",
		          (unsigned)((BUF_CAP_FILE * 4) >> 20));
		buf_free(&b);
		return NULL;
	}
	d = directory_load_text(path, b.data, b.len, sep, case_sensitive, err);
	buf_free(&b);
	return d;
}

struct directory *directory_from_config(const struct config_directory *c, struct sx_err *err)
{
	err->msg[0] = '\0';
	if (c->file == NULL)
		return NULL;
	return directory_load_file(c->file, c->subaddress_separator, c->case_sensitive_local, err);
}

size_t directory_count(const struct directory *d)
{
	return d == NULL || d->count == NULL ? 0 : d->count(d->ctx);
}

int directory_foreach(const struct directory *d,
                      int (*cb)(const char *key, const char *target, void *arg), void *arg)
{
	const struct dfile *f;
	size_t i;
	int rc;

	if (d == NULL || d->ops != &dfile_ops || cb == NULL)
		return 0;
	f = d->ctx;
	for (i = 0; i <= f->mask; i++)
		if (f->slots[i].key != NULL &&
		    (rc = cb(f->slots[i].key, f->slots[i].target, arg)) != 0)
			return rc;
	return 0;
}

/* ---- the union backend ------------------------------------------------ */

struct dunion {
	struct directory *member[DIRECTORY_UNION_MAX];
};

static enum directory_status dunion_lookup(void *ctx, const char *key, const char **target)
{
	struct dunion *u = ctx;
	enum directory_status st = DIRECTORY_NOT_FOUND, r;
	size_t i;

	for (i = 0; i < DIRECTORY_UNION_MAX; i++) {
		const struct directory *d = u->member[i];

		if (d == NULL)
			continue;
		r = d->ops->lookup(d->ctx, key, target);
		if (r == DIRECTORY_FOUND)
			return r;
		if (r == DIRECTORY_TEMPFAIL)
			st = r;
	}
	return st;
}

static void dunion_free(void *ctx)
{
	struct dunion *u = ctx;
	size_t i;

	if (u == NULL)
		return;
	for (i = 0; i < DIRECTORY_UNION_MAX; i++)
		directory_free(u->member[i]);
	free(u);
}

static const struct directory_ops dunion_ops = {
	.lookup = dunion_lookup,
	.free = dunion_free,
};

struct directory *directory_union_new(const char *sep, bool case_sensitive)
{
	struct dunion *u = calloc(1, sizeof(*u));
	struct directory *d;

	if (u == NULL)
		return NULL;
	d = directory_new(&dunion_ops, u, sep, case_sensitive);
	if (d == NULL)
		free(u);
	return d;
}

int directory_union_set(struct directory *u, size_t i, struct directory *d)
{
	struct dunion *du;

	if (u == NULL || u->ops != &dunion_ops || i >= DIRECTORY_UNION_MAX)
		return -1;
	du = u->ctx;
	directory_free(du->member[i]);
	du->member[i] = d;
	return 0;
}

bool directory_union_active(const struct directory *u)
{
	const struct dunion *du;
	size_t i;

	if (u == NULL || u->ops != &dunion_ops)
		return false;
	du = u->ctx;
	for (i = 0; i < DIRECTORY_UNION_MAX; i++)
		if (du->member[i] != NULL)
			return true;
	return false;
}

/* ---- the stage 2 verdict -------------------------------------------- */

static void edge_set(struct edge_result *out, enum edge_verdict v, enum edge_reason r,
                     const char *reply)
{
	out->verdict = v;
	out->reason = r;
	snprintf(out->reply, sizeof(out->reply), "%s", reply ? reply : "");
}

void directory_edge_check(const struct domains *domains, const struct directory *dir,
                          const char *rcpt, bool relay_allowed, struct edge_result *out)
{
	size_t n, llen, dlen;
	const char *domain;

	memset(out, 0, sizeof(*out));
	n = rcpt ? strlen(rcpt) : 0;
	if (n == 0 || n > DIRECTORY_MAX_ADDRESS ||
	    directory_split(rcpt, n, &llen, &domain, &dlen) < 0 || llen == 0) {
		edge_set(out, EDGE_REJECT, EDGE_R_BAD_ADDRESS,
		         "501 5.1.3 Bad recipient address syntax");
		return;
	}
	out->domain = domains_match(domains, domain, dlen);
	if (out->domain == NULL) {
		if (relay_allowed)
			edge_set(out, EDGE_ACCEPT, EDGE_R_RELAY, NULL);
		else
			edge_set(
			    out, EDGE_REJECT, EDGE_R_RELAY_DENIED,
			    "550 5.7.54 SMTP; Unable to relay recipient in non-accepted domain");
		return;
	}
	if (dir != NULL) {
		directory_lookup(dir, rcpt, &out->dir);
		out->known = out->dir.status == DIRECTORY_FOUND;
		if (out->dir.status == DIRECTORY_TEMPFAIL) {
			edge_set(out, EDGE_TEMPFAIL, EDGE_R_DIRECTORY_FAIL,
			         "451 4.3.0 Directory lookup failed, try again later");
			return;
		}
	}
	if (out->domain->type == DOMAIN_INTERNAL_RELAY)
		edge_set(out, EDGE_ACCEPT, EDGE_R_INTERNAL_RELAY, NULL);
	else if (dir == NULL)
		edge_set(out, EDGE_ACCEPT, EDGE_R_NO_DIRECTORY, NULL);
	else if (out->known)
		edge_set(out, EDGE_ACCEPT, EDGE_R_KNOWN, NULL);
	else
		edge_set(out, EDGE_REJECT, EDGE_R_UNKNOWN,
		         "550 5.4.1 Recipient address rejected: Access denied");
}

const char *edge_verdict_name(enum edge_verdict v)
{
	switch (v) {
	case EDGE_ACCEPT:
		return "accept";
	case EDGE_REJECT:
		return "reject";
	case EDGE_TEMPFAIL:
		return "tempfail";
	}
	return "?";
}

const char *edge_reason_name(enum edge_reason r)
{
	static const char *const names[] = {
		[EDGE_R_KNOWN] = "known",
		[EDGE_R_NO_DIRECTORY] = "no_directory",
		[EDGE_R_INTERNAL_RELAY] = "internal_relay",
		[EDGE_R_RELAY] = "relay",
		[EDGE_R_UNKNOWN] = "unknown_recipient",
		[EDGE_R_RELAY_DENIED] = "relay_denied",
		[EDGE_R_DIRECTORY_FAIL] = "directory_failure",
		[EDGE_R_BAD_ADDRESS] = "bad_address",
	};

	return (size_t)r < sizeof(names) / sizeof(names[0]) ? names[r] : "?";
}
