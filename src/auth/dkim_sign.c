/*
 * dkim_sign - make DKIM-Signature fields; load and make keys
 *
 * The field is built with CRLF line breaks (that is what is hashed), with
 * b= empty; its digest is computed by the same code the verifier uses
 * (dkim_header_digest), so signer and verifier cannot drift apart.  The
 * signature value is then folded in and the line breaks converted to the
 * message's own style.
 */
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <string.h>

#include "auth/dkim.h"
#include "auth/dkim_canon.h"
#include "auth/dkim_sign.h"
#include "auth/dkim_tag.h"
#include "core/arena.h"
#include "core/buf.h"
#include "core/str.h"
#include "mime/raw.h"

#define FOLD_COLUMNS  78
#define SIG_FIELD_CAP (64 * 1024)

const char *const dkim_sign_default_headers[] = {
	"from",
	"to",
	"cc",
	"subject",
	"date",
	"reply-to",
	"message-id",
	"in-reply-to",
	"references",
	"mime-version",
	"content-type",
	"content-transfer-encoding",
	"sender",
	"list-id",
	"list-help",
	"list-unsubscribe",
	"list-unsubscribe-post",
	"list-subscribe",
	"list-post",
	"list-owner",
	"list-archive",
	NULL,
};

/* the fields RFC 5322 3.6 allows at most once, and the list fields */
const char *const dkim_sign_default_oversign[] = {
	"from",
	"to",
	"cc",
	"subject",
	"date",
	"reply-to",
	"message-id",
	"in-reply-to",
	"references",
	"sender",
	"mime-version",
	"content-type",
	"content-transfer-encoding",
	"list-id",
	"list-unsubscribe",
	"list-unsubscribe-post",
	NULL,
};

void dkim_sign_options_init(struct dkim_sign_options *o)
{
	memset(o, 0, sizeof(*o));
	o->hcanon = DKIM_CANON_RELAXED;
	o->bcanon = DKIM_CANON_RELAXED;
	o->timestamp = -1;
}

/* ---- keys ------------------------------------------------------------- */

static void pkey_cleanup(void *arg)
{
	EVP_PKEY_free(arg);
}

static int adopt(struct arena *a, EVP_PKEY *pk)
{
	if (arena_cleanup(a, pkey_cleanup, pk) < 0) {
		EVP_PKEY_free(pk);
		return -1;
	}
	return 0;
}

int dkim_signer_from_pem(struct dkim_signer *s, struct arena *a, const char *pem, size_t len,
                         const char *domain, const char *selector, struct sx_err *err)
{
	BIO *bio = BIO_new_mem_buf(pem, (int)(len > 1048576 ? 1048576 : len));
	EVP_PKEY *pk;

	memset(s, 0, sizeof(*s));
	if (bio == NULL) {
		sx_err_set(err, "out of memory");
		return -1;
	}
	pk = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
	BIO_free(bio);
	if (pk == NULL) {
		sx_err_set(err, "not a PEM private key");
		return -1;
	}
	if (adopt(a, pk) < 0) {
		sx_err_set(err, "out of memory");
		return -1;
	}
	s->pkey = pk;
	s->bits = (unsigned)EVP_PKEY_get_bits(pk);
	switch (EVP_PKEY_get_base_id(pk)) {
	case EVP_PKEY_RSA:
		s->alg = DKIM_ALG_RSA_SHA256;
		if (s->bits < DKIM_MIN_RSA_BITS) {
			sx_err_set(err, "RSA key of %u bits: at least %u are needed (RFC 8301)",
			           s->bits, DKIM_MIN_RSA_BITS);
			return -1;
		}
		break;
	case EVP_PKEY_ED25519:
		s->alg = DKIM_ALG_ED25519_SHA256;
		break;
	default:
		sx_err_set(err, "key type not usable for DKIM (RSA or Ed25519 only)");
		return -1;
	}
	if (domain == NULL || dkim_domain_check(domain, strlen(domain)) < 0) {
		sx_err_set(err, "bad signing domain: %s", domain != NULL ? domain : "(none)");
		return -1;
	}
	if (selector == NULL || dkim_domain_check(selector, strlen(selector)) < 0) {
		sx_err_set(err, "bad selector: %s", selector != NULL ? selector : "(none)");
		return -1;
	}
	s->domain = domain;
	s->selector = selector;
	return 0;
}

int dkim_signer_load(struct dkim_signer *s, struct arena *a, const char *path, const char *domain,
                     const char *selector, struct sx_err *err)
{
	struct buf b;
	int rc;

	buf_init(&b, 1048576);
	if (buf_read_file(&b, path) < 0) {
		buf_free(&b);
		sx_err_set(err, "%s: cannot read the key file (or larger than 1 MiB)", path);
		return -1;
	}
	rc = dkim_signer_from_pem(s, a, b.data, b.len, domain, selector, err);
	if (rc < 0) {
		char msg[sizeof(err->msg)];
		snprintf(msg, sizeof(msg), "%s", err->msg);
		sx_err_set(err, "%s: %s", path, msg);
	}
	buf_free(&b);
	return rc;
}

struct evp_pkey_st *dkim_keygen(struct arena *a, const char *type, unsigned bits,
                                struct sx_err *err)
{
	EVP_PKEY *pk;

	if (strcmp(type, "rsa") == 0) {
		if (bits < 1024 || bits > 4096) {
			sx_err_set(err, "RSA key size must be 1024..4096 bits");
			return NULL;
		}
		pk = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)bits);
	} else if (strcmp(type, "ed25519") == 0) {
		pk = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	} else {
		sx_err_set(err, "unknown key type %s (rsa or ed25519)", type);
		return NULL;
	}
	if (pk == NULL || adopt(a, pk) < 0) {
		sx_err_set(err, "key generation failed");
		return NULL;
	}
	return pk;
}

char *dkim_key_pem(struct arena *a, struct evp_pkey_st *pkey)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *data, *out = NULL;
	long n;

	if (bio == NULL)
		return NULL;
	if (PEM_write_bio_PrivateKey(bio, pkey, NULL, NULL, 0, NULL, NULL) == 1) {
		n = BIO_get_mem_data(bio, &data);
		if (n > 0)
			out = arena_strndup(a, data, (size_t)n);
	}
	BIO_free(bio);
	return out;
}

char *dkim_dns_record(struct arena *a, struct evp_pkey_st *pkey)
{
	unsigned char *der = NULL, raw[32];
	size_t len = sizeof(raw);
	const char *k;
	char *b64, *out = NULL;
	int n;

	if (EVP_PKEY_get_base_id(pkey) == EVP_PKEY_ED25519) {
		if (EVP_PKEY_get_raw_public_key(pkey, raw, &len) != 1 || len != 32)
			return NULL;
		k = "ed25519";
		b64 = arena_alloc(a, 4 * ((len + 2) / 3) + 1);
		if (b64 == NULL)
			return NULL;
		dkim_b64_encode(raw, len, b64);
	} else {
		n = i2d_PUBKEY(pkey, &der);
		if (n <= 0)
			return NULL;
		k = "rsa";
		b64 = arena_alloc(a, 4 * (((size_t)n + 2) / 3) + 1);
		if (b64 != NULL)
			dkim_b64_encode(der, (size_t)n, b64);
		OPENSSL_free(der);
		if (b64 == NULL)
			return NULL;
	}
	out = arena_printf(a, "v=DKIM1; k=%s; p=%s", k, b64);
	return out;
}

/* ---- the field -------------------------------------------------------- */

struct folder {
	struct buf *b;
	size_t col;
	int failed;
};

/* put - append a piece; fold first when it would pass the margin.  With
 * space, a separating SP is written when no fold happens. */
static void put(struct folder *f, const char *s, size_t n, bool space)
{
	size_t need = n + (space ? 1 : 0);

	if (f->col + need > FOLD_COLUMNS && f->col > 1) {
		f->failed |= buf_append(f->b, "\r\n ", 3);
		f->col = 1;
	} else if (space) {
		f->failed |= buf_putc(f->b, ' ');
		f->col++;
	}
	f->failed |= buf_append(f->b, s, n);
	f->col += n;
}

static void puts_(struct folder *f, const char *s, bool space)
{
	put(f, s, strlen(s), space);
}

/* identity_ok - i= has an '@' and its domain is d= or below it (RFC 6376 3.5) */
static bool identity_ok(const char *i, const char *d)
{
	const char *at = strrchr(i, '@');
	size_t il, dl = strlen(d);

	if (at == NULL)
		return false;
	at++;
	il = strlen(at);
	if (il == dl)
		return str_casecmp(at, d) == 0;
	return il > dl && at[il - dl - 1] == '.' && str_casecmp(at + il - dl, d) == 0;
}

/* name_ok - a header field name: printable ASCII without ':' (RFC 5322 2.2) */
static bool name_ok(const char *n)
{
	if (*n == '\0')
		return false;
	for (; *n != '\0'; n++)
		if ((unsigned char)*n < 33 || (unsigned char)*n > 126 || *n == ':')
			return false;
	return true;
}

/* in_list - name is in the NULL-terminated list (case-insensitive) */
static bool in_list(const char *const *list, const char *name)
{
	for (; *list != NULL; list++)
		if (str_casecmp(*list, name) == 0)
			return true;
	return false;
}

/* build_h - the h= names: each present instance, plus one for over-signing */
static char **build_h(struct arena *a, const struct raw_message *msg,
                      const struct dkim_sign_options *o, size_t *nh)
{
	const char *const *headers = o->headers != NULL ? o->headers : dkim_sign_default_headers;
	const char *const *over = o->oversign != NULL ? o->oversign : dkim_sign_default_oversign;
	size_t i, j, k, n = 0, cap = 0;
	char **h;

	/* From first, always; then the list without duplicates */
	for (i = 0; headers[i] != NULL; i++) {
		if (!name_ok(headers[i]))
			return NULL;
		cap += raw_count(msg, headers[i], strlen(headers[i])) + 1;
	}
	cap += raw_count(msg, "from", 4) + 1;
	if (cap > DKIM_SIG_MAX_H)
		return NULL;
	h = arena_array(a, cap, sizeof(*h));
	if (h == NULL)
		return NULL;
	for (i = 0; i == 0 || headers[i - 1] != NULL; i++) {
		const char *name = i == 0 ? "from" : headers[i - 1];
		size_t count;
		bool seen = false;

		if (name == NULL)
			break;
		for (j = 0; j < i; j++) {
			const char *prev = j == 0 ? "from" : headers[j - 1];
			if (str_casecmp(prev, name) == 0)
				seen = true;
		}
		if (seen)
			continue;
		count = raw_count(msg, name, strlen(name));
		if (i == 0 || in_list(over, name))
			count++;
		for (k = 0; k < count && n < cap; k++)
			h[n++] = (char *)name;
	}
	*nh = n;
	return h;
}

int dkim_signer_remote(struct dkim_signer *s, const struct dkim_sign_remote *remote,
                       enum dkim_alg alg, unsigned bits, const char *domain, const char *selector,
                       struct sx_err *err)
{
	memset(s, 0, sizeof(*s));
	if (remote == NULL || remote->sign == NULL) {
		sx_err_set(err, "no remote signer");
		return -1;
	}
	if (alg == DKIM_ALG_ED25519_SHA256) {
		bits = 256;
	} else if (alg != DKIM_ALG_RSA_SHA256 || bits < DKIM_MIN_RSA_BITS || bits > 8192) {
		sx_err_set(err, "remote key: not RSA of %u..8192 bits or Ed25519",
		           DKIM_MIN_RSA_BITS);
		return -1;
	}
	if (domain == NULL || dkim_domain_check(domain, strlen(domain)) < 0 || selector == NULL ||
	    dkim_domain_check(selector, strlen(selector)) < 0) {
		sx_err_set(err, "remote key: bad domain or selector");
		return -1;
	}
	s->alg = alg;
	s->bits = bits;
	s->domain = domain;
	s->selector = selector;
	s->remote = remote;
	return 0;
}

size_t dkim_signer_sig_max(const struct dkim_signer *s)
{
	if (s->pkey != NULL)
		return (size_t)EVP_PKEY_get_size(s->pkey);
	if (s->remote == NULL)
		return 0;
	return s->alg == DKIM_ALG_ED25519_SHA256 ? 64 : (s->bits + 7) / 8;
}

int dkim_sign_digest(const struct dkim_signer *s, const uint8_t digest[32], uint8_t *sig,
                     size_t *sig_len)
{
	int rc = -1;

	if (s->pkey == NULL) {
		size_t max = dkim_signer_sig_max(s);

		/* the hook's answer is checked as any outside input */
		if (s->remote == NULL || max == 0 ||
		    s->remote->sign(s->remote->ctx, s, digest, sig, max, sig_len) < 0 ||
		    *sig_len == 0 || *sig_len > max)
			return -1;
		return 0;
	}
	if (s->alg == DKIM_ALG_ED25519_SHA256) {
		EVP_MD_CTX *md = EVP_MD_CTX_new();

		if (md != NULL && EVP_DigestSignInit(md, NULL, NULL, NULL, s->pkey) == 1 &&
		    EVP_DigestSign(md, sig, sig_len, digest, 32) == 1)
			rc = 0;
		EVP_MD_CTX_free(md);
	} else {
		EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(s->pkey, NULL);

		if (ctx != NULL && EVP_PKEY_sign_init(ctx) == 1 &&
		    EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) == 1 &&
		    EVP_PKEY_CTX_set_signature_md(ctx, EVP_sha256()) == 1 &&
		    EVP_PKEY_sign(ctx, sig, sig_len, digest, 32) == 1)
			rc = 0;
		EVP_PKEY_CTX_free(ctx);
	}
	return rc;
}

/* one_signature - build, hash and sign the field for s; append to out */
static int one_signature(struct arena *a, const struct raw_message *msg,
                         const struct dkim_signer *s, const struct dkim_sign_options *o, char **h,
                         size_t nh, const uint8_t *bh, size_t bh_len, uint64_t blen,
                         struct buf *out, struct sx_err *err)
{
	static const char name[] = "DKIM-Signature:";
	struct buf b;
	struct folder f;
	struct dkim_sig sig;
	char tmp[256], bh64[128], *b64 = NULL;
	uint8_t digest[32], *sigbytes = NULL;
	size_t i, sig_len, vlen;
	int rc = -1;

	if (o->identity != NULL && !identity_ok(o->identity, s->domain)) {
		sx_err_set(err, "identity %s is not within the signing domain %s", o->identity,
		           s->domain);
		return -1;
	}
	buf_init(&b, SIG_FIELD_CAP);
	f.b = &b;
	f.col = 0;
	f.failed = 0;
	puts_(&f, name, false);
	puts_(&f, "v=1;", true);
	snprintf(tmp, sizeof(tmp), "a=%s;", dkim_alg_name(s->alg));
	puts_(&f, tmp, true);
	snprintf(tmp, sizeof(tmp), "c=%s/%s;", dkim_canon_name(o->hcanon),
	         dkim_canon_name(o->bcanon));
	puts_(&f, tmp, true);
	put(&f, "d=", 2, true);
	f.failed |= buf_puts(&b, s->domain);
	f.failed |= buf_putc(&b, ';');
	f.col += strlen(s->domain) + 1;
	put(&f, "s=", 2, true);
	f.failed |= buf_puts(&b, s->selector);
	f.failed |= buf_putc(&b, ';');
	f.col += strlen(s->selector) + 1;
	if (o->identity != NULL) {
		/* dkim-quoted-printable for the few characters that need it */
		put(&f, "i=", 2, true);
		for (i = 0; o->identity[i] != '\0'; i++) {
			unsigned char c = (unsigned char)o->identity[i];
			if (c <= 0x20 || c >= 0x7f || c == ';' || c == '=')
				f.failed |= buf_printf(&b, "=%02X", c);
			else
				f.failed |= buf_putc(&b, (char)c);
		}
		f.failed |= buf_putc(&b, ';');
		f.col += i + 1;
	}
	if (o->timestamp >= 0) {
		snprintf(tmp, sizeof(tmp), "t=%lld;", (long long)o->timestamp);
		puts_(&f, tmp, true);
		if (o->expire > 0) {
			snprintf(tmp, sizeof(tmp), "x=%llu;",
			         (unsigned long long)((uint64_t)o->timestamp + o->expire));
			puts_(&f, tmp, true);
		}
	}
	if (o->body_length) {
		snprintf(tmp, sizeof(tmp), "l=%llu;", (unsigned long long)blen);
		puts_(&f, tmp, true);
	}
	for (i = 0; i < nh; i++) {
		snprintf(tmp, sizeof(tmp), "%s%s%s", i == 0 ? "h=" : "", h[i],
		         i + 1 < nh ? ":" : ";");
		puts_(&f, tmp, i == 0);
	}
	dkim_b64_encode(bh, bh_len, bh64);
	snprintf(tmp, sizeof(tmp), "bh=%s;", bh64);
	puts_(&f, tmp, true);
	puts_(&f, "b=", true);
	if (f.failed) {
		sx_err_set(err, "signature field too long");
		goto out;
	}

	/* hash the field as it stands, b= empty */
	memset(&sig, 0, sizeof(sig));
	sig.hcanon = o->hcanon;
	sig.h = h;
	sig.nh = nh;
	vlen = b.len - (sizeof(name) - 1);
	sig.b_start = sig.b_end = vlen;
	if (dkim_header_digest(msg, &sig, b.data, b.len, sizeof(name) - 1, digest) < 0) {
		sx_err_set(err, "hashing the header failed");
		goto out;
	}
	sig_len = dkim_signer_sig_max(s);
	sigbytes = arena_alloc(a, sig_len + 1);
	b64 = arena_alloc(a, 4 * ((sig_len + 2) / 3) + 1);
	if (sigbytes == NULL || b64 == NULL ||
	    dkim_sign_digest(s, digest, sigbytes, &sig_len) < 0) {
		sx_err_set(err, "signing failed");
		goto out;
	}
	dkim_b64_encode(sigbytes, sig_len, b64);
	/* fold the value in pieces that fill each line */
	for (i = 0; b64[i] != '\0';) {
		size_t room = f.col < FOLD_COLUMNS ? FOLD_COLUMNS - f.col : 0;
		size_t left = strlen(b64 + i);

		if (room == 0) {
			f.failed |= buf_append(&b, "\r\n ", 3);
			f.col = 1;
			continue;
		}
		if (room > left)
			room = left;
		f.failed |= buf_append(&b, b64 + i, room);
		f.col += room;
		i += room;
	}
	f.failed |= buf_append(&b, "\r\n", 2);
	if (f.failed) {
		sx_err_set(err, "signature field too long");
		goto out;
	}
	/* the message's own line break style */
	for (i = 0; i < b.len; i++) {
		if (!msg->crlf && b.data[i] == '\r' && i + 1 < b.len && b.data[i + 1] == '\n')
			continue;
		if (buf_putc(out, b.data[i]) < 0) {
			sx_err_set(err, "output too large");
			goto out;
		}
	}
	rc = 0;
out:
	buf_free(&b);
	return rc;
}

int dkim_sign(struct arena *a, const struct raw_message *msg, const struct dkim_signer *signers,
              size_t nsigners, const struct dkim_sign_options *opts, struct buf *out,
              struct sx_err *err)
{
	struct dkim_sign_options defaults;
	struct dkim_body_hashes *bhs;
	const uint8_t *bh;
	size_t nh, bh_len, i;
	uint64_t blen;
	char **h;
	int idx;

	if (opts == NULL) {
		dkim_sign_options_init(&defaults);
		opts = &defaults;
	}
	if (raw_count(msg, "from", 4) == 0) {
		sx_err_set(err, "the message has no From field");
		return -1;
	}
	h = build_h(a, msg, opts, &nh);
	if (h == NULL) {
		sx_err_set(err, "bad header list: a name is not a field name, or too many fields");
		return -1;
	}
	bhs = dkim_body_hashes_new(a);
	if (bhs == NULL) {
		sx_err_set(err, "out of memory");
		return -1;
	}
	idx = dkim_body_hashes_add(bhs, opts->bcanon, false, 0, DKIM_HASH_SHA256);
	if (idx < 0 || dkim_body_hashes_feed(bhs, msg->body, msg->body_len) < 0 ||
	    dkim_body_hashes_end(bhs) < 0 ||
	    (bh = dkim_body_hashes_get(bhs, idx, &bh_len, &blen)) == NULL) {
		sx_err_set(err, "hashing the body failed");
		return -1;
	}
	for (i = 0; i < nsigners; i++)
		if (one_signature(a, msg, &signers[i], opts, h, nh, bh, bh_len, blen, out, err) < 0)
			return -1;
	return 0;
}
