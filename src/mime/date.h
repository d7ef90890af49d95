/*
 * date - a tolerant reader of RFC 5322 dates (Date:, the end of Received:)
 *
 * date_parse() accepts the date-time of RFC 5322 section 3.3 and the forms
 * real mail carries besides it: the obsolete syntax of section 4.3 (two-
 * and three-digit years, named zones UT/GMT/EST...PDT, military letters,
 * comments and folding anywhere), a missing day of week or comma, full
 * day and month names, missing seconds, fractions of a second, "+hh:mm"
 * offsets, common zone abbreviations (CET, BST, JST ...) and asctime's
 * "Wed Jul 17 17:24:52 2002" with or without a zone.  A zone in a comment
 * after a numeric offset, "(EDT)", is ignored as RFC 5322 says.
 *
 * Anything else is not a date: -1, never a guess.  Out-of-range fields
 * (31 Feb, 25:00, year 10000) are not dates either.  The work is linear
 * in the input and nothing is allocated.
 *
 * Two-digit years follow RFC 5322 4.3: 00-49 are 2000-2049, 50-99 are
 * 1950-1999; three-digit years add 1900 ("102" is 2002).  A date without
 * a zone, or with a military letter or "-0000" (RFC 5322: no information),
 * is read as UTC and says so in zone_known.
 */
#ifndef SMEXOP_MIME_DATE_H
#define SMEXOP_MIME_DATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct date_time {
	int64_t utc;                          /* seconds since 1970-01-01T00:00:00Z */
	int offset_min;                       /* the zone's offset east of UTC, in minutes */
	bool zone_known;                      /* false: no zone, -0000 or a military letter */
	int year, month, day, hour, min, sec; /* as written (local time); month 1..12 */
};

/* date_parse - read a date from s[0..len); 0 with *out, or -1 */
int date_parse(const char *s, size_t len, struct date_time *out);

/*
 * date_format - "2002-08-28 12:25:33 -0400" (local time as written, with
 * the offset, or "UTC?" when the zone was unknown) into out; returns out
 */
const char *date_format(const struct date_time *d, char *out, size_t size);

/* date_format_utc - "2002-08-28T16:25:33Z" for seconds since the epoch */
const char *date_format_utc(int64_t t, char *out, size_t size);

/* date_format_duration - "0s", "45s", "3m 05s", "2h 00m 10s", "3d 4h 05m";
 * negative durations start with '-' */
const char *date_format_duration(int64_t seconds, char *out, size_t size);

#endif
