/*
 * dkim_canon - header and body canonicalisation, and the per-message body
 * hashes
 */
#include <openssl/evp.h>
#include <string.h>

#include "auth/dkim_canon.h"
#include "core/arena.h"
#include "core/str.h"

static bool wsp(int c)
{
	return c == ' ' || c == '\t';
}

/* ---- headers ---------------------------------------------------------- */

/* simple: the bytes as they are, with a bare LF written as CRLF */
static void header_simple(const char *raw, size_t len, dkim_sink sink, void *ctx)
{
	size_t i, start = 0;

	for (i = 0; i < len; i++) {
		if (raw[i] != '\n' || (i > 0 && raw[i - 1] == '\r'))
			continue;
		if (i > start)
			sink(ctx, raw + start, i - start);
		sink(ctx, "\r\n", 2);
		start = i + 1;
	}
	if (len > start)
		sink(ctx, raw + start, len - start);
}

/*
 * relaxed (RFC 6376 3.4.2): lower-case name, unfold, runs of WSP to one
 * SP, no WSP at the end of the value nor around the colon
 */
static void header_relaxed(const char *raw, size_t len, dkim_sink sink, void *ctx)
{
	const char *colon = memchr(raw, ':', len);
	size_t nlen = colon == NULL ? len : (size_t)(colon - raw);
	size_t i, start;
	char lower[64];
	bool pending = false, any = false;

	while (nlen > 0 && wsp((unsigned char)raw[nlen - 1]))
		nlen--;
	for (i = 0; i < nlen;) {
		size_t n = 0;
		while (n < sizeof(lower) && i < nlen)
			lower[n++] = (char)str_lower((unsigned char)raw[i++]);
		sink(ctx, lower, n);
	}
	if (colon == NULL)
		return;
	sink(ctx, ":", 1);
	i = (size_t)(colon - raw) + 1;
	start = i;
	while (i < len) {
		unsigned char c = (unsigned char)raw[i];

		if (c == '\r' && i + 1 < len && raw[i + 1] == '\n') {
			pending = true; /* unfold; the WSP after it starts a run */
			i += 2;
			continue;
		}
		if (c == '\n' || wsp(c)) {
			pending = true;
			i++;
			continue;
		}
		/* copy a run of ordinary bytes at once */
		start = i;
		while (i < len && !wsp((unsigned char)raw[i]) && raw[i] != '\n' &&
		       !(raw[i] == '\r' && i + 1 < len && raw[i + 1] == '\n'))
			i++;
		if (pending && any)
			sink(ctx, " ", 1);
		pending = false;
		any = true;
		sink(ctx, raw + start, i - start);
	}
}

void dkim_canon_header(enum dkim_canon c, const char *raw, size_t len, bool crlf, dkim_sink sink,
                       void *ctx)
{
	if (c == DKIM_CANON_RELAXED)
		header_relaxed(raw, len, sink, ctx);
	else
		header_simple(raw, len, sink, ctx);
	if (crlf)
		sink(ctx, "\r\n", 2);
}

/* ---- body ------------------------------------------------------------- */

static const char crlfs[] = "\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n";

static void stage_flush(struct dkim_body_canon *c)
{
	if (c->staged > 0)
		c->sink(c->ctx, c->stage, c->staged);
	c->staged = 0;
}

static void out(struct dkim_body_canon *c, const void *p, size_t n)
{
	c->out_len += n;
	if (n > sizeof(c->stage) - c->staged) {
		stage_flush(c);
		if (n >= sizeof(c->stage)) {
			c->sink(c->ctx, p, n);
			return;
		}
	}
	memcpy(c->stage + c->staged, p, n);
	c->staged += n;
}

/* flush - data follows: the empty lines seen so far are part of the body */
static void flush_empty(struct dkim_body_canon *c)
{
	while (c->empty_lines > 0) {
		uint64_t n = c->empty_lines > 16 ? 16 : c->empty_lines;
		out(c, crlfs, (size_t)n * 2);
		c->empty_lines -= n;
	}
}

static void data(struct dkim_body_canon *c, const char *p, size_t n)
{
	flush_empty(c);
	if (c->wsp) /* relaxed: a run of WSP, also a leading one, is one SP */
		out(c, " ", 1);
	c->wsp = false;
	c->line_data = true;
	out(c, p, n);
}

static void end_line(struct dkim_body_canon *c)
{
	if (c->mode == DKIM_CANON_RELAXED)
		c->wsp = false; /* trailing WSP is dropped */
	if (c->line_data)
		out(c, "\r\n", 2);
	else
		c->empty_lines++;
	c->line_data = false;
}

void dkim_body_canon_init(struct dkim_body_canon *c, enum dkim_canon mode, dkim_sink sink,
                          void *ctx)
{
	memset(c, 0, sizeof(*c));
	c->mode = mode;
	c->sink = sink;
	c->ctx = ctx;
}

void dkim_body_canon_feed(struct dkim_body_canon *c, const char *p, size_t n)
{
	size_t i = 0;
	bool relaxed = c->mode == DKIM_CANON_RELAXED;

	while (i < n) {
		unsigned char ch = (unsigned char)p[i];

		if (c->cr) {
			c->cr = false;
			if (ch == '\n') {
				end_line(c);
				i++;
				continue;
			}
			data(c, "\r", 1); /* a lone CR is data */
		}
		if (ch == '\r') {
			c->cr = true;
			i++;
		} else if (ch == '\n') {
			end_line(c);
			i++;
		} else if (relaxed && wsp(ch)) {
			c->wsp = true;
			i++;
		} else {
			size_t s = i;
			while (i < n && p[i] != '\r' && p[i] != '\n' &&
			       !(relaxed && wsp((unsigned char)p[i])))
				i++;
			data(c, p + s, i - s);
		}
	}
}

void dkim_body_canon_end(struct dkim_body_canon *c)
{
	if (c->cr) {
		c->cr = false;
		data(c, "\r", 1);
	}
	if (c->line_data)
		end_line(c);
	c->empty_lines = 0; /* trailing empty lines are not part of the body */
	if (c->mode == DKIM_CANON_SIMPLE && c->out_len == 0)
		out(c, "\r\n", 2); /* an empty body is one CRLF in simple */
	stage_flush(c);
}

/* ---- body hashes ------------------------------------------------------ */

struct body_hash {
	enum dkim_canon canon;
	bool has_l;
	uint64_t l;
	enum dkim_hash hash;
	EVP_MD_CTX *md;
	uint64_t hashed;
	uint8_t digest[EVP_MAX_MD_SIZE];
	unsigned digest_len;
	bool failed;
};

/* the canonicalisers' sinks carry their mode in a small context */
struct sink_ctx {
	struct dkim_body_hashes *h;
	enum dkim_canon mode;
};

struct dkim_body_hashes {
	struct body_hash e[DKIM_BODY_HASHES_MAX];
	struct sink_ctx sc[2];
	int n;
	struct dkim_body_canon canon[2]; /* simple, relaxed */
	bool used[2];
	bool ended;
};

static void hashes_cleanup(void *arg)
{
	struct dkim_body_hashes *h = arg;
	int i;

	for (i = 0; i < h->n; i++)
		EVP_MD_CTX_free(h->e[i].md);
	h->n = 0;
}

/* sink of one canonicaliser: every entry of its mode takes what l= allows */
static void mode_sink(void *ctx, const void *p, size_t n)
{
	struct sink_ctx *s = ctx;
	struct dkim_body_hashes *h = s->h;
	int i;

	for (i = 0; i < h->n; i++) {
		struct body_hash *e = &h->e[i];
		size_t take = n;

		if (e->canon != s->mode || e->failed)
			continue;
		if (e->has_l) {
			if (e->hashed >= e->l)
				continue;
			if (e->l - e->hashed < take)
				take = (size_t)(e->l - e->hashed);
		}
		if (EVP_DigestUpdate(e->md, p, take) != 1)
			e->failed = true;
		e->hashed += take;
	}
}

struct dkim_body_hashes *dkim_body_hashes_new(struct arena *a)
{
	struct dkim_body_hashes *h = arena_zalloc(a, sizeof(*h));
	int m;

	if (h == NULL || arena_cleanup(a, hashes_cleanup, h) < 0)
		return NULL;
	for (m = 0; m < 2; m++) {
		h->sc[m].h = h;
		h->sc[m].mode = (enum dkim_canon)m;
		dkim_body_canon_init(&h->canon[m], (enum dkim_canon)m, mode_sink, &h->sc[m]);
	}
	return h;
}

int dkim_body_hashes_add(struct dkim_body_hashes *h, enum dkim_canon c, bool has_l, uint64_t l,
                         enum dkim_hash hash)
{
	struct body_hash *e;
	int i;

	if (h->ended)
		return -1;
	for (i = 0; i < h->n; i++) {
		e = &h->e[i];
		if (e->canon == c && e->has_l == has_l && (!has_l || e->l == l) && e->hash == hash)
			return i;
	}
	if (h->n >= DKIM_BODY_HASHES_MAX)
		return -1;
	e = &h->e[h->n];
	memset(e, 0, sizeof(*e));
	e->canon = c;
	e->has_l = has_l;
	e->l = l;
	e->hash = hash;
	e->md = EVP_MD_CTX_new();
	if (e->md == NULL)
		return -1;
	h->n++; /* owned by the table from here, so the cleanup frees it */
	if (EVP_DigestInit_ex(e->md, hash == DKIM_HASH_SHA1 ? EVP_sha1() : EVP_sha256(), NULL) != 1)
		e->failed = true;
	h->used[c] = true;
	return h->n - 1;
}

int dkim_body_hashes_feed(struct dkim_body_hashes *h, const char *p, size_t n)
{
	int m;

	if (h->ended)
		return -1;
	for (m = 0; m < 2; m++)
		if (h->used[m])
			dkim_body_canon_feed(&h->canon[m], p, n);
	return 0;
}

int dkim_body_hashes_end(struct dkim_body_hashes *h)
{
	int m, i, rc = 0;

	if (h->ended)
		return 0;
	for (m = 0; m < 2; m++)
		if (h->used[m])
			dkim_body_canon_end(&h->canon[m]);
	for (i = 0; i < h->n; i++) {
		struct body_hash *e = &h->e[i];

		if (e->failed || EVP_DigestFinal_ex(e->md, e->digest, &e->digest_len) != 1) {
			e->failed = true;
			rc = -1;
		}
	}
	h->ended = true;
	return rc;
}

const uint8_t *dkim_body_hashes_get(const struct dkim_body_hashes *h, int i, size_t *digest_len,
                                    uint64_t *canon_len)
{
	const struct body_hash *e;

	if (i < 0 || i >= h->n || !h->ended || h->e[i].failed)
		return NULL;
	e = &h->e[i];
	*digest_len = e->digest_len;
	*canon_len = h->canon[e->canon].out_len;
	return e->digest;
}
