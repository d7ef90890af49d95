/*
 * domaincheck_dkim - the DKIM area of check-domain
 *
 * Two kinds of selectors: those of our own signing configuration
 * (dkim.signing for the domain: the active and the next selector, judged
 * by auth/dkim_keys' dkim_keys_check against the key files, so "the
 * published key is ours" means the same as in `smexop dkim status`), and
 * the common ones that providers use (selector1, selector2, google, k1,
 * s1, default) plus any given with --selector, judged on their own: the
 * record parses (auth/dkim_key), key size, t=y.
 */
#include <string.h>

#include <openssl/evp.h>

#include "auth/dkim_key.h"
#include "auth/dkim_keys.h"
#include "core/arena.h"
#include "core/str.h"
#include "report/domaincheck_impl.h"

#define DC_DKIM_MAX_SEL   32
#define DC_DKIM_GOOD_BITS 2048

static const char *const dc_dkim_common[] = {
	"selector1", "selector2", "google", "k1", "s1", "default", NULL,
};

struct dc_dkim_slot {
	struct dkim_keys_slot slot;
	bool active;
	struct dns_answer *ans;
};

struct dc_dkim_sel {
	const char *selector, *name;
	struct dns_answer *ans;
};

struct dc_dkim {
	const char *config_error;
	struct dc_dkim_slot slots[2 * DKIM_KEYS_MAX_SLOTS];
	size_t nslots;
	struct dc_dkim_sel sel[DC_DKIM_MAX_SEL];
	size_t nsel;
};

static void dc_dkim_keep(struct dc_ctx *c, const struct dns_answer *ans, void *arg)
{
	struct dns_answer **slot = arg;

	*slot = dc_keep(c, ans);
}

/* dc_dkim_ours - selector is one of the configured slots */
static bool dc_dkim_ours(const struct dc_dkim *d, const char *selector)
{
	size_t i;

	for (i = 0; i < d->nslots; i++)
		if (str_casecmp(d->slots[i].slot.dns_selector, selector) == 0)
			return true;
	return false;
}

static void dc_dkim_config(struct dc_ctx *c, struct dc_dkim *d)
{
	const struct config_dkim_signing *cs;
	struct dkim_keys_state st;
	struct sx_err err = { 0 };
	const char *sels[2];
	size_t i, k, n;

	if (c->opt->cfg == NULL)
		return;
	cs = dkim_keys_config(c->opt->cfg, c->domain);
	if (cs == NULL || !cs->enabled)
		return;
	if (dkim_keys_state_read(cs, &st, &err) < 0) {
		d->config_error = dc_str(c, "%s", err.msg);
		return;
	}
	sels[0] = st.active;
	sels[1] = dkim_keys_next(cs, &st);
	for (i = 0; i < 2; i++) {
		struct dkim_keys_slot s[DKIM_KEYS_MAX_SLOTS];
		if (sels[i] == NULL)
			continue;
		n = dkim_keys_slots(cs, sels[i], c->a, s);
		for (k = 0; k < n && d->nslots < 2 * DKIM_KEYS_MAX_SLOTS; k++) {
			struct dc_dkim_slot *ds = &d->slots[d->nslots++];
			ds->slot = s[k];
			ds->active = i == 0;
			if (dkim_keys_load(&ds->slot, c->a, &err) < 0) {
				d->config_error = dc_str(c, "%s", err.msg);
				d->nslots--;
				continue;
			}
			dc_lookup(c, ds->slot.dns_name, DNS_T_TXT, dc_dkim_keep, &ds->ans);
		}
	}
}

static void dc_dkim_add_sel(struct dc_ctx *c, struct dc_dkim *d, const char *selector)
{
	size_t i;

	if (d->nsel >= DC_DKIM_MAX_SEL || dc_dkim_ours(d, selector))
		return;
	for (i = 0; i < d->nsel; i++)
		if (str_casecmp(d->sel[i].selector, selector) == 0)
			return;
	d->sel[d->nsel].selector = selector;
	d->sel[d->nsel].name = dc_str(c, "%s._domainkey.%s", selector, c->domain);
	if (d->sel[d->nsel].name == NULL)
		return;
	dc_lookup(c, d->sel[d->nsel].name, DNS_T_TXT, dc_dkim_keep, &d->sel[d->nsel].ans);
	d->nsel++;
}

void dc_dkim_start(struct dc_ctx *c)
{
	struct dc_dkim *d = arena_zalloc(c->a, sizeof(*d));
	size_t i;

	c->dkim = d;
	if (d == NULL) {
		c->nomem = true;
		return;
	}
	dc_dkim_config(c, d);
	for (i = 0; i < c->opt->nselectors; i++)
		dc_dkim_add_sel(c, d, c->opt->selectors[i]);
	for (i = 0; dc_dkim_common[i] != NULL; i++)
		dc_dkim_add_sel(c, d, dc_dkim_common[i]);
}

static const char *dc_dkim_type(enum dkim_key_type t)
{
	return t == DKIM_KEY_ED25519 ? "ed25519" : "rsa";
}

/* dc_dkim_slot_finish - one of our slots, through dkim_keys_check */
static void dc_dkim_slot_finish(struct dc_ctx *c, const struct dc_dkim_slot *ds)
{
	const struct dkim_keys_slot *s = &ds->slot;
	struct dkim_keys_verdict v;
	enum dc_level level;
	const char *fix = NULL, *code;

	dkim_keys_check(s, ds->active, ds->ans, c->a, &v);
	level = v.level == DKIM_KEYS_ERROR ? DC_ERROR : v.level == DKIM_KEYS_WARN ? DC_WARN : DC_OK;
	code = dc_str(c, "dkim.%s", v.code);
	if (v.publish && s->record != NULL)
		fix = dc_str(c, "publish %s. TXT \"%s\"", s->dns_name, s->record);
	else if (strcmp(v.code, "nokey") == 0)
		fix = "make the keys with smexop dkim init -c FILE, then publish them";
	else if (strcmp(v.code, "filemode") == 0)
		fix = dc_str(c, "chmod 600 %s", s->path);
	else if (strcmp(v.code, "dns") == 0)
		fix = "check the domain's name servers, then run this again";
	else
		fix = "see smexop dkim status -c FILE";
	if (code == NULL)
		return;
	if (level == DC_OK && s->type == DKIM_KEY_RSA && v.dns_bits > 0 &&
	    v.dns_bits < DC_DKIM_GOOD_BITS) {
		dc_add(c, DC_AREA_DKIM, DC_WARN, "dkim.short",
		       dc_str(c,
		              "set dkim.signing rsa_bits: 2048 for %s and rotate (smexop dkim "
		              "rotate)",
		              c->domain),
		       "selector %s (%s, ours): the published RSA key has %u bits; 2048 is the "
		       "norm",
		       s->dns_selector, ds->active ? "active" : "next", v.dns_bits);
		return;
	}
	/* the level of dkim_keys' "ok" code is always ok */
	dc_add(c, DC_AREA_DKIM, level, strcmp(v.code, "ok") == 0 ? "dkim.ok" : code, fix,
	       "selector %s (%s %s key, ours): %s", s->dns_selector, ds->active ? "active" : "next",
	       dc_dkim_type(s->type), v.msg);
}

/* dc_dkim_sel_finish - a selector found in DNS that is not ours */
static bool dc_dkim_sel_finish(struct dc_ctx *c, const struct dc_dkim_sel *s)
{
	const struct dns_answer *ans = s->ans;
	struct dkim_key key;
	const char *why = NULL;
	unsigned bits = 0;
	size_t i;
	bool found = false;

	if (ans == NULL || ans->status == DNS_NXDOMAIN || ans->status == DNS_NODATA)
		return false;
	if (ans->status != DNS_OK) {
		dc_add(c, DC_AREA_DKIM, DC_ERROR, "dkim.dns",
		       "check the domain's name servers, then run this again",
		       "the lookup of %s failed (%s)", s->name, dc_dns_why(c, ans));
		return true;
	}
	for (i = 0; i < ans->count && !found; i++)
		if (ans->rr[i].type == DNS_T_TXT &&
		    dkim_key_parse(&key, c->a, ans->rr[i].u.txt.data, ans->rr[i].u.txt.len, &why) ==
		        0)
			found = true;
	if (found && key.revoked) {
		dc_add(c, DC_AREA_DKIM, DC_OK, "dkim.revoked", NULL,
		       "selector %s: revoked key (p= is empty)", s->selector);
		return true;
	}
	if (found && dkim_key_pkey(&key, c->a, &bits, &why) == NULL)
		found = false;
	if (!found) {
		dc_add(c, DC_AREA_DKIM, DC_ERROR, "dkim.badrecord",
		       dc_str(c, "republish %s as \"v=DKIM1; k=rsa; p=<base64 key>\"", s->name),
		       "selector %s: the record is not a usable DKIM key (%s): signatures with it "
		       "fail",
		       s->selector, why ? why : "no TXT record");
		return true;
	}
	if (key.testing)
		dc_add(c, DC_AREA_DKIM, DC_WARN, "dkim.testing",
		       dc_str(c, "remove t=y from %s once signing works", s->name),
		       "selector %s has t=y (testing): receivers may treat failures as no "
		       "signature",
		       s->selector);
	if (key.type == DKIM_KEY_RSA && bits < 1024)
		dc_add(c, DC_AREA_DKIM, DC_ERROR, "dkim.small",
		       "make a 2048-bit key, publish it under a new selector and sign with it",
		       "selector %s: RSA key of %u bits; receivers ignore keys under 1024 bits",
		       s->selector, bits);
	else if (key.type == DKIM_KEY_RSA && bits < DC_DKIM_GOOD_BITS)
		dc_add(c, DC_AREA_DKIM, DC_WARN, "dkim.short",
		       "make a 2048-bit key, publish it under a new selector and sign with it",
		       "selector %s: RSA key of %u bits; 2048 is the norm", s->selector, bits);
	else
		dc_add(c, DC_AREA_DKIM, DC_OK, "dkim.ok", NULL, "selector %s: %s key%s%s",
		       s->selector, dc_dkim_type(key.type),
		       key.type == DKIM_KEY_RSA ? dc_str(c, " of %u bits", bits) : "",
		       key.testing ? " (testing)" : "");
	return true;
}

void dc_dkim_finish(struct dc_ctx *c)
{
	struct dc_dkim *d = c->dkim;
	size_t i, found = 0;

	if (!dc_want(c, DC_AREA_DKIM) || d == NULL)
		return;
	if (d->config_error != NULL)
		dc_add(c, DC_AREA_DKIM, DC_ERROR, "dkim.config",
		       "see smexop dkim status -c FILE and the dkim.signing section",
		       "the signing configuration of %s cannot be read: %s", c->domain,
		       d->config_error);
	for (i = 0; i < d->nslots; i++)
		dc_dkim_slot_finish(c, &d->slots[i]);
	for (i = 0; i < d->nsel; i++)
		if (dc_dkim_sel_finish(c, &d->sel[i]))
			found++;
	if (found == 0 && d->nslots == 0 && d->config_error == NULL)
		dc_add(c, DC_AREA_DKIM, DC_WARN, "dkim.none",
		       "sign outgoing mail (dkim.signing in the configuration) and publish the "
		       "key; or name the selector in use with --selector",
		       "no DKIM key found for %s at the common selectors (selector1, selector2, "
		       "google, k1, s1, default)",
		       c->domain);
}
