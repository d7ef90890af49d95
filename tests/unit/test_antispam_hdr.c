/* Unit tests for report/antispam_hdr: splitting EOP's and smexop's
 * antispam report fields, and the words for each documented value. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/arena.h"
#include "report/antispam_hdr.h"

static void test_forefront(void **state)
{
	static const char v[] =
	    " CIP:2001:db8::1;CTRY:US;LANG:en;SCL:1;SRV:;IPV:NLI;SFV:NSPM;H:mail.example.com;"
	    "PTR:mail.example.com;CAT:NONE;SFS:(13230031)(4636009);\r\n DIR:INB;";
	struct arena *a = arena_new();
	struct antispam_report r;

	(void)state;
	assert_int_equal(antispam_report_parse(&r, a, v, strlen(v)), 0);
	assert_int_equal(r.n, 12);
	assert_false(r.truncated);
	assert_string_equal(r.items[0].key, "CIP");
	assert_string_equal(r.items[0].value, "2001:db8::1"); /* split at the first ':' */
	assert_string_equal(r.items[0].name, "connecting IP address");
	assert_null(r.items[0].meaning);
	assert_string_equal(r.items[4].key, "SRV");
	assert_string_equal(r.items[4].value, "");
	assert_string_equal(r.items[11].key, "DIR"); /* across the folding */
	assert_string_equal(r.items[11].meaning, "inbound");
	assert_string_equal(antispam_report_find(&r, "sfv"), "NSPM");
	assert_string_equal(antispam_report_find(&r, "SFS"), "(13230031)(4636009)");
	assert_null(antispam_report_find(&r, "BCL"));
	arena_free(a);
}

struct meaning_case {
	const char *key, *value, *want; /* want NULL: no meaning */
};

static const struct meaning_case meanings[] = {
	{ "SCL", "-1", "filtering skipped (safe sender, IP Allow List, bypass rule): Inbox" },
	{ "SCL", "0", "not spam: Inbox" },
	{ "SCL", "1", "not spam: Inbox" },
	{ "SCL", "3", "not spam: Inbox (EOP never stamps 2-4)" },
	{ "SCL", "5", "spam: Junk Email folder" },
	{ "SCL", "6", "spam: Junk Email folder" },
	{ "SCL", "7", "high confidence spam" },
	{ "SCL", "9", "high confidence spam" },
	{ "SCL", "10", NULL },
	{ "SCL", "-2", NULL },
	{ "SCL", "x", NULL },
	{ "SCL", "", NULL },
	{ "SCL", "1x", NULL },
	{ "BCL", "0", "not from a bulk sender" },
	{ "BCL", "3", "bulk sender with few complaints" },
	{ "BCL", "4", "bulk sender with a mixed number of complaints" },
	{ "BCL", "7", "bulk sender with a mixed number of complaints" },
	{ "BCL", "8", "bulk sender with many complaints" },
	{ "BCL", "-1", NULL },
	{ "PCL", "2", "content not likely to be phishing" },
	{ "PCL", "5", "content likely to be phishing" },
	{ "SFV", "SPM", "spam (spam filtering marked it)" },
	{ "SFV", "NSPM", "not spam" },
	{ "SFV", "SKS", "marked as spam before spam filtering (e.g. by a mail flow rule)" },
	{ "SFV", "SKA", "filtering skipped: the sender is on the anti-spam policy's allow list" },
	{ "SFV", "SKB", "marked as spam: the sender is on the anti-spam policy's block list" },
	{ "SFV", "SKN", "marked as not spam before spam filtering (SCL -1, bypass)" },
	{ "SFV", "SKQ", "released from quarantine" },
	{ "SFV", "SFE", "filtering skipped: the sender is in the user's Safe Senders" },
	{ "SFV", "BLK", "filtering skipped, blocked: the sender is in the user's Blocked Senders" },
	{ "SFV", "XYZ", NULL },
	{ "CAT", "MALW", "malware" },
	{ "CAT", "HPHSH", "high confidence phishing" },
	{ "CAT", "PHSH", "phishing" },
	{ "CAT", "HSPM", "high confidence spam" },
	{ "CAT", "SPOOF", "spoofing (composite authentication failed)" },
	{ "CAT", "UIMP", "user impersonation" },
	{ "CAT", "DIMP", "domain impersonation" },
	{ "CAT", "GIMP", "mailbox intelligence impersonation" },
	{ "CAT", "SPM", "spam" },
	{ "CAT", "BULK", "bulk" },
	{ "CAT", "INTOS", "intra-organisation phishing" },
	{ "CAT", "OSPM", "outbound spam" },
	{ "CAT", "NONE", "no verdict" },
	{ "IPV", "CAL", "the source IP is on the IP Allow List (connection filtering)" },
	{ "IPV", "NLI", "the IP address is not on any IP reputation list" },
	{ "SFTY", "9.19", "domain impersonation" },
	{ "SFTY", "9.20", "user impersonation" },
	{ "SFTY", "9.25", "first contact safety tip" },
	{ "SFTY", "9.2", NULL },
	{ "DIR", "OUT", "outbound" },
	{ "DIR", "INT", "internal (within the organisation)" },
	{ "SRV", "BULK",
	  "bulk: spam filtering and the BCL threshold found the message to be bulk mail" },
	{ "ACT", "quarantine", "quarantined" },
	{ "ACT", "QUARANTINE", NULL }, /* smexop writes lower case */
	{ "dest", "J", "Junk Email folder" },
	{ "cip", "192.0.2.1", NULL },
	{ "UNKNOWN", "1", NULL },
};

static void test_meanings(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(meanings) / sizeof(meanings[0]); i++) {
		const struct meaning_case *c = &meanings[i];
		const char *got = antispam_value_meaning(c->key, c->value);

		if (c->want == NULL && got != NULL)
			fail_msg("%s:%s means \"%s\", wanted nothing", c->key, c->value, got);
		if (c->want != NULL && (got == NULL || strcmp(got, c->want) != 0))
			fail_msg("%s:%s means \"%s\"", c->key, c->value, got ? got : "(nothing)");
	}
	assert_string_equal(antispam_key_name("scl"), "spam confidence level");
	assert_string_equal(antispam_key_name("BCL"), "bulk complaint level");
	assert_null(antispam_key_name("XYZ"));
	assert_null(antispam_key_name(NULL));
	assert_null(antispam_value_meaning(NULL, "1"));
	assert_null(antispam_value_meaning("SCL", NULL));
}

static void test_shapes(void **state)
{
	struct arena *a = arena_new();
	struct antispam_report r;
	char *big;
	size_t i;

	(void)state;
	/* X-Microsoft-Antispam */
	assert_int_equal(antispam_report_parse(&r, a, "BCL:0;", 6), 0);
	assert_int_equal(r.n, 1);
	assert_string_equal(r.items[0].meaning, "not from a bulk sender");
	/* empty, only separators, no colon, no trailing ';' */
	assert_int_equal(antispam_report_parse(&r, a, "", 0), 0);
	assert_int_equal(r.n, 0);
	assert_int_equal(antispam_report_parse(&r, a, " ;; ; ", 6), 0);
	assert_int_equal(r.n, 0);
	assert_int_equal(antispam_report_parse(&r, a, "NOCOLON;SCL:5", 13), 0);
	assert_int_equal(r.n, 2);
	assert_string_equal(r.items[0].key, "NOCOLON");
	assert_string_equal(r.items[0].value, "");
	assert_string_equal(r.items[1].meaning, "spam: Junk Email folder");
	/* NUL is data, not the end */
	assert_int_equal(antispam_report_parse(&r, a, "A:\0;SCL:1", 9), 0);
	assert_int_equal(r.n, 2);
	/* too many items: the first ANTISPAM_MAX_ITEMS are kept */
	big = malloc(4 * (ANTISPAM_MAX_ITEMS + 10));
	assert_non_null(big);
	for (i = 0; i < ANTISPAM_MAX_ITEMS + 10; i++)
		memcpy(big + 4 * i, "K:1;", 4);
	assert_int_equal(antispam_report_parse(&r, a, big, 4 * (ANTISPAM_MAX_ITEMS + 10)), 0);
	assert_int_equal(r.n, ANTISPAM_MAX_ITEMS);
	assert_true(r.truncated);
	free(big);
	/* too long: refused */
	big = calloc(1, ANTISPAM_MAX_LEN + 1);
	assert_non_null(big);
	assert_int_equal(antispam_report_parse(&r, a, big, ANTISPAM_MAX_LEN + 1), -1);
	free(big);
	assert_int_equal(antispam_report_parse(NULL, a, "x", 1), -1);
	assert_int_equal(antispam_report_parse(&r, a, NULL, 0), -1);
	arena_free(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_forefront),
		cmocka_unit_test(test_meanings),
		cmocka_unit_test(test_shapes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
