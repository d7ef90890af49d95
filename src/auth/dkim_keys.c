/*
 * dkim_keys - DKIM signing keys on disk, their rotation state, their DNS
 * verdicts, and the active signers for the pipeline (see dkim_keys.h)
 *
 * Everything here runs in tools (`smexop dkim init|rotate|status`) or
 * when a worker generation starts; nothing is on a per-message path
 * except dkim_signing_for_domain(), which the pipeline calls once per
 * domain and generation and keeps.
 */
#include "auth/dkim_keys.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "auth/dkim.h"
#include "core/arena.h"
#include "core/buf.h"
#include "core/dns.h"
#include "core/str.h"

#define KEYS_DIR_MODE  0700
#define KEYS_FILE_MODE 0600

const struct config_dkim_signing *dkim_keys_config(const struct smexop_config *cfg,
                                                   const char *domain)
{
	size_t i, n;

	if (cfg == NULL || domain == NULL)
		return NULL;
	n = strlen(domain);
	if (n > 0 && domain[n - 1] == '.')
		n--; /* a fully qualified name is the same domain */
	for (i = 0; i < cfg->dkim.signing.n; i++) {
		const char *d = cfg->dkim.signing.v[i].domain;
		if (str_case_eq_n(d, strlen(d), domain, n))
			return &cfg->dkim.signing.v[i];
	}
	return NULL;
}

char *dkim_keys_dir(const struct config_dkim_signing *c, struct arena *a)
{
	size_t n = strlen(c->key_dir);

	while (n > 1 && c->key_dir[n - 1] == '/')
		n--;
	return arena_printf(a, "%.*s/%s", (int)n, c->key_dir, c->domain);
}

/* ---- files ------------------------------------------------------------ */

/* keys_mkdirs - dir and its missing parents (new ones 0700); 0 or -1 */
static int keys_mkdirs(const char *dir, struct sx_err *err)
{
	char path[4096];
	size_t i, n = strlen(dir);

	if (n == 0 || n >= sizeof(path)) {
		sx_err_set(err, "%s: bad directory name", dir);
		return -1;
	}
	memcpy(path, dir, n + 1);
	for (i = 1; i <= n; i++) {
		if (path[i] != '/' && path[i] != '\0')
			continue;
		path[i] = '\0';
		if (mkdir(path, KEYS_DIR_MODE) < 0 && errno != EEXIST) {
			sx_err_set(err, "%s: cannot create: %s", path, strerror(errno));
			return -1;
		}
		if (i < n)
			path[i] = '/';
	}
	return 0;
}

/* keys_sync_dir - make a rename in dir durable */
static int keys_sync_dir(const char *dir, struct sx_err *err)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0 || fsync(fd) < 0) {
		sx_err_set(err, "%s: cannot sync the directory: %s", dir, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

/* keys_write_tmp - data into a new PATH.tmp.PID (0600), synced; the
 * temporary name (arena), or NULL with err */
static char *keys_write_tmp(struct arena *a, const char *path, const char *data, size_t len,
                            struct sx_err *err)
{
	char *tmp = arena_printf(a, "%s.tmp.%ld", path, (long)getpid());
	size_t off = 0;
	ssize_t w;
	int fd;

	if (tmp == NULL) {
		sx_err_set(err, "out of memory");
		return NULL;
	}
	unlink(tmp); /* a leftover of a crashed run with the same pid */
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, KEYS_FILE_MODE);
	if (fd < 0) {
		sx_err_set(err, "%s: cannot create: %s", tmp, strerror(errno));
		return NULL;
	}
	while (off < len) {
		w = write(fd, data + off, len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			goto fail;
		off += (size_t)w;
	}
	if (fsync(fd) < 0)
		goto fail;
	if (close(fd) < 0) {
		fd = -1;
		goto fail;
	}
	return tmp;
fail:
	sx_err_set(err, "%s: cannot write: %s", tmp, strerror(errno ? errno : EIO));
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	return NULL;
}

/* keys_commit - tmp becomes path: replacing it, or (replace false) only
 * when path does not exist yet; 0 or -1 (tmp is gone either way) */
static int keys_commit(const char *tmp, const char *path, bool replace, struct sx_err *err)
{
	if (replace) {
		if (rename(tmp, path) == 0)
			return 0;
	} else if (link(tmp, path) == 0) {
		unlink(tmp);
		return 0;
	}
	sx_err_set(err, "%s: %s%s", path, strerror(errno),
	           errno == EEXIST ? " (refusing to overwrite)" : "");
	unlink(tmp);
	return -1;
}

/* ---- the state file --------------------------------------------------- */

/* keys_selector - c's own spelling of sel (one of its two), or NULL */
static const char *keys_selector(const struct config_dkim_signing *c, const char *sel, size_t n)
{
	if (str_case_eq_n(sel, n, c->selector, strlen(c->selector)))
		return c->selector;
	if (str_case_eq_n(sel, n, c->next_selector, strlen(c->next_selector)))
		return c->next_selector;
	return NULL;
}

int dkim_keys_state_parse(const struct config_dkim_signing *c, const char *text, size_t len,
                          struct dkim_keys_state *st, struct sx_err *err)
{
	const char *p = text, *end = text + len, *eol, *k, *v, *sel;
	size_t kl, vl;
	unsigned line = 0;
	uint64_t t;
	bool have_active = false;

	memset(st, 0, sizeof(*st));
	st->from_file = true;
	for (; p < end; p = eol + (eol < end)) {
		line++;
		eol = memchr(p, '\n', (size_t)(end - p));
		if (eol == NULL)
			eol = end;
		k = p;
		while (k < eol && (*k == ' ' || *k == '\t' || *k == '\r'))
			k++;
		if (k == eol || *k == '#')
			continue;
		for (kl = 0; k + kl < eol && k[kl] != ' ' && k[kl] != '\t'; kl++)
			;
		v = k + kl;
		while (v < eol && (*v == ' ' || *v == '\t'))
			v++;
		for (vl = 0; v + vl < eol && v[vl] != ' ' && v[vl] != '\t' && v[vl] != '\r'; vl++)
			;
		if (kl == 6 && memcmp(k, "active", 6) == 0) {
			sel = keys_selector(c, v, vl);
			if (sel == NULL) {
				sx_err_at(
				    err, NULL, line, (unsigned)(v - p) + 1,
				    "the active selector '%.*s' is neither '%s' nor '%s' of the "
				    "configuration; fix the configuration or remove the state",
				    (int)(vl > 63 ? 63 : vl), v, c->selector, c->next_selector);
				return -1;
			}
			snprintf(st->active, sizeof(st->active), "%s", sel);
			have_active = true;
		} else if (kl == 7 && memcmp(k, "rotated", 7) == 0) {
			if (str_to_u64(v, vl, 0, INT64_MAX, &t) < 0) {
				sx_err_at(err, NULL, line, (unsigned)(v - p) + 1,
				          "rotated: not a time in seconds");
				return -1;
			}
			st->rotated = (int64_t)t;
		}
		/* other keys: written by a later version; ignored */
	}
	if (!have_active) {
		sx_err_set(err, "no 'active SELECTOR' line");
		return -1;
	}
	return 0;
}

int dkim_keys_state_read(const struct config_dkim_signing *c, struct dkim_keys_state *st,
                         struct sx_err *err)
{
	struct arena *a = arena_new();
	struct buf b;
	char *dir, *path;
	int rc = -1;

	memset(st, 0, sizeof(*st));
	snprintf(st->active, sizeof(st->active), "%s", c->selector);
	if (a == NULL || (dir = dkim_keys_dir(c, a)) == NULL ||
	    (path = arena_printf(a, "%s/state", dir)) == NULL) {
		sx_err_set(err, "out of memory");
		arena_free(a);
		return -1;
	}
	buf_init(&b, DKIM_KEYS_STATE_MAX);
	errno = 0;
	if (access(path, F_OK) < 0 && errno == ENOENT) {
		rc = 0;
	} else if (buf_read_file(&b, path) < 0) {
		sx_err_set(err, "%s: cannot read%s%s", path, errno ? ": " : " (too large)",
		           errno ? strerror(errno) : "");
	} else if (dkim_keys_state_parse(c, b.data ? b.data : "", b.len, st, err) < 0) {
		char msg[sizeof(err->msg)];

		snprintf(msg, sizeof(msg), "%s", err->msg);
		if (err->line > 0)
			sx_err_set(err, "%s:%u:%u: %s", path, err->line, err->col, msg);
		else
			sx_err_set(err, "%s: %s", path, msg);
		err->line = err->col = 0;
	} else {
		rc = 0;
	}
	buf_free(&b);
	arena_free(a);
	return rc;
}

int dkim_keys_state_write(const struct config_dkim_signing *c, const struct dkim_keys_state *st,
                          struct sx_err *err)
{
	struct arena *a = arena_new();
	char *dir, *path, *text, *tmp, iso[32] = "never";
	struct tm tm;
	time_t t = (time_t)st->rotated;
	int rc = -1;

	if (a == NULL || (dir = dkim_keys_dir(c, a)) == NULL ||
	    (path = arena_printf(a, "%s/state", dir)) == NULL) {
		sx_err_set(err, "out of memory");
		goto out;
	}
	if (keys_selector(c, st->active, strlen(st->active)) == NULL) {
		sx_err_set(err, "'%s' is not a selector of %s", st->active, c->domain);
		goto out;
	}
	if (st->rotated > 0 && gmtime_r(&t, &tm) != NULL)
		strftime(iso, sizeof(iso), "%Y-%m-%dT%H:%M:%SZ", &tm);
	text = arena_printf(a,
	                    "# smexop DKIM rotation state of %s: written by `smexop dkim "
	                    "rotate`; the\n# configuration names the selectors, this file "
	                    "says which one signs.\nactive %s\nrotated %lld %s\n",
	                    c->domain, st->active, (long long)st->rotated, iso);
	if (text == NULL) {
		sx_err_set(err, "out of memory");
		goto out;
	}
	if (keys_mkdirs(dir, err) < 0)
		goto out;
	tmp = keys_write_tmp(a, path, text, strlen(text), err);
	if (tmp == NULL || keys_commit(tmp, path, true, err) < 0 || keys_sync_dir(dir, err) < 0)
		goto out;
	rc = 0;
out:
	arena_free(a);
	return rc;
}

const char *dkim_keys_next(const struct config_dkim_signing *c, const struct dkim_keys_state *st)
{
	return strcmp(st->active, c->selector) == 0 ? c->next_selector : c->selector;
}

/* ---- key slots -------------------------------------------------------- */

size_t dkim_keys_slots(const struct config_dkim_signing *c, const char *selector, struct arena *a,
                       struct dkim_keys_slot out[DKIM_KEYS_MAX_SLOTS])
{
	static const enum dkim_key_type types[][2] = {
		[CONFIG_DKIM_RSA] = { DKIM_KEY_RSA, DKIM_KEY_RSA },
		[CONFIG_DKIM_ED25519] = { DKIM_KEY_ED25519, DKIM_KEY_ED25519 },
		[CONFIG_DKIM_DUAL] = { DKIM_KEY_RSA, DKIM_KEY_ED25519 },
	};
	size_t n = c->algorithm == CONFIG_DKIM_DUAL ? 2 : 1, i;
	const char *dir = dkim_keys_dir(c, a);

	/* a copy: callers pass the active name of a state on their stack */
	selector = arena_strdup(a, selector);
	if (dir == NULL || selector == NULL || c->algorithm < 0 || c->algorithm > CONFIG_DKIM_DUAL)
		return 0;
	for (i = 0; i < n; i++) {
		struct dkim_keys_slot *s = &out[i];
		bool ed = types[c->algorithm][i] == DKIM_KEY_ED25519;

		memset(s, 0, sizeof(*s));
		s->domain = c->domain;
		s->selector = selector;
		s->type = types[c->algorithm][i];
		s->dns_selector =
		    i == 1 ? arena_printf(a, "%s" DKIM_KEYS_DUAL_SUFFIX, selector) : selector;
		s->path = arena_printf(a, "%s/%s.%s.pem", dir, selector, ed ? "ed25519" : "rsa");
		if (s->dns_selector == NULL || s->path == NULL)
			return 0;
		s->dns_name = arena_printf(a, "%s._domainkey.%s", s->dns_selector, c->domain);
		if (s->dns_name == NULL)
			return 0;
	}
	return n;
}

/* keys_retired - the slot's retired key, or NULL (none, or unreadable:
 * it only refines a status message) */
static struct evp_pkey_st *keys_retired(const struct dkim_keys_slot *s, struct arena *a)
{
	struct dkim_signer old;
	struct sx_err err = { 0 };
	char *path = arena_printf(a, "%s.retired", s->path);

	if (path == NULL || access(path, F_OK) < 0 ||
	    dkim_signer_load(&old, a, path, s->domain, s->dns_selector, &err) < 0)
		return NULL;
	return old.pkey;
}

int dkim_keys_load(struct dkim_keys_slot *s, struct arena *a, struct sx_err *err)
{
	struct stat sb;

	if (stat(s->path, &sb) < 0) {
		if (errno == ENOENT)
			return 1;
		sx_err_set(err, "%s: %s", s->path, strerror(errno));
		return -1;
	}
	if (dkim_signer_load(&s->signer, a, s->path, s->domain, s->dns_selector, err) < 0)
		return -1;
	if ((s->type == DKIM_KEY_RSA) != (s->signer.alg == DKIM_ALG_RSA_SHA256)) {
		sx_err_set(err, "%s: not an %s key", s->path,
		           s->type == DKIM_KEY_RSA ? "RSA" : "Ed25519");
		s->signer.pkey = NULL;
		return -1;
	}
	s->record = dkim_dns_record(a, s->signer.pkey);
	if (s->record == NULL) {
		sx_err_set(err, "%s: cannot encode the public key", s->path);
		s->signer.pkey = NULL;
		return -1;
	}
	s->mode = (unsigned)(sb.st_mode & 07777);
	s->retired = keys_retired(s, a);
	return 0;
}

/* keys_make - a new key for slot s, written to a temporary file; its
 * name, or NULL with err */
static char *keys_make(const struct config_dkim_signing *c, struct dkim_keys_slot *s,
                       struct arena *a, struct sx_err *err)
{
	struct evp_pkey_st *pk;
	char *pem;

	pk =
	    dkim_keygen(a, s->type == DKIM_KEY_RSA ? "rsa" : "ed25519", (unsigned)c->rsa_bits, err);
	if (pk == NULL)
		return NULL;
	pem = dkim_key_pem(a, pk);
	if (pem == NULL) {
		sx_err_set(err, "cannot encode the new key");
		return NULL;
	}
	return keys_write_tmp(a, s->path, pem, strlen(pem), err);
}

int dkim_keys_init(const struct config_dkim_signing *c, struct arena *a, size_t *made,
                   struct sx_err *err)
{
	struct dkim_keys_slot slots[DKIM_KEYS_MAX_SLOTS];
	const char *sels[2] = { c->selector, c->next_selector };
	char *dir = dkim_keys_dir(c, a), *tmp;
	size_t i, j, n;
	int r;

	*made = 0;
	if (dir == NULL) {
		sx_err_set(err, "out of memory");
		return -1;
	}
	if (keys_mkdirs(dir, err) < 0)
		return -1;
	for (i = 0; i < 2; i++) {
		n = dkim_keys_slots(c, sels[i], a, slots);
		if (n == 0) {
			sx_err_set(err, "out of memory");
			return -1;
		}
		for (j = 0; j < n; j++) {
			r = dkim_keys_load(&slots[j], a, err);
			if (r < 0)
				return -1;
			if (r == 0)
				continue;
			tmp = keys_make(c, &slots[j], a, err);
			if (tmp == NULL || keys_commit(tmp, slots[j].path, false, err) < 0)
				return -1;
			++*made;
		}
	}
	return *made > 0 ? keys_sync_dir(dir, err) : 0;
}

int dkim_keys_rotate(const struct config_dkim_signing *c, struct arena *a, int64_t now,
                     struct dkim_keys_state *st, struct sx_err *err)
{
	struct dkim_keys_slot next[DKIM_KEYS_MAX_SLOTS], old[DKIM_KEYS_MAX_SLOTS];
	struct dkim_keys_state cur;
	char *tmp[DKIM_KEYS_MAX_SLOTS] = { NULL, NULL }, *dir;
	const char *nsel;
	size_t i, n, nold;
	int r, rc = -1;

	if (dkim_keys_state_read(c, &cur, err) < 0)
		return -1;
	nsel = dkim_keys_next(c, &cur);
	dir = dkim_keys_dir(c, a);
	n = dkim_keys_slots(c, nsel, a, next);
	nold = dkim_keys_slots(c, cur.active, a, old);
	if (dir == NULL || n == 0 || nold == 0) {
		sx_err_set(err, "out of memory");
		return -1;
	}
	/* the keys that will sign must be there and load */
	for (i = 0; i < n; i++) {
		r = dkim_keys_load(&next[i], a, err);
		if (r < 0)
			return -1;
		if (r > 0) {
			sx_err_set(err,
			           "%s: the next selector's key is missing (smexop dkim init "
			           "makes it)",
			           next[i].path);
			return -1;
		}
	}
	for (i = 0; i < nold; i++) {
		tmp[i] = keys_make(c, &old[i], a, err);
		if (tmp[i] == NULL)
			goto out;
	}
	memset(st, 0, sizeof(*st));
	snprintf(st->active, sizeof(st->active), "%s", nsel);
	st->rotated = now;
	st->from_file = true;
	if (dkim_keys_state_write(c, st, err) < 0)
		goto out;
	/* from here the rotation has happened: the old keys are only replaced */
	rc = 0;
	for (i = 0; i < nold; i++) {
		char *retired = arena_printf(a, "%s.retired", old[i].path);

		/* kept so that status can tell "not republished yet" from a
		 * stranger's key; a link, so the key path never goes missing */
		if (retired != NULL) {
			unlink(retired);
			if (link(old[i].path, retired) < 0 && errno != ENOENT) {
				sx_err_set(err, "%s: %s", retired, strerror(errno));
				rc = -1;
			}
		}
		if (keys_commit(tmp[i], old[i].path, true, err) < 0)
			rc = -1;
		tmp[i] = NULL;
	}
	if (keys_sync_dir(dir, err) < 0)
		rc = -1;
out:
	for (i = 0; i < nold; i++)
		if (tmp[i] != NULL)
			unlink(tmp[i]);
	return rc;
}

/* ---- DNS verdicts ----------------------------------------------------- */

const char *dkim_keys_level_name(enum dkim_keys_level l)
{
	switch (l) {
	case DKIM_KEYS_OK:
		return "ok";
	case DKIM_KEYS_INFO:
		return "info";
	case DKIM_KEYS_WARN:
		return "warn";
	case DKIM_KEYS_ERROR:
		return "error";
	}
	return "error";
}

static void keys_verdict(struct dkim_keys_verdict *v, enum dkim_keys_level level, const char *code,
                         const char *msg, bool publish)
{
	v->level = level;
	v->code = code;
	v->msg = msg;
	v->publish = publish;
}

void dkim_keys_check(const struct dkim_keys_slot *slot, bool active, const struct dns_answer *ans,
                     struct arena *a, struct dkim_keys_verdict *v)
{
	struct dkim_key key;
	struct evp_pkey_st *pk;
	const char *why = NULL, *role = active ? "active" : "next";
	unsigned bits = 0;
	size_t i;
	bool found = false;

	memset(v, 0, sizeof(*v));
	if (slot->signer.pkey == NULL) {
		keys_verdict(
		    v, DKIM_KEYS_ERROR, "nokey",
		    arena_printf(a, "no key file %s (smexop dkim init makes it)", slot->path),
		    false);
		return;
	}
	if (ans == NULL || ans->status == DNS_NXDOMAIN || ans->status == DNS_NODATA) {
		keys_verdict(v, active ? DKIM_KEYS_ERROR : DKIM_KEYS_WARN, "missing",
		             active ? "not published: receivers cannot verify our signatures"
		                    : "not published yet: publish it before the next rotation",
		             true);
		return;
	}
	if (ans->status != DNS_OK) {
		keys_verdict(v, DKIM_KEYS_ERROR, "dns",
		             arena_printf(a, "cannot tell: the lookup failed (%s%s%s)",
		                          dns_status_name(ans->status), ans->why ? ": " : "",
		                          ans->why ? ans->why : ""),
		             false);
		return;
	}
	/* the first record that parses, as verifiers do */
	for (i = 0; i < ans->count && !found; i++) {
		if (ans->rr[i].type != DNS_T_TXT)
			continue;
		if (dkim_key_parse(&key, a, ans->rr[i].u.txt.data, ans->rr[i].u.txt.len, &why) == 0)
			found = true;
	}
	if (!found) {
		keys_verdict(v, DKIM_KEYS_ERROR, "badrecord",
		             arena_printf(a, "the published record is not a DKIM key (%s)",
		                          why ? why : "no TXT record"),
		             true);
		return;
	}
	if (key.revoked) {
		keys_verdict(v, active ? DKIM_KEYS_ERROR : DKIM_KEYS_INFO, "revoked",
		             active ? "revoked (p= is empty): our signatures fail"
		                    : "revoked (p= is empty): publish the new key before the next "
		                      "rotation",
		             true);
		return;
	}
	pk = dkim_key_pkey(&key, a, &bits, &why);
	if (pk == NULL) {
		keys_verdict(v, DKIM_KEYS_ERROR, "badrecord",
		             arena_printf(a, "the published key does not decode (%s)",
		                          why ? why : "bad key data"),
		             true);
		return;
	}
	v->dns_bits = bits;
	if (key.type == DKIM_KEY_RSA && bits < DKIM_MIN_RSA_BITS) {
		keys_verdict(v, DKIM_KEYS_ERROR, "small",
		             arena_printf(a,
		                          "the published RSA key has %u bits; receivers refuse "
		                          "keys under %u (RFC 8301)",
		                          bits, (unsigned)DKIM_MIN_RSA_BITS),
		             true);
		return;
	}
	if (EVP_PKEY_eq(pk, slot->signer.pkey) != 1 && !active && slot->retired != NULL &&
	    EVP_PKEY_eq(pk, slot->retired) == 1) {
		keys_verdict(v, DKIM_KEYS_WARN, "retired",
		             "still the key retired at the last rotation: publish the new one "
		             "before the next rotation",
		             true);
		return;
	}
	if (EVP_PKEY_eq(pk, slot->signer.pkey) != 1) {
		keys_verdict(v, DKIM_KEYS_ERROR, "mismatch",
		             arena_printf(a,
		                          "another key is published there: the %s key would "
		                          "not verify",
		                          role),
		             true);
		return;
	}
	v->matches = true;
	if ((key.has_h && !key.h_sha256) || !key.email) {
		keys_verdict(v, DKIM_KEYS_ERROR, "badrecord",
		             key.email ? "the record's h= does not allow sha256"
		                       : "the record's s= does not cover email",
		             true);
		return;
	}
	if (key.testing) {
		keys_verdict(v, DKIM_KEYS_WARN, "testing",
		             "t=y is still on: receivers treat failures as unsigned; remove it",
		             true);
		return;
	}
	if ((slot->mode & 077) != 0) {
		keys_verdict(v, DKIM_KEYS_WARN, "filemode",
		             arena_printf(a, "published; but %s is mode %04o (should be 0600)",
		                          slot->path, slot->mode),
		             false);
		return;
	}
	keys_verdict(v, DKIM_KEYS_OK, "ok", "published and matches our key", false);
}

char *dkim_keys_zone_line(struct arena *a, const char *name, const char *record)
{
	struct buf b;
	size_t len = strlen(record), off;
	char *out = NULL;

	buf_init(&b, BUF_CAP_SPF_RECORD);
	if (buf_printf(&b, "%s. IN TXT (", name) < 0)
		goto out;
	for (off = 0; off < len; off += 255)
		if (buf_printf(&b, " \"%.*s\"", (int)(len - off > 255 ? 255 : len - off),
		               record + off) < 0)
			goto out;
	if (buf_puts(&b, " )") < 0)
		goto out;
	out = arena_strndup(a, b.data, b.len);
out:
	buf_free(&b);
	return out;
}

/* ---- the pipeline ----------------------------------------------------- */

int dkim_signing_options(const struct config_dkim_signing *c, struct arena *a,
                         struct dkim_sign_options *o, struct sx_err *err)
{
	static const enum dkim_canon canons[][2] = {
		[CONFIG_DKIM_RELAXED_RELAXED] = { DKIM_CANON_RELAXED, DKIM_CANON_RELAXED },
		[CONFIG_DKIM_RELAXED_SIMPLE] = { DKIM_CANON_RELAXED, DKIM_CANON_SIMPLE },
		[CONFIG_DKIM_SIMPLE_RELAXED] = { DKIM_CANON_SIMPLE, DKIM_CANON_RELAXED },
		[CONFIG_DKIM_SIMPLE_SIMPLE] = { DKIM_CANON_SIMPLE, DKIM_CANON_SIMPLE },
	};
	const char **h;
	size_t i;

	dkim_sign_options_init(o);
	if (c->headers.n > 0) {
		h = arena_array(a, c->headers.n + 1, sizeof(*h));
		if (h == NULL) {
			sx_err_set(err, "out of memory");
			return -1;
		}
		for (i = 0; i < c->headers.n; i++)
			h[i] = c->headers.v[i];
		h[i] = NULL;
		o->headers = h;
	}
	if (c->canonicalization >= 0 && c->canonicalization <= CONFIG_DKIM_SIMPLE_SIMPLE) {
		o->hcanon = canons[c->canonicalization][0];
		o->bcanon = canons[c->canonicalization][1];
	}
	/* x= counts seconds: a part of one rounds up, never to "no x=" */
	o->expire = (c->expire_ms + 999) / 1000;
	return 0;
}

int dkim_signing_for_domain(const struct smexop_config *cfg, const char *domain, struct arena *a,
                            struct dkim_signing *out, struct sx_err *err)
{
	const struct config_dkim_signing *c = dkim_keys_config(cfg, domain);
	struct dkim_keys_slot slots[DKIM_KEYS_MAX_SLOTS];
	struct dkim_keys_state st;
	size_t i, n;
	int r;

	memset(out, 0, sizeof(*out));
	if (c == NULL || !c->enabled)
		return 0;
	if (dkim_keys_state_read(c, &st, err) < 0)
		return -1;
	n = dkim_keys_slots(c, st.active, a, slots);
	if (n == 0) {
		sx_err_set(err, "out of memory");
		return -1;
	}
	for (i = 0; i < n; i++) {
		r = dkim_keys_load(&slots[i], a, err);
		if (r > 0)
			sx_err_set(err, "%s: the active key of %s is missing (smexop dkim init)",
			           slots[i].path, c->domain);
		if (r != 0)
			return -1;
		out->signers[i] = slots[i].signer;
	}
	out->nsigners = n;
	out->conf = c;
	out->selector = slots[0].selector;
	return dkim_signing_options(c, a, &out->opts, err) < 0 ? -1 : 1;
}

int dkim_signing_remote(const struct smexop_config *cfg, const char *domain,
                        const struct dkim_sign_remote *remote, struct arena *a,
                        struct dkim_signing *out, struct sx_err *err)
{
	const struct config_dkim_signing *c = dkim_keys_config(cfg, domain);
	struct dkim_remote_key keys[DKIM_KEYS_MAX_SLOTS];
	char active[64];
	size_t i, n = 0;
	int r;

	memset(out, 0, sizeof(*out));
	if (c == NULL || !c->enabled)
		return 0;
	if (remote == NULL || remote->keys == NULL) {
		sx_err_set(err, "no remote signer");
		return -1;
	}
	memset(keys, 0, sizeof(keys));
	active[0] = '\0';
	r = remote->keys(remote->ctx, c->domain, active, keys, &n, err);
	if (r < 0)
		return -1;
	if (r == 0 || n == 0 || n > DKIM_KEYS_MAX_SLOTS) {
		sx_err_set(err, "the key holder has no active key of %s", c->domain);
		return -1;
	}
	for (i = 0; i < n; i++) {
		char *sel = arena_strdup(a, keys[i].selector);

		if (sel == NULL) {
			sx_err_set(err, "out of memory");
			return -1;
		}
		if (dkim_signer_remote(&out->signers[i], remote, keys[i].alg, keys[i].bits,
		                       c->domain, sel, err) < 0)
			return -1;
	}
	out->nsigners = n;
	out->conf = c;
	out->selector = arena_strdup(a, active);
	if (out->selector == NULL) {
		sx_err_set(err, "out of memory");
		return -1;
	}
	return dkim_signing_options(c, a, &out->opts, err) < 0 ? -1 : 1;
}
