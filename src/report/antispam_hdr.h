/*
 * antispam_hdr - the antispam report fields in words
 *
 * EOP stamps X-Forefront-Antispam-Report ("CIP:192.0.2.1;CTRY:US;LANG:en;
 * SCL:1;SRV:;IPV:NLI;SFV:NSPM;H:mail.example.com;PTR:...;CAT:NONE;...")
 * and X-Microsoft-Antispam ("BCL:0;ARA:...;"); smexop writes
 * X-Smexop-Antispam-Report in the same shape with ACT and MID of its own
 * (pipeline/headers.h).  antispam_report_parse() splits such a value into
 * KEY:VALUE items (at ';', each at its first ':', so an IPv6 CIP stays
 * whole) and names each from a table of the keys Microsoft documents and
 * ours: what the key is, and for SCL, BCL, PCL, SFV, CAT, IPV, SFTY, DIR,
 * SRV, ACT and dest what the value means.  Keys not in the table keep a
 * NULL name; values the table does not know keep a NULL meaning.
 *
 * The analyser (cli_analyze.c) prints these; the table is the reference
 * an administrator reads them with, so it says only what is documented
 * (see shared/reference/eop-and-peers.md A, docs/compauth.md).
 *
 * Limits: ANTISPAM_MAX_LEN bytes of value, ANTISPAM_MAX_ITEMS items (the
 * rest is dropped and `truncated` set).  Strings are copies in the
 * caller's arena with folding collapsed to single spaces.
 */
#ifndef SMEXOP_REPORT_ANTISPAM_HDR_H
#define SMEXOP_REPORT_ANTISPAM_HDR_H

#include <stdbool.h>
#include <stddef.h>

struct arena;

#define ANTISPAM_MAX_LEN   65536
#define ANTISPAM_MAX_ITEMS 128

struct antispam_item {
	const char *key;     /* as written */
	const char *value;   /* as written, "" when empty */
	const char *name;    /* what the key is, or NULL when not in the table */
	const char *meaning; /* what the value means, or NULL */
};

struct antispam_report {
	struct antispam_item *items;
	size_t n;
	bool truncated; /* more than ANTISPAM_MAX_ITEMS items */
};

/*
 * antispam_report_parse - split a report value (the bytes after the
 * colon) into items; empty items (";;") are skipped.  0, or -1 when the
 * value is longer than ANTISPAM_MAX_LEN or memory runs out.
 */
int antispam_report_parse(struct antispam_report *r, struct arena *a, const char *value,
                          size_t len);

/* antispam_key_name - what KEY is ("Spam confidence level"), or NULL */
const char *antispam_key_name(const char *key);

/* antispam_value_meaning - what VALUE of KEY means, or NULL */
const char *antispam_value_meaning(const char *key, const char *value);

/* antispam_report_find - the value of the first item called key
 * (case-insensitive), or NULL */
const char *antispam_report_find(const struct antispam_report *r, const char *key);

/* antispam_collapse - an arena copy of s[0..n), trimmed, folding and white
 * space runs as one space; NULL when memory runs out (cli_analyze uses it
 * for every header value it shows) */
char *antispam_collapse(struct arena *a, const char *s, size_t n);

#endif
