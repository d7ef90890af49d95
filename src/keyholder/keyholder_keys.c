/*
 * keyholder_keys - load the signing keys once, answer from memory
 *
 * The table is a flat array (a few domains, two or four keys each): a
 * linear search per request is cheaper than anything cleverer.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "auth/dkim_keys.h"
#include "auth/dkim_sign.h"
#include "core/arena.h"
#include "core/config.h"
#include "core/log.h"
#include "core/str.h"
#include "keyholder/keyholder_keys.h"

#define KEYHOLDER_KEYS_MAX 4096 /* keys in the table: domains x selectors x types */

struct kh_key {
	const char *domain;        /* the configuration's (lower case) */
	struct dkim_signer signer; /* .selector as published */
	bool active;
};

struct kh_domain {
	const char *domain;
	const char *active; /* the active selector, as configured */
	bool ready;         /* the state and every active key were read */
};

struct keyholder_keys {
	struct arena *a;
	struct kh_key *keys;
	size_t nkeys;
	struct kh_domain *domains;
	size_t ndomains;
};

struct keyholder_keys *keyholder_keys_free(struct keyholder_keys *k)
{
	if (k == NULL)
		return NULL;
	arena_free(k->a); /* frees the EVP_PKEYs (their cleanups) */
	free(k);
	return NULL;
}

size_t keyholder_keys_count(const struct keyholder_keys *k)
{
	return k != NULL ? k->nkeys : 0;
}

/* kh_load_selector - the keys of one selector into the table */
static bool kh_load_selector(struct keyholder_keys *k, const struct config_dkim_signing *c,
                             const char *sel, bool active, size_t *failed)
{
	struct dkim_keys_slot slots[DKIM_KEYS_MAX_SLOTS];
	struct sx_err err = { 0 };
	size_t i, n = dkim_keys_slots(c, sel, k->a, slots);
	bool all = n > 0;
	int r;

	for (i = 0; i < n; i++) {
		r = dkim_keys_load(&slots[i], k->a, &err);
		if (r != 0) {
			all = false;
			(*failed)++;
			log_error("keyholder event=key-unreadable domain=%s selector=%s role=%s "
			          "error=\"%s\"",
			          c->domain, slots[i].dns_selector, active ? "active" : "next",
			          r > 0 ? "no key file (smexop dkim init)" : err.msg);
			continue;
		}
		if (k->nkeys >= KEYHOLDER_KEYS_MAX)
			return false;
		k->keys[k->nkeys].domain = c->domain;
		k->keys[k->nkeys].signer = slots[i].signer;
		k->keys[k->nkeys].active = active;
		k->nkeys++;
	}
	return all;
}

struct keyholder_keys *keyholder_keys_load(const struct smexop_config *cfg, size_t *failed)
{
	struct keyholder_keys *k = calloc(1, sizeof(*k));
	size_t i, nitems = cfg->dkim.signing.n, dummy = 0;

	if (failed == NULL)
		failed = &dummy;
	*failed = 0;
	if (k == NULL || (k->a = arena_new()) == NULL)
		return keyholder_keys_free(k);
	k->keys = arena_array(k->a, nitems * 2 * DKIM_KEYS_MAX_SLOTS + 1, sizeof(*k->keys));
	k->domains = arena_array(k->a, nitems + 1, sizeof(*k->domains));
	if (k->keys == NULL || k->domains == NULL)
		return keyholder_keys_free(k);
	for (i = 0; i < nitems; i++) {
		const struct config_dkim_signing *c = &cfg->dkim.signing.v[i];
		struct kh_domain *d = &k->domains[k->ndomains];
		struct dkim_keys_state st;
		struct sx_err err = { 0 };
		char *active;

		if (!c->enabled)
			continue;
		d->domain = c->domain;
		k->ndomains++;
		if (dkim_keys_state_read(c, &st, &err) < 0) {
			(*failed)++;
			log_error("keyholder event=state-unreadable domain=%s error=\"%s\"",
			          c->domain, err.msg);
			continue;
		}
		active = arena_strdup(k->a, st.active);
		if (active == NULL)
			return keyholder_keys_free(k);
		d->active = active;
		d->ready = kh_load_selector(k, c, st.active, true, failed);
		(void)kh_load_selector(k, c, dkim_keys_next(c, &st), false, failed);
	}
	return k;
}

static const struct kh_domain *kh_domain_find(const struct keyholder_keys *k, const char *domain)
{
	size_t i;

	for (i = 0; i < k->ndomains; i++)
		if (str_casecmp(k->domains[i].domain, domain) == 0)
			return &k->domains[i];
	return NULL;
}

static void kh_answer_info(const struct keyholder_keys *k, const struct keyholder_req *q,
                           struct keyholder_reply *r)
{
	const struct kh_domain *d = kh_domain_find(k, q->domain);
	size_t i;

	if (d == NULL) {
		r->status = KEYHOLDER_NOKEY;
		return;
	}
	if (!d->ready || strlen(d->active) > KEYHOLDER_SEL_MAX) {
		r->status = KEYHOLDER_NOTREADY;
		return;
	}
	memcpy(r->active, d->active, strlen(d->active) + 1);
	for (i = 0; i < k->nkeys; i++) {
		const struct kh_key *key = &k->keys[i];

		if (!key->active || key->domain != d->domain)
			continue;
		if (r->nkeys == KEYHOLDER_INFO_KEYS ||
		    strlen(key->signer.selector) > KEYHOLDER_SEL_MAX) {
			r->status = KEYHOLDER_NOTREADY;
			return;
		}
		memcpy(r->keys[r->nkeys].selector, key->signer.selector,
		       strlen(key->signer.selector) + 1);
		r->keys[r->nkeys].alg = key->signer.alg;
		r->keys[r->nkeys].bits = key->signer.bits;
		r->nkeys++;
	}
	r->status = r->nkeys > 0 ? KEYHOLDER_OK : KEYHOLDER_NOTREADY;
}

static void kh_answer_sign(const struct keyholder_keys *k, const struct keyholder_req *q,
                           struct keyholder_reply *r)
{
	size_t i, len;

	for (i = 0; i < k->nkeys; i++) {
		const struct kh_key *key = &k->keys[i];

		/* only active keys sign: a request made before a rotation and
		 * answered after it must not get a signature from the new,
		 * not yet published key of the selector that is now next */
		if (!key->active || key->signer.alg != q->alg ||
		    str_casecmp(key->domain, q->domain) != 0 ||
		    str_casecmp(key->signer.selector, q->selector) != 0)
			continue;
		if (dkim_signer_sig_max(&key->signer) > sizeof(r->sig)) {
			r->status = KEYHOLDER_FAILED;
			return;
		}
		len = sizeof(r->sig);
		if (dkim_sign_digest(&key->signer, q->digest, r->sig, &len) < 0 || len == 0) {
			r->status = KEYHOLDER_FAILED;
			return;
		}
		r->sig_len = len;
		r->status = KEYHOLDER_OK;
		return;
	}
	r->status = KEYHOLDER_NOKEY;
}

void keyholder_keys_answer(const struct keyholder_keys *k, const struct keyholder_req *q,
                           struct keyholder_reply *r)
{
	memset(r, 0, sizeof(*r));
	r->type = q->type;
	r->id = q->id;
	r->status = KEYHOLDER_NOKEY;
	if (k == NULL)
		return;
	if (q->type == KEYHOLDER_INFO)
		kh_answer_info(k, q, r);
	else if (q->type == KEYHOLDER_SIGN)
		kh_answer_sign(k, q, r);
}

/* kh_stamp_mix - fold one file's identity and change time into h (FNV-1a) */
static uint64_t kh_stamp_mix(uint64_t h, const char *path)
{
	struct stat st;
	uint64_t v[4] = { 0, 0, 0, 0 };
	size_t i;

	if (stat(path, &st) == 0) {
		v[0] = (uint64_t)st.st_ino;
		v[1] = (uint64_t)st.st_mtim.tv_sec;
		v[2] = (uint64_t)st.st_mtim.tv_nsec;
		v[3] = (uint64_t)st.st_size;
	}
	for (i = 0; i < sizeof(v); i++) {
		h ^= ((const uint8_t *)v)[i];
		h *= 1099511628211ULL;
	}
	return h;
}

uint64_t keyholder_keys_stamp(const struct smexop_config *cfg)
{
	struct arena *a = arena_new();
	uint64_t h = 14695981039346656037ULL;
	size_t i;

	if (a == NULL)
		return 0;
	for (i = 0; i < cfg->dkim.signing.n; i++) {
		const struct config_dkim_signing *c = &cfg->dkim.signing.v[i];
		char *dir = dkim_keys_dir(c, a), *state;

		if (dir == NULL)
			break;
		state = arena_printf(a, "%s/state", dir);
		h = kh_stamp_mix(h, dir);
		if (state != NULL)
			h = kh_stamp_mix(h, state);
	}
	arena_free(a);
	return h;
}
