/*
 * report_dest - what became of each destination of a report we send
 * (TLS-RPT, RFC 8460 5; DMARC aggregate, RFC 7489 7.2), shared by
 * `smexop tlsrpt report` and `smexop dmarc report`
 *
 * SUMMARY
 *	struct report_dests s;
 *	report_dests_load(st, a, REPORT_KIND_DMARC, domain, begin, &s, &err);
 *	conf.report_id = s.report_id;              (a retry keeps the id)
 *	switch (report_dests_action(&s, uri)) { SEND: ...; GIVE_UP: ...; SKIP: }
 *	report_dests_set(st, &s, report_id, uri, "sent"|"pending"|"failed", note, now, &err);
 *	if (s.pending == 0) ... mark the report's data reported
 *
 * DESCRIPTION
 *	One row per report (policy domain and first second) and destination
 *	URI: sent (not sent again), failed (for good: refused, unauthorised,
 *	or REPORT_DEST_MAX_TRIES runs without success) or pending (a
 *	temporary failure: the next run sends it again, under the same
 *	report-id).  A report's data is marked reported only when none of
 *	its destinations is pending, so a temporary failure never loses it.
 *
 *	The rows live in the store's tlsrpt_dest table (migration 4): TLS-RPT
 *	rows are keyed by the policy domain as they always were, DMARC rows
 *	by "dmarc:" and the domain (a TLS-RPT policy domain never holds a
 *	colon), so the two kinds never meet.
 */
#ifndef SMEXOP_REPORT_REPORT_DEST_H
#define SMEXOP_REPORT_REPORT_DEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

struct arena;
struct store;

#define REPORT_DEST_MAX_TRIES 10 /* runs before a pending destination is given up */
#define REPORT_DEST_PREV_MAX  64 /* destinations remembered per report */

enum report_kind { REPORT_KIND_TLSRPT, REPORT_KIND_DMARC };

enum report_dest_action {
	REPORT_DEST_SEND,    /* new, or pending with tries left */
	REPORT_DEST_SKIP,    /* sent or failed by an earlier run */
	REPORT_DEST_GIVE_UP, /* pending REPORT_DEST_MAX_TRIES times: record it failed */
};

struct report_dest_prev {
	const char *uri;
	const char *status; /* "sent", "failed", "pending" */
	unsigned tries;
};

struct report_dests {
	enum report_kind kind;
	const char *key; /* the store's key: domain, or "dmarc:" domain */
	int64_t begin;
	const char *report_id; /* the id earlier runs used, or NULL */
	struct report_dest_prev v[REPORT_DEST_PREV_MAX];
	size_t n;
	/* this run: report_dests_set outcomes */
	unsigned sent, pending, failed;
};

/* report_dests_load - what earlier runs recorded for the report of domain
 * beginning at begin; strings in a; 0 or -1 with err */
int report_dests_load(struct store *st, struct arena *a, enum report_kind kind, const char *domain,
                      int64_t begin, struct report_dests *s, struct sx_err *err);
/* report_dests_prev - uri's record before this run, or NULL (new) */
const struct report_dest_prev *report_dests_prev(const struct report_dests *s, const char *uri);
/* report_dests_action - what to do with uri in this run */
enum report_dest_action report_dests_action(const struct report_dests *s, const char *uri);
/* report_dests_set - record uri's outcome of this run ("sent", "pending"
 * or "failed"; tries goes up by one) and count it; 0 or -1 with err */
int report_dests_set(struct store *st, struct report_dests *s, const char *report_id,
                     const char *uri, const char *status, const char *note, int64_t now,
                     struct sx_err *err);

#endif
