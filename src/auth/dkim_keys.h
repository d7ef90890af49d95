/*
 * dkim_keys - the DKIM signing keys of the configured domains: files,
 * rotation state, and what DNS publishes for them
 *
 * The configuration (dkim.signing, core/config.h) names two selectors per
 * domain; one is active (signs mail), the other is next (its key is
 * published ahead of time and becomes active at the next rotation, as in
 * EOP's Rotate-DkimSigningConfig).  Which one is active after a rotation
 * is kept in KEY_DIR/DOMAIN/state, so a rotation never rewrites the
 * admin's YAML; without the file the configuration's `selector` is
 * active.  docs/dkim.md explains the layout:
 *
 *	KEY_DIR/DOMAIN/            mode 0700
 *	KEY_DIR/DOMAIN/SEL.rsa.pem, SEL.ed25519.pem   mode 0600, PKCS#8
 *	KEY_DIR/DOMAIN/state       "active SEL" and "rotated T ISO-TIME"
 *	KEY_DIR/DOMAIN/SEL.ALG.pem.retired   the key a rotation replaced
 *
 * With algorithm dual a selector has two keys: the RSA one is published
 * at SEL._domainkey.DOMAIN, the Ed25519 one at SEL-ed25519._domainkey.DOMAIN
 * (one name holds one key record).  Each (selector, key type) is a slot.
 *
 * Files are written atomically: a temporary file, fsync, rename, fsync of
 * the directory.  A rotation writes the new state before it replaces the
 * now-next key, so a crash in between leaves the old (still published)
 * key in place rather than an unpublished key active.
 *
 * dkim_signing_for_domain() is what the outbound pipeline calls: the
 * loaded signer(s) of the active selector and the sign options from the
 * configuration.
 */
#ifndef SMEXOP_AUTH_DKIM_KEYS_H
#define SMEXOP_AUTH_DKIM_KEYS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "auth/dkim_key.h"
#include "auth/dkim_sign.h"
#include "core/config.h"
#include "core/err.h"

struct arena;
struct dns_answer;

#define DKIM_KEYS_MAX_SLOTS   2    /* keys of one selector (dual: RSA and Ed25519) */
#define DKIM_KEYS_STATE_MAX   4096 /* bytes read of a state file */
#define DKIM_KEYS_DUAL_SUFFIX "-ed25519"

struct dkim_keys_state {
	char active[64]; /* the active selector, one of the configuration's two */
	int64_t rotated; /* seconds since the epoch of the last rotation; 0: never */
	bool from_file;  /* false: no state file yet (the configuration's selector) */
};

/* dkim_keys_config - the dkim.signing item of domain (any case), or NULL */
const struct config_dkim_signing *dkim_keys_config(const struct smexop_config *cfg,
                                                   const char *domain);

/* dkim_keys_dir - "KEY_DIR/DOMAIN" (arena string) */
char *dkim_keys_dir(const struct config_dkim_signing *c, struct arena *a);

/*
 * dkim_keys_state_read - the rotation state of c's domain.  A missing
 * file gives the configuration's selector (from_file false).  -1 with err
 * when the file cannot be read, does not parse, or names a selector the
 * configuration does not list any more.
 */
int dkim_keys_state_read(const struct config_dkim_signing *c, struct dkim_keys_state *st,
                         struct sx_err *err);
/* dkim_keys_state_write - write st atomically (creating the directory); 0 or -1 */
int dkim_keys_state_write(const struct config_dkim_signing *c, const struct dkim_keys_state *st,
                          struct sx_err *err);
/* dkim_keys_state_parse - parse a state file's text (the reader's core); 0 or -1 */
int dkim_keys_state_parse(const struct config_dkim_signing *c, const char *text, size_t len,
                          struct dkim_keys_state *st, struct sx_err *err);

/* dkim_keys_next - the selector that is not st->active */
const char *dkim_keys_next(const struct config_dkim_signing *c, const struct dkim_keys_state *st);

/* One key of one selector. */
struct dkim_keys_slot {
	const char *domain;
	const char *selector;     /* the configuration's name */
	const char *dns_selector; /* as published: selector, or selector-ed25519 (dual) */
	const char *dns_name;     /* dns_selector._domainkey.domain */
	enum dkim_key_type type;
	const char *path;            /* KEY_DIR/DOMAIN/SELECTOR.rsa.pem or .ed25519.pem */
	struct dkim_signer signer;   /* .pkey NULL until loaded, or when the file is missing */
	const char *record;          /* the TXT value publishing the key, once loaded */
	unsigned mode;               /* the key file's permission bits, once loaded */
	struct evp_pkey_st *retired; /* PATH.retired: the key this slot had before
	                                the last rotation, or NULL */
};

/* dkim_keys_slots - the slots of selector (1, or 2 with dual); 0 on
 * allocation failure.  Nothing is read. */
size_t dkim_keys_slots(const struct config_dkim_signing *c, const char *selector, struct arena *a,
                       struct dkim_keys_slot out[DKIM_KEYS_MAX_SLOTS]);
/* dkim_keys_load - read the slot's key file (and its retired key, when
 * there is one): 0 loaded, 1 no such file, -1 with err */
int dkim_keys_load(struct dkim_keys_slot *s, struct arena *a, struct sx_err *err);

/* dkim_keys_init - make every missing key of both selectors (never
 * overwrites); *made counts the new ones.  0 or -1 with err. */
int dkim_keys_init(const struct config_dkim_signing *c, struct arena *a, size_t *made,
                   struct sx_err *err);

/*
 * dkim_keys_rotate - the next selector becomes active (the state file
 * says so, rotated = now) and the old active selector, now next, gets new
 * keys that must be published before the following rotation; its old keys
 * are kept as PATH.retired.  DNS is not
 * looked at: the caller checks first that the next keys are published.
 * st is the state after the rotation.  0 or -1 with err (nothing changed
 * when the next keys are missing or a new key cannot be made).
 */
int dkim_keys_rotate(const struct config_dkim_signing *c, struct arena *a, int64_t now,
                     struct dkim_keys_state *st, struct sx_err *err);

/* ---- what DNS publishes ----------------------------------------------- */

enum dkim_keys_level { DKIM_KEYS_OK, DKIM_KEYS_INFO, DKIM_KEYS_WARN, DKIM_KEYS_ERROR };

struct dkim_keys_verdict {
	enum dkim_keys_level level;
	const char *code;  /* ok, mismatch, retired, missing, testing, small, revoked,
	                      badrecord, dns, nokey, filemode */
	const char *msg;   /* a sentence for the admin */
	bool matches;      /* the published key is ours (t=y or not) */
	bool publish;      /* the admin should publish slot->record */
	unsigned dns_bits; /* the published key's size, 0 when none */
};

/*
 * dkim_keys_check - judge the TXT answer at slot->dns_name against our
 * key (the slot loaded, or not when its file is missing): published and
 * ours (ok), another key (error: publish ours; warn when it is the key
 * the last rotation retired from the next selector), missing (warn for the
 * next selector, error for the active one), t=y (warn), RSA under 1024
 * bits (error), revoked (info for next, error for active), DNS failure
 * (error: cannot tell), key file readable by others (warn).
 */
void dkim_keys_check(const struct dkim_keys_slot *slot, bool active, const struct dns_answer *ans,
                     struct arena *a, struct dkim_keys_verdict *v);

/* dkim_keys_level_name - "ok", "info", "warn", "error" */
const char *dkim_keys_level_name(enum dkim_keys_level l);

/* dkim_keys_zone_line - "NAME. IN TXT ( "..." "..." )" with strings of at
 * most 255 bytes, for a zone file (arena string) */
char *dkim_keys_zone_line(struct arena *a, const char *name, const char *record);

/* ---- for the outbound pipeline ---------------------------------------- */

struct dkim_signing {
	const struct config_dkim_signing *conf;
	const char *selector; /* the active one */
	struct dkim_signer signers[DKIM_KEYS_MAX_SLOTS];
	size_t nsigners;               /* 1, or 2 with dual (RSA first) */
	struct dkim_sign_options opts; /* headers, c=, x= from the configuration;
	                                  the caller sets opts.timestamp */
};

/*
 * dkim_signing_for_domain - the signer(s) of domain's active selector,
 * loaded from KEY_DIR, with the options the configuration gives.  1 when
 * out is filled, 0 when domain has no enabled dkim.signing item (exact
 * match, any case), -1 with err when it has one but the state or a key
 * cannot be read.  Everything lives in a.
 */
int dkim_signing_for_domain(const struct smexop_config *cfg, const char *domain, struct arena *a,
                            struct dkim_signing *out, struct sx_err *err);

/*
 * dkim_signing_remote - the same as dkim_signing_for_domain, but the
 * signers are remote's (it says which selector is active and which keys
 * it holds) and nothing is read from KEY_DIR: for a process that holds
 * no key.  1, 0 (no enabled item for domain), or -1 with err (remote
 * cannot tell, or holds no key for an enabled item).
 */
int dkim_signing_remote(const struct smexop_config *cfg, const char *domain,
                        const struct dkim_sign_remote *remote, struct arena *a,
                        struct dkim_signing *out, struct sx_err *err);

/* dkim_signing_options - the sign options c gives (headers, c=, x=; the
 * caller sets timestamp), for a signer built elsewhere (the key holder's
 * remote signers); 0 or -1 with err */
int dkim_signing_options(const struct config_dkim_signing *c, struct arena *a,
                         struct dkim_sign_options *o, struct sx_err *err);

#endif
