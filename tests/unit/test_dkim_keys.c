/*
 * Unit tests for auth/dkim_keys and the dkim section of the
 * configuration: good and bad dkim.signing items (line:col), the state
 * file, init and rotate on a temporary key directory, the status
 * verdicts against an in-memory zone, and dkim_signing_for_domain()
 * signing a message that then verifies.
 */
#include <dirent.h>
#include <event2/event.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "auth/dkim.h"
#include "auth/dkim_keys.h"
#include "core/arena.h"
#include "core/buf.h"
#include "core/config.h"
#include "core/dns.h"
#include "core/dns_zone.h"
#include "mime/raw.h"

/* a 512-bit RSA public key (SPKI), too small for DKIM */
#define RSA512                                                                                     \
	"MFwwDQYJKoZIhvcNAQEBBQADSwAwSAJBAKbYK494uAvBtQAcju4V/+HQ7GEc/bP1Bco8dzOhq8cuuQNKj6BqwFmh" \
	"DsAKFMMu7O4wPMgxF62LSarJ+rjhVn8CAwEAAQ=="

static char tmpdir[] = "/tmp/test_dkim_keys.XXXXXX";

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int setup(void **state)
{
	(void)state;
	if (mkdtemp(tmpdir) == NULL)
		return -1;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	return nftw(tmpdir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static struct smexop_config *load(const char *yaml, struct config_diag *diag)
{
	return config_load_mem("t.yaml", yaml, strlen(yaml), diag);
}

/* errors_text - "line:col: message" lines of diag */
static const char *errors_text(const struct config_diag *diag)
{
	static char out[4096];
	size_t used = 0, i;

	out[0] = '\0';
	for (i = 0; i < diag->n && used < sizeof(out); i++)
		used += (size_t)snprintf(out + used, sizeof(out) - used, "%s%u:%u: %s",
		                         i ? "\n" : "", diag->errors[i].line, diag->errors[i].col,
		                         diag->errors[i].msg);
	return out;
}

/* config_for - a configuration with one signing item under tmpdir/sub */
static struct smexop_config *config_for(const char *sub, const char *extra)
{
	struct config_diag diag;
	struct smexop_config *cfg;
	char yaml[1024];

	snprintf(yaml, sizeof(yaml),
	         "dkim:\n  signing:\n    - domain: Example.COM\n      key_dir: %s/%s\n%s", tmpdir,
	         sub, extra ? extra : "");
	cfg = load(yaml, &diag);
	if (cfg == NULL)
		fail_msg("%s", errors_text(&diag));
	return cfg;
}

static char *read_text(const char *path)
{
	static char text[8192];
	FILE *f = fopen(path, "r");
	size_t n;

	if (f == NULL)
		return NULL;
	n = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	text[n] = '\0';
	return text;
}

static unsigned file_mode(const char *path)
{
	struct stat sb;

	if (stat(path, &sb) < 0)
		return 0xffff;
	return (unsigned)(sb.st_mode & 07777);
}

/* ---- the configuration ------------------------------------------------- */

static void test_config_good(void **state)
{
	static const char yaml[] = "dkim:\n"
	                           "  signing:\n"
	                           "    - domain: Example.ORG\n"
	                           "    - domain: mail.example.net\n"
	                           "      enabled: false\n"
	                           "      key_dir: /srv/keys/\n"
	                           "      algorithm: dual\n"
	                           "      rsa_bits: 3072\n"
	                           "      selector: May2024\n"
	                           "      next_selector: nov2024\n"
	                           "      headers: [from, to, subject]\n"
	                           "      canonicalization: simple/relaxed\n"
	                           "      expire: 7d\n";
	struct config_diag diag;
	struct smexop_config *cfg = load(yaml, &diag);
	const struct config_dkim_signing *a, *b;
	struct arena *ar = arena_new();

	(void)state;
	if (cfg == NULL)
		fail_msg("%s", errors_text(&diag));
	assert_int_equal(cfg->dkim.signing.n, 2);
	a = &cfg->dkim.signing.v[0];
	b = &cfg->dkim.signing.v[1];
	assert_string_equal(a->domain, "example.org");
	assert_true(a->enabled);
	assert_string_equal(a->key_dir, "/var/lib/smexop/dkim");
	assert_int_equal(a->algorithm, CONFIG_DKIM_RSA);
	assert_int_equal(a->rsa_bits, 2048);
	assert_string_equal(a->selector, "selector1");
	assert_string_equal(a->next_selector, "selector2");
	assert_int_equal(a->headers.n, 0);
	assert_int_equal(a->canonicalization, CONFIG_DKIM_RELAXED_RELAXED);
	assert_int_equal(a->expire_ms, 0);
	assert_false(b->enabled);
	assert_int_equal(b->algorithm, CONFIG_DKIM_DUAL);
	assert_int_equal(b->rsa_bits, 3072);
	assert_string_equal(b->selector, "may2024");
	assert_string_equal(b->next_selector, "nov2024");
	assert_int_equal(b->headers.n, 3);
	assert_string_equal(b->headers.v[2], "subject");
	assert_int_equal(b->canonicalization, CONFIG_DKIM_SIMPLE_RELAXED);
	assert_int_equal(b->expire_ms, 7ULL * 86400 * 1000);
	assert_string_equal(dkim_keys_dir(b, ar), "/srv/keys/mail.example.net");
	/* lookups: any case, a trailing dot, no parent or child matching */
	assert_ptr_equal(dkim_keys_config(cfg, "EXAMPLE.org."), a);
	assert_ptr_equal(dkim_keys_config(cfg, "mail.example.net"), b);
	assert_null(dkim_keys_config(cfg, "example.net"));
	assert_null(dkim_keys_config(cfg, "sub.example.org"));
	config_free(cfg);
	/* the default is no signing at all */
	cfg = config_load(NULL, NULL);
	assert_non_null(cfg);
	assert_int_equal(cfg->dkim.signing.n, 0);
	assert_null(dkim_keys_config(cfg, "example.org"));
	config_free(cfg);
	arena_free(ar);
}

struct bad_case {
	const char *yaml;
	const char *want;
};

static void test_config_bad(void **state)
{
	static const struct bad_case cases[] = {
		{ "dkim:\n  signing:\n    - domain: a.example\n    - domain: b.example\n"
		  "    - domain: A.Example\n",
		  "5:15: dkim.signing[2].domain: 'a.example' is already listed (line 3)" },
		{ "dkim:\n  signing:\n    - {domain: a.example}\n    - {domain: a.example}\n"
		  "    - {domain: a.example}\n",
		  "4:16: dkim.signing[1].domain: 'a.example' is already listed (line 3)\n"
		  "5:16: dkim.signing[2].domain: 'a.example' is already listed (line 3)" },
		{ "dkim:\n  signing:\n    - domain: a.example\n      selector: s1\n"
		  "      next_selector: S1\n",
		  "3:7: dkim.signing[0]: selector and next_selector must differ (both 's1')" },
		{ "dkim:\n  signing:\n    - domain: a.example\n      next_selector: selector1\n",
		  "3:7: dkim.signing[0]: selector and next_selector must differ (both "
		  "'selector1')" },
		{ "dkim:\n  signing:\n    - enabled: true\n",
		  "3:7: dkim.signing[0]: domain is required" },
		{ "dkim:\n  signing:\n    - domain: 'exa mple.com'\n",
		  "3:7: dkim.signing[0]: domain: not a domain name" },
		{ "dkim:\n  signing:\n    - domain: a..example\n",
		  "3:7: dkim.signing[0]: domain: not a domain name" },
		{ "dkim:\n  signing:\n    - domain: a.example\n      selector: s/1\n",
		  "3:7: dkim.signing[0]: selector: not a selector name" },
		{ "dkim:\n  signing:\n    - domain: a.example\n      algorithm: dual\n"
		  "      selector: "
		  "abcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghi\n",
		  "3:7: dkim.signing[0]: selector: not a selector name (dual adds \"-ed25519\")" },
		{ "dkim:\n  signing:\n    - domain: a.example\n      rsa_bits: 512\n",
		  "4:17: dkim.signing[0].rsa_bits: must be between 1024 and 4096" },
		{ "dkim:\n  signing:\n    - domain: a.example\n      algorithm: dsa\n",
		  "4:18: dkim.signing[0].algorithm: must be one of: rsa, ed25519, dual" },
		{ "dkim:\n  signing:\n    - domain: a.example\n      canonicalization: relaxed\n",
		  "4:25: dkim.signing[0].canonicalization: must be one of: relaxed/relaxed, "
		  "relaxed/simple, simple/relaxed, simple/simple" },
		{ "dkim:\n  signing:\n    - domain: a.example\n      selectr: s1\n",
		  "4:7: dkim.signing[0]: unknown key 'selectr' (did you mean 'selector'?)" },
		{ "dkim:\n  signing:\n    - domain: a.example\n      expire: soon\n",
		  "4:15: dkim.signing[0].expire: expected a duration such as 500ms, 30s, 5m, 2h or "
		  "7d" },
		{ "dkim:\n  signing: a.example\n", "2:12: dkim.signing: expected a list" },
		{ "dkim:\n  signin: []\n",
		  "2:3: dkim: unknown key 'signin' (did you mean 'signing'?)" },
	};
	struct config_diag diag;
	struct smexop_config *cfg;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cfg = load(cases[i].yaml, &diag);
		if (cfg != NULL)
			fail_msg("case %zu loaded:\n%s", i, cases[i].yaml);
		if (strcmp(errors_text(&diag), cases[i].want) != 0)
			fail_msg("case %zu:\n%s\ngot:\n%s\nwant:\n%s", i, cases[i].yaml,
			         errors_text(&diag), cases[i].want);
	}
}

/* every allocation failure while loading a dkim section gives an error */
static void test_config_alloc(void **state)
{
	static const char yaml[] = "dkim:\n  signing:\n    - domain: a.example\n"
	                           "      headers: [from, to]\n    - domain: b.example\n";
	struct config_diag diag;
	struct smexop_config *cfg;
	unsigned long n;

	(void)state;
	for (n = 1; n < 400; n++) {
		arena_fail_after(n);
		cfg = load(yaml, &diag);
		arena_fail_after(0);
		if (cfg != NULL) {
			assert_int_equal(cfg->dkim.signing.n, 2);
			config_free(cfg);
			break;
		}
		assert_true(diag.n >= 1);
		assert_non_null(strstr(diag.errors[0].msg, "out of memory"));
	}
	assert_true(n > 1 && n < 400);
}

/* the dump of a dkim section loads back to the same dump */
static void test_config_roundtrip(void **state)
{
	static const char yaml[] = "dkim:\n  signing:\n    - domain: a.example\n"
	                           "      headers: [from, subject]\n      expire: 1h30m\n"
	                           "    - {domain: b.example, algorithm: ed25519, enabled: no}\n";
	struct config_diag diag;
	struct smexop_config *a, *b;
	char *t1 = NULL, *t2 = NULL;
	size_t l1, l2;
	FILE *f;

	(void)state;
	a = load(yaml, &diag);
	if (a == NULL)
		fail_msg("%s", errors_text(&diag));
	f = open_memstream(&t1, &l1);
	assert_int_equal(config_dump_yaml(a, f), 0);
	fclose(f);
	b = config_load_mem("dump", t1, l1, &diag);
	if (b == NULL)
		fail_msg("dump does not load: %s\n%s", errors_text(&diag), t1);
	f = open_memstream(&t2, &l2);
	assert_int_equal(config_dump_yaml(b, f), 0);
	fclose(f);
	assert_string_equal(t1, t2);
	assert_non_null(strstr(t1, "expire: 90m"));
	free(t1);
	free(t2);
	config_free(a);
	config_free(b);
}

/* ---- the state file ---------------------------------------------------- */

static void test_state(void **state)
{
	struct smexop_config *cfg = config_for("state", NULL);
	const struct config_dkim_signing *c = &cfg->dkim.signing.v[0];
	struct dkim_keys_state st, back;
	struct sx_err err = { 0 };
	char path[512];

	(void)state;
	/* no file: the configuration's selector */
	assert_int_equal(dkim_keys_state_read(c, &st, &err), 0);
	assert_string_equal(st.active, "selector1");
	assert_false(st.from_file);
	assert_int_equal(st.rotated, 0);
	assert_string_equal(dkim_keys_next(c, &st), "selector2");
	/* round trip */
	snprintf(st.active, sizeof(st.active), "selector2");
	st.rotated = 1700000000;
	assert_int_equal(dkim_keys_state_write(c, &st, &err), 0);
	snprintf(path, sizeof(path), "%s/state/example.com/state", tmpdir);
	assert_int_equal(file_mode(path), 0600);
	assert_non_null(strstr(read_text(path), "active selector2\nrotated 1700000000 "
	                                        "2023-11-14T22:13:20Z\n"));
	snprintf(path, sizeof(path), "%s/state/example.com", tmpdir);
	assert_int_equal(file_mode(path), 0700);
	assert_int_equal(dkim_keys_state_read(c, &back, &err), 0);
	assert_string_equal(back.active, "selector2");
	assert_int_equal(back.rotated, 1700000000);
	assert_true(back.from_file);
	assert_string_equal(dkim_keys_next(c, &back), "selector1");
	/* a selector the configuration does not list is refused on write */
	snprintf(st.active, sizeof(st.active), "other");
	assert_int_equal(dkim_keys_state_write(c, &st, &err), -1);
	config_free(cfg);
}

struct state_case {
	const char *text;
	int rc;
	const char *active; /* or the error */
	unsigned line, col;
};

static void test_state_parse(void **state)
{
	static const struct state_case cases[] = {
		{ "active selector2\n", 0, "selector2", 0, 0 },
		{ "# c\n\n  active   SELECTOR1  \r\nrotated 5 x\nfuture yes\n", 0, "selector1", 0,
		  0 },
		{ "active selector2", 0, "selector2", 0, 0 },
		{ "rotated 5\n", -1, "no 'active SELECTOR' line", 0, 0 },
		{ "", -1, "no 'active SELECTOR' line", 0, 0 },
		{ "# x\nactive selector3\n", -1,
		  "the active selector 'selector3' is neither 'selector1' nor 'selector2' of the "
		  "configuration; fix the configuration or remove the state",
		  2, 8 },
		{ "active selector1\nrotated -1\n", -1, "rotated: not a time in seconds", 2, 9 },
		{ "active\n", -1,
		  "the active selector '' is neither 'selector1' nor 'selector2' of the "
		  "configuration; fix the configuration or remove the state",
		  1, 7 },
	};
	struct smexop_config *cfg = config_for("parse", NULL);
	const struct config_dkim_signing *c = &cfg->dkim.signing.v[0];
	struct dkim_keys_state st;
	struct sx_err err;
	size_t i;
	int rc;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(&err, 0, sizeof(err));
		rc = dkim_keys_state_parse(c, cases[i].text, strlen(cases[i].text), &st, &err);
		if (rc != cases[i].rc)
			fail_msg("case %zu: rc %d (%s)", i, rc, err.msg);
		if (rc == 0) {
			assert_string_equal(st.active, cases[i].active);
			continue;
		}
		if (strcmp(err.msg, cases[i].active) != 0 || err.line != cases[i].line ||
		    err.col != cases[i].col)
			fail_msg("case %zu: %u:%u: %s", i, err.line, err.col, err.msg);
	}
	config_free(cfg);
}

/* ---- init and rotate --------------------------------------------------- */

static void test_init_rotate(void **state)
{
	struct smexop_config *cfg = config_for("rot", "      algorithm: ed25519\n");
	const struct config_dkim_signing *c = &cfg->dkim.signing.v[0];
	struct dkim_keys_state st;
	struct sx_err err = { 0 };
	struct arena *a = arena_new();
	char p1[512], p2[512], k1[8192], k2[8192], path[512];
	size_t made;

	(void)state;
	snprintf(p1, sizeof(p1), "%s/rot/example.com/selector1.ed25519.pem", tmpdir);
	snprintf(p2, sizeof(p2), "%s/rot/example.com/selector2.ed25519.pem", tmpdir);
	/* rotate before init: the next key is missing, nothing changes */
	assert_int_equal(dkim_keys_rotate(c, a, 100, &st, &err), -1);
	assert_non_null(strstr(err.msg, "the next selector's key is missing"));
	assert_int_equal(dkim_keys_state_read(c, &st, &err), 0);
	assert_false(st.from_file);

	assert_int_equal(dkim_keys_init(c, a, &made, &err), 0);
	assert_int_equal(made, 2);
	assert_int_equal(file_mode(p1), 0600);
	assert_int_equal(file_mode(p2), 0600);
	snprintf(path, sizeof(path), "%s/rot/example.com", tmpdir);
	assert_int_equal(file_mode(path), 0700);
	snprintf(k1, sizeof(k1), "%s", read_text(p1));
	snprintf(k2, sizeof(k2), "%s", read_text(p2));
	assert_non_null(strstr(k1, "BEGIN PRIVATE KEY"));
	assert_string_not_equal(k1, k2);
	/* a second init keeps them */
	assert_int_equal(dkim_keys_init(c, a, &made, &err), 0);
	assert_int_equal(made, 0);
	assert_string_equal(read_text(p1), k1);

	/* rotation 1: selector2 signs, selector1 gets a new key */
	assert_int_equal(dkim_keys_rotate(c, a, 1000, &st, &err), 0);
	assert_string_equal(st.active, "selector2");
	assert_int_equal(st.rotated, 1000);
	assert_string_equal(read_text(p2), k2);
	assert_string_not_equal(read_text(p1), k1);
	assert_int_equal(file_mode(p1), 0600);
	assert_int_equal(dkim_keys_state_read(c, &st, &err), 0);
	assert_string_equal(st.active, "selector2");
	assert_true(st.from_file);
	snprintf(k1, sizeof(k1), "%s", read_text(p1));

	/* rotation 2: back to selector1 with the key made at rotation 1 */
	assert_int_equal(dkim_keys_rotate(c, a, 2000, &st, &err), 0);
	assert_string_equal(st.active, "selector1");
	assert_string_equal(read_text(p1), k1);
	assert_string_not_equal(read_text(p2), k2);
	/* no temporary file is left behind */
	{
		DIR *d;
		struct dirent *de;
		int n = 0;

		snprintf(path, sizeof(path), "%s/rot/example.com", tmpdir);
		d = opendir(path);
		assert_non_null(d);
		while ((de = readdir(d)) != NULL)
			if (de->d_name[0] != '.')
				n++;
		closedir(d);
		assert_int_equal(n, 5); /* two keys, their retired ones and the state */
	}

	/* the next key gone: refused, the state stays */
	assert_int_equal(unlink(p2), 0);
	assert_int_equal(dkim_keys_rotate(c, a, 3000, &st, &err), -1);
	assert_int_equal(dkim_keys_state_read(c, &st, &err), 0);
	assert_string_equal(st.active, "selector1");
	assert_int_equal(st.rotated, 2000);
	arena_free(a);
	config_free(cfg);
}

static void test_dual_slots(void **state)
{
	struct smexop_config *cfg =
	    config_for("dual", "      algorithm: dual\n      rsa_bits: 1024\n");
	const struct config_dkim_signing *c = &cfg->dkim.signing.v[0];
	struct dkim_keys_slot s[DKIM_KEYS_MAX_SLOTS];
	struct sx_err err = { 0 };
	struct arena *a = arena_new();
	size_t made;
	char want[512];

	(void)state;
	assert_int_equal(dkim_keys_slots(c, "selector2", a, s), 2);
	assert_int_equal(s[0].type, DKIM_KEY_RSA);
	assert_string_equal(s[0].dns_name, "selector2._domainkey.example.com");
	snprintf(want, sizeof(want), "%s/dual/example.com/selector2.rsa.pem", tmpdir);
	assert_string_equal(s[0].path, want);
	assert_int_equal(s[1].type, DKIM_KEY_ED25519);
	assert_string_equal(s[1].dns_name, "selector2-ed25519._domainkey.example.com");
	snprintf(want, sizeof(want), "%s/dual/example.com/selector2.ed25519.pem", tmpdir);
	assert_string_equal(s[1].path, want);
	assert_int_equal(dkim_keys_load(&s[0], a, &err), 1); /* not made yet */
	assert_int_equal(dkim_keys_init(c, a, &made, &err), 0);
	assert_int_equal(made, 4);
	assert_int_equal(dkim_keys_load(&s[0], a, &err), 0);
	assert_int_equal(s[0].signer.bits, 1024);
	assert_non_null(strstr(s[0].record, "k=rsa"));
	assert_int_equal(dkim_keys_load(&s[1], a, &err), 0);
	assert_non_null(strstr(s[1].record, "k=ed25519"));
	assert_string_equal(s[1].signer.selector, "selector2-ed25519");
	/* a key of the wrong type in a slot's file is refused */
	assert_int_equal(rename(s[0].path, s[1].path), 0);
	assert_int_equal(dkim_keys_load(&s[1], a, &err), -1);
	assert_non_null(strstr(err.msg, "not an Ed25519 key"));
	arena_free(a);
	config_free(cfg);
}

/* ---- status verdicts ----------------------------------------------------- */

struct verdict_case {
	const char *record; /* NULL: no record; "OURS": our key; "OURS+..." our key + tags */
	bool active;
	enum dkim_keys_level level;
	const char *code;
	bool matches, publish;
};

static void test_verdicts(void **state)
{
	static const struct verdict_case cases[] = {
		{ "OURS", true, DKIM_KEYS_OK, "ok", true, false },
		{ "OURS", false, DKIM_KEYS_OK, "ok", true, false },
		{ NULL, true, DKIM_KEYS_ERROR, "missing", false, true },
		{ NULL, false, DKIM_KEYS_WARN, "missing", false, true },
		{ "OTHER", true, DKIM_KEYS_ERROR, "mismatch", false, true },
		{ "OTHER", false, DKIM_KEYS_ERROR, "mismatch", false, true },
		{ "OURS+t=y", true, DKIM_KEYS_WARN, "testing", true, true },
		{ "OURS+t=s", true, DKIM_KEYS_OK, "ok", true, false },
		{ "OURS+h=sha1", true, DKIM_KEYS_ERROR, "badrecord", true, true },
		{ "OURS+s=chat", false, DKIM_KEYS_ERROR, "badrecord", true, true },
		{ "v=DKIM1; k=rsa; p=" RSA512, true, DKIM_KEYS_ERROR, "small", false, true },
		{ "v=DKIM1; k=rsa; p=", false, DKIM_KEYS_INFO, "revoked", false, true },
		{ "v=DKIM1; k=rsa; p=", true, DKIM_KEYS_ERROR, "revoked", false, true },
		{ "v=spf1 -all", true, DKIM_KEYS_ERROR, "badrecord", false, true },
		{ "v=DKIM1; k=rsa; p=AAAA", true, DKIM_KEYS_ERROR, "badrecord", false, true },
		{ "SERVFAIL", true, DKIM_KEYS_ERROR, "dns", false, false },
	};
	struct smexop_config *cfg = config_for("verdict", "      rsa_bits: 1024\n");
	const struct config_dkim_signing *c = &cfg->dkim.signing.v[0];
	struct dkim_keys_slot s[DKIM_KEYS_MAX_SLOTS], other[DKIM_KEYS_MAX_SLOTS];
	struct dkim_keys_verdict v;
	struct sx_err err = { 0 };
	struct arena *a = arena_new();
	struct event_base *base = event_base_new();
	struct dns_zone *z = dns_zone_new();
	struct dns *dns;
	const struct dns_answer *ans;
	char owner[64], txt[2048];
	const char *strings[1];
	size_t made, i;

	(void)state;
	assert_int_equal(dkim_keys_init(c, a, &made, &err), 0);
	assert_int_equal(dkim_keys_slots(c, "selector1", a, s), 1);
	assert_int_equal(dkim_keys_slots(c, "selector2", a, other), 1);
	assert_int_equal(dkim_keys_load(&s[0], a, &err), 0);
	assert_int_equal(dkim_keys_load(&other[0], a, &err), 0);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *r = cases[i].record;

		snprintf(owner, sizeof(owner), "c%zu._domainkey.example.com", i);
		if (r == NULL)
			continue;
		if (strcmp(r, "SERVFAIL") == 0) {
			assert_int_equal(dns_zone_add_failure(z, owner, DNS_T_TXT, DNS_SERVFAIL),
			                 0);
			continue;
		}
		if (strncmp(r, "OURS", 4) == 0)
			snprintf(txt, sizeof(txt), "%s%s%s", s[0].record, r[4] ? "; " : "",
			         r[4] ? r + 5 : "");
		else if (strcmp(r, "OTHER") == 0)
			snprintf(txt, sizeof(txt), "%s", other[0].record);
		else
			snprintf(txt, sizeof(txt), "%s", r);
		strings[0] = txt;
		assert_int_equal(dns_zone_add_txt(z, owner, strings, 1), 0);
	}
	/* another name, so that the missing ones are NXDOMAIN and NODATA alike */
	strings[0] = "x";
	assert_int_equal(dns_zone_add_txt(z, "x.c2._domainkey.example.com", strings, 1), 0);
	dns = dns_new_zone(base, z);
	assert_non_null(dns);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(owner, sizeof(owner), "c%zu._domainkey.example.com", i);
		ans = dns_resolve_sync(dns, base, a, owner, DNS_T_TXT);
		assert_non_null(ans);
		dkim_keys_check(&s[0], cases[i].active, ans, a, &v);
		if (v.level != cases[i].level || strcmp(v.code, cases[i].code) != 0 ||
		    v.matches != cases[i].matches || v.publish != cases[i].publish)
			fail_msg("case %zu (%s): %s %s matches %d publish %d: %s", i,
			         cases[i].record ? cases[i].record : "none",
			         dkim_keys_level_name(v.level), v.code, v.matches, v.publish,
			         v.msg);
		assert_non_null(v.msg);
	}
	/* no answer at all counts as missing */
	dkim_keys_check(&s[0], false, NULL, a, &v);
	assert_string_equal(v.code, "missing");
	/* a key file others can read is a warning once all else is well */
	assert_int_equal(chmod(s[0].path, 0644), 0);
	assert_int_equal(dkim_keys_load(&s[0], a, &err), 0);
	ans = dns_resolve_sync(dns, base, a, "c0._domainkey.example.com", DNS_T_TXT);
	dkim_keys_check(&s[0], true, ans, a, &v);
	assert_int_equal(v.level, DKIM_KEYS_WARN);
	assert_string_equal(v.code, "filemode");
	/* our key file gone: an error before DNS is asked */
	s[0].signer.pkey = NULL;
	dkim_keys_check(&s[0], true, ans, a, &v);
	assert_string_equal(v.code, "nokey");
	assert_int_equal(v.level, DKIM_KEYS_ERROR);
	dns_free(dns);
	dns_zone_free(z);
	event_base_free(base);
	arena_free(a);
	config_free(cfg);
}

static void test_zone_line(void **state)
{
	struct arena *a = arena_new();
	char rec[600];
	const char *line;

	(void)state;
	memset(rec, 'A', sizeof(rec) - 1);
	rec[sizeof(rec) - 1] = '\0';
	line = dkim_keys_zone_line(a, "s._domainkey.example.com", "v=DKIM1; p=x");
	assert_string_equal(line, "s._domainkey.example.com. IN TXT ( \"v=DKIM1; p=x\" )");
	line = dkim_keys_zone_line(a, "s._domainkey.example.com", rec);
	assert_non_null(line);
	/* 599 bytes: 255 + 255 + 89 */
	assert_non_null(strstr(line, "\" \"")); /* split */
	assert_int_equal(strlen(line),
	                 strlen("s._domainkey.example.com. IN TXT (") + 3 * 3 + 599 + 2);
	arena_free(a);
}

/* ---- the pipeline's view ------------------------------------------------- */

struct verify_ctx {
	struct event_base *base;
	struct dkim_verify *v;
	bool done;
};

static void verify_done(struct dkim_verify *v, void *arg)
{
	struct verify_ctx *c = arg;

	c->v = v;
	c->done = true;
	event_base_loopbreak(c->base);
}

/* sign_verify - sign msg with the domain's active keys and verify the
 * result against zone; the number of passing signatures */
static size_t sign_verify(const struct smexop_config *cfg, struct dns_zone *z, struct arena *a,
                          const char **selector)
{
	static const char msg[] = "From: a@example.com\r\nTo: b@example.net\r\nSubject: hi\r\n"
	                          "Date: Mon, 1 Jan 2024 00:00:00 +0000\r\n\r\nhello\r\n";
	struct dkim_signing sg;
	struct dkim_verify_options o;
	const struct dkim_sig_result *res;
	struct verify_ctx vc = { 0 };
	struct sx_err err = { 0 };
	struct raw_message m;
	struct buf out;
	struct event_base *base = event_base_new();
	struct dns *dns = dns_new_zone(base, z);
	size_t i, n, pass = 0;

	assert_int_equal(dkim_signing_for_domain(cfg, "EXAMPLE.com", a, &sg, &err), 1);
	*selector = sg.selector;
	assert_int_equal(raw_message_parse(&m, a, msg, sizeof(msg) - 1, NULL, &err), 0);
	sg.opts.timestamp = (int64_t)time(NULL);
	buf_init(&out, 1 << 20);
	assert_int_equal(dkim_sign(a, &m, sg.signers, sg.nsigners, &sg.opts, &out, &err), 0);
	assert_int_equal(buf_append(&out, msg, sizeof(msg) - 1), 0);
	assert_int_equal(raw_message_parse(&m, a, out.data, out.len, NULL, &err), 0);
	assert_non_null(strstr(out.data, "c=simple/relaxed"));
	assert_non_null(strstr(out.data, "x="));
	if (strstr(out.data, "h=from:from:subject:subject") == NULL)
		fail_msg("%s", out.data);
	dkim_verify_options_init(&o, (int64_t)time(NULL));
	vc.base = base;
	assert_non_null(dkim_verify_start(dns, base, a, &m, &o, verify_done, &vc));
	while (!vc.done)
		assert_true(event_base_dispatch(base) >= 0);
	n = dkim_verify_results(vc.v, &res);
	assert_int_equal(n, sg.nsigners);
	for (i = 0; i < n; i++)
		if (res[i].result == DKIM_PASS)
			pass++;
	buf_free(&out);
	dns_free(dns);
	event_base_free(base);
	return pass;
}

/* publish - the records of selector's keys into z */
static void publish(const struct config_dkim_signing *c, const char *selector, struct dns_zone *z,
                    struct arena *a)
{
	struct dkim_keys_slot s[DKIM_KEYS_MAX_SLOTS];
	struct sx_err err = { 0 };
	size_t i, n = dkim_keys_slots(c, selector, a, s);

	for (i = 0; i < n; i++) {
		assert_int_equal(dkim_keys_load(&s[i], a, &err), 0);
		assert_int_equal(dns_zone_add_txt(z, s[i].dns_name, &s[i].record, 1), 0);
	}
}

static void test_signing_for_domain(void **state)
{
	struct smexop_config *cfg =
	    config_for("sign", "      algorithm: dual\n      rsa_bits: 1024\n"
	                       "      headers: [from, subject]\n"
	                       "      canonicalization: simple/relaxed\n      expire: 1500ms\n"
	                       "    - domain: off.example\n      enabled: false\n");
	const struct config_dkim_signing *c = &cfg->dkim.signing.v[0];
	struct dkim_signing sg;
	struct dkim_keys_state st;
	struct sx_err err = { 0 };
	struct arena *a = arena_new();
	struct dns_zone *z;
	const char *sel = NULL;
	size_t made;

	(void)state;
	/* not configured, or disabled: nothing to sign with */
	assert_int_equal(dkim_signing_for_domain(cfg, "example.org", a, &sg, &err), 0);
	assert_int_equal(dkim_signing_for_domain(cfg, "off.example", a, &sg, &err), 0);
	/* configured, no keys yet */
	assert_int_equal(dkim_signing_for_domain(cfg, "example.com", a, &sg, &err), -1);
	assert_non_null(strstr(err.msg, "the active key of example.com is missing"));
	assert_int_equal(dkim_keys_init(c, a, &made, &err), 0);
	assert_int_equal(dkim_signing_for_domain(cfg, "example.com", a, &sg, &err), 1);
	assert_int_equal(sg.nsigners, 2);
	assert_int_equal(sg.signers[0].alg, DKIM_ALG_RSA_SHA256);
	assert_string_equal(sg.signers[0].selector, "selector1");
	assert_int_equal(sg.signers[1].alg, DKIM_ALG_ED25519_SHA256);
	assert_string_equal(sg.signers[1].selector, "selector1-ed25519");
	assert_string_equal(sg.signers[1].domain, "example.com");
	assert_int_equal(sg.opts.expire, 2);
	assert_string_equal(sg.opts.headers[1], "subject");
	assert_null(sg.opts.headers[2]);

	/* both signatures verify against the published records */
	z = dns_zone_new();
	publish(c, "selector1", z, a);
	assert_int_equal(sign_verify(cfg, z, a, &sel), 2);
	assert_string_equal(sel, "selector1");
	/* after a rotation the next keys sign; the old records no longer do */
	assert_int_equal(dkim_keys_rotate(c, a, 5, &st, &err), 0);
	assert_int_equal(sign_verify(cfg, z, a, &sel), 0);
	assert_string_equal(sel, "selector2");
	/* selector1 still publishes the key the rotation retired: a warning */
	{
		struct dkim_keys_slot s[DKIM_KEYS_MAX_SLOTS];
		struct dkim_keys_verdict v;
		struct event_base *base = event_base_new();
		struct dns *dns = dns_new_zone(base, z);
		size_t i;

		assert_int_equal(dkim_keys_slots(c, "selector1", a, s), 2);
		for (i = 0; i < 2; i++) {
			assert_int_equal(dkim_keys_load(&s[i], a, &err), 0);
			assert_non_null(s[i].retired);
			dkim_keys_check(&s[i], false,
			                dns_resolve_sync(dns, base, a, s[i].dns_name, DNS_T_TXT), a,
			                &v);
			assert_string_equal(v.code, "retired");
			assert_int_equal(v.level, DKIM_KEYS_WARN);
			assert_true(v.publish);
			/* as the active selector it would be an error */
			dkim_keys_check(&s[i], true,
			                dns_resolve_sync(dns, base, a, s[i].dns_name, DNS_T_TXT), a,
			                &v);
			assert_string_equal(v.code, "mismatch");
		}
		dns_free(dns);
		event_base_free(base);
	}
	publish(c, "selector2", z, a);
	assert_int_equal(sign_verify(cfg, z, a, &sel), 2);
	dns_zone_free(z);
	arena_free(a);
	config_free(cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_config_good),
		cmocka_unit_test(test_config_bad),
		cmocka_unit_test(test_config_roundtrip),
		cmocka_unit_test(test_config_alloc),
		cmocka_unit_test(test_state),
		cmocka_unit_test(test_state_parse),
		cmocka_unit_test(test_init_rotate),
		cmocka_unit_test(test_dual_slots),
		cmocka_unit_test(test_verdicts),
		cmocka_unit_test(test_zone_line),
		cmocka_unit_test(test_signing_for_domain),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
