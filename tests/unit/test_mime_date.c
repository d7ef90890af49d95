/* Unit tests for mime/date: RFC 5322 dates, the obsolete forms, the
 * shapes real Received fields carry (asctime, AM/PM, "-400", year
 * "0102"), and text that must not be read as a date. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "mime/date.h"

struct date_case {
	const char *text;
	const char *utc; /* date_format_utc of the result; NULL: not a date */
	bool zone_known;
	int offset; /* minutes */
};

static const struct date_case cases[] = {
	/* RFC 5322 3.3 and its examples */
	{ "Fri, 21 Nov 1997 09:55:06 -0600", "1997-11-21T15:55:06Z", true, -360 },
	{ "Tue, 1 Jul 2003 10:52:37 +0200", "2003-07-01T08:52:37Z", true, 120 },
	{ "Thu, 13 Feb 1969 23:32:54 -0330", "1969-02-14T03:02:54Z", true, -210 },
	{ "21 Nov 1997 09:55:06 +0000", "1997-11-21T09:55:06Z", true, 0 },
	{ "Wed, 28 Aug 2002 12:25:33 -0400 (EDT)", "2002-08-28T16:25:33Z", true, -240 },
	{ "Mon, 15 Jan 2024 02:00:04 -0800 (PST)", "2024-01-15T10:00:04Z", true, -480 },
	/* obsolete forms (RFC 5322 4.3) */
	{ "Fri, 21 Nov 97 09:55:06 GMT", "1997-11-21T09:55:06Z", true, 0 },
	{ "21 Nov 02 09:55:06 EST", "2002-11-21T14:55:06Z", true, -300 },
	{ "Sun, 5 Aug 01 14:39 PDT", "2001-08-05T21:39:00Z", true, -420 },
	{ "Thu,\r\n 13\r\n   Feb\r\n  1969\r\n 23:32\r\n -0330 (Newfoundland Time)",
	  "1969-02-14T03:02:00Z", true, -210 },
	{ "Fri, 21 Nov 1997 09(comment):   55  :  06 -0600", "1997-11-21T15:55:06Z", true, -360 },
	{ "28 Aug 2002 15:40:04 -0000", "2002-08-28T15:40:04Z", false, 0 },
	{ "Wed, 28 Aug 2002 15:40:04 Z", "2002-08-28T15:40:04Z", false, 0 },
	{ "Wed, 28 Aug 2002 15:40:04 UT", "2002-08-28T15:40:04Z", true, 0 },
	{ "Wed, 28 Aug 2002 15:40:04", "2002-08-28T15:40:04Z", false, 0 },
	{ "Tue, 17 Sep 102 14:12:41 -0300", "2002-09-17T17:12:41Z", true, -180 },
	/* real-world shapes */
	{ "Wednesday, 28 August 2002 12:25:33 +0100", "2002-08-28T11:25:33Z", true, 60 },
	{ "Wed 28 Aug 2002 12:25:33 +0100", "2002-08-28T11:25:33Z", true, 60 },
	{ "28-Aug-2002 12:25:33 +0100", "2002-08-28T11:25:33Z", true, 60 },
	{ "Wed, 28 Aug 2002 12:25:33.123 +0100", "2002-08-28T11:25:33Z", true, 60 },
	{ "Wed, 28 Aug 2002 12:25:33 +01:00", "2002-08-28T11:25:33Z", true, 60 },
	{ "Wed, 28 Aug 2002 12:25:33 CEST", "2002-08-28T10:25:33Z", true, 120 },
	{ "Wed, 28 Aug 2002 12:25:33 +0200 CEST", "2002-08-28T10:25:33Z", true, 120 },
	{ "Wed, 27 Jun 2001 3:36:25 -400 (EDT)", "2001-06-27T07:36:25Z", true, -240 },
	{ "Mon, 07 Oct 2002 15:10:41 +100", "2002-10-07T14:10:41Z", true, 60 },
	{ "Wed, 17 Jul 0102 18:53:51 -0800", "2002-07-18T02:53:51Z", true, -480 },
	{ "Jun, 03 2002 8:30:03 AM -0300", "2002-06-03T11:30:03Z", true, -180 },
	{ "Sep, 24 2002 11:41:03 PM -0800", "2002-09-25T07:41:03Z", true, -480 },
	{ "Sep, 25 2002 12:30:14 AM -0100", "2002-09-25T01:30:14Z", true, -60 },
	{ "Jun, 06 2002 12:07:31 p.m. -0800", "2002-06-06T20:07:31Z", true, -480 },
	{ "Mon, 22 Jul 2002 2:00:11 PM +0200 smtpmail", "2002-07-22T12:00:11Z", true, 120 },
	{ "Thu, 18 Jul 2002 19:37:04 -0400 for <chris@example.com>", "2002-07-18T23:37:04Z", true,
	  -240 },
	{ "Wed Jul 17 17:24:52 2002", "2002-07-17T17:24:52Z", false, 0 },
	{ "Wed Jul 17 17:24:52 EDT 2002", "2002-07-17T21:24:52Z", true, -240 },
	{ "Jul 17 17:24:52 2002", "2002-07-17T17:24:52Z", false, 0 },
	{ "2002-08-28T12:25:33Z", "2002-08-28T12:25:33Z", true, 0 },
	{ "2002-08-28 12:25:33 +02:00", "2002-08-28T10:25:33Z", true, 120 },
	{ "Thu, 29 Feb 2024 23:59:60 +0000", "2024-03-01T00:00:00Z", true, 0 },
	{ "Thu, 6 Jun 2002 09:07:02 -0700 (PDT) (envelope-from x", "2002-06-06T16:07:02Z", true,
	  -420 },
	/* not dates */
	{ "", NULL, false, 0 },
	{ "   ", NULL, false, 0 },
	{ "garbage in the date field", NULL, false, 0 },
	{ "Wed, 31 Feb 2002 12:00:00 +0000", NULL, false, 0 },
	{ "Fri, 29 Feb 2002 12:00:00 +0000", NULL, false, 0 },
	{ "Wed, 17 Jul 2002 25:61:00 +0000", NULL, false, 0 },
	{ "Wed, 17 Jul 2002 12:61:00 +0000", NULL, false, 0 },
	{ "Wed, 32 Jul 2002 12:00:00 +0000", NULL, false, 0 },
	{ "Wed, 0 Jul 2002 12:00:00 +0000", NULL, false, 0 },
	{ "Someday, 99 Foo 2002 12:00:00 +0000", NULL, false, 0 },
	{ "28/08/2002 10:40:04", NULL, false, 0 },
	{ "Wed, 17 Foo 2002 12:00:00 +0000", NULL, false, 0 },
	{ "Wed, 17 Jul 2002 12:00:00 +2500", NULL, false, 0 },
	{ "Wed, 17 Jul 2002 12:00:00 +12345", NULL, false, 0 },
	{ "Wed, 17 Jul 2002 12:00:00 -0400 junk", "2002-07-17T16:00:00Z", true, -240 },
	{ "Wed, 17 Jul 2002 12:00:00 pacific standard", NULL, false, 0 },
	{ "Wed, 17 Jul 10000 12:00:00 +0000", NULL, false, 0 },
	{ "Wed, 17 Jul 1800 12:00:00 +0000", NULL, false, 0 },
	{ "Wed, 17 Jul 2002", NULL, false, 0 },
	{ "Wed, 17 Jul 2002 12", NULL, false, 0 },
	{ "Wed, 17 Jul 2002 13:00:00 PM +0000", NULL, false, 0 },
	{ "(((((((((((((((((((((((((((((((((((", NULL, false, 0 },
	{ "Wed, 17 Jul 2002 12:00:00 +0000 (unclosed", "2002-07-17T12:00:00Z", true, 0 },
};

static void test_cases(void **state)
{
	size_t i;
	char buf[64];

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct date_case *c = &cases[i];
		struct date_time d;
		int r = date_parse(c->text, strlen(c->text), &d);

		if (c->utc == NULL) {
			if (r == 0)
				fail_msg("case %zu \"%s\": read as %s", i, c->text,
				         date_format_utc(d.utc, buf, sizeof(buf)));
			continue;
		}
		if (r != 0)
			fail_msg("case %zu \"%s\": not read", i, c->text);
		assert_string_equal(date_format_utc(d.utc, buf, sizeof(buf)), c->utc);
		if (d.zone_known != c->zone_known)
			fail_msg("case %zu \"%s\": zone_known %d", i, c->text, d.zone_known);
		if (c->zone_known)
			assert_int_equal(d.offset_min, c->offset);
	}
}

static void test_format(void **state)
{
	struct date_time d;
	char buf[64];

	(void)state;
	assert_int_equal(date_parse("Wed, 28 Aug 2002 12:25:33 -0400", 31, &d), 0);
	assert_string_equal(date_format(&d, buf, sizeof(buf)), "2002-08-28 12:25:33 -0400");
	assert_int_equal(date_parse("Thu, 13 Feb 1969 23:32:54 -0330", 31, &d), 0);
	assert_string_equal(date_format(&d, buf, sizeof(buf)), "1969-02-13 23:32:54 -0330");
	assert_int_equal(date_parse("28 Aug 2002 15:40:04 -0000", 26, &d), 0);
	assert_string_equal(date_format(&d, buf, sizeof(buf)), "2002-08-28 15:40:04 UTC?");
	assert_string_equal(date_format_utc(0, buf, sizeof(buf)), "1970-01-01T00:00:00Z");
	assert_string_equal(date_format_utc(-1, buf, sizeof(buf)), "1969-12-31T23:59:59Z");
	assert_string_equal(date_format_utc(951782400, buf, sizeof(buf)), "2000-02-29T00:00:00Z");
	assert_string_equal(date_format_duration(0, buf, sizeof(buf)), "0s");
	assert_string_equal(date_format_duration(45, buf, sizeof(buf)), "45s");
	assert_string_equal(date_format_duration(185, buf, sizeof(buf)), "3m 05s");
	assert_string_equal(date_format_duration(-185, buf, sizeof(buf)), "-3m 05s");
	assert_string_equal(date_format_duration(7210, buf, sizeof(buf)), "2h 00m 10s");
	assert_string_equal(date_format_duration(3 * 86400 + 4 * 3600 + 5 * 60, buf, sizeof(buf)),
	                    "3d 4h 05m");
	assert_string_equal(date_format_duration(INT64_MIN, buf, sizeof(buf)),
	                    "-106751991167300d 15h 30m");
}

static void test_not_terminated(void **state)
{
	/* the length bounds the read: no NUL needed, nothing read past it */
	const char text[] = { 'W', 'e', 'd', ',', ' ', '2', '8', ' ', 'A', 'u', 'g', ' ', '2', '0',
		              '0', '2', ' ', '1', '2', ':', '2', '5', ':', '3', '3', '9', '9' };
	struct date_time d;

	(void)state;
	assert_int_equal(date_parse(text, 25, &d), 0);
	assert_int_equal(d.sec, 33);
	assert_int_equal(date_parse(NULL, 0, &d), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cases),
		cmocka_unit_test(test_format),
		cmocka_unit_test(test_not_terminated),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
