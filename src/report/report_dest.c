/*
 * report_dest - per-destination state of the reports we send, shared by
 * the TLS-RPT and DMARC report commands (interface in report_dest.h)
 */
#include <string.h>

#include "core/arena.h"
#include "report/report_dest.h"
#include "store/store.h"

#define REPORT_DEST_DMARC_PREFIX "dmarc:"

static int report_dests_cb(const struct store_tlsrpt_dest *d, void *arg)
{
	void **p = arg;
	struct report_dests *s = p[0];
	struct arena *a = p[1];

	if (s->report_id == NULL && (s->report_id = arena_strdup(a, d->report_id)) == NULL)
		return -1;
	if (s->n >= REPORT_DEST_PREV_MAX)
		return 0;
	s->v[s->n].uri = arena_strdup(a, d->uri);
	s->v[s->n].status = arena_strdup(a, d->status);
	s->v[s->n].tries = d->tries;
	if (s->v[s->n].uri == NULL || s->v[s->n].status == NULL)
		return -1;
	s->n++;
	return 0;
}

int report_dests_load(struct store *st, struct arena *a, enum report_kind kind, const char *domain,
                      int64_t begin, struct report_dests *s, struct sx_err *err)
{
	void *p[2] = { s, a };

	memset(s, 0, sizeof(*s));
	s->kind = kind;
	s->begin = begin;
	s->key = kind == REPORT_KIND_DMARC ? arena_printf(a, REPORT_DEST_DMARC_PREFIX "%s", domain)
	                                   : arena_strdup(a, domain);
	if (s->key == NULL) {
		sx_err_set(err, "out of memory");
		return -1;
	}
	if (store_tlsrpt_dests(st, s->key, begin, report_dests_cb, p, err) != 0) {
		if (err->msg[0] == '\0')
			sx_err_set(err, "out of memory");
		return -1;
	}
	return 0;
}

const struct report_dest_prev *report_dests_prev(const struct report_dests *s, const char *uri)
{
	size_t i;

	for (i = 0; uri != NULL && i < s->n; i++)
		if (strcmp(s->v[i].uri, uri) == 0)
			return &s->v[i];
	return NULL;
}

enum report_dest_action report_dests_action(const struct report_dests *s, const char *uri)
{
	const struct report_dest_prev *p = report_dests_prev(s, uri);

	if (p == NULL)
		return REPORT_DEST_SEND;
	if (strcmp(p->status, "pending") != 0)
		return REPORT_DEST_SKIP;
	return p->tries >= REPORT_DEST_MAX_TRIES ? REPORT_DEST_GIVE_UP : REPORT_DEST_SEND;
}

int report_dests_set(struct store *st, struct report_dests *s, const char *report_id,
                     const char *uri, const char *status, const char *note, int64_t now,
                     struct sx_err *err)
{
	struct store_tlsrpt_dest d = { .policy_domain = s->key,
		                       .begin = s->begin,
		                       .report_id = report_id,
		                       .uri = uri,
		                       .status = status,
		                       .note = note,
		                       .time = now };

	if (strcmp(status, "sent") != 0 && strcmp(status, "pending") != 0 &&
	    strcmp(status, "failed") != 0) {
		sx_err_set(err, "report_dests_set: bad status '%s'", status);
		return -1;
	}
	if (store_tlsrpt_dest_set(st, &d, err) < 0)
		return -1;
	if (strcmp(status, "sent") == 0)
		s->sent++;
	else if (strcmp(status, "pending") == 0)
		s->pending++;
	else
		s->failed++;
	return 0;
}
