/* Unit tests for pipeline/stage_action: the policy table case by case
 * (DMARC p=reject and p=quarantine honoured or not, the configurable
 * actions, spoof, the IP allow list, an earlier decision kept), EOP's
 * exact 5.7.509 text, and the policy read from the anti_phishing config
 * section. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "auth/dmarc_record.h"
#include "core/arena.h"
#include "core/config.h"
#include "pipeline/stage_action.h"

enum pol { DEF, NOHONOR, REJ_Q, REJ_J, QUAR_J, SPOOF_Q, SPOOF_D, NOSPOOF };
enum { N = DMARC_POLICY_NONE, Q = DMARC_POLICY_QUARANTINE, R = DMARC_POLICY_REJECT };

struct act_case {
	const char *name;
	enum pol pol;
	bool allow; /* IPV:CAL */
	bool compauth_fail, dmarc_fail;
	int disposition;
	enum msg_action before; /* an earlier stage's decision */
	/* wanted */
	enum msg_action action;
	int scl;
	enum msg_sfv sfv;
	const char *cat;
	unsigned code;
	const char *reason; /* first reason, or NULL */
};

#define D  MSG_ACTION_DELIVER
#define J  MSG_ACTION_JUNK
#define QU MSG_ACTION_QUARANTINE
#define RJ MSG_ACTION_REJECT

static const struct act_case cases[] = {
	{ "clean", DEF, .action = D, .scl = 1, .sfv = MSG_SFV_NSPM, .cat = "NONE" },
	{ "dmarc reject", DEF, .compauth_fail = true, .dmarc_fail = true, .disposition = R,
	  .action = RJ, .scl = 5, .sfv = MSG_SFV_SPM, .cat = "SPOOF", .code = 550,
	  .reason = "DMARC_REJECT" },
	{ "dmarc reject -> quarantine", REJ_Q, .compauth_fail = true, .dmarc_fail = true,
	  .disposition = R, .action = QU, .scl = 5, .sfv = MSG_SFV_SPM, .cat = "SPOOF",
	  .reason = "DMARC_REJECT" },
	{ "dmarc reject -> junk", REJ_J, .compauth_fail = true, .dmarc_fail = true,
	  .disposition = R, .action = J, .scl = 5, .sfv = MSG_SFV_SPM, .cat = "SPOOF",
	  .reason = "DMARC_REJECT" },
	{ "dmarc quarantine", DEF, .compauth_fail = true, .dmarc_fail = true, .disposition = Q,
	  .action = QU, .scl = 5, .sfv = MSG_SFV_SPM, .cat = "SPOOF",
	  .reason = "DMARC_QUARANTINE" },
	{ "dmarc quarantine -> junk", QUAR_J, .compauth_fail = true, .dmarc_fail = true,
	  .disposition = Q, .action = J, .scl = 5, .sfv = MSG_SFV_SPM, .cat = "SPOOF",
	  .reason = "DMARC_QUARANTINE" },
	{ "dmarc reject not honoured: spoof action", NOHONOR, .compauth_fail = true,
	  .dmarc_fail = true, .disposition = R, .action = J, .scl = 5, .sfv = MSG_SFV_SPM,
	  .cat = "SPOOF", .reason = "SPOOF" },
	{ "pct sampled out to none: spoof", DEF, .compauth_fail = true, .dmarc_fail = true,
	  .disposition = N, .action = J, .scl = 5, .sfv = MSG_SFV_SPM, .cat = "SPOOF",
	  .reason = "SPOOF" },
	{ "spoof (implicit fail)", DEF, .compauth_fail = true, .action = J, .scl = 5,
	  .sfv = MSG_SFV_SPM, .cat = "SPOOF", .reason = "SPOOF" },
	{ "spoof -> quarantine (strict)", SPOOF_Q, .compauth_fail = true, .action = QU, .scl = 5,
	  .sfv = MSG_SFV_SPM, .cat = "SPOOF", .reason = "SPOOF" },
	{ "spoof -> deliver", SPOOF_D, .compauth_fail = true, .action = D, .scl = 1,
	  .sfv = MSG_SFV_NSPM, .cat = "SPOOF", .reason = "SPOOF" },
	{ "spoof intelligence off", NOSPOOF, .compauth_fail = true, .action = D, .scl = 1,
	  .sfv = MSG_SFV_NSPM, .cat = "NONE" },
	{ "dmarc pass, compauth pass", DEF, .disposition = R, .action = D, .scl = 1,
	  .sfv = MSG_SFV_NSPM, .cat = "NONE" },
	{ "allow-listed IP, clean", DEF, .allow = true, .action = D, .scl = -1, .sfv = MSG_SFV_SKN,
	  .cat = "NONE", .reason = "IP_ALLOW" },
	{ "allow-listed IP, dmarc reject", DEF, .allow = true, .compauth_fail = true,
	  .dmarc_fail = true, .disposition = R, .action = D, .scl = -1, .sfv = MSG_SFV_SKN,
	  .cat = "NONE", .reason = "IP_ALLOW" },
	{ "allow-listed IP, spoof", DEF, .allow = true, .compauth_fail = true, .action = D,
	  .scl = -1, .sfv = MSG_SFV_SKN, .cat = "NONE", .reason = "IP_ALLOW" },
	{ "earlier reject kept", DEF, .compauth_fail = true, .before = RJ, .action = RJ, .scl = 1,
	  .sfv = MSG_SFV_NSPM, .cat = "NONE" },
	{ "earlier tempfail kept", DEF, .dmarc_fail = true, .disposition = R,
	  .before = MSG_ACTION_TEMPFAIL, .action = MSG_ACTION_TEMPFAIL, .scl = 1,
	  .sfv = MSG_SFV_NSPM, .cat = "NONE" },
};

static void policy_for(enum pol p, struct stage_action_policy *out)
{
	stage_action_policy_default(out);
	switch (p) {
	case DEF:
		break;
	case NOHONOR:
		out->honor_dmarc = false;
		break;
	case REJ_Q:
		out->dmarc_reject = MSG_ACTION_QUARANTINE;
		break;
	case REJ_J:
		out->dmarc_reject = MSG_ACTION_JUNK;
		break;
	case QUAR_J:
		out->dmarc_quarantine = MSG_ACTION_JUNK;
		break;
	case SPOOF_Q:
		out->spoof = MSG_ACTION_QUARANTINE;
		break;
	case SPOOF_D:
		out->spoof = MSG_ACTION_DELIVER;
		break;
	case NOSPOOF:
		out->spoof_intelligence = false;
		break;
	}
}

static void test_table(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct act_case *c = &cases[i];
		struct arena *ca = arena_new();
		struct msg_conn *conn = msg_conn_new(ca, 1);
		struct msg *m = msg_new(conn, 2);
		struct stage_action_policy p;

		print_message("case: %s\n", c->name);
		policy_for(c->pol, &p);
		conn->ipv = c->allow ? MSG_IPV_CAL : MSG_IPV_NLI;
		m->verdict.compauth_fail = c->compauth_fail;
		m->verdict.dmarc_fail = c->dmarc_fail;
		m->verdict.dmarc_disposition = c->disposition;
		m->verdict.dmarc_domain = "example.com";
		m->verdict.action = c->before;
		stage_action_decide(&p, m);
		assert_int_equal(m->verdict.action, c->action);
		assert_int_equal(m->verdict.scl, c->scl);
		assert_int_equal(m->verdict.sfv, c->sfv);
		assert_string_equal(m->verdict.cat, c->cat);
		assert_int_equal(m->verdict.reply.code, c->code);
		if (c->reason != NULL) {
			assert_true(m->verdict.nreasons >= 1);
			assert_string_equal(m->verdict.reasons[0].name, c->reason);
		} else {
			assert_int_equal(m->verdict.nreasons, 0);
		}
		if (c->before == D)
			assert_non_null(m->verdict.action_why);
		msg_free(m);
		arena_free(ca);
	}
}

static void test_reject_text(void **state)
{
	struct arena *ca = arena_new();
	struct msg_conn *conn = msg_conn_new(ca, 1);
	struct msg *m = msg_new(conn, 2);
	struct stage_action_policy p;

	(void)state;
	stage_action_policy_default(&p);
	m->verdict.compauth_fail = true;
	m->verdict.dmarc_fail = true;
	m->verdict.dmarc_disposition = R;
	m->verdict.dmarc_domain = "contoso.com";
	stage_action_decide(&p, m);
	assert_int_equal(m->verdict.reply.code, 550);
	assert_string_equal(m->verdict.reply.enhanced, "5.7.509");
	assert_string_equal(m->verdict.reply.text,
	                    "Access denied, sending domain [contoso.com] does not pass DMARC "
	                    "verification and has a DMARC policy of reject.");
	assert_string_equal(m->verdict.action_why, "dmarc_reject_action");
	msg_free(m);
	arena_free(ca);
}

static void test_config_policy(void **state)
{
	static const char yaml[] = "anti_phishing:\n"
	                           "  honor_dmarc_policy: false\n"
	                           "  dmarc_reject_action: junk\n"
	                           "  dmarc_quarantine_action: junk\n"
	                           "  spoof_action: quarantine\n";
	static const char bad[] = "anti_phishing:\n  dmarc_reject_action: deliver\n";
	struct smexop_config *cfg;
	struct stage_action_policy p;
	struct config_diag diag;

	(void)state;
	cfg = config_load(NULL, NULL);
	assert_non_null(cfg);
	stage_action_policy_config(&cfg->anti_phishing, &p);
	assert_true(p.honor_dmarc);
	assert_int_equal(p.dmarc_reject, MSG_ACTION_REJECT);
	assert_int_equal(p.dmarc_quarantine, MSG_ACTION_QUARANTINE);
	assert_true(p.spoof_intelligence);
	assert_int_equal(p.spoof, MSG_ACTION_JUNK);
	cfg = config_free(cfg);

	cfg = config_load_mem("ap.yaml", yaml, sizeof(yaml) - 1, &diag);
	assert_non_null(cfg);
	stage_action_policy_config(&cfg->anti_phishing, &p);
	assert_false(p.honor_dmarc);
	assert_int_equal(p.dmarc_reject, MSG_ACTION_JUNK);
	assert_int_equal(p.dmarc_quarantine, MSG_ACTION_JUNK);
	assert_int_equal(p.spoof, MSG_ACTION_QUARANTINE);
	config_free(cfg);

	/* EOP offers no "deliver" for a DMARC reject: the schema refuses it */
	assert_null(config_load_mem("bad.yaml", bad, sizeof(bad) - 1, &diag));
	assert_true(diag.n >= 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_reject_text),
		cmocka_unit_test(test_config_policy),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
