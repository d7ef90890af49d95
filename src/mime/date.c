/*
 * date - a tolerant reader of RFC 5322 dates (see date.h)
 *
 * A small cursor parser: CFWS (white space and nested comments) is skipped
 * between every two parts, so folding and "(EDT)" comments never matter.
 * Three shapes are tried from the first token: RFC 5322 ("[Day,] 28 Aug
 * 2002 12:25:33 -0400"), asctime ("[Day] Aug 28 12:25:33 [zone] 2002") and
 * ISO 8601 ("2002-08-28[T ]12:25:33[Z|+hh:mm]").
 */
#include <stdio.h>
#include <string.h>

#include "core/str.h"
#include "mime/date.h"

#define DATE_MAX_NESTING 16 /* a comment deeper than this runs to the end */

struct cur {
	const char *p, *end;
	bool numeric_zone; /* parse_zone read "+hhmm" */
};

/* skip_cfws - white space and comments (with quoted pairs) */
static void skip_cfws(struct cur *c)
{
	while (c->p < c->end) {
		if (str_is_space((unsigned char)*c->p)) {
			c->p++;
		} else if (*c->p == '(') {
			int depth = 0;

			while (c->p < c->end) {
				char ch = *c->p++;

				if (ch == '\\' && c->p < c->end) {
					c->p++;
				} else if (ch == '(') {
					if (++depth > DATE_MAX_NESTING) {
						c->p = c->end; /* the rest is one comment */
						return;
					}
				} else if (ch == ')') {
					if (--depth == 0)
						break;
				}
			}
			if (depth != 0)
				return; /* unclosed: the rest was comment */
		} else {
			return;
		}
	}
}

/* word - letters at the cursor: their count (0: none), after skipping CFWS */
static size_t word(struct cur *c, const char **w)
{
	size_t n = 0;

	skip_cfws(c);
	*w = c->p;
	while (c->p + n < c->end && str_is_alpha((unsigned char)c->p[n]))
		n++;
	return n;
}

/* number - up to max digits at the cursor: digits read (0: none); *v the value */
static size_t number(struct cur *c, size_t max, int *v)
{
	size_t n = 0;
	int x = 0;

	skip_cfws(c);
	while (c->p < c->end && str_is_digit((unsigned char)*c->p)) {
		if (n == max)
			return 0; /* too many digits: not this field */
		x = x * 10 + (*c->p - '0');
		c->p++;
		n++;
	}
	*v = x;
	return n;
}

/* eat - the character ch at the cursor (after CFWS): consumed or not */
static bool eat(struct cur *c, char ch)
{
	skip_cfws(c);
	if (c->p < c->end && *c->p == ch) {
		c->p++;
		return true;
	}
	return false;
}

static const char *const month_names[] = { "january",   "february", "march",    "april",
	                                   "may",       "june",     "july",     "august",
	                                   "september", "october",  "november", "december" };
static const char *const day_names[] = { "monday", "tuesday",  "wednesday", "thursday",
	                                 "friday", "saturday", "sunday" };

/* match_name - w[0..n) is the 3-letter abbreviation or the full name of one
 * of names; its index or -1 (also "Sept", "Tues", "Thur", "Thurs") */
static int match_name(const char *w, size_t n, const char *const *names, int count)
{
	int i;

	if (n < 3)
		return -1;
	for (i = 0; i < count; i++) {
		size_t full = strlen(names[i]);

		if (n <= full && str_ncasecmp(w, names[i], n) == 0 &&
		    (n == 3 || n == full || n == 4))
			return i;
		if (n == 5 && full > 5 && str_ncasecmp(w, names[i], 5) == 0)
			return i; /* "Thurs" */
	}
	return -1;
}

struct zone_name {
	const char *name;
	int offset; /* minutes east of UTC */
};

/* RFC 5322 4.3 names first; then abbreviations common in real headers.
 * Ambiguous ones (IST, CST in Asia, ...) take the reading mail software
 * of the period used; IST is left out: Irish and Indian both occur. */
static const struct zone_name zones[] = {
	{ "UT", 0 },     { "UTC", 0 },    { "GMT", 0 },    { "EST", -300 },  { "EDT", -240 },
	{ "CST", -360 }, { "CDT", -300 }, { "MST", -420 }, { "MDT", -360 },  { "PST", -480 },
	{ "PDT", -420 }, { "AST", -240 }, { "ADT", -180 }, { "AKST", -540 }, { "AKDT", -480 },
	{ "HST", -600 }, { "NST", -210 }, { "NDT", -150 }, { "WET", 0 },     { "WEST", 60 },
	{ "BST", 60 },   { "CET", 60 },   { "CEST", 120 }, { "MET", 60 },    { "MEST", 120 },
	{ "MEZ", 60 },   { "MESZ", 120 }, { "EET", 120 },  { "EEST", 180 },  { "MSK", 180 },
	{ "JST", 540 },  { "KST", 540 },  { "HKT", 480 },  { "SGT", 480 },   { "AWST", 480 },
	{ "ACST", 570 }, { "AEST", 600 }, { "AEDT", 660 }, { "NZST", 720 },  { "NZDT", 780 },
};

/* zone_lookup - a named zone: 1 known (offset set), 0 not in the table */
static int zone_lookup(const char *w, size_t n, int *offset)
{
	size_t i;

	for (i = 0; i < sizeof(zones) / sizeof(zones[0]); i++)
		if (str_case_eq_n(w, n, zones[i].name, strlen(zones[i].name))) {
			*offset = zones[i].offset;
			return 1;
		}
	return 0;
}

/*
 * parse_zone - an optional zone at the cursor: "+hhmm", "+hh:mm", "+hh",
 * a name, a military letter.  0, or -1 when what stands there is a broken
 * numeric zone.  Absent or unknown names leave zone_known false.
 */
static int parse_zone(struct cur *c, struct date_time *d)
{
	const char *w;
	size_t n;

	skip_cfws(c);
	if (c->p < c->end && (*c->p == '+' || *c->p == '-')) {
		int sign = *c->p == '-' ? -1 : 1;
		int hh = 0, mm = 0, k = 0, dg[4] = { 0 };
		const char *q = ++c->p;

		while (q < c->end && str_is_digit((unsigned char)*q) && k < 4)
			dg[k++] = *q++ - '0';
		if (k == 2 && q + 2 < c->end && *q == ':' && str_is_digit((unsigned char)q[1]) &&
		    str_is_digit((unsigned char)q[2])) {
			dg[2] = q[1] - '0';
			dg[3] = q[2] - '0';
			q += 3;
			k = 4;
		}
		if (k == 4) {
			hh = dg[0] * 10 + dg[1];
			mm = dg[2] * 10 + dg[3];
		} else if (k == 3) { /* "-400": a broken -0400 */
			hh = dg[0];
			mm = dg[1] * 10 + dg[2];
		} else if (k == 2) {
			hh = dg[0] * 10 + dg[1];
		}
		if (k < 2 || (q < c->end && str_is_digit((unsigned char)*q)) || hh > 23 || mm > 59)
			return -1;
		c->p = q;
		c->numeric_zone = true;
		d->offset_min = sign * (hh * 60 + mm);
		/* "-0000": the time is UTC but the local zone is not known */
		d->zone_known = !(sign < 0 && hh == 0 && mm == 0);
		return 0;
	}
	n = word(c, &w);
	if (n == 0)
		return 0;
	if (zone_lookup(w, n, &d->offset_min) == 1)
		d->zone_known = true;
	else if (n > 5)
		return -1; /* a word, not a zone */
	/* a military letter or an unknown abbreviation: read as UTC, unknown zone */
	c->p += n;
	return 0;
}

/* parse_ampm - an optional "AM", "PM", "a.m.", "p.m." after the time */
static int parse_ampm(struct cur *c, struct date_time *d)
{
	const char *p;
	size_t n;
	int pm;

	skip_cfws(c);
	p = c->p;
	n = (size_t)(c->end - p);
	if (n < 2 ||
	    (str_lower((unsigned char)p[0]) != 'a' && str_lower((unsigned char)p[0]) != 'p'))
		return 0;
	pm = str_lower((unsigned char)p[0]) == 'p';
	if (str_lower((unsigned char)p[1]) == 'm' && (n == 2 || !str_is_alpha((unsigned char)p[2])))
		c->p += 2;
	else if (n >= 4 && p[1] == '.' && str_lower((unsigned char)p[2]) == 'm' && p[3] == '.')
		c->p += 4;
	else
		return 0;
	if (d->hour < 1 || d->hour > 12)
		return -1;
	d->hour = d->hour % 12 + (pm ? 12 : 0);
	return 0;
}

/* parse_time - hh:mm[:ss[.frac]] [AM|PM] */
static int parse_time(struct cur *c, struct date_time *d)
{
	if (number(c, 2, &d->hour) == 0 || !eat(c, ':') || number(c, 2, &d->min) != 2)
		return -1;
	d->sec = 0;
	if (eat(c, ':') && number(c, 2, &d->sec) != 2)
		return -1;
	if (c->p < c->end && *c->p == '.') {
		c->p++;
		while (c->p < c->end && str_is_digit((unsigned char)*c->p))
			c->p++;
	}
	return parse_ampm(c, d);
}

/* fix_year - RFC 5322 4.3 for two- and three-digit years */
static int fix_year(int year, size_t digits)
{
	if (digits == 2)
		return year < 50 ? 2000 + year : 1900 + year;
	if (digits == 3 || (digits == 4 && year >= 100 && year < 1000))
		return 1900 + year; /* "102", and "0102" from printf("%04d", tm_year) */
	return year;
}

static bool leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* days_from_civil - days since 1970-01-01 of a proleptic Gregorian date */
static int64_t days_from_civil(int y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

/* finish - range checks and the UTC time */
static int finish(struct date_time *d)
{
	static const int mdays[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	int dim;

	if (d->year < 1900 || d->year > 9999 || d->month < 1 || d->month > 12)
		return -1;
	dim = mdays[d->month - 1] + (d->month == 2 && leap(d->year));
	if (d->day < 1 || d->day > dim || d->hour > 23 || d->min > 59 || d->sec > 60)
		return -1;
	d->utc = days_from_civil(d->year, d->month, d->day) * 86400 + d->hour * 3600 + d->min * 60 +
	         d->sec - (int64_t)d->offset_min * 60;
	return 0;
}

/* at_end - only CFWS and, tolerated, one trailing zone name remain */
static bool at_end(struct cur *c)
{
	const char *w;
	size_t n;
	int off;

	skip_cfws(c);
	if (c->p == c->end)
		return true; /* an unclosed comment at the end is tolerated */
	n = word(c, &w);
	if (n == 0 || zone_lookup(w, n, &off) == 0)
		return false;
	c->p += n;
	skip_cfws(c);
	return c->p == c->end;
}

/* parse_month_first - after a month name: asctime's "Aug 28 12:25:33
 * [zone] 2002", or "Aug, 28 2002 8:30:03 PM -0300" */
static int parse_month_first(struct cur *c, int month, struct date_time *d)
{
	const char *save;
	size_t yd;

	d->month = month + 1;
	eat(c, ',');
	if (number(c, 2, &d->day) == 0)
		return -1;
	eat(c, ',');
	save = c->p;
	yd = number(c, 4, &d->year);
	if (yd >= 2 && (c->p == c->end || *c->p != ':')) {
		d->year = fix_year(d->year, yd);
		if (parse_time(c, d) < 0 || parse_zone(c, d) < 0)
			return -1;
		return at_end(c) ? 0 : -1;
	}
	c->p = save;
	if (parse_time(c, d) < 0)
		return -1;
	skip_cfws(c);
	if (c->p < c->end && !str_is_digit((unsigned char)*c->p) && parse_zone(c, d) < 0)
		return -1;
	yd = number(c, 4, &d->year);
	if (yd < 2)
		return -1;
	d->year = fix_year(d->year, yd);
	if (!d->zone_known && d->offset_min == 0 && parse_zone(c, d) < 0)
		return -1;
	return at_end(c) ? 0 : -1;
}

/* parse_iso - "2002-08-28[T ]12:25:33[Z|+hh:mm]" with the year read */
static int parse_iso(struct cur *c, struct date_time *d)
{
	if (!eat(c, '-') || number(c, 2, &d->month) != 2 || !eat(c, '-') ||
	    number(c, 2, &d->day) != 2)
		return -1;
	if (c->p < c->end && (*c->p == 'T' || *c->p == 't'))
		c->p++;
	if (parse_time(c, d) < 0)
		return -1;
	if (c->p < c->end && (*c->p == 'Z' || *c->p == 'z')) {
		c->p++;
		d->zone_known = true;
	} else if (parse_zone(c, d) < 0) {
		return -1;
	}
	return at_end(c) ? 0 : -1;
}

int date_parse(const char *s, size_t len, struct date_time *out)
{
	struct cur c;
	struct date_time d;
	const char *w;
	size_t n, yd;
	int m;

	if (s == NULL || out == NULL)
		return -1;
	c.p = s;
	c.end = s + len;
	c.numeric_zone = false;
	memset(&d, 0, sizeof(d));
	n = word(&c, &w);
	if (n > 0) {
		if (match_name(w, n, day_names, 7) >= 0) {
			c.p += n;
			eat(&c, ',');
			eat(&c, '.'); /* "Wed.," is rare but seen */
			n = word(&c, &w);
		}
		if (n > 0) {
			/* asctime and others: the month comes first */
			m = match_name(w, n, month_names, 12);
			if (m < 0)
				return -1;
			c.p += n;
			if (parse_month_first(&c, m, &d) < 0 || finish(&d) < 0)
				return -1;
			*out = d;
			return 0;
		}
	}
	n = number(&c, 4, &d.day);
	if (n == 4) {
		d.year = d.day;
		if (parse_iso(&c, &d) < 0 || finish(&d) < 0)
			return -1;
		*out = d;
		return 0;
	}
	if (n == 0 || n > 2)
		return -1;
	eat(&c, '-'); /* "28-Aug-2002" */
	n = word(&c, &w);
	m = match_name(w, n, month_names, 12);
	if (m < 0)
		return -1;
	c.p += n;
	d.month = m + 1;
	eat(&c, '-');
	yd = number(&c, 4, &d.year);
	if (yd < 2)
		return -1;
	d.year = fix_year(d.year, yd);
	if (parse_time(&c, &d) < 0 || parse_zone(&c, &d) < 0 || finish(&d) < 0)
		return -1;
	/* after a numeric zone the date is whole: text behind it ("for <x>"
	 * when a ';' was forgotten) is ignored; after anything else it must
	 * be comments or one zone name */
	if (!c.numeric_zone && !at_end(&c))
		return -1;
	*out = d;
	return 0;
}

const char *date_format(const struct date_time *d, char *out, size_t size)
{
	int off = d->offset_min < 0 ? -d->offset_min : d->offset_min;

	if (!d->zone_known)
		snprintf(out, size, "%04d-%02d-%02d %02d:%02d:%02d UTC?", d->year, d->month, d->day,
		         d->hour, d->min, d->sec);
	else
		snprintf(out, size, "%04d-%02d-%02d %02d:%02d:%02d %c%02d%02d", d->year, d->month,
		         d->day, d->hour, d->min, d->sec, d->offset_min < 0 ? '-' : '+', off / 60,
		         off % 60);
	return out;
}

const char *date_format_utc(int64_t t, char *out, size_t size)
{
	int64_t days = t >= 0 ? t / 86400 : (t - 86399) / 86400;
	int64_t secs = t - days * 86400;
	/* civil_from_days (H. Hinnant) */
	int64_t z = days + 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	int64_t doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;
	int64_t day = doy - (153 * mp + 2) / 5 + 1;
	int64_t month = mp < 10 ? mp + 3 : mp - 9;
	int64_t year = yoe + era * 400 + (month <= 2);

	snprintf(out, size, "%04lld-%02lld-%02lldT%02lld:%02lld:%02lldZ", (long long)year,
	         (long long)month, (long long)day, (long long)(secs / 3600),
	         (long long)(secs / 60 % 60), (long long)(secs % 60));
	return out;
}

const char *date_format_duration(int64_t seconds, char *out, size_t size)
{
	const char *sign = seconds < 0 ? "-" : "";
	uint64_t s = seconds < 0 ? (uint64_t)0 - (uint64_t)seconds : (uint64_t)seconds;
	unsigned long long d = s / 86400, h = s / 3600 % 24, m = s / 60 % 60, sec = s % 60;

	if (d > 0)
		snprintf(out, size, "%s%llud %lluh %02llum", sign, d, h, m);
	else if (h > 0)
		snprintf(out, size, "%s%lluh %02llum %02llus", sign, h, m, sec);
	else if (m > 0)
		snprintf(out, size, "%s%llum %02llus", sign, m, sec);
	else
		snprintf(out, size, "%s%llus", sign, sec);
	return out;
}
