/*
 * store - the public store functions: check arguments, pick the backend
 * at open, and dispatch every call through its table (store_impl.h)
 */
#include <stddef.h>

#include "store/store_impl.h"

/* store_fail - the message for a call on no store */
static int store_fail(struct sx_err *err, const char *what)
{
	sx_err_set(err, "%s: no store", what);
	return -1;
}

struct store *store_open(const struct store_options *opts, struct sx_err *err)
{
	if (opts == NULL || opts->path == NULL || opts->path[0] == '\0') {
		sx_err_set(err, "store: no database path");
		return NULL;
	}
	switch (opts->backend) {
	case STORE_BACKEND_SQLITE:
		return store_sqlite_open(opts, err);
	}
	sx_err_set(err, "store: unknown backend %d", (int)opts->backend);
	return NULL;
}

struct store *store_close(struct store *st)
{
	if (st != NULL)
		st->ops->close(st);
	return NULL;
}

int store_schema_version(struct store *st)
{
	return st == NULL ? -1 : st->ops->schema_version(st);
}

const char *store_backend_name(const struct store *st)
{
	return st == NULL ? NULL : st->ops->name;
}

int store_begin(struct store *st, struct sx_err *err)
{
	return st == NULL ? store_fail(err, "begin") : st->ops->begin(st, err);
}

int store_commit(struct store *st, struct sx_err *err)
{
	return st == NULL ? store_fail(err, "commit") : st->ops->commit(st, err);
}

int store_rollback(struct store *st)
{
	return st == NULL ? -1 : st->ops->rollback(st);
}

int store_dmarc_event_add(struct store *st, const struct store_dmarc_event *ev, struct sx_err *err)
{
	if (st == NULL || ev == NULL)
		return store_fail(err, "dmarc event");
	return st->ops->dmarc_event_add(st, ev, err);
}

int store_dmarc_pending(struct store *st, const char *domain, int64_t since, int64_t until,
                        store_dmarc_pending_cb cb, void *arg, struct sx_err *err)
{
	if (st == NULL || cb == NULL)
		return store_fail(err, "dmarc pending");
	return st->ops->dmarc_pending(st, domain, since, until, cb, arg, err);
}

int store_dmarc_rows(struct store *st, const char *domain, int64_t begin, int64_t end,
                     store_dmarc_row_cb cb, void *arg, struct sx_err *err)
{
	if (st == NULL || domain == NULL || cb == NULL)
		return store_fail(err, "dmarc rows");
	return st->ops->dmarc_rows(st, domain, begin, end, cb, arg, err);
}

int store_dmarc_mark_reported(struct store *st, const struct store_dmarc_sent *s,
                              struct sx_err *err)
{
	if (st == NULL || s == NULL || s->policy_domain == NULL || s->report_id == NULL)
		return store_fail(err, "dmarc mark reported");
	return st->ops->dmarc_mark_reported(st, s, err);
}

int store_dmarc_import_add(struct store *st, const struct store_dmarc_import *r, struct sx_err *err)
{
	if (st == NULL || r == NULL || r->org_name == NULL || r->report_id == NULL ||
	    r->domain == NULL)
		return store_fail(err, "dmarc import");
	return st->ops->dmarc_import_add(st, r, err);
}

int store_dmarc_summary(struct store *st, const char *domain, int64_t since, int64_t until,
                        enum store_dmarc_group group, store_dmarc_summary_cb cb, void *arg,
                        struct sx_err *err)
{
	if (st == NULL || domain == NULL || cb == NULL)
		return store_fail(err, "dmarc summary");
	return st->ops->dmarc_summary(st, domain, since, until, group, cb, arg, err);
}
